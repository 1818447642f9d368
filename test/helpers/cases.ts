// Test cases in one vocabulary: a CaseSpec (the Problem's shape names plus one optional field per
// operator feature) → seeded device tensors and the operator inputs over them (buildCase) → the
// prefill or decode kernel run directly (runKernel) → its outputs against the float64 reference
// (compareCase). `makeProblem` gives a Problem in the same names for the host-side tests.
import { describe, expect, it } from 'vitest';
import type { DataType } from '../../src/codec/dtype.js';
import type { Stream } from '../../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createTensor, createTensorFromBytes, readTensor, type Tensor,
} from '../../src/acl/tensor.js';
import { deqScaleWord, encodeValues } from '../../src/codec/index.js';
import { readHostInputs } from '../../src/fia/hostInputs.js';
import { normalize } from '../../src/fia/normalize.js';
import { type FiaInputs, type HostInputs, INT_MAX, type Layout, type Problem, type StorageLayout } from '../../src/problem/problem.js';
import { validate as validateInputs } from '../../src/fia/validate.js';
import { capsOf, DEFAULT_CAPS, type DeviceCaps } from '../../src/kernels/caps.js';
import type { DecodePlan, DecodeVariant } from '../../src/kernels/decode.js';
import { encodeKernel, kernelUnsupported, planKernel } from '../../src/kernels/family.js';
import type { PrefillPlan, PrefillTune } from '../../src/kernels/prefill.js';
import { attentionReference, compareOutputs, mulberry32, rounderFor, type Comparison } from '../../src/reference/index.js';
import { USAGE } from '../../src/acl/usage.js';
import { kvLensBuffer } from '../../src/kernels/decode.js';
import { kernelTensors } from '../../src/problem/tensors.js';
import { testStream } from './gpu.js';

export { mulberry32 };

export type FloatDtype = 'FLOAT16' | 'BFLOAT16' | 'FLOAT32';
/**
 * attenMask dimensions, outermost first: B (batch), Q (query rows), S (columns: KV_S plus the
 * prefix), 1. Q_S > 1 takes (Q,S), (B,Q,S), (1,Q,S), (B,1,Q,S), (1,1,Q,S); Q_S == 1 the row forms.
 */
export type MaskShape = 'Q,S' | 'B,Q,S' | '1,Q,S' | 'B,1,Q,S' | '1,1,Q,S' | 'B,S' | 'B,1,S' | 'B,1,1,S' | '1,S' | '1,1,1,S';

export interface CaseSpec {
  seed: number;
  batch: number;
  numQoHeads: number;
  numKvHeads: number;
  headDim: number;
  /** 1: the decode kernel; more: prefill. */
  qSeqLen: number;
  /** Dense KV rows; paged: the longest sequence; unused with `list`. */
  kvSeqLen: number;
  layout: Layout;
  /** Query dtype (with `int8`: the reference's low-precision emulation only). */
  dtype: FloatDtype;
  outDtype?: FloatDtype | 'INT8';
  /** INT8 attentionOut: quantScale2 per-tensor [1] or per-channel [N, D] (+ quantOffset2 alike). */
  outQuant?: { perChannel: boolean; offset: boolean; dtype: 'FLOAT32' | 'BFLOAT16' } | null;
  /** softmaxLseFlag (default on). */
  lse?: boolean;
  /** scaleValue (default 1/√D). */
  scale?: number;
  /** Magnitude of q (larger → peakier softmax). */
  qScale?: number;
  /** actualSeqLengths / actualSeqLengthsKv values (null: absent). */
  qLens?: number[] | null;
  kvLens?: number[] | null;
  /** queryPaddingSize / kvPaddingSize values (null: absent). */
  qPad?: number | null;
  kvPad?: number | null;
  /** Tensor-list KV: rows of each batch's tensor. */
  list?: number[] | null;
  /**
   * extraRows/extraCols beyond Q_S and the columns needed; size2048: the (2048, 2048) masks
   * sparseMode 2-4 require (content unread: zeros). Values: nonzero (1-3) with `density`, and with
   * several query rows a few fully masked rows.
   */
  mask?: { shape: MaskShape; dtype: 'BOOL' | 'INT8' | 'UINT8'; density: number; extraRows?: number; extraCols?: number; size2048?: boolean } | null;
  sparseMode?: number;
  preTokens?: number;
  nextTokens?: number;
  pse?: { batch1: boolean; extraRows?: number; extraCols?: number } | null;
  /**
   * Paged KV: a table of ⌈KV_S / blockSize⌉ blocks per batch into a shuffled cache of B · that + spare
   * blocks, (blockNum, blockSize, KV_N·D) or (blockNum, KV_N, blockSize, D); `invalid`: some table entries point outside the
   * cache. actualSeqLengthsKv defaults to KV_S per batch.
   */
  paged?: { blockSize: number; cache: 'BSH' | 'BNSD'; spare: number; invalid?: boolean } | null;
  /** Shared prefix: rows of keySharedPrefix/valueSharedPrefix, and actualSharedPrefixLen (null: absent). */
  prefix?: { rows: number; len: number | null } | null;
  /**
   * INT8 or INT4 (INT32 words) K/V with antiquant parameters: `combined` (antiquantScale of two
   * planes, mode kMode) or separate key/value scales (modes 0 per-channel, 1 per-token, 2 per-head,
   * 3 per-token-head, 4/5 paged per-token(-head)); perTensor: mode 0 as one value.
   */
  antiquant?: { kv: 'INT8' | 'INT4'; kMode: 0 | 1 | 2 | 3 | 4 | 5; vMode: 0 | 1 | 2 | 3 | 4 | 5; offset: boolean; combined?: boolean; perTensor?: boolean } | null;
  /** INT8 query/key/value (SEMANTICS §9): deqScale1, quantScale1 FLOAT32 [1], deqScale2 UINT64 [1]. */
  int8?: { deq1: number; qs1: number; deq2: number } | null;
  /** Extensions beyond the operator: learnableSink FLOAT32 [N] with these values, softcap, slidingWindow. */
  sink?: number[] | null;
  softcap?: number;
  window?: number;
  /** Prefill plan overrides (tile shapes), else the default plan for the device. */
  tune?: PrefillTune;
  /** Decode plan choices (default: the plan's); noSubgroups: lanes merged through workgroup memory. */
  numSplits?: number;
  variant?: DecodeVariant;
  noSubgroups?: boolean;
  /** Tiles: KV columns each invocation scores (default: the plan's, 4 on CPU adapters, else 1). */
  scoreColumns?: number;
  /** Decode quick: at most this many heads per invocation (DecodePlanOptions.laneHeads). */
  laneHeads?: number;
}

/** One-line repro of a case (paste into the test's case list). */
export const repro = (c: CaseSpec): string => `CASE=${JSON.stringify(c)}`;

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const storageOf = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BNSD' : l);
const outStorageOf = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BSND' : l);

function storageShape(layout: StorageLayout, B: number, N: number, S: number, D: number): number[] {
  switch (layout) {
    case 'BSH': return [B, S, N * D];
    case 'BSND': return [B, S, N, D];
    case 'BNSD': return [B, N, S, D];
  }
}

/** Seeded values in [-mag, mag), rounded to `dtype` (so host and device hold the same values). */
export function randomValues(rand: () => number, n: number, dtype: DataType, mag = 1): Float64Array {
  const round = rounderFor(dtype);
  return Float64Array.from({ length: n }, () => round(mag * (2 * rand() - 1)));
}

/** A tensor the builder creates (and destroys with the case). */
type MakeTensor = (values: Parameters<typeof createTensor>[1], shape: number[], dtype: DataType, label: string) => Tensor;

/** A case's operator inputs, their Problem, and a cleanup. */
export interface BuiltCase {
  /** The case with its defaults filled in (paged: actualSeqLengthsKv). */
  spec: CaseSpec;
  inputs: FiaInputs;
  /** The Problem of `inputs`, normalized on first use (inputs that break the operator's rules may have none). */
  readonly problem: Problem;
  /** Destroys every buffer the builder created. */
  destroy(): void;
}

/** attentionOut and softmaxLse start as this garbage: every element must be written. */
export const OUT_FILL = 123;
const LSE_FILL = -77;

/**
 * Builds `specIn`'s tensors on `stream`'s device (seeded data) and the operator inputs over them.
 * With `validate` (the default) throws the operator's AclnnError when they break one of its rules;
 * kernel tests may go beyond them (the kernels compute more than the operator accepts).
 */
export function buildCase(stream: Stream, specIn: CaseSpec, validate = true): BuiltCase {
  let spec = specIn;
  const rand = mulberry32(spec.seed);
  const uni = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const { batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: Qs, headDim: D, layout, dtype } = spec;
  const storage = storageOf(layout);
  const created: Tensor[] = [];
  const tensor: MakeTensor = (values, shape, dt, label) => {
    const t = createTensor(stream, values, shape, dt, label);
    created.push(t);
    return t;
  };
  const elemDtype: DataType = spec.int8 ? 'INT8' : dtype;
  const values = (n: number, mag: number): Float64Array => spec.int8
    ? Float64Array.from({ length: n }, () => Math.round(uni(-127, 127)))
    : randomValues(rand, n, dtype, mag);
  const qShape = storageShape(storage, B, N, Qs, D);
  const query = tensor(values(count(qShape), spec.qScale ?? 1), qShape, elemDtype, 'query');

  const aq = spec.antiquant;
  /** A K/V-typed tensor: the float dtype, or INT8 / INT4 (INT32 words, last dim ÷ 8) with antiquant. */
  const kvTensor = (shape: number[], label: string): Tensor => {
    if (!aq) return tensor(values(count(shape), 1), shape, elemDtype, label);
    const lim = aq.kv === 'INT4' ? 8 : 128;
    const ints = Float64Array.from({ length: count(shape) }, () => Math.floor(uni(-lim, lim)));
    if (aq.kv === 'INT8') return tensor(ints, shape, 'INT8', label);
    const t = createTensorFromBytes(stream, encodeValues('INT4', ints), [...shape.slice(0, -1), shape[shape.length - 1]! / 8], 'INT32', label);
    created.push(t);
    return t;
  };
  const keys: Tensor[] = [];
  const vals: Tensor[] = [];
  const pushKv = (shape: number[]): void => {
    keys.push(kvTensor(shape, 'key'));
    vals.push(kvTensor(shape, 'value'));
  };
  let blockTable: Tensor | null = null;
  let numBlocks = 0;
  const kvRows = spec.list ?? [spec.kvSeqLen];
  if (spec.paged) {
    const bs = spec.paged.blockSize;
    const maxBlocks = Math.ceil(spec.kvSeqLen / bs);
    numBlocks = B * maxBlocks + spec.paged.spare;
    const ids = Array.from({ length: numBlocks }, (_, i) => i);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const table = Int32Array.from({ length: B * maxBlocks }, (_, i) =>
      spec.paged!.invalid && rand() < 0.15 ? (rand() < 0.5 ? -1 : numBlocks + 2) : ids[i]!);
    // An invalid table holds at least one id outside the cache.
    if (spec.paged.invalid && table.every((id) => id >= 0 && id < numBlocks)) table[0] = -1;
    blockTable = tensor(table, [B, maxBlocks], 'INT32', 'blockTable');
    pushKv(spec.paged.cache === 'BSH' ? [numBlocks, bs, KVN * D] : [numBlocks, KVN, bs, D]);
    spec = { ...spec, kvLens: spec.kvLens ?? [spec.kvSeqLen] };
  } else {
    for (const S of kvRows) pushKv(storageShape(storage, spec.list ? 1 : B, KVN, S, D));
  }
  // Mask/pse columns: the prefix first, then the KV (SEMANTICS §3, §7); paged KV_S is the
  // table's span, blockTable dim 1 · blockSize (VALIDATION §6-7).
  const kvSpan = spec.paged ? Math.ceil(spec.kvSeqLen / spec.paged.blockSize) * spec.paged.blockSize : Math.max(...kvRows);
  const prefixLen = spec.prefix ? (spec.prefix.len ?? spec.prefix.rows) : 0;
  const cols = kvSpan + prefixLen;

  // Garbage in the outputs: every element must be written.
  const outShape = storageShape(outStorageOf(layout), B, N, Qs, D);
  const attentionOut = tensor(new Float64Array(count(outShape)).fill(OUT_FILL), outShape, spec.outDtype ?? dtype, 'attentionOut');
  const softmaxLse = (spec.lse ?? true) ? tensor(new Float64Array(B * N * Qs).fill(LSE_FILL), [B, N, Qs, 1], 'FLOAT32', 'softmaxLse') : null;
  const inputs: FiaInputs = {
    query, key: aclCreateTensorList(keys), value: aclCreateTensorList(vals),
    blockTable, blockSize: spec.paged?.blockSize ?? 0,
    actualSeqLengths: spec.qLens ? aclCreateIntArray(spec.qLens) : null,
    actualSeqLengthsKv: spec.kvLens ? aclCreateIntArray(spec.kvLens) : null,
    numHeads: N, scaleValue: spec.scale ?? 1 / Math.sqrt(D),
    preTokens: spec.preTokens ?? INT_MAX, nextTokens: spec.nextTokens ?? INT_MAX,
    inputLayout: layout, numKeyValueHeads: KVN, sparseMode: spec.sparseMode ?? 0, innerPrecise: 1,
    antiquantMode: 0, softmaxLseFlag: spec.lse ?? true, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut, softmaxLse,
  };
  for (const [name, v] of [['queryPaddingSize', spec.qPad], ['kvPaddingSize', spec.kvPad]] as const) {
    if (v !== null && v !== undefined) inputs[name] = tensor([v], [1], 'INT64', name);
  }
  if (spec.prefix) {
    const shape = storageShape(storage, 1, KVN, spec.prefix.rows, D);
    inputs.keySharedPrefix = kvTensor(shape, 'keySharedPrefix');
    inputs.valueSharedPrefix = kvTensor(shape, 'valueSharedPrefix');
    if (spec.prefix.len !== null) inputs.actualSharedPrefixLen = aclCreateIntArray([spec.prefix.len]);
  }
  if (aq) addAntiquant(spec, inputs, tensor, rand, { numBlocks, tokenCols: cols + 1 });
  if (spec.int8) {
    inputs.deqScale1 = tensor([spec.int8.deq1], [1], 'FLOAT32', 'deqScale1');
    inputs.quantScale1 = tensor([spec.int8.qs1], [1], 'FLOAT32', 'quantScale1');
    inputs.deqScale2 = tensor([deqScaleWord(spec.int8.deq2)], [1], 'UINT64', 'deqScale2');
  }
  if (spec.mask) {
    const m = spec.mask;
    const rows = m.size2048 ? 2048 : Qs + (m.extraRows ?? 0);
    const mcols = m.size2048 ? 2048 : cols + (m.extraCols ?? 0);
    const shape = m.shape.split(',').map((d) => (d === 'B' ? B : d === 'Q' ? rows : d === 'S' ? mcols : 1));
    const n = count(shape);
    const mv = m.size2048 ? new Float64Array(n)
      : Float64Array.from({ length: n }, () => (rand() < m.density ? 1 + Math.floor(rand() * 3) : 0));
    // Holes: a few fully masked query rows.
    const planes = m.size2048 || !m.shape.includes('Q') ? 0 : n / (rows * mcols);
    for (let p = 0; p < planes; p++) {
      if (rand() < 0.6) {
        const row = Math.floor(rand() * rows);
        for (let col = 0; col < mcols; col++) mv[(p * rows + row) * mcols + col] = 1;
      }
    }
    if (m.dtype === 'BOOL') for (let i = 0; i < n; i++) mv[i] = mv[i] ? 1 : 0;
    inputs.attenMask = tensor(mv, shape, m.dtype, 'attenMask');
  }
  if (spec.pse) {
    const shape = [spec.pse.batch1 ? 1 : B, N, Qs + (spec.pse.extraRows ?? 0), cols + (spec.pse.extraCols ?? 0)];
    // Float biases even with an INT8 query (pseShift is FLOAT16 then).
    inputs.pseShift = tensor(randomValues(rand, count(shape), dtype, 2), shape, dtype, 'pseShift');
  }
  if (spec.outQuant) {
    const shape = spec.outQuant.perChannel ? [N, D] : [1];
    const qr = rounderFor(spec.outQuant.dtype);
    // Scales large enough that |o·scale| reaches the INT8 bounds for some elements.
    inputs.quantScale2 = tensor(Float64Array.from({ length: count(shape) }, () => qr(uni(40, 120))), shape, spec.outQuant.dtype, 'quantScale2');
    if (spec.outQuant.offset) {
      inputs.quantOffset2 = tensor(Float64Array.from({ length: count(shape) }, () => qr(uni(-20, 20))), shape, spec.outQuant.dtype, 'quantOffset2');
    }
  }
  if (spec.sink || spec.softcap !== undefined || spec.window !== undefined) {
    inputs.extensions = {
      learnableSink: spec.sink ? tensor(spec.sink, [spec.sink.length], 'FLOAT32', 'learnableSink') : null,
      softcap: spec.softcap, slidingWindow: spec.window,
    };
  }
  const destroy = (): void => { for (const t of created) t.buffer.destroy(); };
  try {
    if (validate) validateInputs(inputs);
  } catch (e) {
    destroy();
    throw e;
  }
  let problem: Problem | null = null;
  return {
    spec, inputs, destroy,
    get problem(): Problem { return (problem ??= normalize(inputs)); },
  };
}

/**
 * The antiquant parameters of `spec` in the shapes the operator takes for its Q_S (VALIDATION
 * §12-13): per-token rows hold the prefix and KV columns plus a spare at Q_S == 1, exactly KV_S
 * at Q_S > 1.
 */
function addAntiquant(
  spec: CaseSpec, inputs: FiaInputs, tensor: MakeTensor,
  rand: () => number, at: { numBlocks: number; tokenCols: number },
): void {
  const aq = spec.antiquant!;
  const uni = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const { batch: B, numKvHeads: KVN, headDim: D, dtype, layout } = spec;
  const decode = spec.qSeqLen === 1;
  const paramShape = (mode: number): [number[], DataType] => {
    const tokenS = decode ? at.tokenCols : spec.kvSeqLen;
    switch (mode) {
      case 0: return [aq.perTensor ? [1] : decode ? [1, KVN, D] : [KVN, D], dtype];
      case 1: return [[B, tokenS], 'FLOAT32'];
      case 2: return [[KVN], dtype];
      case 3: return [[B, KVN, tokenS], 'FLOAT32'];
      case 4: return [[at.numBlocks, spec.paged!.blockSize], 'FLOAT32'];
      default: return [[at.numBlocks, KVN, spec.paged!.blockSize], 'FLOAT32'];
    }
  };
  const scales = (n: number, pd: DataType): Float64Array => {
    const r = rounderFor(pd);
    return Float64Array.from({ length: n }, () => r(uni(0.004, 0.03) * (aq.kv === 'INT4' ? 8 : 1)));
  };
  const offsets = (n: number, pd: DataType): Float64Array => randomValues(rand, n, pd, 3);
  if (aq.combined) {
    // Per-channel: the shape for the query layout (VALIDATION §12).
    const storage = storageOf(layout);
    const shape = aq.perTensor ? [2] : storage === 'BSH' ? [2, KVN * D] : storage === 'BSND' ? [2, KVN, D] : [2, KVN, 1, D];
    inputs.antiquantMode = aq.kMode;
    inputs.antiquantScale = tensor(scales(count(shape), dtype), shape, dtype, 'antiquantScale');
    if (aq.offset) inputs.antiquantOffset = tensor(offsets(count(shape), dtype), shape, dtype, 'antiquantOffset');
    return;
  }
  for (const side of ['key', 'value'] as const) {
    const mode = side === 'key' ? aq.kMode : aq.vMode;
    const [shape, pd] = paramShape(mode);
    inputs[`${side}AntiquantMode`] = mode;
    inputs[`${side}AntiquantScale`] = tensor(scales(count(shape), pd), shape, pd, `${side}AntiquantScale`);
    if (aq.offset) inputs[`${side}AntiquantOffset`] = tensor(offsets(count(shape), pd), shape, pd, `${side}AntiquantOffset`);
  }
}

export interface KernelRun {
  plan: PrefillPlan | DecodePlan;
  out: Float64Array;
  lse: Float64Array | null;
  /** Bytes of workspace the plan's layout counted. */
  workspaceBytes: number;
}

/** Plan choices a case may fix (else the planner's own). */
export type PlanChoices = Pick<CaseSpec, 'tune' | 'numSplits' | 'variant' | 'noSubgroups' | 'scoreColumns' | 'laneHeads'>;

/** The decode kernel's paths: lanes (subgroup merge where the device has it), lanes merged through workgroup memory, tiles, quick. */
const ALL_DECODE_PATHS: readonly { name: string; choices: PlanChoices }[] = [
  { name: 'lanes', choices: { variant: 'lanes', noSubgroups: false } },
  { name: 'lanes (workgroup-memory merge)', choices: { variant: 'lanes', noSubgroups: true } },
  { name: 'tiles', choices: { variant: 'tiles', noSubgroups: false } },
  { name: 'quick', choices: { variant: 'quick', noSubgroups: false } },
];

/**
 * The decode variants the planner can choose on the test device, each then forced by the kernel
 * tests: 'lanes' only where DeviceCaps.straightLineLanes (SwiftShader, whose JIT wants straight-line
 * code; elsewhere the planner never picks it, and lavapipe's LLVM takes up to minutes on it),
 * 'tiles' everywhere, 'quick' (the first-call tier) on fallback adapters. Read it with top-level
 * await in a test file, before its cases are declared.
 */
export async function plannedDecodeVariants(): Promise<readonly DecodeVariant[]> {
  const caps = capsOf((await testStream()).device);
  return [...(caps.straightLineLanes ? ['lanes' as const] : []), 'tiles', ...(caps.fallbackAdapter ? ['quick' as const] : [])];
}

/**
 * Declares a describe block with one test per (decode path the test device's planner can choose,
 * case): `base` with the path's choices and the case's fields, checked against the reference.
 * Call it with top-level await.
 */
export async function describeDecodeCases(title: string, base: CaseSpec, cases: readonly (readonly [string, Partial<CaseSpec>])[]): Promise<void> {
  const variants = await plannedDecodeVariants();
  const paths = ALL_DECODE_PATHS.filter((p) => variants.includes(p.choices.variant!));
  describe(title, () => {
    for (const path of paths) {
      for (const [name, over] of cases) {
        it(`${path.name}: ${name}`, async () => {
          expect(await checkCase(await testStream(), { ...base, ...path.choices, ...over })).toBe('');
        });
      }
    }
  });
}

/**
 * Plans, lays out and encodes the case's kernel family directly (prefill for Q_S > 1, decode for
 * Q_S == 1; src/kernels/family.ts, as the executor does, without its compile tiers), and reads the
 * outputs back. Prefill cases without `caps` are held to WebGPU's default limits (what every
 * adapter grants).
 */
export async function runKernel(
  stream: Stream, c: { inputs: FiaInputs; problem: Problem }, choices: PlanChoices = {}, caps?: DeviceCaps,
): Promise<KernelRun> {
  const { problem, inputs } = c;
  const device = stream.device;
  const reason = kernelUnsupported(problem, caps ?? (problem.isDecode ? capsOf(device) : DEFAULT_CAPS));
  if (reason) throw new Error(`unsupported: ${reason}`);
  const { tune, ...decode } = choices;
  const tensors = kernelTensors(problem, inputs);
  const k = planKernel(problem, caps ?? capsOf(device), tensors, { prefill: tune, decode });
  const workspace = k.workspaceBytes > 0
    ? device.createBuffer({ size: k.workspaceBytes, usage: USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC, label: 'workspace' }) : null;
  const kvLens = problem.isDecode ? kvLensBuffer(device, problem.kvLens) : undefined;
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeKernel(k, { device, encoder, problem, tensors, workspace, kvLens });
  stream.queue.submit([encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  const out = await readTensor(stream, inputs.attentionOut!);
  const lse = inputs.softmaxLse ? await readTensor(stream, inputs.softmaxLse) : null;
  workspace?.destroy();
  kvLens?.destroy();
  return { plan: k.plan, out, lse, workspaceBytes: k.workspaceBytes };
}

/** Absolute error floors per kernel and storage dtype (output and lse; STYLE §8). */
export const FLOORS: Record<'prefill' | 'decode', Record<FloatDtype, { out: number; lse: number }>> = {
  prefill: {
    FLOAT32: { out: 2e-5, lse: 2e-5 },
    FLOAT16: { out: 2e-3, lse: 1e-3 },
    BFLOAT16: { out: 1.6e-2, lse: 8e-3 },
  },
  decode: {
    FLOAT32: { out: 2e-5, lse: 1e-4 },
    FLOAT16: { out: 1e-3, lse: 1e-4 },
    BFLOAT16: { out: 8e-3, lse: 1e-4 },
  },
};

/**
 * The kernel's outputs vs the float64 reference on the case's device data, with the tolerances of
 * STYLE §8 for the case's dtypes (INT8 attention and INT8 output have their own).
 */
export function compareCase(spec: CaseSpec, problem: Problem, host: HostInputs, outActual: Float64Array, lseActual: Float64Array | null): { out: Comparison; lse: Comparison | null } {
  const { dtype } = spec;
  const floors = FLOORS[problem.isDecode ? 'decode' : 'prefill'];
  const outDtype = spec.outDtype ?? dtype;
  const ref = attentionReference(problem, host);
  const refLow = attentionReference(problem, host, { roundTo: dtype });
  let out: Comparison;
  if (spec.int8 && outDtype !== 'INT8') {
    // One P8 step (±1, SEMANTICS §9) of the largest |v| moves out by ≤ 127·deqScale2/l, l ≥ 1.
    out = compareOutputs(outActual, ref.attentionOut, refLow.attentionOut, Math.max(floors.FLOAT16.out, 2 * 127 * spec.int8.deq2));
  } else if (outDtype === 'INT8') {
    // Quantized output: ±1 (SEMANTICS §9: the rounding of o before quantization differs).
    out = compareOutputs(outActual, ref.attentionOut, refLow.attentionOut, 1);
  } else {
    const floor = floors[outDtype === 'FLOAT32' ? dtype : outDtype];
    // The output dtype's own rounding is part of the storage error: the low-precision reference
    // rounds its output to the output dtype too.
    const refLowOut = outDtype === dtype ? refLow.attentionOut : refLow.attentionOut.map(rounderFor(outDtype));
    out = compareOutputs(outActual, ref.attentionOut, refLowOut, Math.max(floor.out, floors[outDtype].out));
  }
  const lse = lseActual ? compareOutputs(lseActual, ref.softmaxLse!, refLow.softmaxLse, floors[dtype].lse) : null;
  return { out, lse };
}

export interface CaseResult {
  spec: CaseSpec;
  problem: Problem;
  plan: PrefillPlan | DecodePlan;
  out: Comparison;
  lse: Comparison | null;
}

export interface RunOptions {
  /** The device limits to plan for (default: the device's; prefill support: WebGPU's defaults). */
  caps?: DeviceCaps;
  /** Check the inputs against the operator's rules first (default true; see buildCase). */
  validate?: boolean;
}

/** Builds the case, runs its kernel directly (no API), compares with the reference. */
export async function runCase(stream: Stream, specIn: CaseSpec, { caps, validate = true }: RunOptions = {}): Promise<CaseResult> {
  const c = buildCase(stream, specIn, validate);
  try {
    const got = await runKernel(stream, c, c.spec, caps);
    const host = await readHostInputs(stream, c.inputs, c.problem);
    const { out, lse } = compareCase(c.spec, c.problem, host, got.out, got.lse);
    return { spec: c.spec, problem: c.problem, plan: got.plan, out, lse };
  } finally {
    c.destroy();
  }
}

/** runCase as one line: '' when within tolerance, else the failure with the plan and the repro. */
export async function checkCase(stream: Stream, spec: CaseSpec, options: RunOptions = {}): Promise<string> {
  const r = await runCase(stream, spec, options);
  const where = (): string => `plan ${JSON.stringify(r.plan, (k, v: unknown) => (k === 'problem' ? undefined : v))} | ${repro(spec)}`;
  if (!r.out.ok) return `out: ${r.out.message}; ${where()}`;
  if (r.lse && !r.lse.ok) return `lse: ${r.lse.message}; ${where()}`;
  return '';
}

/** The shape fields of a case, in the Problem's names, plus any Problem field to override. */
export type ProblemSpec = Partial<Problem> & Pick<CaseSpec, 'batch' | 'numQoHeads' | 'headDim' | 'qSeqLen' | 'kvSeqLen'>;

/**
 * A Problem with sane defaults for reference and planner tests: dense KV in the query layout, no
 * mask/band/pse/prefix/quant, full lengths, scale 1/√D, softmaxLse on, FLOAT16 dtypes.
 */
export function makeProblem(spec: ProblemSpec): Problem {
  const layout = spec.layout ?? 'BNSD';
  const numKvHeads = spec.numKvHeads ?? spec.numQoHeads;
  const isDecode = spec.isDecode ?? spec.qSeqLen === 1;
  const dtype = spec.queryDtype ?? 'FLOAT16';
  return {
    isDecode,
    layout,
    queryLayout: storageOf(layout),
    outLayout: outStorageOf(layout),
    numKvHeads,
    groupSize: spec.numQoHeads / numKvHeads,
    scaleValue: 1 / Math.sqrt(spec.headDim),
    queryDtype: dtype,
    kvDtype: dtype,
    outDtype: dtype,
    qLens: new Array<number>(spec.batch).fill(isDecode ? 1 : spec.qSeqLen),
    kvLens: new Array<number>(spec.batch).fill(spec.kvSeqLen),
    qLeftPadding: false,
    kvLeftPadding: false,
    kv: { kind: 'dense', kvLayout: storageOf(layout), seqLen: spec.kvSeqLen },
    prefix: null,
    mask: null,
    band: null,
    sparseMode: 0,
    pse: null,
    innerPrecise: 1,
    softmaxLse: true,
    antiquant: null,
    int8Attention: null,
    outQuant: null,
    learnableSink: false,
    softcap: 0,
    slidingWindow: 0,
    ...spec,
  };
}
