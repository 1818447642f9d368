// Hand-computed cases for the core of the reference: softmax, lse, masks, bands, causal modes,
// pse, GQA, layouts, row-invalid rule, empty tensors. Every expected value is derived in the comments.
import { describe, expect, it } from 'vitest';
import { INT_MAX, type HostInputs, type Problem } from '../src/problem/problem.js';
import { attentionReference } from '../src/reference/index.js';
import { makeProblem } from './helpers/cases.js';
import { expectClose, f64, LN2, LN3, LN4 } from './helpers/handChecks.js';


function host(query: number[], key: number[], value: number[], extra: Partial<HostInputs> = {}): HostInputs {
  return { query: f64(query), key: [f64(key)], value: [f64(value)], ...extra };
}


/** B=1, N=1, D=1, scale 1: q rows of zeros make every score 0, so out = mean of V over kept columns. */
function zeroQuery(qSeqLen: number, kvSeqLen: number, over: Partial<Problem> = {}): Problem {
  return makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, qSeqLen, kvSeqLen, scaleValue: 1, ...over });
}

describe('softmax core (§1)', () => {
  it('two keys with equal scores give the average of V; lse = m + ln 2', () => {
    // q = [1,0], k0 = k1 = [1,0] → s = [1, 1]; m = 1, l = 2, out = (v0 + v1)/2 = ([2,4] + [6,8])/2.
    const p = makeProblem({ batch: 1, numQoHeads: 1, headDim: 2, qSeqLen: 2, kvSeqLen: 2, scaleValue: 1, qLens: [1] });
    const r = attentionReference(p, host([1, 0, 9, 9], [1, 0, 1, 0], [2, 4, 6, 8]));
    // Row 1 is outside Sq_b = 1: out 0, lse +Inf.
    expectClose(r.attentionOut, [4, 6, 0, 0]);
    expectClose(r.softmaxLse!, [1 + LN2, Infinity]);
  });

  it('scores 0 and ln 3 weigh V by 1/4 and 3/4; lse = ln 4', () => {
    // q = [1], k = [0, ln 3], scale 1 → s = [0, ln3]; m = ln3, e = [1/3, 1], l = 4/3.
    // out = (1/3·4 + 1·8) / (4/3) = (4/3 + 8)·3/4 = 1 + 6 = 7; lse = ln3 + ln(4/3) = ln 4.
    const p = makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1 });
    const r = attentionReference(p, host([1], [0, LN3], [4, 8]));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('scaleValue multiplies the dot product', () => {
    // q = [2, 1], k0 = [ln3, 0], k1 = [0, 0], scale 0.5: s0 = 0.5·(2·ln3) = ln3, s1 = 0.
    // Weights 3/4, 1/4: out = 3/4·10 + 1/4·2 = 8; lse = ln 4.
    const p = makeProblem({ batch: 1, numQoHeads: 1, headDim: 2, qSeqLen: 1, kvSeqLen: 2, scaleValue: 0.5 });
    const r = attentionReference(p, host([2, 1], [LN3, 0, 0, 0], [10, 0, 2, 0]));
    expectClose(r.attentionOut, [8, 0]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('softmaxLse false → null', () => {
    const p = zeroQuery(1, 1, { softmaxLse: false });
    expect(attentionReference(p, host([0], [0], [5])).softmaxLse).toBeNull();
  });
});

describe('attenMask (§3)', () => {
  const mask2x2: Partial<Problem> = {
    mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 2, colStride: 1, offset: 0 },
  };

  it('a masked column is excluded; a fully masked row gives out 0, lse +Inf', () => {
    // Scores all 0. Mask rows: [0,1] → row 0 keeps col 0 only: out = v0 = 3, lse = 0 + ln 1 = 0.
    //                          [1,1] → row 1 keeps nothing: out 0, lse +Inf (row-invalid rule).
    const p = zeroQuery(2, 2, mask2x2);
    const r = attentionReference(p, host([0, 0], [0, 0], [3, 5], { attenMask: f64([0, 1, 1, 1]) }));
    expectClose(r.attentionOut, [3, 0]);
    expectClose(r.softmaxLse!, [0, Infinity]);
  });

  it('any nonzero byte masks; strides allow padded mask dims and batch broadcast', () => {
    // Mask (1, 1, 3, 4) padded beyond Q_S = 2, KV_S = 3; batch stride 0 broadcasts to B = 2.
    // Row 0 bytes [0, 7, 0, x] → keeps cols 0, 2: mean(v) batch0 = (1+3)/2 = 2, batch1 = (10+30)/2 = 20.
    // Row 1 bytes [255, 0, 0, x] → keeps cols 1, 2: batch0 (2+3)/2 = 2.5, batch1 (20+30)/2 = 25.
    const p = makeProblem({
      batch: 2, numQoHeads: 1, headDim: 1, qSeqLen: 2, kvSeqLen: 3, scaleValue: 1,
      mask: { source: 'attenMask', dtype: 'UINT8', batchStride: 0, rowStride: 4, colStride: 1, offset: 0 },
    });
    const mask = f64([0, 7, 0, 1, 255, 0, 0, 1, 1, 1, 1, 1]);
    const r = attentionReference(p, host([0, 0, 0, 0], new Array(6).fill(0), [1, 2, 3, 10, 20, 30], { attenMask: mask }));
    expectClose(r.attentionOut, [2, 2.5, 20, 25]);
    expectClose(r.softmaxLse!, [LN2, LN2, LN2, LN2]);
  });

  it('host copies have the view offset applied: MaskView/PseView offsets are not added again', () => {
    // A device mask at buffer offset 5: the host copy starts at the tensor's first element. Mask [0, 1] keeps col 0 → 3;
    // pse [ln3, 0] at device offset 7 → only col 0 kept, lse = ln 3.
    const p = zeroQuery(1, 2, {
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 0, colStride: 1, offset: 5 },
      pse: { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: 2, rowStride: 0, colStride: 1, offset: 7 },
    });
    const r = attentionReference(p, host([0], [0, 0], [3, 5], { attenMask: f64([0, 1]), pseShift: f64([LN3, 0]) }));
    expectClose(r.attentionOut, [3]);
    expectClose(r.softmaxLse!, [LN3]);
  });

  it('a per-batch mask uses its batch stride', () => {
    // Mask (2, 1, 2): batch 0 [0,1] keeps col 0 → v=1; batch 1 [1,0] keeps col 1 → v=20. Decode-style row stride 0.
    const p = makeProblem({
      batch: 2, numQoHeads: 1, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1,
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 2, rowStride: 0, colStride: 1, offset: 0 },
    });
    const r = attentionReference(p, host([0, 0], [0, 0, 0, 0], [1, 2, 10, 20], { attenMask: f64([0, 1, 1, 0]) }));
    expectClose(r.attentionOut, [1, 20]);
    expectClose(r.softmaxLse!, [0, 0]);
  });
});

describe('band and sparse modes (§4), Sq = 3, Skv = 4, V = [10, 20, 30, 40], scores 0', () => {
  const V = [10, 20, 30, 40];
  const run = (over: Partial<Problem>, qSeqLen = 3, kvSeqLen = 4) => {
    const p = zeroQuery(qSeqLen, kvSeqLen, over);
    return attentionReference(p, host(new Array(qSeqLen).fill(0), new Array(kvSeqLen).fill(0), V.slice(0, kvSeqLen)));
  };

  it('mode 0 with a mask: band anchored top-left, pre 0, next 1 → j - i ∈ [0, 1]', () => {
    // Row 0 keeps j ∈ {0,1} → 15; row 1 {1,2} → 25; row 2 {2,3} → 35; each l = 2, lse = ln 2.
    const r = run({ sparseMode: 0, band: { anchor: 'topLeft', preTokens: 0, nextTokens: 1 } });
    expectClose(r.attentionOut, [15, 25, 35]);
    expectClose(r.softmaxLse!, [LN2, LN2, LN2]);
  });

  it('mode 2 (left-up causal): j ≤ i', () => {
    // Row 0 {0} → 10, lse 0; row 1 {0,1} → 15, ln 2; row 2 {0,1,2} → 20, ln 3.
    const r = run({ sparseMode: 2, band: { anchor: 'topLeft', preTokens: INT_MAX, nextTokens: 0 } });
    expectClose(r.attentionOut, [10, 15, 20]);
    expectClose(r.softmaxLse!, [0, LN2, LN3]);
  });

  it('mode 3 (right-down causal): j ≤ i + o_b, o_b = Skv - Sq = 1', () => {
    // Row 0 {0,1} → 15; row 1 {0,1,2} → 20; row 2 {0,1,2,3} → 25; lse ln 2, ln 3, ln 4.
    const r = run({ sparseMode: 3, band: { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 } });
    expectClose(r.attentionOut, [15, 20, 25]);
    expectClose(r.softmaxLse!, [LN2, LN3, LN4]);
  });

  it('mode 4 (band anchored right-down), pre 1, next 0: -1 ≤ j - (i + 1) ≤ 0', () => {
    // j ∈ {i, i+1}: row 0 {0,1} → 15; row 1 {1,2} → 25; row 2 {2,3} → 35.
    const r = run({ sparseMode: 4, band: { anchor: 'rightDown', preTokens: 1, nextTokens: 0 } });
    expectClose(r.attentionOut, [15, 25, 35]);
    expectClose(r.softmaxLse!, [LN2, LN2, LN2]);
  });

  it('mode 3 with Sq > Skv empties the first rows (row-invalid: out 0, lse +Inf)', () => {
    // Sq = 3, Skv = 2: o_b = -1, keep j ≤ i - 1: row 0 nothing; row 1 {0} → 10; row 2 {0,1} → 15.
    const r = run({ sparseMode: 3, band: { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 } }, 3, 2);
    expectClose(r.attentionOut, [0, 10, 15]);
    expectClose(r.softmaxLse!, [Infinity, 0, LN2]);
  });

  it('band and mask combine: kept = mask ∧ band', () => {
    // Mode 2 keeps j ≤ i; the mask (3,4) masks column 0 everywhere: row 0 empty, row 1 {1} → 20, row 2 {1,2} → 25.
    const p = zeroQuery(3, 4, {
      band: { anchor: 'topLeft', preTokens: INT_MAX, nextTokens: 0 },
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 4, colStride: 1, offset: 0 },
    });
    const mask = f64([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    const r = attentionReference(p, host([0, 0, 0], [0, 0, 0, 0], V, { attenMask: mask }));
    expectClose(r.attentionOut, [0, 20, 25]);
    expectClose(r.softmaxLse!, [Infinity, 0, LN2]);
  });

  it('the right-down anchor uses each batch\'s own lengths', () => {
    // B = 2, mode 3. Batch 0: Sq 3, Skv 4 → o = 1 (as above) → [15, 20, 25].
    // Batch 1 (V [1,2,3,4]): Sq 2, Skv 2 → o = 0: row 0 {0} → 1, row 1 {0,1} → 1.5, row 2 invalid (i ≥ Sq).
    const p = makeProblem({
      batch: 2, numQoHeads: 1, headDim: 1, qSeqLen: 3, kvSeqLen: 4, scaleValue: 1,
      qLens: [3, 2], kvLens: [4, 2], band: { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 },
    });
    const r = attentionReference(p, host(new Array(6).fill(0), new Array(8).fill(0), [...V, 1, 2, 3, 4]));
    expectClose(r.attentionOut, [15, 20, 25, 1, 1.5, 0]);
    expectClose(r.softmaxLse!, [LN2, LN3, LN4, 0, LN2, Infinity]);
  });
});

describe('pseShift (§5)', () => {
  it('pse is added after scaling', () => {
    // scale 0.5, q = [2], k = [1, 1] → scaled scores [1, 1]; pse [0, ln3] → s = [1, 1 + ln3].
    // Weights 1/4, 3/4: out = 4/4 + 3·8/4 = 7; lse = 1 + ln3 + ln(4/3) = 1 + ln 4.
    // (pse before scaling would give s = [1, 1 + ln3/2], a different result.)
    const p = makeProblem({
      batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 0.5,
      pse: { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: 2, rowStride: 2, colStride: 1, offset: 0 },
    });
    const r = attentionReference(p, host([2], [1, 1], [4, 8], { pseShift: f64([0, LN3]) }));
    expectClose(r.attentionOut, [7]);
    expectClose(r.softmaxLse!, [1 + LN4]);
  });

  it('pse strides: per head, per row, padded columns, batch broadcast', () => {
    // pse (1, 2, 2, 3) over N = 2 heads, Q_S = 2, KV_S = 2 (column 2 is padding). Scores are 0 + pse.
    // head 0 row 0 [0, ln3] → 1/4·1 + 3/4·5 = 4;  head 0 row 1 [ln3, 0] → 3/4·1 + 1/4·5 = 2.
    // head 1 row 0 [0, 0] → 3;                   head 1 row 1 [-ln3, 0] → 1/4·1 + 3/4·5 = 4.
    // Both batches see the same pse (batch stride 0).
    const p = makeProblem({
      batch: 2, numQoHeads: 2, headDim: 1, qSeqLen: 2, kvSeqLen: 2, scaleValue: 1,
      pse: { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: 6, rowStride: 3, colStride: 1, offset: 0 },
    });
    const pse = f64([0, LN3, 99, LN3, 0, 99, 0, 0, 99, -LN3, 0, 99]);
    // BNSD key/value [2, 2, 2, 1]: every (b, h) has v = [1, 5].
    const r = attentionReference(p, host(new Array(8).fill(0), new Array(8).fill(0), [1, 5, 1, 5, 1, 5, 1, 5], { pseShift: pse }));
    expectClose(r.attentionOut, [4, 2, 3, 4, 4, 2, 3, 4]);
    // lse: row [0, ln3] → ln3 + ln(4/3) = ln4; [0,0] → ln2; [-ln3, 0] → 0 + ln(4/3).
    const l43 = Math.log(4 / 3);
    expectClose(r.softmaxLse!, [LN4, LN4, LN2, l43, LN4, LN4, LN2, l43]);
  });
});

describe('GQA and layouts (§2)', () => {
  it('query head n reads KV head ⌊n / groupSize⌋', () => {
    // N = 4, KV_N = 2, G = 2. Scores 0 → out = mean of the KV head's V over 2 keys.
    // KV head 0: v = [1, 3] → 2 (heads 0, 1); KV head 1: v = [5, 7] → 6 (heads 2, 3).
    const p = makeProblem({ batch: 1, numQoHeads: 4, numKvHeads: 2, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1 });
    const r = attentionReference(p, host([0, 0, 0, 0], [0, 0, 0, 0], [1, 3, 5, 7]));
    expectClose(r.attentionOut, [2, 2, 6, 6]);
  });

  it('BSH, BSND and BNSD address the same logical tensor', () => {
    // B 1, N 2, S 2, D 1, one key per head with v = 10·(head+1) + s? Use Q_S = 2, KV_S = 1:
    // out(n, s) = v of head n's single key: head 0 → 7, head 1 → 9, for both rows.
    // BNSD out [1,2,2,1] order (n, s): [7, 7, 9, 9]; BSH/BSND out order (s, n): [7, 9, 7, 9].
    // KV with S = 1 has the same element order in every layout: [v(h0), v(h1)] = [7, 9].
    for (const layout of ['BSH', 'BSND', 'BNSD'] as const) {
      const p = makeProblem({ batch: 1, numQoHeads: 2, headDim: 1, qSeqLen: 2, kvSeqLen: 1, scaleValue: 1, layout });
      const r = attentionReference(p, host([0, 0, 0, 0], [0, 0], [7, 9]));
      expectClose(r.attentionOut, layout === 'BNSD' ? [7, 7, 9, 9] : [7, 9, 7, 9]);
      // lse is always [B, N, Q_S].
      expectClose(r.softmaxLse!, [0, 0, 0, 0]);
    }
  });

  it('KV layout addressing: BSND key [1, 2, 2, 1] vs. BNSD', () => {
    // Two keys per head, scores 0 → out = mean over that head's two keys.
    // Logical V: head 0 = [1, 3], head 1 = [10, 30] → out head 0 = 2, head 1 = 20.
    // BSND order (s, n): [1, 10, 3, 30]; BNSD order (n, s): [1, 3, 10, 30].
    const bsnd = makeProblem({ batch: 1, numQoHeads: 2, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1, layout: 'BSND' });
    const bnsd = makeProblem({ batch: 1, numQoHeads: 2, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1, layout: 'BNSD' });
    expectClose(attentionReference(bsnd, host([0, 0], [0, 0, 0, 0], [1, 10, 3, 30])).attentionOut, [2, 20]);
    expectClose(attentionReference(bnsd, host([0, 0], [0, 0, 0, 0], [1, 3, 10, 30])).attentionOut, [2, 20]);
  });

  it('BSH with D = 2: H = N·D, head n occupies columns [n·D, (n+1)·D)', () => {
    // N 2, D 2, one key: out(n) = v(n). Key/value BSH [1, 1, 4] = [h0d0, h0d1, h1d0, h1d1].
    const p = makeProblem({ batch: 1, numQoHeads: 2, headDim: 2, qSeqLen: 1, kvSeqLen: 1, layout: 'BSH' });
    const r = attentionReference(p, host([0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]));
    expectClose(r.attentionOut, [1, 2, 3, 4]);
  });

  it('BNSD_BSND reads BNSD and writes BSND', () => {
    // Query BNSD [1, 2, 2, 1] and KV BNSD; out(n, s) = head n's V mean (1 key: 7 or 9) → BSND (s, n): [7, 9, 7, 9].
    // Row 1 is invalid (qLens [1]): BSND positions (s=1, n=0), (s=1, n=1) are 0.
    const p = makeProblem({ batch: 1, numQoHeads: 2, headDim: 1, qSeqLen: 2, kvSeqLen: 1, layout: 'BNSD_BSND', qLens: [1] });
    expect(p.queryLayout).toBe('BNSD');
    expect(p.outLayout).toBe('BSND');
    const r = attentionReference(p, host([0, 0, 0, 0], [0, 0], [7, 9]));
    expectClose(r.attentionOut, [7, 9, 0, 0]);
    expectClose(r.softmaxLse!, [0, Infinity, 0, Infinity]);
  });
});

describe('lengths and empty tensors (§1, §2)', () => {
  it('qLens/kvLens per batch: rows ≥ Sq_b are 0/+Inf, columns ≥ Skv_b unused', () => {
    // B 2, Q_S 2, KV_S 3, scores 0. Batch 0: Sq 2, Skv 1 → both rows = v0 = 1.
    // Batch 1: Sq 1, Skv 3 → row 0 = mean(10, 20, 30) = 20, lse ln3; row 1 invalid.
    const p = zeroQuery(2, 3, { batch: 2, qLens: [2, 1], kvLens: [1, 3] });
    const r = attentionReference(p, host([0, 0, 0, 0], new Array(6).fill(0), [1, 99, 99, 10, 20, 30]));
    expectClose(r.attentionOut, [1, 1, 20, 0]);
    expectClose(r.softmaxLse!, [0, 0, LN3, Infinity]);
  });

  it('KV with S = 0: out 0, lse +Inf', () => {
    const p = zeroQuery(2, 0);
    const r = attentionReference(p, host([1, 2], [], []));
    expectClose(r.attentionOut, [0, 0]);
    expectClose(r.softmaxLse!, [Infinity, Infinity]);
  });

  it('decode batch with Skv_b + P = 0: out 0, lse +Inf', () => {
    const p = zeroQuery(1, 2, { batch: 2, kvLens: [0, 2] });
    const r = attentionReference(p, host([0, 0], [0, 0, 0, 0], [1, 2, 3, 5]));
    expectClose(r.attentionOut, [0, 4]);
    expectClose(r.softmaxLse!, [Infinity, LN2]);
  });

  it('a query with 0 elements writes nothing', () => {
    const p = zeroQuery(0, 2);
    const r = attentionReference(p, host([], [0, 0], [1, 2]));
    expect(r.attentionOut.length).toBe(0);
    expect(r.softmaxLse).toBeNull();
  });

  it('tensor-list KV: batch b reads tensor b with its own S', () => {
    // Batch 0: tensor S 1, v [4] → 4. Batch 1: tensor S 3, v [1, 2, 6] → mean 3, lse ln 3.
    const p = zeroQuery(1, 3, {
      batch: 2, kvLens: [1, 3], kv: { kind: 'list', kvLayout: 'BNSD', seqLens: [1, 3] },
    });
    const h: HostInputs = { query: f64([0, 0]), key: [f64([0]), f64([0, 0, 0])], value: [f64([4]), f64([1, 2, 6])] };
    const r = attentionReference(p, h);
    expectClose(r.attentionOut, [4, 3]);
    expectClose(r.softmaxLse!, [0, LN3]);
  });
});

describe('roundTo emulation', () => {
  it('rounds the normalized output to the storage dtype', () => {
    // One key, v = 1/3 → exact out 1/3; FLOAT16: 1/3 ≈ 0x3555 = 1365/4096 = 0.333251953125;
    // BFLOAT16: 0x3EAB = 171/512 = 0.333984375; FLOAT32: Math.fround(1/3).
    const p = zeroQuery(1, 1);
    const h = host([0], [0], [1 / 3]);
    expect(attentionReference(p, h).attentionOut[0]).toBe(1 / 3);
    expect(attentionReference(p, h, { roundTo: 'FLOAT16' }).attentionOut[0]).toBe(1365 / 4096);
    expect(attentionReference(p, h, { roundTo: 'BFLOAT16' }).attentionOut[0]).toBe(171 / 512);
    expect(attentionReference(p, h, { roundTo: 'FLOAT32' }).attentionOut[0]).toBe(Math.fround(1 / 3));
  });

  it('rounds scores after scale + pse', () => {
    // q = [1], k = [0, 0.1], scale 1 → s1 = 0.1 in f16 = 1638/16384 = 0.0999755859375.
    // Weights ∝ [1, e^{s1}] with V = [0, 1]: out = e^{s1} / (1 + e^{s1}) = 1 / (1 + e^{-s1}); lse = ln(1 + e^{s1}).
    // In f16 also e^{0} = 1 and e^{s1 - s1} = 1 are exact; the exp weight of column 0 is f16(e^{-s1}).
    const s1 = 1638 / 16384;
    const p = makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, qSeqLen: 1, kvSeqLen: 2, scaleValue: 1 });
    const r = attentionReference(p, host([1], [0, 0.1], [0, 1]), { roundTo: 'FLOAT16' });
    // e0 = f16(e^{-s1}) = f16(0.904856...) = 1853/2048 = 0.90478515625 (ulp 2^-11 in [0.5, 1)).
    const e0 = 1853 / 2048;
    expect(r.softmaxLse![0]).toBeCloseTo(s1 + Math.log(1 + e0), 14);
    // out = f16(1 / (1 + e0)) = f16(0.52499...) → 1075/2048 = 0.52490234375.
    expect(r.attentionOut[0]).toBe(1075 / 2048);
  });
});
