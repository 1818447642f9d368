// Decode test cases: a small spec → device tensors (FiaInputs), the normalized Problem, the host
// copies the CPU reference reads, then kernel run + comparison against the reference.
import type { DataType } from '../src/acl/dtype.js';
import type { Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createEmptyTensor, createTensor, createTensorFromBytes, readTensor, type Tensor,
} from '../src/acl/tensor.js';
import { encodeValues } from '../src/codec/index.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { validate } from '../src/fia/validate.js';
import { capsOf } from '../src/kernels/caps.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs, Layout, Problem, StorageLayout } from '../src/problem/problem.js';
import {
  decodeUnsupported, encodeDecode, layoutDecodeWorkspace, planDecode, type DecodePlan, type DecodePlanOptions,
} from '../src/kernels/decode.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { attentionReference, compareOutputs, rounderFor } from '../src/reference/index.js';
import { mulberry32 } from '../src/reference/random.js';

export { mulberry32 };

export type FloatType = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';
export type MaskShape = 'B,S' | 'B,1,S' | 'B,1,1,S' | '1,S' | '1,1,1,S';

export interface DecodeSpec {
  batch: number;
  numQoHeads: number;
  numKvHeads: number;
  headDim: number;
  /** KV_S of the key tensor (tensor list: per batch). */
  kvSeqLen: number | number[];
  dtype: FloatType;
  layout: Layout;
  /** actualSeqLengthsKv (null: full). */
  kvLens?: number[] | null;
  mask?: { shape: MaskShape; dtype: 'BOOL' | 'INT8' | 'UINT8'; density: number; extraCols?: number } | null;
  pse?: { batch: 1 | 'B'; extraCols?: number } | null;
  /** kvPaddingSize value (needs kvLens). */
  kvPad?: number | null;
  softmaxLse?: boolean;
  numSplits?: number;
  /** Paged KV (needs kvLens; f16/bf16): a shuffled table over numBlocks = Σ blocks + spare; badIds: some ids out of range. */
  paged?: { blockSize: number; cache: 'BSH' | 'BNSD'; spare?: number; badIds?: boolean } | null;
  /** Shared prefix of S rows, P used (0: all). */
  prefix?: { S: number; P: number } | null;
  /** INT8 / INT4 K/V with antiquant (query f16/bf16): separate params, key/value modes (0 per-channel, 1 per-token, 2 per-head, 3 per-token-head, 4/5 paged per-token(-head)). */
  quant?: { kv: 'INT8' | 'INT4'; kMode: 0 | 1 | 2 | 3 | 4 | 5; vMode: 0 | 1 | 2 | 3 | 4 | 5; offset: boolean; perTensor?: boolean } | null;
  /** Kernel variant (default: the plan's choice); noSubgroups: lanes merged through workgroup memory. */
  variant?: 'lanes' | 'tiles';
  noSubgroups?: boolean;
  scaleValue?: number;
}


function storageShape(layout: StorageLayout, B: number, N: number, S: number, D: number): number[] {
  switch (layout) {
    case 'BSH': return [B, S, N * D];
    case 'BSND': return [B, S, N, D];
    case 'BNSD': return [B, N, S, D];
  }
}

const storageOf = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BNSD' : l);
const outStorageOf = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BSND' : l);

function randomValues(rand: () => number, n: number, dtype: DataType, scale = 1): Float64Array {
  const round = rounderFor(dtype);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = round((rand() * 2 - 1) * scale);
  return a;
}

export interface BuiltCase {
  inputs: FiaInputs;
  problem: Problem;
}

/** A tensor of `dtype` holding `values`; INT4 K/V go in INT32 words (last dim ÷ 8). */
function kvTensor(stream: Stream, values: Float64Array, shape: number[], dtype: DataType): Tensor {
  if (dtype !== 'INT4') return createTensor(stream, values, shape, dtype);
  const t = createTensorFromBytes(stream, encodeValues('INT4', values), shape.map((d, i) => (i === shape.length - 1 ? d / 8 : d)), 'INT32');
  return t;
}

function intValues(rand: () => number, n: number, kv: 'INT8' | 'INT4'): Float64Array {
  const span = kv === 'INT8' ? 256 : 16;
  return Float64Array.from({ length: n }, () => Math.floor(rand() * span) - span / 2);
}

export function buildDecodeCase(stream: Stream, spec: DecodeSpec, seed: number): BuiltCase {
  const rand = mulberry32(seed);
  const { batch: B, numQoHeads: N, numKvHeads: KVN, headDim: D, dtype } = spec;
  const storage = storageOf(spec.layout);
  const kvDtype: DataType = spec.quant ? spec.quant.kv : dtype;
  const kvValues = (n: number, scale: number): Float64Array => (spec.quant ? intValues(rand, n, spec.quant.kv) : randomValues(rand, n, dtype, scale));
  const qv = randomValues(rand, B * N * D, dtype);
  const query = createTensor(stream, qv, storageShape(storage, B, N, 1, D), dtype);
  const list = Array.isArray(spec.kvSeqLen);
  const seqLens = list ? (spec.kvSeqLen as number[]) : [spec.kvSeqLen as number];
  const keys: Tensor[] = [];
  const values: Tensor[] = [];
  let blockTable: Tensor | null = null;
  let numBlocks = 0;
  if (spec.paged) {
    // Cache of numBlocks blocks; batch b's table row is a shuffled slice of block ids.
    const bs = spec.paged.blockSize;
    const maxBlocks = Math.ceil((spec.kvSeqLen as number) / bs);
    numBlocks = B * maxBlocks + (spec.paged.spare ?? 2);
    const ids = Array.from({ length: numBlocks }, (_, i) => i);
    for (let i = ids.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [ids[i], ids[j]] = [ids[j]!, ids[i]!]; }
    const table = Array.from({ length: B * maxBlocks }, (_, i) => ids[i]!);
    if (spec.paged.badIds) { table[0] = -1; table[table.length - 1] = numBlocks + 3; }
    const shape = spec.paged.cache === 'BSH' ? [numBlocks, bs, KVN * D] : [numBlocks, KVN, bs, D];
    keys.push(kvTensor(stream, kvValues(numBlocks * bs * KVN * D, 1.5), shape, kvDtype));
    values.push(kvTensor(stream, kvValues(numBlocks * bs * KVN * D, 1), shape, kvDtype));
    blockTable = createTensor(stream, table, [B, maxBlocks], 'INT32');
  } else {
    for (const S of seqLens) {
      const bt = list ? 1 : B;
      const shape = storageShape(storage, bt, KVN, S, D);
      keys.push(kvTensor(stream, kvValues(bt * KVN * S * D, 1.5), shape, kvDtype));
      values.push(kvTensor(stream, kvValues(bt * KVN * S * D, 1), shape, kvDtype));
    }
  }
  const prefixLen = spec.prefix ? spec.prefix.P || spec.prefix.S : 0;
  // Columns of mask/pse: KV_S (paged: maxBlocksPerSeq · blockSize) plus the prefix.
  const kvCols = spec.paged ? Math.ceil((spec.kvSeqLen as number) / spec.paged.blockSize) * spec.paged.blockSize : Math.max(...seqLens);
  const maxS = kvCols + prefixLen;
  const inputs: FiaInputs = {
    query, key: aclCreateTensorList(keys), value: aclCreateTensorList(values),
    numHeads: N, scaleValue: spec.scaleValue ?? 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647,
    inputLayout: spec.layout, numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 1, blockSize: spec.paged?.blockSize ?? 0,
    antiquantMode: 0, softmaxLseFlag: spec.softmaxLse ?? true,
    keyAntiquantMode: spec.quant?.kMode ?? 0, valueAntiquantMode: spec.quant?.vMode ?? 0,
    attentionOut: createEmptyTensor(stream, storageShape(outStorageOf(spec.layout), B, N, 1, D), dtype),
    softmaxLse: (spec.softmaxLse ?? true) ? createEmptyTensor(stream, [B, N, 1, 1], 'FLOAT32') : null,
    blockTable,
  };
  if (spec.kvLens) inputs.actualSeqLengthsKv = aclCreateIntArray(spec.kvLens);
  if (spec.kvPad !== undefined && spec.kvPad !== null) inputs.kvPaddingSize = createTensor(stream, [spec.kvPad], [1], 'INT64');
  if (spec.prefix) {
    const shape = storageShape(storage, 1, KVN, spec.prefix.S, D);
    inputs.keySharedPrefix = kvTensor(stream, kvValues(KVN * spec.prefix.S * D, 1.5), shape, kvDtype);
    inputs.valueSharedPrefix = kvTensor(stream, kvValues(KVN * spec.prefix.S * D, 1), shape, kvDtype);
    if (spec.prefix.P > 0) inputs.actualSharedPrefixLen = aclCreateIntArray([spec.prefix.P]);
  }
  if (spec.quant) {
    // Per-token rows hold P + KV_S positions (prefix first; paged KV_S: the table's span) plus a spare.
    const tokenS = prefixLen + kvCols + 1;
    const param = (mode: number, offset: boolean): [Tensor, Tensor | null] => {
      const [shape, pd]: [number[], DataType] = mode === 0 ? [spec.quant!.perTensor ? [1] : [1, KVN, D], dtype]
        : mode === 1 ? [[B, tokenS], 'FLOAT32'] : mode === 2 ? [[KVN], dtype] : mode === 3 ? [[B, KVN, tokenS], 'FLOAT32']
        : mode === 4 ? [[numBlocks, spec.paged!.blockSize], 'FLOAT32'] : [[numBlocks, KVN, spec.paged!.blockSize], 'FLOAT32'];
      const n = shape.reduce((a, b) => a * b, 1);
      const scale = createTensor(stream, Float64Array.from({ length: n }, () => 0.005 + rand() * 0.05), shape, pd);
      const off = offset ? createTensor(stream, Float64Array.from({ length: n }, () => Math.round((rand() * 6 - 3) * 8) / 8), shape, pd) : null;
      return [scale, off];
    };
    [inputs.keyAntiquantScale, inputs.keyAntiquantOffset] = param(spec.quant.kMode, spec.quant.offset);
    [inputs.valueAntiquantScale, inputs.valueAntiquantOffset] = param(spec.quant.vMode, spec.quant.offset);
  }
  if (spec.mask) {
    const cols = maxS + (spec.mask.extraCols ?? 0);
    const shape = spec.mask.shape.split(',').map((d) => (d === 'B' ? B : d === 'S' ? cols : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    const m = new Float64Array(n);
    for (let i = 0; i < n; i++) m[i] = rand() < spec.mask.density ? 1 : 0;
    inputs.attenMask = createTensor(stream, m, shape, spec.mask.dtype);
  }
  if (spec.pse) {
    const cols = maxS + (spec.pse.extraCols ?? 0);
    const pb = spec.pse.batch === 'B' ? B : 1;
    inputs.pseShift = createTensor(stream, randomValues(rand, pb * N * cols, dtype, 2), [pb, N, 1, cols], dtype);
  }
  validate(inputs);
  return { inputs, problem: normalize(inputs) };
}

/** Runs the decode kernel exactly as the executor will (counting layout, then placement). */
export async function runDecode(stream: Stream, c: BuiltCase, opts: DecodePlanOptions = {}): Promise<{ plan: DecodePlan; out: Float64Array; lse: Float64Array | null; workspaceBytes: number }> {
  const reason = decodeUnsupported(c.problem);
  if (reason) throw new Error(`unsupported: ${reason}`);
  const device = stream.device;
  const plan = planDecode(c.problem, capsOf(device), opts, c.inputs);
  const counting = new WorkspaceAllocator();
  layoutDecodeWorkspace(c.problem, plan, counting, c.inputs);
  const placing = new WorkspaceAllocator();
  const regions = layoutDecodeWorkspace(c.problem, plan, placing, c.inputs);
  const workspace = device.createBuffer({ size: Math.max(4, counting.bytes), usage: 0x80 | 0x08 | 0x04 });
  const encoder = device.createCommandEncoder();
  device.pushErrorScope('validation');
  encodeDecode({ device, encoder, problem: c.problem, plan, inputs: c.inputs, workspace, regions });
  stream.queue.submit([encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`device validation: ${err.message}`);
  const out = await readTensor(stream, c.inputs.attentionOut!);
  const lse = c.inputs.softmaxLse ? await readTensor(stream, c.inputs.softmaxLse) : null;
  workspace.destroy();
  return { plan, out, lse, workspaceBytes: counting.bytes };
}

/** Absolute error floors of decode outputs per dtype (lse: 1e-4). */
export const FLOORS: Record<FloatType, number> = { FLOAT32: 2e-5, FLOAT16: 1e-3, BFLOAT16: 8e-3 };

/** Kernel vs reference; returns '' when within tolerance, else a one-line failure message. */
export async function checkDecode(stream: Stream, spec: DecodeSpec, seed: number): Promise<string> {
  const c = buildDecodeCase(stream, spec, seed);
  const host = await readHostInputs(stream, c.inputs, c.problem);
  const got = await runDecode(stream, c, { numSplits: spec.numSplits, variant: spec.variant, noSubgroups: spec.noSubgroups });
  const ref = attentionReference(c.problem, host);
  const refLow = attentionReference(c.problem, host, { roundTo: spec.dtype });
  const repro = `repro: checkDecode(stream, ${JSON.stringify(spec)}, ${seed}) plan ${JSON.stringify({ variant: got.plan.variant, subgroupMerge: got.plan.subgroupMerge, numSplits: got.plan.numSplits, splitLen: got.plan.splitLen, direct: got.plan.direct, headBlock: got.plan.headBlock })}`;
  const o = compareOutputs(got.out, ref.attentionOut, refLow.attentionOut, FLOORS[spec.dtype]);
  if (!o.ok) return `out ${o.message}; ${repro}`;
  if (ref.softmaxLse) {
    const l = compareOutputs(got.lse!, ref.softmaxLse, refLow.softmaxLse, 1e-4);
    if (!l.ok) return `lse ${l.message}; ${repro}`;
  }
  return '';
}
