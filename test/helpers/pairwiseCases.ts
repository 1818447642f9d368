// Pairwise rows → concrete cases, and running one case (test/kernel.pairwise.test.ts). A row names one
// value per feature factor; the seeded generator here picks the sizes, layout and dtypes the
// operator accepts for it, small enough for a CPU adapter. `runRow` is what the isolated case
// runner (pairwiseChild.mjs) calls, in its own process, so a case that hangs can be killed.
import { aclGetRecentErrMsg } from '../../src/acl/status.js';
import { aclrtSynchronizeStream, createStream, type Stream } from '../../src/acl/stream.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../../src/fia/api.js';
import { WORKSPACE_USAGE } from '../../src/fia/executor.js';
import { type FiaInputs, INT_MAX, type Layout } from '../../src/problem/problem.js';
import { capsOf } from '../../src/kernels/caps.js';
import { requestDevice } from '../../src/node.js';
import { buildCase, type CaseSpec, checkCase, type FloatDtype, type MaskShape, mulberry32, repro } from './cases.js';
import type { Row } from './pairwise.js';

export type Kernel = 'prefill' | 'decode';

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const aqOn = (r: Row): boolean => r.antiquant !== 'none';
export const separate = (r: Row): boolean => String(r.antiquant).startsWith('separate');
export const combined = (r: Row): boolean => String(r.antiquant).startsWith('combined');
export const int4 = (r: Row): boolean => String(r.antiquant).startsWith('int4');

/** The prefill factor's mask shapes (letters: B batch, 1, S rows or columns) in the case vocabulary. */
const PREFILL_MASKS = { SS: 'Q,S', BSS: 'B,Q,S', '1SS': '1,Q,S', B1SS: 'B,1,Q,S', '11SS': '1,1,Q,S' } as const satisfies Record<string, MaskShape>;

/**
 * The prefill case of row `r` (seeded); `defaultPlan`: the device's default tiles instead of small
 * ones; `sizes`: fixed Q_S and KV_S instead of drawn ones.
 */
export function prefillCaseOf(r: Row, seed: number, defaultPlan = false, sizes?: { Qs: number; KVs: number }): CaseSpec {
  const rand = mulberry32(seed);
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
  const c: CaseSpec = {
    seed, batch: B, numQoHeads: KVN * G, numKvHeads: KVN, qSeqLen: Qs, kvSeqLen: KVs, headDim: D, layout, dtype,
    outDtype: r.outQuant !== 'none' ? 'INT8' : dtype, lse: r.lse === true,
  };
  if (r.list === true) {
    c.list = Array.from({ length: B }, () => int(rand, 1, 40));
    KVs = Math.max(...c.list);
    c.kvSeqLen = KVs;
  }
  if (r.paged === true) {
    c.paged = { blockSize: 128, cache: layout === 'BNSD' && rand() < 0.5 ? 'BNSD' : 'BSH', spare: int(rand, 0, 2), invalid: rand() < 0.3 };
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
  if (aqOn(r)) {
    const mode = r.antiquant === 'separate-token' ? 1 : 0;
    c.antiquant = { kv: 'INT8', kMode: mode, vMode: mode, offset: rand() < 0.5, combined: combined(r), perTensor: r.antiquant === 'combined-tensor' };
  }
  if (r.int8 === true) c.int8 = { deq1: 1e-4 * pick(rand, [1, 3, 6]), qs1: pick(rand, [127, 100]), deq2: 4e-5 + 4e-5 * rand() };
  c.sparseMode = sparse;
  if (r.mask !== 'none') {
    const [mdtype, shape] = String(r.mask).split(':') as ['BOOL' | 'INT8' | 'UINT8', keyof typeof PREFILL_MASKS];
    c.mask = {
      shape: PREFILL_MASKS[shape], dtype: mdtype, extraRows: pick(rand, [0, 2]), extraCols: pick(rand, [0, 3]),
      density: sparse >= 2 ? 0 : pick(rand, [0.1, 0.3]), size2048: sparse >= 2,
    };
  }
  const padGiven = c.qPad !== undefined || c.kvPad !== undefined;
  if (sparse === 4 || (sparse === 0 && c.mask && !padGiven)) {
    const full = sparse === 0 && rand() < 0.4;
    c.preTokens = full ? INT_MAX : int(rand, 0, 20);
    c.nextTokens = full ? INT_MAX : int(rand, r.outQuant !== 'none' ? 0 : -3, 10);
  }
  if (r.pse === true) c.pse = { batch1: rand() < 0.5, extraCols: pick(rand, [0, 3]) };
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

/** The decode factor's K/V quantization values as antiquant parameters (offset drawn per case). */
const DECODE_QUANT: Record<string, Omit<NonNullable<CaseSpec['antiquant']>, 'offset'> | null> = {
  none: null,
  'int8-channel': { kv: 'INT8', kMode: 0, vMode: 0 },
  'int8-tensor': { kv: 'INT8', kMode: 0, vMode: 0, perTensor: true },
  'int8-token': { kv: 'INT8', kMode: 1, vMode: 1 },
  'int8-k0v1': { kv: 'INT8', kMode: 0, vMode: 1 },
  'int4-channel': { kv: 'INT4', kMode: 0, vMode: 0 },
  'int4-token': { kv: 'INT4', kMode: 1, vMode: 1 },
  'int8-paged-token': { kv: 'INT8', kMode: 4, vMode: 4 },
};

/**
 * The decode case of row `r` (seeded); the lanes variant only where it compiles fast (G·D ≤ 64),
 * and with `defaultPlan` the plan's own variant.
 */
export function decodeCaseOf(r: Row, seed: number, defaultPlan = false): CaseSpec {
  const rand = mulberry32(seed);
  const G = Number(r.G);
  const D = Number(r.D);
  const numKvHeads = pick(rand, [1, 2]);
  const batch = 2;
  const quant = DECODE_QUANT[String(r.antiquant)] ?? null;
  const dtype = r.antiquant === 'int8-k0v1' ? 'FLOAT16'
    : aqOn(r) || r.outQuant !== 'none' || r.paged === true ? pick(rand, ['FLOAT16', 'BFLOAT16'] as const)
    : pick(rand, ['FLOAT16', 'BFLOAT16', 'FLOAT32'] as const);
  // BNSD_BSND at Q_S == 1: float K/V and D % 16 == 0; tensor lists and INT8 output stay off it.
  const bsndOut = !aqOn(r) && D % 16 === 0 && r.list !== true && r.outQuant === 'none';
  const layout = pick<Layout>(rand, bsndOut ? ['BSH', 'BSND', 'BNSD', 'BNSD_BSND'] : ['BSH', 'BSND', 'BNSD']);
  const list = r.list === true ? Array.from({ length: batch }, () => int(rand, 1, 60)) : null;
  const kvSeqLen = list ? Math.max(...list) : int(rand, 20, 70);
  const sOf = (b: number): number => list?.[b] ?? kvSeqLen;
  const c: CaseSpec = {
    seed, batch, numQoHeads: numKvHeads * G, numKvHeads, headDim: D, qSeqLen: 1, kvSeqLen, list, dtype, layout, lse: r.lse === true,
  };
  if (r.ragged === true) c.kvLens = Array.from({ length: batch }, (_, b) => (b === 0 ? sOf(b) : int(rand, 0, sOf(b) - 1)));
  else if (r.pad !== 'none' || r.paged === true) c.kvLens = Array.from({ length: batch }, (_, b) => sOf(b) - 3);
  if (r.pad === 'kv') c.kvPad = int(rand, 0, sOf(0) - Math.max(...c.kvLens!));
  if (r.paged === true) {
    const int8Kv = quant?.kv === 'INT8';
    c.paged = { blockSize: int8Kv ? 32 : 16, cache: layout === 'BNSD' ? pick(rand, ['BSH', 'BNSD'] as const) : 'BSH', spare: 2, invalid: rand() < 0.3 };
  }
  if (r.prefix === true) {
    const rows = int(rand, 1, 12);
    c.prefix = { rows, len: rand() < 0.5 ? null : int(rand, 1, rows) };
  }
  if (quant) c.antiquant = { ...quant, offset: rand() < 0.5 };
  if (r.mask !== 'none') {
    const [mdtype, shape] = String(r.mask).split(':') as ['BOOL' | 'INT8' | 'UINT8', MaskShape];
    c.mask = { shape, dtype: mdtype, density: pick(rand, [0.2, 0.5]), extraCols: pick(rand, [0, 3]) };
  }
  if (r.pse === true) c.pse = { batch1: pick(rand, [true, false]), extraCols: pick(rand, [0, 2]) };
  if (r.outQuant !== 'none') {
    c.outDtype = 'INT8';
    c.outQuant = { perChannel: r.outQuant === 'channel', offset: rand() < 0.5, dtype: dtype === 'BFLOAT16' && rand() < 0.5 ? 'BFLOAT16' : 'FLOAT32' };
  }
  if (!defaultPlan) c.variant = G * D <= 64 ? 'lanes' : 'tiles';
  return c;
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

/**
 * On a device with fewer storage buffers per stage than the case binds (WebGPU's default 8), the
 * right answer is 561101 naming both counts: true when `refused` is exactly that rejection.
 */
function refusedForBindings(refused: string, device: GPUDevice): boolean {
  const m = /^GetWorkspaceSize returned 561101: .*?(\d+) storage buffers .*the device allows (\d+)\)/.exec(refused);
  return m !== null && Number(m[2]) === device.limits.maxStorageBuffersPerShaderStage && Number(m[1]) > Number(m[2]);
}

/**
 * GetWorkspaceSize must accept the case (status 0, or the failure line). The kernel then runs
 * directly with a plan that compiles fast on a CPU adapter (small prefill tiles, mostly the
 * decode 'tiles' variant): SwiftShader takes 10-30 s to compile the default plans' unrolled
 * shaders for D 128 or G 4, too slow for a matrix of this size. Returns '' or a one-line failure
 * with the repro. (GetWorkspaceSize is the validation here, so the builder skips its own.)
 */
async function checkRow(stream: Stream, c: CaseSpec): Promise<string> {
  const built = buildCase(stream, c, false);
  const r = fiaGetWorkspaceSize(built.inputs);
  const refused = r.status === 0 ? '' : `GetWorkspaceSize returned ${r.status}: ${aclGetRecentErrMsg()} | repro: ${repro(c)}`;
  built.destroy();
  if (refused) return refusedForBindings(refused, stream.device) ? '' : refused;
  return checkCase(stream, c, { caps: capsOf(stream.device), validate: false });
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

/** The concrete case of a request. */
export function caseOf(q: CaseRequest): CaseSpec {
  return q.kernel === 'prefill' ? prefillCaseOf(q.row, q.seed, q.defaultPlan, q.sizes) : decodeCaseOf(q.row, q.seed, q.defaultPlan);
}

let stream: Promise<Stream> | null = null;

/** Runs one case on this process's device: '' when it matches the reference, else a one-line failure. */
export async function runRow(q: CaseRequest): Promise<string> {
  stream ??= requestDevice().then((d) => createStream(d));
  return checkRow(await stream, caseOf(q));
}
