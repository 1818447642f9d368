// The softmax's rules for non-finite data (docs/numerics.md), shared by prefill and both decode
// variants. Excluded columns never enter the softmax (their scores are replaced, their values are
// multiplied by nothing); kept data is classified by its bits, because compilers for GPU and
// software adapters may assume NaN and Inf never occur (exp(NaN), max(x, NaN), x != x and 0·NaN
// then give arbitrary results):
// - a kept score that is NaN or +Inf makes the whole row NaN (out and lse), as IEEE arithmetic
//   in float64 does (e^(s - m) is NaN once m or s is NaN or +Inf);
// - a kept score of -Inf has weight 0; a row whose kept scores are all -Inf is NaN (0/0);
// - NaN or Inf in a kept value reaches the outputs through the arithmetic itself (p·v).
// The online softmax runs on finite scores only: non-finite ones become NEG_MAX, which every
// finite score is ≥, so m never leaves the finite range and l == 0 means "no kept column".

// The most negative finite f32.
const NEG_MAX: f32 = -0x1.fffffep+127f;
// NaN and +Inf as runtime values (a constant bitcast to either is a WGSL error).
var<private> nanBits: u32 = 0x7fc00000u;
var<private> posInfBits: u32 = 0x7f800000u;

fn nanF32() -> f32 { return bitcast<f32>(nanBits); }
fn posInfF32() -> f32 { return bitcast<f32>(posInfBits); }

// Class of a kept score, OR-ed into a row's state: 2 finite, 1 NaN or +Inf, 0 -Inf.
fn scoreClass(s: f32) -> u32 {
  let b = bitcast<u32>(s);
  return select(2u, select(1u, 0u, b == 0xff800000u), (b & 0x7f800000u) == 0x7f800000u);
}

// The score the online softmax uses: non-finite → NEG_MAX (its class carries the rest).
fn softmaxScore(s: f32) -> f32 {
  return select(s, NEG_MAX, (bitcast<u32>(s) & 0x7f800000u) == 0x7f800000u);
}

// A row is NaN when a kept score was NaN or +Inf, or when it kept columns (l != 0) that were all -Inf.
fn rowIsNan(cls: u32, l: f32) -> bool {
  return ((cls & 1u) != 0u) | ((cls == 0u) & (l != 0.0));
}

fn isNanF32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// A row's output element and lse from its state (acc a, sum l, max m, classes cls): no kept
// column (l == 0) gives 0 and +Inf (row-invalid rule); a NaN row gives NaN.
fn finalOut(a: f32, l: f32, cls: u32) -> f32 {
  return select(select(a / l, 0.0, l == 0.0), nanF32(), rowIsNan(cls, l));
}

fn finalLse(m: f32, l: f32, cls: u32) -> f32 {
  return select(select(m + log(l), posInfF32(), l == 0.0), nanF32(), rowIsNan(cls, l));
}
