// Hand-computed cases for the INT8 paths (§9), the merge of partial states (§11), the split-KV
// reference, layout equivalence and the tolerance helpers.
import { describe, expect, it } from 'vitest';
import type { HostInputs, Problem, StorageLayout } from '../src/problem/problem.js';
import {
  attentionReference, compareOutputs, denseAttentionRow, elementIndex, mergeStatesReference, splitKvPartials,
  splitKvReference, toleranceFloor, toleranceFor,
} from '../src/reference/index.js';
import { makeProblem } from './helpers/cases.js';
import { expectClose, f64, LN2, LN3, LN4 } from './helpers/handChecks.js';



describe('INT8 full-quant path (§9)', () => {
  // Q_S 2 (both rows the same), D 1, KV_S 2: q = [2], k = [[0], [1]], v = [[10], [20]], scaleValue ln 2.
  // deqScale1 = 0.5·(1 + 2^-11): bit 12 of the float is cleared by & 0xFFFFE000 → deqScale1' = 0.5.
  // deqScale2 = 2^-7·(1 + 2^-12): bit 11 cleared → deqScale2' = 2^-7.
  // s = [0, 2·1·0.5·ln2] = [0, ln2]; m = ln2; e = [1/2, 1]; l = 3/2; lse = ln2 + ln(3/2) = ln 3.
  const problem = (over: Partial<Problem> = {}): Problem => makeProblem({
    batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 2, kvSeqLen: 2, scaleValue: LN2,
    queryDtype: 'INT8', kvDtype: 'INT8', outDtype: 'FLOAT16',
    int8Attention: { deqScale1Dtype: 'UINT64', deqScale2Dtype: 'UINT64' }, ...over,
  });
  const host = (quantScale1: number): HostInputs => ({
    query: f64([2, 2]), key: [f64([0, 1])], value: [f64([10, 20])],
    deqScale1: 0.5 * (1 + 2 ** -11), quantScale1, deqScale2: 2 ** -7 * (1 + 2 ** -12),
  });

  it('P8 = rint(e·quantScale1), out = Σ P8·v · deqScale2\' / l, with bit-masked deq scales', () => {
    // quantScale1 100: P8 = [50, 100]; out = (500 + 2000)·2^-7 / 1.5 = 2500/192.
    const r = attentionReference(problem(), host(100));
    expectClose(r.attentionOut, [2500 / 192, 2500 / 192]);
    expectClose(r.softmaxLse!, [LN3, LN3]);
  });

  it('P8 rounds half to even and saturates at 127', () => {
    // quantScale1 127: P8 = [rint(63.5) = 64, 127] → (640 + 2540)/192 = 16.5625.
    expectClose(attentionReference(problem(), host(127)).attentionOut, [16.5625, 16.5625]);
    // quantScale1 300: P8 = [sat(150) = 127, sat(300) = 127] → 127·30/192 = 19.84375.
    expectClose(attentionReference(problem(), host(300)).attentionOut, [19.84375, 19.84375]);
  });

  it('pse is added after deqScale1\'·scaleValue; a fully masked row gives out 0, lse +Inf', () => {
    // pse [ln2, 0] → s = [0 + ln2, ln2 + 0] = [ln2, ln2]; e = [1, 1], l = 2; quantScale1 100 → P8 = [100, 100];
    // out = (1000 + 2000)·2^-7 / 2 = 1500/128 = 11.71875; lse = ln2 + ln2 = ln 4.
    // Mask (2, 2): row 0 [0, 0], row 1 [1, 1] → row 1 empty.
    const p = problem({
      pse: { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: 4, rowStride: 0, colStride: 1, offset: 0 },
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 2, colStride: 1, offset: 0 },
    });
    const r = attentionReference(p, { ...host(100), pseShift: f64([LN2, 0]), attenMask: f64([0, 0, 1, 1]) });
    expectClose(r.attentionOut, [11.71875, 0]);
    expectClose(r.softmaxLse!, [LN4, Infinity]);
  });

  it('INT8 out: sat(rint(o·quantScale2 + offset)); an empty row gives sat(rint(offset))', () => {
    // o = 16.5625 (quantScale1 127); quantScale2 4 → 66.25, offset 0.5 → 66.75 → 67.
    // Row 1 beyond Sq = 1 has o = 0 → rint(0.5) = 0 (half to even).
    const p = problem({ outDtype: 'INT8', qLens: [1], outQuant: { perChannel: false, dtype: 'FLOAT32', hasOffset: true } });
    const r = attentionReference(p, { ...host(127), quantScale2: f64([4]), quantOffset2: f64([0.5]) });
    expectClose(r.attentionOut, [67, 0]);
  });
});

describe('INT8 output quantization of a float result (§9)', () => {
  it('per-tensor: rint half to even, saturation both ways, empty row → sat(rint(offset))', () => {
    // One key, v = [7, 100, -100]; scale 2, offset -3.5:
    // 7·2 - 3.5 = 10.5 → 10; 196.5 → 127; -203.5 → -128. Row 1 invalid (Sq 1): rint(-3.5) = -4.
    const p = makeProblem({
      batch: 1, numQoHeads: 1, headDim: 3, qSeqLen: 2, kvSeqLen: 1, qLens: [1], outDtype: 'INT8',
      outQuant: { perChannel: false, dtype: 'FLOAT32', hasOffset: true },
    });
    const r = attentionReference(p, {
      query: f64([0, 0, 0, 0, 0, 0]), key: [f64([0, 0, 0])], value: [f64([7, 100, -100])],
      quantScale2: f64([2]), quantOffset2: f64([-3.5]),
    });
    expectClose(r.attentionOut, [10, 127, -128, -4, -4, -4]);
  });

  it('per-channel index n·D + d in every output layout; no offset → 0', () => {
    // N 2, D 2, Q_S 2, one key, v = 1 everywhere. scale [1, 2.5, 3.5, 4.5] → head 0 [1, rint(2.5) = 2],
    // head 1 [rint(3.5) = 4, rint(4.5) = 4]. BSND order (s, n, d): [1,2,4,4, 1,2,4,4]; BNSD (n, s, d): [1,2,1,2, 4,4,4,4].
    for (const layout of ['BSND', 'BNSD'] as const) {
      const p = makeProblem({
        batch: 1, numQoHeads: 2, headDim: 2, qSeqLen: 2, kvSeqLen: 1, layout, outDtype: 'INT8',
        outQuant: { perChannel: true, dtype: 'FLOAT32', hasOffset: false },
      });
      const r = attentionReference(p, {
        query: f64(new Array(8).fill(0)), key: [f64([0, 0, 0, 0])], value: [f64([1, 1, 1, 1])], quantScale2: f64([1, 2.5, 3.5, 4.5]),
      });
      expectClose(r.attentionOut, layout === 'BSND' ? [1, 2, 4, 4, 1, 2, 4, 4] : [1, 2, 1, 2, 4, 4, 4, 4]);
    }
  });
});

describe('mergeStatesReference (§11)', () => {
  it('two partials: m = max lse, w = exp(lse - m), out = Σ w·o / Σ w, lse = m + ln Σ w', () => {
    // The two-key example split in halves: key 0 alone (s = 0, v = 4): o = 4, lse 0; key 1 alone (s = ln3, v = 8): o = 8, lse ln3.
    // m = ln3, w = [1/3, 1], out = (4/3 + 8)/(4/3) = 7, lse = ln3 + ln(4/3) = ln 4 = the dense result.
    const r = mergeStatesReference([f64([4]), f64([8])], [f64([0]), f64([LN3])], 1, 1);
    expectClose(r.out, [7]);
    expectClose(r.lse, [LN4]);
  });

  it('a +Inf partial contributes nothing; all +Inf → out 0, lse +Inf; rows are row-major [rows, D]', () => {
    // Row 0: partials (o [1, 5], lse 0), (o [1000, 1000], +Inf), (o [3, 7], lse 0) → w = [1, -, 1]: [2, 6], lse ln 2.
    // Row 1: all +Inf → [0, 0], +Inf.
    const outs = [f64([1, 5, 9, 9]), f64([1000, 1000, 9, 9]), f64([3, 7, 9, 9])];
    const lses = [f64([0, Infinity]), f64([Infinity, Infinity]), f64([0, Infinity])];
    const r = mergeStatesReference(outs, lses, 2, 2);
    expectClose(r.out, [2, 6, 0, 0]);
    expectClose(r.lse, [LN2, Infinity]);
  });

  it('large lse values do not overflow (max subtracted first)', () => {
    // lse 1000 and 1000 + ln3: w = [1/3, 1] → out = (1/3·2 + 6)/(4/3) = 5; lse = 1000 + ln 4.
    const r = mergeStatesReference([f64([2]), f64([6])], [f64([1000]), f64([1000 + LN3])], 1, 1);
    expectClose(r.out, [5]);
    expect(r.lse[0]).toBeCloseTo(1000 + LN4, 10);
  });
});

describe('split-KV reference: partials then merge == dense', () => {
  it('splits of ⌈L / k⌉ columns, the empty last split has lse +Inf', () => {
    // L 5, 4 splits → chunk 2: [0,2), [2,4), [4,5), [5,5). Scores 0, v = [1..5]:
    // partials (1.5, ln2), (3.5, ln2), (5, 0), (0, +Inf). Merge: m = ln2, w = [1, 1, 1/2], Σw = 2.5,
    // out = (1.5 + 3.5 + 2.5)/2.5 = 3 = mean(1..5); lse = ln2 + ln2.5 = ln 5.
    const scores = new Float64Array(5);
    const kept = new Uint8Array(5).fill(1);
    const v = f64([1, 2, 3, 4, 5]);
    const parts = splitKvPartials(scores, kept, v, 1, 4);
    expectClose(parts.outs.map((o) => o[0]!), [1.5, 3.5, 5, 0]);
    expectClose(parts.lses.map((l) => l[0]!), [LN2, LN2, 0, Infinity]);
    const merged = mergeStatesReference(parts.outs, parts.lses, 1, 1);
    expectClose(merged.out, [3]);
    expectClose(merged.lse, [Math.log(5)]);
    const dense = denseAttentionRow(scores, kept, v, 1);
    expectClose(dense.out, [3]);
  });

  it('splitKvReference equals attentionReference on a masked GQA case', () => {
    // Seeded random data; a mask that empties some splits and one whole row.
    const rnd = lcg(7);
    const p = makeProblem({
      batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 3, qSeqLen: 3, kvSeqLen: 7, kvLens: [7, 4],
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 7, colStride: 1, offset: 0 },
    });
    const mask = f64([0, 0, 1, 1, 1, 1, 0, /**/ 1, 1, 1, 1, 1, 1, 1, /**/ 1, 1, 1, 0, 0, 0, 0]);
    const h: HostInputs = {
      query: randn(rnd, 2 * 4 * 3 * 3), key: [randn(rnd, 2 * 2 * 7 * 3)], value: [randn(rnd, 2 * 2 * 7 * 3)], attenMask: mask,
    };
    const dense = attentionReference(p, h);
    for (const splits of [2, 3, 5, 9]) {
      const split = splitKvReference(p, h, splits);
      expectClose(split.attentionOut, Array.from(dense.attentionOut), 12);
      expectClose(split.softmaxLse!, Array.from(dense.softmaxLse!), 12);
    }
    // Row 1 is masked everywhere: out 0, lse +Inf in every (b, n).
    for (let b = 0; b < 2; b++) for (let n = 0; n < 4; n++) expect(dense.softmaxLse![(b * 4 + n) * 3 + 1]).toBe(Infinity);
  });
});

describe('layouts give the same numbers', () => {
  it('BSH, BSND, BNSD and BNSD_BSND agree after transposition', () => {
    const rnd = lcg(3);
    const dims = { batch: 2, heads: 2, seq: 3, headDim: 4 };
    const kvDims = { batch: 2, heads: 1, seq: 5, headDim: 4 };
    const q = randn(rnd, 48);
    const k = randn(rnd, 40);
    const v = randn(rnd, 40);
    // Logical tensors are stored BNSD; `store` rewrites them into another layout.
    const store = (x: Float64Array, d: typeof dims, to: StorageLayout): Float64Array => {
      const y = new Float64Array(x.length);
      for (let b = 0; b < d.batch; b++) for (let n = 0; n < d.heads; n++) for (let s = 0; s < d.seq; s++) {
        for (let e = 0; e < d.headDim; e++) y[elementIndex(to, d, b, n, s, e)] = x[elementIndex('BNSD', d, b, n, s, e)]!;
      }
      return y;
    };
    const base = { batch: 2, numQoHeads: 2, numKvHeads: 1, headDim: 4, qSeqLen: 3, kvSeqLen: 5, kvLens: [5, 2] };
    const ref = attentionReference(makeProblem({ ...base, layout: 'BNSD' }), { query: q, key: [k], value: [v] });
    for (const layout of ['BSH', 'BSND', 'BNSD_BSND'] as const) {
      const inLayout = layout === 'BNSD_BSND' ? 'BNSD' : layout;
      const outLayout = layout === 'BNSD_BSND' ? 'BSND' : layout;
      const p = makeProblem({ ...base, layout });
      const r = attentionReference(p, { query: store(q, dims, inLayout), key: [store(k, kvDims, inLayout)], value: [store(v, kvDims, inLayout)] });
      expectClose(r.attentionOut, Array.from(store(ref.attentionOut, dims, outLayout)), 13);
      expectClose(r.softmaxLse!, Array.from(ref.softmaxLse!), 13);
    }
  });
});

describe('tolerance helpers', () => {
  it('toleranceFor = max(floor, factor · max |refLow - ref|)', () => {
    expect(toleranceFor(f64([1, 2]), f64([1.01, 2]), 1e-3)).toBeCloseTo(0.02, 12);
    expect(toleranceFor(f64([1, 2]), f64([1.0001, 2]), 1e-3)).toBe(1e-3);
    expect(toleranceFor(f64([1, 2]), null, 5e-3)).toBe(5e-3);
  });

  it('toleranceFloor per output dtype', () => {
    expect(toleranceFloor('FLOAT16')).toBe(2 ** -9);
    expect(toleranceFloor('BFLOAT16')).toBe(2 ** -6);
    expect(toleranceFloor('FLOAT32')).toBe(2 ** -21);
    expect(toleranceFloor('INT8')).toBe(1);
  });

  it('compareOutputs reports the worst element; equal infinities match', () => {
    const ref = f64([1, 2, Infinity]);
    const low = f64([1.004, 2, Infinity]);   // tolerance 2 · 0.004 = 0.008
    const ok = compareOutputs([1.005, 2.001, Infinity], ref, low, 1e-3);
    expect(ok.ok).toBe(true);
    expect(ok.worst.index).toBe(0);
    const bad = compareOutputs([1, 2.01, Infinity], ref, low, 1e-3);
    expect(bad.ok).toBe(false);
    expect(bad.worst).toEqual({ index: 1, actual: 2.01, expected: 2, lowPrecision: 2 });
    expect(bad.message).toContain('at [1]');
    expect(compareOutputs([1, 2, 0], ref, null, 1).ok).toBe(false);        // finite vs +Inf
    expect(compareOutputs([1, 2, NaN], ref, null, 1).ok).toBe(false);      // NaN never matches a number
    expect(compareOutputs([1, 2], ref, null, 1).ok).toBe(false);           // length mismatch
  });
});

/** A small seeded generator (Numerical Recipes LCG) → uniform [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randn(rnd: () => number, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rnd() * 2 - 1);
}
