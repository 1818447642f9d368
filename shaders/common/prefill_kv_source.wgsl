// Prefill K/V through the KV source (shaders/common/kv_source.wgsl, pasted before this): shared
// prefix, INT8/INT4 antiquant, paged with them. loadTileElem(s) for shaders/prefill.wgsl.

fn loadTileElem(b: u32, h: u32, c: u32, kvStart: u32, d: u32) -> TileElem {
  let r = kvRow(b, h, c, kvStart);
  return TileElem(loadKeyAt(r, d), loadValueAt(r, d), r.present);
}
fn loadTileElems(b: u32, h: u32, c: u32, kvStart: u32, d4: u32) -> TileElems {
  let r = kvRow(b, h, c, kvStart);
  let d = 4u * d4;
  let k = vec4<f32>(loadKeyAt(r, d), loadKeyAt(r, d + 1u), loadKeyAt(r, d + 2u), loadKeyAt(r, d + 3u));
  let v = vec4<f32>(loadValueAt(r, d), loadValueAt(r, d + 1u), loadValueAt(r, d + 2u), loadValueAt(r, d + 3u));
  return TileElems(k, v, r.present);
}
