// mergeAttentionStates vs mergeStatesReference (SEMANTICS §11), and as the last step of a
// sequence-parallel decode: merging the decode kernel's results over two halves of the keys.
// With learnable sinks (extension): the sink is counted once, however many partials.
import { describe, expect, it } from 'vitest';
import { createTensor, readTensor } from '../src/acl/tensor.js';
import { mergeAttentionStates } from '../src/kernels/merge.js';
import { compareOutputs, denseAttentionRow, mergeStatesReference, rounderFor } from '../src/reference/index.js';
import { mulberry32 } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

type FloatType = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';
const FLOORS: Record<FloatType, number> = { FLOAT32: 1e-6, FLOAT16: 1e-3, BFLOAT16: 8e-3 };

async function checkMerge(k: number, rows: number, headDim: number, dtype: FloatType, emptyRate: number, seed: number): Promise<string> {
  const stream = await testStream();
  const rand = mulberry32(seed);
  const round = rounderFor(dtype);
  const outs: Float64Array[] = [];
  const lses: Float64Array[] = [];
  for (let i = 0; i < k; i++) {
    outs.push(Float64Array.from({ length: rows * headDim }, () => round(rand() * 2 - 1)));
    lses.push(Float64Array.from({ length: rows }, () => (rand() < emptyRate ? Infinity : Math.fround(rand() * 20 - 10))));
  }
  const outT = outs.map((o) => createTensor(stream, o, [rows, headDim], dtype));
  const lseT = lses.map((l) => createTensor(stream, l, [rows], 'FLOAT32'));
  const got = await mergeAttentionStates(stream, outT, lseT);
  const gotOut = await readTensor(stream, got.out);
  const gotLse = await readTensor(stream, got.lse);
  const ref = mergeStatesReference(outs, lses, rows, headDim);
  const refLow = { out: ref.out.map(round), lse: ref.lse.map(Math.fround) };
  const repro = `repro: checkMerge(${k}, ${rows}, ${headDim}, '${dtype}', ${emptyRate}, ${seed})`;
  const o = compareOutputs(gotOut, ref.out, refLow.out, FLOORS[dtype]);
  if (!o.ok) return `out ${o.message}; ${repro}`;
  const l = compareOutputs(gotLse, ref.lse, refLow.lse, 1e-5);
  if (!l.ok) return `lse ${l.message}; ${repro}`;
  return '';
}

describe('mergeAttentionStates', () => {
  it('f32, 2 partials', async () => expect(await checkMerge(2, 10, 16, 'FLOAT32', 0, 1)).toBe(''));
  it('f32, 5 partials with empty ones (some rows all empty)', async () => expect(await checkMerge(5, 33, 8, 'FLOAT32', 0.5, 2)).toBe(''));
  it('f16, 3 partials, odd row count × odd D', async () => expect(await checkMerge(3, 7, 5, 'FLOAT16', 0.2, 3)).toBe(''));
  it('bf16, 4 partials', async () => expect(await checkMerge(4, 12, 64, 'BFLOAT16', 0.1, 4)).toBe(''));
  it('one partial is the identity', async () => expect(await checkMerge(1, 6, 32, 'FLOAT32', 0.3, 5)).toBe(''));
  it('rejects mismatched inputs', async () => {
    const stream = await testStream();
    const a = createTensor(stream, new Float64Array(8), [2, 4], 'FLOAT32');
    const l = createTensor(stream, new Float64Array(2), [2], 'FLOAT32');
    const bad = createTensor(stream, new Float64Array(6), [2, 3], 'FLOAT32');
    await expect(mergeAttentionStates(stream, [a, bad], [l, l])).rejects.toThrow(/outs\[1\]/);
    await expect(mergeAttentionStates(stream, [a], [l, l])).rejects.toThrow(/same count/);
  });
});

describe('mergeAttentionStates with learnable sinks (extension)', () => {
  it('counts the sink once: two sink-free halves merged with the sink equal one pass with it', async () => {
    // Per row: random scores over L columns; the partials are the halves without the sink, the
    // expected result the whole row with the sink (denseAttentionRow, SEMANTICS "Extensions").
    const stream = await testStream();
    const rand = mulberry32(9);
    const rows = 6;
    const D = 8;
    const L = 20;
    const sinks = Float64Array.from({ length: rows }, (_, r) => Math.fround([-3, 0, 1.5, 4, -30, 2][r]!));
    const halves: Float64Array[][] = [[], []];
    const halfLses: number[][] = [[], []];
    const wantOut = new Float64Array(rows * D);
    const wantLse = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const scores = Float64Array.from({ length: L }, () => rand() * 6 - 3);
      const v = Float64Array.from({ length: L * D }, () => Math.fround(rand() * 2 - 1));
      // Row 4 keeps nothing in its second half: an empty partial (lse +Inf) beside the sink.
      const kept = Uint8Array.from({ length: L }, (_, c) => (r === 4 && c >= L / 2 ? 0 : 1));
      for (const [h, from, to] of [[0, 0, L / 2], [1, L / 2, L]] as const) {
        const part = denseAttentionRow(scores, kept, v, D, undefined, from, to);
        halves[h]!.push(part.out.map(Math.fround));
        halfLses[h]!.push(Math.fround(part.lse));
      }
      const full = denseAttentionRow(scores, kept, v, D, undefined, 0, L, sinks[r]!);
      wantOut.set(full.out, r * D);
      wantLse[r] = full.lse;
    }
    const outT = halves.map((h) => createTensor(stream, Float64Array.from(h.flatMap((o) => [...o])), [rows, D], 'FLOAT32'));
    const lseT = halfLses.map((l) => createTensor(stream, l, [rows], 'FLOAT32'));
    const sinkT = createTensor(stream, sinks, [rows], 'FLOAT32');
    const got = await mergeAttentionStates(stream, outT, lseT, { sinks: sinkT });
    const o = compareOutputs(await readTensor(stream, got.out), wantOut, null, 1e-5);
    expect(o.ok, o.message).toBe(true);
    const l = compareOutputs(await readTensor(stream, got.lse), wantLse, null, 1e-5);
    expect(l.ok, l.message).toBe(true);
  });

  it('all partials empty: the sink alone gives out 0, lse = sink; a −Inf sink is none (out 0, lse +Inf)', async () => {
    const stream = await testStream();
    const out = createTensor(stream, new Float64Array(6), [3, 2], 'FLOAT16');
    const lse = createTensor(stream, [Infinity, Infinity, Infinity], [3], 'FLOAT32');
    const sinks = createTensor(stream, [0.5, -2, -Infinity], [3], 'FLOAT32');
    const got = await mergeAttentionStates(stream, [out, out], [lse, lse], { sinks });
    expect([...await readTensor(stream, got.out)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...await readTensor(stream, got.lse)]).toEqual([0.5, -2, Infinity]);
  });

  it('a partial with lse −Inf holds no mass, as in mergeStatesReference', async () => {
    // Row 0: partials (o 3, lse −Inf) and (o 5, lse 1) → out 5, lse 1; row 1: only −Inf and +Inf → out 0, lse +Inf.
    const stream = await testStream();
    const a = createTensor(stream, [3, 7], [2, 1], 'FLOAT32');
    const b = createTensor(stream, [5, 9], [2, 1], 'FLOAT32');
    const la = createTensor(stream, [-Infinity, -Infinity], [2], 'FLOAT32');
    const lb = createTensor(stream, [1, Infinity], [2], 'FLOAT32');
    const got = await mergeAttentionStates(stream, [a, b], [la, lb]);
    const ref = mergeStatesReference([Float64Array.of(3, 7), Float64Array.of(5, 9)], [Float64Array.of(-Infinity, -Infinity), Float64Array.of(1, Infinity)], 2, 1);
    expect([...ref.out]).toEqual([5, 0]);
    expect([...ref.lse]).toEqual([1, Infinity]);
    expect([...await readTensor(stream, got.out)]).toEqual([...ref.out]);
    expect([...await readTensor(stream, got.lse)]).toEqual([...ref.lse]);
  });

  it('rejects sinks that are not FLOAT32 with one value per row', async () => {
    const stream = await testStream();
    const a = createTensor(stream, new Float64Array(8), [2, 4], 'FLOAT32');
    const l = createTensor(stream, new Float64Array(2), [2], 'FLOAT32');
    const bad = createTensor(stream, new Float64Array(3), [3], 'FLOAT32');
    await expect(mergeAttentionStates(stream, [a], [l], { sinks: bad })).rejects.toThrow(/sinks is FLOAT32 \[3\]/);
  });
});
