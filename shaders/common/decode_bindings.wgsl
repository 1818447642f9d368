// The decode kernels' bindings and per-column helpers, shared by both variants (decode.wgsl and
// decode_lanes.wgsl): 8 storage buffers (the learnable sink is read from the meta region, `aux`).
// The helpers read HAS_MASK / HAS_PSE and the loaders each variant declares.
@group(0) @binding(0) var<storage, read> qBuf: array<u32>;
@group(0) @binding(1) var<storage, read> kBuf: array<u32>;
@group(0) @binding(2) var<storage, read> vBuf: array<u32>;
@group(0) @binding(3) var<storage, read> maskBuf: array<u32>;
@group(0) @binding(4) var<storage, read> pseBuf: array<u32>;
// The workspace's meta region: aux scalars (src/kernels/aux.ts), then kvLens[B] at LENS_SLOT.
// read_write only so every binding of the workspace in this pass has the same (storage) usage.
@group(0) @binding(5) var<storage, read_write> aux: array<u32>;
// attentionOut (direct mode, stored element-wise through outStoreRun) or the f32 partials.
@group(0) @binding(6) var<storage, read_write> outBuf: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> lseBuf: array<u32>;
@group(1) @binding(0) var<uniform> u: DecodeUniforms;

// The kept-column rule of decode (mask: byte 0 keeps); `col` is the physical key column.
fn keepColumn(b: u32, col: u32) -> bool {
  if (!HAS_MASK) { return true; }
  return loadMask(u.maskOffset + b * u.maskBatchStride + col * u.maskColStride) == 0.0;
}

fn pseAt(b: u32, n: u32, col: u32) -> f32 {
  if (!HAS_PSE) { return 0.0; }
  return loadPse(u.pseOffset + b * u.pseBatchStride + n * u.pseHeadStride + col * u.pseColStride);
}
