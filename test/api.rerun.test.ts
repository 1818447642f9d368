// Re-running a decode executor with new actualSeqLengthsKv (setActualSeqLengthsKv) and new
// block-table contents, without a new GetWorkspaceSize: each run matches a freshly planned call
// bit for bit and the float64 reference; out-of-range lengths are rejected and change nothing.
import { describe, expect, it } from 'vitest';
import {
  ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS, aclGetRecentErrMsg,
} from '../src/acl/status.js';
import { aclrtSynchronizeStream, type Stream } from '../src/acl/stream.js';
import { aclCreateIntArray, createBuffer, readTensor, type Tensor } from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../src/fia/api.js';
import type { FiaExecutor } from '../src/fia/executor.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { attentionReference, compareOutputs } from '../src/reference/index.js';
import { buildCase, type CaseSpec } from './helpers/cases.js';
import { forwarding } from './helpers/placed.js';
import { testStream } from './helpers/gpu.js';
import { aclrtSetDevice, createStream } from '../src/acl/stream.js';

const WATCHDOG_MS = 60_000;

function watchdog<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fail = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${WATCHDOG_MS} ms`)), WATCHDOG_MS);
  });
  return Promise.race([p, fail]).finally(() => clearTimeout(timer));
}

async function run(stream: Stream, ex: FiaExecutor, workspace: GPUBuffer): Promise<void> {
  expect(aclnnFusedInferAttentionScoreV2(workspace, ex.workspaceSize, ex, stream)).toBe(ACLNN_SUCCESS);
  expect(await watchdog(aclrtSynchronizeStream(stream), 'run')).toBe(ACLNN_SUCCESS);
}

/** attentionOut and softmaxLse of the last run vs the reference for `lengths`; returns them. */
async function checkRun(stream: Stream, inputs: FiaInputs, lengths: number[], dtype: CaseSpec['dtype']): Promise<Float64Array[]> {
  const x: FiaInputs = { ...inputs, actualSeqLengthsKv: aclCreateIntArray(lengths) };
  const problem = normalize(x);
  const host = await readHostInputs(stream, x, problem);
  const ref = attentionReference(problem, host);
  const low = attentionReference(problem, host, { roundTo: dtype });
  const out = await readTensor(stream, x.attentionOut!);
  const lse = await readTensor(stream, x.softmaxLse!);
  const o = compareOutputs(out, ref.attentionOut, low.attentionOut, dtype === 'FLOAT32' ? 2e-5 : 1e-3);
  expect(o.ok, `lengths [${lengths}] out: ${o.message}`).toBe(true);
  const l = compareOutputs(lse, ref.softmaxLse!, low.softmaxLse, 1e-4);
  expect(l.ok, `lengths [${lengths}] lse: ${l.message}`).toBe(true);
  return [out, lse];
}

/** The same call planned afresh with `lengths`: its outputs (into the same output tensors). */
async function freshOutputs(stream: Stream, inputs: FiaInputs, lengths: number[]): Promise<Float64Array[]> {
  const r = fiaGetWorkspaceSize({ ...inputs, actualSeqLengthsKv: aclCreateIntArray(lengths) });
  expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
  const ws = createBuffer(stream, r.workspaceSize);
  await run(stream, r.executor!, ws);
  ws.destroy();
  return [await readTensor(stream, inputs.attentionOut!), await readTensor(stream, inputs.softmaxLse!)];
}

async function expectSameAsFresh(stream: Stream, inputs: FiaInputs, lengths: number[], got: Float64Array[]): Promise<void> {
  const fresh = await freshOutputs(stream, inputs, lengths);
  expect(Array.from(got[0]!)).toEqual(Array.from(fresh[0]!));
  expect(Array.from(got[1]!)).toEqual(Array.from(fresh[1]!));
}

describe('decode re-run with new lengths (setActualSeqLengthsKv)', () => {
  it('dense GQA: shorter and longer lengths up to KV_S match a fresh call and the reference', async () => {
    const stream = await testStream();
    const spec: CaseSpec = { seed: 31, qSeqLen: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 32, kvSeqLen: 300, dtype: 'FLOAT16', layout: 'BSND', kvLens: [100, 150] };
    const c = buildCase(stream, spec);
    const r = fiaGetWorkspaceSize(c.inputs);
    expect(r.status).toBe(ACLNN_SUCCESS);
    const ex = r.executor!;
    // Bitwise comparisons with fresh calls: every run on the steady kernel (a compile tier's quick
    // kernel sums in another order, so it may differ in the last bits).
    expect(await ex.prepare()).toBe(ACLNN_SUCCESS);
    expect(ex.plan!.kernel === 'decode' && ex.plan!.plan.numSplits > 1).toBe(true);
    const ws = createBuffer(stream, r.workspaceSize);
    await run(stream, ex, ws);
    await checkRun(stream, c.inputs, [100, 150], spec.dtype);
    for (const lengths of [[300, 7], [1, 299], [64, 64]]) {
      expect(ex.setActualSeqLengthsKv(lengths)).toBe(ACLNN_SUCCESS);
      expect(ex.actualSeqLengthsKv()).toEqual(lengths);
      await run(stream, ex, ws);
      const got = await checkRun(stream, c.inputs, lengths, spec.dtype);
      await expectSameAsFresh(stream, c.inputs, lengths, got);
    }
    // One value applies to every batch (the operator's rule).
    expect(ex.setActualSeqLengthsKv(aclCreateIntArray([33]))).toBe(ACLNN_SUCCESS);
    expect(ex.actualSeqLengthsKv()).toEqual([33, 33]);
    await run(stream, ex, ws);
    await checkRun(stream, c.inputs, [33, 33], spec.dtype);
    ws.destroy();
  });

  it('paged GQA: new lengths and a rewritten block table match a fresh call and the reference', async () => {
    const stream = await testStream();
    const spec: CaseSpec = {
      seed: 32, qSeqLen: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 64, dtype: 'FLOAT16', layout: 'BSH', kvLens: [20, 40],
      paged: { blockSize: 16, cache: 'BSH', spare: 3 },
    };
    const c = buildCase(stream, spec);
    const r = fiaGetWorkspaceSize(c.inputs);
    expect(r.status).toBe(ACLNN_SUCCESS);
    const ex = r.executor!;
    expect(await ex.prepare()).toBe(ACLNN_SUCCESS);
    const ws = createBuffer(stream, r.workspaceSize);
    await run(stream, ex, ws);
    await checkRun(stream, c.inputs, [20, 40], spec.dtype);
    // The caller rewrites the table in place (other block ids, reversed order) and grows the lengths.
    const bt: Tensor = c.inputs.blockTable!;
    const numBlocks = c.inputs.key!.tensors[0]!.shape[0]!;
    const table = Int32Array.from({ length: 8 }, (_, i) => numBlocks - 1 - i);
    stream.queue.writeBuffer(bt.buffer, 0, table);
    for (const lengths of [[64, 33], [5, 1]]) {
      expect(ex.setActualSeqLengthsKv(lengths)).toBe(ACLNN_SUCCESS);
      await run(stream, ex, ws);
      const got = await checkRun(stream, c.inputs, lengths, spec.dtype);
      await expectSameAsFresh(stream, c.inputs, lengths, got);
    }
    // Over the table's capacity (4 blocks · 16): rejected, named, the lengths stay.
    expect(ex.setActualSeqLengthsKv([65, 3])).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toMatch(/^actualSeqLengthsKv\[0\]=65: outside \[0, blockTable dim 1 · blockSize=64\]/);
    expect(ex.actualSeqLengthsKv()).toEqual([5, 1]);
    ws.destroy();
  });

  it('rejects lengths outside the plan and keeps the previous ones', async () => {
    const stream = await testStream();
    const spec: CaseSpec = { seed: 33, qSeqLen: 1, batch: 3, numQoHeads: 2, numKvHeads: 1, headDim: 16, kvSeqLen: 40, dtype: 'FLOAT32', layout: 'BNSD', kvLens: [10, 20, 30] };
    const c = buildCase(stream, spec);
    const ex = fiaGetWorkspaceSize(c.inputs).executor!;
    expect(ex.setActualSeqLengthsKv([10, 41, 3])).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('actualSeqLengthsKv[1]=41: outside [0, KV_S=40] (the planned maximum)');
    expect(ex.setActualSeqLengthsKv([10, -1, 3])).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(ex.setActualSeqLengthsKv([10, 2.5, 3])).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(ex.setActualSeqLengthsKv([10, 20])).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('actualSeqLengthsKv=[10,20]: length 2 is neither 1 nor ≥ B=3');
    expect(ex.setActualSeqLengthsKv(null)).toBe(ACLNN_ERR_PARAM_NULLPTR);
    expect(ex.actualSeqLengthsKv()).toEqual([10, 20, 30]);
    // The run still uses the planned lengths.
    const ws = createBuffer(stream, ex.workspaceSize);
    await run(stream, ex, ws);
    await checkRun(stream, c.inputs, [10, 20, 30], spec.dtype);
    ws.destroy();
  });

  it('a prefill executor rejects new lengths (561101)', async () => {
    const stream = await testStream();
    const spec: CaseSpec = { seed: 34, qSeqLen: 1, batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 16, kvSeqLen: 40, dtype: 'FLOAT32', layout: 'BNSD', lse: false };
    const c = buildCase(stream, spec);
    // Two query rows of one head (the same 32 elements): the prefill family.
    const rows = { shape: [1, 1, 2, 16], strides: [32, 32, 16, 1] };
    const x: FiaInputs = {
      ...c.inputs, query: { ...c.inputs.query!, ...rows }, attentionOut: { ...c.inputs.attentionOut!, ...rows },
      softmaxLse: null, softmaxLseFlag: false, numHeads: 1, numKeyValueHeads: 1,
    };
    const r = fiaGetWorkspaceSize(x);
    expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
    expect(r.executor!.plan!.kernel).toBe('prefill');
    expect(r.executor!.setActualSeqLengthsKv([5])).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect(aclGetRecentErrMsg()).toMatch(/^actualSeqLengthsKv: \(port\) re-running with new lengths is supported for decode executors/);
  });

  it('a re-run on the same workspace creates no GPU objects; another workspace records again', async () => {
    const base = await testStream();
    const counts = { buffers: 0, bindGroups: 0 };
    const real = base.device;
    const device = forwarding(real, {
      createBuffer: (d: GPUBufferDescriptor) => { counts.buffers++; return real.createBuffer(d); },
      createBindGroup: (d: GPUBindGroupDescriptor) => { counts.bindGroups++; return real.createBindGroup(d); },
    });
    const stream = createStream(device);
    aclrtSetDevice(device); // GetWorkspaceSize plans for the current device
    const spec: CaseSpec = { seed: 35, qSeqLen: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 300, dtype: 'FLOAT16', layout: 'BSND', kvLens: [100, 150] };
    const c = buildCase(stream, spec);
    const ex = fiaGetWorkspaceSize(c.inputs).executor!;
    // Steady pipelines first: a compile tier finishing between runs would (rightly) record again.
    expect(await ex.prepare()).toBe(ACLNN_SUCCESS);
    const ws = createBuffer(stream, ex.workspaceSize);
    const ws2 = createBuffer(stream, ex.workspaceSize);
    await run(stream, ex, ws);
    expect(counts.bindGroups).toBeGreaterThan(0);
    counts.buffers = 0;
    counts.bindGroups = 0;
    expect(ex.setActualSeqLengthsKv([299, 2])).toBe(ACLNN_SUCCESS);
    await run(stream, ex, ws);
    expect(counts).toEqual({ buffers: 0, bindGroups: 0 });
    await checkRun(stream, c.inputs, [299, 2], spec.dtype);
    await run(stream, ex, ws2);
    expect(counts.bindGroups).toBeGreaterThan(0);
    await checkRun(stream, c.inputs, [299, 2], spec.dtype);
    ws.destroy();
    ws2.destroy();
    aclrtSetDevice(real);
  });
});
