// The operator's rules: every rule of docs/validation.md (§2-19) in its order of precedence,
// after the argument checks of arguments.ts (§1's null checks and the port's JS-value and buffer
// rules). The first failure is reported; an empty attentionOut succeeds after the null checks
// with nothing else checked. GetWorkspaceSize and the named-options wrapper both call `validate`,
// so they cannot disagree. Messages read `parameter=value: rule`; "(port)" marks a rule the port
// adds to the doc's.
//
// Vocabulary (docs/validation.md notation): B, Q_S, KV_S, D from the shapes; N = numHeads;
// KV_N = numKeyValueHeads (0: N); G = N / KV_N; H_kv = KV_N·D; P = the prefix length used.
// A tensor is "given" (params.ts) when it is non-null with at least one element; `!= null` tests
// where the doc's rule is about a non-null argument whatever its size.
import type { DataType } from '../codec/dtype.js';
import { numel, type IntArray, type Tensor } from '../acl/tensor.js';
import { USAGE } from '../acl/usage.js';
import { checkPresence, checkStructure, checkUsage, MAX_LIST_BATCH, reject } from './arguments.js';
import { axesOf, inputStorage, isLayout, lastDimFactor, outputStorage, rankOf, shapeOf } from '../problem/dims.js';
import { clampTokens, given, givenArray, resolveLengths } from '../problem/params.js';
import { type FiaInputs, INT_MAX, type Layout, type StorageLayout } from '../problem/problem.js';

const MAX_BATCH = 65536;
const MAX_HEAD_DIM = 512;
const MAX_HEADS = 256;
const MAX_GROUP = 64;
const MAX_SEQ = 20971520;
const MAX_BLOCK_SIZE = 512;
const MAX_BSH_HIDDEN = 65535;
const SPARSE_MASK = 2048;

/** The largest value (0 for none), without spreading a long array into call arguments. */
function maxOf(values: readonly number[]): number {
  let m = 0;
  for (const v of values) if (v > m) m = v;
  return m;
}

function article(dtype: string): string {
  return dtype.startsWith('INT') ? 'an' : 'a';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function oneOfShapes(shape: readonly number[], options: readonly (readonly number[])[]): boolean {
  return options.some((o) => sameShape(shape, o));
}

function listShapes(options: readonly (readonly number[])[]): string {
  return options.map((o) => `(${o.join(',')})`).join(', ');
}

/** True when attentionOut has 0 elements: GetWorkspaceSize succeeds with workspace 0 (§1). */
export function isEmptyOutput(inputs: FiaInputs): boolean {
  const shape = inputs.attentionOut?.shape;
  return Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0) && numel(shape) === 0;
}

/**
 * Throws AclnnError(161001 | 161002) for the first rule `inputs` break; returns normally when they
 * are valid, or when attentionOut has 0 elements (then nothing past the null checks is checked:
 * test with `isEmptyOutput`).
 */
export function validate(inputs: FiaInputs): void {
  checkInputs(inputs);
}

/**
 * validate, returning what the checks derived (normalize's `problemOf` builds the Problem from
 * it), or null for an empty attentionOut.
 */
export function checkInputs(inputs: FiaInputs): Checked | null {
  checkPresence(inputs);
  if (isEmptyOutput(inputs)) return null;
  checkStructure(inputs);
  return checkRules(inputs);
}

/**
 * The operator's rules (§2-19) on inputs whose arguments are well-formed (arguments.ts), in the
 * doc's order of precedence.
 */
function checkRules(inputs: FiaInputs): Checked {
  checkDtypes(inputs);
  const c = checkShapes(inputs);
  checkLengths(c);
  checkMask(c);
  checkPse(c);
  checkPadding(c);
  checkPaged(c);
  checkTensorList(c);
  checkPrefix(c);
  checkAntiquant(c);
  checkInt8Attention(c);
  checkOutputQuant(c);
  checkSoftmaxLse(c);
  checkInnerPrecise(c);
  checkDecodeSpecifics(c);
  checkEmptyTensors(c);
  checkExtensions(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// §2 Dtypes and dtype combinations

/** The accepted (query, key = value) pairs and their attentionOut dtypes (VALIDATION §2 table). */
const DTYPE_TABLE: readonly { query: DataType; kv: DataType; out: readonly DataType[] }[] = [
  { query: 'FLOAT16', kv: 'FLOAT16', out: ['FLOAT16', 'INT8'] },
  { query: 'BFLOAT16', kv: 'BFLOAT16', out: ['BFLOAT16', 'INT8'] },
  { query: 'FLOAT16', kv: 'INT8', out: ['FLOAT16', 'INT8'] },
  { query: 'BFLOAT16', kv: 'INT8', out: ['BFLOAT16', 'INT8'] },
  { query: 'FLOAT16', kv: 'INT32', out: ['FLOAT16'] },
  { query: 'BFLOAT16', kv: 'INT32', out: ['BFLOAT16'] },
  { query: 'INT8', kv: 'INT8', out: ['INT8', 'FLOAT16'] },
  { query: 'FLOAT32', kv: 'FLOAT32', out: ['FLOAT32'] }, // ours (SEMANTICS §5)
];

function checkDtypes(x: FiaInputs): void {
  const keys = x.key!.tensors as Tensor[];
  const values = x.value!.tensors as Tensor[];
  const kd = keys[0]!.dtype;
  keys.forEach((t, i) => {
    if (t.dtype !== kd) reject(`key[${i}].dtype`, t.dtype, `differs from key[0] ${kd}`);
  });
  values.forEach((t, i) => {
    if (t.dtype !== kd) reject(keys.length > 1 ? `value[${i}].dtype` : 'value.dtype', t.dtype, `key is ${kd}: key and value must share a dtype`);
  });
  if (kd === 'INT4') reject('key.dtype', kd, '(port) pass INT4 key/value as INT32 words holding 8 int4 values each');
  const qd = x.query!.dtype;
  const od = x.attentionOut!.dtype;
  const rows = DTYPE_TABLE.filter((r) => r.query === qd);
  if (rows.length === 0) reject('query.dtype', qd, 'must be FLOAT16, BFLOAT16, INT8 or FLOAT32');
  const row = rows.find((r) => r.kv === kd);
  if (!row) reject('key.dtype', kd, `not accepted with a ${qd} query (accepted: ${rows.map((r) => r.kv).join(', ')})`);
  if (!row.out.includes(od)) {
    reject('attentionOut.dtype', od, `${article(qd)} ${qd} query with ${kd} key/value writes ${row.out.join(' or ')}`);
  }
  if (given(x.attenMask) && !['BOOL', 'INT8', 'UINT8'].includes(x.attenMask.dtype)) {
    reject('attenMask.dtype', x.attenMask.dtype, 'must be BOOL, INT8 or UINT8');
  }
  if (given(x.pseShift)) {
    const want: DataType = qd === 'BFLOAT16' ? 'BFLOAT16' : qd === 'FLOAT32' ? 'FLOAT32' : 'FLOAT16';
    if (x.pseShift.dtype !== want) reject('pseShift.dtype', x.pseShift.dtype, `must be ${want} with a ${qd} query`);
  }
}

// ---------------------------------------------------------------------------------------------
// §3 Layout and shapes, §4 heads. Builds the facts the later sections and the Problem read.

/** What the checks derive from valid inputs, in the doc's notation (B, N, KV_N, ...). */
export interface Checked {
  x: FiaInputs;
  layout: Layout;
  qLayout: StorageLayout;
  decode: boolean;
  B: number;
  N: number;
  KV_N: number;
  D: number;
  Q_S: number;
  /** dense: key S; list: the largest entry S; paged: blockTable dim 1 · blockSize (0 if unknown). */
  KV_S: number;
  kind: 'dense' | 'list' | 'paged';
  keys: Tensor[];
  values: Tensor[];
  /** list: each entry's S. */
  entrySeqLens: number[];
  qd: DataType;
  kd: DataType;
  od: DataType;
  /** key/value are INT32 words of 8 int4. */
  packed: boolean;
  /** Prefix tensors given with data. */
  hasPrefix: boolean;
  prefixSeqLen: number;
  /** P: the prefix length used. */
  P: number;
  /** Resolved Sq_b (decode: 1) and Skv_b. */
  qLens: number[];
  kvLens: number[];
  /** A padding tensor is given (sparseMode 0 then ignores pre/next). */
  paddingGiven: boolean;
  qPadActive: boolean;
  kvPadActive: boolean;
}

/**
 * The facts of §3-4 (B, N, KV_N, D, Q_S, KV_S, the KV storage, dtypes, prefix, padding) as the
 * shapes and scalars state them, without judging them: checkShapes and the later sections judge
 * them, and normalize builds a Problem from them for inputs known to be valid. Lengths are
 * resolved separately (`resolveLens`), once B is known to be in range. Never throws.
 */
export function factsOf(x: FiaInputs): Checked {
  const layout = x.inputLayout as Layout;
  const qLayout = inputStorage(layout);
  const q = x.query!;
  const N = x.numHeads;
  const KV_N = x.numKeyValueHeads === 0 ? N : x.numKeyValueHeads;
  const qa = axesOf(q.shape, qLayout, N);
  const keys = x.key!.tensors as Tensor[];
  const kind: Checked['kind'] = x.blockTable != null ? 'paged' : keys.length > 1 ? 'list' : 'dense';
  const entrySeqLens = kind === 'paged' ? [] : keys.map((k) => axesOf(k.shape, qLayout, KV_N, lastDimFactor(k)).seq);
  const bt = x.blockTable;
  const KV_S = kind === 'dense' ? entrySeqLens[0]!
    : kind === 'list' ? maxOf(entrySeqLens)
    : bt && bt.shape.length === 2 ? bt.shape[1]! * x.blockSize : 0;
  const decode = qa.seq === 1;
  const kd = keys[0]!.dtype;
  // The prefix is read leniently here (§11 checks it).
  const kp = x.keySharedPrefix;
  const prefixOk = given(kp) && x.valueSharedPrefix != null && kp.shape.length === rankOf(qLayout) && kind !== 'paged';
  const prefixSeqLen = prefixOk ? axesOf(kp.shape, qLayout, KV_N, lastDimFactor(kp)).seq : 0;
  return {
    x, layout, qLayout, decode, B: qa.batch, N, KV_N, D: qa.headDim, Q_S: qa.seq, KV_S, kind, keys,
    values: x.value!.tensors as Tensor[], entrySeqLens, qd: q.dtype, kd, od: x.attentionOut!.dtype, packed: kd === 'INT32',
    hasPrefix: given(kp), prefixSeqLen,
    P: !prefixOk ? 0 : givenArray(x.actualSharedPrefixLen) ? x.actualSharedPrefixLen.values[0]! : prefixSeqLen,
    qLens: [], kvLens: [],
    paddingGiven: x.queryPaddingSize != null || x.kvPaddingSize != null,
    qPadActive: !decode && x.queryPaddingSize != null && givenArray(x.actualSeqLengths),
    kvPadActive: x.kvPaddingSize != null && givenArray(x.actualSeqLengthsKv),
  };
}

/** Resolved Sq_b (decode: 1) and Skv_b (absent: each list entry's S, else KV_S) into `c`. */
export function resolveLens(c: Checked): void {
  c.qLens = c.decode ? new Array<number>(c.B).fill(1) : resolveLengths(c.x.actualSeqLengths, c.B, () => c.Q_S);
  c.kvLens = resolveLengths(c.x.actualSeqLengthsKv, c.B, (b) => (c.kind === 'list' ? c.entrySeqLens[b] ?? 0 : c.KV_S));
}

function checkShapes(x: FiaInputs): Checked {
  if (!isLayout(x.inputLayout)) reject('inputLayout', `"${x.inputLayout}"`, 'not one of "BSH", "BSND", "BNSD", "BNSD_BSND"');
  const c = factsOf(x);
  const { layout, qLayout, N, KV_N, B, Q_S, D, decode, keys, values, kind, KV_S, qd, kd, od, packed } = c;
  const rank = rankOf(qLayout);
  const q = x.query!;
  if (q.shape.length !== rank) reject('query.shape', q.shape, `a ${layout} query is ${rank}-D (${axisNames(qLayout)})`);

  // §4 head counts
  if (N < 1 || N > MAX_HEADS) reject('numHeads', N, `must be in 1..${MAX_HEADS}`);
  if (x.numKeyValueHeads < 0) reject('numKeyValueHeads', x.numKeyValueHeads, 'must be ≥ 0 (0 means numHeads)');
  if (KV_N > N) reject('numKeyValueHeads', KV_N, `greater than numHeads ${N}`);
  if (N % KV_N !== 0) reject('numKeyValueHeads', KV_N, `numHeads ${N} is not a multiple`);
  if (N / KV_N > MAX_GROUP) reject('numKeyValueHeads', KV_N, `numHeads / numKeyValueHeads = ${N / KV_N} exceeds ${MAX_GROUP}`);
  if (qLayout === 'BSH') {
    if (q.shape[2]! % N !== 0) reject('query.shape', q.shape, `BSH hidden size ${q.shape[2]} is not a multiple of numHeads ${N}`);
  } else {
    const qn = qLayout === 'BSND' ? q.shape[2]! : q.shape[1]!;
    if (qn !== N) reject('query.shape', q.shape, `query N dim ${qn} ≠ numHeads ${N}`);
  }

  if (kind === 'paged' && keys.length > 1) reject('blockTable', 'given', 'paged KV cannot use tensor-list key/value');
  keys.forEach((k, i) => {
    const name = keys.length > 1 ? `key[${i}]` : 'key';
    const v = values[i]!;
    const f = lastDimFactor(k);
    if (kind === 'paged') {
      const bnsdCache = k.shape.length === 4 && qLayout === 'BNSD';
      if (k.shape.length !== 3 && !bnsdCache) {
        reject('key.shape', k.shape, `a paged cache is (blockNum, blockSize, H) or, with a BNSD query only, (blockNum, KV_N, blockSize, D); query is ${layout}`);
      }
    } else if (k.shape.length !== rank) {
      reject(`${name}.shape`, k.shape, `a ${layout} key is ${rank}-D like the query (${axisNames(qLayout)})`);
    }
    if (!sameShape(k.shape, v.shape)) {
      reject(keys.length > 1 ? `value[${i}].shape` : 'value.shape', v.shape, `differs from the key shape [${k.shape.join(',')}]`);
    }
    // heads and head dim
    let kD: number;
    if (kind === 'paged' && k.shape.length === 4) {
      if (k.shape[1] !== KV_N) reject('key.shape', k.shape, `cache N dim ${k.shape[1]} ≠ numKeyValueHeads ${KV_N}`);
      kD = k.shape[3]! * f;
    } else if (kind === 'paged' || qLayout === 'BSH') {
      const H = k.shape[2]! * f;
      if (H % KV_N !== 0) reject(`${name}.shape`, k.shape, `key hidden size ${H} is not a multiple of numKeyValueHeads ${KV_N}`);
      kD = H / KV_N;
    } else {
      const a = axesOf(k.shape, qLayout, KV_N, f);
      if (a.heads !== KV_N) reject(`${name}.shape`, k.shape, `key N dim ${a.heads} ≠ numKeyValueHeads ${KV_N}`);
      kD = a.headDim;
    }
    if (kD !== D) reject(`${name}.shape`, k.shape, `key head dim ${kD} ≠ query head dim ${D}`);
  });
  const key0 = keys[0]!;
  if (kind === 'dense' && key0.shape[0] !== B) reject('key.shape', key0.shape, `key batch ${key0.shape[0]} ≠ query batch ${B}`);
  if (B > MAX_BATCH) reject('query.shape', q.shape, `batch ${B} exceeds ${MAX_BATCH}`);
  if (D > MAX_HEAD_DIM) reject('query.shape', q.shape, `head dim ${D} exceeds ${MAX_HEAD_DIM}`);
  const outShape = shapeOf(outputStorage(layout), { batch: B, seq: Q_S, heads: N, headDim: D });
  if (!sameShape(x.attentionOut!.shape, outShape)) {
    reject('attentionOut.shape', x.attentionOut!.shape, `expected [${outShape.join(',')}] for a ${layout} query of shape [${q.shape.join(',')}]`);
  }

  if (!decode && packed) reject('key.dtype', kd, `INT4 (INT32) key/value need Q_S == 1 (query S is ${Q_S})`);
  if (!decode) {
    if (D % 16 !== 0) reject('query.shape', q.shape, `head dim ${D} is not a multiple of 16 (Q_S > 1)`);
    if (D % 32 !== 0 && (qd === 'INT8' || kd === 'INT8' || od === 'INT8')) {
      reject('query.shape', q.shape, `head dim ${D} is not a multiple of 32 with INT8 query, key/value or attentionOut (Q_S > 1)`);
    }
    if ((qLayout === 'BSH' || qLayout === 'BSND') && N * D >= 65535) {
      reject('query.shape', q.shape, `N·D = ${N * D} must be < 65535 for ${layout} when Q_S > 1`);
    }
    if (Q_S > MAX_SEQ) reject('query.shape', q.shape, `Q_S ${Q_S} exceeds ${MAX_SEQ}`);
    if (KV_S + c.prefixSeqLen > MAX_SEQ) reject('key.shape', key0.shape, `KV_S + prefix S = ${KV_S + c.prefixSeqLen} exceeds ${MAX_SEQ}`);
  }
  return c;
}

function axisNames(l: StorageLayout): string {
  return l === 'BSH' ? 'B,S,H' : l === 'BSND' ? 'B,S,N,D' : 'B,N,S,D';
}

// ---------------------------------------------------------------------------------------------
// §5 Actual lengths

function checkLengthArray(name: string, a: IntArray | null | undefined, B: number, bound: (b: number) => number, boundName: (b: number) => string): void {
  if (!givenArray(a)) return;
  const n = a.values.length;
  if (n !== 1 && n < B) reject(name, a.values, `length ${n} is neither 1 nor ≥ B=${B}`);
  // One value applies to every batch (checked against each batch's bound); else the first B.
  for (let b = 0; b < B; b++) {
    const i = n === 1 ? 0 : b;
    const v = a.values[i]!;
    if (v < 0 || v > bound(b)) reject(`${name}[${i}]`, v, `outside [0, ${boundName(b)}=${bound(b)}]`);
  }
}

function checkLengths(c: Checked): void {
  const { x, B, Q_S, KV_S } = c;
  if (!c.decode) checkLengthArray('actualSeqLengths', x.actualSeqLengths, B, () => Q_S, () => 'Q_S');
  if (c.kind === 'paged') {
    if (!givenArray(x.actualSeqLengthsKv)) reject('actualSeqLengthsKv', x.actualSeqLengthsKv == null ? null : '[]', 'required with paged KV (blockTable given)');
    checkLengthArray('actualSeqLengthsKv', x.actualSeqLengthsKv, B, () => INT_MAX, () => 'INT_MAX');
  } else if (c.kind === 'list') {
    checkLengthArray('actualSeqLengthsKv', x.actualSeqLengthsKv, B,
      (b) => c.entrySeqLens[b] ?? 0, (b) => `key[${b}] S`);
  } else {
    checkLengthArray('actualSeqLengthsKv', x.actualSeqLengthsKv, B, () => KV_S, () => 'KV_S');
  }
  resolveLens(c);
}

// ---------------------------------------------------------------------------------------------
// §6 Masks, sparseMode, preTokens/nextTokens

const SPARSE_MASK_SHAPES = [[SPARSE_MASK, SPARSE_MASK], [1, SPARSE_MASK, SPARSE_MASK], [1, 1, SPARSE_MASK, SPARSE_MASK]];

function checkMask(c: Checked): void {
  const { x, B, Q_S, KV_S, P } = c;
  const m = given(x.attenMask) ? x.attenMask : null;
  const r = m?.shape.length ?? 0;
  if (m) {
    if (r < 2 || r > 4) reject('attenMask.shape', m.shape, 'rank must be 2, 3 or 4');
    if (r === 4 && m.shape[1] !== 1) reject('attenMask.shape', m.shape, 'dim 1 must be 1: masks never vary by head');
  }
  if (!c.decode) {
    const sm = x.sparseMode;
    if (sm < 0 || sm > 4) reject('sparseMode', sm, 'must be 0..4 when Q_S > 1 (5..8 are not supported)');
    if (sm >= 1 && !m) reject('sparseMode', sm, `needs an attenMask (Q_S > 1)`);
    if (m && sm <= 1) {
      if (r >= 3 && m.shape[0] !== 1 && m.shape[0] !== B) reject('attenMask.shape', m.shape, `batch dim ${m.shape[0]} is not 1 or B=${B}`);
      if (m.shape[r - 2]! < Q_S) reject('attenMask.shape', m.shape, `rows ${m.shape[r - 2]} < Q_S=${Q_S}`);
      if (m.shape[r - 1]! < KV_S + P) reject('attenMask.shape', m.shape, `columns ${m.shape[r - 1]} < KV_S + prefix = ${KV_S + P}`);
    }
    if (m && sm >= 2 && !oneOfShapes(m.shape, SPARSE_MASK_SHAPES)) {
      reject('attenMask.shape', m.shape, `sparseMode ${sm} needs a mask of shape ${listShapes(SPARSE_MASK_SHAPES)}`);
    }
  } else if (m) {
    if (m.shape[0] !== 1 && m.shape[0] !== B) reject('attenMask.shape', m.shape, `batch dim ${m.shape[0]} is not 1 or B=${B}`);
    const need = c.kind === 'paged' ? KV_S : maxOf(c.kvLens) + P;
    if (m.shape[r - 1]! < need) {
      reject('attenMask.shape', m.shape, `columns ${m.shape[r - 1]} < ${c.kind === 'paged' ? 'blockTable dim 1 · blockSize' : 'max Skv_b + prefix'} = ${need} (Q_S == 1)`);
    }
  }
  if (bandUsed(c, m != null)) {
    const pre = clampTokens(x.preTokens);
    const next = clampTokens(x.nextTokens);
    if (pre + next < 0) reject('preTokens', x.preTokens, `preTokens + nextTokens (nextTokens=${x.nextTokens}) < 0 leaves no column`);
  }
}

/** pre/next apply: Q_S > 1 in sparseMode 4, or sparseMode 0 with a mask and no padding tensor. */
function bandUsed(c: Checked, hasMask: boolean): boolean {
  if (c.decode) return false;
  return c.x.sparseMode === 4 || (c.x.sparseMode === 0 && hasMask && !c.paddingGiven);
}

// ---------------------------------------------------------------------------------------------
// §7 pseShift

function checkPse(c: Checked): void {
  const p = c.x.pseShift;
  if (!given(p)) return;
  const s = p.shape;
  if (s.length !== 4) reject('pseShift.shape', s, 'must be 4-D (B or 1, N, Q_S, KV_S)');
  if (s[0] !== 1 && s[0] !== c.B) reject('pseShift.shape', s, `dim 0 ${s[0]} is not 1 or B=${c.B}`);
  if (s[1] !== c.N) reject('pseShift.shape', s, `dim 1 ${s[1]} ≠ numHeads ${c.N}`);
  if (!c.decode && s[2]! < c.Q_S) reject('pseShift.shape', s, `dim 2 ${s[2]} < Q_S=${c.Q_S}`);
  if (c.decode && s[2] !== 1) reject('pseShift.shape', s, `dim 2 ${s[2]} must be 1 when Q_S == 1`);
  if (s[3]! < c.KV_S + c.P) reject('pseShift.shape', s, `dim 3 ${s[3]} < KV_S + prefix = ${c.KV_S + c.P}`);
  if (c.decode && c.D % 16 !== 0) reject('pseShift', 'given', `needs head dim % 16 == 0 when Q_S == 1 (D=${c.D})`);
}

// ---------------------------------------------------------------------------------------------
// §8 Left padding

function checkPadding(c: Checked): void {
  const { x } = c;
  const names = c.decode ? ['kvPaddingSize'] as const : ['queryPaddingSize', 'kvPaddingSize'] as const;
  for (const name of names) {
    const t = x[name];
    if (t == null) continue;
    if (t.dtype !== 'INT64' || !sameShape(t.shape, [1])) reject(name, `[${t.shape.join(',')}] ${t.dtype}`, 'must be INT64 of shape [1]');
  }
  for (const [name, active] of [['queryPaddingSize', c.qPadActive], ['kvPaddingSize', c.kvPadActive]] as const) {
    if (!active) continue;
    checkUsage(name, x[name]!.buffer, USAGE.COPY_SRC); // copied into the aux region (src/kernels/aux.ts)
    if (c.hasPrefix) reject(name, 'active', 'left padding cannot be used with a shared prefix');
    if (c.kind === 'list') reject(name, 'active', 'left padding cannot be used with tensor-list key/value');
    if (c.packed) reject(name, 'active', 'left padding cannot be used with INT4 (INT32) key/value');
  }
}

// ---------------------------------------------------------------------------------------------
// §9 Paged KV

function blockStep(c: Checked): number {
  if (!c.decode) return 128;
  return c.kd === 'INT8' ? 32 : 16;
}

function checkPaged(c: Checked): void {
  if (c.kind !== 'paged') return;
  const { x, B } = c;
  const bt = x.blockTable!;
  if (numel(bt.shape) === 0) reject('blockTable.shape', bt.shape, '0 elements: pass null when KV is not paged');
  if (c.qPadActive || c.kvPadActive) reject('blockTable', 'given', 'paged KV cannot use left padding');
  if (x.keySharedPrefix != null || x.valueSharedPrefix != null) reject('blockTable', 'given', 'paged KV cannot use a shared prefix');
  if (c.qd === 'INT8') reject('blockTable', 'given', 'paged KV cannot be used with an INT8 query');
  if (c.packed) reject('blockTable', 'given', 'paged KV cannot be INT4 (INT32)');
  if (!c.decode && c.kd === 'INT8') reject('blockTable', 'given', 'paged INT8 key/value need Q_S == 1');
  if (bt.dtype !== 'INT32') reject('blockTable.dtype', bt.dtype, 'must be INT32');
  if (bt.shape.length !== 2) reject('blockTable.shape', bt.shape, 'must be 2-D (B, maxBlocksPerSeq)');
  if (bt.shape[0] !== B) reject('blockTable.shape', bt.shape, `dim 0 ${bt.shape[0]} ≠ B=${B}`);
  const bs = x.blockSize;
  const step = blockStep(c);
  if (bs < 1 || bs > MAX_BLOCK_SIZE || bs % step !== 0) {
    reject('blockSize', bs, `must be in 1..${MAX_BLOCK_SIZE} and a multiple of ${step} (${c.decode ? `Q_S == 1, ${c.kd} key/value` : 'Q_S > 1'})`);
  }
  const key = c.keys[0]!;
  const s = key.shape;
  const H_kv = c.KV_N * c.D;
  if (s.length === 3 && (s[1] !== bs || s[2] !== H_kv)) {
    reject('key.shape', s, `a paged cache is (blockNum, blockSize=${bs}, H=${H_kv})`);
  }
  if (s.length === 4 && (s[2] !== bs || s[3] !== c.D)) {
    reject('key.shape', s, `a paged BNSD cache is (blockNum, KV_N=${c.KV_N}, blockSize=${bs}, D=${c.D})`);
  }
  if (s.length === 3 && H_kv > MAX_BSH_HIDDEN) reject('key.shape', s, `H = KV_N·D = ${H_kv} exceeds ${MAX_BSH_HIDDEN} in a (blockNum, blockSize, H) cache`);
  const maxBlocks = maxOf(c.kvLens.map((l) => Math.ceil(l / bs)));
  if (bt.shape[1]! < maxBlocks) reject('blockTable.shape', bt.shape, `dim 1 ${bt.shape[1]} < ${maxBlocks} blocks of the longest sequence`);
  const needBlocks = c.kvLens.reduce((a, l) => a + Math.ceil(l / bs), 0);
  if (s[0]! < needBlocks) reject('key.shape', s, `blockNum ${s[0]} < ${needBlocks}, the blocks all batches need`);
}

// ---------------------------------------------------------------------------------------------
// §10 Tensor-list KV

function checkTensorList(c: Checked): void {
  if (c.kind !== 'list') return;
  const n = c.keys.length;
  if (n !== c.B) reject('key', `a list of ${n}`, `tensor-list KV needs one tensor per batch (B=${c.B})`);
  if (c.B > MAX_LIST_BATCH) reject('key', `a list of ${n}`, `tensor-list KV supports B ≤ ${MAX_LIST_BATCH}`);
  c.keys.forEach((k, i) => {
    if (k.shape[0] !== 1) reject(`key[${i}].shape`, k.shape, 'tensor-list entries have batch 1');
  });
}

// ---------------------------------------------------------------------------------------------
// §11 Shared prefix

function checkPrefix(c: Checked): void {
  const { x } = c;
  const kp = x.keySharedPrefix;
  const vp = x.valueSharedPrefix;
  if ((kp != null) !== (vp != null)) {
    reject(kp ? 'valueSharedPrefix' : 'keySharedPrefix', null, 'keySharedPrefix and valueSharedPrefix are given together');
  }
  if (kp == null || vp == null) return;
  if (c.kind === 'list') reject('keySharedPrefix', 'given', 'a shared prefix cannot be used with tensor-list key/value');
  if (c.qd === 'INT8') reject('keySharedPrefix', 'given', 'a shared prefix cannot be used with an INT8 query');
  const key = c.keys[0]!;
  for (const [name, t] of [['keySharedPrefix', kp], ['valueSharedPrefix', vp]] as const) {
    if (t.shape.length !== key.shape.length) reject(`${name}.shape`, t.shape, `rank ≠ key rank ${key.shape.length}`);
    if (t.dtype !== key.dtype) reject(`${name}.dtype`, t.dtype, `≠ key dtype ${key.dtype}`);
    if (t.shape[0] !== 1) reject(`${name}.shape`, t.shape, 'batch dim must be 1');
    const sameHeads = c.qLayout === 'BSH' ? t.shape[2] === key.shape[2]
      : c.qLayout === 'BSND' ? t.shape[2] === key.shape[2] && t.shape[3] === key.shape[3]
      : t.shape[1] === key.shape[1] && t.shape[3] === key.shape[3];
    if (!sameHeads) reject(`${name}.shape`, t.shape, `${c.qLayout === 'BSH' ? 'H' : 'N or D'} differs from key [${key.shape.join(',')}]`);
  }
  if (!sameShape(kp.shape, vp.shape)) reject('valueSharedPrefix.shape', vp.shape, `≠ keySharedPrefix shape [${kp.shape.join(',')}]`);
  if (!c.decode && numel(kp.shape) === 0) reject('keySharedPrefix.shape', kp.shape, '0 elements when Q_S > 1: pass null for no prefix');
  const a = x.actualSharedPrefixLen;
  if (givenArray(a)) {
    if (a.values.length !== 1) reject('actualSharedPrefixLen', a.values, 'must hold exactly one value');
    const v = a.values[0]!;
    if (v < 0 || v > c.prefixSeqLen) reject('actualSharedPrefixLen[0]', v, `outside [0, prefix S=${c.prefixSeqLen}]`);
  }
}

// ---------------------------------------------------------------------------------------------
// §12 Antiquant, combined parameters; §13 separate K/V parameters

const COMBINED = ['antiquantScale', 'antiquantOffset'] as const;
const SEPARATE = ['keyAntiquantScale', 'keyAntiquantOffset', 'valueAntiquantScale', 'valueAntiquantOffset'] as const;

function checkAntiquant(c: Checked): void {
  const { x } = c;
  const antiquant = (c.qd === 'FLOAT16' || c.qd === 'BFLOAT16') && (c.kd === 'INT8' || c.kd === 'INT32');
  if (!antiquant) {
    for (const name of [...COMBINED, ...SEPARATE]) {
      if (x[name] != null) reject(name, 'given', `antiquant parameters need a FLOAT16/BFLOAT16 query with INT8 or INT4 key/value (query ${c.qd}, key ${c.kd})`);
    }
    return;
  }
  if (SEPARATE.some((n) => x[n] != null)) {
    checkSeparate(c);
    return;
  }
  if (x.antiquantScale == null) {
    reject('antiquantScale', null, `${article(c.qd)} ${c.qd} query with ${c.kd} key/value needs antiquantScale or keyAntiquantScale/valueAntiquantScale`);
  }
  if (c.packed) reject('antiquantScale', 'given', 'INT4 (INT32) key/value take keyAntiquantScale/valueAntiquantScale only');
  checkCombined(c);
}

/** Per-channel shapes of one side: (N,1,D), (N,D), (H) with N = KV_N, optionally behind a leading dim. */
function perChannelShapes(c: Checked, lead: number[]): number[][] {
  const { KV_N: n, D } = c;
  return [[...lead, n, 1, D], [...lead, n, D], [...lead, n * D]];
}

function checkCombined(c: Checked): void {
  const { x } = c;
  const s = x.antiquantScale!;
  const o = x.antiquantOffset;
  if (o != null && (!sameShape(o.shape, s.shape) || o.dtype !== s.dtype)) {
    reject('antiquantOffset', `[${o.shape.join(',')}] ${o.dtype}`, `must match antiquantScale [${s.shape.join(',')}] ${s.dtype}`);
  }
  if (!c.decode) {
    if (c.qd !== 'FLOAT16') reject('query.dtype', c.qd, 'antiquantScale (combined) needs a FLOAT16 query when Q_S > 1; use keyAntiquantScale/valueAntiquantScale');
    if (s.dtype !== 'FLOAT16') reject('antiquantScale.dtype', s.dtype, 'must be FLOAT16 when Q_S > 1');
    const H = c.KV_N * c.D;
    const byLayout = c.qLayout === 'BNSD' ? [2, c.KV_N, 1, c.D] : c.qLayout === 'BSND' ? [2, c.KV_N, c.D] : [2, H];
    const ok = [[2], byLayout];
    if (!oneOfShapes(s.shape, ok)) reject('antiquantScale.shape', s.shape, `must be ${listShapes(ok)} for ${c.layout} (Q_S > 1)`);
    return;
  }
  const mode = x.antiquantMode;
  if (mode !== 0 && mode !== 1) reject('antiquantMode', mode, 'must be 0 (per-channel/per-tensor) or 1 (per-token) when Q_S == 1');
  if (mode === 0) {
    const ok = [...perChannelShapes(c, [2]), [2]];
    if (!oneOfShapes(s.shape, ok)) reject('antiquantScale.shape', s.shape, `antiquantMode 0 needs ${listShapes(ok)}`);
    if (s.dtype !== c.qd) reject('antiquantScale.dtype', s.dtype, `antiquantMode 0 needs the query dtype ${c.qd}`);
  } else {
    const need = c.KV_S + c.P;
    if (s.shape.length !== 3 || s.shape[0] !== 2 || s.shape[1] !== c.B || s.shape[2]! < need) {
      reject('antiquantScale.shape', s.shape, `antiquantMode 1 needs (2, B=${c.B}, S ≥ ${need})`);
    }
    if (s.dtype !== 'FLOAT32') reject('antiquantScale.dtype', s.dtype, 'antiquantMode 1 needs FLOAT32');
  }
}

function checkSeparate(c: Checked): void {
  const { x } = c;
  const ks = x.keyAntiquantScale;
  const vs = x.valueAntiquantScale;
  const ko = x.keyAntiquantOffset;
  const vo = x.valueAntiquantOffset;
  if ((ks != null) !== (vs != null)) reject(ks ? 'valueAntiquantScale' : 'keyAntiquantScale', null, 'keyAntiquantScale and valueAntiquantScale are given together');
  if ((ko != null) !== (vo != null)) reject(ko ? 'valueAntiquantOffset' : 'keyAntiquantOffset', null, 'keyAntiquantOffset and valueAntiquantOffset are given together');
  if (ks == null || vs == null) reject('keyAntiquantOffset', 'given', 'offsets need keyAntiquantScale and valueAntiquantScale');
  for (const [oName, off, sName, sc] of [['keyAntiquantOffset', ko, 'keyAntiquantScale', ks], ['valueAntiquantOffset', vo, 'valueAntiquantScale', vs]] as const) {
    if (off != null && (!sameShape(off.shape, sc.shape) || off.dtype !== sc.dtype)) {
      reject(oName, `[${off.shape.join(',')}] ${off.dtype}`, `must match ${sName} [${sc.shape.join(',')}] ${sc.dtype}`);
    }
  }
  const km = x.keyAntiquantMode;
  const vm = x.valueAntiquantMode;
  const maxMode = c.decode ? 5 : 1;
  if (km < 0 || km > maxMode) reject('keyAntiquantMode', km, `must be 0..${maxMode} (${c.decode ? 'Q_S == 1' : 'Q_S > 1'})`);
  if (vm < 0 || vm > maxMode) reject('valueAntiquantMode', vm, `must be 0..${maxMode} (${c.decode ? 'Q_S == 1' : 'Q_S > 1'})`);
  const mixed = c.decode && km === 0 && vm === 1;
  if (!mixed) {
    if (km !== vm) reject('valueAntiquantMode', vm, `must equal keyAntiquantMode ${km} (only key 0 + value 1 may differ, Q_S == 1)`);
    if (!sameShape(ks.shape, vs.shape)) reject('valueAntiquantScale.shape', vs.shape, `≠ keyAntiquantScale shape [${ks.shape.join(',')}]`);
  }
  if (!c.decode) {
    if (c.qd !== 'BFLOAT16') reject('query.dtype', c.qd, 'keyAntiquantScale/valueAntiquantScale need a BFLOAT16 query when Q_S > 1');
    if (c.kd !== 'INT8') reject('key.dtype', c.kd, 'keyAntiquantScale/valueAntiquantScale need INT8 key/value when Q_S > 1');
    if (c.od !== 'BFLOAT16') reject('attentionOut.dtype', c.od, 'keyAntiquantScale/valueAntiquantScale need a BFLOAT16 attentionOut when Q_S > 1');
    if (c.Q_S > 16) reject('query.shape', x.query!.shape, `Q_S ${c.Q_S} > 16 with keyAntiquantScale/valueAntiquantScale`);
    if (c.kind === 'list') reject('keyAntiquantScale', 'given', 'not with tensor-list key/value when Q_S > 1');
    if (c.qPadActive || c.kvPadActive) reject('keyAntiquantScale', 'given', 'not with left padding when Q_S > 1');
    for (const [name, t] of [['keyAntiquantScale', ks], ['valueAntiquantScale', vs]] as const) {
      if (km === 0) {
        const ok = perChannelShapes(c, []);
        if (!oneOfShapes(t.shape, ok)) reject(`${name}.shape`, t.shape, `keyAntiquantMode 0 needs ${listShapes(ok)} (Q_S > 1)`);
        if (t.dtype !== 'BFLOAT16') reject(`${name}.dtype`, t.dtype, 'keyAntiquantMode 0 needs BFLOAT16 (Q_S > 1)');
      } else {
        if (!sameShape(t.shape, [c.B, c.KV_S])) reject(`${name}.shape`, t.shape, `keyAntiquantMode 1 needs exactly (B=${c.B}, KV_S=${c.KV_S}) (Q_S > 1)`);
        if (t.dtype !== 'FLOAT32') reject(`${name}.dtype`, t.dtype, 'keyAntiquantMode 1 needs FLOAT32');
      }
    }
    if (km === 1 && c.hasPrefix) reject('keyAntiquantMode', km, 'per-token scales cannot be used with a shared prefix when Q_S > 1');
    return;
  }
  for (const [name, mode] of [['keyAntiquantMode', km], ['valueAntiquantMode', vm]] as const) {
    if ((mode === 4 || mode === 5) && c.kind !== 'paged') reject(name, mode, 'modes 4 and 5 need paged KV (blockTable)');
    if (c.packed && (mode === 2 || mode === 4 || mode === 5)) reject(name, mode, 'INT4 (INT32) key/value take modes 0, 1, 3 or key 0 + value 1');
  }
  if (mixed) {
    const ok = perChannelShapes(c, [1]);
    if (!oneOfShapes(ks.shape, ok)) reject('keyAntiquantScale.shape', ks.shape, `key mode 0 with value mode 1 needs a per-channel key scale ${listShapes(ok)}`);
    if (ks.dtype !== c.qd) reject('keyAntiquantScale.dtype', ks.dtype, `per-channel scales use the query dtype ${c.qd}`);
    checkDecodeScale(c, 'valueAntiquantScale', vs, 1);
    if (c.kd === 'INT8' && (c.qd !== 'FLOAT16' || c.od !== 'FLOAT16')) {
      reject('query.dtype', c.qd, `key mode 0 with value mode 1 and INT8 key/value need FLOAT16 query and attentionOut (attentionOut ${c.od})`);
    }
    return;
  }
  checkDecodeScale(c, 'keyAntiquantScale', ks, km);
  checkDecodeScale(c, 'valueAntiquantScale', vs, vm);
}

/** One separate scale at Q_S == 1 against the mode table (VALIDATION §13). */
function checkDecodeScale(c: Checked, name: string, t: Tensor, mode: number): void {
  const n = c.KV_N;
  const S = c.KV_S + c.P;
  const s = t.shape;
  const bs = c.x.blockSize;
  const blockNum = c.kind === 'paged' ? c.keys[0]!.shape[0]! : 0;
  let ok: boolean;
  let want: string;
  let dtype: DataType;
  switch (mode) {
    case 0: {
      const shapes = [...perChannelShapes(c, [1]), [1]];
      ok = oneOfShapes(s, shapes); want = listShapes(shapes); dtype = c.qd;
      break;
    }
    case 1:
      ok = (s.length === 3 && s[0] === 1 && s[1] === c.B && s[2]! >= S) || (s.length === 2 && s[0] === c.B && s[1]! >= S);
      want = `(1, B=${c.B}, S ≥ ${S}) or (B, S ≥ ${S})`; dtype = 'FLOAT32';
      break;
    case 2:
      ok = sameShape(s, [n]); want = `(${n})`; dtype = c.qd;
      break;
    case 3:
      ok = s.length === 3 && s[0] === c.B && s[1] === n && s[2]! >= S; want = `(B=${c.B}, N=${n}, S ≥ ${S})`; dtype = 'FLOAT32';
      break;
    case 4:
      ok = sameShape(s, [blockNum, bs]); want = `(blockNum=${blockNum}, blockSize=${bs})`; dtype = 'FLOAT32';
      break;
    default:
      ok = sameShape(s, [blockNum, n, bs]); want = `(blockNum=${blockNum}, N=${n}, blockSize=${bs})`; dtype = 'FLOAT32';
      break;
  }
  if (!ok) reject(`${name}.shape`, s, `mode ${mode} needs ${want} (Q_S == 1)`);
  if (t.dtype !== dtype) reject(`${name}.dtype`, t.dtype, `mode ${mode} needs ${dtype}`);
}

// ---------------------------------------------------------------------------------------------
// §14 INT8 full quantization

function checkInt8Attention(c: Checked): void {
  const { x } = c;
  const names = ['deqScale1', 'quantScale1', 'deqScale2'] as const;
  if (c.qd !== 'INT8') {
    for (const name of names) {
      if (x[name] != null) reject(name, 'given', `used only with an INT8 query (query is ${c.qd})`);
    }
    return;
  }
  if (c.decode) reject('query.dtype', 'INT8', 'an INT8 query needs Q_S > 1');
  for (const name of names) {
    const t = x[name];
    if (!given(t)) reject(name, null, 'required with an INT8 query');
    const dtypes: DataType[] = name === 'quantScale1' ? ['FLOAT32'] : ['UINT64', 'FLOAT32'];
    if (!dtypes.includes(t.dtype)) reject(`${name}.dtype`, t.dtype, `must be ${dtypes.join(' or ')}`);
    if (numel(t.shape) !== 1) reject(`${name}.shape`, t.shape, 'must hold exactly one element (per-tensor)');
  }
}

// ---------------------------------------------------------------------------------------------
// §15 INT8 output quantization

function checkOutputQuant(c: Checked): void {
  const { x, N, D } = c;
  const qs = x.quantScale2;
  const qo = given(x.quantOffset2) ? x.quantOffset2 : null;
  if (c.od !== 'INT8') {
    if (qs != null) reject('quantScale2', 'given', `used only with an INT8 attentionOut (attentionOut is ${c.od})`);
    if (qo) reject('quantOffset2', 'given', `used only with an INT8 attentionOut (attentionOut is ${c.od})`);
    return;
  }
  if (!given(qs)) reject('quantScale2', null, 'required with an INT8 attentionOut');
  if (!(qs.dtype === 'FLOAT32' || (qs.dtype === 'BFLOAT16' && c.qd === 'BFLOAT16'))) {
    reject('quantScale2.dtype', qs.dtype, `must be FLOAT32${c.qd === 'BFLOAT16' ? ' or BFLOAT16' : ' (BFLOAT16 only with a BFLOAT16 query)'}`);
  }
  if (qo && (qo.dtype !== qs.dtype || !sameShape(qo.shape, qs.shape))) {
    reject('quantOffset2', `[${qo.shape.join(',')}] ${qo.dtype}`, `must match quantScale2 [${qs.shape.join(',')}] ${qs.dtype}`);
  }
  const H = N * D;
  const ok = [[1], [1, N, 1, D], [N, 1, D], [N, D], [1, 1, N, D], [1, N, D], [1, H], [1, 1, H], [H]];
  if (!oneOfShapes(qs.shape, ok)) reject('quantScale2.shape', qs.shape, `must be [1] or per-channel ${listShapes(ok.slice(1))}`);
  const perChannel = numel(qs.shape) > 1;
  if (perChannel && (c.qPadActive || c.kvPadActive)) reject('quantScale2.shape', qs.shape, 'per-channel output quantization cannot be used with left padding');
  if (c.decode) return;
  if (perChannel && x.softmaxLseFlag) reject('quantScale2.shape', qs.shape, 'per-channel output quantization cannot be used with softmaxLseFlag when Q_S > 1');
  const sm = x.sparseMode;
  if (sm === 4 && (x.preTokens < 0 || x.nextTokens < 0)) {
    reject('preTokens', x.preTokens, `INT8 attentionOut with sparseMode 4 needs preTokens and nextTokens ≥ 0 (nextTokens=${x.nextTokens})`);
  }
  if (!qo) return;
  const hasMask = given(x.attenMask);
  const used = bandUsed(c, hasMask);
  const pre = used ? clampTokens(x.preTokens) : INT_MAX;
  const next = used ? clampTokens(x.nextTokens) : INT_MAX;
  for (let b = 0; b < c.B; b++) {
    const sq = c.qLens[b]!;
    const skv = c.kvLens[b]! + c.P;
    const emptyRows = (sm === 0 && hasMask && (sq - skv - pre > 0 || next < 0))
      || (sm === 3 && skv < sq)
      || (sm === 4 && (pre < 0 || next + skv < sq));
    if (emptyRows) {
      reject('quantOffset2', 'given', `sparseMode ${sm} leaves rows of batch ${b} empty (Sq=${sq}, Skv+prefix=${skv}, preTokens=${x.preTokens}, nextTokens=${x.nextTokens}); quantize outside the operator`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// §16 softmaxLse, §17 innerPrecise

function checkSoftmaxLse(c: Checked): void {
  const { x } = c;
  if (x.softmaxLseFlag !== true) return;
  const t = x.softmaxLse!;
  if (t.dtype !== 'FLOAT32') reject('softmaxLse.dtype', t.dtype, 'must be FLOAT32');
  const want = [c.B, c.N, c.Q_S, 1];
  if (!sameShape(t.shape, want)) reject('softmaxLse.shape', t.shape, `must be [B,N,Q_S,1] = [${want.join(',')}]`);
}

function checkInnerPrecise(c: Checked): void {
  const v = c.x.innerPrecise;
  const max = c.decode ? 1 : 3;
  if (v < 0 || v > max) reject('innerPrecise', v, `must be 0..${max} (${c.decode ? 'Q_S == 1' : 'Q_S > 1'})`);
}

// ---------------------------------------------------------------------------------------------
// §18 Q_S == 1 specifics, §19 empty tensors

function checkDecodeSpecifics(c: Checked): void {
  if (!c.decode) return;
  if (c.packed && c.D % 64 !== 0) reject('key.shape', c.keys[0]!.shape, `INT4 key/value need head dim % 64 == 0 (D=${c.D})`);
  if (c.layout === 'BNSD_BSND') {
    if (c.kd === 'INT8' || c.packed) reject('inputLayout', c.layout, `BNSD_BSND with Q_S == 1 needs float key/value (key is ${c.kd})`);
    if (c.D % 16 !== 0) reject('inputLayout', c.layout, `BNSD_BSND with Q_S == 1 needs head dim % 16 == 0 (D=${c.D})`);
    if (c.od === 'INT8' && c.KV_N < c.N && c.D % 32 !== 0) {
      reject('inputLayout', c.layout, `BNSD_BSND with Q_S == 1, INT8 attentionOut and KV_N < N needs head dim % 32 == 0 (D=${c.D})`);
    }
  }
}

function checkEmptyTensors(c: Checked): void {
  if (c.qd === 'INT8' && c.keys.some((k) => numel(k.shape) === 0)) {
    reject('key.shape', c.keys[0]!.shape, 'an INT8 query needs key/value with elements');
  }
  if (c.kind === 'list') {
    c.keys.forEach((k, i) => {
      if (numel(k.shape) === 0) reject(`key[${i}].shape`, k.shape, 'a tensor-list entry with 0 elements: use actualSeqLengthsKv 0 instead');
    });
  }
}

// ---------------------------------------------------------------------------------------------
// (port) Extensions beyond the operator: the named wrapper's learnableSink, softcap and slidingWindow
// (docs/validation.md, "Extensions beyond the operator")

function checkExtensions(c: Checked): void {
  const e = c.x.extensions;
  if (e == null) return;
  if (e.softcap != null && !(Number.isFinite(e.softcap) && e.softcap >= 0)) {
    reject('softcap', e.softcap, '(port) must be finite and ≥ 0 (0: off)');
  }
  const w = e.slidingWindow;
  if (w != null && !(Number.isInteger(w) && w >= 0 && w <= INT_MAX)) {
    reject('slidingWindow', w, `(port) must be an integer in [0, ${INT_MAX}] (0: off)`);
  }
  const sink = e.learnableSink;
  if (sink == null) return;
  if (sink.dtype !== 'FLOAT32') reject('learnableSink.dtype', sink.dtype, '(port) must be FLOAT32');
  if (!sameShape(sink.shape, [c.N])) reject('learnableSink.shape', sink.shape, `(port) must be [N] = [${c.N}] (one sink per query head)`);
}
