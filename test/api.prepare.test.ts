// Warm-up (FiaExecutor.prepare): the pipelines of a planned call are compiled ahead of time
// (createComputePipelineAsync); the runs after it compile nothing on the calling thread and still
// match the float64 reference. The named wrapper prepares its own calls.
import { describe, expect, it } from 'vitest';
import { ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { aclCreateTensorList, createBuffer, createEmptyTensor, createTensor, readTensor } from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize, fusedInferAttentionScore } from '../src/fia/api.js';
import { ACLNN_ERR_PARAM_INVALID } from '../src/acl/status.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import { type FiaInputs, INT_MAX } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { decodePipelineSources, encodeDecode, layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { pipelineCompileCounts, pipelineOf, pipelineState, preparePipelines } from '../src/kernels/shader.js';
import { pipelineSourcesOf, recordedPipelines } from '../src/fia/executor.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { requestDevice } from '../src/node.js';
import { attentionReference, compareOutputs, mulberry32 } from '../src/reference/index.js';

interface Shape { B: number; N: number; KVN: number; S: number; KVS: number; D: number; causal: boolean }

const CASES: { name: string; shape: Shape }[] = [
  { name: 'prefill, causal', shape: { B: 1, N: 4, KVN: 2, S: 12, KVS: 12, D: 16, causal: true } },
  // Long enough for split-KV: the split pass and the combine are both prepared.
  { name: 'decode, split KV', shape: { B: 2, N: 4, KVN: 1, S: 1, KVS: 700, D: 32, causal: false } },
];

/** A fresh device (clean compile counts), current for GetWorkspaceSize. */
async function freshStream(): Promise<Stream> {
  const stream = createStream(await requestDevice());
  aclrtSetDevice(stream.device);
  return stream;
}

function inputsOf(stream: Stream, s: Shape, seed: number): FiaInputs {
  const rand = mulberry32(seed);
  const t = (shape: number[]) => createTensor(stream, Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1), shape, 'FLOAT32');
  return {
    query: t([s.B, s.N, s.S, s.D]),
    key: aclCreateTensorList([t([s.B, s.KVN, s.KVS, s.D])]),
    value: aclCreateTensorList([t([s.B, s.KVN, s.KVS, s.D])]),
    attenMask: s.causal ? createTensor(stream, Float64Array.from({ length: 2048 * 2048 }, (_, i) => (i % 2048 > Math.floor(i / 2048) ? 1 : 0)), [2048, 2048], 'BOOL') : null,
    numHeads: s.N, scaleValue: 1 / Math.sqrt(s.D), preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: 'BNSD',
    numKeyValueHeads: s.KVN, sparseMode: s.causal ? 3 : 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0,
    softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: createEmptyTensor(stream, [s.B, s.N, s.S, s.D], 'FLOAT32'), softmaxLse: null,
  };
}

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
      expect(pipelineCompileCounts(stream.device)).toEqual({ sync: 0, async: 0 });
      expect(await r.executor!.prepare(), aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      const prepared = pipelineCompileCounts(stream.device);
      expect(prepared.sync).toBe(0);
      expect(prepared.async).toBeGreaterThanOrEqual(1);
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

// Compile tiers (decode): a lanes plan carries a quick 'tiles' plan on the same grid and workspace;
// a tiered encode (the executor's) runs it until the lanes pipeline, compiling off the thread, is
// ready. Forced here on every adapter (the planner picks lanes on SwiftShader only).
describe('compile tiers', () => {
  const shapes: Shape[] = [
    // Small head blocks: lavapipe's compile of the lanes code grows fast with GB·D (GB 4 × D 32: 49 s cold).
    { B: 2, N: 4, KVN: 2, S: 1, KVS: 300, D: 16, causal: false }, // GQA, split KV + combine
    { B: 1, N: 2, KVN: 2, S: 1, KVS: 40, D: 16, causal: false }, // one split: written directly
  ];
  for (const shape of shapes) {
    it(`decode B${shape.B} N${shape.N} KVN${shape.KVN} KVS${shape.KVS} D${shape.D}: the quick tier first, then the steady one; both match the reference`, async () => {
      const stream = await freshStream();
      const device = stream.device;
      const x = inputsOf(stream, shape, 13);
      const problem = normalize(x);
      const plan = planDecode(problem, { ...capsOf(device), straightLineLanes: true }, {}, x);
      expect(plan.variant).toBe('lanes');
      const quick = plan.quick!;
      expect(quick.variant).toBe('tiles');
      for (const k of ['headBlock', 'numHeadBlocks', 'numSplits', 'splitLen', 'direct', 'kvRange'] as const) expect(quick[k]).toEqual(plan[k]);
      const ws = new WorkspaceAllocator();
      const regions = layoutDecodeWorkspace(problem, plan, ws, x);
      const workspace = createBuffer(stream, Math.max(4, ws.bytes));
      const run = async (): Promise<void> => {
        const encoder = device.createCommandEncoder();
        encodeDecode({ device, encoder, problem, plan, inputs: x, workspace, regions, tiered: true });
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        await expectReference(stream, x, await readTensor(stream, x.attentionOut!));
      };
      const [steady] = decodePipelineSources(problem, plan);
      const [first] = decodePipelineSources(problem, plan, 'first-call');
      expect(first!.key).not.toBe(steady!.key);
      await run();
      // The quick split pass was compiled in the call (only a tiered encode asks for it), the steady one started behind it.
      expect(pipelineState(device, first!)).toBe('ready');
      expect(pipelineState(device, steady!)).not.toBe('absent');
      await preparePipelines(device, [steady!]);
      const before = pipelineCompileCounts(device);
      await run();
      expect(pipelineCompileCounts(device)).toEqual(before);
      device.destroy();
    });
  }

  it('a re-run executor replays the quick tier until the steady pipeline is ready, then records again on it', async () => {
    const stream = await freshStream();
    const device = stream.device;
    const x = inputsOf(stream, { B: 2, N: 4, KVN: 2, S: 1, KVS: 300, D: 16, causal: false }, 17);
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
    const tiered = plan.kernel === 'decode' && plan.plan.quick !== null;
    const first = await runAndCheck();
    expect(await ex.prepare()).toBe(ACLNN_SUCCESS);
    const steady = pipelineSourcesOf(ex, 'steady').map((p) => pipelineOf(device, p));
    const later = await runAndCheck();
    // Planned with a quick tier (SwiftShader): the first recording ran it; otherwise the plan's own pipelines throughout.
    expect(first.some((p) => !steady.includes(p))).toBe(tiered);
    expect(later.every((p) => steady.includes(p))).toBe(true);
    device.destroy();
  });
});

