// Seeded randomized matrix: the prefill kernel vs the float64 reference with every feature in
// combination (layouts, dtypes, GQA, odd lengths that break tiles, actual lengths with empty
// rows, left padding incl. windows that leave [0, S), masks of every shape/dtype with holes,
// sparseMode 0-4 with pre/next, pseShift, tensor-list KV, lse on/off).
// Tolerance (STYLE §8): max(floor per dtype, 2 × |reference in the storage dtype − exact reference|).
// A failing case prints a one-line repro (CASE={...}); paste it into `pinned` below. The kernel runs
// directly, without the operator's validation (it computes more than the operator accepts).
import { describe, expect, it } from 'vitest';
import type { Layout } from '../src/problem/problem.js';
import { testStream } from './helpers/gpu.js';
import { type CaseSpec, type FloatDtype, type MaskShape, mulberry32, repro, runCase } from './helpers/cases.js';

const INT_MAX = 2147483647;

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** A random valid case (the combinations validation accepts) from `seed`. */
export function randomCase(seed: number): CaseSpec {
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

/** Cases that once failed, kept as regressions (one-line repros). */
const pinned: CaseSpec[] = [];

const NUM_RANDOM = 60;

describe('prefill kernel: randomized matrix vs reference', () => {
  const cases = [...pinned, ...Array.from({ length: NUM_RANDOM }, (_, i) => randomCase(i + 1))];
  for (const c of cases) {
    const aq = c.antiquant;
    const aqTag = aq ? ` ${aq.kv.toLowerCase()}-${aq.combined ? 'combined' : 'separate'}-${aq.perTensor ? 'tensor' : aq.kMode === 1 ? 'token' : 'channel'}` : '';
    const tag = `seed ${c.seed} B${c.batch} N${c.numQoHeads}/${c.numKvHeads} Q${c.qSeqLen} KV${c.list ? `[${c.list.join(',')}]` : c.kvSeqLen} D${c.headDim} ${c.layout} ${c.dtype}${c.outDtype !== c.dtype ? `→${c.outDtype}${c.outQuant ? (c.outQuant.perChannel ? '/ch' : '/t') : ''}` : ''}`
      + `${c.mask ? ` mask ${c.mask.shape}` : ''} mode${c.sparseMode ?? 0}${c.pse ? ' pse' : ''}`
      + `${c.paged ? ` paged ${c.paged.cache}/${c.paged.blockSize}${c.paged.invalid ? ' holes' : ''}` : ''}${c.prefix ? ` prefix${c.prefix.rows}/${c.prefix.len}` : ''}${aqTag}${c.int8 ? ' int8-qkv' : ''}${c.qPad !== undefined ? ' qpad' : ''}${c.kvPad !== undefined ? ' kvpad' : ''} tune ${JSON.stringify(c.tune)}`;
    it(tag, async () => {
      const stream = await testStream();
      const r = await runCase(stream, c, { validate: false });
      expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
      if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
    });
  }
});
