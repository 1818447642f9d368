// Grid limits (issue: dispatch limits are not planned for): B = 65536 (the doc's maximum) and grids
// over the device's maxComputeWorkgroupsPerDimension are split into dispatches by the plan. Runs
// against the float64 reference; the folding itself is exercised cheaply with a plan made for a
// fake limit of 2 workgroups per dimension, every dispatch recorded and checked against it.
import { beforeAll, describe, expect, it } from 'vitest';
import { aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf, type DeviceCaps } from '../src/kernels/caps.js';
import { layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { layoutPrefillWorkspace, planPrefill } from '../src/kernels/prefill.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { buildCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { customExecutor, runAndCheck } from './helpers/placed.js';
import { kernelTensors } from '../src/problem/tensors.js';

let stream: Stream;
beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

/** BNSD FLOAT16 inputs with seeded data, no softmaxLse. */
function build(B: number, N: number, KVN: number, QS: number, KVS: number, D: number, seed = 1): FiaInputs {
  return buildCase(stream, {
    seed, batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: QS, kvSeqLen: KVS, headDim: D, layout: 'BNSD', dtype: 'FLOAT16', lse: false,
  }).inputs;
}

const within = (dispatches: number[][], max: number): void => {
  expect(dispatches.length).toBeGreaterThan(0);
  for (const d of dispatches) expect(Math.max(...d), `dispatch ${d.join('×')} exceeds ${max} per dimension`).toBeLessThanOrEqual(max);
};

describe('B = 65536 through the public API', () => {
  it('decode (B 65536, N 1, D 4, KV_S 2): every dispatch within the device limit, matches the reference', async () => {
    const dispatches: number[][] = [];
    const plan = await runAndCheck(stream, build(65536, 1, 1, 1, 2, 4), undefined, dispatches);
    expect(plan.kernel).toBe('decode');
    within(dispatches, stream.device.limits.maxComputeWorkgroupsPerDimension);
  });
});

describe('plans for a fake limit of 2 workgroups per dimension run within it', () => {
  const fake = (): DeviceCaps => ({ ...capsOf(stream.device), maxWorkgroupsPerDimension: 2 });

  it('decode: 5 batches × 4 KV heads × 3 KV splits in runs, then the combine folded into (x, y) ≤ 2 over several dispatches', async () => {
    const inputs = build(5, 4, 4, 1, 300, 64, 11);
    const ex = customExecutor(stream, inputs, (problem) => {
      const plan = planDecode(problem, fake(), { numSplits: 3 });
      const ws = new WorkspaceAllocator();
      return { kernel: 'decode', plan, regions: layoutDecodeWorkspace(problem, plan, ws, kernelTensors(problem, inputs)), workspaceBytes: ws.bytes };
    });
    const p = ex.plan!;
    expect(p.kernel === 'decode' && p.plan.numSplits === 3 && p.plan.numHeadBlocks === 1 && !p.plan.direct).toBe(true);
    const dispatches: number[][] = [];
    await runAndCheck(stream, inputs, ex, dispatches);
    within(dispatches, 2);
    // Split pass: 3 batch runs × 2 head runs × 2 split runs; combine: 5·4·64 FLOAT16 = 640 words =
    // 10 workgroups of 64, in runs of 2·2.
    expect(dispatches.length).toBe(3 * 2 * 2 + 3);
  });

  it('prefill: 3 batches × 5 query tiles in runs', async () => {
    const inputs = build(3, 2, 1, 20, 9, 16, 13);
    const ex = customExecutor(stream, inputs, (problem) => {
      const plan = planPrefill(problem, fake(), { rowsPerThread: 1, rowThreads: 4 });
      const ws = new WorkspaceAllocator();
      return { kernel: 'prefill', plan, regions: layoutPrefillWorkspace(problem, plan, ws, kernelTensors(problem, inputs)), workspaceBytes: ws.bytes };
    });
    const p = ex.plan!;
    expect(p.kernel === 'prefill' && p.plan.numQTiles === 5).toBe(true);
    const dispatches: number[][] = [];
    await runAndCheck(stream, inputs, ex, dispatches);
    within(dispatches, 2);
    expect(dispatches.length).toBe(2 * 3);
  });
});
