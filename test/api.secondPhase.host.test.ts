// The second phase's argument checks and the entry points' plumbing, without a GPU: every check
// here runs before anything touches the device (fake buffers, a fake planning device).
import { beforeAll, describe, expect, it } from 'vitest';
import { paddedByteLength, type DataType } from '../src/codec/dtype.js';
import {
  ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, AclnnError, aclGetRecentErrMsg,
} from '../src/acl/status.js';
import { aclrtGetDevice, aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensor, aclCreateTensorList, numel, type Tensor } from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fiaGetWorkspaceSize,
  fusedInferAttentionScore, type FusedInferAttentionScoreOptions, inputsFromOptions,
} from '../src/fia/api.js';
import { INT_MAX, type FiaInputs } from '../src/problem/problem.js';

const USAGE_ALL = 0x80 | 0x08 | 0x04;
const none = (): void => undefined;
/** A stand-in with the GPUBuffer members the port checks (no WebGPU globals in this file). */
const fakeBuffer = (size: number, usage = USAGE_ALL): GPUBuffer =>
  ({ size, usage, destroy: none, mapAsync: none, getMappedRange: none, unmap: none }) as unknown as GPUBuffer;
const fakeDevice = (): GPUDevice => ({
  limits: {
    maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256,
    maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupsPerDimension: 65535,
  },
  features: new Set<string>(),
}) as unknown as GPUDevice;
const T = (shape: number[], dtype: DataType = 'FLOAT16'): Tensor =>
  aclCreateTensor(shape, dtype, fakeBuffer(Math.max(4, paddedByteLength(dtype, numel(shape)))));

const DEVICE = fakeDevice();
const stream = (device: GPUDevice): Stream => ({ device, queue: {} as GPUQueue });

/** Decode BNSD B 2, N 8, KV_N 2, KV_S 256, D 64 (its plan always needs a workspace). */
function decodeInputs(over: Partial<FiaInputs> = {}): FiaInputs {
  return {
    query: T([2, 8, 1, 64]), key: aclCreateTensorList([T([2, 2, 256, 64])]), value: aclCreateTensorList([T([2, 2, 256, 64])]),
    numHeads: 8, scaleValue: 0.125, preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: 'BNSD', numKeyValueHeads: 2,
    sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: T([2, 8, 1, 64]), softmaxLse: null, ...over,
  };
}

beforeAll(() => {
  aclrtSetDevice(DEVICE);
});

describe('aclnnFusedInferAttentionScoreV2GetWorkspaceSize', () => {
  it('takes the 37 inputs in the doc order, then attentionOut and softmaxLse', () => {
    const x = decodeInputs({ softmaxLseFlag: true, softmaxLse: T([2, 8, 1, 1], 'FLOAT32'), actualSeqLengthsKv: aclCreateIntArray([100, 200]) });
    const r = aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
      x.query, x.key, x.value, null, null, null, x.actualSeqLengthsKv!, null, null, null, null, null, null, null, null, null,
      null, null, null, null, null, null, null, null,
      x.numHeads, x.scaleValue, x.preTokens, x.nextTokens, x.inputLayout, x.numKeyValueHeads, x.sparseMode, x.innerPrecise,
      x.blockSize, x.antiquantMode, x.softmaxLseFlag, x.keyAntiquantMode, x.valueAntiquantMode, x.attentionOut, x.softmaxLse!,
    );
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    expect(r.workspaceSize).toBeGreaterThan(0);
    expect(r.executor!.problem!.kvLens).toEqual([100, 200]);
    expect(r.executor!.problem!.softmaxLse).toBe(true);
    expect(r.executor!.device).toBe(DEVICE);
  });

  it('gives the same answer twice (size and placement come from one layout function)', () => {
    const a = fiaGetWorkspaceSize(decodeInputs());
    const b = fiaGetWorkspaceSize(decodeInputs());
    expect(a.workspaceSize).toBe(b.workspaceSize);
    expect(a.executor!.plan).toEqual(b.executor!.plan);
  });

  it('inputsFromOptions applies the doc defaults', () => {
    const x = inputsFromOptions({ query: T([1, 1, 64]), key: T([1, 1, 64]), value: [T([1, 1, 64])], numHeads: 1, actualSeqLengthsKv: [1] });
    expect(x).toMatchObject({
      scaleValue: 1, preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: 'BSH', numKeyValueHeads: 0, sparseMode: 0,
      innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0,
    });
    expect(x.key!.tensors).toHaveLength(1);
    expect(x.value!.tensors).toHaveLength(1);
    expect(x.actualSeqLengthsKv!.values).toEqual([1]);
  });
});

describe('aclnnFusedInferAttentionScoreV2: argument checks', () => {
  const planned = () => {
    const r = fiaGetWorkspaceSize(decodeInputs());
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    return r;
  };

  it('161001 for a null executor', () => {
    expect(aclnnFusedInferAttentionScoreV2(fakeBuffer(1 << 20), 1 << 20, null, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_NULLPTR);
    expect(aclGetRecentErrMsg()).toContain('executor');
  });

  it('161002 when workspaceSize is smaller than reported', () => {
    const { workspaceSize, executor } = planned();
    const status = aclnnFusedInferAttentionScoreV2(fakeBuffer(workspaceSize), workspaceSize - 4, executor, stream(DEVICE));
    expect(status).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe(`workspaceSize=${workspaceSize - 4}: smaller than the ${workspaceSize} bytes GetWorkspaceSize reported`);
  });

  it('161002 when the workspace buffer is smaller than workspaceSize', () => {
    const { workspaceSize, executor } = planned();
    expect(aclnnFusedInferAttentionScoreV2(fakeBuffer(workspaceSize - 4), workspaceSize, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('workspaceSize');
  });

  it('161002 for a non-integer workspaceSize', () => {
    const { workspaceSize, executor } = planned();
    expect(aclnnFusedInferAttentionScoreV2(fakeBuffer(workspaceSize + 8), workspaceSize + 0.5, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
  });

  it('161001 for a null workspace when bytes are needed', () => {
    const { workspaceSize, executor } = planned();
    expect(aclnnFusedInferAttentionScoreV2(null, workspaceSize, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_NULLPTR);
    expect(aclGetRecentErrMsg()).toContain('workspace');
  });

  it('161002 for a workspace without STORAGE | COPY_DST | COPY_SRC usage', () => {
    const { workspaceSize, executor } = planned();
    expect(aclnnFusedInferAttentionScoreV2(fakeBuffer(workspaceSize, 0x80), workspaceSize, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('workspace.usage');
  });

  it('161002 for a workspace that is a caller tensor buffer', () => {
    const big = fakeBuffer(1 << 20);
    const r = fiaGetWorkspaceSize(decodeInputs({ attentionOut: aclCreateTensor([2, 8, 1, 64], 'FLOAT16', big) }));
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    expect(aclnnFusedInferAttentionScoreV2(big, r.workspaceSize, r.executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('shares its buffer');
  });

  it('361001 for a stream on another device', () => {
    const { workspaceSize, executor } = planned();
    expect(aclnnFusedInferAttentionScoreV2(fakeBuffer(workspaceSize), workspaceSize, executor, stream(fakeDevice()))).toBe(ACLNN_ERR_RUNTIME_ERROR);
    expect(aclGetRecentErrMsg()).toContain('stream');
  });

  it('an empty attentionOut runs as a no-op with no workspace and no device', () => {
    const r = fiaGetWorkspaceSize(decodeInputs({ query: T([2, 8, 0, 64]), attentionOut: T([2, 8, 0, 64]) }));
    expect(r.status).toBe(0);
    expect(r.workspaceSize).toBe(0);
    expect(aclnnFusedInferAttentionScoreV2(null, 0, r.executor, null)).toBe(0);
  });

  it('GetWorkspaceSize leaves the current device alone', () => {
    fiaGetWorkspaceSize(decodeInputs());
    expect(aclrtGetDevice()).toBe(DEVICE);
  });
});

describe('bad host arguments get 161001/161002 naming them (no GPU)', () => {
  const fs = stream(DEVICE);
  /** The wrapper's rejection: its status and message (any other exception fails the test). */
  async function rejection(opts: unknown, s: unknown = fs): Promise<{ status: number; message: string }> {
    const err = await fusedInferAttentionScore(s as Stream, opts as FusedInferAttentionScoreOptions)
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AclnnError);
    const e = err as AclnnError;
    expect(aclGetRecentErrMsg()).toBe(e.message);
    return { status: e.status, message: e.message };
  }
  const base = () => ({ query: T([2, 8, 1, 64]), key: T([2, 2, 256, 64]), value: T([2, 2, 256, 64]), numHeads: 8, numKeyValueHeads: 2, inputLayout: 'BNSD' });

  it('an unknown option names itself and the closest known option', async () => {
    expect(await rejection({ ...base(), scalValue: 0.7 })).toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'scalValue=0.7: unknown option; did you mean scaleValue?' });
    expect(await rejection({ ...base(), sparsemode: 3 })).toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'sparsemode=3: unknown option; did you mean sparseMode?' });
    expect((await rejection({ ...base(), numHead: 8 })).message).toBe('numHead=8: unknown option; did you mean numHeads?');
    expect((await rejection({ ...base(), actualSeqLenKv: [1] })).message).toContain('did you mean actualSeqLengthsKv?');
  });

  it('BigInt dims are 161002 naming the parameter (not a TypeError)', async () => {
    const q = { ...T([2, 8, 1, 64]), shape: [2n, 8n, 1n, 64n] };
    expect(await rejection({ ...base(), query: q })).toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'query.shape=[2n,8n,1n,64n]: (port) dims must be integers' });
    expect((await rejection({ ...base(), numHeads: 8n })).message).toBe('numHeads=8n: (port) an int64 parameter must be an integer');
    expect((await rejection({ ...base(), actualSeqLengthsKv: [1n, 2n] })).message).toBe('actualSeqLengthsKv[0]=1n: (port) an int64 entry must be an integer');
  });

  it('a buffer that only looks like a GPUBuffer is 161002 at validation', async () => {
    const lookalike = { size: 1 << 20, usage: USAGE_ALL } as unknown as GPUBuffer;
    const r = await rejection({ ...base(), key: aclCreateTensor([2, 2, 256, 64], 'FLOAT16', lookalike) });
    expect(r).toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'key.buffer=an object: (port) not a GPUBuffer (create it with device.createBuffer)' });
    const x = decodeInputs({ value: aclCreateTensorList([aclCreateTensor([2, 2, 256, 64], 'FLOAT16', lookalike)]) });
    expect(fiaGetWorkspaceSize(x).status).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('value.buffer');
  });

  it('a 200,000-entry tensor list is 161002 through the wrapper', async () => {
    const many = Array.from({ length: 200_000 }, () => T([1, 2, 256, 64]));
    const r = await rejection({ ...base(), key: many, value: many });
    expect(r).toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'key=a list of 200000: tensor-list KV supports B ≤ 256' });
  });

  it('a bad stream, options object or outDtype is named', async () => {
    expect(await rejection(base(), null)).toEqual({ status: ACLNN_ERR_PARAM_NULLPTR, message: 'stream=null: a stream is required (createStream(device))' });
    expect((await rejection(base(), { device: 1 })).message).toBe('stream: not a stream (create it with createStream(device))');
    expect((await rejection(null)).status).toBe(ACLNN_ERR_PARAM_NULLPTR);
    expect((await rejection(42)).message).toBe('opts=42: the options must be an object');
    expect((await rejection({ ...base(), outDtype: 'FLOAT8' })).message).toBe('outDtype="FLOAT8": not a known aclDataType');
  });

  it('second phase: a workspace without usage, a fake executor, stream or encoder are 161002 naming them', () => {
    const { workspaceSize, executor } = fiaGetWorkspaceSize(decodeInputs());
    const noUsage = { size: workspaceSize, destroy: none, mapAsync: none, getMappedRange: none, unmap: none } as unknown as GPUBuffer;
    expect(aclnnFusedInferAttentionScoreV2(noUsage, workspaceSize, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('workspace: not a GPUBuffer');
    const badUsage = { ...fakeBuffer(workspaceSize), usage: '7' } as unknown as GPUBuffer;
    expect(aclnnFusedInferAttentionScoreV2(badUsage, workspaceSize, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('workspace: not a GPUBuffer');
    const ws = fakeBuffer(workspaceSize);
    expect(aclnnFusedInferAttentionScoreV2(ws, workspaceSize, { ...executor } as never, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('executor: not an executor');
    expect(aclnnFusedInferAttentionScoreV2(ws, workspaceSize, executor, { device: DEVICE } as never)).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toContain('stream: not a stream');
    expect(aclnnFusedInferAttentionScoreV2(ws, workspaceSize, executor, stream(DEVICE), { beginComputePass: none } as never)).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('encoder: not a GPUCommandEncoder');
    expect(aclnnFusedInferAttentionScoreV2(ws, 2n as never, executor, stream(DEVICE))).toBe(ACLNN_ERR_PARAM_INVALID);
    expect(aclGetRecentErrMsg()).toBe('workspaceSize=2: must be a non-negative integer (bytes)');
  });
});
