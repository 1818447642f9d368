// Tensors are bound by their own byte range, not their whole buffer (issue: whole buffers are
// bound): on a device with WebGPU's default limits (maxStorageBufferBindingSize 128 MiB), 1 MiB
// K/V placed at unaligned offsets inside a 200 MiB buffer work for both kernels; a K/V whose own
// range exceeds the binding limit is bound per split by decode (dense K/V), else rejected by
// GetWorkspaceSize with 561101 naming the limit (prefill, a paged pool), never accepted and failed
// on the device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { aclCreateTensor, aclCreateTensorList, createEmptyTensor, createTensor, type Tensor } from '../src/acl/tensor.js';
import { encodeValues } from '../src/codec/index.js';
import { fiaGetWorkspaceSize } from '../src/fia/api.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { requestAdapter } from '../src/node.js';
import { normalize } from '../src/fia/normalize.js';
import { planFia } from '../src/fia/plan.js';
import { capsOf } from '../src/kernels/caps.js';
import { encodeDecode, kvLensBuffer } from '../src/kernels/decode.js';
import { WORKSPACE_USAGE } from '../src/fia/executor.js';
import { checkAgainstReference, forwarding, placedTensor, runAndCheck } from './helpers/placed.js';
import { mulberry32, randomValues } from './helpers/cases.js';
import { kernelTensors } from '../src/problem/tensors.js';

const MiB = 1 << 20;
let stream: Stream;
let big: GPUBuffer;

beforeAll(async () => {
  const adapter = await requestAdapter();
  const device = await adapter.requestDevice(); // WebGPU's default limits
  expect(device.limits.maxStorageBufferBindingSize).toBe(128 * MiB);
  stream = createStream(device);
  aclrtSetDevice(device);
  big = device.createBuffer({ size: 200 * MiB, usage: 0x80 | 0x04 | 0x08, label: 'big' });
});

afterAll(() => big?.destroy());

/** A FLOAT16 tensor of `shape` at byte `byteOffset` (even) of the 200 MiB buffer, random values written. */
function inBig(shape: number[], byteOffset: number, seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = encodeValues('FLOAT16', randomValues(mulberry32(seed), n, 'FLOAT16'));
  stream.queue.writeBuffer(big, byteOffset - (byteOffset % 4), (() => {
    // writeBuffer needs 4-byte aligned offsets and sizes: merge the tensor into aligned words.
    const lead = byteOffset % 4;
    const w = new Uint8Array(Math.ceil((lead + n * 2) / 4) * 4);
    w.set(bytes.subarray(0, n * 2), lead);
    return w;
  })());
  return aclCreateTensor(shape, 'FLOAT16', big, { offset: byteOffset / 2 });
}

function inputs(QS: number, key: Tensor, value: Tensor, D: number, out: Tensor): FiaInputs {
  return {
    query: createTensor(stream, randomValues(mulberry32(5), QS * D, 'FLOAT16'), [1, 1, QS, D], 'FLOAT16'),
    key: aclCreateTensorList([key]), value: aclCreateTensorList([value]),
    numHeads: 1, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD',
    numKeyValueHeads: 1, sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false,
    keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: out, softmaxLse: null,
  };
}

describe('a 1 MiB K/V inside a 200 MiB buffer on a default-limits device', () => {
  const S = 32768;
  const D = 16; // S·D FLOAT16 = 1 MiB each
  for (const QS of [1, 3]) {
    it(`${QS === 1 ? 'decode' : 'prefill'}: K at byte 1 MiB + 6, V at 150 MiB + 1000 (not 256-aligned), out at element 1001`, async () => {
      const key = inBig([1, 1, S, D], MiB + 6, 1);
      const value = inBig([1, 1, S, D], 150 * MiB + 1000, 2);
      const out = placedTensor(stream, [1, 1, QS, D], 'FLOAT16', 1001);
      await runAndCheck(stream, inputs(QS, key, value, D, out));
    });
  }
});

describe('K/V whose own range exceeds the binding limit', () => {
  it('dense key of 140 MiB: prefill rejects it; decode plans it per split instead', () => {
    const D = 64;
    const S = Math.floor((140 * MiB) / (2 * D));
    const kv = aclCreateTensor([1, 1, S, D], 'FLOAT16', big);
    const r = fiaGetWorkspaceSize(inputs(2, kv, kv, D, createEmptyTensor(stream, [1, 1, 2, D], 'FLOAT16')));
    expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect(aclGetRecentErrMsg()).toMatch(/^key=\[1,1,\d+,64\] FLOAT16: binds \d+ bytes, more than the device's maxStorageBufferBindingSize 134217728; \(port\) prefill binds K\/V whole/);
    const d = fiaGetWorkspaceSize(inputs(1, kv, kv, D, createEmptyTensor(stream, [1, 1, 1, D], 'FLOAT16')));
    expect(d.status, aclGetRecentErrMsg()).toBe(0);
    const p = d.executor!.plan!;
    expect(p.kernel === 'decode' && p.plan.kvRange !== null && p.plan.splitLen * p.plan.splitsPerDispatch * D * 2 < 128 * MiB).toBe(true);
  });

  it('paged pool of 150 MiB (a pool is bound whole)', () => {
    const blockSize = 128;
    const H = 64;
    const numBlocks = Math.floor((150 * MiB) / (blockSize * H * 2));
    const cache = aclCreateTensor([numBlocks, blockSize, H], 'FLOAT16', big);
    const x: FiaInputs = {
      ...inputs(1, cache, cache, H, createEmptyTensor(stream, [1, 1, 1, H], 'FLOAT16')),
      inputLayout: 'BSH', query: createTensor(stream, randomValues(mulberry32(3), H, 'FLOAT16'), [1, 1, H], 'FLOAT16'),
      attentionOut: createEmptyTensor(stream, [1, 1, H], 'FLOAT16'),
      blockTable: createTensor(stream, [0], [1, 1], 'INT32'), blockSize,
      actualSeqLengthsKv: { kind: 'intArray', values: [100] },
    };
    const r = fiaGetWorkspaceSize(x);
    expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect(aclGetRecentErrMsg()).toMatch(/^key=\[\d+,128,64\] FLOAT16: binds \d+ bytes, more than the device's maxStorageBufferBindingSize 134217728; a paged KV cache is bound whole/);
  });
});

describe('decode over a dense K/V larger than one binding: bound per split', () => {
  // A fake binding limit of 4 KiB (the plan's caps): each dispatch binds one batch's rows of its
  // splits; every storage binding the kernels create is recorded and must fit. With a sliding
  // window (extension) the splits stay at absolute columns and are clipped to each batch's window.
  for (const [layout, window] of [['BNSD', 0], ['BSH', 0], ['BNSD', 70]] as const) {
    const windowed = window > 0 ? `, sliding window ${window}, kvLens [300, 150]` : '';
    it(`${layout}: B 2, N 4, KV_N 2, KV_S 300, D 16 (K/V 38400 bytes each), K/V at odd offsets${windowed}`, async () => {
      const [B, N, KVN, S, D] = [2, 4, 2, 300, 16];
      const qShape = layout === 'BNSD' ? [B, N, 1, D] : [B, 1, N * D];
      const kvShape = layout === 'BNSD' ? [B, KVN, S, D] : [B, S, KVN * D];
      const n = B * KVN * S * D;
      const kv = (seed: number): Tensor => placedTensor(stream, kvShape, 'FLOAT16', 3 + seed, randomValues(mulberry32(seed), n, 'FLOAT16'));
      const x: FiaInputs = {
        ...inputs(1, kv(1), kv(2), D, placedTensor(stream, qShape, 'FLOAT16', 1)),
        query: createTensor(stream, randomValues(mulberry32(9), B * N * D, 'FLOAT16'), qShape, 'FLOAT16'),
        numHeads: N, numKeyValueHeads: KVN, inputLayout: layout,
        ...(window > 0 ? { extensions: { slidingWindow: window }, actualSeqLengthsKv: { kind: 'intArray', values: [300, 150] } } : {}),
      };
      const problem = normalize(x);
      const plan = planFia(problem, { ...capsOf(stream.device), maxStorageBindingBytes: 4096 }, x);
      if (plan.kernel !== 'decode' || !plan.plan.kvRange) throw new Error('expected a decode plan with K/V ranges');
      expect(plan.plan.numSplits).toBeGreaterThan(1);
      const sizes: number[] = [];
      const device = forwarding(stream.device, {
        createBindGroup: (d: GPUBindGroupDescriptor) => {
          for (const e of d.entries) {
            const r = e.resource as GPUBufferBinding;
            if (r.buffer) sizes.push(r.size ?? r.buffer.size - (r.offset ?? 0));
          }
          return stream.device.createBindGroup(d);
        },
      });
      const ws = stream.device.createBuffer({ size: plan.workspaceBytes, usage: WORKSPACE_USAGE });
      const encoder = stream.device.createCommandEncoder();
      const kvLens = kvLensBuffer(stream.device, problem.kvLens);
      encodeDecode({ device, encoder, problem, plan: plan.plan, tensors: kernelTensors(problem, x), workspace: ws, regions: plan.regions, kvLens });
      stream.queue.submit([encoder.finish()]);
      expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
      expect(sizes.length).toBeGreaterThan(0);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
      await checkAgainstReference(stream, x, problem);
      ws.destroy();
      kvLens.destroy();
    });
  }
});
