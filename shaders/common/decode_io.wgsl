// Decode split pass, shared by its variants (decode.wgsl 'tiles', decode_lanes.wgsl 'lanes',
// decode_quick.wgsl 'quick', through decode_preamble.wgsl): the workgroup's place in the grid, the
// batch's KV window, the learnable sink and the stores of a workgroup's results. Needs the
// bindings, GB, D, DIRECT, HAS_SINK, LENS_SLOT, KV_PAD_SLOT, outBits and outStoreRun of the
// including shader and the softmax rules.

// The workgroup's place in the grid (B, KV_N · numHeadBlocks, numSplits), dispatched in runs from
// u.batchBase, u.yBase and u.splitBase: batch b, KV head h, the first query head n0 of its block of
// GB heads, and its KV split.
struct GridPlace {
  b: u32,
  h: u32,
  n0: u32,
  split: u32,
}

fn gridPlace(wg: vec3<u32>) -> GridPlace {
  let gy = u.yBase + wg.y;
  let h = gy / u.numHeadBlocks;
  return GridPlace(u.batchBase + wg.x, h, h * u.groupSize + (gy % u.numHeadBlocks) * GB, u.splitBase + wg.z);
}

// Batch b's KV window (SEMANTICS §2): its L_b = P + Skv_b logical columns (§7: prefix columns
// first) start at storage row `start`; right padding starts at 0, left padding at
// kvRows - pad - Skv_b, and a window leaving [0, kvRows) empties the batch (total 0). The row
// attends the columns [first, total): with a sliding window W (extension) the last W, else all.
struct KvWindow {
  total: u32,
  start: u32,
  first: u32,
}

fn kvWindow(b: u32) -> KvWindow {
  let kvLen = aux[LENS_SLOT + b];
  var w = KvWindow(kvLen + kvsPrefixLen(), 0u, 0u);
  if (u.kvLeftPadding != 0u) {
    let need = auxPad(KV_PAD_SLOT) + kvLen;
    if (need > u.kvRows) { w.total = 0u; } else { w.start = u.kvRows - need; }
  }
  if (u.slidingWindow != 0u && w.total > u.slidingWindow) { w.first = w.total - u.slidingWindow; }
  return w;
}

// The logical columns [x, y) of split `split` of a batch attending [first, total). The plan's
// splits cover the window: they start at `first` (u.splitsFromWindow), so a decode with a window
// of W plans and reads about W columns whatever its KV length; a plan that binds K/V ranges per
// dispatch (DecodePlan.kvRange: rows known on the host) keeps splits at absolute columns and
// clips them to the window instead.
fn splitColumns(first: u32, total: u32, split: u32) -> vec2<u32> {
  let base = select(0u, first, u.splitsFromWindow != 0u) + split * u.splitLen;
  let c0 = min(max(base, first), total);
  return vec2<u32>(c0, max(c0, min(base + u.splitLen, total)));
}

// A head's softmax state with the learnable sink folded in (foldSink, extensions.wgsl) in split 0
// alone (in direct mode the only split; otherwise the combine merges the other splits' partials
// into split 0's), so the merged row counts it once.
fn withSink(n: u32, split: u32, m: f32, l: f32, cls: u32) -> SinkState {
  if (split != 0u) { return SinkState(m, l, 1.0, cls); }
  return foldSink(n, m, l, cls);
}

// Head n's sink logit (extensions.wgsl): copied into the meta region at u.sinkSlot.
fn sinkLogit(n: u32) -> f32 { return auxF32(u.sinkSlot + n); }

// Head g of the block at rowBase (row b·N + n0): its lse bits, to softmaxLse when the split pass
// writes the output directly (and the call asked for it), else to the split's partial lse.
fn storeLse(rowBase: u32, g: u32, split: u32, lseBits: u32) {
  if (DIRECT) {
    if (u.writeLse != 0u) { lseBuf[u.lseOffset + rowBase + g] = lseBits; }
  } else {
    lseBuf[u.lseOffset + (rowBase + g) * u.numSplits + split] = lseBits;
  }
}

// Flat elements e, e + 1 of the block's GB·D outputs (e even; e + 1 ≥ GB·D is not stored):
// attentionOut in its dtype through outStoreRun (merges words shared with other workgroups or
// data), or f32 partials [row][split][d] for the combine.
fn storePair(rowBase: u32, e: u32, split: u32, o0: f32, o1: f32) {
  if (DIRECT) {
    outStoreRun(u.outOffset + rowBase * D + e, min(2u, GB * D - e), vec4<u32>(outBits(o0), outBits(o1), 0u, 0u));
  } else {
    atomicStore(&outBuf[u.outOffset + ((rowBase + e / D) * u.numSplits + split) * D + e % D], bitcast<u32>(o0));
    if (e + 1u < GB * D) {
      let e1 = e + 1u;
      atomicStore(&outBuf[u.outOffset + ((rowBase + e1 / D) * u.numSplits + split) * D + e1 % D], bitcast<u32>(o1));
    }
  }
}
