// Roofline probe: streaming read bandwidth over `numVec4` vec4<f32> (bytes moved ≈ the source
// size; the one f32 written per invocation is negligible). Two access patterns, the probe keeps
// the faster (the roofline is the best streaming rate this adapter reaches):
//   mode 0, grid-stride: invocation t reads src[t], src[t + T], … (T = all invocations), so each
//           wave reads one contiguous span (coalesced: the pattern GPUs prefer);
//   mode 1, blocked: invocation t reads its own contiguous chunk [t·C, (t+1)·C), C = ⌈numVec4/T⌉
//           (sequential streams: the pattern CPU-emulated adapters such as SwiftShader prefer).
struct ProbeUniforms {
  numVec4: u32,
  mode: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: ProbeUniforms;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let threads = nwg.x * 256u;
  var acc = vec4<f32>(0.0);
  if (u.mode == 0u) {
    for (var i = gid.x; i < u.numVec4; i += threads) { acc += src[i]; }
  } else {
    let chunk = (u.numVec4 + threads - 1u) / threads;
    let end = min(u.numVec4, (gid.x + 1u) * chunk);
    for (var i = gid.x * chunk; i < end; i++) { acc += src[i]; }
  }
  out[gid.x] = acc.x + acc.y + acc.z + acc.w;
}
