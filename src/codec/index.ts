// Logical values ⇄ the bytes a tensor holds on the device (little-endian, word-padded, DESIGN "Data in buffers").
// Each dtype's element codec is its row in dtype.ts.
import { type DataType, DTYPES, paddedByteLength } from './dtype.js';

export * from './float.js';
export * from './int.js';

export type Values = ArrayLike<number> | ArrayLike<bigint>;

/** Encodes logical values into device bytes (length padded to whole 4-byte words). */
export function encodeValues(dtype: DataType, values: Values): Uint8Array {
  const { write } = DTYPES[dtype];
  const bytes = new Uint8Array(paddedByteLength(dtype, values.length));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) write(view, i, values[i]!);
  return bytes;
}

/**
 * Decodes `count` elements starting at element `first` from device bytes. 64-bit integers become
 * numbers (exact up to 2^53).
 */
export function decodeValues(dtype: DataType, bytes: Uint8Array, count: number, first = 0): Float64Array {
  const { read } = DTYPES[dtype];
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = read(view, first + i);
  return out;
}
