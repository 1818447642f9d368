// Prefill K/V through the KV source (shaders/common/kv_source.wgsl, pasted before this): shared
// prefix, INT8/INT4 antiquant, paged with them. loadTileElem for shaders/prefill.wgsl.

fn loadTileElem(b: u32, h: u32, c: u32, kvStart: u32, d: u32) -> TileElem {
  let r = kvRow(b, h, c, kvStart);
  return TileElem(loadKeyAt(r, d), loadValueAt(r, d), r.present);
}
