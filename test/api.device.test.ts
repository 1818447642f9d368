// The stream's error model on the GPU: each call reports its own device errors (concurrent
// wrapper calls, an application's unrelated WebGPU errors), a lost device (destroy() included) is
// 361001 and never a silent success, and a stream on a new device after a loss plans for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACLNN_ERR_RUNTIME_ERROR, AclnnError, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtGetDevice, aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { readTensor, type Tensor } from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize, fusedInferAttentionScore, type FusedInferAttentionScoreOptions,
} from '../src/fia/api.js';
import { WORKSPACE_USAGE } from '../src/fia/executor.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { attentionReference, compareOutputs, toleranceFloor } from '../src/reference/index.js';
import { requestDevice } from '../src/node.js';
import { buildCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

let shared: Stream;

beforeAll(async () => {
  shared = await testStream();
  aclrtSetDevice(shared.device);
});

afterAll(() => {
  aclrtSetDevice(shared.device);
});

/** Fails instead of hanging when a promise never settles. */
function watchdog<T>(p: Promise<T>, ms = 60_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`watchdog: no result after ${ms} ms`)), ms))]);
}

/** A decode call (BNSD B 1, N 2, KV_S 8, D 16, FLOAT16) with seeded data on `stream`'s device. */
function decodeCall(stream: Stream, seed: number): { inputs: FiaInputs; opts: FusedInferAttentionScoreOptions } {
  const { inputs } = buildCase(stream, {
    seed, batch: 1, numQoHeads: 2, numKvHeads: 2, qSeqLen: 1, kvSeqLen: 8, headDim: 16, layout: 'BNSD', dtype: 'FLOAT16', lse: false, scale: 0.25,
  });
  const opts: FusedInferAttentionScoreOptions = {
    query: inputs.query!, key: inputs.key!.tensors[0]!, value: inputs.value!.tensors[0]!, numHeads: 2, scaleValue: 0.25, inputLayout: 'BNSD',
  };
  return { inputs, opts };
}

/** attentionOut of `inputs` (read on `stream`) against the float64 reference, FLOAT16 tolerance. */
async function expectReference(stream: Stream, inputs: FiaInputs, out: Tensor): Promise<void> {
  const problem = normalize(inputs);
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const refLow = attentionReference(problem, host, { roundTo: 'FLOAT16' });
  const cmp = compareOutputs(await readTensor(stream, out), ref.attentionOut, refLow.attentionOut, toleranceFloor('FLOAT16'));
  expect(cmp.ok, cmp.message).toBe(true);
}

async function rejectionOf(p: Promise<unknown>): Promise<AclnnError | null> {
  return watchdog(p.then(() => null, (e: unknown) => {
    expect(e).toBeInstanceOf(AclnnError);
    return e as AclnnError;
  }));
}

describe('errors land on the call that caused them', () => {
  it('eight concurrent wrapper calls: only the eighth (a destroyed key buffer) rejects', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => decodeCall(shared, 100 + i));
    (calls[7]!.opts.key as Tensor).buffer.destroy();
    const settled = await watchdog(Promise.allSettled(calls.map((c) => fusedInferAttentionScore(shared, c.opts))));
    for (let i = 0; i < 7; i++) {
      const r = settled[i]!;
      expect(r.status, `call ${i}: ${r.status === 'rejected' ? String(r.reason) : ''}`).toBe('fulfilled');
      if (r.status !== 'fulfilled') continue;
      await expectReference(shared, { ...calls[i]!.inputs, attentionOut: r.value.attentionOut }, r.value.attentionOut);
    }
    const last = settled[7]!;
    expect(last.status).toBe('rejected');
    if (last.status === 'rejected') {
      expect(last.reason).toBeInstanceOf(AclnnError);
      expect((last.reason as AclnnError).status).toBe(ACLNN_ERR_RUNTIME_ERROR);
      expect((last.reason as AclnnError).message).toMatch(/^stream: device error: .*destroyed/i);
    }
    // Its errors were its own: the stream has nothing left to report.
    expect(await watchdog(aclrtSynchronizeStream(shared)), aclGetRecentErrMsg()).toBe(0);
  });

  it("an application's own invalid createBuffer does not fail the next valid call", async () => {
    const appErrors: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      shared.device.addEventListener('uncapturederror', (ev) => {
        appErrors.push((ev as GPUUncapturedErrorEvent).error.message);
        resolve();
      }, { once: true });
    });
    // MAP_READ with STORAGE is invalid; 2^40 bytes exceeds maxBufferSize.
    shared.device.createBuffer({ size: 2 ** 40, usage: 0x0001 | 0x0080 });
    await watchdog(arrived);
    expect(appErrors).toHaveLength(1);

    const named = decodeCall(shared, 7);
    const res = await watchdog(fusedInferAttentionScore(shared, named.opts));
    await expectReference(shared, { ...named.inputs, attentionOut: res.attentionOut }, res.attentionOut);

    const twoPhase = decodeCall(shared, 8);
    const r = fiaGetWorkspaceSize(twoPhase.inputs);
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    const ws = shared.device.createBuffer({ size: Math.max(4, r.workspaceSize), usage: WORKSPACE_USAGE });
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, shared)).toBe(0);
    expect(await watchdog(aclrtSynchronizeStream(shared)), aclGetRecentErrMsg()).toBe(0);
    await expectReference(shared, twoPhase.inputs, twoPhase.inputs.attentionOut!);
    ws.destroy();
  });
});

describe('a lost device is an error, and a new device takes over', () => {
  it('destroy() between the phases: the run or synchronize gives 361001, never success', async () => {
    const device = await requestDevice();
    const stream = createStream(device);
    aclrtSetDevice(device);
    const { inputs } = decodeCall(stream, 21);
    const r = fiaGetWorkspaceSize(inputs);
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    const ws = device.createBuffer({ size: Math.max(4, r.workspaceSize), usage: WORKSPACE_USAGE });
    device.destroy();
    // The loss is reported by the run itself once known; right after destroy() it is not yet, so synchronize reports it.
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
    expect(await watchdog(aclrtSynchronizeStream(stream))).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toBe('stream: the device was lost (destroyed): device was destroyed');
    // Once known: the run, GetWorkspaceSize and synchronize all refuse.
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toContain('stream: the device was lost (destroyed)');
    expect(aclrtGetDevice()).toBeNull();
    expect(fiaGetWorkspaceSize(inputs).status).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toMatch(/^current device: the device was lost \(destroyed\)/);
    expect(await watchdog(aclrtSynchronizeStream(stream))).toBe(ACLNN_ERR_RUNTIME_ERROR);
    await expect(rejectionOf(fusedInferAttentionScore(stream, decodeCall(shared, 22).opts))).resolves.toMatchObject({ status: ACLNN_ERR_RUNTIME_ERROR });
  });

  it('a stream on a new device after a loss becomes current and plans for it', async () => {
    const dead = await requestDevice();
    aclrtSetDevice(dead);
    dead.destroy();
    await Promise.resolve();
    expect(aclrtGetDevice()).toBeNull();
    const fresh = await requestDevice();
    const stream = createStream(fresh);
    expect(aclrtGetDevice()).toBe(fresh);

    const twoPhase = decodeCall(stream, 31);
    const r = fiaGetWorkspaceSize(twoPhase.inputs);
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    expect(r.executor!.device).toBe(fresh);
    const ws = fresh.createBuffer({ size: Math.max(4, r.workspaceSize), usage: WORKSPACE_USAGE });
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream), aclGetRecentErrMsg()).toBe(0);
    expect(await watchdog(aclrtSynchronizeStream(stream)), aclGetRecentErrMsg()).toBe(0);
    await expectReference(stream, twoPhase.inputs, twoPhase.inputs.attentionOut!);
    ws.destroy();

    const named = decodeCall(stream, 32);
    const res = await watchdog(fusedInferAttentionScore(stream, named.opts));
    await expectReference(stream, { ...named.inputs, attentionOut: res.attentionOut }, res.attentionOut);

    // destroy() while a wrapper call is in flight: that call rejects with 361001.
    const inflight = fusedInferAttentionScore(stream, decodeCall(stream, 33).opts);
    fresh.destroy();
    const err = await rejectionOf(inflight);
    expect(err?.status).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(err?.message).toBe('stream: the device was lost (destroyed): device was destroyed');
  });
});
