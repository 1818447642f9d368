// readHostInputs on the GPU: what the reference reads is exactly what the device holds, decoded as
// HostInputs documents (INT4 unpacked from INT32 words, UINT64 deq scales from their low word,
// int64 padding sizes as numbers, the block table as Int32Array, views' offsets applied).
import { beforeAll, describe, expect, it } from 'vitest';
import { aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensor, aclCreateTensorList, createTensor } from '../src/acl/tensor.js';
import { f32Bits } from '../src/codec/float.js';
import { packInt4 } from '../src/codec/int.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import { type FiaInputs, INT_MAX } from '../src/problem/problem.js';
import { validate } from '../src/fia/validate.js';
import { testStream } from './helpers/gpu.js';

let stream: Stream;

beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

const base = {
  scaleValue: 1, preTokens: INT_MAX, nextTokens: INT_MAX, numKeyValueHeads: 0, sparseMode: 0, innerPrecise: 0,
  blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0, softmaxLse: null,
};

describe('readHostInputs', () => {
  it('unpacks INT4 (INT32) key/value, reads int64 padding and separate scales', async () => {
    // Decode BNSD B 1, N 1, KV_S 3, D 64: each key row is 8 INT32 words.
    const int4 = Array.from({ length: 3 * 64 }, (_, i) => ((i * 5) % 16) - 8);
    const words = Array.from(packInt4(int4), (w) => w | 0);
    const scale = Array.from({ length: 64 }, (_, i) => 0.01 * (i + 1));
    const inputs: FiaInputs = {
      ...base,
      query: createTensor(stream, new Array(64).fill(0.5), [1, 1, 1, 64], 'FLOAT16'),
      key: aclCreateTensorList([createTensor(stream, words, [1, 1, 3, 8], 'INT32')]),
      value: aclCreateTensorList([createTensor(stream, words.map((w) => ~w), [1, 1, 3, 8], 'INT32')]),
      keyAntiquantScale: createTensor(stream, scale, [1, 1, 1, 64], 'FLOAT16'),
      valueAntiquantScale: createTensor(stream, scale, [1, 1, 1, 64], 'FLOAT16'),
      kvPaddingSize: createTensor(stream, [-3n], [1], 'INT64'),
      numHeads: 1, inputLayout: 'BNSD', attentionOut: createTensor(stream, new Array(64).fill(0), [1, 1, 1, 64], 'FLOAT16'),
    };
    expect(() => validate(inputs)).not.toThrow();
    const host = await readHostInputs(stream, inputs, normalize(inputs));
    expect(Array.from(host.key[0]!)).toEqual(int4);
    expect(Array.from(host.value[0]!)).toEqual(int4.map((x) => -1 - x)); // ~w flips every nibble: v → −1 − v
    // No actualSeqLengthsKv: kv left padding is inactive, so kvPaddingSize is ignored and not read.
    expect(host.kvPaddingSize).toBeUndefined();
    expect(host.keyAntiquantScale!.length).toBe(64);
    expect(Math.abs(host.keyAntiquantScale![9]! - 0.1)).toBeLessThan(1e-4);
    expect(host.query.length).toBe(64);
    expect(host.blockTable).toBeUndefined();
  });

  it('takes a UINT64 deq scale from its low word and FLOAT32 scales as they are', async () => {
    const lowBits = BigInt(f32Bits(0.375));
    const deq1 = createTensor(stream, [(0xdeadbeefn << 32n) | lowBits], [1], 'UINT64');
    const inputs: FiaInputs = {
      ...base,
      query: createTensor(stream, new Array(2 * 32).fill(1), [1, 2, 32], 'INT8'),
      key: aclCreateTensorList([createTensor(stream, new Array(3 * 32).fill(2), [1, 3, 32], 'INT8')]),
      value: aclCreateTensorList([createTensor(stream, new Array(3 * 32).fill(3), [1, 3, 32], 'INT8')]),
      deqScale1: deq1,
      quantScale1: createTensor(stream, [64], [1], 'FLOAT32'),
      deqScale2: createTensor(stream, [0.125], [1], 'FLOAT32'),
      numHeads: 1, inputLayout: 'BSH', attentionOut: createTensor(stream, new Array(2 * 32).fill(0), [1, 2, 32], 'FLOAT16'),
    };
    expect(() => validate(inputs)).not.toThrow();
    const host = await readHostInputs(stream, inputs, normalize(inputs));
    expect(host.deqScale1).toBe(0.375);
    expect(host.quantScale1).toBe(64);
    expect(host.deqScale2).toBe(0.125);
    expect(Array.from(host.key[0]!)).toEqual(new Array(96).fill(2));
  });

  it('reads an active padding size as a number, and never an ignored one', async () => {
    // Decode BNSD B 1, N 1, KV_S 4, D 16: kv padding is active (actualSeqLengthsKv given); queryPaddingSize
    // is ignored at Q_S == 1, so even a 4-byte INT32 one is not read.
    const inputs: FiaInputs = {
      ...base,
      query: createTensor(stream, new Array(16).fill(0.5), [1, 1, 1, 16], 'FLOAT16'),
      key: aclCreateTensorList([createTensor(stream, new Array(64).fill(0.25), [1, 1, 4, 16], 'FLOAT16')]),
      value: aclCreateTensorList([createTensor(stream, new Array(64).fill(0.75), [1, 1, 4, 16], 'FLOAT16')]),
      kvPaddingSize: createTensor(stream, [-3n], [1], 'INT64'),
      queryPaddingSize: createTensor(stream, [2], [1], 'INT32'),
      actualSeqLengthsKv: aclCreateIntArray([2]),
      numHeads: 1, inputLayout: 'BNSD', attentionOut: createTensor(stream, new Array(16).fill(0), [1, 1, 1, 16], 'FLOAT16'),
    };
    expect(() => validate(inputs)).not.toThrow();
    const host = await readHostInputs(stream, inputs, normalize(inputs));
    expect(host.kvPaddingSize).toBe(-3);
    expect(host.queryPaddingSize).toBeUndefined();
  });

  it('reads the block table of paged KV, and tensors that start at a storage offset', async () => {
    // Paged decode B 2, N 2, KV_N 1, D 16, blockSize 16, Skv (20, 5): blocks (2, 1), blockNum 4.
    const cache = Array.from({ length: 4 * 16 * 16 }, (_, i) => (i % 97) / 97);
    const qBuffer = createTensor(stream, [9, 9, ...Array.from({ length: 2 * 2 * 16 }, (_, i) => i / 64)], [2 + 64], 'FLOAT16').buffer;
    const inputs: FiaInputs = {
      ...base,
      query: aclCreateTensor([2, 1, 2, 16], 'FLOAT16', qBuffer, { offset: 2 }), // BSND view after 2 leading elements
      key: aclCreateTensorList([createTensor(stream, cache, [4, 16, 16], 'FLOAT16')]),
      value: aclCreateTensorList([createTensor(stream, cache, [4, 16, 16], 'FLOAT16')]),
      blockTable: createTensor(stream, [3, 0, 1, 2], [2, 2], 'INT32'),
      actualSeqLengthsKv: aclCreateIntArray([20, 5]),
      blockSize: 16, numHeads: 2, numKeyValueHeads: 1, inputLayout: 'BSND',
      attentionOut: createTensor(stream, new Array(64).fill(0), [2, 1, 2, 16], 'FLOAT16'),
    };
    expect(() => validate(inputs)).not.toThrow();
    const problem = normalize(inputs);
    expect(problem.kv.kind).toBe('paged');
    const host = await readHostInputs(stream, inputs, problem);
    expect(host.blockTable).toEqual(Int32Array.from([3, 0, 1, 2]));
    expect(Array.from(host.query)).toEqual(Array.from({ length: 64 }, (_, i) => i / 64));
    expect(host.key[0]!.length).toBe(4 * 16 * 16);
  });
});
