// Prefill attention (Q_S > 1): one fused pass over K/V per query tile, online softmax in f32.
//
// One workgroup owns BLOCK_Q physical query rows [wid.x·BLOCK_Q, +BLOCK_Q) of one batch b
// (wid.z + u.batchBase) and one KV head h (wid.y), for all GROUP_SIZE query heads n = h·G + g
// that share h. Invocation t owns ROWS_PER_THREAD consecutive rows × HEADS_PER_THREAD heads
// (its "slots"); it keeps q (pre-scaled by scaleValue), the running max m, the running sum l and
// the output accumulator acc of each slot in registers, so softmax needs no cross-thread step.
//
// Per KV tile of BLOCK_KV logical columns: the workgroup decodes K and V into f32 workgroup tiles
// (each element read from memory once per workgroup, for all G heads and BLOCK_Q rows), then each
// slot computes s = q·k + pse, applies the kept-column predicate (SEMANTICS §3-4: column bound,
// band, mask), and folds the tile into its online-softmax state:
//   m' = max(m, max_kept s);  acc = acc·e^(m-m') + Σ_kept e^(s-m')·v;  l = l·e^(m-m') + Σ_kept e^(s-m')
// m starts at NEG_BIG (finite, so e^(m-m') never sees -inf - -inf); a slot that never keeps a
// column ends with l == 0: out 0, lse +Inf (row-invalid rule). Otherwise out = acc / l,
// lse = m + ln l. Columns outside the band's bounds for every row of the tile are never loaded:
// the tile loop runs over [colLo, colHi) only.
//
// Workgroup memory: 2 tiles × BLOCK_KV × HEAD_DIM × 4 bytes (D 64, BLOCK_KV 32: 16 KiB).
// Layouts: strides come from uniforms (element units of each tensor's dtype); attentionOut is
// written with whole u32 words (f16/bf16: pairs along d, so each invocation owns whole words).

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
const NEG_BIG: f32 = -3.0e38;
// +Inf as a runtime value (a constant bitcast to Inf is a WGSL error).
var<private> posInfBits: u32 = 0x7f800000u;

{{FEATURES}}

var<workgroup> kTile: array<vec4<f32>, BLOCK_KV * D4>;
var<workgroup> vTile: array<vec4<f32>, BLOCK_KV * D4>;

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

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = u.batchBase + wid.z;
  let h = wid.y;
  let tileRow0 = wid.x * BLOCK_Q;
  let qLen = qLenOf(wid.z);      // the table holds this dispatch's batches only
  let kvLen = kvLenOf(wid.z);

  // The batch's windows (SEMANTICS §2): query rows [qStart, qStart + qLen), KV rows from kvStart.
  // Left padding: rows [S - pad - len, S - pad); a window leaving [0, S) invalidates the batch.
  let qPad = queryPad();
  let kvPad = kvPad();
  let batchValid = (!HAS_QUERY_PAD || qPad + qLen <= u.qSeqLen) && (!HAS_KV_PAD || kvPad + kvLen <= u.kvRows);
  let qStart = select(0u, u.qSeqLen - qPad - qLen, HAS_QUERY_PAD && batchValid);
  let kvStart = select(0u, u.kvRows - kvPad - kvLen, HAS_KV_PAD && batchValid);

  // Logical rows of this tile inside the window, and the union of their band column ranges:
  // every column outside [colLo, colHi) is dropped by every row, so its tile is never visited.
  let iLo = max(i32(tileRow0), i32(qStart)) - i32(qStart);
  let iHi = min(i32(tileRow0 + BLOCK_Q), i32(qStart + qLen)) - i32(qStart);   // exclusive
  var colLo = 0i;
  var colHi = select(0i, i32(kvLen), batchValid && iLo < iHi);
  if (HAS_BAND) {
    let anchor = select(0i, i32(kvLen) - i32(qLen), u.bandRightDown != 0u);
    colLo = max(colLo, iLo + anchor - u.preTokens);
    colHi = min(colHi, iHi - 1i + anchor + u.nextTokens + 1i);
  }

  // Slots of this invocation: rows tileRow0 + rowSlot·R + r, heads h·G + headSlot·HG + g.
  let rowSlot = lid % ROW_THREADS;
  let headSlot = lid / ROW_THREADS;
  var rowLo: array<i32, ROWS_PER_THREAD>;     // per-row kept column range (logical)
  var rowHi: array<i32, ROWS_PER_THREAD>;
  var q: array<array<vec4<f32>, D4>, SLOTS>;
  var acc: array<array<vec4<f32>, D4>, SLOTS>;
  var m: array<f32, SLOTS>;
  var l: array<f32, SLOTS>;
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    let row = tileRow0 + rowSlot * ROWS_PER_THREAD + r;
    let i = i32(row) - i32(qStart);
    let rowValid = batchValid && row < u.qSeqLen && i >= 0i && i < i32(qLen);
    var lo = 0i;
    var hi = select(0i, i32(kvLen), rowValid);
    if (HAS_BAND) {
      let anchor = select(0i, i32(kvLen) - i32(qLen), u.bandRightDown != 0u);
      lo = max(lo, i + anchor - u.preTokens);
      hi = min(hi, i + anchor + u.nextTokens + 1i);
    }
    rowLo[r] = lo;
    rowHi[r] = hi;
    for (var g = 0u; g < HEADS_PER_THREAD; g++) {
      let slot = r * HEADS_PER_THREAD + g;
      let n = h * GROUP_SIZE + headSlot * HEADS_PER_THREAD + g;
      m[slot] = NEG_BIG;
      l[slot] = 0.0;
      let qBase = u.qOffset + b * u.qStrideB + n * u.qStrideN + min(row, u.qSeqLen - 1u) * u.qStrideS;
      for (var d = 0u; d < D4; d++) {
        q[slot][d] = select(vec4<f32>(0.0), loadQ4(qBase + 4u * d * u.qStrideD) * u.scaleValue, rowValid);
        acc[slot][d] = vec4<f32>(0.0);
      }
    }
  }

  let kBase = u.kOffset + b * u.kStrideB + h * u.kStrideN;
  let vBase = u.vOffset + b * u.vStrideB + h * u.vStrideN;
  for (var c0 = colLo; c0 < colHi; c0 += i32(BLOCK_KV)) {
    // Decode the K/V tile; columns past colHi are zero (so 0·v never meets garbage).
    for (var e = lid; e < BLOCK_KV * D4; e += WORKGROUP_SIZE) {
      let col = e / D4;
      let d = e % D4;
      let c = c0 + i32(col);
      var kv4 = vec4<f32>(0.0);
      var vv4 = vec4<f32>(0.0);
      if (c < colHi) {
        let phys = kvStart + u32(c);
        kv4 = loadK4(kBase + phys * u.kStrideS + 4u * d * u.kStrideD);
        vv4 = loadV4(vBase + phys * u.vStrideS + 4u * d * u.vStrideD);
      }
      kTile[e] = kv4;
      vTile[e] = vv4;
    }
    workgroupBarrier();

    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      let row = tileRow0 + rowSlot * ROWS_PER_THREAD + r;
      for (var g = 0u; g < HEADS_PER_THREAD; g++) {
        let slot = r * HEADS_PER_THREAD + g;
        let n = h * GROUP_SIZE + headSlot * HEADS_PER_THREAD + g;
        var s: array<f32, BLOCK_KV>;
        var tileMax = NEG_BIG;
        for (var col = 0u; col < BLOCK_KV; col++) {
          let c = c0 + i32(col);
          var dotv = vec4<f32>(0.0);
          for (var d = 0u; d < D4; d++) { dotv += q[slot][d] * kTile[col * D4 + d]; }
          var score = dotv.x + dotv.y + dotv.z + dotv.w;
          var kept = c >= rowLo[r] && c < rowHi[r];
          if (HAS_MASK) { kept = kept && maskKeeps(b, row, kvStart + u32(max(c, 0i))); }
          if (HAS_PSE) { score += pseAt(b, n, row, kvStart + u32(max(c, 0i))); }
          score = select(NEG_BIG, score, kept);
          s[col] = score;
          tileMax = max(tileMax, score);
        }
        let mNew = max(m[slot], tileMax);
        let alpha = exp(m[slot] - mNew);
        var sum = 0.0;
        for (var col = 0u; col < BLOCK_KV; col++) {
          let p = select(0.0, exp(s[col] - mNew), s[col] > NEG_BIG);
          s[col] = p;
          sum += p;
        }
        l[slot] = l[slot] * alpha + sum;
        m[slot] = mNew;
        for (var d = 0u; d < D4; d++) {
          var o = acc[slot][d] * alpha;
          for (var col = 0u; col < BLOCK_KV; col++) { o += s[col] * vTile[col * D4 + d]; }
          acc[slot][d] = o;
        }
      }
    }
    workgroupBarrier();
  }

  // Epilogue: normalize once; invalid or empty rows write 0 and lse +Inf.
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    let row = tileRow0 + rowSlot * ROWS_PER_THREAD + r;
    if (row >= u.qSeqLen) { continue; }
    for (var g = 0u; g < HEADS_PER_THREAD; g++) {
      let slot = r * HEADS_PER_THREAD + g;
      let n = h * GROUP_SIZE + headSlot * HEADS_PER_THREAD + g;
      let nonEmpty = l[slot] > 0.0;
      let inv = select(0.0, 1.0 / l[slot], nonEmpty);
      let outBase = u.outOffset + b * u.outStrideB + n * u.outStrideN + row * u.outStrideS;
      for (var d = 0u; d < D4; d++) { storeOut4(outBase + 4u * d, acc[slot][d] * inv); }
      writeLse(((b * u.numQoHeads + n) * u.qSeqLen + row), select(bitcast<f32>(posInfBits), m[slot] + log(l[slot]), nonEmpty));
    }
  }
}
