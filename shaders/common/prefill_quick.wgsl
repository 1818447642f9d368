// The prefill kernel's quick body (shaders/prefill.wgsl, BODY): the compile tier a run uses while
// the blocked body (prefill_blocked.wgsl) compiles. Same tiles, rules and results (summed in
// another order); a small shader that CPU compilers translate in a fraction of the time.
//
// One slot per invocation (ROWS_PER_THREAD = HEADS_PER_THREAD = 1): invocation t owns row
// tileRow0 + t % BLOCK_Q of head h·G + t / BLOCK_Q. Its q and acc are private arrays of D4 vec4,
// the tile's scores (then weights) a private array of BLOCK_KV. Every loop over dims, columns or
// output elements runs rolled() trips, so it stays a loop: a compiler that unrolled it would
// emit per-lane code for each access in each copy of the body.

var<private> qv: array<vec4<f32>, D4>;
var<private> acc: array<vec4<f32>, D4>;
var<private> w: array<f32, BLOCK_KV>;

fn keptCol(keep: u32, col: u32) -> bool { return ((keep >> col) & 1u) != 0u; }

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let span = workgroupSpan(wid, lid);
  let h = wid.y;
  let r = lid % BLOCK_Q;
  let row = span.tileRow0 + r;
  let n = h * GROUP_SIZE + lid / BLOCK_Q;
  let range = columnRange(row, span.win);
  let d4s = rolled(D4);
  let cols = rolled(BLOCK_KV);

  // q · scoreScale(), one element per iteration (a row past Q_S reads the last row; never stored).
  let qScale = scoreScale();
  let qBase = u.qOffset + batch * u.qStrideB + n * u.qStrideN + min(row, u.qSeqLen - 1u) * u.qStrideS;
  for (var d = 0u; d < rolled(HEAD_DIM); d++) {
    qv[d / 4u][d % 4u] = loadQ(qBase + d * u.qStrideD) * qScale;
  }

  var m = NEG_MAX;
  var l = 0.0;
  var cls = 0u;
  if (HAS_SINK && sinkRow(row, span.win)) {
    let st = foldSink(n, m, l, cls);
    m = st.m;
    l = st.l;
    cls = st.cls;
  }
  let numTiles = tileCount(span.colLo, span.colHi);
  var tag = 0u;
  // One pass over the tiles; two with INT8 (as in the blocked body): the first (stats) computes
  // m and l only, the second accumulates P8·v with m fixed.
  for (var sweep = select(1u, 0u, INT8); sweep < 2u; sweep++) {
    let stats = sweep == 0u;
    let p8 = INT8 && !stats;
    for (var tile = 0u; tile < numTiles; tile++) {
      tag++;
      let c0 = enterTile(span, tile, h, lid, tag);
      // The row's kept columns of the tile: range ∩ mask ∩ present.
      let keep = tileRowKeep(r, c0, range, tilePresentBits(cols));

      // Scores s = capScore(q·k + pse), NEG_MAX where not kept; the kept classes into cls.
      var tileMax = NEG_MAX;
      for (var col = 0u; col < cols; col++) {
        var dot = vec4<f32>(0.0);
        for (var d4 = 0u; d4 < d4s; d4++) { dot += qv[d4] * kTile[col * D4 + d4]; }
        let raw = capScore(dot.x + dot.y + dot.z + dot.w + pseAt(batch, n, row, kvBase + u32(c0) + col));
        let kept = keptCol(keep, col);
        cls |= select(0u, scoreClass(raw), kept);
        let s = select(NEG_MAX, softmaxScore(raw), kept);
        w[col] = s;
        tileMax = max(tileMax, s);
      }

      // Online update (m, l final on the P8 pass), then the weights: e^(s - m), or P8.
      var alpha = 1.0;
      if (!p8) {
        let mNew = max(m, tileMax);
        alpha = exp(m - mNew);
        m = mNew;
        l *= alpha;
      }
      let qs1 = quantScale1();
      for (var col = 0u; col < cols; col++) {
        let e = exp(w[col] - m);
        let p = select(0.0, select(e, clamp(round(e * qs1), -128.0, 127.0), p8), keptCol(keep, col));
        w[col] = p;
        if (!p8) { l += p; }
      }

      // acc ← α·acc + Σ p·v over the kept columns only (a NaN or Inf in a column the row does not
      // keep must not reach it through 0·v).
      if (!stats) {
        for (var d4 = 0u; d4 < d4s; d4++) {
          var a = acc[d4] * alpha;
          for (var col = 0u; col < cols; col++) {
            if (keptCol(keep, col)) { a += w[col] * vTile[col * D4 + d4]; }
          }
          acc[d4] = a;
        }
      }
      workgroupBarrier();
    }
  }

  // out and lse (rowOut, outElementBits in the frame), one output word per iteration.
  if (row >= u.qSeqLen) { return; }
  let ro = rowOut(l, cls);
  let base = outBase(n, row);
  for (var d = 0u; d < rolled(HEAD_DIM); d += OUT_EPW) {
    var bits = vec4<u32>(0u);
    for (var k = 0u; k < OUT_EPW; k++) { bits[k] = outElementBits(ro, acc[(d + k) / 4u][(d + k) % 4u], n * HEAD_DIM + d + k); }
    outStoreRun(base + d, OUT_EPW, bits);
  }
  writeLse((batch * u.numQoHeads + n) * u.qSeqLen + row, finalLse(m, l, cls));
}
