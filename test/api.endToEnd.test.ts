// The public API end to end on the GPU: the doc's sample (BNSD, Q_S 1, FLOAT16) with and without
// its mask through both entry points, compared with the float64 reference on the same host data;
// exact workspace sizes, rejected calls that leave caller buffers untouched, caller encoders,
// executor re-use and device errors surfacing at aclrtSynchronizeStream.
import { beforeAll, describe, expect, it } from 'vitest';
import { ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, AclnnError, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, type Stream } from '../src/acl/stream.js';
import {
  aclCreateTensorList, createTensor, readTensor, readTensorBytes, type Tensor,
} from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fiaGetWorkspaceSize,
  fusedInferAttentionScore, type GetWorkspaceSizeResult,
} from '../src/fia/api.js';
import { WORKSPACE_USAGE } from '../src/fia/executor.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs, HostInputs, ReferenceResult } from '../src/problem/problem.js';
import { attentionReference, compareOutputs, toleranceFloor } from '../src/reference/index.js';
import { testStream } from './helpers/gpu.js';

let stream: Stream;

beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

const SCALE = 1 / Math.sqrt(2);
const QUERY = [0.1, 0.2, 0.3, 0.4];
const KV = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
/** The sample's attentionOut host data: a caller buffer that is not zero, to see what changes. */
const OUT_INIT = [0, 100, 0, 0];

interface Sample {
  inputs: FiaInputs;
  out: Tensor;
}

/** The doc's sample: BNSD, q (1,2,1,2), k/v (1,2,2,2) FLOAT16, numHeads 2, scale 1/√2, innerPrecise 1. */
function sample(withMask: boolean, over: Partial<FiaInputs> = {}): Sample {
  const out = createTensor(stream, OUT_INIT, [1, 2, 1, 2], 'FLOAT16', 'out');
  const inputs: FiaInputs = {
    query: createTensor(stream, QUERY, [1, 2, 1, 2], 'FLOAT16', 'q'),
    key: aclCreateTensorList([createTensor(stream, KV, [1, 2, 2, 2], 'FLOAT16', 'k')]),
    value: aclCreateTensorList([createTensor(stream, KV, [1, 2, 2, 2], 'FLOAT16', 'v')]),
    attenMask: withMask ? createTensor(stream, [0, 1], [1, 1, 1, 2], 'BOOL', 'mask') : null,
    numHeads: 2, scaleValue: SCALE, preTokens: 65535, nextTokens: 65535, inputLayout: 'BNSD', numKeyValueHeads: 2,
    sparseMode: 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: out, softmaxLse: null, ...over,
  };
  return { inputs, out };
}

/** The 39 positional arguments, as the doc's sample passes them. */
function getWorkspaceSize(x: FiaInputs): GetWorkspaceSizeResult {
  return aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
    x.query, x.key, x.value, x.pseShift ?? null, x.attenMask ?? null, x.actualSeqLengths ?? null, x.actualSeqLengthsKv ?? null,
    null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    x.numHeads, x.scaleValue, x.preTokens, x.nextTokens, x.inputLayout, x.numKeyValueHeads, x.sparseMode, x.innerPrecise,
    x.blockSize, x.antiquantMode, x.softmaxLseFlag, x.keyAntiquantMode, x.valueAntiquantMode, x.attentionOut, x.softmaxLse ?? null,
  );
}

function workspaceOf(bytes: number): GPUBuffer | null {
  return bytes > 0 ? stream.device.createBuffer({ size: bytes, usage: WORKSPACE_USAGE, label: 'ws' }) : null;
}

/** The sample planned by the positional GetWorkspaceSize, its workspace, and attentionOut's bytes before any run. */
async function planned(withMask: boolean): Promise<Sample & { r: GetWorkspaceSizeResult; ws: GPUBuffer | null; before: number[] }> {
  const { inputs, out } = sample(withMask);
  const r = getWorkspaceSize(inputs);
  return { inputs, out, r, ws: workspaceOf(r.workspaceSize), before: await bytesOf(out) };
}

/**
 * Runs `inputs` with exactly the workspace `size` reports (status 0), synchronizes, and checks
 * `out` against the reference with the `masked` columns.
 */
async function runAndMatch(inputs: FiaInputs, out: Tensor, masked: boolean[], size: (x: FiaInputs) => GetWorkspaceSizeResult): Promise<void> {
  const r = size(inputs);
  expect(r.status, aclGetRecentErrMsg()).toBe(0);
  const ws = workspaceOf(r.workspaceSize);
  expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
  expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
  await expectMatchesReference(inputs, out, null, masked);
  ws?.destroy();
}

/**
 * Independent check of the sample's numbers: per head n, out = softmax(scale·q·kᵀ, masked) · v
 * over the host (fp16-rounded) data, BNSD, Q_S 1.
 */
function naiveSample(host: HostInputs, masked: boolean[]): { out: number[]; lse: number[] } {
  const out: number[] = [];
  const lse: number[] = [];
  for (let n = 0; n < 2; n++) {
    const q = [host.query[n * 2]!, host.query[n * 2 + 1]!];
    const s = [0, 1].map((j) => SCALE * (q[0]! * host.key[0]![n * 4 + j * 2]! + q[1]! * host.key[0]![n * 4 + j * 2 + 1]!));
    const kept = [0, 1].filter((j) => !masked[j]);
    const m = Math.max(...kept.map((j) => s[j]!));
    const w = kept.map((j) => Math.exp(s[j]! - m));
    const l = w.reduce((a, b) => a + b, 0);
    for (let d = 0; d < 2; d++) out.push(kept.reduce((acc, j, i) => acc + (w[i]! / l) * host.value[0]![n * 4 + j * 2 + d]!, 0));
    lse.push(m + Math.log(l));
  }
  return { out, lse };
}

/** Compares the device attentionOut of `inputs` with the reference (fp16 tolerance, STYLE §8); returns both. */
async function expectOutMatchesReference(inputs: FiaInputs, out: Tensor): Promise<{ actual: Float64Array; host: HostInputs; ref: ReferenceResult }> {
  const problem = normalize(inputs);
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const refLow = attentionReference(problem, host, { roundTo: 'FLOAT16' });
  const actual = await readTensor(stream, out);
  const cmp = compareOutputs(actual, ref.attentionOut, refLow.attentionOut, toleranceFloor('FLOAT16'));
  expect(cmp.ok, cmp.message).toBe(true);
  return { actual, host, ref };
}

/** The doc sample's attentionOut (and lse) against the reference, and the reference against a hand-written SDPA. */
async function expectMatchesReference(inputs: FiaInputs, out: Tensor, lse: Tensor | null = null, masked = [false, false]): Promise<void> {
  const { host, ref } = await expectOutMatchesReference(inputs, out);
  const naive = naiveSample(host, masked);
  for (let i = 0; i < 4; i++) expect(Math.abs(ref.attentionOut[i]! - naive.out[i]!)).toBeLessThan(1e-12);
  if (lse) {
    const lseActual = await readTensor(stream, lse);
    const lseCmp = compareOutputs(lseActual, ref.softmaxLse!, null, 2 ** -18);
    expect(lseCmp.ok, lseCmp.message).toBe(true);
    for (let i = 0; i < 2; i++) expect(Math.abs(ref.softmaxLse![i]! - naive.lse[i]!)).toBeLessThan(1e-12);
  }
}

async function bytesOf(t: Tensor): Promise<number[]> {
  return [...(await readTensorBytes(stream, t))];
}

describe('the doc sample through the two-phase API', () => {
  for (const withMask of [false, true]) {
    it(`${withMask ? 'with' : 'without'} the (1,1,1,2) BOOL mask [0,1], with exactly the reported workspace`, async () => {
      const { inputs, out } = sample(withMask);
      await runAndMatch(inputs, out, [false, withMask], getWorkspaceSize);
    });
  }

  it('an executor runs again with the same result (re-use allowed)', async () => {
    const { out, r, ws } = await planned(false);
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    const first = await bytesOf(out);
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    expect(await bytesOf(out)).toEqual(first);
    ws?.destroy();
  });

  it('records into a caller encoder without submitting', async () => {
    const { inputs, out, r, ws, before } = await planned(true);
    const encoder = stream.device.createCommandEncoder();
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream, encoder)).toBe(0);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    expect(await bytesOf(out)).toEqual(before);
    stream.queue.submit([encoder.finish()]);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    await expectMatchesReference(inputs, out, null, [false, true]);
    ws?.destroy();
  });
});

describe('ignored parameters are not read', () => {
  // queryPaddingSize is ignored at Q_S == 1; a 4-byte tensor (not the INT64 [1] it would need) used to be
  // copied as 8 bytes anyway and fail at synchronize with 361001.
  it('a 4-byte queryPaddingSize at Q_S == 1 (two-phase): success with the reference result', async () => {
    const { inputs, out } = sample(true, { queryPaddingSize: createTensor(stream, [3], [1], 'INT32', 'qpad4') });
    expect(inputs.queryPaddingSize!.buffer.size).toBe(4);
    // By name: the positional helper passes null for queryPaddingSize.
    await runAndMatch(inputs, out, [false, true], fiaGetWorkspaceSize);
  });

  it('a 4-byte queryPaddingSize at Q_S == 1 (named options): success with the reference result', async () => {
    const { inputs } = sample(false);
    const qpad = createTensor(stream, [3], [1], 'INT32', 'qpad4');
    const res = await fusedInferAttentionScore(stream, {
      query: inputs.query!, key: inputs.key!, value: inputs.value!, queryPaddingSize: qpad, numHeads: 2, scaleValue: SCALE,
      inputLayout: 'BNSD', innerPrecise: 1,
    });
    await expectMatchesReference({ ...inputs, queryPaddingSize: qpad, attentionOut: res.attentionOut }, res.attentionOut);
  });
});

describe('a caller encoder survives a failure while encoding', () => {
  /** Runs `body` while the device's createBindGroup throws (an encoding fault after the pass began). */
  function withFailingBindGroups<T>(body: () => T): T {
    const device = stream.device as unknown as Record<string, unknown>;
    device.createBindGroup = () => { throw new Error('injected createBindGroup fault'); };
    try {
      return body();
    } finally {
      delete device.createBindGroup;
    }
  }

  it('561000, no open pass: the caller\'s own commands still submit and run', async () => {
    const { inputs, out, r, ws } = await planned(true);
    const src = createTensor(stream, [1, 2, 3, 4], [4], 'FLOAT32', 'callerSrc');
    const dst = createTensor(stream, [0, 0, 0, 0], [4], 'FLOAT32', 'callerDst');
    const before = await bytesOf(out);
    stream.device.pushErrorScope('validation');
    const encoder = stream.device.createCommandEncoder();
    encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, 16);
    const status = withFailingBindGroups(() => aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream, encoder));
    expect(status).toBe(561000);
    expect(aclGetRecentErrMsg()).toContain('injected createBindGroup fault');
    stream.queue.submit([encoder.finish()]);
    const error = await stream.device.popErrorScope();
    expect(error?.message ?? null).toBeNull();
    expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
    expect(Array.from(await readTensor(stream, dst))).toEqual([1, 2, 3, 4]);
    expect(await bytesOf(out)).toEqual(before);
    // The same executor then records normally into a new caller encoder.
    const again = stream.device.createCommandEncoder();
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream, again)).toBe(0);
    stream.queue.submit([again.finish()]);
    expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
    await expectMatchesReference(inputs, out, null, [false, true]);
    ws?.destroy();
  });

  it('with its own encoder the failed run submits nothing', async () => {
    const { out, r, ws, before } = await planned(false);
    expect(withFailingBindGroups(() => aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream))).toBe(561000);
    expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
    expect(await bytesOf(out)).toEqual(before);
    ws?.destroy();
  });
});

describe('a prefill run through the two-phase API', () => {
  it('left padding (aux scalars in the workspace) with exactly the reported workspace', async () => {
    // BSH B 2, N 2, Q_S 6, KV_S 7, D 16: query rows of batch b sit at [6 − pad − len, 6 − pad), pad 1.
    const vals = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.cos(0.9 * i + k) * 0.6);
    const out = createTensor(stream, new Array(2 * 6 * 32).fill(7), [2, 6, 32], 'FLOAT16');
    const inputs: FiaInputs = {
      query: createTensor(stream, vals(2 * 6 * 32, 1), [2, 6, 32], 'FLOAT16'),
      key: aclCreateTensorList([createTensor(stream, vals(2 * 7 * 32, 2), [2, 7, 32], 'FLOAT16')]),
      value: aclCreateTensorList([createTensor(stream, vals(2 * 7 * 32, 3), [2, 7, 32], 'FLOAT16')]),
      queryPaddingSize: createTensor(stream, [1n], [1], 'INT64'),
      actualSeqLengths: { kind: 'intArray', values: [4, 2] },
      actualSeqLengthsKv: { kind: 'intArray', values: [7, 3] },
      numHeads: 2, scaleValue: 0.25, preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BSH', numKeyValueHeads: 0,
      sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
      valueAntiquantMode: 0, attentionOut: out, softmaxLse: null,
    };
    const r = fiaGetWorkspaceSize(inputs);
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    const ws = workspaceOf(r.workspaceSize);
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
    expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
    const { actual } = await expectOutMatchesReference(inputs, out);
    // Rows outside the padding window are written as 0 (SEMANTICS §1), not left at 7.
    expect(actual[0]).toBe(0);
    ws?.destroy();
  });
});

describe('fusedInferAttentionScore (named options)', () => {
  for (const withMask of [false, true]) {
    it(`the doc sample ${withMask ? 'with' : 'without'} the mask, softmaxLse on`, async () => {
      const { inputs } = sample(withMask);
      const res = await fusedInferAttentionScore(stream, {
        query: inputs.query!, key: inputs.key!.tensors[0]!, value: [inputs.value!.tensors[0]!],
        attenMask: inputs.attenMask, numHeads: 2, scaleValue: SCALE, inputLayout: 'BNSD', innerPrecise: 1,
        softmaxLseFlag: true,
      });
      expect(res.attentionOut.shape).toEqual([1, 2, 1, 2]);
      expect(res.attentionOut.dtype).toBe('FLOAT16');
      expect(res.softmaxLse!.shape).toEqual([1, 2, 1, 1]);
      await expectMatchesReference(
        { ...inputs, softmaxLseFlag: true, attentionOut: res.attentionOut, softmaxLse: res.softmaxLse },
        res.attentionOut, res.softmaxLse, [false, withMask],
      );
    });
  }

  it('a BNSD_BSND prefill case: output (B, Q_S, N, D), compared with the reference', async () => {
    const B = 1; const N = 2; const S = 5; const D = 16;
    const vals = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + k) * 0.5);
    const q = createTensor(stream, vals(B * N * 3 * D, 1), [B, N, 3, D], 'FLOAT16');
    const k = createTensor(stream, vals(B * N * S * D, 2), [B, N, S, D], 'FLOAT16');
    const v = createTensor(stream, vals(B * N * S * D, 3), [B, N, S, D], 'FLOAT16');
    const res = await fusedInferAttentionScore(stream, {
      query: q, key: k, value: v, numHeads: N, inputLayout: 'BNSD_BSND', scaleValue: 0.25, actualSeqLengthsKv: [4],
    });
    expect(res.attentionOut.shape).toEqual([B, 3, N, D]);
    expect(res.softmaxLse).toBeNull();
    const inputs: FiaInputs = {
      query: q, key: aclCreateTensorList([k]), value: aclCreateTensorList([v]), numHeads: N, scaleValue: 0.25,
      preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD_BSND', numKeyValueHeads: 0, sparseMode: 0,
      innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0,
      actualSeqLengthsKv: { kind: 'intArray', values: [4] }, attentionOut: res.attentionOut, softmaxLse: null,
    };
    await expectOutMatchesReference(inputs, res.attentionOut);
  });

  it('throws AclnnError with the status and message, allocating nothing', async () => {
    const { inputs } = sample(false);
    const err = await fusedInferAttentionScore(stream, {
      query: inputs.query!, key: inputs.key!, value: inputs.value!, numHeads: 2, inputLayout: 'BNSD', numKeyValueHeads: 3,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AclnnError);
    expect((err as AclnnError).status).toBe(ACLNN_ERR_PARAM_INVALID);
    expect((err as AclnnError).message).toContain('numKeyValueHeads=3');
    expect(aclGetRecentErrMsg()).toBe((err as AclnnError).message);
  });

  it('throws 161001 for a missing query', async () => {
    const { inputs } = sample(false);
    const err = await fusedInferAttentionScore(stream, { query: null as unknown as Tensor, key: inputs.key!, value: inputs.value!, numHeads: 2 })
      .catch((e: unknown) => e);
    expect((err as AclnnError).status).toBe(ACLNN_ERR_PARAM_NULLPTR);
  });
});

describe('rejected calls leave caller buffers untouched', () => {
  it('a workspace smaller than reported: 161002, attentionOut unchanged', async () => {
    const { inputs, out } = sample(false);
    const r = getWorkspaceSize(inputs);
    expect(r.workspaceSize).toBeGreaterThan(0);
    const small = r.workspaceSize - 4;
    const ws = workspaceOf(Math.max(4, small));
    expect(aclnnFusedInferAttentionScoreV2(ws, small, r.executor, stream)).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('smaller than');
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    expect(Array.from(await readTensor(stream, out))).toEqual(OUT_INIT);
    ws?.destroy();
  });

  it('a null executor: 161001, attentionOut unchanged', async () => {
    const { out } = sample(false);
    const ws = workspaceOf(1024);
    expect(aclnnFusedInferAttentionScoreV2(ws, 1024, null, stream)).toBe(ACLNN_ERR_PARAM_NULLPTR);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    expect(Array.from(await readTensor(stream, out))).toEqual(OUT_INIT);
    ws?.destroy();
  });

  const REJECTED: [string, Partial<FiaInputs>, number][] = [
    ['numHeads 3', { numHeads: 3 }, ACLNN_ERR_PARAM_INVALID],
    ['innerPrecise 2 at Q_S 1', { innerPrecise: 2 }, ACLNN_ERR_PARAM_INVALID],
    ['softmaxLseFlag without softmaxLse', { softmaxLseFlag: true }, ACLNN_ERR_PARAM_NULLPTR],
    ['layout TND', { inputLayout: 'TND' }, ACLNN_ERR_PARAM_INVALID],
  ];
  for (const [name, over, status] of REJECTED) {
    it(`GetWorkspaceSize rejects ${name} (${status}) and writes nothing`, async () => {
      const { inputs, out } = sample(false, over);
      const before = await bytesOf(out);
      const r = fiaGetWorkspaceSize(inputs);
      expect(r.status).toBe(status);
      expect(r.executor).toBeNull();
      expect(aclnnFusedInferAttentionScoreV2(null, 0, r.executor, stream)).toBe(ACLNN_ERR_PARAM_NULLPTR);
      expect(await aclrtSynchronizeStream(stream)).toBe(0);
      expect(await bytesOf(out)).toEqual(before);
    });
  }

  it('a FLOAT16 mask is rejected by both entry points alike', async () => {
    const { inputs, out } = sample(false, { attenMask: createTensor(stream, [0, 1], [1, 1, 1, 2], 'FLOAT16') });
    expect(fiaGetWorkspaceSize(inputs).status).toBe(ACLNN_ERR_PARAM_INVALID);
    const msg = aclGetRecentErrMsg();
    const err = await fusedInferAttentionScore(stream, {
      query: inputs.query!, key: inputs.key!, value: inputs.value!, attenMask: inputs.attenMask, numHeads: 2, inputLayout: 'BNSD',
    }).then(() => null, (e: unknown) => e as AclnnError);
    expect(err).toBeInstanceOf(AclnnError);
    if (!err) return;
    expect(err.status).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(err.message).toBe(msg);
    expect(Array.from(await readTensor(stream, out))).toEqual(OUT_INIT);
  });

  it('a device error (destroyed input buffer) surfaces as 361001 at synchronize; attentionOut unchanged', async () => {
    const { inputs, out, r, ws } = await planned(false);
    inputs.key!.tensors[0]!.buffer.destroy();
    expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(0);
    expect(await aclrtSynchronizeStream(stream)).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toContain('device error');
    expect(Array.from(await readTensor(stream, out))).toEqual(OUT_INIT);
    expect(await aclrtSynchronizeStream(stream)).toBe(0);
    ws?.destroy();
  });
});
