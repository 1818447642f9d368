// f32 → FLOAT16 / BFLOAT16 bits, round to nearest, ties to even (SEMANTICS §1), in integer math
// so the result does not depend on how the implementation rounds pack2x16float. Denormal f16
// results are rounded exactly; NaN stays NaN (quiet), overflow goes to ±Inf.

fn f32ToF16Bits(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  let sign = (bits >> 16u) & 0x8000u;
  let a = bits & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }            // NaN
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }           // ≥ 65520 rounds to Inf
  if (a >= 0x38800000u) {                                    // normal f16 (≥ 2^-14)
    let r = a + 0xfffu + ((a >> 13u) & 1u);
    return sign | ((r >> 13u) - (112u << 10u));              // exponent bias 127 → 15
  }
  if (a <= 0x33000000u) { return sign; }                     // ≤ 2^-25 rounds to ±0
  let e = a >> 23u;                                          // 102..112
  let m = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - e;                                      // units of 2^-24: m >> shift, 14..24
  let q = m >> shift;
  let rem = m & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return sign | (q + select(0u, 1u, rem > half || (rem == half && (q & 1u) == 1u)));
}

fn f32ToBf16Bits(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return (bits >> 16u) | 0x40u; }
  return (bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u;
}
