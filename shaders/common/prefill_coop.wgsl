// The prefill kernel's cooperative body (shaders/prefill.wgsl, BODY): the GPU-shaped variant the
// planner picks for hardware adapters. Same tiles, rules and results as the other bodies (summed in
// another order).
//
// The CPU-shaped bodies give each invocation whole query rows: its q and acc in private arrays,
// the softmax private to it. On a GPU that is hundreds of registers per invocation. Here the
// workgroup's SLOT_ROWS = BLOCK_Q × GROUP_SIZE rows ("slots": slot s is tile row s % BLOCK_Q of
// head h·G + s / BLOCK_Q) work on each K/V tile together, in three steps between barriers, as
// GPU flash-attention kernels do:
//   scores      the SLOT_ROWS × BLOCK_KV block s = capScore(q·k + pse) in workgroup memory (sTile),
//               one (slot, column) dot product per invocation and step; q of every slot lives in
//               workgroup memory (qTile), loaded once;
//   softmax     per slot: the kept columns, their classes, the online max and sum, the weights p
//               (or P8) written over the scores, the factor α = e^(m - m') (rowAlpha). The row
//               state (m, l, cls) lives in workgroup memory. With subgroups (the host's choice
//               of prefill_coop_subgroups.wgsl) a subgroup takes a row, its lanes the row's columns (subgroupMax / subgroupAdd / subgroupOr, any
//               subgroup size: rows go to subgroups by an index each subgroup draws, so nothing
//               depends on how invocations map to subgroups); without, one invocation per row;
//   accumulate  invocation t owns the acc vectors e = t + k·WORKGROUP_SIZE (slot e / D4, dims
//               4·(e % D4) ..), ACC_PER_THREAD of them in registers: acc = α·acc + Σ kept p·v.
// Then the epilogue stores each owned vector and the owner of dims 0..3 the row's lse.
// F16_TILES (shader-f16, FLOAT16 K/V read directly): K/V are loaded as f16 and kept in f16 tiles
// (half the workgroup storage: larger tiles); scores, max, sum and acc stay f32.
// Loops over dims and columns run rolled() trips (shaders/common/rolled.wgsl): the body is tested on
// llvmpipe too, which would unroll them into per-lane code; a GPU runs them as loops. The loops
// over the owned acc vectors keep a constant trip count, so acc stays in registers.
// The host prepends the softmax step's file (one of the two above): it declares CoopInvocation
// (main's per-invocation builtins), softmaxTeams and softmaxStep.

const SLOT_ROWS: u32 = BLOCK_Q * GROUP_SIZE;
const ACC_VECS: u32 = SLOT_ROWS * D4;
const ACC_PER_THREAD: u32 = (ACC_VECS + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;

var<private> acc: array<vec4<f32>, ACC_PER_THREAD>;

fn slotRow(tileRow0: u32, slot: u32) -> u32 { return tileRow0 + slot % BLOCK_Q; }
fn slotHead(h: u32, slot: u32) -> u32 { return h * GROUP_SIZE + slot / BLOCK_Q; }
fn keptCol(keep: u32, col: u32) -> bool { return ((keep >> col) & 1u) != 0u; }

// p·v for the accumulator: in f16 with F16_PRODUCTS (F16_TILES and a 16-bit or INT8 final output,
// whose rounding is coarser than the f16 weight's), else in f32; acc itself stays f32.
fn weighted(p: f32, v: TileVec) -> vec4<f32> {
  if (F16_PRODUCTS) { return vec4<f32>(TileScalar(p) * v); }
  return p * vec4<f32>(v);
}

// One slot's kept columns of tile c0 (range ∩ mask ∩ present).
fn slotKeep(slot: u32, span: Span, c0: i32, present: u32) -> u32 {
  return tileRowKeep(slot % BLOCK_Q, c0, columnRange(slotRow(span.tileRow0, slot), span.win), present);
}

// The weight of kept score s against the row max m: e^(s - m), or P8 on the INT8 pass.
fn weight(s: f32, m: f32, p8: bool) -> f32 {
  let e = exp(s - m);
  return select(e, clamp(round(e * quantScale1()), -128.0, 127.0), p8);
}

// The row's state after the tile: m' = max(m, tile max) (m fixed on the P8 pass), l·α + Σ p.
struct RowStep {
  m: f32,
  alpha: f32,
}
fn raiseMax(m: f32, tileMax: f32, p8: bool) -> RowStep {
  if (p8) { return RowStep(m, 1.0); }
  let mNew = max(m, tileMax);
  return RowStep(mNew, exp(m - mNew));
}

// The softmax step of one slot by one invocation (prefill_coop_rows.wgsl): its scores in sTile
// become weights.
fn slotSoftmax(slot: u32, keep: u32, p8: bool) {
  let s0 = slot * BLOCK_KV;
  var cls = rowCls[slot];
  var tileMax = NEG_MAX;
  for (var col = 0u; col < rolled(BLOCK_KV); col++) {
    let raw = sTile[s0 + col];
    let kept = keptCol(keep, col);
    cls |= select(0u, scoreClass(raw), kept);
    let s = select(NEG_MAX, softmaxScore(raw), kept);
    sTile[s0 + col] = s;
    tileMax = max(tileMax, s);
  }
  let st = raiseMax(rowM[slot], tileMax, p8);
  var sum = 0.0;
  for (var col = 0u; col < rolled(BLOCK_KV); col++) {
    let p = select(0.0, weight(sTile[s0 + col], st.m, p8), keptCol(keep, col));
    sTile[s0 + col] = p;
    sum += p;
  }
  rowM[slot] = st.m;
  rowL[slot] = select(rowL[slot] * st.alpha + sum, rowL[slot], p8);
  rowCls[slot] = cls;
  rowAlpha[slot] = st.alpha;
  rowKept[slot] = keep;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, inv: CoopInvocation) {
  let lid = inv.lid;
  let span = workgroupSpan(wid, lid);
  let h = wid.y;
  // Who computes the softmax of which slots (prefill_coop_rows.wgsl or prefill_coop_subgroups.wgsl).
  let rowTeams = softmaxTeams(inv);

  // q · scoreScale() of every slot, one element per iteration (rows past Q_S read the last row;
  // never stored), and each slot's initial state (with its learnable sink folded in).
  let qScale = scoreScale();
  for (var e = lid; e < SLOT_ROWS * HEAD_DIM; e += WORKGROUP_SIZE) {
    let slot = e / HEAD_DIM;
    let d = e % HEAD_DIM;
    let row = min(slotRow(span.tileRow0, slot), u.qSeqLen - 1u);
    let x = loadQ(u.qOffset + batch * u.qStrideB + slotHead(h, slot) * u.qStrideN + row * u.qStrideS + d * u.qStrideD);
    qTile[slot * D4 + d / 4u][d % 4u] = x * qScale;
  }
  for (var slot = lid; slot < SLOT_ROWS; slot += WORKGROUP_SIZE) {
    var st = SinkState(NEG_MAX, 0.0, 1.0, 0u);
    if (HAS_SINK && sinkRow(slotRow(span.tileRow0, slot), span.win)) { st = foldSink(slotHead(h, slot), st.m, st.l, st.cls); }
    rowM[slot] = st.m;
    rowL[slot] = st.l;
    rowCls[slot] = st.cls;
  }
  workgroupBarrier();

  let numTiles = tileCount(span.colLo, span.colHi);
  var tag = 0u;
  // One sweep over the tiles; two with INT8, where P8 needs the row's final max: the first sweep
  // (stats) computes m and l only, the second accumulates P8·v with m fixed.
  for (var sweep = select(1u, 0u, INT8); sweep < 2u; sweep++) {
    let stats = sweep == 0u;
    let p8 = INT8 && !stats;
    for (var tile = 0u; tile < numTiles; tile++) {
      tag++;
      let c0 = enterTile(span, tile, h, lid, tag);

      // Scores: one (slot, column) dot product per iteration.
      for (var e = lid; e < SLOT_ROWS * BLOCK_KV; e += WORKGROUP_SIZE) {
        let slot = e / BLOCK_KV;
        let col = e % BLOCK_KV;
        var dot = vec4<f32>(0.0);
        for (var d4 = 0u; d4 < rolled(D4); d4++) { dot += qTile[slot * D4 + d4] * vec4<f32>(kTile[col * D4 + d4]); }
        let pse = pseAt(batch, slotHead(h, slot), slotRow(span.tileRow0, slot), kvBase + u32(c0) + col);
        sTile[e] = capScore(dot.x + dot.y + dot.z + dot.w + pse);
      }
      workgroupBarrier();

      // Softmax: the scores of each slot become its weights.
      let present = tilePresentBits(BLOCK_KV);
      softmaxStep(inv, rowTeams, span, c0, present, p8);
      workgroupBarrier();

      // acc ← α·acc + Σ p·v over each slot's kept columns (select drops a NaN or Inf in a V column
      // the slot does not keep, which 0·v would not).
      if (!stats) {
        for (var k = 0u; k < ACC_PER_THREAD; k++) {
          let e = lid + k * WORKGROUP_SIZE;
          if (e >= ACC_VECS) { break; }
          let slot = e / D4;
          let d4 = e % D4;
          let keep = rowKept[slot];
          var a = acc[k] * rowAlpha[slot];
          for (var col = 0u; col < rolled(BLOCK_KV); col++) {
            a += select(vec4<f32>(0.0), weighted(sTile[slot * BLOCK_KV + col], vTile[col * D4 + d4]), keptCol(keep, col));
          }
          acc[k] = a;
        }
      }
      workgroupBarrier();
    }
  }

  // out and lse (rowOut, outElementBits in the frame): each owned vector of acc, one output word
  // per iteration; the owner of dims 0..3 writes the row's lse.
  for (var k = 0u; k < ACC_PER_THREAD; k++) {
    let e = lid + k * WORKGROUP_SIZE;
    if (e >= ACC_VECS) { break; }
    let slot = e / D4;
    let d4 = e % D4;
    let row = slotRow(span.tileRow0, slot);
    if (row >= u.qSeqLen) { continue; }
    let n = slotHead(h, slot);
    let ls = rowL[slot];
    let ro = rowOut(ls, rowCls[slot]);
    let base = outBase(n, row);
    for (var j = 0u; j < 4u; j += OUT_EPW) {
      var bits = vec4<u32>(0u);
      for (var i = 0u; i < OUT_EPW; i++) { bits[i] = outElementBits(ro, acc[k][j + i], n * HEAD_DIM + 4u * d4 + j + i); }
      outStoreRun(base + 4u * d4 + j, OUT_EPW, bits);
    }
    if (d4 == 0u) { writeLse((batch * u.numQoHeads + n) * u.qSeqLen + row, finalLse(rowM[slot], ls, rowCls[slot])); }
  }
}
