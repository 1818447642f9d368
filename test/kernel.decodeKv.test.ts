// Decode vs reference with K/V through the KV source: paged KV (both cache layouts, out-of-range
// block ids), shared prefix, INT8/INT4 antiquant (per-channel, per-token, per-head, offsets).
import { describe, expect, it } from 'vitest';
import { type CaseSpec, checkCase, plannedDecodeVariants } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

const base: CaseSpec = { seed: 21, qSeqLen: 1, batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 96, dtype: 'FLOAT16', layout: 'BSND' };

const CASES: [string, Partial<CaseSpec>][] = [
  ['paged BSH cache, ragged', { paged: { blockSize: 16, cache: 'BSH', spare: 2 }, kvLens: [96, 17, 0], numSplits: 3 }],
  ['paged f16 D 18 (16-bit words from the cache, half a quad)', { dtype: 'FLOAT16', headDim: 18, paged: { blockSize: 16, cache: 'BSH', spare: 2 }, kvLens: [80, 3, 41] }],
  ['paged BNSD cache bf16', { layout: 'BNSD', dtype: 'BFLOAT16', paged: { blockSize: 32, cache: 'BNSD', spare: 2 }, kvLens: [40, 96, 65] }],
  ['paged out-of-range block ids are masked', { paged: { blockSize: 16, cache: 'BSH', spare: 2, invalid: true }, kvLens: [96, 50, 96], numSplits: 2 }],
  ['paged + mask + pse', { paged: { blockSize: 16, cache: 'BSH', spare: 2 }, kvLens: [30, 96, 5], mask: { shape: 'B,S', dtype: 'BOOL', density: 0.3 }, pse: { batch1: false } }],
  ['shared prefix (P < S)', { prefix: { rows: 20, len: 13 }, kvLens: [0, 40, 96], numSplits: 4 }],
  ['shared prefix, all rows, mask', { prefix: { rows: 9, len: null }, mask: { shape: 'B,1,S', dtype: 'UINT8', density: 0.4 }, layout: 'BSH' }],
  ['INT8 per-channel with offset', { antiquant: { kv: 'INT8', kMode: 0, vMode: 0, offset: true } }],
  ['INT8 per-tensor', { antiquant: { kv: 'INT8', kMode: 0, vMode: 0, offset: false, perTensor: true }, dtype: 'BFLOAT16' }],
  ['INT8 key per-channel, value per-token', { antiquant: { kv: 'INT8', kMode: 0, vMode: 1, offset: false }, kvLens: [96, 33, 1] }],
  ['INT8 per-token-head with offset', { antiquant: { kv: 'INT8', kMode: 3, vMode: 3, offset: true }, numSplits: 2 }],
  ['INT8 per-head', { antiquant: { kv: 'INT8', kMode: 2, vMode: 2, offset: false } }],
  ['INT4 per-channel', { antiquant: { kv: 'INT4', kMode: 0, vMode: 0, offset: true }, layout: 'BNSD', headDim: 64 }],
  ['INT4 per-token', { antiquant: { kv: 'INT4', kMode: 1, vMode: 1, offset: false }, numSplits: 3, headDim: 64 }],
  ['paged INT8, per-token paged (mode 4) with offset', { paged: { blockSize: 32, cache: 'BSH', spare: 2, invalid: true }, kvLens: [96, 40, 7], antiquant: { kv: 'INT8', kMode: 4, vMode: 4, offset: true } }],
  ['paged INT8 BNSD cache, per-token-head paged (mode 5)', { layout: 'BNSD', paged: { blockSize: 32, cache: 'BNSD', spare: 2 }, kvLens: [64, 96, 33], antiquant: { kv: 'INT8', kMode: 5, vMode: 5, offset: false }, numSplits: 2 }],
  ['paged INT8 per-channel', { paged: { blockSize: 32, cache: 'BSH', spare: 2 }, kvLens: [96, 1, 50], antiquant: { kv: 'INT8', kMode: 0, vMode: 0, offset: true } }],
  ['INT8 + shared prefix, per-token', { antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: false }, prefix: { rows: 12, len: 12 }, kvLens: [50, 0, 96] }],
];

const VARIANTS = await plannedDecodeVariants();

describe('decode with the KV source vs reference', () => {
  for (const variant of VARIANTS) {
    for (const [name, over] of CASES) {
      it(`${variant}: ${name}`, async () => {
        const stream = await testStream();
        expect(await checkCase(stream, { ...base, variant, ...over })).toBe('');
      });
    }
  }
});
