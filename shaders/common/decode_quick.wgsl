// Decode, quick variant: the compile tier of CPU adapters (DecodePlan.quick), a kernel small
// enough that its first call is mostly run, not compile. Same grid, bindings, uniforms and outputs
// as shaders/decode.wgsl; the steady split pass compiles in the background meanwhile.
//
// CPU compilers (lavapipe's LLVM, SwiftShader's Reactor) emit per-lane code for every memory
// access site of an invocation, and their compile time follows the number of such sites: here
// every loop is rolled and each kind of access appears once.
//
// The block's GB heads are HG groups of HL heads (HL ≤ 4, HL·D ≤ 256). Invocation lid takes head
// group hg = lid % HG and the columns c ≡ lid / HG (mod S) of the split [c0, c1), S = WG / HG
// lanes per group; it keeps its own online softmax state for its HL heads, one HV (a vec4, vec2
// or f32 of HL heads) per value: m, l, and per dim q and acc (private arrays of D HV), so each
// K/V element it reads feeds HL heads with one multiply-add of HV:
//   s = capScore(q_g·k_c + pse), classes |= class(s), s = softmaxScore(s),
//   m' = max(m, s), acc = acc·e^(m - m') + e^(s - m')·v_c, l likewise   (kept columns only)
// K and V are read as whole u32 words of KW elements where the plan's access allows (as
// shaders/decode.wgsl does: dense 16-bit pairs, or KV-source rows that start on a word), else
// element by element, directly or through the KV source. INT8/INT4 antiquant parameters are read
// once, not per element: per channel into private arrays at the start, per token once per column.
// The S lane states of a head are then merged as the lanes variant merges its lanes
// (common/decode_merge.wgsl: by their max, the §11 rule, then the learnable sink of split 0), and
// outputs are stored as the other variants do (storePair, storeLse). Non-finite scores follow
// shaders/common/softmax_rules.wgsl.
// Workgroup memory: wmem, S lane states of RED = 3·GB + GB·D f32 (decode_merge.wgsl's layout).

{{PREAMBLE}}

const WG: u32 = {{WG}}u;
const GB: u32 = {{GB}}u;
const HL: u32 = {{HL}}u;
// HV: one f32 per head of an invocation's group (toHV / fromHV / hvAt / hvWith, the host).
{{HEAD_VEC}}
const HG: u32 = GB / HL;
const S: u32 = WG / HG;
const D: u32 = {{HEAD_DIM}}u;
// The merge's lane states (decode_merge.wgsl): state j holds every head of the block, from the
// HG invocations of lane j (lid = hg + j·HG).
const MERGE_LANES: u32 = S;
const RED: u32 = 3u * GB + GB * D;
const K_DEQ: bool = K_TOKEN || K_CHANNEL;
const V_DEQ: bool = V_TOKEN || V_CHANNEL;

{{WORKGROUP}}

{{MERGE}}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let place = gridPlace(wg);
  let b = place.b; let h = place.h; let n0 = place.n0; let split = place.split;
  let hg = lid % HG;
  let lane = lid / HG;
  let g0 = hg * HL;            // the group's first head in the block
  // The same for every invocation (b is the workgroup's): no workgroup round trip.
  let win = kvWindow(b);
  let range = splitColumns(win.first, win.total, split);
  let kvStart = win.start;

  // q and acc of dim d, the group's HL heads in one HV.
  var q: array<HV, D>;
  let qb = u.qOffset + b * u.qBatchStride + (n0 + g0) * u.qHeadStride;
  for (var i = 0u; i < rolled(HL * D); i++) {
    q[i % D] = hvWith(q[i % D], i / D, loadQ(qb + (i / D) * u.qHeadStride + (i % D) * u.qDimStride) * u.scaleValue);
  }
  // Per-channel antiquant of this KV head's dims (scale, offset), read once.
  var kcs: array<f32, D>;
  var kco: array<f32, D>;
  var vcs: array<f32, D>;
  var vco: array<f32, D>;
  for (var d = 0u; (K_CHANNEL || V_CHANNEL) && d < rolled(D); d++) {
    if (K_CHANNEL) {
      kcs[d] = kvKChannelParam(h, u.kvsKsBase, d);
      kco[d] = select(0.0, kvKChannelParam(h, u.kvsKoBase, d), KVS_K_OFFSET);
    }
    if (V_CHANNEL) {
      vcs[d] = kvVChannelParam(h, u.kvsVsBase, d);
      vco[d] = select(0.0, kvVChannelParam(h, u.kvsVoBase, d), KVS_V_OFFSET);
    }
  }
  var acc: array<HV, D>;
  var m = HV(NEG_MAX);
  var l = HV(0.0);
  var cls: array<u32, HL>;
  let kBatch = u.kOffset + b * u.kBatchStride + h * u.kHeadStride;
  let vBatch = u.vOffset + b * u.vBatchStride + h * u.vHeadStride;
  for (var c = range.x + lane; c < range.y; c += S) {
    // An excluded column's K and V are never read: nothing they hold reaches acc.
    if (!(keepColumn(b, kvStart + c) && kvPresent(b, c))) { continue; }
    // A kept column is present (a valid block), so antiquant reads the raw element (kvRawK).
    var r: KvRow;
    var kts = 1.0;
    var kto = 0.0;
    var vts = 1.0;
    var vto = 0.0;
    if (KV_SRC) {
      r = kvRow(b, h, c, kvStart);
      if (K_TOKEN) {
        kts = kvKTokenParam(r, u.kvsKsBase);
        kto = select(0.0, kvKTokenParam(r, u.kvsKoBase), KVS_K_OFFSET);
      }
      if (V_TOKEN) {
        vts = kvVTokenParam(r, u.kvsVsBase);
        vto = select(0.0, kvVTokenParam(r, u.kvsVoBase), KVS_V_OFFSET);
      }
    }
    var kb = kBatch + (kvStart + c) * u.kSeqStride;
    var vb = vBatch + (kvStart + c) * u.vSeqStride;
    if (KV_WORDS && KV_SRC) {
      kb = u.kvsKOffset + r.base;
      vb = u.kvsVOffset + r.base;
    }
    var s = HV(0.0);
    for (var d = 0u; d < rolled(D); d += KW) {
      var w = 0u;
      if (KV_WORDS) { w = kBuf[(kb + d) / KW]; }
      for (var e = 0u; e < KW; e++) {
        var x: f32;
        if (KV_WORDS) { x = kvWordElem(w, e); } else if (K_DEQ) { x = kvRawK(r, d); }
        else if (KV_SRC) { x = loadKeyAt(r, d); } else { x = loadK(kb + d * u.kDimStride); }
        if (K_CHANNEL) { x = (x + kco[d + e]) * kcs[d + e]; }
        if (K_TOKEN) { x = (x + kto) * kts; }
        s += q[d + e] * x;
      }
    }
    // The online update of each head (rolled: pse is a memory access).
    var alpha = HV(1.0);
    var p = HV(0.0);
    for (var i = 0u; i < rolled(HL); i++) {
      let raw = capScore(hvAt(s, i) + pseAt(b, n0 + g0 + i, kvStart + c));
      cls[i] |= scoreClass(raw);
      let sm = softmaxScore(raw);
      let mi = hvAt(m, i);
      let mx = max(mi, sm);
      alpha = hvWith(alpha, i, exp(mi - mx));
      p = hvWith(p, i, exp(sm - mx));
      m = hvWith(m, i, mx);
    }
    l = l * alpha + p;
    for (var d = 0u; d < rolled(D); d += KW) {
      var w = 0u;
      if (KV_WORDS) { w = vBuf[(vb + d) / KW]; }
      for (var e = 0u; e < KW; e++) {
        var x: f32;
        if (KV_WORDS) { x = kvWordElem(w, e); } else if (V_DEQ) { x = kvRawV(r, d); }
        else if (KV_SRC) { x = loadValueAt(r, d); } else { x = loadV(vb + d * u.vDimStride); }
        if (V_CHANNEL) { x = (x + vco[d + e]) * vcs[d + e]; }
        if (V_TOKEN) { x = (x + vto) * vts; }
        acc[d + e] = acc[d + e] * alpha + p * x;
      }
    }
  }

  // Publish the states of the group's heads g0 + i in lane state `lane` (decode_merge.wgsl's
  // layout), then merge per output element (pairs, as storePair takes them).
  let at = lane * RED + g0;
  for (var i = 0u; i < rolled(HL); i++) {
    wmem[at + i] = hvAt(m, i);
    wmem[at + GB + i] = hvAt(l, i);
    wmem[at + 2u * GB + i] = f32(cls[i]);
  }
  for (var i = 0u; i < rolled(HL * D); i++) { wmem[lane * RED + 3u * GB + (g0 + i / D) * D + i % D] = hvAt(acc[i % D], i / D); }
  workgroupBarrier();

  let rowBase = b * u.numQoHeads + n0;
  for (var e = 2u * lid; e < GB * D; e += 2u * WG) {
    // Elements e and e + 1 (e + 1 = GB·D is not stored) through one mergeLanes site.
    var o = vec2<f32>(0.0);
    for (var j = 0u; j < rolled(2u); j++) {
      let ej = e + j;
      if (ej >= GB * D) { break; }
      let r = mergeLanes(ej, n0, split);
      o[j] = r.o;
      if (ej % D == 0u) { storeLse(rowBase, ej / D, split, r.lseBits); }
    }
    storePair(rowBase, e, split, o.x, o.y);
  }
}
