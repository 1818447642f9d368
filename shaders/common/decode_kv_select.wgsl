// Branch-free element reads through the KV source for the lanes variant's unrolled rows: the
// source's loadKeyAt/loadValueAt branch per element (prefix vs cache, present), and 64+ inlined
// copies of those branches crash SwiftShader's shader compiler. Here every read is a select:
// both candidate loads are issued (out-of-range reads are clamped by robust buffer access and
// never selected); the generated code dequantizes and zeroes absent columns (bad block ids).
// The raw (not dequantized) element d of a resolved column: prefix copy or cache, by select.
fn kvRawK(r: KvRow, d: u32) -> f32 {
  var x = kvsRawK(u.kvsKOffset + r.base + d);
  if (KVS_PREFIX) { x = select(x, kvsRawPrefix(u.kvsPkBase + r.base + d), r.inPrefix); }
  return x;
}

fn kvRawV(r: KvRow, d: u32) -> f32 {
  var x = kvsRawV(u.kvsVOffset + r.base + d);
  if (KVS_PREFIX) { x = select(x, kvsRawPrefix(u.kvsPvBase + r.base + d), r.inPrefix); }
  return x;
}

// Antiquant parameters hoisted out of the element loop (the kv_source index, split in two):
// per-token modes (1, 3, 4, 5) have dim stride 0, so one value per column; the other modes
// (0, 2) have batch and token strides 0, so one value per (KV head, d) for the whole split.
fn kvKTokenParam(r: KvRow, base: u32) -> f32 {
  let qb = select(r.qb, r.block, KVS_K_PAGED_TOKEN);
  let qt = select(r.qt, r.slot, KVS_K_PAGED_TOKEN);
  return kvsKParam(base + qb * u.kvsKqBatch + r.h * u.kvsKqHead + qt * u.kvsKqToken);
}

fn kvVTokenParam(r: KvRow, base: u32) -> f32 {
  let qb = select(r.qb, r.block, KVS_V_PAGED_TOKEN);
  let qt = select(r.qt, r.slot, KVS_V_PAGED_TOKEN);
  return kvsVParam(base + qb * u.kvsVqBatch + r.h * u.kvsVqHead + qt * u.kvsVqToken);
}

fn kvKChannelParam(h: u32, base: u32, d: u32) -> f32 {
  return kvsKParam(base + h * u.kvsKqHead + d * u.kvsKqDim);
}

fn kvVChannelParam(h: u32, base: u32, d: u32) -> f32 {
  return kvsVParam(base + h * u.kvsVqHead + d * u.kvsVqDim);
}
