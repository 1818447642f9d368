// Branch-free element reads through the KV source for the lanes variant's unrolled rows: the
// source's loadKeyAt/loadValueAt branch per element (prefix vs cache, present), and 64+ inlined
// copies of those branches crash SwiftShader's shader compiler. Here every read is a select:
// both candidate loads are issued (out-of-range reads are clamped by robust buffer access and
// never selected), then dequant, then absent columns (bad block ids) give 0.
fn kvSelectK(r: KvRow, d: u32) -> f32 {
  var x = kvsRawK(u.kvsKOffset + r.base + d);
  if (KVS_PREFIX) { x = select(x, kvsRawPrefix(u.kvsPkBase + r.base + d), r.inPrefix); }
  x = kvsDeqK(r, d, x);
  if (KVS_PAGED) { x = select(0.0, x, r.present); }
  return x;
}

fn kvSelectV(r: KvRow, d: u32) -> f32 {
  var x = kvsRawV(u.kvsVOffset + r.base + d);
  if (KVS_PREFIX) { x = select(x, kvsRawPrefix(u.kvsPvBase + r.base + d), r.inPrefix); }
  x = kvsDeqV(r, d, x);
  if (KVS_PAGED) { x = select(0.0, x, r.present); }
  return x;
}
