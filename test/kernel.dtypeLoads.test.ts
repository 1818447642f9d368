// The kernels' element loaders (the dtype table's WGSL, src/codec/dtype.ts) decode every 16-bit
// pattern exactly as the host codec does: all 65536 FLOAT16 and BFLOAT16 bit patterns (zeros,
// subnormals, normals, ±Inf, NaNs) through loaderFn on the device, compared bit for bit with
// the host's decoding (NaN: any NaN).
import { describe, expect, it } from 'vitest';
import { readBufferBytes } from '../src/acl/tensor.js';
import { USAGE } from '../src/acl/usage.js';
import { decodeValues } from '../src/codec/index.js';
import { getPipeline, loaderFn } from '../src/kernels/shader.js';
import { testStream } from './helpers/gpu.js';

const COUNT = 1 << 16;

describe('element loaders decode every 16-bit pattern exactly', () => {
  for (const dtype of ['FLOAT16', 'BFLOAT16'] as const) {
    it(dtype, async () => {
      const stream = await testStream();
      const { device } = stream;
      const code = `@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
${loaderFn('load', 'src', dtype)}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * 65535u * 64u;
  if (i < ${COUNT}u) { dst[i] = bitcast<u32>(load(i)); }
}`;
      const pipeline = getPipeline(device, `test.load.${dtype}`, () => ({ code, label: `test.load.${dtype}` }));
      const bits = new Uint16Array(COUNT).map((_, i) => i);
      const src = device.createBuffer({ size: COUNT * 2, usage: USAGE.STORAGE | USAGE.COPY_DST });
      device.queue.writeBuffer(src, 0, bits);
      const dst = device.createBuffer({ size: COUNT * 4, usage: USAGE.STORAGE | USAGE.COPY_SRC });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] }));
      pass.dispatchWorkgroups(COUNT / 64);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = new Float32Array((await readBufferBytes(stream, dst, COUNT * 4)).buffer);
      const want = decodeValues(dtype, new Uint8Array(bits.buffer), COUNT);
      const bad: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        const w = Math.fround(want[i]!);
        const ok = Number.isNaN(w) ? Number.isNaN(got[i]) : Object.is(got[i], w);
        if (!ok && bad.length < 5) bad.push(`0x${i.toString(16)}: got ${got[i]}, want ${w}`);
      }
      expect(bad, bad.join('; ')).toEqual([]);
      src.destroy();
      dst.destroy();
    });
  }
});
