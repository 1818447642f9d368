// Prefill attention (Q_S > 1): flash attention over tiles of query rows, online softmax in f32.
// This file is the frame the bodies share: the work split, the tile loads, the column ranges;
// BODY is the slots' work and the entry point, one of
//   shaders/common/prefill_blocked.wgsl  the steady kernel on CPU adapters: register-blocked slots
//                                        (quads of 4, pairs of quads), each K/V vector read feeds
//                                        8 slots;
//   shaders/common/prefill_quick.wgsl    the compile tier: one slot per invocation and rolled
//                                        loops, a shader CPU compilers translate several times
//                                        faster; runs until the blocked pipeline is compiled;
//   shaders/common/prefill_coop.wgsl     the steady kernel on hardware GPUs: the workgroup computes
//                                        each tile's score block, softmax and p·v together, with
//                                        few registers per invocation (subgroups where present).
//
// Design
// - Work split. One workgroup owns BLOCK_Q physical query rows [tile·BLOCK_Q, +BLOCK_Q) of one
//   batch b (wid.z + u.batchBase) and one KV head h (wid.y), for all GROUP_SIZE query heads
//   n = h·G + g sharing h, and the KV columns of one split: grid x = tile·numSplits + split
//   (+ u.qTileBase). In the CPU-shaped bodies invocation t owns ROWS_PER_THREAD consecutive rows
//   × HEADS_PER_THREAD heads, its SLOTS "slots" (quick: one). A slot's state is private to the
//   invocation (q pre-scaled by scoreScale(), running max m, running sum l, score classes cls,
//   accumulator acc), so the softmax needs no cross-invocation step. The coop body shares each
//   slot's work out over the workgroup instead (its header).
// - Tile loop. The kept columns of the workgroup's rows lie in [colLo, colHi) (column bound, band;
//   workgroupSpan); tiles of BLOCK_KV logical columns outside it are never loaded, and the trip
//   count is fixed before the loop (docs/numerics.md). Per tile the whole workgroup decodes K and
//   V once into f32 workgroup tiles (loadTile: each element read from memory once, then used by
//   every slot of every invocation), marks absent columns (paged) and, with an attenMask, each
//   tile row's kept columns as bits (tileKeep). Then each slot:
//     scores    s_j = q·k_j + pse (then capScore: the soft cap, an extension), kept iff j is in
//               the row's range, the mask keeps it, present;
//     update    m' = max(m, max_kept s);  α = e^(m - m');  l = l·α;
//     weights   p_j = e^(s_j - m') for kept j, else 0;  l += Σ p_j;
//     accumulate acc = α·acc + Σ_j p_j · v_j.
//   Non-finite kept scores follow shaders/common/softmax_rules.wgsl (m starts at NEG_MAX and stays
//   finite; the classes in cls make the row NaN where the float64 rules say so). A learnable sink
//   (extension) is folded into each query row's state before the first tile (foldSink,
//   shaders/common/extensions.wgsl): a kept column of score sink_n and value 0.
// - Compile cost. CPU compilers vectorize across invocations, so every *site* that indexes a private
//   array with a per-invocation index, or reads a buffer at a per-invocation address, becomes
//   per-lane code (llvmpipe: 8 lanes of extract/address/load, masked scatters for stores), and
//   llvmpipe unrolls loops with constant trip counts, copying such sites. Compile time follows the
//   number of sites, so the kernel keeps them few: K/V, q and the output go through one load or
//   store site each, in loops over elements; loops around them in the quick body and the mask
//   reads run rolled() trips.
// - INT8 query/key/value (SEMANTICS §9): P8 = sat(rint(e^(s - m)·quantScale1)) needs the row's
//   final max, so a first sweep over the same tiles computes m and l only; the second sweep
//   accumulates P8·v with m fixed.
// - Epilogue. l == 0 (no kept column): out 0, lse +Inf (row-invalid rule); a NaN row: NaN;
//   else out = acc · outScale() / l (outScale: 1, or deqScale2 on the INT8 path), lse = m + ln l.
//   attentionOut is written element-wise through outStoreRun (shaders/common/out_store.wgsl),
//   which merges words shared with other data or invocations, so any offset and layout is safe.
// - KV splits (PARTIAL; a few query rows over a long KV, where query tiles alone leave the device
//   idle): split s keeps only the logical columns [s·splitLen, (s + 1)·splitLen) of every row (part
//   of columnRange, so tile skipping, bits and masks follow), folds the learnable sink in split 0
//   only, and writes its normalized f32 partial out and lse to the workspace at row (b·N + n)·Q_S + i,
//   split s (outBase, writeLse; the host points the out strides there). The combine pass
//   (shaders/combine.wgsl) merges the splits into attentionOut, softmaxLse and the INT8 output.
//   Unsplit plans have numSplits 1 and a split that holds every column.
//
// The host (src/kernels/prefill.ts) fills in only what WGSL cannot express:
//   UNIFORMS   the PrefillUniforms struct (strides in elements of each tensor's dtype, offsets, ...)
//   BINDINGS   the storage bindings of the features in use, the uniform and the length table
//   WORKGROUP  the workgroup variables (the plan counts them: prefillWorkgroupArrays): kTile and
//              vTile (of TileVec: vec4<f32>, or vec4<f16> on coop's F16_TILES path); tilePresent (paged), tileKeep (mask), tileVBad (blocked, band or mask), each with
//              its accessors (setColumnPresent/columnPresent, setTileKeep/tileKeepOf,
//              markVBad/vBadTag), which are constant stubs where the feature is off
//   CONSTS     the shape constants (WORKGROUP_SIZE: the blocked and quick bodies' ROW_THREADS ×
//              GROUP_SIZE / HEADS_PER_THREAD) and the feature switches (HAS_MASK, HAS_BAND, ... INT8)
//   ENABLE     the extensions the body uses (coop: subgroups, f16)
//   ACCESSORS  one-line element loaders per dtype for each bound tensor, and constant stubs for the
//              features that are off (absent bindings cannot be named), device scalars from aux
//   KV_TILE    loadTileElem, loadTileElems: K/V read directly (shaders/common/prefill_kv_direct.wgsl) or through
//              the KV source (shaders/common/kv_source.wgsl + prefill_kv_source.wgsl)
//   OUTPUT     outStoreRun for the output dtype and outBits (f32 → output element bits)
//   BODY       the plan's body (above)
// Grid: the host splits batches and query tiles into dispatches of at most
// maxComputeWorkgroupsPerDimension workgroups per axis (u.batchBase, u.qTileBase).

{{ENABLE}}

{{UNIFORMS}}

{{BINDINGS}}

{{CONSTS}}
const D4: u32 = HEAD_DIM / 4u;
const SLOTS: u32 = ROWS_PER_THREAD * HEADS_PER_THREAD;
const ROW_THREADS: u32 = BLOCK_Q / ROWS_PER_THREAD;
// Bits of the tile's columns in a u32 column set (BLOCK_KV ≤ 32).
const TILE_COLUMNS: u32 = 0xffffffffu >> (32u - BLOCK_KV);
// Rows keep different columns of a tile (band, mask): a NaN or Inf in V of a column one row keeps
// must not reach another through p·v = 0·NaN, so such tiles take accumulateKeptOnly (blocked body;
// the quick and coop bodies add each slot's kept columns only). Without band
// and mask every valid row keeps exactly the present columns below colHi, the tile holds zeros
// for the others, and invalid rows (l == 0) store 0 whatever their acc.
const ROW_VARIES: bool = HAS_MASK || HAS_BAND;

{{WORKGROUP}}

{{ACCESSORS}}

// The K and V elements at one dim (TileElem) or four dims (TileElems: d = 4·d4 ..) of one tile
// column, and whether the column exists.
struct TileElem {
  k: f32,
  v: f32,
  present: bool,
}
struct TileElems {
  k: vec4<f32>,
  v: vec4<f32>,
  present: bool,
}

{{KV_TILE}}

{{OUTPUT}}

// How a row's accumulators become its outputs (row-invalid and NaN rules of softmax_rules.wgsl):
// acc · outScale() / l; 0 for a row with no kept column (its acc may hold 0·NaN from values other
// rows kept: selected away, never scaled); NaN for a NaN row.
struct RowOut {
  inv: f32,
  empty: bool,
  nan: bool,
}
fn rowOut(l: f32, cls: u32) -> RowOut {
  return RowOut(outScale() / l, l == 0.0, rowIsNan(cls, l));
}
// The output bits of accumulator value `a` of row `r` on output-quant channel `channel` (n·D + d):
// the output dtype's, or quant8's for an INT8 output (shaders/common/out_quant.wgsl).
fn outElementBits(r: RowOut, a: f32, channel: u32) -> u32 {
  let o = select(select(a * r.inv, 0.0, r.empty), nanF32(), r.nan);
  return select(outBits(o), quant8(o, channel), OUT_INT8);
}

// rolled(n) (shaders/common/rolled.wgsl): the quick body's loops and the mask reads.
{{ROLLED}}

// Lengths (qLen, kvLen) of the dispatch's k-th batch (batchBase + k): two batches per vec4.
fn qLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u]; }
fn kvLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u + 1u]; }

// A batch's query window and KV length (logical rows i = row - qStart, columns j < kvLen). valid:
// both padding windows lie in [0, S); qValid: the query window does (its rows then exist, and
// with a learnable sink they are the sink's when they keep no column). [splitLo, splitHi): the
// workgroup's KV split.
struct Window {
  qStart: u32,
  qLen: u32,
  kvLen: u32,
  valid: bool,
  qValid: bool,
  splitLo: i32,
  splitHi: i32,
}

// Kept logical columns [x, y) of physical query row `row` before the mask: the column bound,
// the band (SEMANTICS §4: -pre ≤ j - (i + anchor) ≤ next), the sliding window (extension:
// p - W < j ≤ p, p = i + kvLen - qLen), the row-validity rule and the workgroup's KV split. Empty
// (x ≥ y) for rows outside the window. pre/next and W are clamped to 2^30 by the host: no
// overflow. A window alone runs with HAS_BAND and a band that keeps every column.
fn columnRange(row: u32, w: Window) -> vec2<i32> {
  let i = i32(row) - i32(w.qStart);
  let valid = w.valid && row < u.qSeqLen && i >= 0i && i < i32(w.qLen);
  var lo = w.splitLo;
  var hi = min(select(0i, i32(w.kvLen), valid), w.splitHi);
  if (HAS_BAND) {
    let anchor = select(0i, i32(w.kvLen) - i32(w.qLen), u.bandRightDown != 0u);
    lo = max(lo, i + anchor - u.preTokens);
    hi = min(hi, i + anchor + u.nextTokens + 1i);
    if (u.slidingWindow > 0i) {
      let p = i + i32(w.kvLen) - i32(w.qLen);
      lo = max(lo, p - u.slidingWindow + 1i);
      hi = min(hi, p + 1i);
    }
  }
  return vec2<i32>(lo, hi);
}

// Whether physical row `row` is one of the batch's query rows (the learnable sink joins its softmax
// even when it keeps no column; docs/semantics.md, "Extensions beyond the operator") and the
// workgroup folds its sink: split 0 does, so the combine counts it once.
fn sinkRow(row: u32, w: Window) -> bool {
  let i = i32(row) - i32(w.qStart);
  return w.qValid && split == 0u && row < u.qSeqLen && i >= 0i && i < i32(w.qLen);
}

// The element of (batch, head n, query row, d = 0) in outBuf: attentionOut, or split mode's
// partial (the host sets the out strides and offset to the workspace's partials).
fn outBase(n: u32, row: u32) -> u32 {
  return u.outOffset + batch * u.outStrideB + n * u.outStrideN + row * u.outStrideS + split * HEAD_DIM;
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

// The tile's present columns as bits: all, less the absent ones (paged: loadTile's flags). `cols`
// is the loop's trip count, BLOCK_KV, or rolled(BLOCK_KV) in the quick body.
fn tilePresentBits(cols: u32) -> u32 {
  var present = TILE_COLUMNS;
  if (PAGED) {
    for (var col = 0u; col < cols; col++) {
      if (!columnPresent(col)) { present &= ~(1u << col); }
    }
  }
  return present;
}

// The kept columns of tile c0 for tile row r (range ∩ mask ∩ present): with an attenMask the bits
// loadTile wrote (range and mask), else the row's range; then the present columns only.
fn tileRowKeep(r: u32, c0: i32, range: vec2<i32>, present: u32) -> u32 {
  if (HAS_MASK) { return tileKeepOf(r) & present; }
  return rangeBits(c0, range) & present;
}

fn pseAt(b: u32, n: u32, row: u32, col: u32) -> f32 {
  if (!HAS_PSE) { return 0.0; }
  return loadPse(u.pseOffset + b * u.pseStrideB + n * u.pseStrideN + row * u.pseStrideS + col * u.pseStrideC);
}

// Decode the K/V tile of columns [c0, c0 + BLOCK_KV) (four elements per iteration with TILE_VEC4,
// the blocked body's choice: faster on SwiftShader; else one, the quick body's: fewer per-lane
// sites for llvmpipe's compiler); columns past colHi, and paged columns whose
// block id is invalid, are zero and flagged absent. With a mask, also each tile row's kept
// columns (tileKeep[r]: range and mask; the mask is read once per (row, column)). A NaN or Inf in
// V raises tileVBad to `tag` (the caller's count of loaded tiles: it never needs resetting).
fn loadTile(b: u32, h: u32, c0: i32, colHi: i32, kvStart: u32, lid: u32, tileRow0: u32, win: Window, tag: u32) {
  if (TILE_VEC4) {
    // Four elements per iteration: fewer iterations, four load sites each for K and V.
    for (var e = lid; e < BLOCK_KV * D4; e += WORKGROUP_SIZE) {
      let col = e / D4;
      let d4 = e % D4;
      let c = c0 + i32(col);
      var el = TileElems(vec4<f32>(0.0), vec4<f32>(0.0), false);
      if (c < colHi) { el = loadTileElems(b, h, u32(c), kvStart, d4); }
      kTile[e] = TileVec(el.k);
      vTile[e] = TileVec(el.v);
      if (d4 == 0u) { setColumnPresent(col, el.present); }
      let nonFinite = (bitcast<vec4<u32>>(el.v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u);
      if (ROW_VARIES && any(nonFinite)) { markVBad(tag); }
    }
  } else {
    // One element per iteration: a single load site each for K and V.
    for (var e = lid; e < BLOCK_KV * HEAD_DIM; e += WORKGROUP_SIZE) {
      let col = e / HEAD_DIM;
      let d = e % HEAD_DIM;
      let c = c0 + i32(col);
      var el = TileElem(0.0, 0.0, false);
      if (c < colHi) { el = loadTileElem(b, h, u32(c), kvStart, d); }
      kTile[col * D4 + d / 4u][d % 4u] = TileScalar(el.k);
      vTile[col * D4 + d / 4u][d % 4u] = TileScalar(el.v);
      if (d == 0u) { setColumnPresent(col, el.present); }
      if (ROW_VARIES && (bitcast<u32>(el.v) & 0x7f800000u) == 0x7f800000u) { markVBad(tag); }
    }
  }
  if (HAS_MASK) {
    for (var r = lid; r < BLOCK_Q; r += WORKGROUP_SIZE) {
      let row = tileRow0 + r;
      var bits = rangeBits(c0, columnRange(row, win));
      for (var col = 0u; col < rolled(BLOCK_KV); col++) {
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

// ---- The workgroup's span ------------------------------------------------------------------
var<private> batch: u32;
var<private> kvBase: u32;
var<private> split: u32;

// What a workgroup works on: its batch's window, the first physical row of its query tile, and
// the union [colLo, colHi) of the tile rows' kept-column ranges (tiles outside it are skipped).
struct Span {
  win: Window,
  tileRow0: u32,
  colLo: i32,
  colHi: i32,
}

// The span of workgroup wid (invocation lid; called by all, in uniform control flow); sets batch,
// kvBase and split.
fn workgroupSpan(wid: vec3<u32>, lid: u32) -> Span {
  batch = u.batchBase + wid.z;
  let x = u.qTileBase + wid.x;
  let s = x % u.numSplits;     // a let: reads of the private copy count as non-uniform
  split = s;
  let tileRow0 = (x / u.numSplits) * BLOCK_Q;
  let qLen = qLenOf(wid.z);      // the table holds this dispatch's batches only
  let kvLen = kvLenOf(wid.z);

  // Left padding: rows [S - pad - len, S - pad); a window leaving [0, S) invalidates the batch.
  // The pads pass through workgroup memory: read from the aux region, a writable binding in split
  // mode, they would count as non-uniform, and the tile loops' barriers depend on them.
  if (lid == 0u) {
    wgQueryPad = queryPad();
    wgKvPad = kvPad();
  }
  let qPad = workgroupUniformLoad(&wgQueryPad);
  let kvPad = workgroupUniformLoad(&wgKvPad);
  let qValid = !HAS_QUERY_PAD || qPad + qLen <= u.qSeqLen;
  let batchValid = qValid && (!HAS_KV_PAD || kvPad + kvLen <= u.kvRows);
  let qStart = select(0u, u.qSeqLen - qPad - qLen, HAS_QUERY_PAD && qValid);
  kvBase = select(0u, u.kvRows - kvPad - kvLen, HAS_KV_PAD && batchValid);
  let splitLo = i32(s * u.splitLen);
  let win = Window(qStart, qLen, kvLen, batchValid, qValid, splitLo, splitLo + i32(u.splitLen));

  // Both ends of a row's range (band and window) grow with the row, so the first and last rows of the tile that
  // lie in the window bound the union (a superset is harmless: extra columns are not kept).
  let rowHiInTile = min(tileRow0 + BLOCK_Q, u.qSeqLen) - 1u;
  let iLo = max(tileRow0, qStart);
  let iHi = min(rowHiInTile, qStart + qLen - 1u);
  var span = Span(win, tileRow0, 0i, 0i);
  if (batchValid && qLen > 0u && iLo <= iHi) {
    let lo = columnRange(iLo, win);
    let hi = columnRange(iHi, win);
    span.colLo = min(lo.x, hi.x);
    span.colHi = max(lo.y, hi.y);
  }
  return span;
}

// Tile `tile` of the span's columns: loads it (loadTile, marking V with `tag`) and waits for the
// whole workgroup's loads; returns its first logical column. Called by every invocation of the
// workgroup, in uniform control flow.
fn enterTile(span: Span, tile: u32, h: u32, lid: u32, tag: u32) -> i32 {
  let c0 = span.colLo + i32(tile * BLOCK_KV);
  loadTile(batch, h, c0, span.colHi, kvBase, lid, span.tileRow0, span.win, tag);
  workgroupBarrier();
  return c0;
}

{{BODY}}
