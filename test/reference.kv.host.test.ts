// Hand-computed cases for how the reference finds K/V: left padding windows, paged KV (both
// cache layouts, shuffled block tables, bad block ids), shared prefix, antiquant modes 0-5, INT4.
import { describe, expect, it } from 'vitest';
import { unpackInt4 } from '../src/codec/int.js';
import { INT_MAX, type Antiquant, type HostInputs, type ParamIndex, type Problem } from '../src/problem/problem.js';
import { attentionReference } from '../src/reference/index.js';
import { makeProblem } from './helpers/cases.js';
import { expectClose, f64, LN2, LN3, LN4 } from './helpers/handChecks.js';

const zeros = (n: number): number[] => new Array<number>(n).fill(0);


/** D = 1, scale 1, BNSD; zero queries make every score 0 so out = mean of V over kept columns. */
function problem(over: Partial<Problem> & { batch?: number; qSeqLen: number; kvSeqLen: number }): Problem {
  return makeProblem({ batch: 1, numQoHeads: 1, headDim: 1, scaleValue: 1, ...over });
}

describe('left padding (§2)', () => {
  const run = (pad: number | undefined) => {
    // Q_S 4, Sq 2, one key v = 5: valid rows [4 - pad - 2, 4 - pad).
    const p = problem({ qSeqLen: 4, kvSeqLen: 1, qLens: [2], qLeftPadding: true });
    return attentionReference(p, { query: f64(zeros(4)), key: [f64([0])], value: [f64([5])], queryPaddingSize: pad });
  };

  it('query rows of batch b are [Q_S - pad - Sq_b, Q_S - pad)', () => {
    // pad 1 → rows [1, 3).
    const r = run(1);
    expectClose(r.attentionOut, [0, 5, 5, 0]);
    expectClose(r.softmaxLse!, [Infinity, 0, 0, Infinity]);
  });

  it('a negative or absent pad counts as 0', () => {
    // pad -2 → 0 → rows [2, 4).
    expectClose(run(-2).attentionOut, [0, 0, 5, 5]);
    expectClose(run(undefined).attentionOut, [0, 0, 5, 5]);
  });

  it('a query window leaving [0, Q_S) zeroes the whole batch', () => {
    // pad 3 → start 4 - 3 - 2 = -1 < 0.
    const r = run(3);
    expectClose(r.attentionOut, [0, 0, 0, 0]);
    expectClose(r.softmaxLse!, [Infinity, Infinity, Infinity, Infinity]);
  });

  it('KV rows are [KV_S - pad - Skv_b, KV_S - pad); the mask keeps physical columns', () => {
    // KV_S 4, Skv 2, pad 1 → KV rows [1, 3): V = [100, 1, 3, 100] → mean(1, 3) = 2, lse ln 2.
    const p = problem({ qSeqLen: 1, kvSeqLen: 4, kvLens: [2], kvLeftPadding: true });
    const h: HostInputs = { query: f64([0]), key: [f64(zeros(4))], value: [f64([100, 1, 3, 100])], kvPaddingSize: 1 };
    let r = attentionReference(p, h);
    expectClose(r.attentionOut, [2]);
    expectClose(r.softmaxLse!, [LN2]);
    // Mask (B, KV_S) [0, 1, 0, 0] masks physical column 1 = logical KV position 0 → out = 3, lse 0.
    const masked: Problem = { ...p, mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 4, rowStride: 0, colStride: 1, offset: 0 } };
    r = attentionReference(masked, { ...h, attenMask: f64([0, 1, 0, 0]) });
    expectClose(r.attentionOut, [3]);
    expectClose(r.softmaxLse!, [0]);
    // pad 3 → start 4 - 3 - 2 = -1: the batch is all zeros.
    r = attentionReference(p, { ...h, kvPaddingSize: 3 });
    expectClose(r.attentionOut, [0]);
    expectClose(r.softmaxLse!, [Infinity]);
  });

  it('mask and pse rows are physical; the band uses logical rows', () => {
    // Q_S 3, Sq 2, pad 0 → physical rows [1, 3) hold logical rows 0, 1. KV_S 2, V = [10, 20].
    // Mask (3, 2): row 0 [1, 1] (would empty logical row 0 if rows were logical), row 1 [0, 0], row 2 [0, 1].
    // Mode 2 band on logical rows: logical 0 keeps j ≤ 0 → 10 (mask row 1 keeps all);
    // logical 1 keeps j ≤ 1 and mask row 2 masks col 1 → 10. pse adds [0, 0] → no effect.
    const p = problem({
      qSeqLen: 3, kvSeqLen: 2, qLens: [2], qLeftPadding: true,
      band: { anchor: 'topLeft', preTokens: INT_MAX, nextTokens: 0 },
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 0, rowStride: 2, colStride: 1, offset: 0 },
      pse: { source: 'pseShift', dtype: 'FLOAT16', batchStride: 0, headStride: 6, rowStride: 2, colStride: 1, offset: 0 },
    });
    // pse row 1 (logical 0) [0, 0]; row 2 (logical 1) [ln3, 0] → with col 1 masked, still 10, lse = ln3.
    const h: HostInputs = {
      query: f64(zeros(3)), key: [f64([0, 0])], value: [f64([10, 20])], queryPaddingSize: 0,
      attenMask: f64([1, 1, 0, 0, 0, 1]), pseShift: f64([99, 99, 0, 0, LN3, 0]),
    };
    const r = attentionReference(p, h);
    expectClose(r.attentionOut, [0, 10, 10]);
    expectClose(r.softmaxLse!, [Infinity, 0, LN3]);
  });
});

describe('paged KV (§6)', () => {
  // Cache values 2^k make every subset's mean identify the set.
  const cacheV = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

  function paged(over: Partial<Problem>, blockSize: number, numBlocks: number, maxBlocksPerSeq: number, cacheLayout: 'BSH' | 'BNSD' = 'BSH'): Problem {
    return problem({
      qSeqLen: 1, kvSeqLen: maxBlocksPerSeq * blockSize, ...over,
      kv: { kind: 'paged', cacheLayout, blockSize, maxBlocksPerSeq, numBlocks },
    });
  }

  it('gathers through a shuffled block table (BSH cache)', () => {
    // Blocks of 2 slots, 5 blocks: block k holds [cacheV[2k], cacheV[2k+1]].
    // Batch 0, table [2, 0], Skv 3: p0 → block 2 slot 0 = 16, p1 → 32, p2 → block 0 slot 0 = 1 → 49/3.
    // Batch 1, table [4, 1], Skv 4: 256, 512, 4, 8 → 780/4 = 195.
    const p = paged({ batch: 2, kvLens: [3, 4] }, 2, 5, 2);
    const h: HostInputs = { query: f64([0, 0]), key: [f64(zeros(10))], value: [f64(cacheV)], blockTable: Int32Array.from([2, 0, 4, 1]) };
    let r = attentionReference(p, h);
    expectClose(r.attentionOut, [49 / 3, 195]);
    expectClose(r.softmaxLse!, [LN3, LN4]);
    // Mask (B, KV_S = 4) on logical positions: batch 0 masks p1 (32) → (16 + 1)/2 = 8.5; batch 1 masks p3 (8) → 772/3.
    const masked: Problem = { ...p, mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 4, rowStride: 0, colStride: 1, offset: 0 } };
    r = attentionReference(masked, { ...h, attenMask: f64([0, 1, 0, 0, 0, 0, 0, 1]) });
    expectClose(r.attentionOut, [8.5, 772 / 3]);
  });

  it('a block id outside [0, numBlocks) masks its positions', () => {
    // Table [2, 7] with 5 blocks: p0, p1 from block 2 (16, 32), p2 in block 7 → masked → mean 24, lse ln 2.
    // Table [-1, 3]: p0, p1 masked; p2 → block 3 slot 0 = 64, lse 0.
    const p = paged({ batch: 2, kvLens: [3, 3] }, 2, 5, 2);
    const h: HostInputs = { query: f64([0, 0]), key: [f64(zeros(10))], value: [f64(cacheV)], blockTable: Int32Array.from([2, 7, -1, 3]) };
    const r = attentionReference(p, h);
    expectClose(r.attentionOut, [24, 64]);
    expectClose(r.softmaxLse!, [LN2, 0]);
  });

  it('BSH cache (blockNum, blockSize, KV_N·D) with 2 KV heads', () => {
    // Flattened cache [1..8]: block 0 slot 0 = [h0 1, h1 2], slot 1 = [3, 4]; block 1 slot 0 = [5, 6], slot 1 = [7, 8].
    // Table [1, 0], Skv 3: h0 reads 5, 7, 1 → 13/3; h1 reads 6, 8, 2 → 16/3.
    const p = paged({ numQoHeads: 2, numKvHeads: 2, kvLens: [3] }, 2, 2, 2, 'BSH');
    const h: HostInputs = { query: f64([0, 0]), key: [f64(zeros(8))], value: [f64([1, 2, 3, 4, 5, 6, 7, 8])], blockTable: Int32Array.from([1, 0]) };
    expectClose(attentionReference(p, h).attentionOut, [13 / 3, 16 / 3]);
  });

  it('BNSD cache (blockNum, KV_N, blockSize, D) with 2 KV heads', () => {
    // Flattened cache [1..8]: block 0 h0 = [1, 2], h1 = [3, 4]; block 1 h0 = [5, 6], h1 = [7, 8].
    // Table [1, 0], Skv 3: h0 reads 5, 6, 1 → 4; h1 reads 7, 8, 3 → 6.
    const p = paged({ numQoHeads: 2, numKvHeads: 2, kvLens: [3] }, 2, 2, 2, 'BNSD');
    const h: HostInputs = { query: f64([0, 0]), key: [f64(zeros(8))], value: [f64([1, 2, 3, 4, 5, 6, 7, 8])], blockTable: Int32Array.from([1, 0]) };
    expectClose(attentionReference(p, h).attentionOut, [4, 6]);
  });

  it('keys are gathered the same way as values', () => {
    // K cache = V cache positions' markers: BSH, 1 head, block 0 = [0, 0], block 1 = [ln3, 0]; table [1, 0], Skv 3, q = 1.
    // Scores: p0 → ln3, p1 → 0, p2 → 0 → weights [3/5, 1/5, 1/5]; V block 1 = [10, 20], block 0 = [30, 40]:
    // p0 → 10, p1 → 20, p2 → 30 → out = (30 + 20 + 30)/5 = 16; lse = ln(3 + 1 + 1) = ln 5.
    const p = paged({ kvLens: [3] }, 2, 2, 2);
    const h: HostInputs = {
      query: f64([1]), key: [f64([0, 0, LN3, 0])], value: [f64([30, 40, 10, 20])], blockTable: Int32Array.from([1, 0]),
    };
    const r = attentionReference(p, h);
    expectClose(r.attentionOut, [16]);
    expectClose(r.softmaxLse!, [Math.log(5)]);
  });
});

describe('shared prefix (§7)', () => {
  // Prefix tensor (1, 1, 3, 1) with P = 2: V [2, 4, 1000] (row 2 beyond P is never read).
  const prefixHost = (value: number[]): HostInputs => ({
    query: f64(zeros(2)), key: [f64(zeros(value.length))], value: [f64(value)],
    keySharedPrefix: f64([0, 0, 0]), valueSharedPrefix: f64([2, 4, 1000]),
  });

  it('batch b attends to prefix[0:P] ++ kv_b[0:Skv_b]; Skv_b = 0 attends the prefix alone', () => {
    // Batch 0: [2, 4] ++ [6] → 4, lse ln 3. Batch 1 (Skv 0): [2, 4] → 3, lse ln 2.
    const p = problem({ batch: 2, qSeqLen: 1, kvSeqLen: 2, kvLens: [1, 0], prefix: { len: 2, seqLen: 3 } });
    const r = attentionReference(p, prefixHost([6, 99, 99, 99]));
    expectClose(r.attentionOut, [4, 3]);
    expectClose(r.softmaxLse!, [LN3, LN2]);
  });

  it('mask columns count the prefix first', () => {
    // Mask (B, P + KV_S = 4): batch 0 [1, 0, 0, 0] masks prefix row 0 → mean(4, 6) = 5;
    // batch 1 [0, 0, 1, 1] masks KV columns → kv row 0 (8) unused → mean(2, 4) = 3.
    const p = problem({
      batch: 2, qSeqLen: 1, kvSeqLen: 2, kvLens: [1, 1], prefix: { len: 2, seqLen: 3 },
      mask: { source: 'attenMask', dtype: 'BOOL', batchStride: 4, rowStride: 0, colStride: 1, offset: 0 },
    });
    const r = attentionReference(p, { ...prefixHost([6, 99, 8, 99]), attenMask: f64([1, 0, 0, 0, 0, 0, 1, 1]) });
    expectClose(r.attentionOut, [5, 3]);
  });

  it('the right-down anchor counts the prefix: o_b = Skv_b + P - Sq_b', () => {
    // Q_S 2, P 2, Skv 1 → o = 1. Mode 3: row 0 keeps c ≤ 1 (prefix only) → 3; row 1 keeps c ≤ 2 → (2+4+6)/3 = 4.
    const p = problem({
      qSeqLen: 2, kvSeqLen: 1, prefix: { len: 2, seqLen: 3 },
      band: { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 },
    });
    const r = attentionReference(p, prefixHost([6]));
    expectClose(r.attentionOut, [3, 4]);
    expectClose(r.softmaxLse!, [LN2, LN3]);
  });
});

describe('antiquant (§8): x = (q + offset) · scale', () => {
  const idx = (o: Partial<ParamIndex>): ParamIndex => ({ base: 0, batch: 0, head: 0, token: 0, dim: 0, ...o });
  const aq = (o: Partial<Antiquant> & Pick<Antiquant, 'scale' | 'index'>): Antiquant =>
    ({ mode: 0, offset: null, dtype: 'FLOAT16', pagedToken: false, ...o });
  const int8Problem = (over: Partial<Problem> & { qSeqLen?: number; kvSeqLen: number }): Problem =>
    problem({ qSeqLen: 1, kvDtype: 'INT8', ...over });

  it('per-channel, separate key/value params, value offset', () => {
    // D 2. Key raw [[2, 0], [0, 0]], key scale [ln3/2, 1] → keys [ln3, 0], [0, 0]; q = [1, 5] → s = [ln3, 0].
    // Value raw [[1, 2], [3, 4]], scale [0.5, 2], offset [1, -1] → [[1, 2], [2, 6]].
    // Weights [3/4, 1/4] → out = [0.75 + 0.5, 1.5 + 1.5] = [1.25, 3]; lse ln 4.
    const p = int8Problem({
      headDim: 2, kvSeqLen: 2,
      antiquant: {
        key: aq({ scale: 'keyAntiquantScale', index: idx({ head: 2, dim: 1 }) }),
        value: aq({ scale: 'valueAntiquantScale', offset: 'valueAntiquantOffset', index: idx({ head: 2, dim: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([1, 5]), key: [f64([2, 0, 0, 0])], value: [f64([1, 2, 3, 4])],
      keyAntiquantScale: f64([LN3 / 2, 1]), valueAntiquantScale: f64([0.5, 2]), valueAntiquantOffset: f64([1, -1]),
    });
    expectClose(r.attentionOut, [1.25, 3]);
    expectClose(r.softmaxLse!, [LN4]);
  });

  it('combined params (2, KV_N, 1, D): key at base 0, value at base KV_N·D, per KV head', () => {
    // KV_N 2, D 2, one key per head. Value raw all 1; value scale h0 [2, 3], h1 [5, 7];
    // value offset h0 [1, 0], h1 [0, 1] → h0 [(1+1)·2, 3] = [4, 3]; h1 [5, (1+1)·7] = [5, 14].
    const p = int8Problem({
      numQoHeads: 2, numKvHeads: 2, headDim: 2, kvSeqLen: 1,
      antiquant: {
        key: aq({ scale: 'antiquantScale', offset: 'antiquantOffset', index: idx({ head: 2, dim: 1 }) }),
        value: aq({ scale: 'antiquantScale', offset: 'antiquantOffset', index: idx({ base: 4, head: 2, dim: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64(zeros(4)), key: [f64(zeros(4))], value: [f64([1, 1, 1, 1])],
      antiquantScale: f64([9, 9, 9, 9, 2, 3, 5, 7]), antiquantOffset: f64([0, 0, 0, 0, 1, 0, 0, 1]),
    });
    expectClose(r.attentionOut, [4, 3, 5, 14]);
  });

  it('per-tensor (one scalar) and mode 2 per-tensor + per-head (N)', () => {
    // Per-tensor scale 0.5: raw [6] → 3 on both heads. Mode 2: scale [2, 3] by KV head: raw 6 → 12, 18.
    const base = { numQoHeads: 2, numKvHeads: 2, kvSeqLen: 1 };
    const h: HostInputs = { query: f64([0, 0]), key: [f64([0, 0])], value: [f64([6, 6])], keyAntiquantScale: f64([1, 1]) };
    const perTensor = int8Problem({
      ...base,
      antiquant: { key: aq({ scale: 'keyAntiquantScale', index: idx({}) }), value: aq({ scale: 'valueAntiquantScale', index: idx({}) }) },
    });
    expectClose(attentionReference(perTensor, { ...h, valueAntiquantScale: f64([0.5]) }).attentionOut, [3, 3]);
    const perHead = int8Problem({
      ...base,
      antiquant: {
        key: aq({ mode: 2, scale: 'keyAntiquantScale', index: idx({ head: 1 }) }),
        value: aq({ mode: 2, scale: 'valueAntiquantScale', index: idx({ head: 1 }) }),
      },
    });
    expectClose(attentionReference(perHead, { ...h, valueAntiquantScale: f64([2, 3]) }).attentionOut, [12, 18]);
  });

  it('key per-channel + value per-token (B, S): scale[b, p]', () => {
    // B 2, KV_S 2, scale S 3 ≥ KV_S. Value raw all 1; scale rows [1, 2, x], [3, 4, x] → means 1.5, 3.5.
    const p = int8Problem({
      batch: 2, kvSeqLen: 2,
      antiquant: {
        key: aq({ scale: 'keyAntiquantScale', index: idx({ dim: 1 }) }),
        value: aq({ mode: 1, dtype: 'FLOAT32', scale: 'valueAntiquantScale', index: idx({ batch: 3, token: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0, 0]), key: [f64(zeros(4))], value: [f64([1, 1, 1, 1])],
      keyAntiquantScale: f64([1]), valueAntiquantScale: f64([1, 2, 99, 3, 4, 99]),
    });
    expectClose(r.attentionOut, [1.5, 3.5]);
  });

  it('per-token with left padding reads scale[b, KV_S - pad - Skv_b + p]', () => {
    // KV_S 3, Skv 1, pad 1 → KV row 1 → scale[0, 1] = 20; raw v 1 → out 20.
    const p = int8Problem({
      kvSeqLen: 3, kvLens: [1], kvLeftPadding: true,
      antiquant: {
        key: aq({ mode: 1, scale: 'keyAntiquantScale', index: idx({ batch: 3, token: 1 }) }),
        value: aq({ mode: 1, scale: 'valueAntiquantScale', index: idx({ batch: 3, token: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0]), key: [f64([0, 0, 0])], value: [f64([1, 1, 1])], kvPaddingSize: 1,
      keyAntiquantScale: f64([1, 1, 1]), valueAntiquantScale: f64([10, 20, 30]),
    });
    expectClose(r.attentionOut, [20]);
  });

  it('per-token with a shared prefix: the scale row holds the prefix first', () => {
    // P 1, Skv 1: prefix row reads scale[b, 0] = 2, KV row 0 reads scale[b, P + 0] = 4; raw v 1 → mean 3.
    const p = int8Problem({
      kvSeqLen: 1, prefix: { len: 1, seqLen: 1 },
      antiquant: {
        key: aq({ mode: 1, scale: 'keyAntiquantScale', index: idx({ batch: 2, token: 1 }) }),
        value: aq({ mode: 1, scale: 'valueAntiquantScale', index: idx({ batch: 2, token: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0]), key: [f64([0])], value: [f64([1])], keySharedPrefix: f64([0]), valueSharedPrefix: f64([1]),
      keyAntiquantScale: f64([1, 1]), valueAntiquantScale: f64([2, 4]),
    });
    expectClose(r.attentionOut, [3]);
    expectClose(r.softmaxLse!, [LN2]);
  });

  it('mode 3 per-token + per-head (B, N, S)', () => {
    // KV_N 2, S 2: scale h0 [1, 3], h1 [5, 7]; raw v 1 → h0 mean 2, h1 mean 6.
    const p = int8Problem({
      numQoHeads: 2, numKvHeads: 2, kvSeqLen: 2,
      antiquant: {
        key: aq({ mode: 3, scale: 'keyAntiquantScale', index: idx({ batch: 4, head: 2, token: 1 }) }),
        value: aq({ mode: 3, scale: 'valueAntiquantScale', index: idx({ batch: 4, head: 2, token: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0, 0]), key: [f64(zeros(4))], value: [f64([1, 1, 1, 1])],
      keyAntiquantScale: f64([1, 1, 1, 1]), valueAntiquantScale: f64([1, 3, 5, 7]),
    });
    expectClose(r.attentionOut, [2, 6]);
  });

  it('mode 4 paged per-token (blockNum, blockSize): scale[blockId·bs + slot]', () => {
    // bs 2, 3 blocks, table [2, 0], Skv 3: p0 → (block 2, slot 0) = 5, p1 → 6, p2 → (block 0, slot 0) = 1 → mean 4.
    const p = int8Problem({
      kvSeqLen: 4, kvLens: [3], kv: { kind: 'paged', cacheLayout: 'BSH', blockSize: 2, maxBlocksPerSeq: 2, numBlocks: 3 },
      antiquant: {
        key: aq({ mode: 4, scale: 'keyAntiquantScale', index: idx({ batch: 2, token: 1 }), pagedToken: true }),
        value: aq({ mode: 4, scale: 'valueAntiquantScale', index: idx({ batch: 2, token: 1 }), pagedToken: true }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0]), key: [f64(zeros(6))], value: [f64([1, 1, 1, 1, 1, 1])], blockTable: Int32Array.from([2, 0]),
      keyAntiquantScale: f64(zeros(6)), valueAntiquantScale: f64([1, 2, 3, 4, 5, 6]),
    });
    expectClose(r.attentionOut, [4]);
  });

  it('mode 1 per-token with paged KV reads scale[b, p] by KV position, not by block slot', () => {
    // bs 2, table [2, 0], Skv 3: p0, p1 in block 2, p2 in block 0 (slot 0). Value raw 1, scale row
    // [10, 20, 30, 99] → 10, 20, 30 → mean 20 (by slot it would read 10, 20, 10).
    const p = int8Problem({
      kvSeqLen: 4, kvLens: [3], kv: { kind: 'paged', cacheLayout: 'BSH', blockSize: 2, maxBlocksPerSeq: 2, numBlocks: 3 },
      antiquant: {
        key: aq({ mode: 1, dtype: 'FLOAT32', scale: 'keyAntiquantScale', index: idx({ batch: 4, token: 1 }) }),
        value: aq({ mode: 1, dtype: 'FLOAT32', scale: 'valueAntiquantScale', index: idx({ batch: 4, token: 1 }) }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0]), key: [f64(zeros(6))], value: [f64([1, 1, 1, 1, 1, 1])], blockTable: Int32Array.from([2, 0]),
      keyAntiquantScale: f64(zeros(4)), valueAntiquantScale: f64([10, 20, 30, 99]),
    });
    expectClose(r.attentionOut, [20]);
  });

  it('mode 5 paged per-token + per-head (blockNum, N, blockSize)', () => {
    // bs 2, KV_N 2: block 0 h0 [1, 2], h1 [3, 4]; block 1 h0 [5, 6], h1 [7, 8]. Table [1, 0], Skv 3:
    // h0: 5, 6, 1 → 4; h1: 7, 8, 3 → 6.
    const p = int8Problem({
      numQoHeads: 2, numKvHeads: 2, kvSeqLen: 4, kvLens: [3],
      kv: { kind: 'paged', cacheLayout: 'BNSD', blockSize: 2, maxBlocksPerSeq: 2, numBlocks: 2 },
      antiquant: {
        key: aq({ mode: 5, scale: 'keyAntiquantScale', index: idx({ batch: 4, head: 2, token: 1 }), pagedToken: true }),
        value: aq({ mode: 5, scale: 'valueAntiquantScale', index: idx({ batch: 4, head: 2, token: 1 }), pagedToken: true }),
      },
    });
    const r = attentionReference(p, {
      query: f64([0, 0]), key: [f64(zeros(8))], value: [f64(new Array(8).fill(1))], blockTable: Int32Array.from([1, 0]),
      keyAntiquantScale: f64(zeros(8)), valueAntiquantScale: f64([1, 2, 3, 4, 5, 6, 7, 8]),
    });
    expectClose(r.attentionOut, [4, 6]);
  });

  it('INT4: word 0x87654321 unpacks low nibble first to [1..7, -8], then dequantizes', () => {
    // One key, D 8, value = unpacked nibbles × scale 0.5 → [0.5, 1, 1.5, 2, 2.5, 3, 3.5, -4].
    const v = Array.from(unpackInt4(Uint32Array.of(0x87654321), 8));
    expect(v).toEqual([1, 2, 3, 4, 5, 6, 7, -8]);
    const p = int8Problem({
      headDim: 8, kvSeqLen: 1, kvDtype: 'INT4',
      antiquant: {
        key: aq({ scale: 'keyAntiquantScale', index: idx({}) }),
        value: aq({ scale: 'valueAntiquantScale', index: idx({}) }),
      },
    });
    const r = attentionReference(p, {
      query: f64(zeros(8)), key: [f64(v)], value: [f64(v)], keyAntiquantScale: f64([1]), valueAntiquantScale: f64([0.5]),
    });
    expectClose(r.attentionOut, [0.5, 1, 1.5, 2, 2.5, 3, 3.5, -4]);
  });
});
