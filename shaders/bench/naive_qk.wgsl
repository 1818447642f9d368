// Naive baseline, pass 1 of 3: S = scale · Q·Kᵀ, materialized in global memory.
// One invocation per score element (b, n, i, j); no tiling, no workgroup memory.
// Layouts: q [B, N, Sq, D] and k [B, KV_N, Skv, D] (BNSD, u32-packed per dtype),
//          scores [B, N, Sq, Skv] f32. Query head n reads KV head n / groupSize.
// Causal (bottom-right aligned): column j is kept iff j ≤ i + causalOffset (= Skv − Sq);
// a masked score is written as MASKED (−3e38, finite: a const-expression may not make −inf)
// and the softmax pass gives it probability 0.
{{UNIFORMS}}

@group(0) @binding(0) var<storage, read> q: array<u32>;
@group(0) @binding(1) var<storage, read> k: array<u32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> u: NaiveUniforms;

{{LOAD_Q}}
{{LOAD_K}}

const WG: u32 = 64u;
const MASKED: f32 = -3e38;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid.x;
  let total = u.batch * u.numQoHeads * u.qSeqLen * u.kvSeqLen;
  if (idx >= total) { return; }
  let j = idx % u.kvSeqLen;
  let row = idx / u.kvSeqLen;            // (b·N + n)·Sq + i
  let i = row % u.qSeqLen;
  let bn = row / u.qSeqLen;
  let n = bn % u.numQoHeads;
  let b = bn / u.numQoHeads;
  if (u.causal != 0u && i32(j) > i32(i) + u.causalOffset) {
    scores[idx] = MASKED;
    return;
  }
  let h = n / u.groupSize;
  let qBase = row * u.headDim;
  let kBase = ((b * u.numKvHeads + h) * u.kvSeqLen + j) * u.headDim;
  var acc = 0.0;
  for (var d = 0u; d < u.headDim; d++) {
    acc += loadQ(qBase + d) * loadK(kBase + d);
  }
  scores[idx] = acc * u.scale;
}
