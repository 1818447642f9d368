// Kernels finish in bounded time whatever the data: every loop's trip count is fixed before it
// starts (lengths and plan constants, never scores, NaN or masks), and the unrolled per-slot code
// of prefill stays branch-free (the mask is read once per tile row, outside it), so its compile
// time does not explode with the rows per invocation. Each case runs under a watchdog.
import { describe, expect, it } from 'vitest';
import { createTensor, readTensor } from '../src/acl/tensor.js';
import { fusedInferAttentionScore, inputsFromOptions, type FusedInferAttentionScoreOptions } from '../src/fia/api.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import { attentionReference, compareOutputs } from '../src/reference/index.js';
import { mulberry32 } from '../src/reference/random.js';
import { testStream } from './helpers/gpu.js';
import { withWatchdog } from './helpers/watchdog.js';

describe('bounded kernels', () => {
  it('INT8 query/key/value prefill with a 30% BOOL attenMask completes and matches the reference (B2 N2 Q_S 32 KV_S 48 D32)', async () => {
    const stream = await testStream();
    const [B, N, QS, KVS, D] = [2, 2, 32, 48, 32];
    const rand = mulberry32(91);
    const ints = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.round(rand() * 254 - 127));
    const mask = Float64Array.from({ length: B * QS * KVS }, () => (rand() < 0.3 ? 1 : 0));
    const deq2 = 6e-5;
    const opts: FusedInferAttentionScoreOptions = {
      query: createTensor(stream, ints(B * N * QS * D), [B, N, QS, D], 'INT8', 'query'),
      key: createTensor(stream, ints(B * N * KVS * D), [B, N, KVS, D], 'INT8', 'key'),
      value: createTensor(stream, ints(B * N * KVS * D), [B, N, KVS, D], 'INT8', 'value'),
      attenMask: createTensor(stream, mask, [B, 1, QS, KVS], 'BOOL', 'attenMask'),
      deqScale1: createTensor(stream, [3e-4], [1], 'FLOAT32', 'deqScale1'),
      quantScale1: createTensor(stream, [127], [1], 'FLOAT32', 'quantScale1'),
      deqScale2: createTensor(stream, [deq2], [1], 'FLOAT32', 'deqScale2'),
      numHeads: N, scaleValue: 1 / Math.sqrt(D), inputLayout: 'BNSD', sparseMode: 0, innerPrecise: 1, outDtype: 'FLOAT16',
    };
    const res = await withWatchdog('INT8 prefill with attenMask', 90_000, () => fusedInferAttentionScore(stream, opts));
    const inputs = { ...inputsFromOptions(opts), attentionOut: res.attentionOut, softmaxLse: null };
    const problem = normalize(inputs);
    const host = await readHostInputs(stream, inputs, problem);
    const ref = attentionReference(problem, host);
    const refLow = attentionReference(problem, host, { roundTo: 'FLOAT16' });
    // One P8 step (±1, SEMANTICS §9) of the largest |v| moves out by ≤ 127·deqScale2/l, l ≥ 1.
    const cmp = compareOutputs(await readTensor(stream, res.attentionOut), ref.attentionOut, refLow.attentionOut, Math.max(2e-3, 2 * 127 * deq2));
    expect(cmp.ok, cmp.message).toBe(true);
  }, 150_000);
});
