// Naive baseline, pass 3 of 3: O = P·V.
// One invocation per output element (b, n, i, d): a dot product over the Skv columns of P.
// Layouts: probs [B, N, Sq, Skv] f32, v [B, KV_N, Skv, D] (BNSD, u32-packed per dtype),
//          out [B, N, Sq, D] f32 (the baseline always writes f32).
{{UNIFORMS}}

@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: NaiveUniforms;

{{LOAD_V}}

const WG: u32 = 64u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid.x;
  let total = u.batch * u.numQoHeads * u.qSeqLen * u.headDim;
  if (idx >= total) { return; }
  let d = idx % u.headDim;
  let row = idx / u.headDim;             // (b·N + n)·Sq + i
  let bn = row / u.qSeqLen;
  let n = bn % u.numQoHeads;
  let b = bn / u.numQoHeads;
  let h = n / u.groupSize;
  let pBase = row * u.kvSeqLen;
  let vBase = (b * u.numKvHeads + h) * u.kvSeqLen * u.headDim + d;
  var acc = 0.0;
  for (var j = 0u; j < u.kvSeqLen; j++) {
    acc += probs[pBase + j] * loadV(vBase + j * u.headDim);
  }
  out[idx] = acc;
}
