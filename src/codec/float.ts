// Host-side float conversions. All rounding is to nearest, ties to even (SEMANTICS §1).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE-754 binary32 bit pattern of `x` (after rounding x to float32). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/** Rounds a float64 to the nearest float32 value (ties to even). */
export function roundToF32(x: number): number {
  return Math.fround(x);
}

/** A narrow IEEE-style binary float: mantissa bits, exponent bias (its largest finite exponent). */
interface NarrowFloat { manBits: number; bias: number; quietNan: number }
const BINARY16: NarrowFloat = { manBits: 10, bias: 15, quietNan: 0x7e00 };
const BFLOAT16: NarrowFloat = { manBits: 7, bias: 127, quietNan: 0x7fc0 };

/**
 * float64 → the bits of `f`, round to nearest even, directly from the double (no double rounding
 * through float32). Handles subnormals, overflow to ±Inf and NaN (quiet, sign kept).
 */
function narrowBits(x: number, f: NarrowFloat): number {
  const { manBits, bias } = f;
  const inf = ((2 * bias + 1) << manBits) & 0x7fff;
  if (Number.isNaN(x)) return f.quietNan;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | inf;
  if (a === 0) return sign;
  // Quantum of the target format at a's binade: below the smallest normal 2^(1-bias), the
  // subnormal quantum 2^(1-bias-manBits).
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // guard log2 rounding
  else if (2 ** (e + 1) <= a) e += 1;
  const minExp = 1 - bias;
  const quantumExp = Math.max(e, minExp) - manBits;
  const q = a / 2 ** quantumExp; // exact: power-of-two scaling
  let m = Math.floor(q);
  const rem = q - m;
  if (rem > 0.5 || (rem === 0.5 && (m & 1) === 1)) m += 1;
  // m counts quanta: for normals 2^manBits..2^(manBits+1), for subnormals 0..2^manBits.
  const one = 1 << manBits;
  let exp = Math.max(e, minExp);
  if (m >= 2 * one) { m /= 2; exp += 1; }
  if (exp > bias) return sign | inf;
  if (m < one) return sign | m; // subnormal (exp stayed at minExp)
  return sign | ((exp + bias) << manBits) | (m - one);
}

/** float64 → binary16 bits, round to nearest even (narrowBits). */
export function f16Bits(x: number): number {
  return narrowBits(x, BINARY16);
}

export function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

/** Rounds a float64 to the nearest float16 value. */
export function roundToF16(x: number): number {
  return f16FromBits(f16Bits(x));
}

/**
 * float64 → bfloat16 bits, round to nearest even. Rounds once, from the double: bf16 has the
 * exponent range of float32, so only the mantissa is cut; subnormals follow float32's.
 */
export function bf16Bits(x: number): number {
  return narrowBits(x, BFLOAT16);
}

export function bf16FromBits(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

export function roundToBf16(x: number): number {
  return bf16FromBits(bf16Bits(x));
}
