// Prefill kernel vs reference with the extensions beyond the operator (docs/semantics.md,
// "Extensions beyond the operator"): learnable sinks and the soft cap, alone and with GQA, causal
// and band masks, ragged and left-padded lengths (rows that keep no column are the sink's alone;
// a KV window that leaves the tensor too), paged KV, INT8 antiquant, INT8 query/key/value (P8
// against the max that includes the sink), pseShift and the low-precision dtypes. Every case runs
// on the quick compile tier; the blocked body (the steady state), whose pipelines cost lavapipe
// seconds each, runs the cases marked `blocked`, which reach each of its extension sites (the
// sink folded into quads of slots, capScore in keptScores) with the features around them.
import type { CaseSpec } from './helpers/cases.js';
import { describePrefillBodies } from './helpers/prefillCases.js';

// N = 4 query heads over KV_N = 2: sinks from dominant (6) to negligible (-30).
const SINKS = [0.75, -1.5, 6, -30];
const CAUSAL = { sparseMode: 3, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } } as const;
const base: CaseSpec = {
  seed: 21, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 13, kvSeqLen: 45, headDim: 16, layout: 'BSND', dtype: 'FLOAT32',
  tune: { rowsPerThread: 2, rowThreads: 4, blockKv: 8 },
};

const CASES: [string, Partial<CaseSpec>, 'blocked'?][] = [
  ['sink', { sink: SINKS }],
  ['sink, causal, ragged lengths incl. an empty KV (sink-only rows)', { sink: SINKS, ...CAUSAL, qLens: [13, 6], kvLens: [0, 45] }, 'blocked'],
  ['sink, mask empties rows, BNSD f16', { sink: SINKS, dtype: 'FLOAT16', layout: 'BNSD', mask: { shape: 'Q,S', dtype: 'BOOL', density: 0.97 }, sparseMode: 1 }],
  ['sink, query and KV left padding, the second batch\'s KV window leaves the tensor', { sink: SINKS, qLens: [9, 4], kvLens: [30, 40], qPad: 2, kvPad: 12 }, 'blocked'],
  ['sink, band (sparseMode 4), G 4 BSH bf16', { sink: SINKS, numKvHeads: 1, layout: 'BSH', dtype: 'BFLOAT16', sparseMode: 4, preTokens: 5, nextTokens: 2,
    mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }],
  ['non-finite sinks (NaN, +Inf: NaN rows; −Inf: no sink), empty rows', { sink: [NaN, Infinity, -Infinity, 0.5], qLens: [13, 3], kvLens: [0, 45] }, 'blocked'],
  ['softcap 2, peaky scores', { softcap: 2, qScale: 6 }],
  ['softcap 0.5 after pse, causal', { softcap: 0.5, qScale: 4, pse: { batch1: false }, ...CAUSAL }, 'blocked'],
  ['sink + softcap, paged BSH cache, INT8 antiquant per-token, f16', {
    sink: SINKS, softcap: 1.5, qScale: 5, dtype: 'FLOAT16', kvSeqLen: 96, kvLens: [96, 40],
    paged: { blockSize: 32, cache: 'BSH', spare: 1, invalid: false }, antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: true },
  }],
  ['sink + softcap, shared prefix, causal', { sink: SINKS, softcap: 3, qScale: 4, dtype: 'FLOAT16', kvSeqLen: 20, kvLens: [20, 0],
    prefix: { rows: 13, len: 9 }, ...CAUSAL }],
  ['sink + softcap, INT8 query/key/value (two sweeps), f16 output', { sink: [1, -2, 0.5, 3], softcap: 2, dtype: 'FLOAT16', outDtype: 'FLOAT16',
    int8: { deq1: 3e-4, qs1: 127, deq2: 6e-5 }, ...CAUSAL, qLens: [13, 6] }, 'blocked'],
  ['sink + softcap, default plan, G 3, D 32', { sink: [2, -1, 0.5, 4, -3, 1], softcap: 3, qScale: 5, numQoHeads: 6, numKvHeads: 2, headDim: 32,
    qSeqLen: 40, kvSeqLen: 50, tune: undefined }, 'blocked'],
];

describePrefillBodies('prefill extensions vs reference', base, CASES);
