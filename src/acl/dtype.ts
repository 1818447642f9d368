/**
 * The CANN data types this port knows (aclDataType). Values are the names, so messages read well.
 * INT4 tensors are normally passed as INT32 words holding 8 int4 values each (see SEMANTICS §8).
 */
export const DataType = {
  FLOAT32: 'FLOAT32',
  FLOAT16: 'FLOAT16',
  BFLOAT16: 'BFLOAT16',
  INT8: 'INT8',
  UINT8: 'UINT8',
  INT4: 'INT4',
  INT32: 'INT32',
  INT64: 'INT64',
  UINT64: 'UINT64',
  BOOL: 'BOOL',
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The numeric aclDataType code of each type, as in CANN's acl_base.h. */
export const aclDataTypeCode: Record<DataType, number> = {
  FLOAT32: 0, FLOAT16: 1, INT8: 2, INT32: 3, UINT8: 4, INT64: 9, UINT64: 10, BOOL: 12, BFLOAT16: 27, INT4: 29,
};

/** Bits one element occupies in memory. */
export function elementBits(dtype: DataType): number {
  switch (dtype) {
    case 'INT4': return 4;
    case 'INT8': case 'UINT8': case 'BOOL': return 8;
    case 'FLOAT16': case 'BFLOAT16': return 16;
    case 'FLOAT32': case 'INT32': return 32;
    case 'INT64': case 'UINT64': return 64;
  }
}

export function isDataType(x: unknown): x is DataType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(aclDataTypeCode, x);
}

/** Bytes a contiguous run of `count` elements takes, rounded up to whole 4-byte words (buffers are word-padded). */
export function paddedByteLength(dtype: DataType, count: number): number {
  return Math.ceil((count * elementBits(dtype)) / 32) * 4;
}
