// Logical values ⇄ the bytes a tensor holds on the device (little-endian, word-padded, DESIGN "Data in buffers").
import { type DataType, paddedByteLength } from '../acl/dtype.js';
import { bf16Bits, bf16FromBits, f16Bits, f16FromBits } from './float.js';
import { packInt4, saturateRound, unpackInt4 } from './int.js';

export * from './float.js';
export * from './int.js';

export type Values = ArrayLike<number> | ArrayLike<bigint>;

/** Encodes logical values into device bytes (length padded to whole 4-byte words). */
export function encodeValues(dtype: DataType, values: Values): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(paddedByteLength(dtype, n));
  const view = new DataView(bytes.buffer);
  const num = (i: number): number => Number(values[i]);
  switch (dtype) {
    case 'FLOAT32':
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, num(i), true);
      break;
    case 'FLOAT16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, f16Bits(num(i)), true);
      break;
    case 'BFLOAT16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, bf16Bits(num(i)), true);
      break;
    case 'INT8':
      for (let i = 0; i < n; i++) view.setInt8(i, saturateRound(num(i), -128, 127));
      break;
    case 'UINT8':
      for (let i = 0; i < n; i++) view.setUint8(i, saturateRound(num(i), 0, 255));
      break;
    case 'BOOL':
      for (let i = 0; i < n; i++) view.setUint8(i, num(i) ? 1 : 0);
      break;
    case 'INT4':
      bytes.set(new Uint8Array(packInt4(Array.from({ length: n }, (_, i) => num(i))).buffer));
      break;
    case 'INT32':
      for (let i = 0; i < n; i++) view.setInt32(i * 4, num(i), true);
      break;
    case 'INT64':
      for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
      break;
    case 'UINT64':
      for (let i = 0; i < n; i++) view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(values[i]!)), true);
      break;
  }
  return bytes;
}

/**
 * Decodes `count` elements starting at element `first` from device bytes. 64-bit integers become
 * numbers (exact up to 2^53).
 */
export function decodeValues(dtype: DataType, bytes: Uint8Array, count: number, first = 0): Float64Array {
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'FLOAT32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32((first + i) * 4, true);
      break;
    case 'FLOAT16':
      for (let i = 0; i < count; i++) out[i] = f16FromBits(view.getUint16((first + i) * 2, true));
      break;
    case 'BFLOAT16':
      for (let i = 0; i < count; i++) out[i] = bf16FromBits(view.getUint16((first + i) * 2, true));
      break;
    case 'INT8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(first + i);
      break;
    case 'UINT8': case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(first + i);
      break;
    case 'INT4': {
      const words = new Uint32Array(Math.ceil((first + count) / 8));
      for (let w = 0; w < words.length; w++) words[w] = view.getUint32(w * 4, true);
      const all = unpackInt4(words, first + count);
      for (let i = 0; i < count; i++) out[i] = all[first + i]!;
      break;
    }
    case 'INT32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32((first + i) * 4, true);
      break;
    case 'INT64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64((first + i) * 8, true));
      break;
    case 'UINT64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64((first + i) * 8, true));
      break;
  }
  return out;
}
