// Decode kernel vs reference: masks, pse, ragged lengths, left padding, tensor-list KV, edge rows.
import { type CaseSpec, describeDecodeCases } from './helpers/cases.js';

const base: CaseSpec = { seed: 7, qSeqLen: 1, batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 80, dtype: 'FLOAT32', layout: 'BSND' };

const CASES: [string, Partial<CaseSpec>][] = [
  ['ragged kvLens incl. 0, many splits', { kvLens: [0, 37, 80], numSplits: 5 }],
  ['ragged kvLens, one split', { kvLens: [5, 0, 79], numSplits: 1 }],
  ['kvLens length 1 broadcasts', { kvLens: [41], numSplits: 3 }],
  ['mask (B,KV_S) BOOL', { mask: { shape: 'B,S', dtype: 'BOOL', density: 0.3 } }],
  ['mask (B,1,KV_S) INT8, wider', { mask: { shape: 'B,1,S', dtype: 'INT8', density: 0.5, extraCols: 7 }, numSplits: 4 }],
  ['mask (1,1,1,KV_S) UINT8 broadcast', { mask: { shape: '1,1,1,S', dtype: 'UINT8', density: 0.4 } }],
  ['mask empties rows', { mask: { shape: 'B,S', dtype: 'BOOL', density: 0.985 }, kvLens: [3, 80, 2], numSplits: 2 }],
  ['pse (B,N,1,KV_S) f16', { dtype: 'FLOAT16', pse: { batch1: false }, numSplits: 3 }],
  ['pse (1,N,1,KV_S+pad) bf16', { dtype: 'BFLOAT16', pse: { batch1: true, extraCols: 5 }, layout: 'BSH' }],
  ['kv left padding', { kvLens: [10, 70, 33], kvPad: 4, numSplits: 3 }],
  ['kv left padding negative pad', { kvLens: [10, 70, 33], kvPad: -3 }],
  ['kv left padding leaves the tensor', { kvLens: [10, 70, 33], kvPad: 20, mask: { shape: 'B,S', dtype: 'BOOL', density: 0.2 } }],
  ['tensor-list KV', { list: [17, 64, 5], layout: 'BNSD', numSplits: 2 }],
  ['tensor-list KV with kvLens', { list: [17, 64, 5], layout: 'BSH', kvLens: [17, 30, 0], dtype: 'FLOAT16' }],
  ['no softmaxLse', { lse: false, numSplits: 2 }],
  ['empty KV (S = 0): zeros, lse +Inf', { kvSeqLen: 0 }],
  ['D 512 f16 G 8', { dtype: 'FLOAT16', headDim: 512, numQoHeads: 8, numKvHeads: 1, batch: 1, kvSeqLen: 70 }],
  // tiles phase C: four dims per invocation; D 512 with one head leaves two quads per invocation
  // (128 quads, 64 invocations), D 18 FLOAT16 ends in half a quad of 16-bit pairs.
  ['D 512 f32 G 1', { headDim: 512, numQoHeads: 2, numKvHeads: 2, batch: 1, kvSeqLen: 45, numSplits: 2 }],
  ['D 18 f16', { dtype: 'FLOAT16', headDim: 18, numSplits: 2 }],
  ['odd D f16 (combine with one split)', { dtype: 'FLOAT16', headDim: 7, numSplits: 1 }],
  ['odd D bf16 G 3', { dtype: 'BFLOAT16', headDim: 9, numQoHeads: 6, numKvHeads: 2 }],
  ['G 64', { numQoHeads: 64, numKvHeads: 1, batch: 1, headDim: 64, kvSeqLen: 300, dtype: 'FLOAT16' }],
];

await describeDecodeCases('decode features vs reference', base, CASES);
