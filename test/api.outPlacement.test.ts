// attentionOut that shares u32 words with other data (issue: writes past attentionOut): a
// FLOAT16/BFLOAT16 output with an odd element count or offset, an INT8 output not covering whole
// words. Every kernel path that stores it (prefill epilogue, decode direct store in both variants
// and both lane merges, the combine pass incl. its INT8 quantizing store) must leave the other
// bytes of the buffer as they were, and write the reference's values.
import { beforeAll, describe, expect, it } from 'vitest';
import { aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { type DecodePlanOptions, layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { buildCase, type CaseSpec } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { customExecutor, placedTensor, runAndCheck } from './helpers/placed.js';
import { kernelTensors } from '../src/problem/tensors.js';

let stream: Stream;
beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

interface Placement {
  /** attentionOut's element offset and its buffer's size in bytes (default: end + one word). */
  outOffset: number; outBytes?: number;
}
type Case = Pick<CaseSpec, 'batch' | 'numQoHeads' | 'qSeqLen' | 'kvSeqLen' | 'headDim'> & Partial<Pick<CaseSpec, 'numKvHeads' | 'dtype' | 'outDtype'>> & Placement;

/**
 * BNSD inputs with seeded data (INT8 output: per-tensor quantScale2 and quantOffset2), no
 * softmaxLse; attentionOut placed in a sentinel-filled buffer.
 */
function build(c: Case, seed = 1): FiaInputs {
  const dtype = c.dtype ?? 'FLOAT16';
  const outDtype = c.outDtype ?? dtype;
  const { inputs } = buildCase(stream, {
    ...c, seed, numKvHeads: c.numKvHeads ?? c.numQoHeads, layout: 'BNSD', dtype, outDtype, lse: false,
    outQuant: outDtype === 'INT8' ? { perChannel: false, offset: true, dtype: 'FLOAT32' } : null,
  });
  const out = inputs.attentionOut!;
  out.buffer.destroy();
  return { ...inputs, attentionOut: placedTensor(stream, [...out.shape], outDtype, c.outOffset, null, c.outBytes) };
}

/** A decode executor with forced plan options (variant, splits, lane merge). */
function decodeWith(inputs: FiaInputs, opts: DecodePlanOptions) {
  return customExecutor(stream, inputs, (problem) => {
    const tensors = kernelTensors(problem, inputs);
    const plan = planDecode(problem, capsOf(stream.device), opts, tensors);
    const ws = new WorkspaceAllocator();
    const regions = layoutDecodeWorkspace(problem, plan, ws, tensors);
    return { kernel: 'decode', plan, regions, workspaceBytes: ws.bytes };
  });
}

describe('attentionOut sharing words with other data: merged, never overwritten', () => {
  it('FLOAT16 out of 5 elements at offset 0 of a 12-byte buffer (bytes 10-11 other data), decode with combine', async () => {
    const plan = await runAndCheck(stream, build({ batch: 1, numQoHeads: 1, qSeqLen: 1, kvSeqLen: 300, headDim: 5, outOffset: 0, outBytes: 12 }));
    expect(plan.kernel === 'decode' && !plan.plan.direct).toBe(true);
  });

  it('FLOAT16 out of 5 elements at offset 0 of a 12-byte buffer, decode with one split (direct store)', async () => {
    const plan = await runAndCheck(stream, build({ batch: 1, numQoHeads: 1, qSeqLen: 1, kvSeqLen: 8, headDim: 5, outOffset: 0, outBytes: 12 }));
    expect(plan.kernel === 'decode' && plan.plan.direct).toBe(true);
  });

  for (const dtype of ['FLOAT16', 'BFLOAT16'] as const) {
    it(`${dtype} decode at odd offset 1, G 3, odd G·D (blocks of two workgroups share a word): direct and combine`, async () => {
      await runAndCheck(stream, build({ batch: 2, numQoHeads: 3, numKvHeads: 1, qSeqLen: 1, kvSeqLen: 8, headDim: 5, dtype, outOffset: 1 }, 3));
      await runAndCheck(stream, build({ batch: 2, numQoHeads: 3, numKvHeads: 1, qSeqLen: 1, kvSeqLen: 300, headDim: 5, dtype, outOffset: 1 }, 4));
    });
  }

  it('decode direct store: lanes with the workgroup-memory merge, and the tiles variant, at an odd offset', async () => {
    const a = build({ batch: 2, numQoHeads: 3, numKvHeads: 1, qSeqLen: 1, kvSeqLen: 8, headDim: 5, outOffset: 1 }, 5);
    const pa = await runAndCheck(stream, a, decodeWith(a, { variant: 'lanes', numSplits: 1, noSubgroups: true }));
    expect(pa.kernel === 'decode' && pa.plan.direct && !pa.plan.subgroupMerge).toBe(true);
    const b = build({ batch: 2, numQoHeads: 3, numKvHeads: 1, qSeqLen: 1, kvSeqLen: 8, headDim: 5, outOffset: 1 }, 6);
    const pb = await runAndCheck(stream, b, decodeWith(b, { variant: 'tiles', numSplits: 1 }));
    expect(pb.kernel === 'decode' && pb.plan.direct && pb.plan.variant === 'tiles').toBe(true);
  });

  it('INT8 decode out (combine store): 5 elements at offset 0 of an 8-byte buffer, and at offset 1', async () => {
    await runAndCheck(stream, build({ batch: 1, numQoHeads: 1, qSeqLen: 1, kvSeqLen: 8, headDim: 5, outDtype: 'INT8', outOffset: 0, outBytes: 8 }, 7));
    await runAndCheck(stream, build({ batch: 1, numQoHeads: 1, qSeqLen: 1, kvSeqLen: 300, headDim: 5, outDtype: 'INT8', outOffset: 1, outBytes: 8 }, 8));
  });

  it('prefill epilogue: FLOAT16 and BFLOAT16 at odd offset 1 (every 4-element store straddles words)', async () => {
    await runAndCheck(stream, build({ batch: 1, numQoHeads: 2, qSeqLen: 3, kvSeqLen: 5, headDim: 16, outOffset: 1 }, 9));
    await runAndCheck(stream, build({ batch: 2, numQoHeads: 2, numKvHeads: 1, qSeqLen: 5, kvSeqLen: 7, headDim: 16, dtype: 'BFLOAT16', outOffset: 3 }, 10));
  });

  it('prefill INT8 out (quantizing store) at offsets 1 and 2', async () => {
    await runAndCheck(stream, build({ batch: 1, numQoHeads: 1, qSeqLen: 2, kvSeqLen: 6, headDim: 32, outDtype: 'INT8', outOffset: 1 }, 11));
    await runAndCheck(stream, build({ batch: 1, numQoHeads: 2, qSeqLen: 3, kvSeqLen: 6, headDim: 32, outDtype: 'INT8', outOffset: 2 }, 12));
  });
});
