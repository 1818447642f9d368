// Prefill attention (Q_S > 1): flash attention over tiles of query rows, online softmax in f32.
//
// Design
// - Work split. One workgroup owns BLOCK_Q physical query rows [(qTileBase + wid.x)·BLOCK_Q,
//   +BLOCK_Q) of one batch b (wid.z + u.batchBase) and one KV head h (wid.y), for all GROUP_SIZE
//   query heads n = h·G + g sharing h. Invocation t owns ROWS_PER_THREAD consecutive rows ×
//   HEADS_PER_THREAD heads, its SLOTS "slots" (slot = r·HEADS_PER_THREAD + g). A slot's state is
//   private to the invocation (q pre-scaled by scoreScale(), running max m, running sum l, score
//   classes cls, accumulator acc), so the softmax needs no cross-invocation step.
// - Tile loop. The kept columns of the workgroup's rows lie in [colLo, colHi) (column bound, band);
//   tiles of BLOCK_KV logical columns outside it are never loaded, and the trip count is fixed
//   before the loop (docs/numerics.md). Per tile the whole workgroup decodes K and V once into f32
//   workgroup tiles (each element read from memory once, then used by every slot of every
//   invocation), marks absent columns (paged) and, with an attenMask, each tile row's kept columns
//   as bits (tileKeep). Then each slot:
//     scores    s_j = q·k_j + pse, kept iff j is in the row's range, the mask keeps it, present;
//     update    m' = max(m, max_kept s);  α = e^(m - m');  l = l·α;
//     weights   p_j = e^(s_j - m') for kept j, else 0;  l += Σ p_j;
//     accumulate acc = α·acc + Σ_j p_j · v_j (the α scaling rides on the accumulate pass).
//   Non-finite kept scores follow shaders/common/softmax_rules.wgsl (m starts at NEG_MAX and stays
//   finite; the classes in cls make the row NaN where the float64 rules say so).
// - Register blocking. Slots go in quads (m, l, cls are vec4 per quad) and quads in pairs; tile
//   columns in groups of 4. q·k and p·v are 4×4 matrix products (pairScores, accumulatePair), so
//   each K or V vector read from workgroup memory feeds 8 slots. Loops, not host unrolling: the
//   shader's size does not grow with HEAD_DIM or the slot count (pipeline compile stays short on
//   CPU adapters; private arrays still cost SwiftShader some, hence SLOT_FLOATS in the plan).
// - Compile cost. CPU compilers vectorize across invocations, so every *site* that indexes a private
//   array with a loop variable, or reads a buffer at a per-invocation address, becomes per-lane code
//   (llvmpipe: 8 lanes of extract/address/load, masked scatters for stores; one mat4 store ≈ 500
//   LLVM instructions). Compile time follows the number of such sites, not the trip counts, so
//   the kernel keeps them few: q is read by one scalar load in a loop over (slot, dim); the scores
//   are masked and maxed where q·k produces them (pairScores: one store of w per quad); the α
//   rescale of acc is folded into the accumulate pass (no separate read/write of acc).
// - INT8 query/key/value (SEMANTICS §9): P8 = sat(rint(e^(s - m)·quantScale1)) needs the row's
//   final max, so a first pass over the same tiles computes m and l only; the second pass
//   accumulates P8·v with m fixed.
// - Epilogue. l == 0 (no kept column): out 0, lse +Inf (row-invalid rule); a NaN row: NaN;
//   else out = acc · outScale() / l (outScale: 1, or deqScale2 on the INT8 path), lse = m + ln l.
//   attentionOut is written element-wise through outStoreRun (shaders/common/out_store.wgsl),
//   which merges words shared with other data or invocations, so any offset and layout is safe.
//
// The host (src/kernels/prefill.ts) fills in only what WGSL cannot express:
//   UNIFORMS   the PrefillUniforms struct (strides in elements of each tensor's dtype, offsets, ...)
//   BINDINGS   the storage bindings of the features in use, the uniform and the length table
//   WORKGROUP  the workgroup variables (the plan counts them: prefillWorkgroupArrays): kTile and
//              vTile; tilePresent (paged), tileKeep (mask), tileVBad (band or mask), each with
//              its accessors (setColumnPresent/columnPresent, setTileKeep/tileKeepOf,
//              markVBad/vBadTag), which are constant stubs where the feature is off
//   CONSTS     the shape constants and the feature switches (HAS_MASK, HAS_BAND, ... INT8)
//   ACCESSORS  one-line element loaders per dtype for each bound tensor, and constant stubs for the
//              features that are off (absent bindings cannot be named), device scalars from aux
//   KV_TILE    loadTileElems: K/V read directly (shaders/common/prefill_kv_direct.wgsl) or through
//              the KV source (shaders/common/kv_source.wgsl + prefill_kv_source.wgsl)
//   OUTPUT     outStoreRun for the output dtype and outBits (f32 → output element bits)
// Grid: the host splits batches and query tiles into dispatches of at most
// maxComputeWorkgroupsPerDimension workgroups per axis (u.batchBase, u.qTileBase).

{{UNIFORMS}}

{{BINDINGS}}

{{CONSTS}}
const D4: u32 = HEAD_DIM / 4u;
const SLOTS: u32 = ROWS_PER_THREAD * HEADS_PER_THREAD;
const ROW_THREADS: u32 = BLOCK_Q / ROWS_PER_THREAD;
const WORKGROUP_SIZE: u32 = ROW_THREADS * (GROUP_SIZE / HEADS_PER_THREAD);
// Bits of the tile's columns in a u32 column set (BLOCK_KV ≤ 32).
const TILE_COLUMNS: u32 = 0xffffffffu >> (32u - BLOCK_KV);
// Rows keep different columns of a tile (band, mask): a NaN or Inf in V of a column one row keeps
// must not reach another through p·v = 0·NaN, so such tiles take accumulateKeptOnly. Without band
// and mask every valid row keeps exactly the present columns below colHi, the tile holds zeros
// for the others, and invalid rows (l == 0) store 0 whatever their acc.
const ROW_VARIES: bool = HAS_MASK || HAS_BAND;

{{WORKGROUP}}

{{ACCESSORS}}

// Four K and V elements (d = 4·d4 ..) of one tile column, and whether the column exists.
struct TileElems {
  k: vec4<f32>,
  v: vec4<f32>,
  present: bool,
}

{{KV_TILE}}

{{OUTPUT}}

// Lengths (qLen, kvLen) of the dispatch's k-th batch (batchBase + k): two batches per vec4.
fn qLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u]; }
fn kvLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u + 1u]; }

// A batch's query window and KV length (logical rows i = row - qStart, columns j < kvLen).
struct Window {
  qStart: u32,
  qLen: u32,
  kvLen: u32,
  valid: bool,
}

// Kept logical columns [x, y) of physical query row `row` before the mask: the column bound,
// the band (SEMANTICS §4: -pre ≤ j - (i + anchor) ≤ next) and the row-validity rule. Empty
// (x ≥ y) for rows outside the window. pre/next are clamped to ±2^30 by the host: no overflow.
fn columnRange(row: u32, w: Window) -> vec2<i32> {
  let i = i32(row) - i32(w.qStart);
  let valid = w.valid && row < u.qSeqLen && i >= 0i && i < i32(w.qLen);
  var lo = 0i;
  var hi = select(0i, i32(w.kvLen), valid);
  if (HAS_BAND) {
    let anchor = select(0i, i32(w.kvLen) - i32(w.qLen), u.bandRightDown != 0u);
    lo = max(lo, i + anchor - u.preTokens);
    hi = min(hi, i + anchor + u.nextTokens + 1i);
  }
  return vec2<i32>(lo, hi);
}

// attenMask byte at (b, physical row, physical column): 0 keeps (SEMANTICS §3).
fn maskKeeps(b: u32, row: u32, col: u32) -> bool {
  return loadMaskByte(u.maskOffset + b * u.maskStrideB + row * u.maskStrideS + col * u.maskStrideC) == 0.0;
}

// Bits of the tile columns [c0, c0 + BLOCK_KV) inside the column range.
fn rangeBits(c0: i32, range: vec2<i32>) -> u32 {
  let lo = u32(clamp(range.x - c0, 0i, 32i));
  let hi = u32(clamp(range.y - c0, 0i, 32i));
  let below = select((1u << hi) - 1u, 0xffffffffu, hi >= 32u);
  let under = select((1u << lo) - 1u, 0xffffffffu, lo >= 32u);
  return select(0u, below & ~under & TILE_COLUMNS, hi > lo);
}

fn pseAt(b: u32, n: u32, row: u32, col: u32) -> f32 {
  if (!HAS_PSE) { return 0.0; }
  return loadPse(u.pseOffset + b * u.pseStrideB + n * u.pseStrideN + row * u.pseStrideS + col * u.pseStrideC);
}

// Decode the K/V tile of columns [c0, c0 + BLOCK_KV); columns past colHi, and paged columns whose
// block id is invalid, are zero and flagged absent. With a mask, also each tile row's kept
// columns (tileKeep[r]: range and mask; the mask is read once per (row, column)). A NaN or Inf in
// V raises tileVBad to `tag` (the caller's count of loaded tiles: it never needs resetting).
fn loadTile(b: u32, h: u32, c0: i32, colHi: i32, kvStart: u32, lid: u32, tileRow0: u32, win: Window, tag: u32) {
  for (var e = lid; e < BLOCK_KV * D4; e += WORKGROUP_SIZE) {
    let col = e / D4;
    let d4 = e % D4;
    let c = c0 + i32(col);
    var el = TileElems(vec4<f32>(0.0), vec4<f32>(0.0), false);
    if (c < colHi) { el = loadTileElems(b, h, u32(c), kvStart, d4); }
    kTile[e] = el.k;
    vTile[e] = el.v;
    if (d4 == 0u) { setColumnPresent(col, el.present); }
    let nonFinite = (bitcast<vec4<u32>>(el.v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u);
    if (ROW_VARIES && any(nonFinite)) { markVBad(tag); }
  }
  if (HAS_MASK) {
    for (var r = lid; r < BLOCK_Q; r += WORKGROUP_SIZE) {
      let row = tileRow0 + r;
      var bits = rangeBits(c0, columnRange(row, win));
      for (var col = 0u; col < BLOCK_KV; col++) {
        if (((bits >> col) & 1u) != 0u && !maskKeeps(b, row, kvStart + u32(c0) + col)) { bits &= ~(1u << col); }
      }
      setTileKeep(r, bits);
    }
  }
}

// KV tiles of [colLo, colHi): the trip count of both tile loops, fixed before they start.
fn tileCount(colLo: i32, colHi: i32) -> u32 {
  if (colHi <= colLo) { return 0u; }
  return (u32(colHi - colLo) + BLOCK_KV - 1u) / BLOCK_KV;
}

// ---- The invocation's slots ----------------------------------------------------------------
// Slots go in quads of four, quads in pairs (the last ones padded with slots that keep no column
// and are never stored), and tile columns in groups of four (the last group's missing columns
// read the tile's last column, never kept), so each step is a pair of 4×4 matrix products: q·k
// for 8 slots × 4 columns over 4 dims, or p·v for 4 dims × 8 slots over 4 columns. Orientation:
// "slot-major" matrices have one column per tile column (or dim) holding a quad's 4 slots; acc
// and the weights have one column per slot.
const QUADS: u32 = 2u * ((SLOTS + 7u) / 8u);
const GROUPS: u32 = (BLOCK_KV + 3u) / 4u;

var<private> batch: u32;
var<private> rowBase: u32;
var<private> headBase: u32;
var<private> kvBase: u32;
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

// The kept columns of tile c0 for each of the invocation's rows (range ∩ mask ∩ present).
fn tileKeepBits(c0: i32, rowSlot: u32) {
  var present = TILE_COLUMNS;
  if (PAGED) {
    for (var col = 0u; col < BLOCK_KV; col++) {
      if (!columnPresent(col)) { present &= ~(1u << col); }
    }
  }
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    var bits: u32;
    if (HAS_MASK) { bits = tileKeepOf(rowSlot * ROWS_PER_THREAD + r); }
    else { bits = rangeBits(c0, rowRange[r]); }
    rowKeep[r] = bits & present;
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

// One tile column's scores for the quad: raw = q·k + pse, kept where isKept (else NEG_MAX, the
// softmax's finite stand-in); the kept classes are OR-ed into *classes.
fn keptScores(raw: vec4<f32>, isKept: vec4<bool>, classes: ptr<function, vec4<u32>>) -> vec4<f32> {
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
  let keep1 = quadKeep(quad0 + 1u);
  var classes0 = cls[quad0];
  var classes1 = cls[quad0 + 1u];
  var max0 = vec4<f32>(NEG_MAX);
  var max1 = vec4<f32>(NEG_MAX);
  for (var g = 0u; g < GROUPS; g++) {
    let cols = groupColumns(g);
    var st0 = mat4x4<f32>();
    var st1 = mat4x4<f32>();
    for (var d4 = 0u; d4 < D4; d4++) {
      let k = mat4x4<f32>(kTile[cols.x + d4], kTile[cols.y + d4], kTile[cols.z + d4], kTile[cols.w + d4]);
      st0 += qT[q0 + d4] * k;
      st1 += qT[q1 + d4] * k;
    }
    w[g] = scoreGroup(st0, quad0, keep0, c0, 4u * g, &classes0, &max0);
    w[GROUPS + g] = scoreGroup(st1, quad0 + 1u, keep1, c0, 4u * g, &classes1, &max1);
  }
  cls[quad0] = classes0;
  cls[quad0 + 1u] = classes1;
  tileMax[0] = max0;
  tileMax[1] = max1;
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
    var acc1 = scaled(acc[a1 + d4], alpha1);
    for (var g = 0u; g < GROUPS; g++) {
      let cols = groupColumns(g);
      let v = mat4x4<f32>(vTile[cols.x + d4], vTile[cols.y + d4], vTile[cols.z + d4], vTile[cols.w + d4]);
      acc0 += v * w[g];
      acc1 += v * w[GROUPS + g];
    }
    acc[a0 + d4] = acc0;
    acc[a1 + d4] = acc1;
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
  let scale = outScale();
  for (var slot = 0u; slot < SLOTS; slot++) {
    let row = slotRow(slot);
    let n = slotHead(slot);
    if (row >= u.qSeqLen) { continue; }
    let quad = slot / 4u;
    let j = slot % 4u;
    let ls = l[quad][j];
    let nan = rowIsNan(cls[quad][j], ls);
    // acc of an empty row may hold 0·NaN from values kept by other rows: select 0, never scale it.
    let empty = ls == 0.0;
    let inv = scale / ls;
    let base = u.outOffset + batch * u.outStrideB + n * u.outStrideN + row * u.outStrideS;
    // d is a multiple of OUT_EPW (1, 2 or 4): the word's elements lie in one vec4 of acc.
    for (var d = 0u; d < HEAD_DIM; d += OUT_EPW) {
      let a = acc[quad * D4 + d / 4u][j];
      var bits = vec4<u32>(0u);
      for (var k = 0u; k < OUT_EPW; k++) {
        let o = select(select(a[d % 4u + k] * inv, 0.0, empty), nanF32(), nan);
        // INT8 output: quant8 (shaders/common/out_quant.wgsl) on output-quant channel n·D + d + k.
        bits[k] = select(outBits(o), quant8(o, n * HEAD_DIM + d + k), OUT_INT8);
      }
      outStoreRun(base + d, OUT_EPW, bits);
    }
    writeLse((batch * u.numQoHeads + n) * u.qSeqLen + row, finalLse(m[quad][j], ls, cls[quad][j]));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  batch = u.batchBase + wid.z;
  let h = wid.y;
  let tileRow0 = (u.qTileBase + wid.x) * BLOCK_Q;
  let qLen = qLenOf(wid.z);      // the table holds this dispatch's batches only
  let kvLen = kvLenOf(wid.z);

  // Left padding: rows [S - pad - len, S - pad); a window leaving [0, S) invalidates the batch.
  let qPad = queryPad();
  let kvPad = kvPad();
  let batchValid = (!HAS_QUERY_PAD || qPad + qLen <= u.qSeqLen) && (!HAS_KV_PAD || kvPad + kvLen <= u.kvRows);
  let qStart = select(0u, u.qSeqLen - qPad - qLen, HAS_QUERY_PAD && batchValid);
  kvBase = select(0u, u.kvRows - kvPad - kvLen, HAS_KV_PAD && batchValid);
  let win = Window(qStart, qLen, kvLen, batchValid);

  // The union of the tile rows' kept-column ranges: tiles outside [colLo, colHi) are skipped.
  // Both ends of a row's range grow with the row, so the first and last rows of the tile that
  // lie in the window bound the union (a superset is harmless: extra columns are not kept).
  let rowHiInTile = min(tileRow0 + BLOCK_Q, u.qSeqLen) - 1u;
  let iLo = max(tileRow0, qStart);
  let iHi = min(rowHiInTile, qStart + qLen - 1u);
  var colLo = 0i;
  var colHi = 0i;
  if (batchValid && qLen > 0u && iLo <= iHi) {
    let lo = columnRange(iLo, win);
    let hi = columnRange(iHi, win);
    colLo = min(lo.x, hi.x);
    colHi = max(lo.y, hi.y);
  }

  let rowSlot = lid % ROW_THREADS;
  rowBase = tileRow0 + rowSlot * ROWS_PER_THREAD;
  headBase = h * GROUP_SIZE + (lid / ROW_THREADS) * HEADS_PER_THREAD;
  for (var r = 0u; r < ROWS_PER_THREAD; r++) { rowRange[r] = columnRange(rowBase + r, win); }
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

  let numTiles = tileCount(colLo, colHi);
  var tag = 0u;
  if (INT8) {
    // First pass: the rows' final max m and sum l.
    for (var tile = 0u; tile < numTiles; tile++) {
      let c0 = colLo + i32(tile * BLOCK_KV);
      tag++;
      loadTile(batch, h, c0, colHi, kvBase, lid, tileRow0, win, tag);
      workgroupBarrier();
      tileKeepBits(c0, rowSlot);
      for (var pair = 0u; pair < QUADS / 2u; pair++) {
        pairScores(pair, c0);
        for (var quad = 2u * pair; quad < 2u * pair + 2u; quad++) {
          raiseMax(quad);
          l[quad] += expWeights(quad);
        }
      }
      workgroupBarrier();
    }
  }
  for (var tile = 0u; tile < numTiles; tile++) {
    let c0 = colLo + i32(tile * BLOCK_KV);
    tag++;
    loadTile(batch, h, c0, colHi, kvBase, lid, tileRow0, win, tag);
    workgroupBarrier();
    tileKeepBits(c0, rowSlot);
    let keptOnly = ROW_VARIES && vBadTag() == tag;
    for (var pair = 0u; pair < QUADS / 2u; pair++) {
      pairScores(pair, c0);
      for (var quad = 2u * pair; quad < 2u * pair + 2u; quad++) {
        if (INT8) {
          // m is final: the first pass saw the same scores (and cls already holds their classes).
          alpha[quad % 2u] = vec4<f32>(1.0);
          int8Weights(quad);
        } else {
          raiseMax(quad);
          l[quad] += expWeights(quad);
        }
        if (keptOnly) { accumulateKeptOnly(quad); }
      }
      if (!keptOnly) { accumulatePair(pair); }
    }
    workgroupBarrier();
  }
  epilogue();
}
