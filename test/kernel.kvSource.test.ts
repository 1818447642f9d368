// The KV source (src/kernels/kvSource.ts + shaders/common/kv_source.wgsl) against the reference's
// gatherKv: a small test kernel writes kvPresent, loadKey and loadValue for every (b, h, c < P +
// Skv_b, d) of a seeded set of storages (dense f16/bf16/f32, left padding, paged with both cache
// layouts and bad block ids, shared prefix, INT8 antiquant modes 0-5 and the key-0/value-1 mix,
// INT4 modes 0/1/3 and the mix). Inputs go through validate + normalize, so the ParamIndex under
// test is the one the operator builds. Tolerance: f32 dequant vs float64, 4 ulp relative.
import { describe, expect, it } from 'vitest';
import type { DataType } from '../src/codec/dtype.js';
import type { Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensor, aclCreateTensorList, createBuffer, createEmptyTensor, numel, type Tensor,
} from '../src/acl/tensor.js';
import { encodeValues } from '../src/codec/index.js';
import { shapeOf } from '../src/problem/dims.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs, Layout, Problem, StorageLayout } from '../src/problem/problem.js';
import { validate } from '../src/fia/validate.js';
import {
  encodeKvSourceCopies, kvSourceSpec, kvSourceSpecKey, kvSourceUniformFields, kvSourceUniformValues,
  kvSourceUnsupported, kvSourceWgsl, layoutKvSource, MetaWordAllocator,
} from '../src/kernels/kvSource.js';
import { getPipeline, specKey, UniformBlock } from '../src/kernels/shader.js';
import { batchWindow, gatherKv } from '../src/reference/index.js';
import { testStream } from './helpers/gpu.js';
import { type CaseSpec, mulberry32 } from './helpers/cases.js';
import { kernelTensors } from '../src/problem/tensors.js';

type KvDtype = 'FLOAT16' | 'BFLOAT16' | 'FLOAT32' | 'INT8' | 'INT4';

/**
 * A KV-source case: the shape fields of CaseSpec (test/helpers/cases.ts), and what only this unit
 * test sets: storage offsets (`lead`), block tables given entry by entry, combined mode 1, the K/V
 * dtype apart from the query's. kvSeqLen: dense KV rows (paged: ignored).
 */
interface KvCase extends Pick<CaseSpec, 'seed' | 'layout' | 'batch' | 'numQoHeads' | 'numKvHeads' | 'headDim' | 'qSeqLen' | 'kvSeqLen'> {
  name: string;
  kv: KvDtype;
  query?: 'FLOAT16' | 'BFLOAT16' | 'FLOAT32';
  kvLens?: number[];
  kvPad?: number;
  /** Paged KV: table rows are given explicitly (ids outside [0, numBlocks) allowed). */
  paged?: { blockSize: number; numBlocks: number; cache: 'BSH' | 'BNSD'; table: number[][] };
  /** Shared prefix rows and actualSharedPrefixLen. */
  prefix?: { rows: number; len: number };
  /** Combined antiquantScale/Offset (leading 2). */
  combined?: { mode: 0 | 1; perTensor?: boolean; offset: boolean };
  /** Separate key/value params. perTensor: mode 0 shape (1). */
  separate?: { kMode: number; vMode: number; offset: boolean; perTensor?: boolean };
  /** Storage offset (elements of the tensor's dtype) given to K/V, prefix and parameter tensors. */
  lead?: number;
  /** Tensor-list KV: rows of each batch's tensor (kvSeqLen then only sizes per-token scales). */
  list?: number[];
}

const WORKGROUP = 64;
const META_BYTE_OFFSET = 512;
/** Words the kernel's own meta content takes before the source's copies (aux scalars + kvLens). */
const META_START_WORDS = 11;

/** A tensor holding `values` after `lead` leading zero elements (storage offset `lead`). */
function tensorWithLead(stream: Stream, values: ArrayLike<number>, shape: number[], dtype: DataType, lead: number, encodeAs: DataType = dtype): Tensor {
  const perLead = encodeAs === 'INT4' && dtype === 'INT32' ? 8 : 1;
  const all = new Float64Array(lead * perLead + values.length);
  all.set(Array.from(values), lead * perLead);
  const bytes = encodeValues(encodeAs, all);
  const buffer = createBuffer(stream, bytes.byteLength, 'kvSource.test');
  const padded = new Uint8Array(Math.max(4, Math.ceil(bytes.byteLength / 4) * 4));
  padded.set(bytes);
  stream.queue.writeBuffer(buffer, 0, padded);
  return aclCreateTensor(shape, dtype, buffer, { offset: lead });
}

function int64Tensor(stream: Stream, value: number): Tensor {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  const buffer = createBuffer(stream, 8);
  stream.queue.writeBuffer(buffer, 0, bytes);
  return aclCreateTensor([1], 'INT64', buffer);
}

/** Random stored values of a K/V dtype (INT4 logical −8..7). */
function kvValues(r: () => number, dtype: KvDtype, n: number): number[] {
  return Array.from({ length: n }, () =>
    dtype === 'INT8' ? Math.floor(r() * 256) - 128 : dtype === 'INT4' ? Math.floor(r() * 16) - 8 : (r() * 4 - 2));
}

/** A K/V-typed tensor (INT4: INT32 words, last dim ÷ 8) with logical shape `shape`. */
function kvTensor(stream: Stream, r: () => number, dtype: KvDtype, shape: number[], lead: number): Tensor {
  const values = kvValues(r, dtype, numel(shape));
  if (dtype !== 'INT4') return tensorWithLead(stream, values, shape, dtype, lead);
  const packed = shape.map((d, i) => (i === shape.length - 1 ? d / 8 : d));
  return tensorWithLead(stream, values, packed, 'INT32', lead, 'INT4');
}

function storageOf(layout: Layout): StorageLayout {
  return layout === 'BNSD_BSND' ? 'BNSD' : layout;
}

/** Builds the operator inputs of a case (values seeded), validated like the operator does. */
function buildInputs(stream: Stream, c: KvCase): FiaInputs {
  const r = mulberry32(c.seed);
  const st = storageOf(c.layout);
  const lead = c.lead ?? 0;
  const qDtype = c.query ?? (c.kv === 'BFLOAT16' || c.kv === 'FLOAT32' ? c.kv : 'FLOAT16');
  const qShape = shapeOf(st, { batch: c.batch, heads: c.numQoHeads, seq: c.qSeqLen, headDim: c.headDim });
  const query = tensorWithLead(stream, new Array<number>(numel(qShape)).fill(0), qShape, qDtype, 0);
  const outShape = shapeOf(c.layout === 'BNSD_BSND' ? 'BSND' : st, { batch: c.batch, heads: c.numQoHeads, seq: c.qSeqLen, headDim: c.headDim });
  const attentionOut = createEmptyTensor(stream, outShape, qDtype);

  let kvShape: number[];
  if (c.paged) {
    const { blockSize: bs, numBlocks, cache } = c.paged;
    kvShape = cache === 'BSH' ? [numBlocks, bs, c.numKvHeads * c.headDim] : [numBlocks, c.numKvHeads, bs, c.headDim];
  } else {
    kvShape = shapeOf(st, { batch: c.batch, heads: c.numKvHeads, seq: c.kvSeqLen, headDim: c.headDim });
  }
  const lists = c.list ?? [0];
  const shapeOfList = (rows: number): number[] => (c.list ? shapeOf(st, { batch: 1, heads: c.numKvHeads, seq: rows, headDim: c.headDim }) : kvShape);
  const keys = lists.map((rows) => kvTensor(stream, r, c.kv, shapeOfList(rows), lead));
  const values = lists.map((rows) => kvTensor(stream, r, c.kv, shapeOfList(rows), lead));
  const inputs: FiaInputs = {
    query, key: aclCreateTensorList(keys), value: aclCreateTensorList(values),
    numHeads: c.numQoHeads, scaleValue: 1, preTokens: 2147483647, nextTokens: 2147483647, inputLayout: c.layout,
    numKeyValueHeads: c.numKvHeads, sparseMode: 0, innerPrecise: 1, blockSize: c.paged?.blockSize ?? 0,
    antiquantMode: c.combined?.mode ?? 0, softmaxLseFlag: false,
    keyAntiquantMode: c.separate?.kMode ?? 0, valueAntiquantMode: c.separate?.vMode ?? 0,
    attentionOut,
  };
  if (c.kvLens) inputs.actualSeqLengthsKv = aclCreateIntArray(c.kvLens);
  if (c.kvPad !== undefined) inputs.kvPaddingSize = int64Tensor(stream, c.kvPad);
  if (c.paged) {
    const flat = c.paged.table.flat();
    inputs.blockTable = tensorWithLead(stream, flat, [c.batch, c.paged.table[0]!.length], 'INT32', 0);
  }
  if (c.prefix) {
    const pShape = shapeOf(st, { batch: 1, heads: c.numKvHeads, seq: c.prefix.rows, headDim: c.headDim });
    inputs.keySharedPrefix = kvTensor(stream, r, c.kv, pShape, lead);
    inputs.valueSharedPrefix = kvTensor(stream, r, c.kv, pShape, lead);
    inputs.actualSharedPrefixLen = aclCreateIntArray([c.prefix.len]);
  }
  // Per-token scale rows hold P + KV_S positions (prefix first); one spare.
  const tokenS = (c.prefix?.len ?? 0) + c.kvSeqLen + 1;
  const scaleValues = (n: number): number[] => Array.from({ length: n }, () => 0.01 + r() * 0.2);
  const offsetValues = (n: number): number[] => Array.from({ length: n }, () => Math.round((r() * 6 - 3) * 64) / 64);
  const param = (shape: number[], dtype: DataType, offset: boolean): [Tensor, Tensor | null] => [
    tensorWithLead(stream, scaleValues(numel(shape)), shape, dtype, lead),
    offset ? tensorWithLead(stream, offsetValues(numel(shape)), shape, dtype, lead) : null,
  ];
  if (c.combined) {
    const shape = c.combined.mode === 1 ? [2, c.batch, tokenS] : c.combined.perTensor ? [2] : [2, c.numKvHeads, c.headDim];
    const [s, o] = param(shape, c.combined.mode === 1 ? 'FLOAT32' : qDtype, c.combined.offset);
    inputs.antiquantScale = s;
    inputs.antiquantOffset = o;
  }
  if (c.separate) {
    const shapeFor = (mode: number): [number[], DataType] => {
      const bs = c.paged?.blockSize ?? 0;
      const nb = c.paged?.numBlocks ?? 0;
      switch (mode) {
        case 0: return [c.separate!.perTensor ? [1] : c.qSeqLen === 1 ? [1, c.numKvHeads, c.headDim] : [c.numKvHeads, c.headDim], qDtype];
        case 1: return [[c.batch, tokenS], 'FLOAT32'];
        case 2: return [[c.numKvHeads], qDtype];
        case 3: return [[c.batch, c.numKvHeads, tokenS], 'FLOAT32'];
        case 4: return [[nb, bs], 'FLOAT32'];
        default: return [[nb, c.numKvHeads, bs], 'FLOAT32'];
      }
    };
    const [ks, kd] = shapeFor(c.separate.kMode);
    const [vs, vd] = shapeFor(c.separate.vMode);
    [inputs.keyAntiquantScale, inputs.keyAntiquantOffset] = param(ks, kd, c.separate.offset);
    [inputs.valueAntiquantScale, inputs.valueAntiquantOffset] = param(vs, vd, c.separate.offset);
  }
  validate(inputs);
  return inputs;
}

const TEST_WGSL = `
{{UNIFORMS}}
@group(0) @binding(0) var<storage, read> kBuf: array<u32>;
@group(0) @binding(1) var<storage, read> vBuf: array<u32>;
@group(0) @binding(2) var<storage, read> aux: array<u32>;
@group(0) @binding(3) var<storage, read> jobs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> outBuf: array<f32>;
@group(1) @binding(0) var<uniform> u: KvSourceTestUniforms;

{{KV_SOURCE}}

// Job i = (b, h, c, kvStart) → out[i·(1 + 2D) ..]: present, K[0..D), V[0..D).
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= u.numJobs) { return; }
  let job = jobs[i];
  let o = i * (1u + 2u * u.headDim);
  outBuf[o] = select(0.0, 1.0, kvPresent(job.x, job.z));
  let row = kvRow(job.x, job.y, job.z, job.w);
  for (var d = 0u; d < u.headDim; d++) {
    outBuf[o + 1u + d] = loadKey(job.x, job.y, job.z, job.w, d);
    outBuf[o + 1u + u.headDim + d] = loadValueAt(row, d);
  }
}
`;

const TEST_UNIFORMS = new UniformBlock('KvSourceTestUniforms', { ...kvSourceUniformFields, numJobs: 'u32', headDim: 'u32' });

interface Job { b: number; h: number; c: number; kvStart: number }

/** Runs the test kernel over `jobs`; returns the f32 outputs. */
async function runSource(stream: Stream, problem: Problem, inputs: FiaInputs, jobs: Job[], listBatch = 0): Promise<Float32Array> {
  const { device } = stream;
  const tensors = kernelTensors(problem, inputs);
  const words = new MetaWordAllocator(META_START_WORDS);
  const layout = layoutKvSource(problem, tensors, words);
  const metaBytes = Math.max(16, words.words * 4);
  const workspace = device.createBuffer({ size: META_BYTE_OFFSET + metaBytes, usage: 0x80 | 0x08 | 0x04 });
  const spec = kvSourceSpec(problem);
  const pipeline = getPipeline(device, specKey('kvSourceTest', kvSourceSpecKey(spec)), () => ({
    code: TEST_WGSL.replace('{{UNIFORMS}}', TEST_UNIFORMS.wgslStruct()).replace('{{KV_SOURCE}}', kvSourceWgsl(spec)),
    label: 'kvSource.test',
  }));
  const D = problem.headDim;
  const stride = 1 + 2 * D;
  const jobWords = new Uint32Array(Math.max(4, jobs.length * 4));
  jobs.forEach((j, i) => jobWords.set([j.b, j.h, j.c, j.kvStart], i * 4));
  const jobBuf = device.createBuffer({ size: jobWords.byteLength, usage: 0x80 | 0x08 });
  device.queue.writeBuffer(jobBuf, 0, jobWords);
  const outBytes = Math.max(16, jobs.length * stride * 4);
  const outBuf = device.createBuffer({ size: outBytes, usage: 0x80 | 0x04 });
  const readBuf = device.createBuffer({ size: outBytes, usage: 0x01 | 0x08 });
  const uniforms = device.createBuffer({ size: TEST_UNIFORMS.byteLength, usage: 0x40 | 0x08 });
  device.queue.writeBuffer(uniforms, 0, TEST_UNIFORMS.pack({
    ...kvSourceUniformValues(problem, tensors, layout, listBatch), numJobs: jobs.length, headDim: D,
  }));

  const encoder = device.createCommandEncoder();
  // Poison the meta region so a load from a word the copies did not fill shows up.
  device.queue.writeBuffer(workspace, META_BYTE_OFFSET, new Uint32Array(metaBytes / 4).fill(0x7fc00000));
  encodeKvSourceCopies(encoder, tensors, workspace, META_BYTE_OFFSET, layout);
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: inputs.key!.tensors[listBatch]!.buffer } },
      { binding: 1, resource: { buffer: inputs.value!.tensors[listBatch]!.buffer } },
      { binding: 2, resource: { buffer: workspace, offset: META_BYTE_OFFSET, size: metaBytes } },
      { binding: 3, resource: { buffer: jobBuf } },
      { binding: 4, resource: { buffer: outBuf } },
    ],
  }));
  pass.setBindGroup(1, device.createBindGroup({ layout: pipeline.getBindGroupLayout(1), entries: [{ binding: 0, resource: { buffer: uniforms } }] }));
  pass.dispatchWorkgroups(Math.max(1, Math.ceil(jobs.length / WORKGROUP)));
  pass.end();
  encoder.copyBufferToBuffer(outBuf, 0, readBuf, 0, outBytes);
  device.queue.submit([encoder.finish()]);
  await readBuf.mapAsync(0x01);
  const out = new Float32Array(readBuf.getMappedRange().slice(0));
  readBuf.unmap();
  for (const b of [workspace, jobBuf, outBuf, readBuf, uniforms]) b.destroy();
  return out;
}

/** Runs one case and compares every element with gatherKv. */
async function checkCase(c: KvCase): Promise<void> {
  const stream = await testStream();
  const inputs = buildInputs(stream, c);
  const problem = normalize(inputs);
  expect(kvSourceUnsupported(problem), c.name).toBeNull();
  const host = await readHostInputs(stream, inputs, problem);
  const { batch: B, numKvHeads: KVN, headDim: D } = problem;
  const jobs: Job[] = [];
  const expected: number[] = [];
  for (let b = 0; b < B; b++) {
    const win = batchWindow(problem, host, b);
    expect(win.valid, `${c.name}: batch ${b} window`).toBe(true);
    for (let h = 0; h < KVN; h++) {
      const g = gatherKv(problem, host, b, h, win);
      for (let col = 0; col < win.prefixLen + win.kvLen; col++) {
        jobs.push({ b, h, c: col, kvStart: win.kvStart });
        expected.push(g.present[col]!, ...g.k.subarray(col * D, (col + 1) * D), ...g.v.subarray(col * D, (col + 1) * D));
      }
    }
  }
  expect(jobs.length, `${c.name}: some columns`).toBeGreaterThan(0);
  // Tensor-list KV: one run per batch binding that batch's tensors (as a kernel dispatch would).
  const got = new Float32Array(expected.length);
  const stride = 1 + 2 * D;
  if (problem.kv.kind === 'list') {
    for (let b = 0; b < B; b++) {
      const mine = jobs.map((j, i) => [j, i] as const).filter(([j]) => j.b === b);
      const out = await runSource(stream, problem, inputs, mine.map(([j]) => j), b);
      mine.forEach(([, i], k) => got.set(out.subarray(k * stride, (k + 1) * stride), i * stride));
    }
  } else {
    got.set((await runSource(stream, problem, inputs, jobs)).subarray(0, expected.length));
  }
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(got[i]! - e) / Math.max(Math.abs(e), 1e-3);
    if (!(err <= worst)) { worst = Number.isNaN(err) ? Infinity : err; worstAt = i; }
  }
  const at = worstAt < 0 ? '' : ` at job ${JSON.stringify(jobs[Math.floor(worstAt / stride)])} slot ${worstAt % stride}: got ${got[worstAt]}, want ${expected[worstAt]}`;
  expect(worst, `${c.name}: max relative error${at}`).toBeLessThanOrEqual(4 * 2 ** -23);
}

/** Block table rows of `perSeq` entries: a seeded permutation of 0..numBlocks-1, row-major. */
function shuffledTable(seed: number, B: number, perSeq: number, numBlocks: number): number[][] {
  const r = mulberry32(seed);
  const ids = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return Array.from({ length: B }, (_, b) => ids.slice(b * perSeq, (b + 1) * perSeq));
}

// Paged tables: 2 sequences × 3 entries over 8 blocks (2 spare); batch 1's second entry is a bad id.
const table = (seed: number, bad: number): number[][] => {
  const t = shuffledTable(seed, 2, 3, 8);
  t[1]![1] = bad;
  return t;
};

const CASES: KvCase[] = [
  // Dense float.
  { name: 'dense f16 BNSD decode', seed: 1, layout: 'BNSD', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 16, qSeqLen: 1, kvSeqLen: 9, kv: 'FLOAT16', kvLens: [9, 5] },
  { name: 'dense bf16 BSH prefill, odd storage offsets', seed: 2, layout: 'BSH', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 16, qSeqLen: 3, kvSeqLen: 7, kv: 'BFLOAT16', lead: 1 },
  { name: 'dense f32 BSND decode, left padding', seed: 3, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 1, headDim: 4, qSeqLen: 1, kvSeqLen: 10, kv: 'FLOAT32', kvLens: [3, 6], kvPad: 2 },
  { name: 'dense f16 BNSD_BSND prefill, left padding', seed: 4, layout: 'BNSD_BSND', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 16, qSeqLen: 2, kvSeqLen: 8, kv: 'FLOAT16', kvLens: [5, 1], kvPad: 1 },
  // Paged (bad id 9 ≥ numBlocks; -1 in the spare entry of batch 0 is never reached).
  {
    name: 'paged BSH cache f16 decode, shuffled table, bad id', seed: 5, layout: 'BSH', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 48, kv: 'FLOAT16',
    kvLens: [40, 37], paged: { blockSize: 16, numBlocks: 8, cache: 'BSH', table: table(5, 9) },
  },
  {
    name: 'paged BNSD cache bf16 decode, negative id', seed: 6, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 16, qSeqLen: 1, kvSeqLen: 48, kv: 'BFLOAT16',
    kvLens: [33, 48], paged: { blockSize: 16, numBlocks: 8, cache: 'BNSD', table: table(6, -1) },
  },
  {
    name: 'paged BSH cache f16 prefill', seed: 7, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 1, headDim: 16, qSeqLen: 2, kvSeqLen: 384, kv: 'FLOAT16',
    kvLens: [130, 200], paged: { blockSize: 128, numBlocks: 5, cache: 'BSH', table: [[3, 0, -1], [1, 4, 2]] },
  },
  // Shared prefix.
  { name: 'prefix BSND decode, Skv 0 batch', seed: 8, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 5, kv: 'FLOAT16', kvLens: [5, 0], prefix: { rows: 6, len: 4 } },
  { name: 'prefix BNSD prefill bf16, odd offsets', seed: 9, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 16, qSeqLen: 4, kvSeqLen: 3, kv: 'BFLOAT16', prefix: { rows: 5, len: 3 }, lead: 1 },
  // INT8 antiquant, combined params.
  { name: 'INT8 combined mode 0 per-channel + offset, BSH decode', seed: 10, layout: 'BSH', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 16, qSeqLen: 1, kvSeqLen: 6, kv: 'INT8', combined: { mode: 0, offset: true }, lead: 3 },
  { name: 'INT8 combined mode 0 per-tensor, prefill', seed: 11, layout: 'BNSD', batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 32, qSeqLen: 3, kvSeqLen: 7, kv: 'INT8', combined: { mode: 0, perTensor: true, offset: false } },
  { name: 'INT8 combined mode 1 + offset, left padding', seed: 12, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 1, headDim: 8, qSeqLen: 1, kvSeqLen: 9, kv: 'INT8', kvLens: [4, 6], kvPad: 1, combined: { mode: 1, offset: true } },
  // INT8 antiquant, separate params.
  { name: 'INT8 mode 0 per-channel + offset, f16 params at odd offsets', seed: 13, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 5, kv: 'INT8', separate: { kMode: 0, vMode: 0, offset: true }, lead: 1 },
  { name: 'INT8 mode 0 per-tensor', seed: 14, layout: 'BSH', batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 8, qSeqLen: 1, kvSeqLen: 6, kv: 'INT8', separate: { kMode: 0, vMode: 0, offset: true, perTensor: true } },
  { name: 'INT8 mode 1 + offset with a prefix', seed: 15, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 4, kv: 'INT8', kvLens: [4, 2], prefix: { rows: 3, len: 3 }, separate: { kMode: 1, vMode: 1, offset: true } },
  { name: 'INT8 mode 2', seed: 16, layout: 'BNSD', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 5, kv: 'INT8', separate: { kMode: 2, vMode: 2, offset: true } },
  { name: 'INT8 mode 3, left padding', seed: 17, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 7, kv: 'INT8', kvLens: [3, 5], kvPad: 2, separate: { kMode: 3, vMode: 3, offset: false } },
  {
    name: 'INT8 mode 4, paged BSH', seed: 18, layout: 'BSH', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 96, kv: 'INT8',
    kvLens: [70, 64], paged: { blockSize: 32, numBlocks: 8, cache: 'BSH', table: table(18, 8) }, separate: { kMode: 4, vMode: 4, offset: true },
  },
  {
    name: 'INT8 mode 5, paged BNSD', seed: 19, layout: 'BNSD', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 96, kv: 'INT8',
    kvLens: [96, 40], paged: { blockSize: 32, numBlocks: 8, cache: 'BNSD', table: table(19, -5) }, separate: { kMode: 5, vMode: 5, offset: false },
  },
  { name: 'INT8 key mode 0 + value mode 1', seed: 20, layout: 'BSND', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 6, kv: 'INT8', kvLens: [6, 3], separate: { kMode: 0, vMode: 1, offset: false } },
  { name: 'INT8 key mode 0 + value mode 1 + offsets', seed: 21, layout: 'BNSD', batch: 1, numQoHeads: 2, numKvHeads: 1, headDim: 16, qSeqLen: 1, kvSeqLen: 5, kv: 'INT8', separate: { kMode: 0, vMode: 1, offset: true } },
  // Tensor-list KV (one dispatch per batch).
  { name: 'tensor list f16 BSND', seed: 26, layout: 'BSND', batch: 3, numQoHeads: 2, numKvHeads: 1, headDim: 8, qSeqLen: 1, kvSeqLen: 7, kv: 'FLOAT16', list: [7, 2, 5] },
  { name: 'tensor list INT8 mode 1 + offset, BNSD', seed: 27, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 8, qSeqLen: 1, kvSeqLen: 6, kv: 'INT8', list: [6, 3], separate: { kMode: 1, vMode: 1, offset: true } },
  // INT4 antiquant (INT32 words).
  { name: 'INT4 mode 0 per-channel + offset, BSH', seed: 22, layout: 'BSH', batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 64, qSeqLen: 1, kvSeqLen: 5, kv: 'INT4', separate: { kMode: 0, vMode: 0, offset: true } },
  { name: 'INT4 mode 1, BNSD, storage offsets', seed: 23, layout: 'BNSD', batch: 2, numQoHeads: 2, numKvHeads: 1, headDim: 64, qSeqLen: 1, kvSeqLen: 6, kv: 'INT4', kvLens: [6, 4], separate: { kMode: 1, vMode: 1, offset: true }, lead: 2 },
  { name: 'INT4 mode 3, BSND', seed: 24, layout: 'BSND', batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 64, qSeqLen: 1, kvSeqLen: 4, kv: 'INT4', separate: { kMode: 3, vMode: 3, offset: false } },
  { name: 'INT4 key mode 0 + value mode 1', seed: 25, layout: 'BNSD', batch: 1, numQoHeads: 2, numKvHeads: 2, headDim: 64, qSeqLen: 1, kvSeqLen: 5, kv: 'INT4', separate: { kMode: 0, vMode: 1, offset: true } },
];

describe('KV source vs reference gatherKv', () => {
  for (const c of CASES) it(c.name, () => checkCase(c));
});

describe('KV source specialization', () => {
  it('a dense float problem compiles to the plain strided load (no paging, prefix or dequant)', async () => {
    const stream = await testStream();
    const problem = normalize(buildInputs(stream, CASES[0]!));
    const spec = kvSourceSpec(problem);
    expect(spec).toMatchObject({ paged: false, prefix: false, kDeq: 'none', vDeq: 'none' });
    const text = kvSourceWgsl(spec);
    expect(text).toContain('const KVS_PAGED: bool = false;');
    expect(text).toContain('const KVS_K_DEQ: bool = false;');
  });

  /** A case's inputs, Problem and kernel tensors, by the start of its name. */
  const caseNamed = async (prefix: string) => {
    const inputs = buildInputs(await testStream(), CASES.find((x) => x.name.startsWith(prefix))!);
    const problem = normalize(inputs);
    return { inputs, problem, tensors: kernelTensors(problem, inputs) };
  };

  it('layout places every copy inside the meta words it reserved, word-aligned', async () => {
    const { problem, tensors } = await caseNamed('INT8 mode 0 per-channel');
    const words = new MetaWordAllocator(META_START_WORDS);
    const layout = layoutKvSource(problem, tensors, words);
    // key/value scale and offset (keyAntiquantScale, keyAntiquantOffset, valueAntiquantScale,
    // valueAntiquantOffset): 4 tensors, each (KVN·D = 16 f16 + 1 lead) → 9 words from byte 0.
    expect(layout.copies.map((x) => x.roles)).toEqual([['keyScale'], ['keyOffset'], ['valueScale'], ['valueOffset']]);
    expect(layout.copies.map((x) => x.bytes)).toEqual([36, 36, 36, 36]);
    expect(layout.copies[0]!.word).toBe(META_START_WORDS);
    expect(layout.copies[0]!.elemBase).toBe(2 * META_START_WORDS + 1);
    expect(words.words).toBe(META_START_WORDS + 36);
    // Same allocator state → same layout (GetWorkspaceSize and the run agree).
    expect(layoutKvSource(problem, tensors, new MetaWordAllocator(META_START_WORDS))).toEqual(layout);
  });

  it('one operator parameter for K and V (antiquantScale, antiquantOffset) is copied once, for both roles', async () => {
    const { inputs, problem, tensors } = await caseNamed('INT8 combined mode 0 per-channel + offset');
    expect(tensors.keyScale).toBe(inputs.antiquantScale);
    expect(tensors.valueScale).toBe(inputs.antiquantScale);
    expect(tensors.keyOffset).toBe(inputs.antiquantOffset);
    const layout = layoutKvSource(problem, tensors, new MetaWordAllocator(META_START_WORDS));
    expect(layout.copies.map((x) => x.roles)).toEqual([['keyScale', 'valueScale'], ['keyOffset', 'valueOffset']]);
  });

  it('layout refuses tensors without a role the problem reads (a programming error, never a silent 0 base)', async () => {
    const { problem, tensors } = await caseNamed('INT8 mode 0 per-channel');
    expect(() => layoutKvSource(problem, { ...tensors, valueOffset: null }, new MetaWordAllocator(META_START_WORDS)))
      .toThrow('kvSource: valueOffset is required by the problem but absent');
  });
});
