// Decode kernel (Q_S == 1) vs the float64 reference: hand-picked feature cases.
import { type CaseSpec, describeDecodeCases } from './helpers/cases.js';

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
