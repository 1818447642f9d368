// Decode test cases: a small spec → device tensors (FiaInputs), the normalized Problem, the host
// copies the CPU reference reads, then kernel run + comparison against the reference.
import type { DataType } from '../src/acl/dtype.js';
import type { Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createEmptyTensor, createTensor, readTensor, type Tensor,
} from '../src/acl/tensor.js';
import { capsOf } from '../src/kernels/caps.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs, HostInputs, Layout, Problem, StorageLayout } from '../src/fia/problem.js';
import {
  decodeUnsupported, encodeDecode, layoutDecodeWorkspace, planDecode, type DecodePlan, type DecodePlanOptions,
} from '../src/kernels/decode.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { attentionReference, compareOutputs, rounderFor } from '../src/reference/index.js';

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
  /** Kernel variant (default: the plan's choice). */
  variant?: 'lanes' | 'tiles';
  scaleValue?: number;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  host: HostInputs;
  problem: Problem;
}

export function buildDecodeCase(stream: Stream, spec: DecodeSpec, seed: number): BuiltCase {
  const rand = mulberry32(seed);
  const { batch: B, numQoHeads: N, numKvHeads: KVN, headDim: D, dtype } = spec;
  const storage = storageOf(spec.layout);
  const qv = randomValues(rand, B * N * D, dtype);
  const query = createTensor(stream, qv, storageShape(storage, B, N, 1, D), dtype);
  const list = Array.isArray(spec.kvSeqLen);
  const seqLens = list ? (spec.kvSeqLen as number[]) : [spec.kvSeqLen as number];
  const keys: Tensor[] = [];
  const values: Tensor[] = [];
  const hostK: Float64Array[] = [];
  const hostV: Float64Array[] = [];
  for (const S of seqLens) {
    const bt = list ? 1 : B;
    const kv = randomValues(rand, bt * KVN * S * D, dtype, 1.5);
    const vv = randomValues(rand, bt * KVN * S * D, dtype);
    keys.push(createTensor(stream, kv, storageShape(storage, bt, KVN, S, D), dtype));
    values.push(createTensor(stream, vv, storageShape(storage, bt, KVN, S, D), dtype));
    hostK.push(kv);
    hostV.push(vv);
  }
  const maxS = Math.max(...seqLens);
  const host: HostInputs = { query: qv, key: hostK, value: hostV };
  const inputs: FiaInputs = {
    query, key: aclCreateTensorList(keys), value: aclCreateTensorList(values),
    numHeads: N, scaleValue: spec.scaleValue ?? 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647,
    inputLayout: spec.layout, numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 1, blockSize: 0,
    antiquantMode: 0, softmaxLseFlag: spec.softmaxLse ?? true, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: createEmptyTensor(stream, storageShape(outStorageOf(spec.layout), B, N, 1, D), dtype),
    softmaxLse: (spec.softmaxLse ?? true) ? createEmptyTensor(stream, [B, N, 1, 1], 'FLOAT32') : null,
  };
  if (spec.kvLens) inputs.actualSeqLengthsKv = aclCreateIntArray(spec.kvLens);
  if (spec.kvPad !== undefined && spec.kvPad !== null) {
    inputs.kvPaddingSize = createTensor(stream, [spec.kvPad], [1], 'INT64');
    host.kvPaddingSize = spec.kvPad;
  }
  if (spec.mask) {
    const cols = maxS + (spec.mask.extraCols ?? 0);
    const shape = spec.mask.shape.split(',').map((d) => (d === 'B' ? B : d === 'S' ? cols : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    const m = new Float64Array(n);
    for (let i = 0; i < n; i++) m[i] = rand() < spec.mask.density ? 1 : 0;
    inputs.attenMask = createTensor(stream, m, shape, spec.mask.dtype);
    host.attenMask = m;
  }
  if (spec.pse) {
    const cols = maxS + (spec.pse.extraCols ?? 0);
    const pb = spec.pse.batch === 'B' ? B : 1;
    const p = randomValues(rand, pb * N * cols, dtype, 2);
    inputs.pseShift = createTensor(stream, p, [pb, N, 1, cols], dtype);
    host.pseShift = p;
  }
  return { inputs, host, problem: normalize(inputs) };
}

/** Runs the decode kernel exactly as the executor will (counting layout, then placement). */
export async function runDecode(stream: Stream, c: BuiltCase, opts: DecodePlanOptions = {}): Promise<{ plan: DecodePlan; out: Float64Array; lse: Float64Array | null; workspaceBytes: number }> {
  const reason = decodeUnsupported(c.problem);
  if (reason) throw new Error(`unsupported: ${reason}`);
  const device = stream.device;
  const plan = planDecode(c.problem, capsOf(device), opts);
  const counting = new WorkspaceAllocator();
  layoutDecodeWorkspace(c.problem, plan, counting);
  const placing = new WorkspaceAllocator();
  const regions = layoutDecodeWorkspace(c.problem, plan, placing);
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

const FLOORS: Record<FloatType, number> = { FLOAT32: 2e-5, FLOAT16: 1e-3, BFLOAT16: 8e-3 };

/** Kernel vs reference; returns '' when within tolerance, else a one-line failure message. */
export async function checkDecode(stream: Stream, spec: DecodeSpec, seed: number): Promise<string> {
  const c = buildDecodeCase(stream, spec, seed);
  const got = await runDecode(stream, c, { numSplits: spec.numSplits, variant: spec.variant });
  const ref = attentionReference(c.problem, c.host);
  const refLow = attentionReference(c.problem, c.host, { roundTo: spec.dtype });
  const repro = `repro: checkDecode(stream, ${JSON.stringify(spec)}, ${seed}) plan ${JSON.stringify({ variant: got.plan.variant, numSplits: got.plan.numSplits, splitLen: got.plan.splitLen, direct: got.plan.direct, headBlock: got.plan.headBlock })}`;
  const o = compareOutputs(got.out, ref.attentionOut, refLow.attentionOut, FLOORS[spec.dtype]);
  if (!o.ok) return `out ${o.message}; ${repro}`;
  if (ref.softmaxLse) {
    const l = compareOutputs(got.lse!, ref.softmaxLse, refLow.softmaxLse, 1e-4);
    if (!l.ok) return `lse ${l.message}; ${repro}`;
  }
  return '';
}
