// Roofline probe: streaming read bandwidth. Invocation t sums src[t], src[t + T], … (T = all
// invocations, so each wave reads one contiguous span: coalesced) as vec4<f32>, and writes
// one f32. Bytes moved ≈ the source size; the write (4 B per invocation) is negligible.
struct ProbeUniforms {
  numVec4: u32,
  pad0: u32,
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
  for (var i = gid.x; i < u.numVec4; i += threads) { acc += src[i]; }
  out[gid.x] = acc.x + acc.y + acc.z + acc.w;
}
