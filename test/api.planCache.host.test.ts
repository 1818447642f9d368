// The plan cache behind GetWorkspaceSize (src/fia/plan.ts planFiaOn), without a GPU: a cached plan
// is reused only for a call it fits. Every executor's plan equals the plan computed afresh for its
// own inputs and device, across calls that differ in one thing the plan may depend on (a tensor's
// offset, strides, dtype, shape, a feature, lengths, the device's limits).
import { describe, expect, it } from 'vitest';
import type { DataType } from '../src/codec/dtype.js';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensor, aclCreateTensorList, type Tensor } from '../src/acl/tensor.js';
import { paddedByteLength } from '../src/codec/dtype.js';
import { fiaGetWorkspaceSize } from '../src/fia/api.js';
import { normalize } from '../src/fia/normalize.js';
import { planFia, planKey } from '../src/fia/plan.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';

function fakeDevice(limits: { maxStorageBufferBindingSize?: number; maxComputeWorkgroupStorageSize?: number } = {}, features: string[] = []): GPUDevice {
  return {
    limits: {
      maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256,
      maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupsPerDimension: 65535,
      ...limits,
    },
    features: new Set<string>(features),
  } as unknown as GPUDevice;
}

function T(shape: number[], dtype: DataType = 'FLOAT16', offset = 0, strides?: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = Math.max(4, paddedByteLength(dtype, offset + 4 * n));
  const none = (): void => undefined;
  const buffer = { size: bytes, usage: 0x80 | 0x08 | 0x04, destroy: none, mapAsync: none, getMappedRange: none, unmap: none };
  return aclCreateTensor(shape, dtype, buffer as unknown as GPUBuffer, { offset, strides });
}

/** BNSD decode/prefill inputs over fake buffers. */
function inputs(QS: number, KVS: number, over: Partial<FiaInputs> = {}, dtype: DataType = 'FLOAT16'): FiaInputs {
  const [B, N, KVN, D] = [2, 4, 2, 16];
  return {
    query: T([B, N, QS, D], dtype), key: aclCreateTensorList([T([B, KVN, KVS, D], dtype)]), value: aclCreateTensorList([T([B, KVN, KVS, D], dtype)]),
    numHeads: N, scaleValue: 0.25, preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD', numKeyValueHeads: KVN,
    sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: T([B, N, QS, D], dtype), softmaxLse: null, ...over,
  };
}

/** GetWorkspaceSize on `device`; its plan must equal a fresh planFia for the same call. */
function expectFreshPlan(device: GPUDevice, x: FiaInputs): unknown {
  aclrtSetDevice(device);
  const r = fiaGetWorkspaceSize(x);
  expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
  const problem = normalize(x);
  const fresh = planFia(problem, capsOf(device), x);
  expect(r.executor!.plan).toEqual(fresh);
  expect(r.workspaceSize).toBe(fresh.workspaceBytes);
  return r.executor!.plan;
}

describe('plan cache', () => {
  it('a repeated call reuses the plan object; a decode call with other lengths too', () => {
    const device = fakeDevice();
    const x = inputs(1, 300, { actualSeqLengthsKv: aclCreateIntArray([100, 200]) });
    const a = expectFreshPlan(device, x);
    expect(expectFreshPlan(device, { ...x })).toBe(a);
    expect(expectFreshPlan(device, { ...x, actualSeqLengthsKv: aclCreateIntArray([300, 1]) })).toBe(a);
    // A decode hit carries the call's own lengths.
    const r = fiaGetWorkspaceSize({ ...x, actualSeqLengthsKv: aclCreateIntArray([7]) });
    expect(r.executor!.problem!.kvLens).toEqual([7, 7]);
    expect(r.executor!.actualSeqLengthsKv()).toEqual([7, 7]);
    expect(fiaGetWorkspaceSize({ ...x, actualSeqLengthsKv: null }).executor!.problem!.kvLens).toEqual([300, 300]);
    // A prefill entry serves only its own lengths.
    const p = inputs(8, 64, { actualSeqLengthsKv: aclCreateIntArray([10, 64]) });
    const pa = expectFreshPlan(device, p);
    expect(expectFreshPlan(device, { ...p })).toBe(pa);
    const other = { ...p, actualSeqLengthsKv: aclCreateIntArray([11, 64]) };
    expect(expectFreshPlan(device, other)).not.toBe(pa);
    const r2 = fiaGetWorkspaceSize(other);
    expect(r2.executor!.problem!.kvLens).toEqual([11, 64]);
  });

  it('calls differing in one planned fact each get their own plan', () => {
    const device = fakeDevice();
    const base = inputs(1, 300);
    const variants: FiaInputs[] = [
      base,
      inputs(1, 301),
      inputs(1, 300, {}, 'FLOAT32'),
      inputs(1, 300, { softmaxLseFlag: true, softmaxLse: T([2, 4, 1, 1], 'FLOAT32') }),
      inputs(1, 300, { query: T([2, 4, 1, 16], 'FLOAT16', 8) }),
      inputs(1, 300, { key: aclCreateTensorList([T([2, 2, 300, 16], 'FLOAT16', 4)]) }),
      inputs(4, 300),
      inputs(1, 300, { numHeads: 4, numKeyValueHeads: 1, key: aclCreateTensorList([T([2, 1, 300, 16])]), value: aclCreateTensorList([T([2, 1, 300, 16])]) }),
    ];
    const keys = new Set<string>();
    for (const x of variants) {
      expectFreshPlan(device, x);
      keys.add(planKey(x));
    }
    expect(keys.size).toBe(variants.length);
    // Again, in reverse order: every call still gets its own plan.
    for (const x of [...variants].reverse()) expectFreshPlan(device, x);
    // The same call on a device with other caps: planned for that device.
    const small = fakeDevice({ maxStorageBufferBindingSize: 4096 });
    const p = expectFreshPlan(small, base) as { kernel: string; plan: { kvRange: unknown } };
    expect(p.plan.kvRange).not.toBeNull();
    const sub = fakeDevice({}, ['subgroups']);
    expectFreshPlan(sub, base);
  });

  it('a tensor offset that pushes a binding over the limit is rejected although the same shape was planned', () => {
    const device = fakeDevice({ maxStorageBufferBindingSize: 4096 });
    aclrtSetDevice(device);
    // A prefill key of 121·16 FLOAT16 = 3872 bytes: fits at offset 0, not at 127 elements (254 bytes in, 4128 bound).
    const x = (offset: number): FiaInputs => inputs(2, 121, {
      query: T([1, 1, 2, 16]), attentionOut: T([1, 1, 2, 16]), numHeads: 1, numKeyValueHeads: 1,
      key: aclCreateTensorList([T([1, 1, 121, 16], 'FLOAT16', offset)]), value: aclCreateTensorList([T([1, 1, 121, 16])]),
    });
    expect(fiaGetWorkspaceSize(x(0)).status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
    expect(fiaGetWorkspaceSize(x(0)).status).toBe(ACLNN_SUCCESS);
    expect(fiaGetWorkspaceSize(x(127)).status).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect(aclGetRecentErrMsg()).toMatch(/^key=\[1,1,121,16\] FLOAT16: binds 4128 bytes/);
  });
});
