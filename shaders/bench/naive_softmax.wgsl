// Naive baseline, pass 2 of 3: row softmax of the scores, in place.
// One workgroup of 64 invocations per row (b, n, i) of scores [B·N·Sq, Skv] f32:
// a strided max, a tree reduction in 64 f32 of workgroup memory (256 B), then the
// exp-sum the same way, then P = exp(s − m) / l written over s. MASKED scores give 0;
// a row with no kept column (m ≤ MASKED) is written as zeros.
{{UNIFORMS}}

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<uniform> u: NaiveUniforms;

const WG: u32 = 64u;
const MASKED: f32 = -3e38;
var<workgroup> red: array<f32, 64>;

fn reduce(lane: u32, isMax: bool) -> f32 {
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lane < s) {
      red[lane] = select(red[lane] + red[lane + s], max(red[lane], red[lane + s]), isMax);
    }
  }
  workgroupBarrier();
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.y * nwg.x + wid.x;
  let rows = u.batch * u.numQoHeads * u.qSeqLen;
  if (row >= rows) { return; }   // uniform per workgroup: barriers stay in uniform control flow
  let base = row * u.kvSeqLen;
  let lane = lid.x;

  var m = MASKED;
  for (var j = lane; j < u.kvSeqLen; j += WG) { m = max(m, scores[base + j]); }
  red[lane] = m;
  m = reduce(lane, true);

  var l = 0.0;
  let anyKept = m > MASKED;
  if (anyKept) {
    for (var j = lane; j < u.kvSeqLen; j += WG) {
      let s = scores[base + j];
      l += select(0.0, exp(s - m), s > MASKED);
    }
  }
  red[lane] = l;
  l = reduce(lane, false);

  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var j = lane; j < u.kvSeqLen; j += WG) {
    let s = scores[base + j];
    scores[base + j] = select(0.0, exp(s - m) * inv, anyKept && s > MASKED);
  }
}
