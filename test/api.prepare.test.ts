// Warm-up (FiaExecutor.prepare): the pipelines of a planned call are compiled ahead of time
// (createComputePipelineAsync); the runs after it compile nothing on the calling thread and still
// match the float64 reference. The named wrapper prepares its own calls.
import { describe, expect, it } from 'vitest';
import { ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { createBuffer, readTensor } from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize, fusedInferAttentionScore } from '../src/fia/api.js';
import { ACLNN_ERR_PARAM_INVALID } from '../src/acl/status.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { decodePipelineSources, encodeDecode, kvLensBuffer, layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { encodePrefill, layoutPrefillWorkspace, planPrefill, prefillPipelineSources } from '../src/kernels/prefill.js';
import { type PipelineSource, pipelineCompileCounts, pipelineOf, pipelineState, preparePipelines } from '../src/kernels/shader.js';
import { pipelineSourcesOf, recordedPipelines } from '../src/fia/executor.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { requestDevice } from '../src/node.js';
import { attentionReference, compareOutputs } from '../src/reference/index.js';
import { buildCase, type CaseSpec } from './helpers/cases.js';
import { kernelTensors } from '../src/problem/tensors.js';

/** BNSD FLOAT32 calls without softmaxLse; causal: sparseMode 3 with its (2048, 2048) mask. */
const CALL = { layout: 'BNSD', dtype: 'FLOAT32', lse: false } as const;
const CAUSAL = { sparseMode: 3, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0, size2048: true } } as const;

const CASES: { name: string; shape: Omit<CaseSpec, 'seed'> }[] = [
  { name: 'prefill, causal', shape: { ...CALL, ...CAUSAL, batch: 1, numQoHeads: 4, numKvHeads: 2, qSeqLen: 12, kvSeqLen: 12, headDim: 16 } },
  // Long enough for split-KV: the split pass and the combine are both prepared.
  { name: 'decode, split KV', shape: { ...CALL, batch: 2, numQoHeads: 4, numKvHeads: 1, qSeqLen: 1, kvSeqLen: 700, headDim: 32 } },
  { name: 'short prefill (Q_S 3), split KV', shape: { ...CALL, ...CAUSAL, batch: 1, numQoHeads: 4, numKvHeads: 2, qSeqLen: 3, kvSeqLen: 600, headDim: 16 } },
];

/** A fresh device (clean compile counts), current for GetWorkspaceSize. */
async function freshStream(): Promise<Stream> {
  const stream = createStream(await requestDevice());
  aclrtSetDevice(stream.device);
  return stream;
}

const inputsOf = (stream: Stream, s: Omit<CaseSpec, 'seed'>, seed: number): FiaInputs => buildCase(stream, { ...s, seed }).inputs;

async function expectReference(stream: Stream, x: FiaInputs, out: Float64Array): Promise<void> {
  const problem = normalize(x);
  const ref = attentionReference(problem, await readHostInputs(stream, x, problem));
  const c = compareOutputs(out, ref.attentionOut, null, 2e-5);
  expect(c.ok, c.message).toBe(true);
}

describe('FiaExecutor.prepare', () => {
  for (const { name, shape } of CASES) {
    it(`${name}: compiled ahead, the run compiles nothing and matches the reference`, async () => {
      const stream = await freshStream();
      const x = inputsOf(stream, shape, 7);
      const r = fiaGetWorkspaceSize(x);
      expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      expect(pipelineCompileCounts(stream.device)).toEqual({ sync: 0, async: 0, warmed: 0 });
      expect(await r.executor!.prepare(), aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      const prepared = pipelineCompileCounts(stream.device);
      expect(prepared.sync).toBe(0);
      expect(prepared.async).toBeGreaterThanOrEqual(1);
      // Each one also ran over zero workgroups (drivers that compile at the first dispatch have now).
      expect(prepared.warmed).toBe(prepared.async);
      const ws = r.workspaceSize > 0 ? createBuffer(stream, r.workspaceSize) : null;
      expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(ACLNN_SUCCESS);
      expect(await aclrtSynchronizeStream(stream)).toBe(ACLNN_SUCCESS);
      expect(pipelineCompileCounts(stream.device)).toEqual(prepared);
      await expectReference(stream, x, await readTensor(stream, x.attentionOut!));
      // A second prepare of the same shapes finds everything ready.
      expect(await r.executor!.prepare()).toBe(ACLNN_SUCCESS);
      expect(pipelineCompileCounts(stream.device)).toEqual(prepared);
      stream.device.destroy();
    });
  }

  it('the named wrapper compiles ahead of its run (no synchronous compile)', async () => {
    const stream = await freshStream();
    const x = inputsOf(stream, CASES[1]!.shape, 11);
    const r = await fusedInferAttentionScore(stream, {
      query: x.query!, key: x.key!.tensors[0]!, value: x.value!.tensors[0]!, numHeads: x.numHeads,
      numKeyValueHeads: x.numKeyValueHeads, scaleValue: x.scaleValue, inputLayout: 'BNSD',
    });
    const counts = pipelineCompileCounts(stream.device);
    expect(counts.sync).toBe(0);
    expect(counts.async).toBeGreaterThanOrEqual(1);
    await expectReference(stream, x, await readTensor(stream, r.attentionOut));
    stream.device.destroy();
  });

  it('a lost device: 361001, with the reason', async () => {
    const stream = await freshStream();
    const r = fiaGetWorkspaceSize(inputsOf(stream, CASES[0]!.shape, 3));
    expect(r.status).toBe(ACLNN_SUCCESS);
    stream.device.destroy();
    await stream.device.lost;
    expect(await r.executor!.prepare()).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toMatch(/prepare: .*(lost|destroyed)/);
  });

  it("prepare('first-call') compiles what a run needs; an unknown level is 161002", async () => {
    const stream = await freshStream();
    const r = fiaGetWorkspaceSize(inputsOf(stream, CASES[1]!.shape, 5));
    expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
    expect(await r.executor!.prepare('first-call'), aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
    expect(pipelineCompileCounts(stream.device).sync).toBe(0);
    expect(await r.executor!.prepare('later' as 'steady')).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toMatch(/^prepare: level="later": must be 'steady' or 'first-call'/);
    stream.device.destroy();
  });
});

// Compile tiers. Decode: a plan for a fallback adapter (lanes or tiles) carries a 'quick' plan on
// the same grid and workspace; a tiered encode (the executor's) runs it until the plan's own
// pipelines, compiling off the thread, are ready. Forced here on every adapter (the planner picks lanes
// on SwiftShader only). Prefill: the blocked plan carries the quick body's plan on every adapter.
/**
 * A tiered encode run twice, each run checked against the reference: the first compiles the quick
 * pipeline `first` in the call (only a tiered encode asks for it) and starts `steady` behind it;
 * once `steady` is prepared, the second run compiles nothing.
 */
async function expectTierSwitch(stream: Stream, x: FiaInputs, encode: (encoder: GPUCommandEncoder) => void,
  first: PipelineSource, steady: readonly PipelineSource[]): Promise<void> {
  const device = stream.device;
  const run = async (): Promise<void> => {
    const encoder = device.createCommandEncoder();
    encode(encoder);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    await expectReference(stream, x, await readTensor(stream, x.attentionOut!));
  };
  expect(steady.map((s) => s.key)).not.toContain(first.key);
  await run();
  expect(pipelineState(device, first)).toBe('ready');
  for (const s of steady) expect(pipelineState(device, s)).not.toBe('absent');
  await preparePipelines(device, steady);
  const before = pipelineCompileCounts(device);
  await run();
  expect(pipelineCompileCounts(device)).toEqual(before);
}

describe('compile tiers', () => {
  const gqa: Omit<CaseSpec, 'seed'> = { ...CALL, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 1, kvSeqLen: 300, headDim: 16 };
  const shapes: [Omit<CaseSpec, 'seed'>, 'lanes' | 'tiles'][] = [
    // Small head blocks: lavapipe's compile of the lanes code grows fast with GB·D (GB 4 × D 32: 49 s cold).
    [gqa, 'lanes'], // GQA, split KV + combine
    [{ ...CALL, batch: 1, numQoHeads: 2, numKvHeads: 2, qSeqLen: 1, kvSeqLen: 40, headDim: 16 }, 'lanes'], // one split: written directly
    [gqa, 'tiles'],
    // B4 · KV_N 2: 8 workgroups without splits, so the quick tier runs unsplit and writes directly.
    [{ ...gqa, batch: 4 }, 'tiles'],
  ];
  for (const [shape, steady] of shapes) {
    it(`decode B${shape.batch} N${shape.numQoHeads} KVN${shape.numKvHeads} KVS${shape.kvSeqLen} D${shape.headDim}, ${steady}: the quick tier first, then the steady one; both match the reference`, async () => {
      const stream = await freshStream();
      const device = stream.device;
      const x = inputsOf(stream, shape, 13);
      const problem = normalize(x);
      const tensors = kernelTensors(problem, x);
      const plan = planDecode(problem, { ...capsOf(device), straightLineLanes: steady === 'lanes', fallbackAdapter: true }, {}, tensors);
      expect(plan.variant).toBe(steady);
      const quick = plan.quick!;
      expect(quick.variant).toBe('quick');
      for (const k of ['headBlock', 'numHeadBlocks', 'kvRange'] as const) expect(quick[k]).toEqual(plan[k]);
      // The plan's splits, or (a grid of 8 workgroups without them) one split written directly.
      const unsplit = plan.numSplits > 1 && shape.batch * shape.numKvHeads >= 8;
      expect([quick.numSplits, quick.direct]).toEqual(unsplit ? [1, true] : [plan.numSplits, plan.direct]);
      if (unsplit) expect(decodePipelineSources(problem, plan, 'first-call')).toHaveLength(1);
      const ws = new WorkspaceAllocator();
      const regions = layoutDecodeWorkspace(problem, plan, ws, tensors);
      const kvLens = kvLensBuffer(device, problem.kvLens);
      const workspace = createBuffer(stream, Math.max(4, ws.bytes));
      await expectTierSwitch(stream, x, (encoder) => encodeDecode({ device, encoder, problem, plan, tensors, workspace, regions, kvLens, tiered: true }),
        decodePipelineSources(problem, plan, 'first-call')[0]!, decodePipelineSources(problem, plan));
      device.destroy();
    });
  }

  // Prefill: a blocked plan carries a quick plan (one slot per invocation, its own query tiles,
  // the same bindings, uniforms and workspace) on every adapter where G fits one workgroup.
  it('prefill B2 N4 KVN2 S19 D32, causal with padding: the quick tier first, then the blocked one; both match the reference', async () => {
    const stream = await freshStream();
    const device = stream.device;
    const x = inputsOf(stream, { ...CALL, ...CAUSAL, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 19, kvSeqLen: 23, headDim: 32, qLens: [19, 11], qPad: 3 }, 19);
    const problem = normalize(x);
    const tensors = kernelTensors(problem, x);
    const plan = planPrefill(problem, capsOf(device));
    expect(plan.spec.variant).toBe('blocked');
    const quick = plan.quick!;
    expect(quick.spec.variant).toBe('quick');
    expect([quick.spec.rowsPerThread, quick.spec.headsPerThread, quick.spec.workgroupSize]).toEqual([1, 1, quick.spec.blockQ * problem.groupSize]);
    const ws = new WorkspaceAllocator();
    const regions = layoutPrefillWorkspace(problem, plan, ws, tensors);
    const workspace = ws.bytes > 0 ? createBuffer(stream, ws.bytes) : null;
    await expectTierSwitch(stream, x, (encoder) => encodePrefill({ device, encoder, problem, plan, tensors, workspace, regions, tiered: true }),
      prefillPipelineSources(problem, plan, 'first-call')[0]!, prefillPipelineSources(problem, plan));
    device.destroy();
  });

  const rerun: [string, Omit<CaseSpec, 'seed'>][] = [
    ['decode', { ...CALL, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 1, kvSeqLen: 300, headDim: 16 }],
    ['prefill', { ...CALL, ...CAUSAL, batch: 1, numQoHeads: 4, numKvHeads: 2, qSeqLen: 12, kvSeqLen: 12, headDim: 16 }],
  ];
  for (const [name, shape] of rerun) it(`${name}: a re-run executor replays the quick tier until the steady pipeline is ready, then records again on it`, async () => {
    const stream = await freshStream();
    const device = stream.device;
    const x = inputsOf(stream, shape, 17);
    const r = fiaGetWorkspaceSize(x);
    expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
    const ex = r.executor!;
    const ws = createBuffer(stream, r.workspaceSize);
    const runAndCheck = async (): Promise<GPUComputePipeline[]> => {
      expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, ex, stream)).toBe(ACLNN_SUCCESS);
      // Before any await: a background compile completes only through the event loop.
      const used = recordedPipelines(ex, ws);
      expect(await aclrtSynchronizeStream(stream)).toBe(ACLNN_SUCCESS);
      await expectReference(stream, x, await readTensor(stream, x.attentionOut!));
      return used;
    };
    const plan = ex.plan!;
    const tiered = plan.plan.quick !== null;
    expect(tiered).toBe(name === 'prefill' || capsOf(device).fallbackAdapter);
    const first = await runAndCheck();
    expect(await ex.prepare()).toBe(ACLNN_SUCCESS);
    const steady = pipelineSourcesOf(ex, 'steady').map((p) => pipelineOf(device, p));
    const later = await runAndCheck();
    // Planned with a quick tier (decode: on software adapters; prefill: wherever G fits a workgroup): the
    // first recording ran it; otherwise the plan's own pipelines throughout.
    expect(first.some((p) => !steady.includes(p))).toBe(tiered);
    expect(later.every((p) => steady.includes(p))).toBe(true);
    device.destroy();
  });
});

