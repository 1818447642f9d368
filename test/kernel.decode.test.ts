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

/** Runs `spec` through the kernel, checks that the plan has `planned`, and the outputs against the reference. */
async function expectPlannedCase(spec: CaseSpec, planned: Record<string, unknown>): Promise<void> {
  const r = await runCase(await testStream(), spec);
  expect(r.plan).toMatchObject(planned);
  expect(r.out.ok ? '' : r.out.message).toBe('');
  expect(!r.lse || r.lse.ok ? '' : r.lse.message).toBe('');
}

// The tiles variant's phase A with each score-column count: 1 (the plan on hardware adapters), 2,
// and the CPU adapters' 4 (the cases above), asserted to be the plan's.
describe('decode tiles, score columns per invocation', () => {
  for (const scoreColumns of [1, 2]) {
    for (const [name, over] of [CASES[0]!, CASES[3]!, CASES[4]!, ['mask, 3 splits, odd D', {
      headDim: 9, numSplits: 3, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.4 },
    }] as [string, Partial<CaseSpec>], ['pse, f16', { dtype: 'FLOAT16', headDim: 16, pse: { batch1: false } }] as [string, Partial<CaseSpec>]]) {
      it(`${scoreColumns}: ${name}`, () => expectPlannedCase({ ...base, variant: 'tiles', scoreColumns, ...over }, { scoreColumns }));
    }
  }
});

// The quick variant (the compile tier of software adapters) with each number of heads per
// invocation: 1 (its plan on lavapipe), 2 and 4 (SwiftShader's where the head block has them),
// asserted to be the plan's (the largest divisor of the head block up to the one asked for).
describe('decode quick, heads per invocation', () => {
  // Each case with the heads per invocation its plan takes when 1, 2 and 4 are asked for.
  const cases: [string, Partial<CaseSpec>, [number, number, number]][] = [
    ['G 4, bf16 BSND', { dtype: 'BFLOAT16', layout: 'BSND', numQoHeads: 8, numKvHeads: 2 }, [1, 2, 4]],
    ['G 4, mask, 3 splits, odd D', { numQoHeads: 8, headDim: 9, numSplits: 3, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.4 } }, [1, 2, 4]],
    ['G 2, pse, f16', { dtype: 'FLOAT16', headDim: 16, pse: { batch1: false } }, [1, 2, 2]],
    ['G 6, lse', { numQoHeads: 12, lse: true }, [1, 2, 3]],
  ];
  for (const [k, laneHeads] of [1, 2, 4].entries()) {
    for (const [name, over, planned] of cases) {
      it(`${laneHeads}: ${name}`, () => expectPlannedCase({ ...base, variant: 'quick', laneHeads, ...over }, { variant: 'quick', laneHeads: planned[k] }));
    }
  }
});

// A quick plan whose grid has 8 workgroups without splits (B · KV_N) runs one split and writes
// attentionOut and softmaxLse directly (no combine); the plan it rides on keeps its splits.
describe('decode quick, unsplit on a wide grid', () => {
  const cases: [string, Partial<CaseSpec>][] = [
    ['B4 KV_N 2, f32 BNSD, lse', { batch: 4, kvSeqLen: 300, lse: true }],
    ['B4 KV_N 2, f16 BSH odd D, mask', { batch: 4, kvSeqLen: 300, dtype: 'FLOAT16', layout: 'BSH', headDim: 9, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.3 } }],
  ];
  for (const [name, over] of cases) {
    it(name, () => expectPlannedCase({ ...base, variant: 'quick', ...over }, { variant: 'quick', numSplits: 1, direct: true }));
  }
});
