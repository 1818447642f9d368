// Decode kernel timing for development (not the benchmark): B4 N8 KVN2 Skv1024 D64 by default.
//   npx tsc -p tsconfig.json && flock /tmp/webgpu-fia-gpu.lock node dist/bench/decode-dev.js [dtype] [splits] [iters]
// Prints the median wall ms of one encode + submit + completion, the KV bytes/s that implies, and
// the adapter's streaming-read probe for comparison. Environment: SHAPE=B,N,KVN,S,D; QS (query
// rows, default 1: more runs the prefill kernel, e.g. QS=4 for speculative verification);
// VARIANT / TK (decode plan); TUNE (a PrefillTune as JSON, e.g. '{"numSplits":1}').
import { createStream } from '../src/acl/stream.js';
import { aclCreateTensorList, createEmptyTensor, createTensor } from '../src/acl/tensor.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { USAGE } from '../src/acl/usage.js';
import { encodeKernel, planKernel } from '../src/kernels/family.js';
import { kernelTensors } from '../src/problem/tensors.js';
import { kvLensBuffer } from '../src/kernels/decode.js';
import { requestDevice } from '../src/node.js';
import { runProbes } from './probes.js';
import { stats, wallMs } from './timing.js';

type Dt = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';

async function main(): Promise<void> {
  const dtype = (process.argv[2] ?? 'FLOAT32') as Dt;
  const splits = process.argv[3] && process.argv[3] !== 'auto' ? Number(process.argv[3]) : undefined;
  const iters = Number(process.argv[4] ?? 20);
  const [B, N, KVN, S, D] = (process.env.SHAPE ?? '4,8,2,1024,64').split(',').map(Number) as [number, number, number, number, number];
  // QS > 1: a short multi-token query (speculative verification) over the same KV.
  const QS = Number(process.env.QS ?? 1);
  const device = await requestDevice();
  const stream = createStream(device);
  const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.random() * 2 - 1);
  const inputs: FiaInputs = {
    query: createTensor(stream, rand(B * N * QS * D), [B, N, QS, D], dtype),
    key: aclCreateTensorList([createTensor(stream, rand(B * KVN * S * D), [B, KVN, S, D], dtype)]),
    value: aclCreateTensorList([createTensor(stream, rand(B * KVN * S * D), [B, KVN, S, D], dtype)]),
    numHeads: N, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD',
    numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false,
    keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: createEmptyTensor(stream, [B, N, QS, D], dtype),
  };
  const problem = normalize(inputs);
  const tensors = kernelTensors(problem, inputs);
  const k = planKernel(problem, capsOf(device), tensors, { decode: {
    numSplits: splits, tileKeys: process.env.TK ? Number(process.env.TK) : undefined,
    variant: process.env.VARIANT as 'lanes' | 'tiles' | undefined,
  }, prefill: process.env.TUNE ? JSON.parse(process.env.TUNE) : undefined });
  const workspace = device.createBuffer({ size: Math.max(4, k.workspaceBytes), usage: USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC });
  const kvLens = kvLensBuffer(device, problem.kvLens);
  const call = (): Promise<number> => wallMs(device, () => {
    const encoder = device.createCommandEncoder();
    encodeKernel(k, { device, encoder, problem, tensors, workspace, kvLens });
    device.queue.submit([encoder.finish()]);
  });
  const firstMs = await call();
  console.log(`first call (pipeline compile included): ${firstMs.toFixed(0)} ms`);
  for (let i = 0; i < 2; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < iters; i++) samples.push(await call());
  const st = stats(samples);
  const kvBytes = 2 * B * KVN * S * D * (dtype === 'FLOAT32' ? 4 : 2);
  const probes = await runProbes(device, { useTimestamps: false });
  console.log(JSON.stringify(k.plan));
  console.log(`decode B${B} N${N} KVN${KVN} S${S} D${D} ${dtype}: median ${st.medianMs.toFixed(2)} ms (min ${st.minMs.toFixed(2)}), `
    + `KV ${(kvBytes / 1e6).toFixed(2)} MB → ${(kvBytes / st.medianMs / 1e6).toFixed(2)} GB/s; read probe ${probes.readGBs.toFixed(2)} GB/s, fma ${probes.fmaGflops.toFixed(1)} GFLOP/s`);
  device.destroy();
}

void main();
