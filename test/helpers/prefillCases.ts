// Prefill kernel cases shared by the kernel test files: the hand-picked basics (dtypes, layouts,
// GQA, lengths, every feature once) and the seeded random case generator. Each file runs them
// with its own plan variant (kernel.prefill / kernel.prefillRandom: the blocked body the planner
// runs in the steady state; kernel.prefillQuick: the quick compile tier).
import { describe, expect, it } from 'vitest';
import type { Layout } from '../../src/problem/problem.js';
import type { PrefillPlan, PrefillTune } from '../../src/kernels/prefill.js';
import { type CaseSpec, type FloatDtype, type MaskShape, mulberry32, repro, runCase } from './cases.js';
import { testStream } from './gpu.js';

const INT_MAX = 2147483647;

// Small slot tiles (rows × heads per invocation) exercise partial quads; the default plan (up to 32 rows
// per invocation) has its own cases below.
export const prefillBase: CaseSpec = {
  seed: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 19, kvSeqLen: 37, headDim: 32, layout: 'BNSD', dtype: 'FLOAT32', tune: { rowsPerThread: 2, rowThreads: 4 },
};
const base = prefillBase;

/** The hand-picked basics: [name, case]. */
export const PREFILL_BASICS: readonly (readonly [string, CaseSpec])[] = [
  ...(['FLOAT32', 'FLOAT16', 'BFLOAT16'] as const).flatMap((dtype) => (['BSH', 'BSND', 'BNSD', 'BNSD_BSND'] as const).map(
    (layout): [string, CaseSpec] => [`${dtype} ${layout} GQA`, { ...base, dtype, layout, seed: layout.length + dtype.length }])),
  ['f32 query, f16 output', { ...base, outDtype: 'FLOAT16' }],
  ['f16 query, f32 output', { ...base, dtype: 'FLOAT16', outDtype: 'FLOAT32' }],
  ['lengths: actualSeqLengths / Kv with an empty batch row set', { ...base, batch: 3, qLens: [5, 0, 19], kvLens: [37, 3, 0] }],
  ['no lse, G = 1, D = 64', { ...base, numQoHeads: 2, numKvHeads: 2, headDim: 64, lse: false }],
  ['G = 8, D = 16', { ...base, numQoHeads: 8, numKvHeads: 1, headDim: 16, qSeqLen: 9, kvSeqLen: 70 }],
  ['D = 256', { ...base, batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 256, qSeqLen: 5, kvSeqLen: 33, tune: { rowsPerThread: 1, headsPerThread: 1 } }],
  ['default plan: G = 2, D = 32, 8 rows × 2 heads per invocation', { ...base, tune: undefined }],
  ['D = 512 with a 16 KiB workgroup-storage plan (4-column KV tiles)', { ...base, batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 512, qSeqLen: 3, kvSeqLen: 11, tune: { blockKv: 4, rowsPerThread: 1 } }],
  ['default plan, 8 rows per invocation, several query tiles, causal (sparseMode 3)', { ...base, tune: undefined, batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 64, qSeqLen: 150, kvSeqLen: 170, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }],
  ['default plan, band (sparseMode 4) with GQA 4', { ...base, tune: undefined, batch: 1, numQoHeads: 4, numKvHeads: 1, headDim: 32, qSeqLen: 100, kvSeqLen: 90, sparseMode: 4, preTokens: 20, nextTokens: 5,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }],
  ['left padding on query and KV with actual lengths', { ...base, qLens: [7, 12], kvLens: [20, 30], qPad: 4, kvPad: 3 }],
  ['tensor-list KV with per-batch lengths', { ...base, batch: 3, list: [9, 40, 1], kvLens: [9, 17, 0] }],
  ['paged KV, (blockNum, blockSize, H) cache, shuffled blocks with spares, BSND query', { ...base, layout: 'BSND', kvSeqLen: 300, qSeqLen: 7, kvLens: [300, 131], paged: { blockSize: 128, cache: 'BSH', spare: 3, invalid: false } }],
  ['paged KV, (blockNum, KV_N, blockSize, D) cache, invalid block ids masked, causal', { ...base, dtype: 'FLOAT16', kvSeqLen: 45, kvLens: [45, 20], sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 },
      paged: { blockSize: 16, cache: 'BNSD', spare: 2, invalid: true } }],
  ['INT8 output, per-tensor quantScale2 FLOAT32, with an empty row set', { ...base, dtype: 'FLOAT16', outDtype: 'INT8', qLens: [19, 4], outQuant: { perChannel: false, offset: false, dtype: 'FLOAT32' } }],
  ['INT8 output, per-channel BFLOAT16 scale + offset, BSH, masked holes', { ...base, layout: 'BSH', dtype: 'BFLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'BFLOAT16' },
      mask: { shape: 'Q,S', dtype: 'UINT8', density: 0.3 }, sparseMode: 1 }],
  ['shared prefix (actualSharedPrefixLen < rows), a batch with Skv 0 attends the prefix alone, causal', { ...base, dtype: 'FLOAT16', kvSeqLen: 20, kvLens: [20, 0], prefix: { rows: 13, len: 9 }, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 } }],
  ['shared prefix with a mask over prefix + KV columns and pse, BSH', { ...base, layout: 'BSH', kvSeqLen: 25, prefix: { rows: 7, len: null }, sparseMode: 1,
      mask: { shape: 'B,Q,S', dtype: 'INT8', density: 0.3 }, pse: { batch1: true } }],
  ['INT8 KV, combined per-channel antiquant with offset (FLOAT16 query)', { ...base, dtype: 'FLOAT16', antiquant: { kv: 'INT8', combined: true, kMode: 0, vMode: 0, offset: true } }],
  ['INT8 KV, combined per-tensor antiquant, paged cache', { ...base, dtype: 'FLOAT16', kvSeqLen: 40, antiquant: { kv: 'INT8', combined: true, perTensor: true, kMode: 0, vMode: 0, offset: false },
      paged: { blockSize: 16, cache: 'BSH', spare: 1, invalid: true } }],
  ['INT8 KV, separate per-token antiquant (BFLOAT16 query)', { ...base, dtype: 'BFLOAT16', antiquant: { kv: 'INT8', kMode: 1, vMode: 1, offset: true }, kvLens: [37, 11] }],
  ['INT4 KV (INT32 words), separate per-channel antiquant, BSND', { ...base, layout: 'BSND', dtype: 'BFLOAT16', antiquant: { kv: 'INT4', kMode: 0, vMode: 0, offset: true } }],
  ['INT8 query/key/value, FLOAT16 output (two passes, P8 against the row max), causal, GQA', { ...base, dtype: 'FLOAT16', outDtype: 'FLOAT16', int8: { deq1: 3e-4, qs1: 127, deq2: 6e-5 }, sparseMode: 3,
      mask: { shape: 'Q,S', dtype: 'BOOL', density: 0 }, qLens: [19, 6] }],
  ['INT8 query/key/value, INT8 output with quantScale2 + offset, pse (FLOAT16)', { ...base, dtype: 'FLOAT16', outDtype: 'INT8', int8: { deq1: 2e-4, qs1: 100, deq2: 5e-5 }, lse: false,
      outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' }, pse: { batch1: true } }],
  ['attenMask (B,1,S,S) INT8 with holes + pseShift', { ...base, mask: { shape: 'B,1,Q,S', dtype: 'INT8', extraRows: 2, extraCols: 3, density: 0.4 },
      pse: { batch1: false, extraCols: 2 } }],
];

/**
 * Declares a describe block with one test per (prefill body, case): `base` with the case's fields,
 * checked against the reference. Every case runs on the quick compile tier; the cases marked
 * 'blocked' also run on the blocked body (its pipelines cost lavapipe seconds each, so files pick
 * the cases that reach its code paths). `checkPlan`: assertions on the plan each case ran.
 */
export function describePrefillBodies(title: string, base: CaseSpec, cases: readonly (readonly [string, Partial<CaseSpec>, 'blocked'?])[],
  checkPlan?: (plan: PrefillPlan, c: CaseSpec) => void): void {
  describe(title, () => {
    for (const [variant, of] of [['blocked', (c: CaseSpec) => c], ['quick', quickVariant]] as const) {
      for (const [name, over, bodies] of cases) {
        if (variant === 'blocked' && bodies !== 'blocked') continue;
        it(`${variant}: ${name}`, async () => {
          const c = of({ ...base, ...over });
          const r = await runCase(await testStream(), c, { validate: false });
          checkPlan?.(r.plan as PrefillPlan, c);
          expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
          if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
        });
      }
    }
  });
}

/**
 * The case with the quick tier forced: its tiles (blockKv) and KV splits kept, its slot geometry
 * dropped (the quick body has one slot per invocation).
 */
export function quickVariant(c: CaseSpec): CaseSpec {
  return withBody(c, { variant: 'quick' });
}

/**
 * The case with the cooperative (GPU-shaped) body forced; its softmax step on subgroups and its
 * FLOAT16 K/V in f16 tiles where the device has them, unless `plain` (neither): tiles (blockKv)
 * and KV splits kept, the slot geometry dropped (coop sizes its own query tile).
 */
export function coopVariant(c: CaseSpec, plain = false): CaseSpec {
  return withBody(c, { variant: 'coop', noSubgroups: plain, noF16: plain });
}

/** `c` planned with `tune`, keeping the case's tiles (blockKv) and KV splits, dropping its slot geometry. */
function withBody(c: CaseSpec, tune: PrefillTune): CaseSpec {
  const kept: PrefillTune = { ...tune };
  if (c.tune?.blockKv !== undefined) kept.blockKv = c.tune.blockKv;
  if (c.tune?.numSplits !== undefined) kept.numSplits = c.tune.numSplits;
  return { ...c, tune: kept };
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** A random valid case (the combinations validation accepts) from `seed`. */
export function randomPrefillCase(seed: number): CaseSpec {
  const rand = mulberry32(seed * 7919 + 13);
  const B = int(rand, 1, 3);
  const KVN = pick(rand, [1, 1, 2, 3]);
  const G = pick(rand, [1, 2, 3, 4]);
  const N = KVN * G;
  const D = pick(rand, [16, 16, 32, 48, 64, 80]);
  const Qs = int(rand, 2, 45);
  let KVs = int(rand, 1, 70);
  const layout = pick(rand, ['BSH', 'BSND', 'BNSD', 'BNSD_BSND'] as Layout[]);
  const dtype = pick(rand, ['FLOAT32', 'FLOAT16', 'BFLOAT16'] as FloatDtype[]);
  const outDtype = rand() < 0.2 ? pick(rand, ['FLOAT32', 'FLOAT16', 'BFLOAT16'] as FloatDtype[]) : dtype;
  const c: CaseSpec = {
    seed, batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: Qs, kvSeqLen: KVs, headDim: D, layout, dtype, outDtype, lse: rand() < 0.8,
  };
  c.qScale = pick(rand, [1, 1, 3]);

  const paged = rand() < 0.25;
  const list = !paged && rand() < 0.2 ? Array.from({ length: B }, () => int(rand, 1, 60)) : null;
  if (paged) {
    // Real prefill block sizes are multiples of 128; the kernel does not care, so small blocks
    // give several blocks per sequence here. The BNSD cache goes with a BNSD query only.
    c.paged = { blockSize: pick(rand, [16, 32, 128]), cache: layout === 'BNSD' && rand() < 0.5 ? 'BNSD' : 'BSH', spare: int(rand, 0, 3), invalid: rand() < 0.5 };
  }
  if (list) {
    c.list = list;
    KVs = Math.max(...list);
    c.kvSeqLen = KVs;
  }
  // Actual lengths: sometimes shorter, sometimes 0 (empty rows), one value or one per batch.
  if (rand() < 0.5) c.qLens = rand() < 0.3 ? [int(rand, 0, Qs)] : Array.from({ length: B }, () => int(rand, 0, Qs));
  if (rand() < 0.5) {
    c.kvLens = list
      ? list.map((s) => int(rand, 0, s))
      : rand() < 0.3 ? [int(rand, 0, KVs)] : Array.from({ length: B }, () => int(rand, 0, KVs));
  }
  // Left padding (not with tensor-list KV); pads may push a window out of [0, S).
  if (!list && !paged && c.qLens && rand() < 0.4) c.qPad = int(rand, -2, Math.max(0, Qs - Math.min(...c.qLens)) + 1);
  if (!list && !paged && c.kvLens && rand() < 0.4) c.kvPad = int(rand, -2, Math.max(0, KVs - Math.min(...c.kvLens)) + 1);

  // Shared prefix: dense KV without padding. Antiquant: INT8 (or INT4) K/V with a 16-bit query,
  // not with tensor-list KV; INT4 not paged, not padded.
  if (!list && !paged && c.qPad === undefined && c.kvPad === undefined && rand() < 0.2) {
    const rows = int(rand, 1, 30);
    c.prefix = { rows, len: rand() < 0.5 ? null : int(rand, 1, rows) };
  }
  if (!list && dtype !== 'FLOAT32' && rand() < 0.25) {
    const int4 = !paged && c.kvPad === undefined && rand() < 0.4;
    const kind = int4 ? pick(rand, ['separate-channel', 'separate-token'] as const)
      : pick(rand, ['combined-channel', 'combined-tensor', 'separate-channel', 'separate-token'] as const);
    const aqMode = kind === 'separate-token' ? 1 : 0;
    c.antiquant = {
      kv: int4 ? 'INT4' : 'INT8', kMode: aqMode, vMode: aqMode, offset: rand() < 0.5,
      combined: kind.startsWith('combined'), perTensor: kind === 'combined-tensor',
    };
  }
  // Full INT8 query/key/value (not paged, no prefix, no antiquant): FLOAT16 out (or INT8 below).
  if (!paged && !c.prefix && !c.antiquant && rand() < 0.15) {
    c.int8 = { deq1: 1e-4 * pick(rand, [1, 3, 6]), qs1: pick(rand, [127, 100]), deq2: 4e-5 + 4e-5 * rand() };
    c.dtype = 'FLOAT16';
    c.outDtype = 'FLOAT16';
  }
  const mode = pick(rand, [0, 0, 1, 2, 3, 4]);
  c.sparseMode = mode;
  const withMask = mode !== 0 || rand() < 0.6;
  if (withMask) {
    c.mask = {
      shape: pick(rand, ['Q,S', 'B,Q,S', '1,Q,S', 'B,1,Q,S', '1,1,Q,S'] as MaskShape[]),
      dtype: pick(rand, ['BOOL', 'INT8', 'UINT8'] as const),
      extraRows: pick(rand, [0, 0, 3]), extraCols: pick(rand, [0, 0, 5]),
      // Modes 2-4 ignore the mask content (the predicate is analytic).
      density: mode >= 2 ? 0 : pick(rand, [0.1, 0.3, 0.6]),
    };
  }
  if (mode === 0 || mode === 4) {
    // Valid bands: not both negative, pre + next ≥ 0.
    const pre = rand() < 0.4 ? INT_MAX : int(rand, -10, 40);
    const next = rand() < 0.4 ? INT_MAX : int(rand, Math.max(-10, -pre), 40);
    c.preTokens = pre;
    c.nextTokens = pre < 0 && next < 0 ? 0 : next;
  }
  if (rand() < 0.35) c.pse = { batch1: rand() < 0.5, extraRows: pick(rand, [0, 2]), extraCols: pick(rand, [0, 3]) };
  // Small random tiles: several query and KV tiles per case, odd tile edges, and shaders small
  // enough to compile fast (the default plan's 16-row register tiles are covered in kernel.prefill.test.ts).
  if (rand() < 0.12 && c.antiquant?.kv !== 'INT4') {
    c.outDtype = 'INT8';
    c.outQuant = { perChannel: rand() < 0.5, offset: rand() < 0.5, dtype: dtype === 'BFLOAT16' && rand() < 0.5 ? 'BFLOAT16' : 'FLOAT32' };
    // Keep within the default 8 storage buffers (prefillUnsupported rejects more).
    const aux = c.qPad !== undefined || c.kvPad !== undefined || !!c.prefix || !!c.antiquant || !!c.int8;
    const count = (): number => 3 + (c.pse ? 1 : 0) + (c.mask && mode < 2 ? 1 : 0) + (aux ? 1 : 0)
      + 1 + (c.lse ? 1 : 0) + 1 + (c.outQuant!.offset ? 1 : 0) + (paged && !aux ? 1 : 0);
    if (count() > 8) c.outQuant.offset = false;
    if (count() > 8) c.pse = null;
  }
  c.tune = {
    blockKv: pick(rand, [4, 8, 16, 32]),
    rowsPerThread: pick(rand, [1, 2, 3]),
    headsPerThread: G % 2 === 0 && rand() < 0.5 ? 2 : 1,
    rowThreads: pick(rand, [1, 2, 4]),
  };
  return c;
}

/** A one-line test title with the case's shape, dtypes, features and tune. */
export function prefillCaseTag(c: CaseSpec): string {
  const aq = c.antiquant;
  const aqTag = aq ? ` ${aq.kv.toLowerCase()}-${aq.combined ? 'combined' : 'separate'}-${aq.perTensor ? 'tensor' : aq.kMode === 1 ? 'token' : 'channel'}` : '';
  return `seed ${c.seed} B${c.batch} N${c.numQoHeads}/${c.numKvHeads} Q${c.qSeqLen} KV${c.list ? `[${c.list.join(',')}]` : c.kvSeqLen} D${c.headDim} ${c.layout} ${c.dtype}${c.outDtype !== c.dtype ? `→${c.outDtype}${c.outQuant ? (c.outQuant.perChannel ? '/ch' : '/t') : ''}` : ''}`
    + `${c.mask ? ` mask ${c.mask.shape}` : ''} mode${c.sparseMode ?? 0}${c.pse ? ' pse' : ''}`
    + `${c.paged ? ` paged ${c.paged.cache}/${c.paged.blockSize}${c.paged.invalid ? ' holes' : ''}` : ''}${c.prefix ? ` prefix${c.prefix.rows}/${c.prefix.len}` : ''}${aqTag}${c.int8 ? ' int8-qkv' : ''}${c.qPad !== undefined ? ' qpad' : ''}${c.kvPad !== undefined ? ' kvpad' : ''} tune ${JSON.stringify(c.tune)}`;
}
