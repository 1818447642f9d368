// Decode, lane-parallel variant: the fast path for small head blocks (GB·D ≤ the plan's limit),
// shaped for CPU adapters such as SwiftShader, where every indexed load is a per-lane gather
// and only straight-line code on named values stays in registers. Same grid, bindings, uniforms
// and outputs as shaders/decode.wgsl.
//
// Each of the WG invocations ("lanes") of a workgroup takes the columns c ≡ lid (mod WG) of the
// split [c0, c1) and keeps its own softmax state; the q values (pre-scaled), the GB scores of a
// column and the GB·D accumulators are named scalars in generated straight-line code (the
// Q_LOAD, QK and PV blocks), so K and V are each read exactly once, by one lane, with no
// barrier until the end:
//   pass 1: s_g = capScore(q_g·k_c + pse), its class OR-ed into cls_g, softmaxScore(s_g) stashed in
//           sc[g][c - c0] (own slots only), m_g = lane max (kept columns only);
//   pass 2: p_g = exp(s_g - m_g), l_g += p_g, a_g_d += p_g·v_c[d] (kept columns only: an
//           excluded column's value is taken as 0, so NaN/Inf there never reach a);
//   merge:  the WG lane states are merged by their max (the §11 rule): with subgroup operations
//           when the device has them, else published in workgroup memory and merged per output
//           element; split 0 then folds in the learnable sink (withSink); outputs are
//           written like decode.wgsl does.
// Non-finite scores follow shaders/common/softmax_rules.wgsl. Loops have fixed trip counts.
// Workgroup memory: decodeWorkgroupArrays (src/kernels/decode.ts): wmem of max(GB·SPLIT, WG·RED)
// f32, RED = 3·GB + GB·D (the stash only with the subgroup merge), and two u32.

{{ENABLE}}
{{PREAMBLE}}

const WG: u32 = {{WG}}u;
const GB: u32 = {{GB}}u;
const D: u32 = {{HEAD_DIM}}u;
const SPLIT: u32 = {{SPLIT}}u;
const RED: u32 = 3u * GB + GB * D;
// The merge's lane states (decode_merge.wgsl): one per invocation.
const MERGE_LANES: u32 = WG;
const PAIRS: u32 = {{PAIRS}}u;
// Merge the lane states with subgroup operations (the workgroup is one subgroup: WG = 4 and
// WebGPU subgroups hold at least 4 invocations) instead of a workgroup-memory round trip.
const SUBGROUP_MERGE: bool = {{SUBGROUP_MERGE}};

{{WORKGROUP}}

{{MERGE}}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let place = gridPlace(wg);
  let b = place.b; let h = place.h; let n0 = place.n0; let split = place.split;
  if (lid == 0u) {
    let w = kvWindow(b);
    wgTotal = w.total;
    wgStart = w.start;
    wgFirst = w.first;
  }
  let range = splitColumns(workgroupUniformLoad(&wgFirst), workgroupUniformLoad(&wgTotal), split);
  let kvStart = wgStart;
  let c0 = range.x;
  let c1 = range.y;
  let kBatch = u.kOffset + b * u.kBatchStride + h * u.kHeadStride;
  let vBatch = u.vOffset + b * u.vBatchStride + h * u.vHeadStride;
  let qb = u.qOffset + b * u.qBatchStride + n0 * u.qHeadStride;

{{Q_LOAD}}
{{LANE_STATE}}

  // This lane's columns c0 + lid + i·WG < c1 (c1 - c0 ≤ splitLen): a fixed trip count.
  let laneCols = select(0u, (c1 - c0 - lid + WG - 1u) / WG, lid < c1 - c0);

  // Pass 1: scores of this lane's columns, and the lane max per head.
  for (var i = 0u; i < laneCols; i++) {
    let c = c0 + lid + i * WG;
    let col = kvStart + c;
    let keep = keepColumn(b, col) & kvPresent(b, c);
    let kb = kBatch + col * u.kSeqStride;
{{QK}}
    let slot = c - c0;
{{SCORE_STASH}}
  }

  // Pass 2: probabilities against the lane max, P·V into the lane accumulators.
  for (var i = 0u; i < laneCols; i++) {
    let c = c0 + lid + i * WG;
    let col = kvStart + c;
    let keep = keepColumn(b, col) & kvPresent(b, c);
    let slot = c - c0;
    let vb = vBatch + col * u.vSeqStride;
{{P_LOAD}}
{{PV}}
  }

  let rowBase = b * u.numQoHeads + n0;
  if (SUBGROUP_MERGE) {
{{SUBGROUP_MERGE_BLOCK}}
    return;
  }

  workgroupBarrier();
{{PUBLISH}}
  workgroupBarrier();

  for (var j = 0u; j < PAIRS; j++) {
    let e = (lid + j * WG) * 2u;
    if (e >= GB * D) { break; }
    let r0 = mergeLanes(e, n0, split);
    var r1 = Merged(0.0, 0x7f800000u);
    if (e + 1u < GB * D) { r1 = mergeLanes(e + 1u, n0, split); }
    if (e % D == 0u) { storeLse(rowBase, e / D, split, r0.lseBits); }
    if (e + 1u < GB * D && (e + 1u) % D == 0u) { storeLse(rowBase, (e + 1u) / D, split, r1.lseBits); }
    storePair(rowBase, e, split, r0.o, r1.o);
  }
}
