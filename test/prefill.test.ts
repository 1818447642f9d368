// Prefill kernel vs the float64 reference: hand-picked basic cases (dtypes, layouts, GQA, lengths, lse).
import { describe, expect, it } from 'vitest';
import { testStream } from './helpers/gpu.js';
import { type PrefillCase, repro, runPrefillCase } from './helpers/prefillCase.js';

async function check(c: PrefillCase): Promise<void> {
  const stream = await testStream();
  const r = await runPrefillCase(stream, c);
  expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
}

const base: PrefillCase = { seed: 1, B: 2, N: 4, KVN: 2, Qs: 19, KVs: 37, D: 32, layout: 'BNSD', dtype: 'FLOAT32' };

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
  it('D = 256', () => check({ ...base, B: 1, N: 2, KVN: 1, D: 256, Qs: 5, KVs: 33 }));
});
