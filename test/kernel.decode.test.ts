// Decode kernel (Q_S == 1) vs the float64 reference: hand-picked feature cases.
import { describe, expect, it } from 'vitest';
import { type CaseSpec, describeDecodeCases, runCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

const base: CaseSpec = { seed: 1, qSeqLen: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 32, kvSeqLen: 100, dtype: 'FLOAT32', layout: 'BNSD' };

const CASES: [string, Partial<CaseSpec>][] = [
  ['f32 BNSD GQA auto splits', {}],
  ['f32 one split', { numSplits: 1 }],
  ['f32 many splits', { numSplits: 7 }],
  ['f16 BSH G=1', { dtype: 'FLOAT16', layout: 'BSH', numKvHeads: 4 }],
  ['bf16 BSND G=4', { dtype: 'BFLOAT16', layout: 'BSND', numQoHeads: 8, numKvHeads: 2 }],
  ['f16 BNSD_BSND', { dtype: 'FLOAT16', layout: 'BNSD_BSND', headDim: 16 }],
];

await describeDecodeCases('decode kernel vs reference', base, CASES);

// The tiles variant's phase A with each score-column count: 1 (the plan on hardware adapters), 2,
// and the CPU adapters' 4 (the cases above), asserted to be the plan's.
describe('decode tiles, score columns per invocation', () => {
  for (const scoreColumns of [1, 2]) {
    for (const [name, over] of [CASES[0]!, CASES[3]!, CASES[4]!, ['mask, 3 splits, odd D', {
      headDim: 9, numSplits: 3, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.4 },
    }] as [string, Partial<CaseSpec>], ['pse, f16', { dtype: 'FLOAT16', headDim: 16, pse: { batch1: false } }] as [string, Partial<CaseSpec>]]) {
      it(`${scoreColumns}: ${name}`, async () => {
        const spec: CaseSpec = { ...base, variant: 'tiles', scoreColumns, ...over };
        const r = await runCase(await testStream(), spec);
        expect((r.plan as { scoreColumns?: number }).scoreColumns).toBe(scoreColumns);
        expect(r.out.ok ? '' : r.out.message).toBe('');
        expect(!r.lse || r.lse.ok ? '' : r.lse.message).toBe('');
      });
    }
  }
});
