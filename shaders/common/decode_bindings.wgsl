// The decode kernels' bindings (both variants, decode.wgsl and decode_lanes.wgsl): 8 storage buffers.
@group(0) @binding(0) var<storage, read> qBuf: array<u32>;
@group(0) @binding(1) var<storage, read> kBuf: array<u32>;
@group(0) @binding(2) var<storage, read> vBuf: array<u32>;
@group(0) @binding(3) var<storage, read> maskBuf: array<u32>;
@group(0) @binding(4) var<storage, read> pseBuf: array<u32>;
// The workspace's meta region: aux scalars (src/kernels/aux.ts), then kvLens[B] at LENS_SLOT.
// read_write only so every binding of the workspace in this pass has the same (storage) usage.
@group(0) @binding(5) var<storage, read_write> aux: array<u32>;
@group(0) @binding(6) var<storage, read_write> outBuf: array<u32>;
@group(0) @binding(7) var<storage, read_write> lseBuf: array<u32>;
@group(1) @binding(0) var<uniform> u: DecodeUniforms;
