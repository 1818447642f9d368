// The planner against real pipelines: over a seeded sample of the grid (D 16…512, G 1…64, Q_S 1
// and 2…300, the features that add bindings or workgroup arrays), every problem the planner
// accepts compiles without a WebGPU error on (a) the adapter's limits and (b) WebGPU's default
// limits (16 KiB workgroup storage, 8 storage buffers), and every problem it cannot serve is
// rejected up front with 561101 and a message. Pipelines are cached per key, so repeated shapes
// compile once.
import { describe, expect, it } from 'vitest';
import { AclnnError, ACLNN_ERR_INNER_NOT_SUPPORTED } from '../src/acl/status.js';
import { planFia, unsupportedReason } from '../src/fia/plan.js';
import type { Antiquant, Problem } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { decodePipeline, planDecode } from '../src/kernels/decode.js';
import { planPrefill, prefillPipelineSources } from '../src/kernels/prefill.js';
import { pipelineOf } from '../src/kernels/shader.js';
import { mulberry32 } from '../src/reference/random.js';
import { requestAdapter } from '../src/node.js';
import { testStream } from './helpers/gpu.js';
import { makeProblem } from './helpers/cases.js';
import { withWatchdog } from './helpers/watchdog.js';

const FEATURES = ['mask', 'pse', 'paged', 'prefix', 'antiquant', 'int8', 'outQuant', 'lse', 'padding'] as const;
type Feature = (typeof FEATURES)[number];

interface GridCase {
  D: number;
  G: number;
  qs: number;
  features: Feature[];
  /** Paged: KV length and block size. */
  kvLen?: number;
  blockSize?: number;
}

const describeCase = (c: GridCase): string => `D${c.D} G${c.G} Q_S${c.qs} [${c.features.join(',')}]`;

function antiquantSide(D: number, base: number): Antiquant {
  return { mode: 0, scale: 'antiquantScale', offset: 'antiquantOffset', dtype: 'FLOAT16', index: { base, batch: 0, head: D, token: 0, dim: 1 }, pagedToken: false };
}

/** A one-batch, one-KV-head problem with the case's features (FLOAT16 unless a feature says otherwise). */
function problemOf(c: GridCase): Problem {
  const has = (f: Feature): boolean => c.features.includes(f);
  const blockSize = c.blockSize ?? 64;
  const kvLen = c.kvLen ?? 80;
  const maxBlocks = Math.ceil(kvLen / blockSize);
  const kvSeqLen = has('paged') ? maxBlocks * blockSize : kvLen;
  const p = makeProblem({ batch: 1, numQoHeads: c.G, numKvHeads: 1, headDim: c.D, qSeqLen: c.qs, kvSeqLen, layout: 'BNSD' });
  p.kvLens = [kvLen];
  p.softmaxLse = has('lse');
  if (has('mask')) p.mask = { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: c.qs > 1 ? kvSeqLen : 0, colStride: 1, offset: 0 };
  if (has('pse')) p.pse = { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: c.qs * kvSeqLen, rowStride: c.qs > 1 ? kvSeqLen : 0, colStride: 1, offset: 0 };
  if (has('paged')) p.kv = { kind: 'paged', cacheLayout: 'BNSD', blockSize, maxBlocksPerSeq: maxBlocks, numBlocks: maxBlocks + 1 };
  if (has('prefix')) p.prefix = { len: 16, seqLen: 16 };
  if (has('antiquant')) {
    p.kvDtype = 'INT8';
    p.antiquant = { key: antiquantSide(c.D, 0), value: antiquantSide(c.D, c.D) };
  }
  if (has('int8')) {
    p.queryDtype = 'INT8';
    p.kvDtype = 'INT8';
    p.outDtype = 'FLOAT16';
    p.int8Attention = { deqScale1Dtype: 'FLOAT32', deqScale2Dtype: 'UINT64' };
  }
  if (has('outQuant')) {
    p.outDtype = 'INT8';
    p.outQuant = { perChannel: true, dtype: 'FLOAT32', hasOffset: true };
  }
  if (has('padding')) {
    p.kvLeftPadding = true;
    p.qLeftPadding = c.qs > 1;
  }
  return p;
}

/** The seeded sample: each feature with probability 0.4, minus combinations no caller can make. */
function sample(seed: number, count: number, decode: boolean): GridCase[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const cases: GridCase[] = [];
  while (cases.length < count) {
    let features = FEATURES.filter(() => rand() < 0.4);
    if (decode) features = features.filter((f) => f !== 'int8');
    if (features.includes('int8')) features = features.filter((f) => f !== 'antiquant' && f !== 'prefix');
    if (features.includes('paged')) features = features.filter((f) => f !== 'padding');
    cases.push({ D: pick([16, 48, 128, 256, 512]), G: pick([1, 2, 8, 64]), qs: decode ? 1 : pick([2, 7, 300]), features });
  }
  return cases;
}

const CASES: GridCase[] = [
  // The reported overflow: FLOAT16 BNSD paged prefill, N8 KV_N1 Q_S 2 D128, blockSize 128, Skv 1725.
  { D: 128, G: 8, qs: 2, features: ['paged'], kvLen: 1725, blockSize: 128 },
  { D: 512, G: 64, qs: 300, features: ['mask', 'paged', 'lse'] },
  { D: 512, G: 64, qs: 1, features: ['mask', 'pse', 'lse'] },
  // Ten storage buffers: beyond the default eight.
  { D: 64, G: 2, qs: 7, features: ['mask', 'pse', 'outQuant', 'lse', 'padding'] },
  ...sample(9, 3, false),
  ...sample(10, 3, true),
];

/** Plans `problem` for `device` and creates its real pipeline; null when planning rejected it (checked). */
async function check(device: GPUDevice, c: GridCase): Promise<string | null> {
  const problem = problemOf(c);
  const caps = capsOf(device);
  const reason = unsupportedReason(problem, caps);
  if (reason !== null) {
    let thrown: unknown = null;
    try { planFia(problem, caps); } catch (e) { thrown = e; }
    expect(thrown, describeCase(c)).toBeInstanceOf(AclnnError);
    expect((thrown as AclnnError).status).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect((thrown as AclnnError).message).toContain(reason);
    return null;
  }
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  if (problem.isDecode) {
    decodePipeline(device, problem, planDecode(problem, caps));
  } else {
    const [source] = prefillPipelineSources(problem, planPrefill(problem, caps));
    pipelineOf(device, source!);
  }
  const internal = await device.popErrorScope();
  const validation = await device.popErrorScope();
  return (validation ?? internal)?.message ?? '';
}

async function runGrid(device: GPUDevice): Promise<{ compiled: number; rejected: number }> {
  let compiled = 0;
  let rejected = 0;
  for (const c of CASES) {
    const err = await withWatchdog(describeCase(c), 60_000, () => check(device, c));
    if (err === null) { rejected++; continue; }
    expect(err, `${describeCase(c)}: ${err}`).toBe('');
    compiled++;
  }
  return { compiled, rejected };
}

describe('planner grid: accepted plans compile, the rest is rejected with 561101', () => {
  it('on the adapter\'s limits', async () => {
    const { device } = await testStream();
    const r = await runGrid(device);
    expect(r.compiled).toBeGreaterThan(0);
  }, 300_000);

  it('on WebGPU\'s default limits (a second device from the same adapter)', async () => {
    const adapter = await requestAdapter();
    const device = await adapter.requestDevice();
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
    try {
      const r = await runGrid(device);
      expect(r.compiled).toBeGreaterThan(0);
      expect(r.rejected).toBeGreaterThan(0);
    } finally {
      device.destroy();
    }
  }, 300_000);
});
