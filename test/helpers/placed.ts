// Tensors placed at chosen offsets of buffers filled with sentinel bytes, and one runner that
// executes an operator call (through the public two-phase API, or with a plan built for given caps
// / options) and checks attentionOut against the float64 reference and the buffer's other bytes.
import { expect } from 'vitest';
import type { DataType } from '../../src/codec/dtype.js';
import { elementBits } from '../../src/codec/dtype.js';
import { aclGetRecentErrMsg } from '../../src/acl/status.js';
import { aclrtSynchronizeStream, type Stream } from '../../src/acl/stream.js';
import { aclCreateTensor, numel, readBufferBytes, readTensor, type Tensor } from '../../src/acl/tensor.js';
import { encodeValues } from '../../src/codec/index.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../../src/fia/api.js';
import { FiaExecutor, WORKSPACE_USAGE } from '../../src/fia/executor.js';
import { readHostInputs } from '../../src/fia/hostInputs.js';
import { normalize } from '../../src/fia/normalize.js';
import type { FiaPlan } from '../../src/fia/plan.js';
import type { FiaInputs, Problem } from '../../src/problem/problem.js';
import { attentionReference, compareOutputs, toleranceFloor } from '../../src/reference/index.js';

const USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
export const SENTINEL = 0xa5;

/**
 * A contiguous `dtype` tensor of `shape` at element `offset` of a new buffer of `bufferBytes`
 * bytes (default: the tensor's end rounded up to a word, plus one word) filled with SENTINEL;
 * `values` (default: none, the tensor's bytes are sentinel too) are written in place.
 */
export function placedTensor(
  stream: Stream, shape: number[], dtype: DataType, offset: number, values: ArrayLike<number> | null = null, bufferBytes?: number,
): Tensor {
  const bits = elementBits(dtype);
  const start = (offset * bits) / 8;
  const end = ((offset + numel(shape)) * bits) / 8;
  const size = bufferBytes ?? Math.ceil(end / 4) * 4 + 4;
  const bytes = new Uint8Array(size).fill(SENTINEL);
  if (values) bytes.set(encodeValues(dtype, values).subarray(0, end - start), start);
  const buffer = stream.device.createBuffer({ size, usage: USAGE, label: 'placed' });
  stream.queue.writeBuffer(buffer, 0, bytes);
  return aclCreateTensor(shape, dtype, buffer, { offset });
}

/** Every byte of `t.buffer` outside `t`'s elements is still SENTINEL. */
export async function expectSentinelsKept(stream: Stream, t: Tensor): Promise<void> {
  const bits = elementBits(t.dtype);
  const start = (t.offset * bits) / 8;
  const end = ((t.offset + numel(t.shape)) * bits) / 8;
  const bytes = await readBufferBytes(stream, t.buffer, t.buffer.size);
  const changed: number[] = [];
  bytes.forEach((b, i) => { if ((i < start || i >= end) && b !== SENTINEL) changed.push(i); });
  expect(changed, `bytes outside attentionOut [${start}, ${end}) changed`).toEqual([]);
}

/** The executor for `inputs` with a plan of the test's making (`makePlan`), run like the API's. */
export function customExecutor(stream: Stream, inputs: FiaInputs, makePlan: (problem: Problem) => FiaPlan): FiaExecutor {
  const problem = normalize(inputs);
  const plan = makePlan(problem);
  return new FiaExecutor(stream.device, { ...inputs }, problem, plan, plan.workspaceBytes);
}

/**
 * Runs `inputs` (public GetWorkspaceSize, or `executor` when given), synchronizes, and checks
 * attentionOut against the reference (INT8: within 1; floats: the dtype's tolerance) and that no
 * byte of its buffer outside it changed. Returns the plan that ran.
 */
export async function runAndCheck(
  stream: Stream, inputs: FiaInputs, executor?: FiaExecutor, dispatches?: number[][],
): Promise<FiaPlan> {
  let ex = executor;
  if (!ex) {
    const r = fiaGetWorkspaceSize(inputs);
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    ex = r.executor!;
  }
  const bytes = ex.workspaceSize;
  const ws = bytes > 0 ? stream.device.createBuffer({ size: bytes, usage: WORKSPACE_USAGE, label: 'ws' }) : null;
  if (dispatches) {
    // Through a caller encoder that records every dispatchWorkgroups (x, y, z).
    const encoder = stream.device.createCommandEncoder();
    expect(aclnnFusedInferAttentionScoreV2(ws, bytes, ex, stream, recordingEncoder(encoder, dispatches)), aclGetRecentErrMsg()).toBe(0);
    stream.queue.submit([encoder.finish()]);
  } else {
    expect(aclnnFusedInferAttentionScoreV2(ws, bytes, ex, stream), aclGetRecentErrMsg()).toBe(0);
  }
  expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
  await checkAgainstReference(stream, inputs, ex.problem!);
  ws?.destroy();
  return ex.plan!;
}

/** attentionOut (already computed) against the reference, and the sentinels around it. */
export async function checkAgainstReference(stream: Stream, inputs: FiaInputs, problem: Problem): Promise<void> {
  const out = inputs.attentionOut!;
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const actual = await readTensor(stream, out);
  if (out.dtype === 'INT8') {
    const cmp = compareOutputs(actual, ref.attentionOut, null, 1, 1);
    expect(cmp.ok, cmp.message).toBe(true);
  } else {
    const low = attentionReference(problem, host, { roundTo: out.dtype });
    const cmp = compareOutputs(actual, ref.attentionOut, low.attentionOut, toleranceFloor(out.dtype));
    expect(cmp.ok, cmp.message).toBe(true);
  }
  await expectSentinelsKept(stream, out);
}

/** Forwards every method to `target` (bound), replacing those in `over`. */
export function forwarding<T extends object>(target: T, over: Record<string, unknown>): T {
  return new Proxy(target, {
    get(t, p) {
      if (typeof p === 'string' && p in over) return over[p];
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** `encoder`, whose compute passes push the size of each dispatch onto `dispatches`. */
export function recordingEncoder(encoder: GPUCommandEncoder, dispatches: number[][]): GPUCommandEncoder {
  return forwarding(encoder, {
    beginComputePass: (d?: GPUComputePassDescriptor) => {
      const pass = encoder.beginComputePass(d);
      return forwarding(pass, {
        dispatchWorkgroups: (x: number, y = 1, z = 1) => { dispatches.push([x, y, z]); pass.dispatchWorkgroups(x, y, z); },
      });
    },
  });
}
