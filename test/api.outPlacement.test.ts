// attentionOut that shares u32 words with other data (issue: writes past attentionOut): a
// FLOAT16/BFLOAT16 output with an odd element count or offset, an INT8 output not covering whole
// words. Every kernel path that stores it (prefill epilogue, decode direct store in both variants
// and both lane merges, the combine pass incl. its INT8 quantizing store) must leave the other
// bytes of the buffer as they were, and write the reference's values.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DataType } from '../src/acl/dtype.js';
import { aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import { aclCreateTensorList, createTensor } from '../src/acl/tensor.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { capsOf } from '../src/kernels/caps.js';
import { type DecodePlanOptions, layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { testStream } from './helpers/gpu.js';
import { customExecutor, placedTensor, randomValues, runAndCheck } from './helpers/placed.js';

let stream: Stream;
beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

interface Case {
  B: number; N: number; KVN?: number; QS: number; KVS: number; D: number;
  dtype?: DataType; outDtype?: DataType;
  /** attentionOut's element offset and its buffer's size in bytes (default: end + one word). */
  outOffset: number; outBytes?: number;
}

/** BNSD inputs with random data; attentionOut placed in a sentinel-filled buffer. */
function build(c: Case, seed = 1): FiaInputs {
  const dt = c.dtype ?? 'FLOAT16';
  const od = c.outDtype ?? dt;
  const KVN = c.KVN ?? c.N;
  const qShape = [c.B, c.N, c.QS, c.D];
  const kvShape = [c.B, KVN, c.KVS, c.D];
  const n = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  const int8 = od === 'INT8';
  return {
    query: createTensor(stream, randomValues(n(qShape), seed), qShape, dt),
    key: aclCreateTensorList([createTensor(stream, randomValues(n(kvShape), seed + 1), kvShape, dt)]),
    value: aclCreateTensorList([createTensor(stream, randomValues(n(kvShape), seed + 2), kvShape, dt)]),
    quantScale2: int8 ? createTensor(stream, [100], [1], 'FLOAT32') : null,
    quantOffset2: int8 ? createTensor(stream, [3], [1], 'FLOAT32') : null,
    numHeads: c.N, scaleValue: 1 / Math.sqrt(c.D), preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD',
    numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false,
    keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: placedTensor(stream, qShape, od, c.outOffset, null, c.outBytes),
    softmaxLse: null,
  };
}

/** A decode executor with forced plan options (variant, splits, lane merge). */
function decodeWith(inputs: FiaInputs, opts: DecodePlanOptions) {
  return customExecutor(stream, inputs, (problem) => {
    const plan = planDecode(problem, capsOf(stream.device), opts, inputs);
    const ws = new WorkspaceAllocator();
    const regions = layoutDecodeWorkspace(problem, plan, ws, inputs);
    return { kernel: 'decode', plan, regions, workspaceBytes: ws.bytes };
  });
}

describe('attentionOut sharing words with other data: merged, never overwritten', () => {
  it('FLOAT16 out of 5 elements at offset 0 of a 12-byte buffer (bytes 10-11 other data), decode with combine', async () => {
    const plan = await runAndCheck(stream, build({ B: 1, N: 1, QS: 1, KVS: 300, D: 5, outOffset: 0, outBytes: 12 }));
    expect(plan.kernel === 'decode' && !plan.plan.direct).toBe(true);
  });

  it('FLOAT16 out of 5 elements at offset 0 of a 12-byte buffer, decode with one split (direct store)', async () => {
    const plan = await runAndCheck(stream, build({ B: 1, N: 1, QS: 1, KVS: 8, D: 5, outOffset: 0, outBytes: 12 }));
    expect(plan.kernel === 'decode' && plan.plan.direct).toBe(true);
  });

  for (const dtype of ['FLOAT16', 'BFLOAT16'] as const) {
    it(`${dtype} decode at odd offset 1, G 3, odd G·D (blocks of two workgroups share a word): direct and combine`, async () => {
      await runAndCheck(stream, build({ B: 2, N: 3, KVN: 1, QS: 1, KVS: 8, D: 5, dtype, outOffset: 1 }, 3));
      await runAndCheck(stream, build({ B: 2, N: 3, KVN: 1, QS: 1, KVS: 300, D: 5, dtype, outOffset: 1 }, 4));
    });
  }

  it('decode direct store: lanes with the workgroup-memory merge, and the tiles variant, at an odd offset', async () => {
    const a = build({ B: 2, N: 3, KVN: 1, QS: 1, KVS: 8, D: 5, outOffset: 1 }, 5);
    const pa = await runAndCheck(stream, a, decodeWith(a, { variant: 'lanes', numSplits: 1, noSubgroups: true }));
    expect(pa.kernel === 'decode' && pa.plan.direct && !pa.plan.subgroupMerge).toBe(true);
    const b = build({ B: 2, N: 3, KVN: 1, QS: 1, KVS: 8, D: 5, outOffset: 1 }, 6);
    const pb = await runAndCheck(stream, b, decodeWith(b, { variant: 'tiles', numSplits: 1 }));
    expect(pb.kernel === 'decode' && pb.plan.direct && pb.plan.variant === 'tiles').toBe(true);
  });

  it('INT8 decode out (combine store): 5 elements at offset 0 of an 8-byte buffer, and at offset 1', async () => {
    await runAndCheck(stream, build({ B: 1, N: 1, QS: 1, KVS: 8, D: 5, outDtype: 'INT8', outOffset: 0, outBytes: 8 }, 7));
    await runAndCheck(stream, build({ B: 1, N: 1, QS: 1, KVS: 300, D: 5, outDtype: 'INT8', outOffset: 1, outBytes: 8 }, 8));
  });

  it('prefill epilogue: FLOAT16 and BFLOAT16 at odd offset 1 (every 4-element store straddles words)', async () => {
    await runAndCheck(stream, build({ B: 1, N: 2, QS: 3, KVS: 5, D: 16, outOffset: 1 }, 9));
    await runAndCheck(stream, build({ B: 2, N: 2, KVN: 1, QS: 5, KVS: 7, D: 16, dtype: 'BFLOAT16', outOffset: 3 }, 10));
  });

  it('prefill INT8 out (quantizing store) at offsets 1 and 2', async () => {
    await runAndCheck(stream, build({ B: 1, N: 1, QS: 2, KVS: 6, D: 32, outDtype: 'INT8', outOffset: 1 }, 11));
    await runAndCheck(stream, build({ B: 1, N: 2, QS: 3, KVS: 6, D: 32, outDtype: 'INT8', outOffset: 2 }, 12));
  });
});
