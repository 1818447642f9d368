// Prefill kernel vs the float64 reference: hand-picked basic cases (dtypes, layouts, GQA, lengths, lse).
import { describe, expect, it } from 'vitest';
import { capsOf } from '../src/kernels/caps.js';
import { testStream } from './helpers/gpu.js';
import { type PrefillCase, repro, runPrefillCase } from './helpers/prefillCase.js';

async function check(c: PrefillCase): Promise<void> {
  const stream = await testStream();
  const r = await runPrefillCase(stream, c);
  expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
}

// Small slot tiles (rows × heads per invocation) exercise partial quads; the default plan (up to 32 rows
// per invocation) has its own cases below.
const base: PrefillCase = {
  seed: 1, B: 2, N: 4, KVN: 2, Qs: 19, KVs: 37, D: 32, layout: 'BNSD', dtype: 'FLOAT32', tune: { rowsPerThread: 2, rowThreads: 4 },
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
    check({ ...base, B: 3, qLens: [5, 0, 19], kvLens: [37, 3, 0] }));
  it('no lse, G = 1, D = 64', () => check({ ...base, N: 2, KVN: 2, D: 64, lse: false }));
  it('G = 8, D = 16', () => check({ ...base, N: 8, KVN: 1, D: 16, Qs: 9, KVs: 70 }));
  it('D = 256', () => check({ ...base, B: 1, N: 2, KVN: 1, D: 256, Qs: 5, KVs: 33, tune: { rowsPerThread: 1, headsPerThread: 1 } }));
  it('default plan: G = 2, D = 32, 8 rows × 2 heads per invocation', () => check({ ...base, tune: undefined }));
  it('D = 512 with a 16 KiB workgroup-storage plan (4-column KV tiles)', () =>
    check({ ...base, B: 1, N: 2, KVN: 2, D: 512, Qs: 3, KVs: 11, tune: { blockKv: 4, rowsPerThread: 1 } }));
  it('default plan, 8 rows per invocation, several query tiles, causal (sparseMode 3)', () =>
    check({ ...base, tune: undefined, B: 1, N: 2, KVN: 2, D: 64, Qs: 150, KVs: 170, sparseMode: 3,
      mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0 } }));
  it('default plan, band (sparseMode 4) with GQA 4', () =>
    check({ ...base, tune: undefined, B: 1, N: 4, KVN: 1, D: 32, Qs: 100, KVs: 90, sparseMode: 4, preTokens: 20, nextTokens: 5,
      mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0 } }));
  it('left padding on query and KV with actual lengths', () =>
    check({ ...base, qLens: [7, 12], kvLens: [20, 30], qPad: 4, kvPad: 3 }));
  it('tensor-list KV with per-batch lengths', () => check({ ...base, B: 3, list: [9, 40, 1], kvLens: [9, 17, 0] }));
  it('paged KV, (blockNum, blockSize, H) cache, shuffled blocks with spares, BSND query', () =>
    check({ ...base, layout: 'BSND', KVs: 300, Qs: 7, kvLens: [300, 131], paged: { blockSize: 128, layout: 'BSH', spare: 3, invalid: false } }));
  it('paged KV, (blockNum, KV_N, blockSize, D) cache, invalid block ids masked, causal', () =>
    check({ ...base, dtype: 'FLOAT16', KVs: 45, kvLens: [45, 20], sparseMode: 3,
      mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0 },
      paged: { blockSize: 16, layout: 'BNSD', spare: 2, invalid: true } }));
  it('INT8 output, per-tensor quantScale2 FLOAT32, with an empty row set', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'INT8', qLens: [19, 4], outQuant: { perChannel: false, offset: false, dtype: 'FLOAT32' } }));
  it('INT8 output, per-channel BFLOAT16 scale + offset, BSH, masked holes', () =>
    check({ ...base, layout: 'BSH', dtype: 'BFLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'BFLOAT16' },
      mask: { shape: 'SS', dtype: 'UINT8', padRows: 0, padCols: 0, density: 0.3 }, sparseMode: 1 }));
  it('shared prefix (actualSharedPrefixLen < rows), a batch with Skv 0 attends the prefix alone, causal', () =>
    check({ ...base, dtype: 'FLOAT16', KVs: 20, kvLens: [20, 0], prefix: { rows: 13, len: 9 }, sparseMode: 3,
      mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0 } }));
  it('shared prefix with a mask over prefix + KV columns and pse, BSH', () =>
    check({ ...base, layout: 'BSH', KVs: 25, prefix: { rows: 7, len: null }, sparseMode: 1,
      mask: { shape: 'BSS', dtype: 'INT8', padRows: 0, padCols: 0, density: 0.3 }, pse: { batch1: true, padRows: 0, padCols: 0 } }));
  it('INT8 KV, combined per-channel antiquant with offset (FLOAT16 query)', () =>
    check({ ...base, dtype: 'FLOAT16', antiquant: { kind: 'combined-channel', int4: false, offset: true } }));
  it('INT8 KV, combined per-tensor antiquant, paged cache', () =>
    check({ ...base, dtype: 'FLOAT16', KVs: 40, antiquant: { kind: 'combined-tensor', int4: false, offset: false },
      paged: { blockSize: 16, layout: 'BSH', spare: 1, invalid: true } }));
  it('INT8 KV, separate per-token antiquant (BFLOAT16 query)', () =>
    check({ ...base, dtype: 'BFLOAT16', antiquant: { kind: 'separate-token', int4: false, offset: true }, kvLens: [37, 11] }));
  it('INT4 KV (INT32 words), separate per-channel antiquant, BSND', () =>
    check({ ...base, layout: 'BSND', dtype: 'BFLOAT16', antiquant: { kind: 'separate-channel', int4: true, offset: true } }));
  it('INT8 query/key/value, FLOAT16 output (two passes, P8 against the row max), causal, GQA', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'FLOAT16', int8: { deq1: 3e-4, qs1: 127, deq2: 6e-5 }, sparseMode: 3,
      mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0 }, qLens: [19, 6] }));
  it('INT8 query/key/value, INT8 output with quantScale2 + offset, pse (FLOAT16)', () =>
    check({ ...base, dtype: 'FLOAT16', outDtype: 'INT8', int8: { deq1: 2e-4, qs1: 100, deq2: 5e-5 }, lse: false,
      outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' }, pse: { batch1: true, padRows: 0, padCols: 0 } }));
  it('beyond 8 storage buffers: unsupported under the default limits, runs where the device grants more', async () => {
    const stream = await testStream();
    const c: PrefillCase = {
      ...base, dtype: 'FLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' },
      qLens: [19, 7], qPad: 2, mask: { shape: 'SS', dtype: 'BOOL', padRows: 0, padCols: 0, density: 0.2 },
      pse: { batch1: true, padRows: 0, padCols: 0 },
    };
    const caps = capsOf(stream.device);
    if (caps.maxStorageBuffersPerStage < 10) {
      await expect(runPrefillCase(stream, c)).rejects.toThrow(/10 storage buffers/);
      return;
    }
    const r = await runPrefillCase(stream, c, caps);
    expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  });
  it('attenMask (B,1,S,S) INT8 with holes + pseShift', () =>
    check({ ...base, mask: { shape: 'B1SS', dtype: 'INT8', padRows: 2, padCols: 3, density: 0.4 },
      pse: { batch1: false, padRows: 0, padCols: 2 } }));
});
