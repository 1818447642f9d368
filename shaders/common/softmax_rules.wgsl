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
// A split-KV pass (the including shader's PARTIAL: its states are partials of a row's KV splits,
// merged by shaders/combine.wgsl) cannot tell yet whether kept columns that were all -Inf leave
// the row NaN: another split may hold mass. Such a partial gets lse -Inf ("kept, no mass"), which
// the split combine counts as no mass, and as NaN when no split of the row has any.

// The most negative finite f32.
const NEG_MAX: f32 = -0x1.fffffep+127f;
// NaN and +Inf as runtime values (a constant bitcast to either is a WGSL error).
var<private> nanBits: u32 = 0x7fc00000u;
var<private> posInfBits: u32 = 0x7f800000u;
var<private> negInfBits: u32 = 0xff800000u;

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

// Kept columns (l != 0) whose scores were all -Inf.
fn onlyNegInf(cls: u32, l: f32) -> bool {
  return (cls == 0u) & (l != 0.0);
}

// A row is NaN when a kept score was NaN or +Inf, or (whole rows, not PARTIAL) when its kept
// columns were all -Inf.
fn rowIsNan(cls: u32, l: f32) -> bool {
  return ((cls & 1u) != 0u) | (!PARTIAL & onlyNegInf(cls, l));
}

fn isNanF32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// A row's output element and lse from its state (acc a, sum l, max m, classes cls): no kept
// column (l == 0) gives 0 and +Inf (row-invalid rule); a NaN row gives NaN; a PARTIAL whose kept
// columns were all -Inf gives 0 and -Inf.
fn finalOut(a: f32, l: f32, cls: u32) -> f32 {
  let none = (l == 0.0) | (PARTIAL & onlyNegInf(cls, l));
  return select(select(a / l, 0.0, none), nanF32(), rowIsNan(cls, l));
}

fn finalLse(m: f32, l: f32, cls: u32) -> f32 {
  var lse = select(m + log(l), posInfF32(), l == 0.0);
  if (PARTIAL && onlyNegInf(cls, l)) { lse = bitcast<f32>(negInfBits); }
  return select(lse, nanF32(), rowIsNan(cls, l));
}
