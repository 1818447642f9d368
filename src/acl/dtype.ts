// The public face of the dtype table: the aclDataType names and codes and the byte arithmetic the
// host API documents. The table itself (one row per dtype) is src/codec/dtype.ts, below this layer.
export { aclDataTypeCode, DataType, elementBits, isDataType, paddedByteLength } from '../codec/dtype.js';
