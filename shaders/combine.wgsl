// Merge K partial attention states per row by their log-sum-exp (SEMANTICS §11):
//   m = max_k lse_k, w_k = exp(lse_k - m), out = Σ_k w_k·o_k / Σ_k w_k, lse = m + ln Σ_k w_k;
//   a partial with lse = +Inf is empty and one with lse = −Inf holds no mass: neither contributes;
//   all such → out 0, lse +Inf, except that with u.noMassNan (the partials of a row's KV splits,
//   where −Inf means kept columns whose scores were all −Inf: softmax_rules.wgsl) a row with
//   such a partial and none with mass is NaN, as the whole row would be;
//   a partial with lse NaN (a NaN row, shaders/common/softmax_rules.wgsl) makes the row NaN.
//   Tested on the lse bits: compilers may assume NaN and Inf never occur in float compares.
// Used by decode and prefill (partials of their KV splits, f32 in the workspace) and by
// mergeAttentionStates.
//
// Rows: output row r is partial row p = partRow(r). Partials are in (batch, head, query row)
// order, the order of softmaxLse; the output is in the same order (decode, BNSD), or, with
// u.seqOuter, in (batch, query row, head) order (BSND and BSH outputs of u.seqLen query rows and
// u.heads heads).
// Partial k of row p, element d: parts[partBase + p·partRowStride + k·partSplitStride + d]
// (elements of the parts dtype); its lse: lses[lseBase + p·lseRowStride + k·lseSplitStride] (f32).
// Output: out[outOffset + r·D + d] in the out dtype, lseOut[lseOutOffset + p] (f32) when writeLse.
// One invocation per u32 word of outBuf that holds output elements (word firstWord + k, k counted
// from u.wordBase in this dispatch, k < u.wordLimit): it merges the word's output elements and
// stores them through outStoreRun, so a word shared with other data (an odd offset or count of a
// 16-bit output, an INT8 output not covering whole words) keeps its other bytes. The host splits
// the words into dispatches within the device's per-dimension workgroup limit.
// INT8 output (quantScale2): element d of output row r is quantized with channel n·D + d, n the
// row's head (headOf); an empty row (out 0) gives sat(rint(quantOffset2)).

{{UNIFORMS}}

@group(0) @binding(0) var<storage, read> parts: array<u32>;
@group(0) @binding(1) var<storage, read> lses: array<u32>;
@group(0) @binding(2) var<storage, read_write> outBuf: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> lseOut: array<u32>;
@group(1) @binding(0) var<uniform> u: CombineUniforms;
{{QUANT_BINDINGS}}

{{PACK}}

{{LOADERS}}

override WG: u32 = 64u;

{{OUT_STORE}}

{{OUT_QUANT}}

// The partial (and lse) row of output row r.
fn partRow(r: u32) -> u32 {
  if (u.seqOuter == 0u) { return r; }
  let b = r / (u.seqLen * u.heads);
  let s = (r / u.heads) % u.seqLen;
  return (b * u.heads + r % u.heads) * u.seqLen + s;
}

// The head of output row r (its INT8 output-quant channels are n·D ..).
fn headOf(r: u32) -> u32 {
  return select((r / u.seqLen) % u.heads, r % u.heads, u.seqOuter != 0u);
}

// The stored bits of element d of output row r with merged value x (INT8: quantized with its channel).
fn elemBits(x: f32, r: u32, d: u32) -> u32 {
  {{ELEM_BITS}}
}

// The merged value of element d of partial row p; also returns the row's lse.
fn merged(p: u32, d: u32) -> vec2<f32> {
  let lb = u.lseBase + p * u.lseRowStride;
  // Finite lses are ≥ m of their partial, so start below every finite value.
  var m = -0x1.fffffep+127f;
  var any = false;
  var nan = false;
  var noMass = false;
  for (var k = 0u; k < u.numParts; k++) {
    let bits = lses[lb + k * u.lseSplitStride];
    if ((bits & 0x7fffffffu) > 0x7f800000u) { nan = true; }
    else if (bits == 0xff800000u) { noMass = true; }
    else if (bits != 0x7f800000u) { m = max(m, bitcast<f32>(bits)); any = true; }
  }
  nan = nan | (!any & noMass & (u.noMassNan != 0u));
  if (nan) { let x = bitcast<f32>(u.posInfBits | 0x400000u); return vec2<f32>(x, x); }
  if (!any) { return vec2<f32>(0.0, bitcast<f32>(u.posInfBits)); }
  var sum = 0.0;
  var acc = 0.0;
  let pb = u.partBase + p * u.partRowStride + d;
  for (var k = 0u; k < u.numParts; k++) {
    let bits = lses[lb + k * u.lseSplitStride];
    if ((bits & 0x7fffffffu) == 0x7f800000u) { continue; }
    let w = exp(bitcast<f32>(bits) - m);
    sum += w;
    acc += w * loadPart(pb + k * u.partSplitStride);
  }
  return vec2<f32>(acc / sum, m + log(sum));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = u.wordBase + gid.x + gid.y * nwg.x * WG;
  if (k >= u.wordLimit) { return; }
  let w = u.firstWord + k;
  let count = u.rows * u.headDim;
  // Absolute elements [lo, hi) of word w that belong to the output.
  let lo = max(w * OUT_EPW, u.outOffset);
  let hi = min(w * OUT_EPW + OUT_EPW, u.outOffset + count);
  if (lo >= hi) { return; }
  var bits = vec4<u32>(0u);
  for (var j = 0u; j < OUT_EPW; j++) {
    if (lo + j >= hi) { break; }
    let e = lo + j - u.outOffset;
    let r = e / u.headDim;
    let d = e % u.headDim;
    let p = partRow(r);
    let c = merged(p, d);
    if (u.writeLse != 0u && d == 0u) { lseOut[u.lseOutOffset + p] = bitcast<u32>(c.y); }
    bits[j] = elemBits(c.x, r, d);
  }
  outStoreRun(lo, hi - lo, bits);
}
