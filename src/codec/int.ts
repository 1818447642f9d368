// Integer codecs: int8 quantization, int4 packing, 64-bit words.

/** Round half to even (IEEE rint). */
export function rint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** sat[lo,hi](rint(x)); NaN saturates to 0. */
export function saturateRound(x: number, lo: number, hi: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(hi, Math.max(lo, rint(x)));
}

/** float → int8 as the operator quantizes (SEMANTICS §9): sat[-128,127](rint(x)). */
export function quantizeInt8(x: number): number {
  return saturateRound(x, -128, 127);
}

/**
 * int4 packing: 8 signed 4-bit values (−8..7) per 32-bit word, element i of a word in bits
 * 4i..4i+3 (element 0 in the lowest nibble). Values are saturated and rounded like int8.
 */
export function packInt4(values: ArrayLike<number>): Uint32Array {
  const words = new Uint32Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    const v = saturateRound(values[i]!, -8, 7) & 0xf;
    words[i >> 3] = (words[i >> 3]! | (v << ((i & 7) * 4))) >>> 0;
  }
  return words;
}

export function unpackInt4(words: Uint32Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (words[i >> 3]! >>> ((i & 7) * 4)) & 0xf;
    out[i] = nib >= 8 ? nib - 16 : nib;
  }
  return out;
}

/**
 * A UINT64 dequant-scale word (deqScale1/deqScale2): the low 32 bits hold the float32 bits of
 * the scale, the high bits are ignored (SEMANTICS §9).
 */
export function deqScaleWord(scale: number): bigint {
  const f = new Float32Array([scale]);
  return BigInt(new Uint32Array(f.buffer)[0]!);
}

/** The scale a UINT64 (or FLOAT32) deq-scale word carries, as the hardware reads it: bits 31..13 kept. */
export function deqScaleValue(lowWordBits: number): number {
  const f = new Float32Array(new Uint32Array([(lowWordBits & 0xffffe000) >>> 0]).buffer);
  return f[0]!;
}
