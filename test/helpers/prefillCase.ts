// A prefill kernel case: seeded host data → device tensors + FiaInputs → normalize → plan/encode the
// prefill kernel directly → read back → compare with the float64 reference (STYLE §8 tolerance).
import type { DataType } from '../../src/acl/dtype.js';
import type { Stream } from '../../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createTensor, createTensorFromBytes, readTensor, type Tensor,
} from '../../src/acl/tensor.js';
import { deqScaleWord, encodeValues } from '../../src/codec/index.js';
import { roundToBf16, roundToF16 } from '../../src/codec/float.js';
import { normalize } from '../../src/fia/normalize.js';
import type { FiaInputs, HostInputs, Layout, Problem } from '../../src/problem/problem.js';
import { capsOf, DEFAULT_CAPS, type DeviceCaps } from '../../src/kernels/caps.js';
import {
  encodePrefill, layoutPrefillWorkspace, planPrefill, prefillUnsupported, type PrefillPlan, type PrefillTune,
} from '../../src/kernels/prefill.js';
import { WorkspaceAllocator } from '../../src/kernels/workspace.js';
import { attentionReference, compareOutputs, type Comparison } from '../../src/reference/index.js';
import { mulberry32 } from '../../src/reference/random.js';

/** The seeded generator prefill cases draw from. */
export const rng = mulberry32;

export type FloatDtype = 'FLOAT16' | 'BFLOAT16' | 'FLOAT32';
export type MaskShape = 'SS' | 'BSS' | '1SS' | 'B1SS' | '11SS';

export interface PrefillCase {
  seed: number;
  B: number;
  N: number;
  KVN: number;
  Qs: number;
  /** Dense KV rows; ignored with `list`. */
  KVs: number;
  D: number;
  layout: Layout;
  dtype: FloatDtype;
  outDtype?: FloatDtype | 'INT8';
  /** INT8 attentionOut: quantScale2 per-tensor [1] or per-channel [N, D] (+ quantOffset2 alike). */
  outQuant?: { perChannel: boolean; offset: boolean; dtype: 'FLOAT32' | 'BFLOAT16' } | null;
  lse?: boolean;
  scale?: number;
  /** actualSeqLengths / actualSeqLengthsKv values (null: absent). */
  qLens?: number[] | null;
  kvLens?: number[] | null;
  /** queryPaddingSize / kvPaddingSize values (null: absent). */
  qPad?: number | null;
  kvPad?: number | null;
  /** Tensor-list KV: rows of each batch's tensor. */
  list?: number[] | null;
  /** size2048: the (2048, 2048) shapes sparseMode 2-4 require (padRows/padCols then unused). */
  mask?: { shape: MaskShape; dtype: 'BOOL' | 'INT8' | 'UINT8'; padRows: number; padCols: number; density: number; size2048?: boolean } | null;
  sparseMode?: number;
  preTokens?: number;
  nextTokens?: number;
  pse?: { batch1: boolean; padRows: number; padCols: number } | null;
  /** Magnitude of q (larger → peakier softmax). */
  qScale?: number;
  /**
   * Paged KV: a shuffled cache with `spare` extra blocks, (blockNum, blockSize, KV_N·D) or
   * (blockNum, KV_N, blockSize, D); `invalid`: some table entries point outside the cache.
   * actualSeqLengthsKv defaults to KVs per batch.
   */
  paged?: { blockSize: number; layout: 'BSH' | 'BNSD'; spare: number; invalid: boolean } | null;
  /** Shared prefix: rows of keySharedPrefix/valueSharedPrefix, and actualSharedPrefixLen (null: all rows). */
  prefix?: { rows: number; len: number | null } | null;
  /**
   * INT8 (or INT4 in INT32 words) K/V with antiquant: combined antiquantScale per-channel (2,KV_N,D)
   * or per-tensor (2), or separate key/value scales per-channel (KV_N,D) or per-token (B,KV_S) FLOAT32.
   */
  antiquant?: { kind: 'combined-channel' | 'combined-tensor' | 'separate-channel' | 'separate-token'; int4: boolean; offset: boolean } | null;
  /**
   * INT8 query/key/value (SEMANTICS §9): `dtype` then only names the reference's low-precision
   * emulation; deqScale1 FLOAT32 [1], quantScale1 FLOAT32 [1], deqScale2 UINT64 [1].
   */
  int8?: { deq1: number; qs1: number; deq2: number } | null;
  /** Plan overrides (tile shapes), else the default plan for the device. */
  tune?: PrefillTune;
}


const roundTo = (dtype: DataType): ((x: number) => number) =>
  dtype === 'FLOAT16' ? roundToF16 : dtype === 'BFLOAT16' ? roundToBf16 : Math.fround;

function shapeOf(layout: Layout, B: number, S: number, N: number, D: number, forOutput = false): number[] {
  const l = layout === 'BNSD_BSND' ? (forOutput ? 'BSND' : 'BNSD') : layout;
  if (l === 'BSH') return [B, S, N * D];
  if (l === 'BSND') return [B, S, N, D];
  return [B, N, S, D];
}

/** One-line repro of a case (paste into the test's case list). */
export function repro(c: PrefillCase): string {
  return `PREFILL_CASE=${JSON.stringify(c)}`;
}

export interface CaseResult {
  problem: Problem;
  plan: PrefillPlan;
  out: Comparison;
  lse: Comparison | null;
}

/** Absolute error floors per storage dtype (output and lse). */
export const FLOORS: Record<FloatDtype, { out: number; lse: number }> = {
  FLOAT32: { out: 2e-5, lse: 2e-5 },
  FLOAT16: { out: 2e-3, lse: 1e-3 },
  BFLOAT16: { out: 1.6e-2, lse: 8e-3 },
};

/** A case's device tensors and operator inputs, the host copies the reference reads, and a cleanup. */
export interface BuiltPrefillCase {
  /** The case with its defaults filled in (paged: actualSeqLengthsKv). */
  c: PrefillCase;
  inputs: FiaInputs;
  host: HostInputs;
  /** Destroys every buffer the builder created. */
  destroy(): void;
}

/** Builds `caseIn`'s tensors on `stream`'s device (seeded data) and the operator inputs over them. */
export function buildPrefillCase(stream: Stream, caseIn: PrefillCase): BuiltPrefillCase {
  let c = caseIn;
  const rand = rng(c.seed);
  const uni = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const { B, N, KVN, Qs, D, layout, dtype } = c;
  const outDtype = c.outDtype ?? dtype;
  const lse = c.lse ?? true;
  const r = roundTo(dtype);
  const values = (n: number, mag: number): Float64Array => c.int8
    ? Float64Array.from({ length: n }, () => Math.round(uni(-127, 127)))
    : Float64Array.from({ length: n }, () => r(uni(-mag, mag)));
  const elemDtype: DataType = c.int8 ? 'INT8' : dtype;

  const qShape = shapeOf(layout, B, Qs, N, D);
  const qHost = values(qShape.reduce((a, b) => a * b, 1), c.qScale ?? 1);
  const query = createTensor(stream, qHost, qShape, elemDtype, 'query');
  const kvRows = c.list ?? [c.KVs];
  const keys: Tensor[] = [];
  const vals: Tensor[] = [];
  const kHost: Float64Array[] = [];
  const vHost: Float64Array[] = [];
  let blockTable: Tensor | null = null;
  let btHost: Int32Array | undefined;
  const aq = c.antiquant;
  /** K/V-typed tensor: the float dtype, or INT8 / INT4 (INT32 words, last dim ÷ 8) with antiquant. */
  const kvTensor = (shape: number[], label: string): { host: Float64Array; t: Tensor } => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!aq) {
      const h = values(n, 1);
      return { host: h, t: createTensor(stream, h, shape, elemDtype, label) };
    }
    const lim = aq.int4 ? 8 : 128;
    const h = Float64Array.from({ length: n }, () => Math.floor(uni(-lim, lim)));
    if (!aq.int4) return { host: h, t: createTensor(stream, h, shape, 'INT8', label) };
    const packed = [...shape.slice(0, -1), shape[shape.length - 1]! / 8];
    return { host: h, t: createTensorFromBytes(stream, encodeValues('INT4', h), packed, 'INT32', label) };
  };
  const pushKv = (shape: number[]): void => {
    const k = kvTensor(shape, 'key');
    const v = kvTensor(shape, 'value');
    kHost.push(k.host);
    vHost.push(v.host);
    keys.push(k.t);
    vals.push(v.t);
  };
  if (c.paged) {
    const bs = c.paged.blockSize;
    const maxBlocks = Math.ceil(c.KVs / bs) + 1;
    const numBlocks = B * maxBlocks + c.paged.spare;
    const ids = Array.from({ length: numBlocks }, (_, i) => i);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    btHost = Int32Array.from({ length: B * maxBlocks }, (_, i) =>
      c.paged!.invalid && rand() < 0.15 ? (rand() < 0.5 ? -1 : numBlocks + 2) : ids[i]!);
    blockTable = createTensor(stream, btHost, [B, maxBlocks], 'INT32', 'blockTable');
    pushKv(c.paged.layout === 'BSH' ? [numBlocks, bs, KVN * D] : [numBlocks, KVN, bs, D]);
    c = { ...c, kvLens: c.kvLens ?? [c.KVs] };
  } else {
    for (const S of kvRows) pushKv(shapeOf(layout, c.list ? 1 : B, S, KVN, D));
  }
  const host: HostInputs = { query: qHost, key: kHost, value: vHost, blockTable: btHost };
  // Mask/pse columns: the prefix first, then the KV (SEMANTICS §3, §7); paged KV_S is the
  // table's span, blockTable dim 1 · blockSize (VALIDATION §6-7).
  const kvSpan = c.paged ? (Math.ceil(c.KVs / c.paged.blockSize) + 1) * c.paged.blockSize : Math.max(...kvRows);
  const kvMax = kvSpan + (c.prefix ? (c.prefix.len ?? c.prefix.rows) : 0);

  // Shared prefix (batch 1, KV layout) and antiquant parameters.
  const extra: Partial<FiaInputs> = {};
  if (c.prefix) {
    const shape = shapeOf(layout, 1, c.prefix.rows, KVN, D);
    const k = kvTensor(shape, 'keySharedPrefix');
    const v = kvTensor(shape, 'valueSharedPrefix');
    host.keySharedPrefix = k.host;
    host.valueSharedPrefix = v.host;
    extra.keySharedPrefix = k.t;
    extra.valueSharedPrefix = v.t;
    if (c.prefix.len !== null) extra.actualSharedPrefixLen = aclCreateIntArray([c.prefix.len]);
  }
  if (aq) {
    const scaleVals = (n: number, pd: DataType): Float64Array => Float64Array.from({ length: n }, () => roundTo(pd)(uni(0.004, 0.03) * (aq.int4 ? 8 : 1)));
    const offsetVals = (n: number, pd: DataType): Float64Array => Float64Array.from({ length: n }, () => roundTo(pd)(uni(-3, 3)));
    if (aq.kind === 'combined-channel' || aq.kind === 'combined-tensor') {
      // Per-channel: the Q_S > 1 shape for the layout (VALIDATION §12).
      const perChannel = layout === 'BSH' ? [2, KVN * D] : layout === 'BSND' ? [2, KVN, D] : [2, KVN, 1, D];
      const shape = aq.kind === 'combined-channel' ? perChannel : [2];
      const n = shape.reduce((a, b) => a * b, 1);
      host.antiquantScale = scaleVals(n, dtype);
      extra.antiquantScale = createTensor(stream, host.antiquantScale, shape, dtype, 'antiquantScale');
      if (aq.offset) {
        host.antiquantOffset = offsetVals(n, dtype);
        extra.antiquantOffset = createTensor(stream, host.antiquantOffset, shape, dtype, 'antiquantOffset');
      }
    } else {
      const perToken = aq.kind === 'separate-token';
      const shape = perToken ? [B, c.KVs] : [KVN, D];
      const pd: DataType = perToken ? 'FLOAT32' : dtype;
      const n = shape.reduce((a, b) => a * b, 1);
      host.keyAntiquantScale = scaleVals(n, pd);
      host.valueAntiquantScale = scaleVals(n, pd);
      extra.keyAntiquantScale = createTensor(stream, host.keyAntiquantScale, shape, pd, 'keyAntiquantScale');
      extra.valueAntiquantScale = createTensor(stream, host.valueAntiquantScale, shape, pd, 'valueAntiquantScale');
      if (aq.offset) {
        host.keyAntiquantOffset = offsetVals(n, pd);
        host.valueAntiquantOffset = offsetVals(n, pd);
        extra.keyAntiquantOffset = createTensor(stream, host.keyAntiquantOffset, shape, pd, 'keyAntiquantOffset');
        extra.valueAntiquantOffset = createTensor(stream, host.valueAntiquantOffset, shape, pd, 'valueAntiquantOffset');
      }
      extra.keyAntiquantMode = perToken ? 1 : 0;
      extra.valueAntiquantMode = perToken ? 1 : 0;
    }
  }

  if (c.int8) {
    host.deqScale1 = c.int8.deq1;
    host.quantScale1 = c.int8.qs1;
    host.deqScale2 = c.int8.deq2;
    extra.deqScale1 = createTensor(stream, [c.int8.deq1], [1], 'FLOAT32', 'deqScale1');
    extra.quantScale1 = createTensor(stream, [c.int8.qs1], [1], 'FLOAT32', 'quantScale1');
    extra.deqScale2 = createTensor(stream, [deqScaleWord(c.int8.deq2)], [1], 'UINT64', 'deqScale2');
  }

  let attenMask: Tensor | null = null;
  if (c.mask) {
    const rows = c.mask.size2048 ? 2048 : Qs + c.mask.padRows;
    const cols = c.mask.size2048 ? 2048 : kvMax + c.mask.padCols;
    const shape = c.mask.shape === 'SS' ? [rows, cols] : c.mask.shape === 'BSS' ? [B, rows, cols]
      : c.mask.shape === '1SS' ? [1, rows, cols] : c.mask.shape === 'B1SS' ? [B, 1, rows, cols] : [1, 1, rows, cols];
    const n = shape.reduce((a, b) => a * b, 1);
    // The (2048, 2048) masks of sparseMode 2-4 are only validated, never read: zeros.
    const m = c.mask.size2048 ? new Float64Array(n)
      : Float64Array.from({ length: n }, () => (rand() < c.mask!.density ? 1 + Math.floor(rand() * 3) : 0));
    // Holes: a few fully masked rows.
    const planes = c.mask.size2048 ? 0 : n / (rows * cols);
    for (let p = 0; p < planes; p++) {
      if (rand() < 0.6) {
        const row = Math.floor(rand() * rows);
        for (let col = 0; col < cols; col++) m[(p * rows + row) * cols + col] = 1;
      }
    }
    if (c.mask.dtype === 'BOOL') for (let i = 0; i < n; i++) m[i] = m[i] ? 1 : 0;
    attenMask = createTensor(stream, m, shape, c.mask.dtype, 'attenMask');
    host.attenMask = m;
  }
  let pseShift: Tensor | null = null;
  if (c.pse) {
    const shape = [c.pse.batch1 ? 1 : B, N, Qs + c.pse.padRows, kvMax + c.pse.padCols];
    // Float biases even with an INT8 query (pseShift is FLOAT16 then).
    const p = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r(uni(-2, 2)));
    pseShift = createTensor(stream, p, shape, dtype, 'pseShift');
    host.pseShift = p;
  }
  const pad = (v: number | null | undefined, name: string): Tensor | null =>
    v === null || v === undefined ? null : createTensor(stream, [v], [1], 'INT64', name);
  if (c.qPad !== null && c.qPad !== undefined) host.queryPaddingSize = c.qPad;
  if (c.kvPad !== null && c.kvPad !== undefined) host.kvPaddingSize = c.kvPad;

  let quantScale2: Tensor | null = null;
  let quantOffset2: Tensor | null = null;
  if (c.outQuant) {
    const shape = c.outQuant.perChannel ? [N, D] : [1];
    const n = shape.reduce((a, b) => a * b, 1);
    const qr = roundTo(c.outQuant.dtype);
    host.quantScale2 = Float64Array.from({ length: n }, () => qr(uni(40, 120)));
    quantScale2 = createTensor(stream, host.quantScale2, shape, c.outQuant.dtype, 'quantScale2');
    if (c.outQuant.offset) {
      host.quantOffset2 = Float64Array.from({ length: n }, () => qr(uni(-20, 20)));
      quantOffset2 = createTensor(stream, host.quantOffset2, shape, c.outQuant.dtype, 'quantOffset2');
    }
  }
  const outShape = shapeOf(layout, B, Qs, N, D, true);
  const outCount = outShape.reduce((a, b) => a * b, 1);
  // Garbage in the outputs: every element must be written by the kernel.
  const attentionOut = createTensor(stream, new Float64Array(outCount).fill(123), outShape, outDtype, 'attentionOut');
  const softmaxLse = lse ? createTensor(stream, new Float64Array(B * N * Qs).fill(-77), [B, N, Qs, 1], 'FLOAT32', 'lse') : null;

  const inputs: FiaInputs = {
    query, key: aclCreateTensorList(keys), value: aclCreateTensorList(vals),
    pseShift, attenMask, blockTable, blockSize: c.paged?.blockSize ?? 0,
    actualSeqLengths: c.qLens ? aclCreateIntArray(c.qLens) : null,
    actualSeqLengthsKv: c.kvLens ? aclCreateIntArray(c.kvLens) : null,
    queryPaddingSize: pad(c.qPad, 'queryPaddingSize'), kvPaddingSize: pad(c.kvPad, 'kvPaddingSize'),
    numHeads: N, scaleValue: c.scale ?? 1 / Math.sqrt(D),
    preTokens: c.preTokens ?? 2147483647, nextTokens: c.nextTokens ?? 2147483647,
    inputLayout: layout, numKeyValueHeads: KVN, sparseMode: c.sparseMode ?? 0, innerPrecise: 1,
    antiquantMode: 0, softmaxLseFlag: lse, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut, softmaxLse, quantScale2, quantOffset2,
    ...extra,
  };
  const destroy = (): void => {
    for (const t of [query, ...keys, ...vals, attenMask, pseShift, blockTable, quantScale2, quantOffset2, attentionOut, softmaxLse]) t?.buffer.destroy();
    for (const t of Object.values(extra)) if (t && typeof t === 'object' && 'buffer' in t) (t as Tensor).buffer.destroy();
  };
  return { c, inputs, host, destroy };
}

/**
 * The prefill kernel's outputs vs the float64 reference on the case's host data, with the
 * tolerances of STYLE §8 for the case's dtypes (INT8 attention and INT8 output have their own).
 */
export function comparePrefill(c: PrefillCase, problem: Problem, host: HostInputs, outActual: Float64Array, lseActual: Float64Array | null): { out: Comparison; lse: Comparison | null } {
  const { dtype } = c;
  const outDtype = c.outDtype ?? dtype;
  const ref = attentionReference(problem, host);
  const refLow = attentionReference(problem, host, { roundTo: dtype });
  let out: Comparison;
  if (c.int8 && outDtype !== 'INT8') {
    // One P8 step (±1, SEMANTICS §9) of the largest |v| moves out by ≤ 127·deqScale2/l, l ≥ 1.
    out = compareOutputs(outActual, ref.attentionOut, refLow.attentionOut, Math.max(FLOORS.FLOAT16.out, 2 * 127 * c.int8.deq2));
  } else if (outDtype === 'INT8') {
    // Quantized output: ±1 (SEMANTICS §9: the rounding of o before quantization differs).
    out = compareOutputs(outActual, ref.attentionOut, refLow.attentionOut, 1);
  } else {
    const floor = FLOORS[outDtype === 'FLOAT32' ? dtype : outDtype];
    // The output dtype's own rounding is part of the storage error: the low-precision reference
    // rounds its output to the output dtype too.
    const refLowOut = outDtype === dtype ? refLow.attentionOut : refLow.attentionOut.map(roundTo(outDtype));
    out = compareOutputs(outActual, ref.attentionOut, refLowOut, Math.max(floor.out, FLOORS[outDtype].out));
  }
  const lse = lseActual ? compareOutputs(lseActual, ref.softmaxLse!, refLow.softmaxLse, FLOORS[dtype].lse) : null;
  return { out, lse };
}

/** Builds the case, plans and encodes the prefill kernel directly (no validation), compares with the reference. */
export async function runPrefillCase(stream: Stream, caseIn: PrefillCase, caps?: DeviceCaps): Promise<CaseResult> {
  const { c, inputs, host, destroy } = buildPrefillCase(stream, caseIn);
  const attentionOut = inputs.attentionOut!;
  const softmaxLse = inputs.softmaxLse;
  const problem = normalize(inputs);
  const device = stream.device;
  // Without explicit caps, hold cases to the WebGPU default limits (what every adapter grants).
  const reason = prefillUnsupported(problem, caps ?? DEFAULT_CAPS);
  if (reason) throw new Error(`unsupported: ${reason}`);
  const plan = planPrefill(problem, caps ?? capsOf(device), c.tune);
  const counter = new WorkspaceAllocator();
  layoutPrefillWorkspace(problem, plan, counter, inputs);
  const workspace = counter.bytes > 0
    ? device.createBuffer({ size: counter.bytes, usage: 0x80 | 0x08 | 0x04, label: 'workspace' }) : null;
  const regions = layoutPrefillWorkspace(problem, plan, new WorkspaceAllocator(), inputs);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodePrefill({ device, encoder, problem, plan, inputs, workspace, regions });
  stream.queue.submit([encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);

  const outActual = await readTensor(stream, attentionOut);
  const lseActual = softmaxLse ? await readTensor(stream, softmaxLse) : null;
  const { out, lse: lseCmp } = comparePrefill(c, problem, host, outActual, lseActual);
  destroy();
  workspace?.destroy();
  return { problem, plan, out, lse: lseCmp };
}
