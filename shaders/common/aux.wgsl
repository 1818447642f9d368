// Reading the aux region (src/kernels/aux.ts): int64 pad counts and float scales copied from the
// caller's tensors. Needs a binding named `aux: array<u32>`.

// An int64 pad (low, high words) as a row count: negative → 0, ≥ 2^31 → 0x7fffffff.
fn auxPad(slot: u32) -> u32 {
  let lo = aux[slot];
  let hi = aux[slot + 1u];
  if ((hi & 0x80000000u) != 0u) { return 0u; }
  if (hi != 0u || lo >= 0x80000000u) { return 0x7fffffffu; }
  return lo;
}

// A deq scale as the hardware reads it: float32 bits 31..13 kept (SEMANTICS §9).
fn auxDeqScale(slot: u32) -> f32 {
  return bitcast<f32>(aux[slot] & 0xffffe000u);
}

fn auxF32(slot: u32) -> f32 {
  return bitcast<f32>(aux[slot]);
}
