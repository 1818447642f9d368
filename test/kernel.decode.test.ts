// Decode kernel (Q_S == 1) vs the float64 reference: hand-picked feature cases.
import { describe, expect, it } from 'vitest';
import { testStream } from './helpers/gpu.js';
import { checkDecode, type DecodeSpec } from './decode-cases.js';

const base: DecodeSpec = { batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 32, kvSeqLen: 100, dtype: 'FLOAT32', layout: 'BNSD' };

const CASES: [string, Partial<DecodeSpec>][] = [
  ['f32 BNSD GQA auto splits', {}],
  ['f32 one split', { numSplits: 1 }],
  ['f32 many splits', { numSplits: 7 }],
  ['f16 BSH G=1', { dtype: 'FLOAT16', layout: 'BSH', numKvHeads: 4 }],
  ['bf16 BSND G=4', { dtype: 'BFLOAT16', layout: 'BSND', numQoHeads: 8, numKvHeads: 2 }],
  ['f16 BNSD_BSND', { dtype: 'FLOAT16', layout: 'BNSD_BSND', headDim: 16 }],
];

describe('decode kernel vs reference', () => {
  for (const [variant, noSubgroups] of [['lanes', false], ['lanes', true], ['tiles', false]] as const) {
    for (const [name, over] of CASES) {
      it(`${variant}${noSubgroups ? ' (workgroup-memory merge)' : ''}: ${name}`, async () => {
        const stream = await testStream();
        expect(await checkDecode(stream, { ...base, variant, noSubgroups, ...over }, 1)).toBe('');
      });
    }
  }
});
