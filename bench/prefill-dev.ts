// Prefill kernel timing for development (not the benchmark): B1 N8 KVN8 S256 D64 by default.
//   npx tsc -p tsconfig.json && flock /tmp/webgpu-fia-gpu.lock node dist/bench/prefill-dev.js [dtype] [causal 0|1] [iters]
// SHAPE=B,N,KVN,S,D overrides the shape; TUNE='{"rowsPerThread":4,...}' overrides the plan.
// Prints the first call's wall ms (pipeline compile + run), the median wall ms of one encode + submit + completion and the GFLOP/s it implies.
import { createStream } from '../src/acl/stream.js';
import { aclCreateTensorList, createEmptyTensor, createTensor } from '../src/acl/tensor.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { USAGE } from '../src/acl/usage.js';
import { encodeKernel, planKernel } from '../src/kernels/family.js';
import { kernelTensors } from '../src/problem/tensors.js';
import { requestDevice } from '../src/node.js';
import { runProbes } from './probes.js';
import { wallMs } from './timing.js';

type Dt = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';

async function main(): Promise<void> {
  const dtype = (process.argv[2] ?? 'FLOAT32') as Dt;
  const causal = process.argv[3] === '1';
  const iters = Number(process.argv[4] ?? 10);
  const [B, N, KVN, S, D] = (process.env.SHAPE ?? '1,8,8,256,64').split(',').map(Number) as [number, number, number, number, number];
  const tune = process.env.TUNE ? JSON.parse(process.env.TUNE) : {};
  const device = await requestDevice();
  const stream = createStream(device);
  const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.random() * 2 - 1);
  const mask = causal
    ? createTensor(stream, Float64Array.from({ length: 2048 * 2048 }, (_, i) => (i % 2048 > Math.floor(i / 2048) ? 1 : 0)), [2048, 2048], 'BOOL')
    : null;
  const inputs: FiaInputs = {
    query: createTensor(stream, rand(B * N * S * D), [B, N, S, D], dtype),
    key: aclCreateTensorList([createTensor(stream, rand(B * KVN * S * D), [B, KVN, S, D], dtype)]),
    value: aclCreateTensorList([createTensor(stream, rand(B * KVN * S * D), [B, KVN, S, D], dtype)]),
    attenMask: mask,
    numHeads: N, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 0, inputLayout: 'BNSD',
    numKeyValueHeads: KVN, sparseMode: causal ? 3 : 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0,
    softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: createEmptyTensor(stream, [B, N, S, D], dtype), softmaxLse: null,
  };
  const problem = normalize(inputs);
  const tensors = kernelTensors(problem, inputs);
  const k = planKernel(problem, capsOf(device), tensors, { prefill: tune });
  if (k.kernel !== 'prefill') throw new Error('prefill-dev: a Q_S == 1 shape plans as decode');
  const plan = k.plan;
  const workspace = k.workspaceBytes > 0 ? device.createBuffer({ size: k.workspaceBytes, usage: USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC }) : null;
  const run = (): Promise<number> => wallMs(device, () => {
    const encoder = device.createCommandEncoder();
    encodeKernel(k, { device, encoder, problem, tensors, workspace });
    stream.queue.submit([encoder.finish()]);
  });
  device.pushErrorScope('validation');
  const firstMs = await run();
  const err = await device.popErrorScope();
  if (err) throw new Error(err.message);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await run());
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)]!;
  const flops = 4 * B * N * S * S * D * (causal ? 0.5 : 1);
  const sp = plan.spec;
  console.log(JSON.stringify({ dtype, causal, shape: [B, N, KVN, S, D], plan: { R: sp.rowsPerThread, H: sp.headsPerThread, BQ: sp.blockQ, BK: sp.blockKv, wg: sp.workgroupSize, tiles: plan.numQTiles },
    firstMs: +firstMs.toFixed(0), medianMs: +med.toFixed(2), minMs: +times[0]!.toFixed(2), gflops: +(flops / med / 1e6).toFixed(2) }));
  if (process.env.PROBE) {
    const p = await runProbes(device, { useTimestamps: false });
    console.log(`FMA probe ${p.fmaGflops.toFixed(2)} GFLOP/s → ${((flops / med / 1e6) / p.fmaGflops * 100).toFixed(1)}% of it`);
  }
  device.destroy();
}

void main();
