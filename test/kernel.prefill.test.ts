// Prefill kernel vs the float64 reference: hand-picked basic cases (dtypes, layouts, GQA, lengths, lse).
// The kernel runs directly, without the operator's validation: it computes more than the operator
// accepts (e.g. causal with a mask smaller than (2048, 2048), a FLOAT16 output of a FLOAT32 query).
import { describe, expect, it } from 'vitest';
import { capsOf } from '../src/kernels/caps.js';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

async function check(c: CaseSpec): Promise<void> {
  const stream = await testStream();
  const r = await runCase(stream, c, { validate: false });
  expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
}

// Small slot tiles (rows × heads per invocation) exercise partial quads; the default plan (up to 32 rows
// per invocation) has its own cases below.
const base: CaseSpec = {
  seed: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 19, kvSeqLen: 37, headDim: 32, layout: 'BNSD', dtype: 'FLOAT32', tune: { rowsPerThread: 2, rowThreads: 4 },
};

describe('prefill kernel: dense basics', () => {
  for (const dtype of ['FLOAT32', 'FLOAT16', 'BFLOAT16'] as const) {
    for (const layout of ['BSH', 'BSND', 'BNSD', 'BNSD_BSND'] as const) {
      it(`${dtype} ${layout} GQA`, () => check({ ...base, dtype, layout, seed: layout.length + dtype.length }));
    }
  }
  it('f32 query, f16 output', () => check({ ...base, outDtype: 'FLOAT16' }));
  it('f16 query, f32 output', () => check({ ...base, dtype: 'FLOAT16', outDtype: 'FLOAT32' }));
  it('lengths: actualSeqLengths / Kv with an empty batch row set', () =>
    check({ ...base, batch: 3, qLens: [5, 0, 19], kvLens: [37, 3, 0] }));
  it('no lse, G = 1, D = 64', () => check({ ...base, numQoHeads: 2, numKvHeads: 2, headDim: 64, lse: false }));
  it('G = 8, D = 16', () => check({ ...base, numQoHeads: 8, numKvHeads: 1, headDim: 16, qSeqLen: 9, kvSeqLen: 70 }));
  it('D = 256', () => check({ ...base, batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 256, qSeqLen: 5, kvSeqLen: 33, tune: { rowsPerThread: 1, headsPerThread: 1 } }));
  it('default plan: G = 2, D = 32, 8 rows × 2 heads per invocation', () => check({ ...base, tune: undefined }));
  it('D = 512 with a 16 KiB workgroup-storage plan (4-column KV tiles)', () =>
    check({ ...base, batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 512, qSeqLen: 3, kvSeqLen: 11, tune: { blockKv: 4, rowsPerThread: 1 } }));
  it('default plan, 8 rows per invocation, several query tiles, causal (sparseMode 3)', () =>
    check({ ...base, tune: undefined, batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 64, qSeqLen: 150, kvSeqLen: 170, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }));
  it('default plan, band (sparseMode 4) with GQA 4', () =>
    check({ ...base, tune: undefined, batch: 1, numQoHeads: 4, numKvHeads: 1, headDim: 32, qSeqLen: 100, kvSeqLen: 90, sparseMode: 4, preTokens: 20, nextTokens: 5,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }));
  it('left padding on query and KV with actual lengths', () =>
    check({ ...base, qLens: [7, 12], kvLens: [20, 30], qPad: 4, kvPad: 3 }));
  it('tensor-list KV with per-batch lengths', () => check({ ...base, batch: 3, list: [9, 40, 1], kvLens: [9, 17, 0] }));
  it('paged KV, (blockNum, blockSize, H) cache, shuffled blocks with spares, BSND query', () =>
    check({ ...base, layout: 'BSND', kvSeqLen: 300, qSeqLen: 7, kvLens: [300, 131], paged: { blockSize: 128, cache: 'BSH', spare: 3, invalid: false } }));
  it('paged KV, (blockNum, KV_N, blockSize, D) cache, invalid block ids masked, causal', () =>
    check({ ...base, dtype: 'FLOAT16', kvSeqLen: 45, kvLens: [45, 20], sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 },
      paged: { blockSize: 16, cache: 'BNSD', spare: 2, invalid: true } }));
  it('INT8 output, per-tensor quantScale2 FLOAT32, with an empty row set', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'INT8', qLens: [19, 4], outQuant: { perChannel: false, offset: false, dtype: 'FLOAT32' } }));
  it('INT8 output, per-channel BFLOAT16 scale + offset, BSH, masked holes', () =>
    check({ ...base, layout: 'BSH', dtype: 'BFLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'BFLOAT16' },
      mask: { shape: 'Q,S', dtype: 'UINT8', density: 0.3 }, sparseMode: 1 }));
  it('shared prefix (actualSharedPrefixLen < rows), a batch with Skv 0 attends the prefix alone, causal', () =>
    check({ ...base, dtype: 'FLOAT16', kvSeqLen: 20, kvLens: [20, 0], prefix: { rows: 13, len: 9 }, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }));
  it('shared prefix with a mask over prefix + KV columns and pse, BSH', () =>
    check({ ...base, layout: 'BSH', kvSeqLen: 25, prefix: { rows: 7, len: null }, sparseMode: 1,
      mask: { shape: 'B,Q,S', dtype: 'INT8', density: 0.3 }, pse: { batch1: true } }));
  it('INT8 KV, combined per-channel antiquant with offset (FLOAT16 query)', () =>
    check({ ...base, dtype: 'FLOAT16', antiquant: { kv: 'INT8', combined: true, kMode: 0, vMode: 0, offset: true } }));
  it('INT8 KV, combined per-tensor antiquant, paged cache', () =>
    check({ ...base, dtype: 'FLOAT16', kvSeqLen: 40, antiquant: { kv: 'INT8', combined: true, perTensor: true, kMode: 0, vMode: 0, offset: false },
      paged: { blockSize: 16, cache: 'BSH', spare: 1, invalid: true } }));
  it('INT8 KV, separate per-token antiquant (BFLOAT16 query)', () =>
    check({ ...base, dtype: 'BFLOAT16', antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: true }, kvLens: [37, 11] }));
  it('INT4 KV (INT32 words), separate per-channel antiquant, BSND', () =>
    check({ ...base, layout: 'BSND', dtype: 'BFLOAT16', antiquant: { kv: 'INT4', kMode: 0, vMode: 0, offset: true } }));
  it('INT8 query/key/value, FLOAT16 output (two passes, P8 against the row max), causal, GQA', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'FLOAT16', int8: { deq1: 3e-4, qs1: 127, deq2: 6e-5 }, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 }, qLens: [19, 6] }));
  it('INT8 query/key/value, INT8 output with quantScale2 + offset, pse (FLOAT16)', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'INT8', int8: { deq1: 2e-4, qs1: 100, deq2: 5e-5 }, lse: false,
      outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' }, pse: { batch1: true } }));
  it('beyond 8 storage buffers: unsupported under the default limits, runs where the device grants more', async () => {
    const stream = await testStream();
    const c: CaseSpec = {
      ...base, dtype: 'FLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' },
      qLens: [19, 7], qPad: 2, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0.2 },
      pse: { batch1: true },
    };
    const caps = capsOf(stream.device);
    if (caps.maxStorageBuffersPerStage < 10) {
      await expect(runCase(stream, c, { validate: false })).rejects.toThrow(/10 storage buffers/);
      return;
    }
    const r = await runCase(stream, c, { caps, validate: false });
    expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  });
  it('attenMask (B,1,S,S) INT8 with holes + pseShift', () =>
    check({ ...base, mask: { shape: 'B,1,Q,S', dtype: 'INT8', extraRows: 2, extraCols: 3, density: 0.4 },
      pse: { batch1: false, extraCols: 2 } }));
});
