// Merge K partial attention states per row by their log-sum-exp (SEMANTICS §11):
//   m = max_k lse_k, w_k = exp(lse_k - m), out = Σ_k w_k·o_k / Σ_k w_k, lse = m + ln Σ_k w_k;
//   a partial with lse = +Inf is empty and contributes nothing; all empty → out 0, lse +Inf.
// Used by decode (partials of the KV splits, f32 in the workspace) and by mergeAttentionStates.
//
// Partial k of row r, element d: parts[partBase + r·partRowStride + k·partSplitStride + d]
// (elements of the parts dtype); its lse: lses[lseBase + r·lseRowStride + k·lseSplitStride] (f32).
// Output: out[outOffset + r·D + d] in the out dtype, lseOut[lseOutOffset + r] (f32) when writeLse.
// One invocation per output u32 word (OUT_WORD_ELEMS elements), so sub-word outputs need no atomics.
// INT8 output (decode with quantScale2): element e is quantized with channel e % quantChannels
// (= n·D + d for rows ordered [B][N]); an empty row (out 0) gives sat(rint(quantOffset2)).

{{UNIFORMS}}

@group(0) @binding(0) var<storage, read> parts: array<u32>;
@group(0) @binding(1) var<storage, read> lses: array<u32>;
@group(0) @binding(2) var<storage, read_write> outBuf: array<u32>;
@group(0) @binding(3) var<storage, read_write> lseOut: array<u32>;
@group(1) @binding(0) var<uniform> u: CombineUniforms;
{{QUANT_BINDINGS}}

{{PACK}}

{{LOADERS}}

override WG: u32 = 64u;
const OUT_WORD_ELEMS: u32 = {{OUT_WORD_ELEMS}}u;

fn outWord(lo: f32, hi: f32) -> u32 {
  {{OUT_PACK}}
}

{{OUT_QUANT}}

// The merged value of flat output element `e` (row e / D); also returns the row's lse.
fn merged(e: u32) -> vec2<f32> {
  let r = e / u.headDim;
  let d = e % u.headDim;
  let lb = u.lseBase + r * u.lseRowStride;
  var m = -3.0e38;
  var any = false;
  for (var k = 0u; k < u.numParts; k++) {
    let bits = lses[lb + k * u.lseSplitStride];
    if (bits != 0x7f800000u) { m = max(m, bitcast<f32>(bits)); any = true; }
  }
  if (!any) { return vec2<f32>(0.0, bitcast<f32>(u.posInfBits)); }
  var sum = 0.0;
  var acc = 0.0;
  let pb = u.partBase + r * u.partRowStride + d;
  for (var k = 0u; k < u.numParts; k++) {
    let bits = lses[lb + k * u.lseSplitStride];
    if (bits == 0x7f800000u) { continue; }
    let w = exp(bitcast<f32>(bits) - m);
    sum += w;
    acc += w * loadPart(pb + k * u.partSplitStride);
  }
  return vec2<f32>(acc / sum, m + log(sum));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  let e0 = word * OUT_WORD_ELEMS;
  let count = u.rows * u.headDim;
  if (e0 >= count) { return; }
  let a = merged(e0);
  if (u.writeLse != 0u && e0 % u.headDim == 0u) { lseOut[u.lseOutOffset + e0 / u.headDim] = bitcast<u32>(a.y); }
  if (OUT_WORD_ELEMS == 4u) {
    // INT8: four quantized elements per word; bytes past `count` are 0.
    var w = 0u;
    for (var j = 0u; j < 4u; j++) {
      let e = e0 + j;
      if (e >= count) { break; }
      var c = a;
      if (j > 0u) {
        c = merged(e);
        if (u.writeLse != 0u && e % u.headDim == 0u) { lseOut[u.lseOutOffset + e / u.headDim] = bitcast<u32>(c.y); }
      }
      w |= quant8(c.x, e % u.quantChannels) << (8u * j);
    }
    outBuf[(u.outOffset + e0) >> 2u] = w;
    return;
  }
  if (OUT_WORD_ELEMS == 1u) {
    outBuf[u.outOffset + e0] = bitcast<u32>(a.x);
    return;
  }
  var hi = 0.0;
  if (e0 + 1u < count) {
    let c = merged(e0 + 1u);
    hi = c.x;
    if (u.writeLse != 0u && (e0 + 1u) % u.headDim == 0u) { lseOut[u.lseOutOffset + (e0 + 1u) / u.headDim] = bitcast<u32>(c.y); }
  }
  outBuf[(u.outOffset + e0) >> 1u] = outWord(a.x, hi);
}
