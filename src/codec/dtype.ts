// The data types (CANN's aclDataType) and everything the port knows about each one, in one table
// (DESIGN "Layers and dtypes"): storage bits, float or integer, the host codec, the float rounding
// the reference emulates, the WGSL that reads an element out of a u32 word and packs a float
// output element, and what a K/V tensor of the type holds. Code that used to switch on a dtype
// reads its row here, so a new dtype is one row (plus, for the operator, its admission rules in
// src/fia/validate.ts). This module sits at the bottom of the import graph: it imports only the
// scalar conversions next to it.
import { bf16Bits, bf16FromBits, f16Bits, f16FromBits, roundToBf16, roundToF16 } from './float.js';
import { saturateRound } from './int.js';

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

/** The WGSL of a dtype that shaders read from (and, for float outputs, write to) u32 storage words. */
export interface DtypeWgsl {
  /** f32 expression for element `lane` (a WGSL u32 expression, < elementsPerWord) of the u32 `word`. */
  element(word: string, lane: string): string;
  /** f32 expressions for every element of `word`, lowest first (unrolled whole-word reads). */
  unpack(word: string): string[];
  /** Float output types: WGSL body of `outBits(x: f32) -> u32`, the element's bits (RNE). */
  pack?: string;
}

/** One row of the table. */
export interface DtypeInfo {
  /** The numeric aclDataType code, as in CANN's acl_base.h. */
  code: number;
  /** Bits one element occupies in memory; sub-word elements pack little-endian, element 0 lowest. */
  bits: number;
  kind: 'float' | 'int';
  /** Host codec: element i of a little-endian byte view (writes saturate and round like the operator). */
  write(view: DataView, i: number, value: number | bigint): void;
  /** 64-bit integers become numbers (exact up to 2^53). */
  read(view: DataView, i: number): number;
  /** Float types: a float64 rounded to the nearest value of the type (ties to even). */
  round?: (x: number) => number;
  /** Absent: no shader reads the type. */
  wgsl?: DtypeWgsl;
  /** The type can be the element type of K/V that the kernels read (Problem.kvDtype). */
  kvElement?: true;
  /**
   * Stored as a key/value/prefix tensor, each element holds several elements of this type
   * (INT32: 8 INT4, the port's packed INT4 of SEMANTICS §8). Other tensors of the type are plain.
   */
  kvHolds?: DataType;
}

/** Integer elements of `bits` bits: `extractBits` sign-extends an i32 and zero-extends a u32. */
function intWgsl(bits: number, signed: boolean): DtypeWgsl {
  const typed = (word: string): string => (signed ? `bitcast<i32>(${word})` : word);
  return {
    element: (word, lane) => `f32(extractBits(${typed(word)}, (${lane}) * ${bits}u, ${bits}u))`,
    unpack: (word) => Array.from({ length: 32 / bits }, (_, j) => `f32(extractBits(${typed(word)}, ${bits * j}u, ${bits}u))`),
  };
}

/** The table: one row per DataType (its type requires a row for every name). */
export const DTYPES: Readonly<Record<DataType, DtypeInfo>> = {
  FLOAT32: {
    code: 0, bits: 32, kind: 'float', kvElement: true, round: Math.fround,
    write: (v, i, x) => v.setFloat32(i * 4, Number(x), true),
    read: (v, i) => v.getFloat32(i * 4, true),
    wgsl: { element: (w) => `bitcast<f32>(${w})`, unpack: (w) => [`bitcast<f32>(${w})`], pack: 'return bitcast<u32>(x);' },
  },
  FLOAT16: {
    code: 1, bits: 16, kind: 'float', kvElement: true, round: roundToF16,
    write: (v, i, x) => v.setUint16(i * 2, f16Bits(Number(x)), true),
    read: (v, i) => f16FromBits(v.getUint16(i * 2, true)),
    wgsl: {
      element: (w, lane) => `unpack2x16float(${w})[${lane}]`,
      unpack: (w) => [`unpack2x16float(${w}).x`, `unpack2x16float(${w}).y`],
      pack: 'return f32ToF16Bits(x);',
    },
  },
  BFLOAT16: {
    code: 27, bits: 16, kind: 'float', kvElement: true, round: roundToBf16,
    write: (v, i, x) => v.setUint16(i * 2, bf16Bits(Number(x)), true),
    read: (v, i) => bf16FromBits(v.getUint16(i * 2, true)),
    wgsl: {
      // A bfloat16 is the high half of a float32.
      element: (w, lane) => `bitcast<f32>(select(${w} << 16u, ${w} & 0xffff0000u, (${lane}) == 1u))`,
      unpack: (w) => [`bitcast<f32>(${w} << 16u)`, `bitcast<f32>(${w} & 0xffff0000u)`],
      pack: 'return f32ToBf16Bits(x);',
    },
  },
  INT8: {
    code: 2, bits: 8, kind: 'int', kvElement: true,
    write: (v, i, x) => v.setInt8(i, saturateRound(Number(x), -128, 127)),
    read: (v, i) => v.getInt8(i),
    wgsl: intWgsl(8, true),
  },
  UINT8: {
    code: 4, bits: 8, kind: 'int',
    write: (v, i, x) => v.setUint8(i, saturateRound(Number(x), 0, 255)),
    read: (v, i) => v.getUint8(i),
    wgsl: intWgsl(8, false),
  },
  BOOL: {
    code: 12, bits: 8, kind: 'int',
    write: (v, i, x) => v.setUint8(i, Number(x) ? 1 : 0),
    read: (v, i) => v.getUint8(i),
    wgsl: intWgsl(8, false),
  },
  INT4: {
    // Element i is nibble i % 2 of byte i / 2 (lowest first), i.e. nibble i % 8 of word i / 8.
    code: 29, bits: 4, kind: 'int', kvElement: true,
    write: (v, i, x) => {
      const shift = (i & 1) * 4;
      const nibble = saturateRound(Number(x), -8, 7) & 0xf;
      v.setUint8(i >> 1, (v.getUint8(i >> 1) & ~(0xf << shift)) | (nibble << shift));
    },
    read: (v, i) => {
      const nibble = (v.getUint8(i >> 1) >> ((i & 1) * 4)) & 0xf;
      return nibble >= 8 ? nibble - 16 : nibble;
    },
    wgsl: intWgsl(4, true),
  },
  INT32: {
    code: 3, bits: 32, kind: 'int', kvHolds: 'INT4',
    write: (v, i, x) => v.setInt32(i * 4, Number(x), true),
    read: (v, i) => v.getInt32(i * 4, true),
    wgsl: { element: (w) => `f32(bitcast<i32>(${w}))`, unpack: (w) => [`f32(bitcast<i32>(${w}))`] },
  },
  INT64: {
    code: 9, bits: 64, kind: 'int',
    write: (v, i, x) => v.setBigInt64(i * 8, BigInt(x), true),
    read: (v, i) => Number(v.getBigInt64(i * 8, true)),
  },
  UINT64: {
    code: 10, bits: 64, kind: 'int',
    write: (v, i, x) => v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(x)), true),
    read: (v, i) => Number(v.getBigUint64(i * 8, true)),
  },
};

/** The numeric aclDataType code of each type, as in CANN's acl_base.h. */
export const aclDataTypeCode: Record<DataType, number> = Object.fromEntries(
  Object.entries(DTYPES).map(([name, row]) => [name, row.code]),
) as Record<DataType, number>;

/** Bits one element occupies in memory. */
export function elementBits(dtype: DataType): number {
  return DTYPES[dtype].bits;
}

export function isDataType(x: unknown): x is DataType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, x);
}

/** Bytes a contiguous run of `count` elements takes, rounded up to whole 4-byte words (buffers are word-padded). */
export function paddedByteLength(dtype: DataType, count: number): number {
  return Math.ceil((count * elementBits(dtype)) / 32) * 4;
}

export function isFloatType(dtype: DataType): boolean {
  return DTYPES[dtype].kind === 'float';
}

/** Elements of `dtype` per u32 word; a 64-bit element spans two words and counts as 1. */
export function elementsPerWord(dtype: DataType): number {
  return Math.max(1, 32 / elementBits(dtype));
}

/** The WGSL of `dtype`; throws for a type no shader reads. */
export function wgslOf(dtype: DataType): DtypeWgsl {
  const code = DTYPES[dtype].wgsl;
  if (!code) throw new Error(`no WGSL loader for ${dtype}`);
  return code;
}

/** The element type a key/value/prefix tensor of `dtype` holds (INT32 → INT4; else itself). */
export function kvElementDtype(dtype: DataType): DataType {
  return DTYPES[dtype].kvHolds ?? dtype;
}

/** Elements a key/value/prefix tensor of `dtype` holds per stored element (INT32: 8; else 1). */
export function kvElementsPerStored(dtype: DataType): number {
  return elementBits(dtype) / elementBits(kvElementDtype(dtype));
}
