// Decode kernel vs reference with the extensions beyond the operator (docs/semantics.md,
// "Extensions beyond the operator"): learnable sinks and the soft cap, alone and with GQA, splits
// (the combine must count the sink once), paged KV, INT8 antiquant, masks that empty rows, ragged
// and left-padded lengths, tensor-list KV and the low-precision dtypes.
import { type CaseSpec, describeDecodeCases } from './helpers/cases.js';

// N = 4 query heads over KV_N = 2: sinks from dominant (6) to negligible (-30).
const SINKS = [0.75, -1.5, 6, -30];
const base: CaseSpec = { seed: 11, qSeqLen: 1, batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 70, dtype: 'FLOAT32', layout: 'BSND' };

const CASES: [string, Partial<CaseSpec>][] = [
  ['sink, one split (direct)', { sink: SINKS, numSplits: 1 }],
  ['sink, 4 splits (combine counts it once)', { sink: SINKS, numSplits: 4 }],
  ['sink, ragged kvLens incl. 0 (sink-only row), 3 splits', { sink: SINKS, kvLens: [0, 33, 70], numSplits: 3 }],
  ['sink, mask empties rows', { sink: SINKS, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.985 }, kvLens: [3, 70, 2], numSplits: 2 }],
  ['sink, kv left padding leaves the tensor', { sink: SINKS, kvLens: [10, 60, 33], kvPad: 20 }],
  ['sink, no softmaxLse, G 4 BSH', { sink: [1, -2, 0, 3], numQoHeads: 4, numKvHeads: 1, layout: 'BSH', lse: false, numSplits: 2 }],
  ['sink, f16, tensor-list KV', { sink: SINKS, dtype: 'FLOAT16', list: [17, 64, 5], layout: 'BNSD', numSplits: 2 }],
  ['sink, bf16, paged BNSD cache, ragged', { sink: SINKS, dtype: 'BFLOAT16', layout: 'BNSD', paged: { blockSize: 16, cache: 'BNSD', spare: 2 }, kvLens: [40, 70, 0], numSplits: 3 }],
  ['sink, f16, INT8 antiquant per-channel with offset, 3 splits', { sink: SINKS, dtype: 'FLOAT16', antiquant: { kv: 'INT8', kMode: 0, vMode: 0, offset: true }, numSplits: 3 }],
  ['non-finite sinks (NaN, +Inf: NaN rows; −Inf: no sink), empty rows, 3 splits', { sink: [NaN, Infinity, -Infinity, 0.5], kvLens: [0, 33, 70], numSplits: 3 }],
  ['softcap 2, peaky scores, one split', { softcap: 2, qScale: 6, numSplits: 1 }],
  ['softcap 0.5 after pse, 3 splits', { softcap: 0.5, qScale: 4, pse: { batch1: false }, numSplits: 3 }],
  ['softcap 1 with mask, f16', { softcap: 1, qScale: 5, dtype: 'FLOAT16', mask: { shape: 'B,1,S', dtype: 'UINT8', density: 0.4 } }],
  ['softcap 0 (off) with a sink', { softcap: 0, sink: SINKS, numSplits: 2 }],
  ['sink + softcap, paged BSH, INT8 antiquant per-token paged (mode 4), 4 splits', {
    sink: SINKS, softcap: 1.5, qScale: 5, dtype: 'FLOAT16', kvSeqLen: 96, kvLens: [96, 40, 7],
    paged: { blockSize: 32, cache: 'BSH', spare: 1 }, antiquant: { kv: 'INT8', kMode: 4, vMode: 4, offset: true }, numSplits: 4,
  }],
  ['sink + softcap with every binding in use: mask, pse, paged, lse, 3 splits', {
    sink: SINKS, softcap: 2, qScale: 4, dtype: 'FLOAT16', layout: 'BNSD', kvLens: [64, 9, 40], mask: { shape: 'B,S', dtype: 'BOOL', density: 0.3 },
    pse: { batch1: true }, paged: { blockSize: 16, cache: 'BNSD', spare: 1 }, numSplits: 3,
  }],
  ['sink + softcap, odd D bf16 G 3', { sink: [2, -1, 0.5, 4, -3, 1], softcap: 3, qScale: 5, dtype: 'BFLOAT16', headDim: 9, numQoHeads: 6, numKvHeads: 2, numSplits: 2 }],
];

await describeDecodeCases('decode extensions vs reference', base, CASES);
