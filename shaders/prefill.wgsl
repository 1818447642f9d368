// Prefill attention (Q_S > 1): one fused pass over K/V per query tile, online softmax in f32.
//
// One workgroup owns BLOCK_Q physical query rows [(qTileBase + wid.x)·BLOCK_Q, +BLOCK_Q) of one batch b
// (wid.z + u.batchBase) and one KV head h (wid.y), for all GROUP_SIZE query heads n = h·G + g
// that share h. Invocation t owns ROWS_PER_THREAD consecutive rows × HEADS_PER_THREAD heads
// (its "slots"); it keeps q (pre-scaled by scaleValue), the running max m, the running sum l and
// the output accumulator acc of each slot in registers, so softmax needs no cross-thread step.
// The per-slot code is unrolled by the host (the SLOT_STATE, TILE_COMPUTE, EPILOGUE blocks from
// src/kernels/prefill.ts): WGSL has no unroll attribute, and named registers instead of
// dynamically indexed private arrays are what lets a CPU-backed adapter (SwiftShader) keep q and
// acc in registers and reuse every K/V element loaded from workgroup memory across all slots.
//
// Per KV tile of BLOCK_KV logical columns: the workgroup decodes K and V into f32 workgroup tiles
// (each element read from memory once per workgroup, for all G heads and BLOCK_Q rows) and, with
// an attenMask, each tile row's kept columns into a bit set (tileKeep: the mask is read once per
// (row, column), outside the unrolled code, which stays branch-free); then each slot computes
// s = q·k + pse, applies the kept-column predicate (SEMANTICS §3-4: column bound, band, mask),
// and folds the tile into its online-softmax state:
//   m' = max(m, max_kept s);  acc = acc·e^(m-m') + Σ_kept e^(s-m')·v;  l = l·e^(m-m') + Σ_kept e^(s-m')
// Excluded columns add nothing whatever their data; non-finite kept scores follow the rules of
// shaders/common/softmax_rules.wgsl (m starts at NEG_MAX and stays finite). A slot that never
// keeps a column ends with l == 0: out 0, lse +Inf (row-invalid rule). Otherwise out = acc / l,
// lse = m + ln l. Columns outside the band's bounds for every row of the tile are never loaded:
// the tile loop runs over [colLo, colHi) only, a trip count fixed before the loop.
//
// Workgroup memory: the arrays of prefillWorkgroupArrays (src/kernels/prefill.ts), declared in
// WORKGROUP from the list the plan counts: the K/V tiles (2 × BLOCK_KV × HEAD_DIM × 4 bytes),
// plus the column flags (paged) and tileKeep (mask).
// Layouts: strides come from uniforms (element units of each tensor's dtype); attentionOut is
// written element-wise through outStoreRun (shaders/common/out_store.wgsl): words it shares with
// other data or other invocations are merged, so any element offset and count is safe.
// Grid: the host splits batches and query tiles into dispatches of at most
// maxComputeWorkgroupsPerDimension workgroups per axis (u.batchBase, u.qTileBase).

{{UNIFORMS}}

{{BINDINGS}}

const HEAD_DIM: u32 = {{HEAD_DIM}}u;
const D4: u32 = HEAD_DIM / 4u;
const GROUP_SIZE: u32 = {{GROUP_SIZE}}u;
const BLOCK_Q: u32 = {{BLOCK_Q}}u;
const BLOCK_KV: u32 = {{BLOCK_KV}}u;
const ROWS_PER_THREAD: u32 = {{ROWS_PER_THREAD}}u;
const HEADS_PER_THREAD: u32 = {{HEADS_PER_THREAD}}u;
const SLOTS: u32 = ROWS_PER_THREAD * HEADS_PER_THREAD;
const ROW_THREADS: u32 = BLOCK_Q / ROWS_PER_THREAD;
const WORKGROUP_SIZE: u32 = ROW_THREADS * (GROUP_SIZE / HEADS_PER_THREAD);

{{WORKGROUP}}

{{FEATURES}}

// Four K and V elements (d = 4·d4 ..) of one tile column, and whether the column exists.
struct TileElems {
  k: vec4<f32>,
  v: vec4<f32>,
  present: bool,
}

// Lengths (qLen, kvLen) of the dispatch's k-th batch (batchBase + k): two batches per vec4.
fn qLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u]; }
fn kvLenOf(k: u32) -> u32 { return lens[k >> 1u][(k & 1u) * 2u + 1u]; }

fn loadQ4(base: u32) -> vec4<f32> {
  let s = u.qStrideD;
  return vec4<f32>(loadQ(base), loadQ(base + s), loadQ(base + 2u * s), loadQ(base + 3u * s));
}
fn loadK4(base: u32) -> vec4<f32> {
  let s = u.kStrideD;
  return vec4<f32>(loadK(base), loadK(base + s), loadK(base + 2u * s), loadK(base + 3u * s));
}
fn loadV4(base: u32) -> vec4<f32> {
  let s = u.vStrideD;
  return vec4<f32>(loadV(base), loadV(base + s), loadV(base + 2u * s), loadV(base + 3u * s));
}

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

// q of (head n, row) · scoreScale() (scaleValue; INT8 path: · deqScale1'), 4 elements from d = 4·d4 (row clamped: rows past Q_S are never kept).
fn loadQScaled(b: u32, n: u32, row: u32, d4: u32) -> vec4<f32> {
  let base = u.qOffset + b * u.qStrideB + n * u.qStrideN + min(row, u.qSeqLen - 1u) * u.qStrideS;
  return loadQ4(base + 4u * d4 * u.qStrideD) * scoreScale();
}

// Decode the K/V tile of columns [c0, c0 + BLOCK_KV); columns past colHi, and paged columns
// whose block id is invalid, are zero and flagged absent. With a mask, also the tile rows' kept
// column bits (tileKeep).
fn loadTile(b: u32, h: u32, c0: i32, colHi: i32, kvStart: u32, lid: u32, tileRow0: u32, win: Window) {
  for (var e = lid; e < BLOCK_KV * D4; e += WORKGROUP_SIZE) {
    let col = e / D4;
    let d = e % D4;
    let c = c0 + i32(col);
    var el = TileElems(vec4<f32>(0.0), vec4<f32>(0.0), false);
    if (c < colHi) { el = loadTileElems(b, h, u32(c), kvStart, d); }
    kTile[e] = el.k;
    vTile[e] = el.v;
    if (d == 0u) { setColumnPresent(col, el.present); }
  }
  buildTileKeep(b, c0, kvStart, lid, tileRow0, win);
}

// KV tiles of [colLo, colHi): the trip count of both tile loops, fixed before they start.
fn tileCount(colLo: i32, colHi: i32) -> u32 {
  if (colHi <= colLo) { return 0u; }
  return (u32(colHi - colLo) + BLOCK_KV - 1u) / BLOCK_KV;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = u.batchBase + wid.z;
  let h = wid.y;
  let tileRow0 = (u.qTileBase + wid.x) * BLOCK_Q;
  let qLen = qLenOf(wid.z);      // the table holds this dispatch's batches only
  let kvLen = kvLenOf(wid.z);

  // Left padding: rows [S - pad - len, S - pad); a window leaving [0, S) invalidates the batch.
  let qPad = queryPad();
  let kvPad = kvPad();
  let batchValid = (!HAS_QUERY_PAD || qPad + qLen <= u.qSeqLen) && (!HAS_KV_PAD || kvPad + kvLen <= u.kvRows);
  let qStart = select(0u, u.qSeqLen - qPad - qLen, HAS_QUERY_PAD && batchValid);
  let kvStart = select(0u, u.kvRows - kvPad - kvLen, HAS_KV_PAD && batchValid);
  let win = Window(qStart, qLen, kvLen, batchValid);

  // The union of the tile rows' kept-column ranges: tiles outside [colLo, colHi) are skipped.
  let rowHiInTile = min(tileRow0 + BLOCK_Q, u.qSeqLen) - 1u;
  // Both ends of a row's range grow with the row, so the first and last rows of the tile that
  // lie in the window bound the union (a superset is harmless: extra columns are not kept).
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
  let headSlot = lid / ROW_THREADS;
  let row0 = tileRow0 + rowSlot * ROWS_PER_THREAD;
  quantScale1 = loadQuantScale1();
  let head0 = h * GROUP_SIZE + headSlot * HEADS_PER_THREAD;
{{SLOT_STATE}}

  let numTiles = tileCount(colLo, colHi);
{{FIRST_PASS}}
  for (var tile = 0u; tile < numTiles; tile++) {
    let c0 = colLo + i32(tile * BLOCK_KV);
    loadTile(b, h, c0, colHi, kvStart, lid, tileRow0, win);
    workgroupBarrier();
{{TILE_COMPUTE}}
    workgroupBarrier();
  }
{{EPILOGUE}}
}
