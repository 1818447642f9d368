// Host codecs (src/codec): f16/bf16 round-to-nearest-even, int8 rint/saturate, int4 nibble order,
// device byte encodings, deq-scale words. Expected bit patterns are worked out in the comments.
import { describe, expect, it } from 'vitest';
import { paddedByteLength } from '../src/codec/dtype.js';
import {
  bf16Bits, bf16FromBits, decodeValues, deqScaleValue, deqScaleWord, encodeValues, f16Bits, f16FromBits, f32Bits,
  f32FromBits, packInt4, quantizeInt8, rint, roundToBf16, roundToF16, saturateRound, unpackInt4,
} from '../src/codec/index.js';
import {
  DataType, DTYPES, elementsPerWord, isFloatType, kvElementDtype, kvElementsPerStored,
} from '../src/codec/dtype.js';

const hex = (x: number): string => `0x${x.toString(16)}`;

describe('float16 (binary16), round to nearest even', () => {
  it('exact values', () => {
    expect(hex(f16Bits(1))).toBe('0x3c00');
    expect(hex(f16Bits(-2))).toBe('0xc000');
    expect(hex(f16Bits(0.5))).toBe('0x3800');
    expect(hex(f16Bits(65504))).toBe('0x7bff');            // max finite: (2 - 2^-10)·2^15
    expect(hex(f16Bits(0))).toBe('0x0');
    expect(hex(f16Bits(-0))).toBe('0x8000');
  });

  it('ties go to the even mantissa', () => {
    // 1 + 2^-11 is halfway between 1 (mantissa 0) and 1 + 2^-10 (mantissa 1) → 1.
    expect(hex(f16Bits(1 + 2 ** -11))).toBe('0x3c00');
    // 1 + 3·2^-11 is halfway between mantissa 1 and 2 → 2.
    expect(hex(f16Bits(1 + 3 * 2 ** -11))).toBe('0x3c02');
    // Just above a tie rounds up; just below rounds down.
    expect(hex(f16Bits(1 + 2 ** -11 + 2 ** -30))).toBe('0x3c01');
    expect(hex(f16Bits(1 + 3 * 2 ** -11 - 2 ** -30))).toBe('0x3c01');
    // Negative ties mirror positive ones.
    expect(hex(f16Bits(-(1 + 2 ** -11)))).toBe('0xbc00');
  });

  it('rounds once from float64 (no double rounding through float32)', () => {
    // 1 + 2^-11 + 2^-40: float32 would first drop 2^-40 and land on the tie (→ 1); directly it is above the tie → 1 + 2^-10.
    expect(hex(f16Bits(1 + 2 ** -11 + 2 ** -40))).toBe('0x3c01');
  });

  it('subnormals: quantum 2^-24, ties to even, the normal boundary', () => {
    expect(hex(f16Bits(2 ** -24))).toBe('0x1');
    expect(hex(f16Bits(2 ** -25))).toBe('0x0');              // tie between 0 and 2^-24 → 0 (even)
    expect(hex(f16Bits(2 ** -25 + 2 ** -40))).toBe('0x1');
    expect(hex(f16Bits(3 * 2 ** -25))).toBe('0x2');          // tie between 1 and 2 quanta → 2
    expect(hex(f16Bits(2 ** -14 - 2 ** -24))).toBe('0x3ff'); // largest subnormal
    expect(hex(f16Bits(2 ** -14))).toBe('0x400');            // smallest normal
    expect(hex(f16Bits(2 ** -14 - 2 ** -26))).toBe('0x400'); // rounds up into the normal range
    expect(f16FromBits(0x1)).toBe(2 ** -24);
    expect(f16FromBits(0x3ff)).toBe(1023 * 2 ** -24);
  });

  it('overflow, infinities and NaN', () => {
    // 65520 = halfway between 65504 (odd mantissa 0x3ff) and 2^16 → even → 2^16 = +Inf.
    expect(hex(f16Bits(65520))).toBe('0x7c00');
    expect(hex(f16Bits(65519.99))).toBe('0x7bff');
    expect(hex(f16Bits(1e6))).toBe('0x7c00');
    expect(hex(f16Bits(-1e6))).toBe('0xfc00');
    expect(hex(f16Bits(Infinity))).toBe('0x7c00');
    expect(hex(f16Bits(-Infinity))).toBe('0xfc00');
    expect(hex(f16Bits(NaN))).toBe('0x7e00');
    expect(f16FromBits(0x7c00)).toBe(Infinity);
    expect(f16FromBits(0xfc00)).toBe(-Infinity);
    expect(f16FromBits(0x7e00)).toBeNaN();
    expect(Object.is(f16FromBits(0x8000), -0)).toBe(true);
  });

  it('decodes normals: 0x3555 = 2^-2 · (1024 + 341)/1024 = 1365/4096', () => {
    expect(f16FromBits(0x3555)).toBe(1365 / 4096);
    expect(roundToF16(1 / 3)).toBe(1365 / 4096);
  });
});

describe('bfloat16, round to nearest even', () => {
  it('exact values and ties', () => {
    expect(hex(bf16Bits(1))).toBe('0x3f80');
    expect(hex(bf16Bits(-2))).toBe('0xc000');
    expect(hex(bf16Bits(1 + 2 ** -8))).toBe('0x3f80');          // tie between mantissa 0 and 1 → 0
    expect(hex(bf16Bits(1 + 3 * 2 ** -8))).toBe('0x3f82');      // tie between 1 and 2 → 2
    expect(hex(bf16Bits(1 + 2 ** -8 + 2 ** -40))).toBe('0x3f81');
    expect(bf16FromBits(0x3eab)).toBe(171 / 512);               // 2^-2 · (128 + 43)/128
    expect(roundToBf16(1 / 3)).toBe(171 / 512);
  });

  it('subnormals (float32 range: quantum 2^-133)', () => {
    expect(hex(bf16Bits(2 ** -133))).toBe('0x1');
    expect(hex(bf16Bits(2 ** -134))).toBe('0x0');               // tie → 0
    expect(hex(bf16Bits(3 * 2 ** -134))).toBe('0x2');           // tie between 1 and 2 → 2
    expect(hex(bf16Bits(2 ** -126))).toBe('0x80');              // smallest normal
    expect(bf16FromBits(0x1)).toBe(2 ** -133);
  });

  it('overflow, infinities and NaN', () => {
    // Max finite 0x7f7f = (2 - 2^-7)·2^127; halfway to 2^128 rounds to even → +Inf.
    expect(hex(bf16Bits((2 - 2 ** -7) * 2 ** 127))).toBe('0x7f7f');
    expect(hex(bf16Bits((2 - 2 ** -8) * 2 ** 127))).toBe('0x7f80');
    expect(hex(bf16Bits(-Infinity))).toBe('0xff80');
    expect(hex(bf16Bits(NaN))).toBe('0x7fc0');
    expect(bf16FromBits(0x7f80)).toBe(Infinity);
    expect(bf16FromBits(0x7fc0)).toBeNaN();
    expect(hex(bf16Bits(-0))).toBe('0x8000');
  });
});

describe('float32 bits', () => {
  it('round trips and rounds to float32', () => {
    expect(hex(f32Bits(1))).toBe('0x3f800000');
    expect(f32FromBits(0x3f800000)).toBe(1);
    expect(f32FromBits(f32Bits(1 / 3))).toBe(Math.fround(1 / 3));
  });
});

describe('int8: rint and saturation', () => {
  it('rint rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -1.5, -2.5, 2.4999, 2.5001].map(rint)).toEqual([0, 2, 2, -2, -2, 2, 3]);
    expect(rint(-0.5) === 0).toBe(true);
    expect(rint(Infinity)).toBe(Infinity);
  });

  it('quantizeInt8 = sat[-128, 127](rint(x)); NaN → 0', () => {
    expect([3.5, -3.5, 126.5, 127.5, 1000, -128.5, -129, -1e9].map(quantizeInt8)).toEqual([4, -4, 126, 127, 127, -128, -128, -128]);
    expect(quantizeInt8(NaN)).toBe(0);
    expect(quantizeInt8(Infinity)).toBe(127);
    expect(quantizeInt8(-Infinity)).toBe(-128);
    expect(saturateRound(300, 0, 255)).toBe(255);
  });
});

describe('int4 packing: element i of a word in bits 4i..4i+3', () => {
  it('element 0 is the lowest nibble', () => {
    expect(hex(packInt4([1, 2, 3, 4, 5, 6, 7, -8])[0]!)).toBe('0x87654321');
    expect(hex(packInt4([-1])[0]!)).toBe('0xf');
    expect(hex(packInt4([0, -1])[0]!)).toBe('0xf0');
    expect(Array.from(unpackInt4(Uint32Array.of(0x87654321), 8))).toEqual([1, 2, 3, 4, 5, 6, 7, -8]);
    expect(Array.from(unpackInt4(Uint32Array.of(0xf0), 2))).toEqual([0, -1]);
  });

  it('a ninth value starts the next word; values saturate to [-8, 7]', () => {
    const words = packInt4([0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(Array.from(words)).toEqual([0, 5]);
    expect(hex(packInt4([8, -9, 2.5])[0]!)).toBe('0x287');    // 7, -8 (0x8), rint(2.5) = 2
  });
});

describe('encodeValues / decodeValues', () => {
  const bytes = (u: Uint8Array): number[] => Array.from(u);

  it('FLOAT32, FLOAT16, BFLOAT16: little-endian, word-padded', () => {
    expect(bytes(encodeValues('FLOAT16', [1, -2, 0.5]))).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0, 0]);
    expect(bytes(encodeValues('BFLOAT16', [1]))).toEqual([0x80, 0x3f, 0, 0]);
    expect(bytes(encodeValues('FLOAT32', [1]))).toEqual([0, 0, 0x80, 0x3f]);
    expect(Array.from(decodeValues('FLOAT32', encodeValues('FLOAT32', [1.5, -2, 1 / 3]), 3))).toEqual([1.5, -2, Math.fround(1 / 3)]);
    expect(Array.from(decodeValues('FLOAT16', encodeValues('FLOAT16', [1, 1 / 3, 65520]), 3))).toEqual([1, 1365 / 4096, Infinity]);
    expect(Array.from(decodeValues('BFLOAT16', encodeValues('BFLOAT16', [1, 1 / 3, -0.25]), 3))).toEqual([1, 171 / 512, -0.25]);
  });

  it('INT8, UINT8, BOOL: rint + saturation on encode', () => {
    expect(bytes(encodeValues('INT8', [-1, 127, 2.5, 300]))).toEqual([0xff, 0x7f, 0x02, 0x7f]);
    expect(Array.from(decodeValues('INT8', encodeValues('INT8', [-1, 127, 2.5, -300]), 4))).toEqual([-1, 127, 2, -128]);
    expect(Array.from(decodeValues('UINT8', encodeValues('UINT8', [255, 300, -1]), 3))).toEqual([255, 255, 0]);
    expect(Array.from(decodeValues('BOOL', encodeValues('BOOL', [0, 2, 1]), 3))).toEqual([0, 1, 1]);
  });

  it('INT4: eight per word, decoding from an element offset', () => {
    const enc = encodeValues('INT4', [1, 2, 3, 4, 5, 6, 7, -8, -1]);
    expect(bytes(enc)).toEqual([0x21, 0x43, 0x65, 0x87, 0x0f, 0, 0, 0]);
    expect(Array.from(decodeValues('INT4', enc, 3, 2))).toEqual([3, 4, 5]);
    expect(Array.from(decodeValues('INT4', enc, 2, 7))).toEqual([-8, -1]);
  });

  it('INT32, INT64, UINT64', () => {
    expect(Array.from(decodeValues('INT32', encodeValues('INT32', [-5, 2147483647]), 2))).toEqual([-5, 2147483647]);
    expect(Array.from(decodeValues('INT64', encodeValues('INT64', [-3, 2 ** 40]), 2))).toEqual([-3, 2 ** 40]);
    expect(Array.from(decodeValues('INT64', encodeValues('INT64', [7n, -(2n ** 40n)]), 2))).toEqual([7, -(2 ** 40)]);
    const u = encodeValues('UINT64', [0x3f000000n | (0xabcdn << 32n)]);
    expect(bytes(u)).toEqual([0, 0, 0, 0x3f, 0xcd, 0xab, 0, 0]);
    expect(decodeValues('UINT64', u, 1)[0]).toBe(0xabcd * 2 ** 32 + 0x3f000000);
  });

  it('paddedByteLength rounds to whole words', () => {
    expect(paddedByteLength('FLOAT16', 3)).toBe(8);
    expect(paddedByteLength('INT8', 5)).toBe(8);
    expect(paddedByteLength('INT4', 9)).toBe(8);
    expect(paddedByteLength('INT64', 1)).toBe(8);
  });
});

describe('deq-scale words (§9)', () => {
  it('deqScaleWord puts the float32 bits in the low word', () => {
    expect(deqScaleWord(0.5)).toBe(0x3f000000n);
    expect(deqScaleWord(1)).toBe(0x3f800000n);
  });

  it('deqScaleValue keeps bits 31..13 (& 0xFFFFE000)', () => {
    // Mantissa bit 13 is 2^-10 relative: kept. Bit 12 (2^-11) and below: cleared.
    expect(deqScaleValue(f32Bits(1 + 2 ** -10))).toBe(1 + 2 ** -10);
    expect(deqScaleValue(f32Bits(1 + 2 ** -11))).toBe(1);
    expect(deqScaleValue(0x3f801fff)).toBe(1);
    expect(deqScaleValue(0x3f802000)).toBe(1 + 2 ** -10);
    expect(deqScaleValue(0xbf801fff)).toBe(-1);
    // 0.01 → float32 bits 0x3c23d70a → 0x3c23c000 = 2^-7 · (2^23 + 0x23c000) / 2^23 = 10731520 / 2^30 (truncation, not rounding).
    expect(hex(f32Bits(0.01))).toBe('0x3c23d70a');
    expect(deqScaleValue(f32Bits(0.01))).toBe(10731520 / 2 ** 30);
  });
});

describe('the dtype table (src/codec/dtype.ts)', () => {
  const names = Object.values(DataType);

  it('float types are FLOAT32, FLOAT16, BFLOAT16, each with a rounding and an output packing', () => {
    expect(names.filter(isFloatType)).toEqual(['FLOAT32', 'FLOAT16', 'BFLOAT16']);
    expect(names.filter((d) => DTYPES[d].round)).toEqual(['FLOAT32', 'FLOAT16', 'BFLOAT16']);
    expect(names.filter((d) => DTYPES[d].wgsl?.pack)).toEqual(['FLOAT32', 'FLOAT16', 'BFLOAT16']);
    expect(DTYPES.FLOAT16.round!(1 + 2 ** -11)).toBe(1); // a tie goes to the even mantissa
    expect(DTYPES.BFLOAT16.round!(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
  });

  it('a word of a shader-read type unpacks into 32 / bits elements', () => {
    expect(names.filter((d) => !DTYPES[d].wgsl)).toEqual(['INT64', 'UINT64']);
    for (const d of names.filter((n) => DTYPES[n].wgsl)) {
      expect(elementsPerWord(d) * DTYPES[d].bits, d).toBe(32);
      expect(DTYPES[d].wgsl!.unpack('w'), d).toHaveLength(elementsPerWord(d));
    }
  });

  it('K/V: the element types the kernels read, and INT32 words holding 8 INT4', () => {
    expect(names.filter((d) => DTYPES[d].kvElement)).toEqual(['FLOAT32', 'FLOAT16', 'BFLOAT16', 'INT8', 'INT4']);
    expect([kvElementDtype('INT32'), kvElementsPerStored('INT32')]).toEqual(['INT4', 8]);
    for (const d of ['FLOAT16', 'INT8', 'INT4'] as const) expect([kvElementDtype(d), kvElementsPerStored(d)]).toEqual([d, 1]);
  });

  it('an INT4 element written into a used byte keeps its neighbour nibble', () => {
    const view = new DataView(new ArrayBuffer(4));
    DTYPES.INT4.write(view, 1, -2); // high nibble of byte 0: 0xe
    DTYPES.INT4.write(view, 0, 3); // low nibble: 0x3
    DTYPES.INT4.write(view, 3, 9); // saturates to 7: high nibble of byte 1
    expect(view.getUint8(0)).toBe(0xe3);
    expect(view.getUint8(1)).toBe(0x70);
    expect([0, 1, 2, 3].map((i) => DTYPES.INT4.read(view, i))).toEqual([3, -2, 0, 7]);
  });
});
