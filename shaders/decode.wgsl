// Decode (Q_S == 1), flash-decoding split pass. Workgroup (x, y, z) + (batchBase, yBase, splitBase)
// = (batch, KV head · numHeadBlocks + head block, KV split). It owns GB query heads of one KV head's group
// (GB divides G; usually GB = G) and the logical KV columns [split·splitLen, +splitLen) ∩ [0, L_b),
// L_b = P + Skv_b (SEMANTICS §1-3, §7: prefix columns first), counted from the first column of a
// sliding window (splitColumns, decode_io.wgsl). K and V rows of the slice are read once per workgroup.
//
// Per tile of TK columns (online softmax, m and l per head in f32; a fixed trip count):
//   A  sc[t][g] = capScore(scale·dot(q_g, k_t) + pse), kept[t]      (invocations over t, all g each)
//   B1 cls_g |= classes, sc = softmaxScore(sc) (kept t only),
//      m_g' = max(m_g, max_t sc[t][g]), alpha_g = exp(m_g - m_g')  (invocations g < GB)
//   B2 sc[t][g] = exp(sc[t][g] - m_g'), 0 where not kept           (all invocations, element by element)
//   C  acc = acc·alpha + Σ_kept p·v_t and l = l·alpha + Σ_kept p   (column groups × quads of dims)
// Phase C (tilesQuads in src/kernels/decode.ts): invocation lid belongs to column group
// lid / QW (R groups; the rest idle) and owns the dim quads q = lid % QW + j·QW (j < QJ) of every
// head of the block: per kept column of its group it reads 4 dims of V once for all GB heads and
// the scores of 4 heads at once. Every group rescales by the same alpha, so the groups' partial
// sums are added only once: each group writes its own region of sc after the last tile, and
// the epilogue adds the regions (groupSums).
// Excluded columns' K and V are never read; non-finite scores follow shaders/common/softmax_rules.wgsl.
// The epilogue folds in the learnable sink (split 0 only, withSink in decode_io.wgsl).
// Output slots: invocation `lid` stores pairs p = lid + j·WG (j < ELEMS/2) of the flat index
// e ∈ [0, GB·D) (g = e / D, d = e % D): elements 2p, 2p+1. Direct mode stores them through
// outStoreRun, which merges any u32 word they share with other workgroups or other data.
//
// Direct mode (numSplits == 1): writes attentionOut (dtype, RNE) and softmaxLse.
// Grid: the host splits batches and splits into dispatches within the device's per-dimension
// limit (u.batchBase, u.splitBase).
// Split mode: writes the f32 partial out[row][split][d] (normalized) and lse[row][split] to the
// workspace; the combine pass merges them (SEMANTICS §11). Empty: out 0, lse +Inf; NaN row: NaN.
//
// Workgroup memory: the arrays of decodeWorkgroupArrays (src/kernels/decode.ts), declared in
// WORKGROUP from the list the plan counts (qs ⌈GB/4⌉·D vec4, sc max(TK·⌈GB/4⌉, R·(GB·Q + ⌈GB/4⌉)) vec4,
// per-head m, alpha, classes, kept[TK], and the KV-source row base of each kept column, kvBaseW[TK]).

{{PREAMBLE}}

override WG: u32 = 64u;
const GB: u32 = {{GB}}u;
const GB4: u32 = (GB + 3u) / 4u;
const D: u32 = {{HEAD_DIM}}u;
const TK: u32 = {{TK}}u;
const ELEMS: u32 = {{ELEMS}}u;
// Heads are handled 4 to a vec4 in workgroup memory (qs, sc, mW, alphaW); the registers that hold
// one value per head (dots, q, p, l, alpha) are HV: vec4<f32>, or vec2<f32> / f32 for head blocks
// of 2 / 1, so a small block does not pay four lanes of arithmetic per head (HEAD_VEC, the host).
{{HEAD_VEC}}

// Phase C's layout: Q quads of dims per head, QW invocations per column group, R groups, QJ quads each.
const Q: u32 = (D + 3u) / 4u;
const QW: u32 = {{QW}}u;
const R: u32 = {{R}}u;
const QJ: u32 = {{QJ}}u;
// Phase A: KV columns each invocation scores per tile (DecodePlan.scoreColumns; TK is a multiple).
const CA: u32 = {{CA}}u;
// Word reads through the KV source: phase A keeps each column's row base in kvBaseW for phase C.
const SRC_WORDS: bool = KV_WORDS && KV_SRC;
// Antiquant of word reads (the preamble's K_TOKEN ... V_CHANNEL): K's per-channel parameters are
// read once per dim step for all of an invocation's columns, V's once per invocation (its dims
// are fixed); V_CHANNEL holds for element reads too.

{{WORKGROUP}}

// The column groups' sums (after phase C) for output elements e0, e1 (flat, heads g0, g1): acc of
// both, then l of both, each summed over the R groups' regions in sc.
fn groupSums(e0: u32, e1: u32, g0: u32, g1: u32) -> vec4<f32> {
  let a0 = g0 * Q + (e0 % D) / 4u;
  let a1 = g1 * Q + (e1 % D) / 4u;
  var s = vec4<f32>(0.0);
  for (var gr = 0u; gr < rolled(R); gr++) {
    let acc = gr * GB * Q;
    let l = R * GB * Q + gr * GB4;
    s += vec4<f32>(sc[acc + a0][(e0 % D) % 4u], sc[acc + a1][(e1 % D) % 4u], sc[l + g0 / 4u][g0 % 4u], sc[l + g1 / 4u][g1 % 4u]);
  }
  return s;
}

// Output slot k of invocation `lid`: flat element e of [0, GB·D) (pairs: even k is e = 2p, k + 1 is
// e + 1; the header's output slots).
fn slotElement(lid: u32, k: u32) -> u32 { return (lid + (k >> 1u) * WG) * 2u + (k & 1u); }

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

  for (var i = lid; i < GB * D; i += WG) {
    let g = i / D;
    let d = i % D;
    qs[d * GB4 + g / 4u][g % 4u] = loadQ(u.qOffset + b * u.qBatchStride + (n0 + g) * u.qHeadStride + d * u.qDimStride) * u.scaleValue;
  }
  // Padding heads (g ≥ GB, up to a whole vec4) keep m = NEG_MAX, alpha = 1: finite, never stored.
  if (lid < GB4) { mW[lid] = vec4<f32>(NEG_MAX); alphaW[lid] = vec4<f32>(1.0); }
  if (lid < GB) { clsW[lid] = 0u; }
  let grp = lid / QW;
  let ql = lid % QW;
  // acc[j·GB + g]: dims 4·(ql + j·QW) .. + 3 of head g; lsum[g4]: l of heads 4·g4 ..
  var acc: array<vec4<f32>, GB * QJ>;
  var lsum: array<HV, GB4>;
  var vScale: array<vec4<f32>, QJ>;
  var vOffset: array<vec4<f32>, QJ>;
  for (var j = 0u; V_CHANNEL && j < QJ; j++) {
    for (var i = 0u; i < 4u; i++) {
      let d = min(4u * (ql + j * QW) + i, D - 1u);
      vScale[j][i] = kvVChannelParam(h, u.kvsVsBase, d);
      if (KVS_V_OFFSET) { vOffset[j][i] = kvVChannelParam(h, u.kvsVoBase, d); }
    }
  }
  let kBatch = u.kOffset + b * u.kBatchStride + h * u.kHeadStride;
  let vBatch = u.vOffset + b * u.vBatchStride + h * u.vHeadStride;
  workgroupBarrier();

  let numTiles = (c1 - c0 + TK - 1u) / TK;   // c1 - c0 ≤ splitLen
  for (var tile = 0u; tile < numTiles; tile++) {
    let t0 = c0 + tile * TK;
    let nk = min(TK, c1 - t0);
    // A: scores for every head of the block: each K element is read once per workgroup (not once
    // per head). Invocation t < TK / CA takes the columns t + c·TK / CA (c < CA), so each q read
    // from workgroup memory feeds CA columns. An excluded column, or one past the tile's end, is
    // scored NEG_MAX: the dim loop the CA columns share reads the tile's last column in its place
    // (an in-range row) and its sums are discarded, so nothing its own row holds is read.
    for (var t = lid; t < TK / CA; t += WG) {
      var kept: array<bool, CA>;
      var kb: array<u32, CA>;
      var rows: array<KvRow, CA>;
      // Per-token K antiquant of each column (word reads).
      var kts: array<f32, CA>;
      var kto: array<f32, CA>;
      // Rolled, with the per-column values shifted in at the end (registers only): the column's
      // memory accesses (mask, block table, keptW) are one code site, not CA.
      for (var c = 0u; c < rolled(CA); c++) {
        for (var i = 0u; i + 1u < CA; i++) {
          kept[i] = kept[i + 1u]; kb[i] = kb[i + 1u]; rows[i] = rows[i + 1u]; kts[i] = kts[i + 1u]; kto[i] = kto[i + 1u];
        }
        let tc = t + c * (TK / CA);
        let keep = tc < nk && keepColumn(b, kvStart + t0 + tc) && kvPresent(b, t0 + tc);
        keptW[tc] = select(0u, 1u, keep);
        // The row each column reads: its own, or the tile's last column.
        let cc = t0 + select(nk - 1u, tc, keep);
        var base = kBatch + (kvStart + cc) * u.kSeqStride;
        var r: KvRow;
        if (KV_SRC) {
          r = kvRow(b, h, cc, kvStart);
          // Words from the KV-source row's base; phase C reads the base back from kvBaseW.
          if (SRC_WORDS) { base = u.kvsKOffset + r.base; kvBaseW[tc] = r.base; }
          if (K_TOKEN) {
            kts[CA - 1u] = kvKTokenParam(r, u.kvsKsBase);
            kto[CA - 1u] = select(0.0, kvKTokenParam(r, u.kvsKoBase), KVS_K_OFFSET);
          }
        }
        kept[CA - 1u] = keep;
        kb[CA - 1u] = base;
        rows[CA - 1u] = r;
      }
      // Four heads per vec4 (qs holds dim d of heads 4·g4 .. at qs[d·GB4 + g4]; padding heads are
      // zero). Zeroed explicitly: a variable declared in a loop body is zero-initialized each
      // iteration by WGSL's rules, but SwiftShader kept the previous column's sums.
      // The loop over dims runs rolled() trips: unrolled, lavapipe's LLVM emits D copies of a
      // per-lane load (the rolled loop measured 15-17 against 22-23 ms for a FLOAT16 B4 N8 KV_N2
      // KV_S 1024 D64 decode there, and the same for FLOAT32).
      var dots: array<HV, GB4 * CA>;
      for (var i = 0u; i < GB4 * CA; i++) { dots[i] = HV(0.0); }
      for (var d = 0u; d < rolled(D); d += KW) {
        // q of dims d .. d + KW for every head, and per-channel K antiquant of those dims: read
        // once for the CA columns.
        var qd: array<array<HV, GB4>, KW>;
        var kcs: array<f32, KW>;
        var kco: array<f32, KW>;
        for (var e = 0u; e < KW; e++) {
          for (var g4 = 0u; g4 < GB4; g4++) { qd[e][g4] = toHV(qs[(d + e) * GB4 + g4]); }
          if (K_CHANNEL) {
            kcs[e] = kvKChannelParam(h, u.kvsKsBase, d + e);
            kco[e] = select(0.0, kvKChannelParam(h, u.kvsKoBase, d + e), KVS_K_OFFSET);
          }
        }
        for (var c = 0u; c < CA; c++) {
          var w = 0u;
          if (KV_WORDS) { w = kBuf[(kb[c] + d) / KW]; }
          for (var e = 0u; e < KW; e++) {
            var x: f32;
            if (KV_WORDS) {
              x = kvWordElem(w, e);
              if (K_CHANNEL) { x = (x + kco[e]) * kcs[e]; }
              if (K_TOKEN) { x = (x + kto[c]) * kts[c]; }
            } else if (KV_SRC) { x = loadKeyAt(rows[c], d); } else { x = loadK(kb[c] + d * u.kDimStride); }
            for (var g4 = 0u; g4 < GB4; g4++) { dots[c * GB4 + g4] += qd[e][g4] * x; }
          }
        }
      }
      // Rolled like the column setup: column c's sums are dots[0 .. GB4), then shifted out.
      for (var c = 0u; c < rolled(CA); c++) {
        let tc = t + c * (TK / CA);
        for (var g4 = 0u; g4 < GB4; g4++) {
          var s4 = vec4<f32>(NEG_MAX);
          for (var i = 0u; i < 4u && 4u * g4 + i < GB; i++) {
            s4[i] = select(NEG_MAX, capScore(hvAt(dots[g4], i) + pseAt(b, n0 + 4u * g4 + i, kvStart + t0 + tc)), kept[0]);
          }
          sc[tc * GB4 + g4] = s4;
        }
        for (var i = 0u; i + GB4 < GB4 * CA; i++) { dots[i] = dots[i + GB4]; }
        for (var i = 0u; i + 1u < CA; i++) { kept[i] = kept[i + 1u]; }
      }
    }
    workgroupBarrier();
    // B1: score classes, running max and the rescale factor per head.
    if (lid < GB) {
      let mOld = mW[lid / 4u][lid % 4u];
      var mx = mOld;
      var cls = clsW[lid];
      for (var t = 0u; t < nk; t++) {
        if (keptW[t] != 0u) {
          let raw = sc[t * GB4 + lid / 4u][lid % 4u];
          cls |= scoreClass(raw);
          let s = softmaxScore(raw);
          sc[t * GB4 + lid / 4u][lid % 4u] = s;
          mx = max(mx, s);
        }
      }
      mW[lid / 4u][lid % 4u] = mx;
      clsW[lid] = cls;
      alphaW[lid / 4u][lid % 4u] = exp(mOld - mx);
    }
    workgroupBarrier();
    // B2: probabilities (unnormalized) in place; 0 for columns not kept. Element by element:
    // on CPU compilers each vector component of a memory access is per-lane code of its own.
    for (var i = lid; i < 4u * GB4 * TK; i += WG) {
      let g = i % (4u * GB4);
      let at = i / 4u;
      sc[at][g % 4u] = select(0.0, exp(sc[at][g % 4u] - mW[g / 4u][g % 4u]), keptW[i / (4u * GB4)] != 0u);
    }
    workgroupBarrier();
    // C: accumulate P·V over this invocation's column group into its quads (see the header); a
    // column's KV-source row (paged: a block-table read) is found once per column and invocation.
    if (grp < R) {
      var alpha: array<HV, GB4>;
      for (var g4 = 0u; g4 < GB4; g4++) {
        alpha[g4] = toHV(alphaW[g4]);
        lsum[g4] *= alpha[g4];
      }
      for (var g = 0u; g < GB; g++) {
        for (var j = 0u; j < QJ; j++) { acc[j * GB + g] *= hvAt(alpha[g / 4u], g % 4u); }
      }
      for (var t = grp; t < nk; t += R) {
        // An excluded column's value is never read: nothing it holds (NaN, Inf) reaches acc.
        if (keptW[t] == 0u) { continue; }
        var p: array<HV, GB4>;
        for (var g4 = 0u; g4 < GB4; g4++) {
          p[g4] = toHV(sc[t * GB4 + g4]);
          lsum[g4] += p[g4];
        }
        // The KV-source row: whole-word reads need only its base (phase A's kvBaseW; a kept column
        // is present), the element reads the row itself (its dequant parameters).
        var r: KvRow;
        if (KV_SRC && (!SRC_WORDS || V_TOKEN)) { r = kvRow(b, h, t0 + t, kvStart); }
        var vRow = vBatch + (kvStart + t0 + t) * u.vSeqStride;
        if (SRC_WORDS) { vRow = u.kvsVOffset + kvBaseW[t]; }
        var vts = 1.0;
        var vto = 0.0;
        if (V_TOKEN) {
          vts = kvVTokenParam(r, u.kvsVsBase);
          vto = select(0.0, kvVTokenParam(r, u.kvsVoBase), KVS_V_OFFSET);
        }
        for (var j = 0u; j < QJ; j++) {
          let d0 = 4u * (ql + j * QW);
          if (d0 >= D) { continue; }
          var v = vec4<f32>(0.0);
          if (KV_WORDS) {
            // A quad never straddles a word of 8 elements (d0 is a multiple of 4), so a new word
            // starts at i == 0 and, for KW < 4, at every multiple of KW (KW divides D).
            var w = 0u;
            for (var i = 0u; i < 4u; i++) {
              let d = d0 + i;
              if (D % 4u != 0u && d >= D) { break; }
              if (i % KW == 0u) { w = vBuf[(vRow + d) / KW]; }
              var x = kvWordElem(w, d % KW);
              if (V_CHANNEL) { x = (x + vOffset[j][i]) * vScale[j][i]; }
              if (V_TOKEN) { x = (x + vto) * vts; }
              v[i] = x;
            }
          } else {
            for (var i = 0u; i < 4u; i++) {
              let d = d0 + i;
              if (D % 4u != 0u && d >= D) { break; }
              if (V_CHANNEL) { v[i] = (kvRawV(r, d) + vOffset[j][i]) * vScale[j][i]; }
              else if (KV_SRC) { v[i] = loadValueAt(r, d); } else { v[i] = loadV(vRow + d * u.vDimStride); }
            }
          }
          for (var g = 0u; g < GB; g++) { acc[j * GB + g] += hvAt(p[g / 4u], g % 4u) * v; }
        }
      }
    }
    workgroupBarrier();
  }

  // Each column group's partial sums into its own region of sc (the scores are dead after the last
  // tile's barrier; groupSums adds the regions): acc of head g, quad q at (grp·GB + g)·Q + q, l of
  // heads 4·g4 .. at R·GB·Q + grp·GB4 + g4. Rolled over the accumulators, one store site each
  // (per-lane code on CPU compilers): slot k is stored from acc[0], then acc shifts down by one.
  if (grp < R) {
    for (var k = 0u; k < rolled(GB * QJ); k++) {
      let q = ql + (k / GB) * QW;
      if (q < Q) { sc[(grp * GB + k % GB) * Q + q] = acc[0]; }
      for (var i = 0u; i + 1u < GB * QJ; i++) { acc[i] = acc[i + 1u]; }
    }
    for (var g4 = 0u; ql == 0u && g4 < rolled(GB4); g4++) {
      sc[R * GB * Q + grp * GB4 + g4] = fromHV(lsum[0]);
      for (var i = 0u; i + 1u < GB4; i++) { lsum[i] = lsum[i + 1u]; }
    }
  }
  workgroupBarrier();

  // Epilogue: the sink (split 0), then normalize; an empty slice (no kept column, no sink) gives
  // out 0, lse +Inf; a NaN row NaN. Rolled: it runs once, and unrolled its stores made a fifth of
  // lavapipe's LLVM IR for the shader.
  let rowBase = b * u.numQoHeads + n0;
  for (var k = 0u; k < rolled(ELEMS); k += 2u) {
    let e = slotElement(lid, k);
    if (e >= GB * D) { continue; }
    let g0 = e / D;
    let e1 = min(e + 1u, GB * D - 1u);
    let g1 = e1 / D;
    let sums = groupSums(e, e1, g0, g1);
    let st = array<SinkState, 2>(
      withSink(n0 + g0, split, mW[g0 / 4u][g0 % 4u], sums.z, clsW[g0]),
      withSink(n0 + g1, split, mW[g1 / 4u][g1 % 4u], sums.w, clsW[g1]));
    let o0 = finalOut(sums.x * st[0].scale, st[0].l, st[0].cls);
    let o1 = finalOut(sums.y * st[1].scale, st[1].l, st[1].cls);
    // Lanes owning d == 0 of a head write its lse (e is even; the odd element may start a head when D is odd).
    for (var j = 0u; j < 2u; j++) {
      let ej = e + j;
      if (ej < GB * D && ej % D == 0u) {
        storeLse(rowBase, ej / D, split, bitcast<u32>(finalLse(st[j].m, st[j].l, st[j].cls)));
      }
    }
    storePair(rowBase, e, split, o0, o1);
  }
}
