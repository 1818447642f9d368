// Pairwise rows → concrete cases, and running one case (test/kernel.pairwise.test.ts). A row names one
// value per feature factor; the seeded generator here picks the sizes, layout and dtypes the
// operator accepts for it, small enough for a CPU adapter. `runRow` is what the isolated case
// runner (pairwiseChild.mjs) calls, in its own process, so a case that hangs can be killed.
import { aclGetRecentErrMsg } from '../../src/acl/status.js';
import { aclrtSynchronizeStream, createStream, type Stream } from '../../src/acl/stream.js';
import { createTensor } from '../../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../../src/fia/api.js';
import { WORKSPACE_USAGE } from '../../src/fia/executor.js';
import { readHostInputs } from '../../src/fia/hostInputs.js';
import { normalize } from '../../src/fia/normalize.js';
import { type FiaInputs, INT_MAX, type Layout } from '../../src/problem/problem.js';
import { capsOf } from '../../src/kernels/caps.js';
import { requestDevice } from '../../src/node.js';
import { attentionReference, compareOutputs, rounderFor } from '../../src/reference/index.js';
import { buildDecodeCase, FLOORS as DECODE_FLOORS, runDecode, type DecodeSpec, type MaskShape as DecodeMaskShape } from '../decode-cases.js';
import type { Row } from './pairwise.js';
import { buildPrefillCase, type FloatDtype, type MaskShape, type PrefillCase, rng, runPrefillCase } from './prefillCase.js';

export type Kernel = 'prefill' | 'decode';

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const aqOn = (r: Row): boolean => r.antiquant !== 'none';
export const separate = (r: Row): boolean => String(r.antiquant).startsWith('separate');
export const combined = (r: Row): boolean => String(r.antiquant).startsWith('combined');
export const int4 = (r: Row): boolean => String(r.antiquant).startsWith('int4');

/**
 * The prefill case of row `r` (seeded); `defaultPlan`: the device's default tiles instead of small
 * ones; `sizes`: fixed Q_S and KV_S instead of drawn ones.
 */
export function prefillCaseOf(r: Row, seed: number, defaultPlan = false, sizes?: { Qs: number; KVs: number }): PrefillCase {
  const rand = rng(seed);
  const G = Number(r.G);
  const D = Number(r.D);
  const KVN = pick(rand, [1, 2]);
  const B = 2;
  const sparse = Number(r.sparse);
  const drawnQs = separate(r) ? int(rand, 3, 16) : int(rand, 3, 24);
  const drawnKVs = int(rand, 8, 40);
  const Qs = sizes?.Qs ?? drawnQs;
  let KVs = sizes?.KVs ?? drawnKVs;
  const dtype: FloatDtype = r.int8 === true || combined(r) ? 'FLOAT16' : separate(r) ? 'BFLOAT16'
    : r.outQuant !== 'none' ? pick(rand, ['FLOAT16', 'BFLOAT16'] as const) : pick(rand, ['FLOAT16', 'BFLOAT16', 'FLOAT32'] as const);
  const layout = pick<Layout>(rand, ['BSH', 'BSND', 'BNSD', 'BNSD_BSND']);
  const c: PrefillCase = {
    seed, B, N: KVN * G, KVN, Qs, KVs, D, layout, dtype, outDtype: r.outQuant !== 'none' ? 'INT8' : dtype, lse: r.lse === true,
  };
  if (r.list === true) {
    c.list = Array.from({ length: B }, () => int(rand, 1, 40));
    KVs = Math.max(...c.list);
    c.KVs = KVs;
  }
  if (r.paged === true) {
    c.paged = { blockSize: 128, layout: layout === 'BNSD' && rand() < 0.5 ? 'BNSD' : 'BSH', spare: int(rand, 0, 2), invalid: rand() < 0.3 };
  }
  const kvOf = (b: number): number => c.list?.[b] ?? KVs;
  if (r.ragged === true) {
    c.qLens = [Qs, int(rand, 0, Qs - 1)];
    c.kvLens = Array.from({ length: B }, (_, b) => (b === 0 ? kvOf(b) : int(rand, 0, kvOf(b) - 1)));
  }
  if (r.pad === 'q' || r.pad === 'both') {
    c.qLens ??= [int(rand, 1, Qs - 1)];
    c.qPad = int(rand, 0, Qs - Math.max(...c.qLens));
  }
  if (r.pad === 'kv' || r.pad === 'both') {
    c.kvLens ??= [int(rand, 1, KVs - 1)];
    c.kvPad = int(rand, 0, KVs - Math.max(...c.kvLens));
  }
  if (r.prefix === true) {
    const rows = int(rand, 1, 12);
    c.prefix = { rows, len: rand() < 0.5 ? null : int(rand, 0, rows) };
  }
  if (aqOn(r)) c.antiquant = { kind: r.antiquant as NonNullable<PrefillCase['antiquant']>['kind'], int4: false, offset: rand() < 0.5 };
  if (r.int8 === true) c.int8 = { deq1: 1e-4 * pick(rand, [1, 3, 6]), qs1: pick(rand, [127, 100]), deq2: 4e-5 + 4e-5 * rand() };
  c.sparseMode = sparse;
  if (r.mask !== 'none') {
    const [mdtype, shape] = String(r.mask).split(':') as ['BOOL' | 'INT8' | 'UINT8', MaskShape];
    c.mask = {
      shape, dtype: mdtype, padRows: pick(rand, [0, 2]), padCols: pick(rand, [0, 3]),
      density: sparse >= 2 ? 0 : pick(rand, [0.1, 0.3]), size2048: sparse >= 2,
    };
  }
  const padGiven = c.qPad !== undefined || c.kvPad !== undefined;
  if (sparse === 4 || (sparse === 0 && c.mask && !padGiven)) {
    const full = sparse === 0 && rand() < 0.4;
    c.preTokens = full ? INT_MAX : int(rand, 0, 20);
    c.nextTokens = full ? INT_MAX : int(rand, r.outQuant !== 'none' ? 0 : -3, 10);
  }
  if (r.pse === true) c.pse = { batch1: rand() < 0.5, padRows: 0, padCols: pick(rand, [0, 3]) };
  // Small tiles: several query and KV tiles per case and shaders that compile fast.
  const tune = { blockKv: pick(rand, [8, 16, 32]), rowsPerThread: pick(rand, [1, 2]), headsPerThread: 1, rowThreads: pick(rand, [2, 4]) };
  if (!defaultPlan) c.tune = tune;
  if (r.outQuant !== 'none') {
    // quantOffset2 only where no band empties rows (VALIDATION §15).
    const offsetOk = sparse === 1 || sparse === 2 || (sparse === 0 && (!c.mask || padGiven));
    c.outQuant = { perChannel: r.outQuant === 'channel', offset: offsetOk && rand() < 0.6, dtype: dtype === 'BFLOAT16' && rand() < 0.5 ? 'BFLOAT16' : 'FLOAT32' };
  }
  return c;
}

export interface DecodeCase {
  spec: DecodeSpec;
  seed: number;
  /** The lanes variant only where it compiles fast (G·D ≤ 64); undefined: the plan's choice. */
  variant?: 'lanes' | 'tiles';
  outQuant: { perChannel: boolean; offset: boolean; dtype: 'FLOAT32' | 'BFLOAT16' } | null;
}

const DECODE_QUANT: Record<string, DecodeSpec['quant']> = {
  none: null,
  'int8-channel': { kv: 'INT8', kMode: 0, vMode: 0, offset: false },
  'int8-tensor': { kv: 'INT8', kMode: 0, vMode: 0, offset: false, perTensor: true },
  'int8-token': { kv: 'INT8', kMode: 1, vMode: 1, offset: false },
  'int8-k0v1': { kv: 'INT8', kMode: 0, vMode: 1, offset: false },
  'int4-channel': { kv: 'INT4', kMode: 0, vMode: 0, offset: false },
  'int4-token': { kv: 'INT4', kMode: 1, vMode: 1, offset: false },
  'int8-paged-token': { kv: 'INT8', kMode: 4, vMode: 4, offset: false },
};

/** The decode case of row `r` (seeded); `defaultPlan`: the plan's own variant. */
export function decodeCaseOf(r: Row, seed: number, defaultPlan = false): DecodeCase {
  const rand = rng(seed);
  const G = Number(r.G);
  const D = Number(r.D);
  const numKvHeads = pick(rand, [1, 2]);
  const batch = 2;
  const quant = DECODE_QUANT[String(r.antiquant)] ?? null;
  const dtype = r.antiquant === 'int8-k0v1' ? 'FLOAT16'
    : aqOn(r) || r.outQuant !== 'none' || r.paged === true ? pick(rand, ['FLOAT16', 'BFLOAT16'] as const)
    : pick(rand, ['FLOAT16', 'BFLOAT16', 'FLOAT32'] as const);
  // BNSD_BSND at Q_S == 1: float K/V and D % 16 == 0; the builder's tensor lists and INT8 output stay off it.
  const bsndOut = !aqOn(r) && D % 16 === 0 && r.list !== true && r.outQuant === 'none';
  const layout = pick<Layout>(rand, bsndOut ? ['BSH', 'BSND', 'BNSD', 'BNSD_BSND'] : ['BSH', 'BSND', 'BNSD']);
  const kvSeqLen: number | number[] = r.list === true ? Array.from({ length: batch }, () => int(rand, 1, 60)) : int(rand, 20, 70);
  const sOf = (b: number): number => (Array.isArray(kvSeqLen) ? kvSeqLen[b]! : kvSeqLen);
  const spec: DecodeSpec = {
    batch, numQoHeads: numKvHeads * G, numKvHeads, headDim: D, kvSeqLen, dtype, layout, softmaxLse: r.lse === true,
  };
  if (r.ragged === true) spec.kvLens = Array.from({ length: batch }, (_, b) => (b === 0 ? sOf(b) : int(rand, 0, sOf(b) - 1)));
  else if (r.pad !== 'none' || r.paged === true) spec.kvLens = Array.from({ length: batch }, (_, b) => sOf(b) - 3);
  if (r.pad === 'kv') spec.kvPad = int(rand, 0, sOf(0) - Math.max(...spec.kvLens!));
  if (r.paged === true) {
    const int8Kv = quant?.kv === 'INT8';
    spec.paged = { blockSize: int8Kv ? 32 : 16, cache: layout === 'BNSD' ? pick(rand, ['BSH', 'BNSD'] as const) : 'BSH', spare: 2, badIds: rand() < 0.3 };
  }
  if (r.prefix === true) {
    const S = int(rand, 1, 12);
    spec.prefix = { S, P: rand() < 0.5 ? 0 : int(rand, 1, S) };
  }
  if (quant) spec.quant = { ...quant, offset: rand() < 0.5 };
  if (r.mask !== 'none') {
    const [mdtype, shape] = String(r.mask).split(':') as ['BOOL' | 'INT8' | 'UINT8', DecodeMaskShape];
    spec.mask = { shape, dtype: mdtype, density: pick(rand, [0.2, 0.5]), extraCols: pick(rand, [0, 3]) };
  }
  if (r.pse === true) spec.pse = { batch: pick(rand, [1, 'B'] as const), extraCols: pick(rand, [0, 2]) };
  const outQuant = r.outQuant === 'none' ? null
    : { perChannel: r.outQuant === 'channel', offset: rand() < 0.5, dtype: dtype === 'BFLOAT16' && rand() < 0.5 ? 'BFLOAT16' as const : 'FLOAT32' as const };
  return { spec, seed, outQuant, variant: defaultPlan ? undefined : G * D <= 64 ? 'lanes' : 'tiles' };
}

// ---------------------------------------------------------------------------------------------
// Running a case through the public API: GetWorkspaceSize, the run, synchronize.

export interface ApiResult {
  status: number;
  /** Which phase returned `status`. */
  phase: 'GetWorkspaceSize' | 'run' | 'synchronize' | 'done';
  message: string;
}

export async function runThroughApi(stream: Stream, inputs: FiaInputs): Promise<ApiResult> {
  const r = fiaGetWorkspaceSize(inputs);
  if (r.status !== 0) return { status: r.status, phase: 'GetWorkspaceSize', message: aclGetRecentErrMsg() };
  const ws = r.workspaceSize > 0 ? stream.device.createBuffer({ size: r.workspaceSize, usage: WORKSPACE_USAGE }) : null;
  try {
    const run = aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream);
    if (run !== 0) return { status: run, phase: 'run', message: aclGetRecentErrMsg() };
    const sync = await aclrtSynchronizeStream(stream);
    if (sync !== 0) return { status: sync, phase: 'synchronize', message: aclGetRecentErrMsg() };
    return { status: 0, phase: 'done', message: '' };
  } finally {
    ws?.destroy();
  }
}

export const prefillRepro = (c: PrefillCase): string => `repro: PREFILL_CASE=${JSON.stringify(c)}`;
export const decodeRepro = (d: DecodeCase): string =>
  `repro: DECODE_CASE=${JSON.stringify(d)}`;

/**
 * GetWorkspaceSize must accept the case (status 0, or the failure line). The kernel then runs
 * directly with a plan that compiles fast on a CPU adapter (small prefill tiles, mostly the
 * decode 'tiles' variant): SwiftShader takes 10-30 s to compile the default plans' unrolled
 * shaders for D 128 or G 4, too slow for a matrix of this size.
 */
function accepted(inputs: FiaInputs, repro: string): string {
  const r = fiaGetWorkspaceSize(inputs);
  return r.status === 0 ? '' : `GetWorkspaceSize returned ${r.status}: ${aclGetRecentErrMsg()} | ${repro}`;
}

/**
 * On a device with fewer storage buffers per stage than the case binds (WebGPU's default 8), the
 * right answer is 561101 naming both counts: true when `refused` is exactly that rejection.
 */
function refusedForBindings(refused: string, device: GPUDevice): boolean {
  const m = /^GetWorkspaceSize returned 561101: .*?(\d+) storage buffers .*the device allows (\d+)\)/.exec(refused);
  return m !== null && Number(m[2]) === device.limits.maxStorageBuffersPerShaderStage && Number(m[1]) > Number(m[2]);
}

/** Builds, checks acceptance, runs the prefill kernel, compares; returns '' or a one-line failure with the repro. */
async function checkPrefillRow(stream: Stream, c: PrefillCase): Promise<string> {
  const built = buildPrefillCase(stream, c);
  const refused = accepted(built.inputs, prefillRepro(c));
  built.destroy();
  if (refused) return refusedForBindings(refused, stream.device) ? '' : refused;
  const r = await runPrefillCase(stream, c, capsOf(stream.device));
  if (!r.out.ok) return `out: ${r.out.message} | ${prefillRepro(c)}`;
  if (r.lse && !r.lse.ok) return `lse: ${r.lse.message} | ${prefillRepro(c)}`;
  return '';
}

/** The decode builder's inputs, with an INT8 attentionOut and quantScale2/quantOffset2 when asked. */
export function decodeInputs(stream: Stream, d: DecodeCase): FiaInputs {
  const { inputs } = buildDecodeCase(stream, d.spec, d.seed);
  if (d.outQuant) {
    const rand = rng(d.seed + 1000);
    const { numQoHeads: N, headDim: D } = d.spec;
    const n = d.outQuant.perChannel ? N * D : 1;
    const shape = d.outQuant.perChannel ? [N, D] : [1];
    const round = rounderFor(d.outQuant.dtype);
    const out = inputs.attentionOut!;
    // Garbage in the output: every element must be written.
    inputs.attentionOut = createTensor(stream, new Float64Array(out.shape.reduce((a, b) => a * b, 1)).fill(77), out.shape, 'INT8');
    out.buffer.destroy();
    inputs.quantScale2 = createTensor(stream, Float64Array.from({ length: n }, () => round(40 + rand() * 80)), shape, d.outQuant.dtype);
    inputs.quantOffset2 = d.outQuant.offset ? createTensor(stream, Float64Array.from({ length: n }, () => round((rand() * 2 - 1) * 20)), shape, d.outQuant.dtype) : null;
  }
  return inputs;
}

async function checkDecodeRow(stream: Stream, d: DecodeCase): Promise<string> {
  const inputs = decodeInputs(stream, d);
  const refused = accepted(inputs, decodeRepro(d));
  if (refused) return refused;
  const problem = normalize(inputs);
  const got = await runDecode(stream, { inputs, problem }, { variant: d.variant });
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const refLow = attentionReference(problem, host, { roundTo: d.spec.dtype });
  const out = got.out;
  // INT8 output: ±1 (SEMANTICS §9, the rounding of o before quantization differs).
  const o = d.outQuant
    ? compareOutputs(out, ref.attentionOut, refLow.attentionOut, 1)
    : compareOutputs(out, ref.attentionOut, refLow.attentionOut, DECODE_FLOORS[d.spec.dtype]);
  if (!o.ok) return `out: ${o.message} | ${decodeRepro(d)}`;
  if (ref.softmaxLse) {
    const l = compareOutputs(got.lse!, ref.softmaxLse, refLow.softmaxLse, 1e-4);
    if (!l.ok) return `lse: ${l.message} | ${decodeRepro(d)}`;
  }
  return '';
}


/** One case for the isolated runner: a row of `kernel`'s factors, its seed, and the plan to use. */
export interface CaseRequest {
  kernel: Kernel;
  row: Row;
  seed: number;
  defaultPlan?: boolean;
  /** Prefill: fixed Q_S and KV_S. */
  sizes?: { Qs: number; KVs: number };
}

/** The one-line repro of a request (the concrete case JSON). */
export function reproOf(q: CaseRequest): string {
  return q.kernel === 'prefill' ? prefillRepro(prefillCaseOf(q.row, q.seed, q.defaultPlan, q.sizes)) : decodeRepro(decodeCaseOf(q.row, q.seed, q.defaultPlan));
}

let stream: Promise<Stream> | null = null;

/** Runs one case on this process's device: '' when it matches the reference, else a one-line failure. */
export async function runRow(q: CaseRequest): Promise<string> {
  stream ??= requestDevice().then((d) => createStream(d));
  const s = await stream;
  return q.kernel === 'prefill'
    ? checkPrefillRow(s, prefillCaseOf(q.row, q.seed, q.defaultPlan, q.sizes))
    : checkDecodeRow(s, decodeCaseOf(q.row, q.seed, q.defaultPlan));
}
