// Short queries over a long KV (speculative verification, chunked-prefill tails): the prefill
// kernel with KV splits (shaders/prefill.wgsl, "KV splits") and the combine pass, vs the float64
// reference. The planner splits a few query rows over a long KV by itself (checked on each plan);
// the hand-picked basics and a seeded random matrix run with splits forced, so every feature the
// kernel has meets the split bounds, the split-0 sink and the combine's row orders (BSND, BNSD)
// and INT8 output channels. Every case runs on the quick compile tier; the cases marked `blocked`
// on the blocked body too (its pipelines cost lavapipe seconds each).
import { describe, expect, it } from 'vitest';
import { planPrefill } from '../src/kernels/prefill.js';
import { DEFAULT_CAPS } from '../src/kernels/caps.js';
import { type CaseSpec, makeProblem } from './helpers/cases.js';

import { describePrefillBodies, PREFILL_BASICS, prefillBase, prefillCaseTag, randomPrefillCase } from './helpers/prefillCases.js';

const CAUSAL = { sparseMode: 3, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } } as const;
// 4 query rows of 4 heads over 2 KV heads and 400 keys: 4 workgroups without splits, so the
// planner splits the KV (4 splits of 128 columns).
const base: CaseSpec = {
  seed: 41, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 4, kvSeqLen: 400, headDim: 32, layout: 'BSND', dtype: 'FLOAT32',
};

const PLANNED: [string, Partial<CaseSpec>, 'blocked'?][] = [
  ['Q_S 4, BSND', {}, 'blocked'],
  ['Q_S 4, causal (speculative verification), BNSD f16', { ...CAUSAL, dtype: 'FLOAT16', layout: 'BNSD' }, 'blocked'],
  ['Q_S 5, tree mask (B,Q,S with holes), ragged KV', { qSeqLen: 5, mask: { shape: 'B,Q,S', dtype: 'BOOL', density: 0.4 }, kvLens: [400, 150] }],
  ['Q_S 16, G 4, BSH bf16, causal', { qSeqLen: 16, numKvHeads: 1, layout: 'BSH', dtype: 'BFLOAT16', ...CAUSAL }],
  ['Q_S 2, no lse, a batch whose KV ends inside split 0', { qSeqLen: 2, lse: false, kvLens: [400, 40] }],
  ['learnable sink (folded in split 0 only) + soft cap, causal', { sink: [0.5, -1, 4, -20], softcap: 2, qScale: 4, ...CAUSAL }, 'blocked'],
  ['sliding window 100, causal', { window: 100, ...CAUSAL }],
  ['band (sparseMode 4) pre 90 next 0', { sparseMode: 4, preTokens: 90, nextTokens: 0, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }],
  ['pseShift, query and KV left padding', { pse: { batch1: false }, qLens: [3, 4], kvLens: [300, 380], qPad: 0, kvPad: 10 }],
  ['INT8 output per-channel with offset, BNSD (the combine quantizes: channels of BNSD rows)', { layout: 'BNSD', dtype: 'FLOAT16', outDtype: 'INT8',
    outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' } }, 'blocked'],
  ['INT8 output per-channel BFLOAT16 scale, BSND', { dtype: 'BFLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: false, dtype: 'BFLOAT16' } }],
  ['paged KV (BSH cache, holes), INT8 antiquant per-token, f16', { dtype: 'FLOAT16', paged: { blockSize: 64, cache: 'BSH', spare: 2, invalid: true },
    antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: true } }],
  ['shared prefix + KV, causal', { dtype: 'FLOAT16', kvSeqLen: 300, prefix: { rows: 150, len: 120 }, ...CAUSAL }],
  ['tensor-list KV', { list: [400, 260], kvLens: [400, 200] }],
];

describePrefillBodies('short queries: the planner splits the KV', base, PLANNED, (plan) => {
  expect(plan.numSplits, 'a few query rows over 400+ keys run as KV splits').toBeGreaterThan(1);
});

describe('INT8 query/key/value stays unsplit', () => {
  it('P8 needs the row\'s final max over every column', () => {
    const problem = makeProblem({ batch: 1, numQoHeads: 2, headDim: 32, qSeqLen: 4, kvSeqLen: 1024, int8Attention: { deqScale1Dtype: 'FLOAT32', deqScale2Dtype: 'UINT64' }, queryDtype: 'INT8', kvDtype: 'INT8' });
    expect(planPrefill(problem, DEFAULT_CAPS).numSplits).toBe(1);
    expect(planPrefill(makeProblem({ batch: 1, numQoHeads: 2, headDim: 32, qSeqLen: 4, kvSeqLen: 1024 }), DEFAULT_CAPS).numSplits).toBeGreaterThan(1);
  });
});

const forced = (c: CaseSpec, numSplits: number): CaseSpec => ({ ...c, tune: { ...c.tune, numSplits } });

// The blocked body's split sites (columnRange, the split-0 sink, outBase, writeLse) are the frame's;
// these basics take them through its padded-slot, mask-bit, paged and KV-source paths (the
// output and quantization paths are the combine's, the same for both bodies).
const BLOCKED_BASICS = /left padding|invalid block ids|INT4 KV/;
describePrefillBodies('the basics with 3 forced splits', prefillBase,
  PREFILL_BASICS.map(([name, c]): [string, Partial<CaseSpec>, 'blocked'?] => [name, forced(c, 3), BLOCKED_BASICS.test(name) ? 'blocked' : undefined]),
  (plan, c) => {
    // Splits hold whole 32-column tiles: KV of ≤ 64 columns has 2; INT8 attention stays unsplit.
    if (!c.int8 && c.kvSeqLen + (c.prefix?.rows ?? 0) > 64) expect(plan.numSplits).toBeGreaterThan(1);
  });

const NUM_RANDOM = 10;
const random = Array.from({ length: NUM_RANDOM }, (_, i) => forced(randomPrefillCase(3000 + i), 2 + (i % 3)));
describePrefillBodies('randomized matrix with 2-4 forced splits', prefillBase,
  random.map((c, i): [string, Partial<CaseSpec>, 'blocked'?] => [prefillCaseTag(c), c, i % 5 === 0 ? 'blocked' : undefined]));
