// The naive unfused baseline every row is compared with: QKᵀ, softmax and PV as three compute
// passes with the full score matrix [B, N, Q_S, KV_S] (f32) in global memory, one submit per call.
// It reads dense BNSD Q/K/V in the case dtype (int8-KV cases: the dequantized values as f32;
// paged cases: the same K/V dense) and always writes f32.
import type { DataType } from '../src/codec/dtype.js';
import { encodeValues } from '../src/codec/index.js';
import { fill, getPipeline, loaderFn, specKey, UniformBlock } from '../src/kernels/shader.js';
import { benchWgsl as wgsl } from './shaders.js';
import type { BenchCase, CaseInputs } from './cases.js';
import { groupSize, tolerance } from './cases.js';
import { type PreparedRun, type Runner, UnsupportedCaseError } from './core.js';

const NAIVE_UNIFORMS = new UniformBlock('NaiveUniforms', {
  batch: 'u32', numQoHeads: 'u32', numKvHeads: 'u32', groupSize: 'u32',
  qSeqLen: 'u32', kvSeqLen: 'u32', headDim: 'u32', causal: 'u32',
  causalOffset: 'i32', scale: 'f32',
});

const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const MAP_READ = 0x01;
/** Invocations per workgroup in all three passes. */
const WG = 64;
/** Dispatch dimensions are ≤ 65535: spill into y (the shaders rebuild the linear index). */
const MAX_DIM = 65535;

function grid(workgroups: number): [number, number] {
  return workgroups <= MAX_DIM ? [workgroups, 1] : [MAX_DIM, Math.ceil(workgroups / MAX_DIM)];
}

function upload(device: GPUDevice, bytes: Uint8Array, label: string): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes.byteLength / 4) * 4), usage: STORAGE | COPY_DST, label });
  device.queue.writeBuffer(b, 0, bytes as Uint8Array<ArrayBuffer>);
  return b;
}

function pipelines(device: GPUDevice, qDtype: DataType, kvDtype: DataType) {
  const uniforms = NAIVE_UNIFORMS.wgslStruct();
  const qk = getPipeline(device, specKey('bench.naive_qk', { qDtype, kvDtype }), () => ({
    label: 'bench.naive_qk',
    code: fill(wgsl('bench/naive_qk.wgsl'), {
      UNIFORMS: uniforms, LOAD_Q: loaderFn('loadQ', 'q', qDtype), LOAD_K: loaderFn('loadK', 'k', kvDtype),
    }),
  }));
  const softmax = getPipeline(device, 'bench.naive_softmax', () => ({
    label: 'bench.naive_softmax', code: fill(wgsl('bench/naive_softmax.wgsl'), { UNIFORMS: uniforms }),
  }));
  const pv = getPipeline(device, specKey('bench.naive_pv', { kvDtype }), () => ({
    label: 'bench.naive_pv',
    code: fill(wgsl('bench/naive_pv.wgsl'), { UNIFORMS: uniforms, LOAD_V: loaderFn('loadV', 'v', kvDtype) }),
  }));
  return { qk, softmax, pv };
}

/** Prepares the three-pass baseline for one case: buffers, bind groups, and the call. */
export async function prepareNaive(device: GPUDevice, c: BenchCase, x: CaseInputs): Promise<PreparedRun> {
  if (c.slidingWindow) throw new UnsupportedCaseError('naive baseline: no sliding window');
  const qDtype: DataType = c.dtype;
  const kvDtype: DataType = c.kvStorage === 'int8' ? 'FLOAT32' : c.dtype;
  const rows = c.batch * c.numQoHeads * c.qSeqLen;
  const scoreBytes = rows * c.kvSeqLen * 4;
  if (scoreBytes > device.limits.maxStorageBufferBindingSize) {
    throw new Error(`naive baseline: score matrix ${scoreBytes} B exceeds maxStorageBufferBindingSize`);
  }
  const outBytes = rows * c.headDim * 4;
  const q = upload(device, encodeValues(qDtype, x.q), 'bench.naive.q');
  const k = upload(device, encodeValues(kvDtype, x.k), 'bench.naive.k');
  const v = upload(device, encodeValues(kvDtype, x.v), 'bench.naive.v');
  const scores = device.createBuffer({ size: scoreBytes, usage: STORAGE, label: 'bench.naive.scores' });
  const out = device.createBuffer({ size: outBytes, usage: STORAGE | COPY_SRC, label: 'bench.naive.out' });
  const u = device.createBuffer({ size: NAIVE_UNIFORMS.byteLength, usage: UNIFORM | COPY_DST, label: 'bench.naive.uniforms' });
  device.queue.writeBuffer(u, 0, NAIVE_UNIFORMS.pack({
    batch: c.batch, numQoHeads: c.numQoHeads, numKvHeads: c.numKvHeads, groupSize: groupSize(c),
    qSeqLen: c.qSeqLen, kvSeqLen: c.kvSeqLen, headDim: c.headDim, causal: c.causal ? 1 : 0,
    causalOffset: c.kvSeqLen - c.qSeqLen, scale: x.scaleValue,
  }));
  const p = pipelines(device, qDtype, kvDtype);
  const bind = (pipe: GPUComputePipeline, bufs: GPUBuffer[]) => device.createBindGroup({
    layout: pipe.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const qkBind = bind(p.qk, [q, k, scores, u]);
  const softmaxBind = bind(p.softmax, [scores, u]);
  const pvBind = bind(p.pv, [scores, v, out, u]);
  const qkGrid = grid(Math.ceil((rows * c.kvSeqLen) / WG));
  const softmaxGrid = grid(rows);
  const pvGrid = grid(Math.ceil(outBytes / 4 / WG));

  const pass = (enc: GPUCommandEncoder, pipe: GPUComputePipeline, group: GPUBindGroup, g: [number, number], label: string) => {
    const cp = enc.beginComputePass({ label });
    cp.setPipeline(pipe);
    cp.setBindGroup(0, group);
    cp.dispatchWorkgroups(g[0], g[1]);
    cp.end();
  };
  return {
    tolerance: tolerance(c, true),
    note: c.kvStorage === 'int8' ? 'reads dequantized K/V as f32' : c.kvStorage === 'paged' ? 'reads dense K/V' : undefined,
    run() {
      const enc = device.createCommandEncoder({ label: 'bench.naive' });
      pass(enc, p.qk, qkBind, qkGrid, 'naive.qk');
      pass(enc, p.softmax, softmaxBind, softmaxGrid, 'naive.softmax');
      pass(enc, p.pv, pvBind, pvGrid, 'naive.pv');
      device.queue.submit([enc.finish()]);
    },
    async readOutput() {
      const staging = device.createBuffer({ size: outBytes, usage: MAP_READ | COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(out, 0, staging, 0, outBytes);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_READ);
      const values = Float64Array.from(new Float32Array(staging.getMappedRange().slice(0)));
      staging.unmap();
      staging.destroy();
      return values;
    },
    dispose() {
      for (const b of [q, k, v, scores, out, u]) b.destroy();
    },
  };
}

export const naiveRunner: Runner = {
  id: 'naive',
  label: 'naive 3-pass WGSL (QKᵀ, softmax, PV)',
  prepare: prepareNaive,
};
