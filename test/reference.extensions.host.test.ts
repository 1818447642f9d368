// Hand-computed cases for the extensions beyond the operator in the float64 reference
// (docs/semantics.md, "Extensions beyond the operator"): the learnable sink (a per-head logit in
// every row's denominator, counted once by the split-KV reference), the soft cap (after scale
// and pse) and the sliding window (the last W positions up to the row's own, aligned to the end of
// its KV, intersected with the sparse mode). Every expected value is derived in the comments.
import { describe, expect, it } from 'vitest';
import { type HostInputs, INT_MAX, type Problem } from '../src/problem/problem.js';
import { attentionReference, denseAttentionRow, int8AttentionRow, splitKvReference } from '../src/reference/index.js';
import { makeProblem } from './helpers/cases.js';
import { expectClose, f64, LN2, LN3, LN4 } from './helpers/handChecks.js';

const LN5 = Math.log(5);

function host(query: number[], key: number[], value: number[], extra: Partial<HostInputs> = {}): HostInputs {
  return { query: f64(query), key: [f64(key)], value: [f64(value)], ...extra };
}

/** One head, D = 1, scale 1, decode: q = [1] makes each score the key itself. */
function decode1(kvSeqLen: number, over: Partial<Problem> = {}): Problem {
  return makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 1, kvSeqLen, scaleValue: 1, ...over });
}

describe('learnable sink', () => {
  it('decode, 1 row × 2 columns: the sink joins the denominator only', () => {
    // s = [0, ln3], sink 0 → m = ln3; e = [1/3, 1], sink weight e^(0 − ln3) = 1/3; l = 5/3.
    // out = (1/3·4 + 1·8) / (5/3) = (28/3)·(3/5) = 28/5; lse = ln3 + ln(5/3) = ln 5.
    const r = attentionReference(decode1(2, { learnableSink: true }), host([1], [0, LN3], [4, 8], { learnableSink: f64([0]) }));
    expectClose(r.attentionOut, [28 / 5]);
    expectClose(r.softmaxLse!, [LN5]);
  });

  it('a sink above every score sets m', () => {
    // s = [0, 0], sink ln2 → m = ln2; e = [1/2, 1/2], sink weight 1; l = 2.
    // out = (1/2·2 + 1/2·6) / 2 = 2; lse = ln2 + ln2 = ln 4.
    const r = attentionReference(decode1(2, { learnableSink: true }), host([1], [0, 0], [2, 6], { learnableSink: f64([LN2]) }));
    expectClose(r.attentionOut, [2]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('a row with no kept column is the sink alone: out 0, lse = sink', () => {
    // kvLens 0: no column; l = e^(sink − sink) = 1, out = 0 / 1 = 0, lse = sink + ln 1 = sink.
    const r = attentionReference(decode1(2, { learnableSink: true, kvLens: [0] }), host([1], [5, 5], [9, 9], { learnableSink: f64([-1.25]) }));
    expectClose(r.attentionOut, [0]);
    expectClose(r.softmaxLse!, [-1.25]);
  });

  it('a KV left-padding window that leaves the tensor keeps the row: out 0, lse = sink', () => {
    // kvPad 5 + Skv 1 > 2 rows: the batch has no column; with the sink its row is the sink's.
    const p = decode1(2, { learnableSink: true, kvLens: [1], kvLeftPadding: true });
    const r = attentionReference(p, host([1], [0, 0], [1, 1], { learnableSink: f64([0.5]), kvPaddingSize: 5 }));
    expectClose(r.attentionOut, [0]);
    expectClose(r.softmaxLse!, [0.5]);
  });

  it('a sink of −Inf is no sink: a row with kept columns is unchanged, one without is out 0, lse +Inf', () => {
    // Weight e^(−Inf) = 0: s = [0, ln3] → out = (1/4)·4 + (3/4)·8 = 7, lse = ln 4 (as without a sink).
    const r = attentionReference(decode1(2, { learnableSink: true }), host([1], [0, LN3], [4, 8], { learnableSink: f64([-Infinity]) }));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
    // kvLens 0: nothing kept and no sink → the row-invalid rule.
    const e = attentionReference(decode1(2, { learnableSink: true, kvLens: [0] }), host([1], [0, 0], [4, 8], { learnableSink: f64([-Infinity]) }));
    expectClose(e.attentionOut, [0]);
    expectClose(e.softmaxLse!, [Infinity]);
  });

  it('a NaN or +Inf sink makes the row NaN', () => {
    for (const sink of [NaN, Infinity]) {
      const r = attentionReference(decode1(2, { learnableSink: true }), host([1], [0, LN3], [4, 8], { learnableSink: f64([sink]) }));
      expect(Number.isNaN(r.attentionOut[0]), `sink ${sink}: out`).toBe(true);
      expect(Number.isNaN(r.softmaxLse![0]), `sink ${sink}: lse`).toBe(true);
    }
  });

  it('prefill: each head reads its own sink; rows outside Sq_b stay out 0, lse +Inf', () => {
    // B 1, N 2, Q_S 2 (Sq = 1), D 1, zero query: scores [0, 0] over v = [2, 6].
    // Head 0, sink 0: m 0, l = 1 + 1 + 1 = 3, out = 8/3, lse = ln 3.
    // Head 1, sink ln2: m ln2, e = [1/2, 1/2], sink 1, l = 2, out = (1 + 3)/2 = 2, lse = 2·ln2 = ln 4.
    const p = makeProblem({ batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 1, qSeqLen: 2, kvSeqLen: 2, scaleValue: 1, qLens: [1], learnableSink: true });
    const r = attentionReference(p, host([0, 0, 0, 0], [7, -7], [2, 6], { learnableSink: f64([0, LN2]) }));
    // BNSD out [b][n][s]: head 0 rows 0-1, head 1 rows 0-1.
    expectClose(r.attentionOut, [8 / 3, 0, 2, 0]);
    expectClose(r.softmaxLse!, [LN3, Infinity, LN4, Infinity]);
  });

  it('the split-KV reference counts the sink once', () => {
    // The first case over 2 splits of 1 column: still out 28/5, lse ln 5 (twice the sink would give
    // l = 1/3 + 1 + 2/3 = 2, out = (4/3 + 8)/2 = 14/3).
    const p = decode1(2, { learnableSink: true });
    const r = splitKvReference(p, host([1], [0, LN3], [4, 8], { learnableSink: f64([0]) }), 2);
    expectClose(r.attentionOut, [28 / 5]);
    expectClose(r.softmaxLse!, [LN5]);
  });

  it('denseAttentionRow and int8AttentionRow take the sink as one more denominator term', () => {
    // Scores [0, 0], v = [2, 6] (D 1), sink 0: m 0, l = 3.
    const dense = denseAttentionRow(f64([0, 0]), Uint8Array.of(1, 1), f64([2, 6]), 1, undefined, 0, 2, 0);
    expectClose(dense.out, [8 / 3]);
    expect(dense.lse).toBeCloseTo(LN3, 12);
    // INT8: P8 = rint(1 · quantScale1 1) = 1 per column; out = (1·2 + 1·6) · deqScale2 1 / 3.
    const int8 = int8AttentionRow(f64([0, 0]), Uint8Array.of(1, 1), f64([2, 6]), 1, 1, 1, undefined, 0);
    expectClose(int8.out, [8 / 3]);
    expect(int8.lse).toBeCloseTo(LN3, 12);
    // No column in range: out 0, lse = sink.
    const empty = denseAttentionRow(f64([0, 0]), Uint8Array.of(0, 0), f64([2, 6]), 1, undefined, 0, 2, -2);
    expectClose(empty.out, [0]);
    expect(empty.lse).toBe(-2);
  });
});

describe('soft cap', () => {
  // softcap·tanh(x / softcap) = ln3 for x = softcap·atanh(ln3 / softcap).
  const cap = 2;
  const preimage = cap * Math.atanh(LN3 / cap);

  it('caps the scaled score: s = softcap·tanh(scale·q·k / softcap)', () => {
    // q = [2], scale 0.5 → scaled dots [0, preimage] → capped [0, ln3]: out = 7, lse = ln 4.
    // (Capping before the scale would give 0.5·ln3 instead.)
    const p = decode1(2, { softcap: cap, scaleValue: 0.5 });
    const r = attentionReference(p, host([2], [0, preimage], [4, 8]));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('caps after pseShift', () => {
    // Dots [0, 0] + pse [0, preimage] → capped [0, ln3]: out 7, lse ln 4 (capping before the pse
    // would leave s1 = preimage ≈ 1.27 instead of ln3 ≈ 1.10).
    const p = decode1(2, {
      softcap: cap,
      pse: { source: 'pseShift', dtype: 'FLOAT32', batchStride: 0, headStride: 2, rowStride: 0, colStride: 1, offset: 0 },
    });
    const r = attentionReference(p, host([1], [0, 0], [4, 8], { pseShift: f64([0, preimage]) }));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('an infinite score is capped to softcap (tanh(+Inf) = 1)', () => {
    // softcap ln3: s = [ln3·tanh(0), ln3·tanh(+Inf)] = [0, ln3] → out 7, lse ln 4.
    const r = attentionReference(decode1(2, { softcap: LN3 }), host([1], [0, Infinity], [4, 8]));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('softcap 0 is off', () => {
    // s = [0, ln3] as given: out 7, lse ln 4.
    const r = attentionReference(decode1(2, { softcap: 0 }), host([1], [0, LN3], [4, 8]));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('with a sink: the cap applies to the scores, not to the sink', () => {
    // softcap ln3 caps s1 = +Inf to ln3; s = [0, ln3], sink 0 (uncapped) → out 28/5, lse ln 5 as in the first sink case.
    const p = decode1(2, { softcap: LN3, learnableSink: true });
    const r = attentionReference(p, host([1], [0, Infinity], [4, 8], { learnableSink: f64([0]) }));
    expectClose(r.attentionOut, [28 / 5]);
    expectClose(r.softmaxLse!, [LN5]);
  });
});

describe('sliding window', () => {
  // Decode: keys [0, 0, 0, ln3] (q = [1], scale 1: the scores), values [4, 4, 4, 8].
  const keys = [0, 0, 0, LN3];
  const values = [4, 4, 4, 8];

  it('decode attends the last W keys', () => {
    // W 2: columns 2, 3: s = [0, ln3] → weights 1/4, 3/4: out = 1 + 6 = 7, lse = ln 4.
    const w2 = attentionReference(decode1(4, { slidingWindow: 2 }), host([1], keys, values));
    expectClose(w2.attentionOut, [7]);
    expectClose(w2.softmaxLse!, [LN4]);
    // W 1: column 3 alone: out 8, lse ln 3.
    const w1 = attentionReference(decode1(4, { slidingWindow: 1 }), host([1], keys, values));
    expectClose(w1.attentionOut, [8]);
    expectClose(w1.softmaxLse!, [LN3]);
  });

  it('a window wider than the KV, or 0, attends every key', () => {
    // Weights 1, 1, 1, 3: l = 6, out = (4 + 4 + 4 + 24) / 6 = 6, lse = ln 6.
    for (const slidingWindow of [0, 4, 10]) {
      const r = attentionReference(decode1(4, { slidingWindow }), host([1], keys, values));
      expectClose(r.attentionOut, [6]);
      expectClose(r.softmaxLse!, [Math.log(6)]);
    }
  });

  it('decode: the window ends at the actual KV length', () => {
    // kvLens [3], W 2: columns 1, 2: s = [0, 0], v = [4, 4] → out 4, lse ln 2.
    const r = attentionReference(decode1(4, { slidingWindow: 2, kvLens: [3] }), host([1], keys, values));
    expectClose(r.attentionOut, [4]);
    expectClose(r.softmaxLse!, [LN2]);
  });

  it('decode: the shared prefix counts in the window', () => {
    // Prefix keys [5, ln3], values [100, 8]; KV key [0], value [4]: columns s = [5, ln3, 0].
    // W 2: columns 1, 2: s = [ln3, 0], v = [8, 4] → out (3·8 + 4) / 4 = 7, lse ln 4.
    const p = decode1(1, { slidingWindow: 2, prefix: { len: 2, seqLen: 2 } });
    const r = attentionReference(p, host([1], [0], [4], { keySharedPrefix: f64([5, LN3]), valueSharedPrefix: f64([100, 8]) }));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  // Prefill: Q_S 3 over KV 4, q = 1 per row: row i sits at p = i + 4 − 3 = i + 1.
  const prefill = (over: Partial<Problem>): Problem =>
    makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 3, kvSeqLen: 4, scaleValue: 1, ...over });
  const pKeys = [0, LN3, 0, LN3];
  const pValues = [4, 8, 12, 0];

  it('prefill: row i keeps p − W < j ≤ p, aligned to the end of the KV', () => {
    // W 2: row 0 keeps {0, 1}: s [0, ln3], v [4, 8] → (4 + 24)/4 = 7; row 1 {1, 2}: s [ln3, 0],
    // v [8, 12] → (24 + 12)/4 = 9; row 2 {2, 3}: s [0, ln3], v [12, 0] → 12/4 = 3. lse ln 4 each.
    const r = attentionReference(prefill({ slidingWindow: 2 }), host([1, 1, 1], pKeys, pValues));
    expectClose(r.attentionOut, [7, 9, 3]);
    expectClose(r.softmaxLse!, [LN4, LN4, LN4]);
  });

  it('prefill: intersected with a top-left causal band (sparseMode 2)', () => {
    // j ≤ i as well: row 0 {0,1} ∩ {0} = {0}: out 4, lse 0; row 1 {1,2} ∩ {0,1} = {1}: out 8,
    // lse ln3; row 2 {2,3} ∩ {0,1,2} = {2}: out 12, lse 0.
    const p = prefill({ slidingWindow: 2, sparseMode: 2, band: { anchor: 'topLeft', preTokens: INT_MAX, nextTokens: 0 } });
    const r = attentionReference(p, host([1, 1, 1], pKeys, pValues));
    expectClose(r.attentionOut, [4, 8, 12]);
    expectClose(r.softmaxLse!, [0, LN3, 0]);
  });

  it('prefill: rows before the start of a short KV keep nothing (out 0, lse +Inf)', () => {
    // kvLens [1], W 5: p = i + 1 − 3 = i − 2: rows 0, 1 have p < 0 (nothing kept); row 2 keeps
    // column 0 alone: s 0, v 4 → out 4, lse 0.
    const r = attentionReference(prefill({ slidingWindow: 5, kvLens: [1] }), host([1, 1, 1], pKeys, pValues));
    expectClose(r.attentionOut, [0, 0, 4]);
    expectClose(r.softmaxLse!, [Infinity, Infinity, 0]);
  });
});
