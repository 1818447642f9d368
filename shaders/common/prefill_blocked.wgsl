// The prefill kernel's steady body (shaders/prefill.wgsl, BODY): register-blocked slots.
//
// Slots go in quads of four, quads in pairs (the last ones padded with slots that keep no column
// and are never stored), and tile columns in groups of four (the last group's missing columns
// read the tile's last column, never kept), so each step is a pair of 4×4 matrix products: q·k
// for 8 slots × 4 columns over 4 dims, or p·v for 4 dims × 8 slots over 4 columns. An invocation
// of at most 4 slots (short queries: more invocations, fewer slots each) has one quad, unpaired
// (PAIRED false: the second quad's work is compiled out). Orientation:
// "slot-major" matrices have one column per tile column (or dim) holding a quad's 4 slots; acc
// and the weights have one column per slot.
// Each K or V vector read from workgroup memory feeds 8 slots. The private arrays are indexed by
// loop variables the compiler unrolls into constants (registers); their size, not HEAD_DIM, sets
// the compile time (hence SLOT_FLOATS in the plan).
const PAIRED: bool = SLOTS > 4u;
const QUADS: u32 = select(1u, 2u * ((SLOTS + 7u) / 8u), PAIRED);
const PAIRS: u32 = (QUADS + 1u) / 2u;
const GROUPS: u32 = (BLOCK_KV + 3u) / 4u;

var<private> rowBase: u32;
var<private> headBase: u32;
// q · scoreScale(), slot-major: qT[quad·D4 + d4][c] = the quad's q at dim 4·d4 + c.
var<private> qT: array<mat4x4<f32>, QUADS * D4>;
// acc[quad·D4 + d4][j] = slot 4·quad + j's accumulator at dims 4·d4 ...
var<private> acc: array<mat4x4<f32>, QUADS * D4>;
var<private> m: array<vec4<f32>, QUADS>;
var<private> l: array<vec4<f32>, QUADS>;
// OR of each slot's kept score classes (scoreClass in softmax_rules.wgsl).
var<private> cls: array<vec4<u32>, QUADS>;
// Each of the invocation's rows: its kept column range, its kept columns of the current tile.
var<private> rowRange: array<vec2<i32>, ROWS_PER_THREAD>;
var<private> rowKeep: array<u32, ROWS_PER_THREAD>;
// The current pair's scores of the tile, slot-major (w[g][c] = column 4·g + c), then its weights
// p, transposed (w[g][j] = slot j's weights of columns 4·g ..); quad q at w[(q % 2)·GROUPS + g].
var<private> w: array<mat4x4<f32>, 2u * GROUPS>;
// Per quad of the current pair: the tile's max raise e^(m - m'), applied to acc by the accumulate
// step (no separate pass over acc), and the tile's max of the kept scores.
var<private> alpha: array<vec4<f32>, 2>;
var<private> tileMax: array<vec4<f32>, 2>;

fn slotRow(slot: u32) -> u32 { return rowBase + slot / HEADS_PER_THREAD; }
fn slotHead(slot: u32) -> u32 { return headBase + slot % HEADS_PER_THREAD; }

// The kept columns of tile c0 for each of the invocation's rows (tileRowKeep in the frame).
fn tileKeepBits(c0: i32, rowSlot: u32) {
  let present = tilePresentBits(BLOCK_KV);
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    rowKeep[r] = tileRowKeep(rowSlot * ROWS_PER_THREAD + r, c0, rowRange[r], present);
  }
}

// The quad's kept columns of the current tile (padded slots keep none).
fn quadKeep(quad: u32) -> vec4<u32> {
  var keep = vec4<u32>(0u);
  for (var j = 0u; j < 4u; j++) {
    let slot = 4u * quad + j;
    if (slot < SLOTS) { keep[j] = rowKeep[slot / HEADS_PER_THREAD]; }
  }
  return keep;
}

fn keptAt(keep: vec4<u32>, col: u32) -> vec4<bool> {
  return ((keep >> vec4<u32>(col)) & vec4<u32>(1u)) != vec4<u32>(0u);
}

// The tile columns of group g: their first K/V tile element (past BLOCK_KV: the last column).
fn groupColumns(g: u32) -> vec4<u32> {
  return min(vec4<u32>(4u * g) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(BLOCK_KV - 1u)) * D4;
}

// One tile column's scores for the quad: raw = capScore(q·k + pse), kept where isKept (else NEG_MAX, the
// softmax's finite stand-in); the kept classes are OR-ed into *classes.
fn keptScores(sum: vec4<f32>, isKept: vec4<bool>, classes: ptr<function, vec4<u32>>) -> vec4<f32> {
  let raw = vec4<f32>(capScore(sum.x), capScore(sum.y), capScore(sum.z), capScore(sum.w));
  let c = vec4<u32>(scoreClass(raw.x), scoreClass(raw.y), scoreClass(raw.z), scoreClass(raw.w));
  *classes |= select(vec4<u32>(0u), c, isKept);
  let s = vec4<f32>(softmaxScore(raw.x), softmaxScore(raw.y), softmaxScore(raw.z), softmaxScore(raw.w));
  return select(vec4<f32>(NEG_MAX), s, isKept);
}

// pse of the quad's slots at tile column col (0 without pseShift).
fn quadPse(quad: u32, c0: i32, col: u32) -> vec4<f32> {
  var pse = vec4<f32>(0.0);
  if (HAS_PSE) {
    let physCol = kvBase + u32(c0) + col;
    for (var j = 0u; j < 4u; j++) {
      let slot = min(4u * quad + j, SLOTS - 1u);
      pse[j] = pseAt(batch, slotHead(slot), slotRow(slot), physCol);
    }
  }
  return pse;
}

// One group's four tile columns of a quad: raw = q·k + pse, kept where the keep bits say (else
// NEG_MAX, the softmax's finite stand-in); the kept classes are OR-ed into *classes and each
// slot's max into *colMax. Written out per column (constant matrix indices keep them in registers).
fn scoreGroup(raw: mat4x4<f32>, quad: u32, keep: vec4<u32>, c0: i32, col: u32, classes: ptr<function, vec4<u32>>,
              colMax: ptr<function, vec4<f32>>) -> mat4x4<f32> {
  var st = raw;
  st[0] = keptScores(st[0] + quadPse(quad, c0, col), keptAt(keep, col), classes);
  st[1] = keptScores(st[1] + quadPse(quad, c0, col + 1u), keptAt(keep, col + 1u), classes);
  st[2] = keptScores(st[2] + quadPse(quad, c0, col + 2u), keptAt(keep, col + 2u), classes);
  st[3] = keptScores(st[3] + quadPse(quad, c0, col + 3u), keptAt(keep, col + 3u), classes);
  *colMax = max(*colMax, max(max(st[0], st[1]), max(st[2], st[3])));
  return st;
}

// The scores s = q·k + pse of the tile for both quads of `pair` into w (slot-major, NEG_MAX where
// not kept), their classes into cls, each slot's max into tileMax.
fn pairScores(pair: u32, c0: i32) {
  let quad0 = 2u * pair;
  let q0 = quad0 * D4;
  let q1 = q0 + D4;
  let keep0 = quadKeep(quad0);
  var keep1 = vec4<u32>(0u);
  var classes0 = cls[quad0];
  var classes1 = vec4<u32>(0u);
  if (PAIRED) {
    keep1 = quadKeep(quad0 + 1u);
    classes1 = cls[quad0 + 1u];
  }
  var max0 = vec4<f32>(NEG_MAX);
  var max1 = vec4<f32>(NEG_MAX);
  for (var g = 0u; g < GROUPS; g++) {
    let cols = groupColumns(g);
    var st0 = mat4x4<f32>();
    var st1 = mat4x4<f32>();
    for (var d4 = 0u; d4 < D4; d4++) {
      let k = mat4x4<f32>(kTile[cols.x + d4], kTile[cols.y + d4], kTile[cols.z + d4], kTile[cols.w + d4]);
      st0 += qT[q0 + d4] * k;
      if (PAIRED) { st1 += qT[q1 + d4] * k; }
    }
    w[g] = scoreGroup(st0, quad0, keep0, c0, 4u * g, &classes0, &max0);
    if (PAIRED) { w[GROUPS + g] = scoreGroup(st1, quad0 + 1u, keep1, c0, 4u * g, &classes1, &max1); }
  }
  cls[quad0] = classes0;
  tileMax[0] = max0;
  if (PAIRED) {
    cls[quad0 + 1u] = classes1;
    tileMax[1] = max1;
  }
}

// Online update: m' = max(m, tileMax); l scaled by α = e^(m - m'), α kept for acc (the accumulate
// step scales it).
fn raiseMax(quad: u32) {
  let mNew = max(m[quad], tileMax[quad % 2u]);
  let a = exp(m[quad] - mNew);
  m[quad] = mNew;
  l[quad] *= a;
  alpha[quad % 2u] = a;
}

// acc's columns (one per slot) scaled by the slots' α.
fn scaled(a: mat4x4<f32>, s: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(a[0] * s.x, a[1] * s.y, a[2] * s.z, a[3] * s.w);
}

// w ← p = e^(s - m) on kept columns, else 0 (transposed for accumulate: w[g][j] = slot j's p of
// the group's 4 columns); returns Σ p per slot.
fn expWeights(quad: u32) -> vec4<f32> {
  let keep = quadKeep(quad);
  let mq = m[quad];
  let w0 = (quad % 2u) * GROUPS;
  var sum = vec4<f32>(0.0);
  for (var g = 0u; g < GROUPS; g++) {
    var s = w[w0 + g];
    let col = 4u * g;
    s[0] = select(vec4<f32>(0.0), exp(s[0] - mq), keptAt(keep, col));
    s[1] = select(vec4<f32>(0.0), exp(s[1] - mq), keptAt(keep, col + 1u));
    s[2] = select(vec4<f32>(0.0), exp(s[2] - mq), keptAt(keep, col + 2u));
    s[3] = select(vec4<f32>(0.0), exp(s[3] - mq), keptAt(keep, col + 3u));
    sum += s[0] + s[1] + s[2] + s[3];
    w[w0 + g] = transpose(s);
  }
  return sum;
}

// INT8 path: w ← P8 = sat[-128,127](rint(e^(s - m)·quantScale1)) on kept columns, else 0
// (transposed as in expWeights).
fn int8Weights(quad: u32) {
  let keep = quadKeep(quad);
  let mq = m[quad];
  let qs1 = quantScale1();
  let w0 = (quad % 2u) * GROUPS;
  for (var g = 0u; g < GROUPS; g++) {
    var s = w[w0 + g];
    let col = 4u * g;
    s[0] = select(vec4<f32>(0.0), p8(s[0], mq, qs1), keptAt(keep, col));
    s[1] = select(vec4<f32>(0.0), p8(s[1], mq, qs1), keptAt(keep, col + 1u));
    s[2] = select(vec4<f32>(0.0), p8(s[2], mq, qs1), keptAt(keep, col + 2u));
    s[3] = select(vec4<f32>(0.0), p8(s[3], mq, qs1), keptAt(keep, col + 3u));
    w[w0 + g] = transpose(s);
  }
}

fn p8(s: vec4<f32>, m: vec4<f32>, qs1: f32) -> vec4<f32> {
  return clamp(round(exp(s - m) * qs1), vec4<f32>(-128.0), vec4<f32>(127.0));
}

// acc ← α·acc + Σ_col p_col · v_col over the tile for both quads of `pair` (acc stays in registers
// across the groups).
fn accumulatePair(pair: u32) {
  let a0 = 2u * pair * D4;
  let a1 = a0 + D4;
  let alpha0 = alpha[0];
  let alpha1 = alpha[1];
  for (var d4 = 0u; d4 < D4; d4++) {
    var acc0 = scaled(acc[a0 + d4], alpha0);
    var acc1 = mat4x4<f32>();
    if (PAIRED) { acc1 = scaled(acc[a1 + d4], alpha1); }
    for (var g = 0u; g < GROUPS; g++) {
      let cols = groupColumns(g);
      let v = mat4x4<f32>(vTile[cols.x + d4], vTile[cols.y + d4], vTile[cols.z + d4], vTile[cols.w + d4]);
      acc0 += v * w[g];
      if (PAIRED) { acc1 += v * w[GROUPS + g]; }
    }
    acc[a0 + d4] = acc0;
    if (PAIRED) { acc[a1 + d4] = acc1; }
  }
}

// accumulate (acc ← α·acc + Σ p·v) for a tile whose V holds NaN or Inf while rows keep different
// columns (band, mask): a slot adds a column's v only where it keeps the column, so 0·NaN from a
// column it excludes cannot reach it.
fn accumulateKeptOnly(quad: u32) {
  let keep = quadKeep(quad);
  let w0 = (quad % 2u) * GROUPS;
  let a = alpha[quad % 2u];
  let zero = vec4<f32>(0.0);
  for (var d4 = 0u; d4 < D4; d4++) {
    var accq = scaled(acc[quad * D4 + d4], a);
    for (var col = 0u; col < BLOCK_KV; col++) {
      let isKept = keptAt(keep, col);
      let p = transpose(w[w0 + col / 4u])[col % 4u];
      let v = vTile[col * D4 + d4];
      accq += mat4x4<f32>(select(zero, v * p.x, isKept.x), select(zero, v * p.y, isKept.y),
                          select(zero, v * p.z, isKept.z), select(zero, v * p.w, isKept.w));
    }
    acc[quad * D4 + d4] = accq;
  }
}

// out and lse of each slot (row-invalid and NaN rules of softmax_rules.wgsl). The elements of one
// output word (OUT_EPW, shaders/common/out_store.wgsl) per iteration: a single store site, since
// outStoreRun's word merges are atomics, per-lane code on CPU compilers (four sites per vec4 made
// the epilogue a large part of the compile), and whole words stay single atomicStores.
fn epilogue() {
  for (var slot = 0u; slot < SLOTS; slot++) {
    let row = slotRow(slot);
    let n = slotHead(slot);
    if (row >= u.qSeqLen) { continue; }
    let quad = slot / 4u;
    let j = slot % 4u;
    let ls = l[quad][j];
    let ro = rowOut(ls, cls[quad][j]);
    let base = outBase(n, row);
    // d is a multiple of OUT_EPW (1, 2 or 4): the word's elements lie in one vec4 of acc.
    for (var d = 0u; d < HEAD_DIM; d += OUT_EPW) {
      let a = acc[quad * D4 + d / 4u][j];
      var bits = vec4<u32>(0u);
      for (var k = 0u; k < OUT_EPW; k++) { bits[k] = outElementBits(ro, a[d % 4u + k], n * HEAD_DIM + d + k); }
      outStoreRun(base + d, OUT_EPW, bits);
    }
    writeLse((batch * u.numQoHeads + n) * u.qSeqLen + row, finalLse(m[quad][j], ls, cls[quad][j]));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let span = workgroupSpan(wid, lid);
  let h = wid.y;
  let rowSlot = lid % ROW_THREADS;
  rowBase = span.tileRow0 + rowSlot * ROWS_PER_THREAD;
  headBase = h * GROUP_SIZE + (lid / ROW_THREADS) * HEADS_PER_THREAD;
  for (var r = 0u; r < ROWS_PER_THREAD; r++) { rowRange[r] = columnRange(rowBase + r, span.win); }
  // q · scoreScale(), slot-major, one element per iteration: a single load site (rows past Q_S are
  // clamped; padded slots keep the private arrays' zeros and are never stored).
  let qScale = scoreScale();
  for (var e = 0u; e < SLOTS * HEAD_DIM; e++) {
    let slot = e / HEAD_DIM;
    let d = e % HEAD_DIM;
    let row = min(slotRow(slot), u.qSeqLen - 1u);
    let x = loadQ(u.qOffset + batch * u.qStrideB + slotHead(slot) * u.qStrideN + row * u.qStrideS + d * u.qStrideD);
    qT[(slot / 4u) * D4 + d / 4u][d % 4u][slot % 4u] = x * qScale;
  }
  for (var quad = 0u; quad < QUADS; quad++) { m[quad] = vec4<f32>(NEG_MAX); }
  if (HAS_SINK) {
    for (var slot = 0u; slot < SLOTS; slot++) {
      if (!sinkRow(slotRow(slot), span.win)) { continue; }
      let quad = slot / 4u;
      let j = slot % 4u;
      let st = foldSink(slotHead(slot), m[quad][j], l[quad][j], cls[quad][j]);
      m[quad][j] = st.m;
      l[quad][j] = st.l;
      cls[quad][j] = st.cls;
    }
  }

  let numTiles = tileCount(span.colLo, span.colHi);
  var tag = 0u;
  // One sweep over the tiles; two with INT8, where P8 needs the row's final max: the first sweep
  // (stats) computes m and l only, the second accumulates P8·v with m fixed.
  for (var sweep = select(1u, 0u, INT8); sweep < 2u; sweep++) {
    let stats = sweep == 0u;
    for (var tile = 0u; tile < numTiles; tile++) {
      tag++;
      let c0 = enterTile(span, tile, h, lid, tag);
      tileKeepBits(c0, rowSlot);
      let keptOnly = !stats && ROW_VARIES && vBadTag() == tag;
      for (var pair = 0u; pair < PAIRS; pair++) {
        pairScores(pair, c0);
        for (var quad = 2u * pair; quad < min(2u * pair + 2u, QUADS); quad++) {
          if (INT8 && !stats) {
            // m and l are final: the first pass saw the same scores (and cls holds their classes).
            alpha[quad % 2u] = vec4<f32>(1.0);
            int8Weights(quad);
          } else {
            raiseMax(quad);
            l[quad] += expWeights(quad);
          }
          if (keptOnly) { accumulateKeptOnly(quad); }
        }
        if (!stats && !keptOnly) { accumulatePair(pair); }
      }
      workgroupBarrier();
    }
  }
  epilogue();
}
