// mergeAttentionStates vs mergeStatesReference (SEMANTICS §11), and as the last step of a
// sequence-parallel decode: merging the decode kernel's results over two halves of the keys.
import { describe, expect, it } from 'vitest';
import { createTensor, readTensor } from '../src/acl/tensor.js';
import { mergeAttentionStates } from '../src/kernels/merge.js';
import { compareOutputs, mergeStatesReference, rounderFor } from '../src/reference/index.js';
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
