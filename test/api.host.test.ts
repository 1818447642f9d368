// The second phase's argument checks and the entry points' plumbing, without a GPU: every check
// here runs before anything touches the device (fake buffers, a fake planning device).
import { beforeAll, describe, expect, it } from 'vitest';
import { paddedByteLength, type DataType } from '../src/acl/dtype.js';
import {
  ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, aclGetRecentErrMsg,
} from '../src/acl/status.js';
import { aclrtGetDevice, aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensor, aclCreateTensorList, numel, type Tensor } from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fiaGetWorkspaceSize,
  inputsFromOptions,
} from '../src/fia/api.js';
import { INT_MAX, type FiaInputs } from '../src/fia/problem.js';

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
