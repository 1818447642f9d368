// A/B timing of one decode (or short-query) call through two builds of this library in one process
// on one device, alternating A and B call by call: on a machine whose speed drifts by ±40 % over
// minutes (shared cores), a ratio measured this way is far steadier than two separate runs.
//   git worktree add ../fia-base <rev> && (cd ../fia-base && npm ci && npm run build)
//   npm run build && node dist/bench/decode-ab.js ../fia-base/dist [dtype] [iters]
// A is the other build (the `dist` folder given), B this one. Environment: SHAPE=B,N,KVN,S,D
// (default 4,8,2,8192,64), QS (query rows, default 1), FIA_ADAPTER as for the tests. Prints each
// build's first call (compile + run) and the median wall ms of its calls, and B / A.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as streamB from '../src/acl/stream.js';
import * as tensorB from '../src/acl/tensor.js';
import * as usageB from '../src/acl/usage.js';
import * as normalizeB from '../src/fia/normalize.js';
import * as capsB from '../src/kernels/caps.js';
import * as decodeB from '../src/kernels/decode.js';
import * as familyB from '../src/kernels/family.js';
import type { FiaInputs } from '../src/problem/problem.js';
import * as tensorsB from '../src/problem/tensors.js';
import { requestDevice } from '../src/node.js';
import { stats, wallMs } from './timing.js';

/** The modules a call goes through, from one build. */
interface Build {
  stream: typeof streamB; tensor: typeof tensorB; usage: typeof usageB; normalize: typeof normalizeB;
  caps: typeof capsB; decode: typeof decodeB; family: typeof familyB; tensors: typeof tensorsB;
}

async function loadBuild(dist: string): Promise<Build> {
  const load = async <T>(path: string): Promise<T> => await import(pathToFileURL(resolve(dist, path)).href) as T;
  return {
    stream: await load('src/acl/stream.js'), tensor: await load('src/acl/tensor.js'), usage: await load('src/acl/usage.js'),
    normalize: await load('src/fia/normalize.js'), caps: await load('src/kernels/caps.js'), decode: await load('src/kernels/decode.js'),
    family: await load('src/kernels/family.js'), tensors: await load('src/problem/tensors.js'),
  };
}

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/decode-ab.js <other build dist folder> [dtype] [iters]');
  const dtype = (process.argv[3] ?? 'FLOAT32') as 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';
  const iters = Number(process.argv[4] ?? 10);
  const [B, N, KVN, S, D] = (process.env.SHAPE ?? '4,8,2,8192,64').split(',').map(Number) as [number, number, number, number, number];
  const QS = Number(process.env.QS ?? 1);
  const builds: Record<'A' | 'B', Build> = {
    A: await loadBuild(other),
    B: { stream: streamB, tensor: tensorB, usage: usageB, normalize: normalizeB, caps: capsB, decode: decodeB, family: familyB, tensors: tensorsB },
  };
  const device = await requestDevice();
  const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.random() * 2 - 1);
  const data = { q: rand(B * N * QS * D), k: rand(B * KVN * S * D), v: rand(B * KVN * S * D) };
  const calls = {} as Record<'A' | 'B', () => Promise<number>>;
  for (const name of ['A', 'B'] as const) {
    const m = builds[name];
    const stream = m.stream.createStream(device);
    const inputs: FiaInputs = {
      query: m.tensor.createTensor(stream, data.q, [B, N, QS, D], dtype),
      key: m.tensor.aclCreateTensorList([m.tensor.createTensor(stream, data.k, [B, KVN, S, D], dtype)]),
      value: m.tensor.aclCreateTensorList([m.tensor.createTensor(stream, data.v, [B, KVN, S, D], dtype)]),
      numHeads: N, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD',
      numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false,
      keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: m.tensor.createEmptyTensor(stream, [B, N, QS, D], dtype),
    };
    const problem = m.normalize.normalize(inputs);
    const tensors = m.tensors.kernelTensors(problem, inputs);
    const k = m.family.planKernel(problem, m.caps.capsOf(device), tensors);
    const workspace = device.createBuffer({ size: Math.max(4, k.workspaceBytes), usage: m.usage.USAGE.STORAGE | m.usage.USAGE.COPY_DST | m.usage.USAGE.COPY_SRC });
    const kvLens = m.decode.kvLensBuffer(device, problem.kvLens);
    calls[name] = () => wallMs(device, () => {
      const encoder = device.createCommandEncoder();
      m.family.encodeKernel(k, { device, encoder, problem, tensors, workspace, kvLens });
      device.queue.submit([encoder.finish()]);
    });
  }
  const first = { A: await calls.A(), B: await calls.B() };
  for (let i = 0; i < 2; i++) { await calls.A(); await calls.B(); }
  const samples = { A: [] as number[], B: [] as number[] };
  for (let i = 0; i < iters; i++) {
    samples.A.push(await calls.A());
    samples.B.push(await calls.B());
  }
  const a = stats(samples.A).medianMs;
  const b = stats(samples.B).medianMs;
  console.log(`${dtype} B${B} N${N} KVN${KVN} S${S} D${D} QS${QS}: first call A ${first.A.toFixed(0)} ms, B ${first.B.toFixed(0)} ms; `
    + `median A ${a.toFixed(2)} ms, B ${b.toFixed(2)} ms; B / A ${(b / a).toFixed(2)}`);
  device.destroy();
}

void main();
