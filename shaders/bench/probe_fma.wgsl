// Roofline probe: FMA throughput. Each invocation runs 8 independent vec4 FMA chains for
// `iters` iterations (8 chains × 4 lanes × 2 flops = 64 flops per iteration) and writes one
// f32 so nothing is dead code. The multiplier and addend come from uniforms (no folding).
// No workgroup memory; one output f32 per invocation.
struct ProbeUniforms {
  iters: u32,
  mul: f32,
  add: f32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> u: ProbeUniforms;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let id = gid.x;
  let s = f32(id & 255u) * 1e-3;
  let m = vec4<f32>(u.mul);
  let c = vec4<f32>(u.add);
  var a0 = vec4<f32>(s, s + 0.1, s + 0.2, s + 0.3);
  var a1 = a0 + 0.01; var a2 = a0 + 0.02; var a3 = a0 + 0.03;
  var a4 = a0 + 0.04; var a5 = a0 + 0.05; var a6 = a0 + 0.06; var a7 = a0 + 0.07;
  for (var t = 0u; t < u.iters; t++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  let r = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
  out[id] = r.x + r.y + r.z + r.w;
}
