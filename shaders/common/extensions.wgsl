// Extensions beyond the operator (docs/semantics.md, "Extensions beyond the operator"), shared by
// the prefill and decode kernels: the logit soft cap and the learnable sink. Needs HAS_SOFTCAP,
// HAS_SINK, the uniforms u.softcap and u.softcapClamp, the kernel's `sinkLogit(n)` (head n's sink
// logit as stored) and the softmax rules (softmax_rules.wgsl).

// The soft cap of a score after scale and pse: softcap·tanh(s / softcap). tanh is 1 in f32 beyond
// ±9.01, so its argument is clamped to ±10 (u.softcapClamp = 10·softcap on the host) and never
// overflows. Non-finite scores are decided on their bits (softmax_rules.wgsl): NaN stays NaN,
// ±Inf becomes ±softcap, as tanh(±Inf) = ±1.
fn capScore(s: f32) -> f32 {
  if (!HAS_SOFTCAP) { return s; }
  let bits = bitcast<u32>(s);
  if ((bits & 0x7f800000u) == 0x7f800000u) {
    return select(select(u.softcap, -u.softcap, (bits & 0x80000000u) != 0u), s, (bits & 0x7fffffu) != 0u);
  }
  return u.softcap * tanh(clamp(s, -u.softcapClamp, u.softcapClamp) / u.softcap);
}

// A row's softmax state (max m, finite: NEG_MAX when empty; sum l; classes cls) with head n's
// learnable sink folded in: one more kept column of score sink_n and value 0 (a sink of −Inf
// weighs 0: no sink at all). The row's accumulators are multiplied by `scale`; finalOut /
// finalLse then apply as without a sink. Without HAS_SINK the state is returned as it is.
struct SinkState {
  m: f32,
  l: f32,
  scale: f32,
  cls: u32,
}

fn foldSink(n: u32, m: f32, l: f32, cls: u32) -> SinkState {
  if (!HAS_SINK) { return SinkState(m, l, 1.0, cls); }
  let raw = sinkLogit(n);
  if (bitcast<u32>(raw) == 0xff800000u) { return SinkState(m, l, 1.0, cls); }
  let s = softmaxScore(raw);
  let m1 = max(m, s);
  let scale = exp(m - m1);
  return SinkState(m1, l * scale + exp(s - m1), scale, cls | scoreClass(raw));
}
