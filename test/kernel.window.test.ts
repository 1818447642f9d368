// The sliding window (extension, docs/semantics.md "Extensions beyond the operator") in the decode
// and prefill kernels vs the float64 reference: alone and with GQA, paged KV, INT8 antiquant and
// INT8 query/key/value, learnable sinks, the soft cap, masks and every sparse mode, softmaxLse,
// split-KV, ragged and left-padded lengths, a shared prefix, windows wider than the KV and KV
// lengths far beyond the window. Decode runs on every path its planner can choose. Prefill runs
// every case on the quick compile tier; the blocked body, whose pipelines cost lavapipe seconds
// each, runs the cases marked `blocked`: the window alone (its band that keeps every column), with
// a mask (tileKeep), with a sink (rows that keep nothing) and with the planner's tiles over a long
// KV (whole tiles skipped). The window itself lives in the frame both bodies share (columnRange).
// The decode plan of a long KV with a window is the plan of a KV of the window's length.
import { describe, expect, it } from 'vitest';
import { capsOf, DEFAULT_CAPS } from '../src/kernels/caps.js';
import { planDecode } from '../src/kernels/decode.js';
import { type CaseSpec, checkCase, describeDecodeCases, makeProblem } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { describePrefillBodies } from './helpers/prefillCases.js';

const SINKS = [0.75, -1.5, 6, -30];
const CAUSAL = { sparseMode: 3, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } } as const;

const decodeBase: CaseSpec = { seed: 31, qSeqLen: 1, batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 70, dtype: 'FLOAT32', layout: 'BSND' };

const DECODE_CASES: [string, Partial<CaseSpec>][] = [
  ['window 16, one split (direct)', { window: 16, numSplits: 1 }],
  ['window 1: the last key alone', { window: 1, kvLens: [70, 1, 2] }],
  ['window 20, ragged kvLens below and above it (incl. 0), 3 splits', { window: 20, kvLens: [0, 11, 70], numSplits: 3 }],
  ['window wider than the KV (the whole KV)', { window: 500, numSplits: 2 }],
  ['kvLen ≫ window: KV_S 600, window 24, planned splits', { window: 24, kvSeqLen: 600, kvLens: [600, 333, 23] }],
  ['window + sink + softcap, mask, lse, 2 splits', {
    window: 30, sink: SINKS, softcap: 2, qScale: 4, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.3 }, kvLens: [70, 29, 45], numSplits: 2,
  }],
  ['window, bf16 paged BNSD cache, ragged', { window: 24, dtype: 'BFLOAT16', layout: 'BNSD', paged: { blockSize: 16, cache: 'BNSD', spare: 2 }, kvLens: [40, 70, 5], numSplits: 2 }],
  ['window, f16 paged BSH, INT8 antiquant per-token paged (mode 4), sink', {
    window: 40, sink: SINKS, dtype: 'FLOAT16', kvSeqLen: 96, kvLens: [96, 41, 7],
    paged: { blockSize: 32, cache: 'BSH', spare: 1 }, antiquant: { kv: 'INT8', kMode: 4, vMode: 4, offset: true }, numSplits: 2,
  }],
  ['window over a shared prefix (prefix columns count), f16', { window: 12, dtype: 'FLOAT16', kvSeqLen: 20, kvLens: [20, 0, 5], prefix: { rows: 13, len: 9 } }],
  ['window, KV left padding, G 4 BSH', { window: 10, numQoHeads: 4, numKvHeads: 1, layout: 'BSH', kvLens: [10, 60, 33], kvPad: 5 }],
  ['window, tensor-list KV, f16', { window: 9, dtype: 'FLOAT16', list: [17, 64, 5], layout: 'BNSD' }],
];

await describeDecodeCases('decode sliding window vs reference', decodeBase, DECODE_CASES);

describe('decode sliding window: the plan covers the window only', () => {
  it('KV_S 4096 with window 256 plans the splits of KV_S 256, and matches the reference', async () => {
    const stream = await testStream();
    const caps = capsOf(stream.device);
    const shape = { batch: 1, numQoHeads: 8, numKvHeads: 2, headDim: 64, qSeqLen: 1 } as const;
    for (const variant of ['lanes', 'tiles'] as const) {
      const windowed = planDecode(makeProblem({ ...shape, kvSeqLen: 4096, slidingWindow: 256 }), caps, { variant });
      const short = planDecode(makeProblem({ ...shape, kvSeqLen: 256 }), caps, { variant });
      const full = planDecode(makeProblem({ ...shape, kvSeqLen: 4096 }), caps, { variant });
      expect({ numSplits: windowed.numSplits, splitLen: windowed.splitLen }, variant)
        .toEqual({ numSplits: short.numSplits, splitLen: short.splitLen });
      expect(windowed.numSplits * windowed.splitLen, variant).toBeLessThan(full.numSplits * full.splitLen);
    }
    const spec: CaseSpec = { seed: 3, ...shape, kvSeqLen: 4096, kvLens: [4000], dtype: 'FLOAT16', layout: 'BSND', window: 256 };
    expect(await checkCase(stream, spec)).toBe('');
  });

  it('planned splits never leave the window: a window of 100 at KV_S 4096 has splits of ≤ 100 columns in all', () => {
    const p = makeProblem({ batch: 2, numQoHeads: 4, numKvHeads: 4, headDim: 16, qSeqLen: 1, kvSeqLen: 4096, slidingWindow: 100 });
    const plan = planDecode(p, DEFAULT_CAPS, { variant: 'tiles' });
    expect(plan.numSplits * plan.splitLen - plan.splitLen).toBeLessThan(100);
  });
});

const prefillBase: CaseSpec = {
  seed: 41, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 13, kvSeqLen: 45, headDim: 16, layout: 'BSND', dtype: 'FLOAT32',
  tune: { rowsPerThread: 2, rowThreads: 4, blockKv: 8 },
};

const PREFILL_CASES: [string, Partial<CaseSpec>, 'blocked'?][] = [
  ['window 5 alone (no mask: causal to the end of the KV, windowed)', { window: 5 }, 'blocked'],
  ['window 8 with causal sparseMode 3, ragged lengths incl. kvLen < qLen (rows before the KV keep nothing)', { window: 8, ...CAUSAL, qLens: [13, 9], kvLens: [45, 4] }],
  ['window 6 with top-left causal sparseMode 2, ragged', { window: 6, sparseMode: 2, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 }, qLens: [10, 13], kvLens: [30, 45] }],
  ['window 10 with a band (sparseMode 4, pre 5 next 2), BSH G 4 bf16', {
    window: 10, numKvHeads: 1, layout: 'BSH', dtype: 'BFLOAT16', sparseMode: 4, preTokens: 5, nextTokens: 2, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 },
  }],
  ['window 4 with a mask (sparseMode 1), f16 BNSD, lse', { window: 4, dtype: 'FLOAT16', layout: 'BNSD', mask: { shape: 'Q,S', dtype: 'BOOL', density: 0.3 }, sparseMode: 1 }, 'blocked'],
  ['window 7 + sink + softcap, rows that keep nothing are the sink\'s', { window: 7, sink: SINKS, softcap: 2, qScale: 4, qLens: [13, 9], kvLens: [45, 3] }, 'blocked'],
  ['window wider than the KV', { window: 1000, ...CAUSAL }],
  ['window, query and KV left padding', { window: 6, qLens: [9, 4], kvLens: [30, 40], qPad: 2, kvPad: 3 }],
  ['window, paged BSH cache, INT8 antiquant per-token, f16', {
    window: 20, dtype: 'FLOAT16', kvSeqLen: 96, kvLens: [96, 40], paged: { blockSize: 32, cache: 'BSH', spare: 1, invalid: false },
    antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: true },
  }],
  ['window over a shared prefix, causal', { window: 12, dtype: 'FLOAT16', kvSeqLen: 20, kvLens: [20, 0], prefix: { rows: 13, len: 9 }, ...CAUSAL }],
  ['window, INT8 query/key/value, f16 output', { window: 9, dtype: 'FLOAT16', outDtype: 'FLOAT16', int8: { deq1: 3e-4, qs1: 127, deq2: 6e-5 }, ...CAUSAL }],
  ['kvLen ≫ window: Q_S 40, KV_S 300, window 16, default plan', { window: 16, qSeqLen: 40, kvSeqLen: 300, kvLens: [300, 170], qLens: [40, 33], tune: undefined }, 'blocked'],
];

describePrefillBodies('prefill sliding window vs reference', prefillBase, PREFILL_CASES);
