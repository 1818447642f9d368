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

/**
 * float64 → binary16 bits, round to nearest even, directly from the double (no double rounding
 * through float32). Handles subnormals, overflow to ±Inf and NaN (quiet, sign kept).
 */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  // Quantum of the target format at a's binade: subnormal quantum 2^-24 below 2^-14.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // guard log2 rounding
  else if (2 ** (e + 1) <= a) e += 1;
  const quantumExp = Math.max(e, -14) - 10;
  const q = a / 2 ** quantumExp; // exact: power-of-two scaling
  let m = Math.floor(q);
  const rem = q - m;
  if (rem > 0.5 || (rem === 0.5 && (m & 1) === 1)) m += 1;
  // m counts quanta: for normals 1024..2048, for subnormals 0..1024.
  let exp = Math.max(e, -14);
  if (m >= 2048) { m /= 2; exp += 1; }
  if (exp > 15) return sign | 0x7c00;
  if (m < 1024) return sign | m; // subnormal (exp stayed -14)
  return sign | ((exp + 15) << 10) | (m - 1024);
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
  if (Number.isNaN(x)) return 0x7fc0;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7f80;
  if (a === 0) return sign;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  const quantumExp = Math.max(e, -126) - 7;
  const q = a / 2 ** quantumExp;
  let m = Math.floor(q);
  const rem = q - m;
  if (rem > 0.5 || (rem === 0.5 && (m & 1) === 1)) m += 1;
  let exp = Math.max(e, -126);
  if (m >= 256) { m /= 2; exp += 1; }
  if (exp > 127) return sign | 0x7f80;
  if (m < 128) return sign | m;
  return sign | ((exp + 127) << 7) | (m - 128);
}

export function bf16FromBits(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

export function roundToBf16(x: number): number {
  return bf16FromBits(bf16Bits(x));
}
