// Planning for the device's grid and binding limits, without a GPU: plans and GetWorkspaceSize on
// fake devices whose maxComputeWorkgroupsPerDimension / maxStorageBufferBindingSize are tiny, so
// the folding and the up-front rejections are exercised with small shapes.
import { describe, expect, it } from 'vitest';
import type { DataType } from '../src/codec/dtype.js';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensor, aclCreateTensorList, type Tensor } from '../src/acl/tensor.js';
import { paddedByteLength } from '../src/codec/dtype.js';
import { fiaGetWorkspaceSize } from '../src/fia/api.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { tensorRange } from '../src/kernels/binding.js';
import { type AxisRun, axisRuns, DEFAULT_CAPS, type DeviceCaps } from '../src/kernels/caps.js';
import { decodeBatchRuns, planDecode } from '../src/kernels/decode.js';
import { planPrefill, prefillBatchRuns } from '../src/kernels/prefill.js';
import { makeProblem } from './helpers/cases.js';

const CAPS2: DeviceCaps = { ...DEFAULT_CAPS, maxWorkgroupStorageBytes: 32768, maxWorkgroupsPerDimension: 2 };

/** Runs cover [0, total) in order, each of 1..max. */
function expectCover(runs: AxisRun[], total: number, max: number): void {
  let next = 0;
  for (const r of runs) {
    expect(r.base).toBe(next);
    expect(r.count).toBeGreaterThanOrEqual(1);
    expect(r.count).toBeLessThanOrEqual(max);
    next += r.count;
  }
  expect(next).toBe(total);
}

describe('grid runs', () => {
  it('axisRuns splits an axis into runs of at most max', () => {
    expect(axisRuns(5, 2)).toEqual([{ base: 0, count: 2 }, { base: 2, count: 2 }, { base: 4, count: 1 }]);
    expect(axisRuns(0, 2)).toEqual([]);
    expectCover(axisRuns(65536, 65535), 65536, 65535);
  });

  it('prefill plan: query tiles and batches per dispatch within a limit of 2', () => {
    const problem = makeProblem({ batch: 5, numQoHeads: 2, headDim: 16, qSeqLen: 20, kvSeqLen: 8 });
    const plan = planPrefill(problem, CAPS2, { rowsPerThread: 1, rowThreads: 4 });
    expect(plan.numQTiles).toBe(5);
    expectCover(axisRuns(plan.numQTiles * plan.numSplits, plan.xPerDispatch), 5, 2);
    expectCover(prefillBatchRuns(problem, plan), 5, 2);
  });

  it('prefill plan at B = 65536 on the default limits: batch runs within the limit', () => {
    const problem = makeProblem({ batch: 65536, numQoHeads: 1, headDim: 16, qSeqLen: 2, kvSeqLen: 4 });
    const plan = planPrefill(problem, DEFAULT_CAPS);
    expectCover(prefillBatchRuns(problem, plan), 65536, DEFAULT_CAPS.maxWorkgroupsPerDimension);
  });

  it('decode plan: batches and KV splits per dispatch within a limit of 2', () => {
    const problem = makeProblem({ batch: 5, numQoHeads: 2, numKvHeads: 1, headDim: 16, qSeqLen: 1, kvSeqLen: 300 });
    const plan = planDecode(problem, CAPS2, { numSplits: 3 });
    expect(plan.numSplits).toBe(3);
    expectCover(axisRuns(plan.numSplits, plan.splitsPerDispatch), 3, 2);
    expectCover(decodeBatchRuns(problem, plan), 5, 2);
    const big = makeProblem({ batch: 65536, numQoHeads: 1, headDim: 16, qSeqLen: 1, kvSeqLen: 4 });
    expectCover(decodeBatchRuns(big, planDecode(big, DEFAULT_CAPS)), 65536, 65535);
  });
});

// ---------------------------------------------------------------------------------------------
// GetWorkspaceSize on fake devices (planning reads only limits and features)

function fakeDevice(limits: { maxComputeWorkgroupsPerDimension?: number; maxStorageBufferBindingSize?: number }): GPUDevice {
  return {
    limits: {
      maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256,
      maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupsPerDimension: 65535,
      ...limits,
    },
    features: new Set<string>(),
    // SwiftShader's plans (decode 'lanes', whose split cap gives the 8 splits counted below).
    adapterInfo: { architecture: 'swiftshader' },
  } as unknown as GPUDevice;
}

function T(shape: number[], dtype: DataType = 'FLOAT16', offset = 0, size?: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = size ?? Math.max(4, paddedByteLength(dtype, offset + n));
  const none = (): void => undefined;
  const buffer = { size: bytes, usage: 0x80 | 0x08 | 0x04, destroy: none, mapAsync: none, getMappedRange: none, unmap: none };
  return aclCreateTensor(shape, dtype, buffer as unknown as GPUBuffer, { offset });
}

/** BNSD FLOAT16 inputs over fake buffers. */
function inputs(B: number, N: number, KVN: number, QS: number, KVS: number, D: number, over: Partial<FiaInputs> = {}): FiaInputs {
  return {
    query: T([B, N, QS, D]), key: aclCreateTensorList([T([B, KVN, KVS, D])]), value: aclCreateTensorList([T([B, KVN, KVS, D])]),
    numHeads: N, scaleValue: 1, preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD', numKeyValueHeads: KVN,
    sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: T([B, N, QS, D]), softmaxLse: null, ...over,
  };
}

function expectNotSupported(x: FiaInputs, message: RegExp): void {
  const r = fiaGetWorkspaceSize(x);
  expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
  expect(r.executor).toBeNull();
  expect(aclGetRecentErrMsg()).toMatch(message);
}

describe('grid rows over the per-dimension limit are rejected at GetWorkspaceSize (561101)', () => {
  it('prefill with 4 KV heads on a device allowing 2 workgroups per dimension; decode folds them', () => {
    aclrtSetDevice(fakeDevice({ maxComputeWorkgroupsPerDimension: 2 }));
    expectNotSupported(inputs(1, 4, 4, 4, 8, 16), /4 KV heads .*the device allows 2 per grid dimension/);
    const dec = fiaGetWorkspaceSize(inputs(1, 4, 4, 1, 8, 16));
    expect(dec.status, aclGetRecentErrMsg()).toBe(0);
    const p = dec.executor!.plan!;
    expect(p.kernel === 'decode' && p.plan.yPerDispatch).toBe(2);
    // Batches and splits fold: accepted.
    expect(fiaGetWorkspaceSize(inputs(5, 2, 2, 1, 300, 16)).status, aclGetRecentErrMsg()).toBe(0);
    expect(fiaGetWorkspaceSize(inputs(5, 2, 2, 40, 8, 16)).status, aclGetRecentErrMsg()).toBe(0);
  });
});

describe('binding sizes (fake maxStorageBufferBindingSize)', () => {
  it('decode over a dense K/V larger than one binding: planned per split (kvRange), ranges that fit', () => {
    aclrtSetDevice(fakeDevice({ maxStorageBufferBindingSize: 4096 }));
    for (const layout of ['BNSD', 'BSH'] as const) {
      const x = inputs(2, 4, 2, 1, 300, 16);
      const r = fiaGetWorkspaceSize(layout === 'BNSD' ? x : {
        ...x, inputLayout: 'BSH', query: T([2, 1, 64]), attentionOut: T([2, 1, 64]),
        key: aclCreateTensorList([T([2, 300, 32])]), value: aclCreateTensorList([T([2, 300, 32])]),
      });
      expect(r.status, aclGetRecentErrMsg()).toBe(0);
      const p = r.executor!.plan!;
      if (p.kernel !== 'decode' || !p.plan.kvRange) throw new Error(`${layout}: no kvRange plan`);
      const { headsPerDispatch, rowsPerDispatch } = p.plan.kvRange;
      // BNSD: both heads' rows span 300·16 + R·16 elements > 4096 bytes, so one head; BSH: rows hold both heads.
      expect(headsPerDispatch).toBe(layout === 'BNSD' ? 1 : 2);
      const spanElems = layout === 'BNSD' ? rowsPerDispatch * 16 : rowsPerDispatch * 32;
      expect(spanElems * 2 + 260).toBeLessThanOrEqual(4096);
      expect(p.plan.splitLen * p.plan.splitsPerDispatch).toBeLessThanOrEqual(rowsPerDispatch);
      expect(p.plan.batchesPerDispatch).toBe(1);
    }
  });

  it('tensorRange binds from the 256-aligned start to the word-padded end, offset rebased', () => {
    expect(tensorRange(T([3, 5], 'FLOAT16', 1001))).toEqual({ offset: 1792, size: 2032 - 1792, elementOffset: 1001 - 896 });
    expect(tensorRange(T([7], 'INT8', 300))).toEqual({ offset: 256, size: 308 - 256, elementOffset: 44 });
  });

  it('a 2 KiB key at the end of a 1 MiB buffer is accepted on a 4 KiB binding limit (only its range is bound)', () => {
    aclrtSetDevice(fakeDevice({ maxStorageBufferBindingSize: 4096 }));
    const at = (1 << 20) / 2 - 1024 - 3;
    const key = T([1, 1, 64, 16], 'FLOAT16', at, 1 << 20);
    const value = T([1, 1, 64, 16], 'FLOAT16', 5, 1 << 20);
    const x = inputs(1, 1, 1, 1, 64, 16, { key: aclCreateTensorList([key]), value: aclCreateTensorList([value]) });
    expect(fiaGetWorkspaceSize(x).status, aclGetRecentErrMsg()).toBe(0);
    expect(fiaGetWorkspaceSize({ ...x, query: T([1, 1, 4, 16]), attentionOut: T([1, 1, 4, 16], 'FLOAT16', 7, 1 << 20) }).status, aclGetRecentErrMsg()).toBe(0);
  });

  it('a dense key, an attentionOut, a paged pool or a workspace region over the limit: 561101 naming the limit', () => {
    aclrtSetDevice(fakeDevice({ maxStorageBufferBindingSize: 4096 }));
    expectNotSupported(inputs(1, 1, 1, 4, 256, 16),
      /^key=\[1,1,256,16\] FLOAT16: binds 8192 bytes, more than the device's maxStorageBufferBindingSize 4096; \(port\) prefill binds K\/V whole/);
    expectNotSupported(inputs(1, 1, 1, 1, 256, 16, { kvPaddingSize: T([1], 'INT64'), actualSeqLengthsKv: aclCreateIntArray([200]) }),
      /^key=\[1,1,256,16\] FLOAT16: binds 8192 bytes, more than the device's maxStorageBufferBindingSize 4096; \(port\) decode binds a larger K\/V per split only/);
    expectNotSupported(inputs(1, 8, 1, 20, 16, 16),
      /^query=\[1,8,20,16\] FLOAT16: binds 5120 bytes, more than the device's maxStorageBufferBindingSize 4096/);
    const paged = inputs(1, 1, 1, 1, 0, 16, {
      inputLayout: 'BSH', query: T([1, 1, 16]), attentionOut: T([1, 1, 16]),
      key: aclCreateTensorList([T([2, 128, 16])]), value: aclCreateTensorList([T([2, 128, 16])]),
      blockTable: T([1, 2], 'INT32'), blockSize: 128, actualSeqLengthsKv: aclCreateIntArray([200]),
    });
    expectNotSupported(paged, /^key=\[2,128,16\] FLOAT16: binds 8192 bytes, more than the device's maxStorageBufferBindingSize 4096; a paged KV cache is bound whole/);
    aclrtSetDevice(fakeDevice({ maxStorageBufferBindingSize: 12000 }));
    // 128 heads × 8 KV splits × D 4 f32 partials = 16 KiB of workspace, every tensor under 12000 bytes.
    expectNotSupported(inputs(1, 128, 2, 1, 512, 4),
      /^workspace region partOut: binds 16384 bytes, more than the device's maxStorageBufferBindingSize 12000/);
  });
});
