// The benchmark case list, the seeded inputs of a case, and the work models (FLOPs, bytes moved)
// every row's GFLOP/s, GB/s and roofline ratio is computed from. Device-free: Node and the page share it.
import { roundToBf16, roundToF16, roundToF32 } from '../src/codec/float.js';
import { INT_MAX, type Problem } from '../src/problem/problem.js';
import { attentionReference } from '../src/reference/attention.js';
import { mulberry32 } from '../src/reference/random.js';

/** Query/KV float dtype of a case (INT8 KV is a storage option, see `kvStorage`). */
export type BenchDtype = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';

/**
 * How K/V are handed to the operator:
 * - dense: one BNSD tensor each;
 * - paged: a (blockNum, blockSize, KV_N·D) cache with a shuffled block table (spare blocks included);
 * - int8: INT8 K/V with per-channel antiquant scales (KV_N, D) in the query dtype.
 */
export type KvStorage = 'dense' | 'paged' | 'int8';

export interface BenchCase {
  id: string;
  /** What the case stands for, one line. */
  title: string;
  kind: 'prefill' | 'decode';
  batch: number;          // B
  numQoHeads: number;     // N
  numKvHeads: number;     // KV_N
  qSeqLen: number;        // Q_S
  kvSeqLen: number;       // KV_S
  headDim: number;        // D
  /** Bottom-right aligned causal mask (Q_S > 1): key j is kept for query i iff j ≤ i + KV_S − Q_S. */
  causal: boolean;
  dtype: BenchDtype;
  kvStorage: KvStorage;
  /** Paged KV only: tokens per block. */
  blockSize?: number;
  /**
   * Sliding window (the named wrapper's extension `slidingWindow`): query i keeps keys j with
   * i + KV_S − Q_S − W < j ≤ i + KV_S − Q_S. Absent: no window.
   */
  slidingWindow?: number;
  /** Selection tags: 'smoke' (the page's and the e2e test's case), 'quick', 'peers', 'gqa-sweep', 'long', 'window', 'multi'. */
  tags: readonly string[];
}

function prefill(id: string, title: string, causal: boolean, dtype: BenchDtype, tags: string[]): BenchCase {
  return {
    id, title, kind: 'prefill', batch: 1, numQoHeads: 8, numKvHeads: 8, qSeqLen: 256, kvSeqLen: 256,
    headDim: 64, causal, dtype, kvStorage: 'dense', tags,
  };
}

function decode(
  id: string, title: string, dtype: BenchDtype, tags: string[], over: Partial<BenchCase> = {},
): BenchCase {
  return {
    id, title, kind: 'decode', batch: 4, numQoHeads: 8, numKvHeads: 2, qSeqLen: 1, kvSeqLen: 1024,
    headDim: 64, causal: false, dtype, kvStorage: 'dense', tags, ...over,
  };
}

/**
 * All cases, smallest first. The peers' shapes keep the ids of the peer harness's cases: prefill_noncausal,
 * prefill_causal, decode_gqa, decode_mha (float32).
 */
export const CASES: readonly BenchCase[] = [
  {
    id: 'smoke', title: 'tiny causal prefill B1 N2 KVN1 S16 D16 (page / e2e check)', kind: 'prefill',
    batch: 1, numQoHeads: 2, numKvHeads: 1, qSeqLen: 16, kvSeqLen: 16, headDim: 16, causal: true,
    dtype: 'FLOAT32', kvStorage: 'dense', tags: ['smoke', 'quick'],
  },
  prefill('prefill_noncausal', 'prefill B1 N8 KVN8 S256 D64', false, 'FLOAT32', ['quick', 'peers']),
  prefill('prefill_causal', 'prefill B1 N8 KVN8 S256 D64, causal', true, 'FLOAT32', ['quick', 'peers']),
  decode('decode_gqa', 'decode B4 N8 KVN2 Skv1024 D64', 'FLOAT32', ['quick', 'peers', 'gqa-sweep']),
  prefill('prefill_noncausal_f16', 'prefill S256 D64, fp16', false, 'FLOAT16', ['fp16']),
  prefill('prefill_causal_f16', 'prefill S256 D64, causal, fp16', true, 'FLOAT16', ['fp16']),
  prefill('prefill_causal_bf16', 'prefill S256 D64, causal, bf16', true, 'BFLOAT16', ['bf16']),
  decode('decode_gqa_f16', 'decode B4 N8 KVN2 Skv1024 D64, fp16', 'FLOAT16', ['fp16', 'multi']),
  // 'multi': a few query tokens (speculative verification: Q_S 4, causal) over the KV of a decode
  // run as KV splits with all query rows of a KV head in one workgroup, so they should cost about
  // one decode (decode_gqa_f16, decode_long_f16), not a prefill.
  decode('decode_q4_f16', 'verify 4 tokens: B4 N8 KVN2 Q_S 4 (causal) Skv1024 D64, fp16', 'FLOAT16', ['multi'],
    { qSeqLen: 4, causal: true }),
  decode('decode_gqa_bf16', 'decode B4 N8 KVN2 Skv1024 D64, bf16', 'BFLOAT16', ['bf16']),
  decode('decode_gqa_f16_paged', 'decode B4 N8 KVN2 Skv1024 D64, fp16, paged KV (block 128)', 'FLOAT16',
    ['paged'], { kvStorage: 'paged', blockSize: 128 }),
  decode('decode_gqa_f16_int8kv', 'decode B4 N8 KVN2 Skv1024 D64, fp16 query, int8 KV (per-channel)', 'FLOAT16',
    ['quant'], { kvStorage: 'int8' }),
  // 'window': a sliding-window decode reads only its window, so it should cost about the plain
  // decode of the window's length, not the full decode of the same KV (decode_long_f16).
  decode('decode_long_f16', 'long-context decode B1 N8 KVN2 Skv16384 D64, fp16', 'FLOAT16', ['long', 'window', 'multi'],
    { batch: 1, kvSeqLen: 16384 }),
  decode('decode_q4_long_f16', 'verify 4 tokens over a long context: B1 N8 KVN2 Q_S 4 (causal) Skv16384 D64, fp16', 'FLOAT16', ['multi'],
    { batch: 1, kvSeqLen: 16384, qSeqLen: 4, causal: true }),
  decode('decode_window_f16', 'sliding-window decode B1 N8 KVN2 Skv16384 D64, window 1024, fp16', 'FLOAT16', ['window'],
    { batch: 1, kvSeqLen: 16384, slidingWindow: 1024 }),
  decode('decode_window_plain_f16', 'decode B1 N8 KVN2 Skv1024 D64, fp16 (the window\'s length, no window)', 'FLOAT16', ['window'],
    { batch: 1, kvSeqLen: 1024 }),
  // 'bytes': one long decode in each K/V storage; its time should follow the bytes it reads
  // (DTYPE_RATIOS below).
  decode('decode_bytes_f32', 'K/V bytes: decode B4 N8 KVN2 Skv8192 D64, f32', 'FLOAT32', ['bytes'], { kvSeqLen: 8192 }),
  decode('decode_bytes_f16', 'K/V bytes: decode B4 N8 KVN2 Skv8192 D64, fp16', 'FLOAT16', ['bytes'], { kvSeqLen: 8192 }),
  decode('decode_bytes_bf16', 'K/V bytes: decode B4 N8 KVN2 Skv8192 D64, bf16', 'BFLOAT16', ['bytes'], { kvSeqLen: 8192 }),
  decode('decode_bytes_int8kv', 'K/V bytes: decode B4 N8 KVN2 Skv8192 D64, fp16 query, int8 KV (per-channel)', 'FLOAT16', ['bytes'],
    { kvSeqLen: 8192, kvStorage: 'int8' }),
  decode('decode_bytes_f16_paged', 'K/V bytes: decode B4 N8 KVN2 Skv8192 D64, fp16, paged KV (block 128)', 'FLOAT16', ['bytes'],
    { kvSeqLen: 8192, kvStorage: 'paged', blockSize: 128 }),
  decode('decode_mha', 'GQA sweep: decode B4 N8 KVN8 (G=1, MHA) Skv1024 D64', 'FLOAT32', ['gqa-sweep', 'peers'], { numKvHeads: 8 }),
  decode('decode_gqa_g2', 'GQA sweep: decode B4 N8 KVN4 (G=2) Skv1024 D64', 'FLOAT32', ['gqa-sweep'], { numKvHeads: 4 }),
  decode('decode_gqa_g8', 'GQA sweep: decode B4 N8 KVN1 (G=8) Skv1024 D64', 'FLOAT32', ['gqa-sweep'], { numKvHeads: 1 }),
];

/**
 * Same-shape pairs whose time ratio (ours, numerator / denominator) shows whether a kernel's time
 * follows the bytes it moves, with the goal for each: FLOAT16/BFLOAT16 K/V at most 0.6 of the
 * FLOAT32 time, INT8 K/V at most 0.45, paged at most 1.15 of dense, low-precision prefill no
 * slower than FLOAT32 (1.0).
 */
export const DTYPE_RATIOS: readonly { name: string; num: string; den: string; goal: number }[] = [
  { name: 'decode f16 / f32 (KV 8192)', num: 'decode_bytes_f16', den: 'decode_bytes_f32', goal: 0.6 },
  { name: 'decode bf16 / f32 (KV 8192)', num: 'decode_bytes_bf16', den: 'decode_bytes_f32', goal: 0.6 },
  { name: 'decode int8 KV / f32 (KV 8192)', num: 'decode_bytes_int8kv', den: 'decode_bytes_f32', goal: 0.45 },
  { name: 'decode paged / dense, f16 (KV 8192)', num: 'decode_bytes_f16_paged', den: 'decode_bytes_f16', goal: 1.15 },
  { name: 'decode f16 / f32 (KV 1024)', num: 'decode_gqa_f16', den: 'decode_gqa', goal: 0.6 },
  { name: 'decode bf16 / f32 (KV 1024)', num: 'decode_gqa_bf16', den: 'decode_gqa', goal: 0.6 },
  { name: 'decode int8 KV / f32 (KV 1024)', num: 'decode_gqa_f16_int8kv', den: 'decode_gqa', goal: 0.45 },
  { name: 'decode paged / dense, f16 (KV 1024)', num: 'decode_gqa_f16_paged', den: 'decode_gqa_f16', goal: 1.15 },
  { name: 'prefill f16 / f32', num: 'prefill_noncausal_f16', den: 'prefill_noncausal', goal: 1 },
  { name: 'prefill f16 / f32, causal', num: 'prefill_causal_f16', den: 'prefill_causal', goal: 1 },
  { name: 'prefill bf16 / f32, causal', num: 'prefill_causal_bf16', den: 'prefill_causal', goal: 1 },
];

/**
 * Cases matching a comma-separated selector: each item is an id, a tag, or a substring of an id
 * ('all' = every case). Order follows CASES; an item matching nothing is an error naming it.
 */
export function selectCases(selector: string, all: readonly BenchCase[] = CASES): BenchCase[] {
  const items = selector.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0 || items.includes('all')) return [...all];
  const picked = new Set<BenchCase>();
  for (const item of items) {
    const exact = all.filter((c) => c.id === item || c.tags.includes(item));
    const hits = exact.length > 0 ? exact : all.filter((c) => c.id.includes(item));
    if (hits.length === 0) {
      throw new Error(`--cases: "${item}" matches no case id or tag (ids: ${all.map((c) => c.id).join(', ')})`);
    }
    hits.forEach((c) => picked.add(c));
  }
  return all.filter((c) => picked.has(c));
}

export const groupSize = (c: BenchCase): number => c.numQoHeads / c.numKvHeads;

/** Bytes of one stored element of the query / output dtype. */
export function dtypeBytes(dtype: BenchDtype): number {
  return dtype === 'FLOAT32' ? 4 : 2;
}

/** Bytes of one stored K/V element. */
export function kvElementBytes(c: BenchCase): number {
  return c.kvStorage === 'int8' ? 1 : dtypeBytes(c.dtype);
}

/** Kept (query, key) pairs: all of them, the causal lower-right triangle, or the sliding window's band. */
export function keptPairs(c: BenchCase): number {
  const W = c.slidingWindow ?? 0;
  if (!c.causal && W === 0) return c.qSeqLen * c.kvSeqLen;
  let kept = 0;
  const offset = c.kvSeqLen - c.qSeqLen;
  for (let i = 0; i < c.qSeqLen; i++) {
    const lo = W > 0 ? Math.max(0, i + offset - W + 1) : 0;
    kept += Math.max(0, Math.min(c.kvSeqLen, i + offset + 1) - lo);
  }
  return kept;
}

/** K/V rows (per batch and KV head) a kernel must read: all, or those inside some query's sliding window. */
export function kvRowsRead(c: BenchCase): number {
  const W = c.slidingWindow ?? 0;
  return W > 0 ? Math.min(c.kvSeqLen, c.qSeqLen + W - 1) : c.kvSeqLen;
}

/**
 * Useful FLOPs: 2·D for Q·Kᵀ plus 2·D for P·V per kept (query, key) pair and query head.
 * With Q_S = KV_S the causal count is S(S+1)/2 pairs, i.e. half (the "counted at half").
 * Softmax exps are not counted (Triton/FlashInfer convention).
 */
export function flopCount(c: BenchCase): number {
  return 4 * c.batch * c.numQoHeads * c.headDim * (c.causal && !c.slidingWindow ? c.qSeqLen * c.kvSeqLen / 2 : keptPairs(c));
}

/**
 * Bytes a perfect kernel must move (each input read once, the output written once):
 *   Q: B·N·Q_S·D·q  +  K, V: 2·B·KV_N·KV_S·D·kv  +  O: B·N·Q_S·D·q
 *   (KV_S: the rows inside a sliding window, kvRowsRead)
 *   + int8: the two per-channel scale tables 2·KV_N·D·q   + paged: the block table B·⌈KV_S/bs⌉·4.
 * Decode GB/s is this over the measured time (GB = 1e9 bytes).
 */
export function bytesMoved(c: BenchCase): number {
  const q = dtypeBytes(c.dtype);
  const qo = 2 * c.batch * c.numQoHeads * c.qSeqLen * c.headDim * q;
  const kv = 2 * c.batch * c.numKvHeads * kvRowsRead(c) * c.headDim * kvElementBytes(c);
  const scales = c.kvStorage === 'int8' ? 2 * c.numKvHeads * c.headDim * q : 0;
  const table = c.kvStorage === 'paged' ? c.batch * Math.ceil(c.kvSeqLen / (c.blockSize ?? 128)) * 4 : 0;
  return qo + kv + scales + table;
}

/** A seeded uniform generator in [−1, 1). */
export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() * 2 - 1;
}

export function roundTo(dtype: BenchDtype): (x: number) => number {
  return dtype === 'FLOAT16' ? roundToF16 : dtype === 'BFLOAT16' ? roundToBf16 : roundToF32;
}

/**
 * One case's inputs as logical values (what the operator computes with), row-major BNSD:
 * q [B, N, Q_S, D], k and v [B, KV_N, KV_S, D]. Values are rounded to the case dtype; for int8 KV,
 * k = kInt8 · kScale[h, d] exactly (the scale already rounded to the query dtype).
 */
export interface CaseInputs {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** int8 KV only: the stored integers (same layout as k / v) and the per-channel scales [KV_N, D]. */
  int8?: { k: Int8Array; v: Int8Array; kScale: Float64Array; vScale: Float64Array };
  scaleValue: number;
}

/** Seeded inputs of `c` (uniform [−1, 1), seed fixed per case id so every runtime sees the same data). */
export function makeInputs(c: BenchCase, seed = 1234): CaseInputs {
  let h = seed;
  for (const ch of c.id) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const next = rng(h);
  const round = roundTo(c.dtype);
  const fill = (n: number): Float64Array => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = round(next());
    return a;
  };
  const q = fill(c.batch * c.numQoHeads * c.qSeqLen * c.headDim);
  const kvCount = c.batch * c.numKvHeads * c.kvSeqLen * c.headDim;
  let k = fill(kvCount);
  let v = fill(kvCount);
  const scaleValue = 1 / Math.sqrt(c.headDim);
  if (c.kvStorage !== 'int8') return { q, k, v, scaleValue };
  const qk = quantizePerChannel(c, k, round);
  const qv = quantizePerChannel(c, v, round);
  k = qk.values;
  v = qv.values;
  return { q, k, v, scaleValue, int8: { k: qk.ints, v: qv.ints, kScale: qk.scale, vScale: qv.scale } };
}

/** Symmetric per-(KV head, d) int8 quantization: scale = round(max|x| / 127), x' = rint(x / scale)·scale. */
function quantizePerChannel(c: BenchCase, x: Float64Array, round: (x: number) => number) {
  const { batch, numKvHeads, kvSeqLen, headDim } = c;
  const scale = new Float64Array(numKvHeads * headDim);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < numKvHeads; h++) {
      for (let s = 0; s < kvSeqLen; s++) {
        const base = ((b * numKvHeads + h) * kvSeqLen + s) * headDim;
        for (let d = 0; d < headDim; d++) {
          scale[h * headDim + d] = Math.max(scale[h * headDim + d]!, Math.abs(x[base + d]!));
        }
      }
    }
  }
  for (let i = 0; i < scale.length; i++) scale[i] = round(Math.max(scale[i]!, 1e-3) / 127);
  const ints = new Int8Array(x.length);
  const values = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / (kvSeqLen * headDim)) % numKvHeads * headDim + (i % headDim);
    const s = scale[ch]!;
    const n = Math.max(-128, Math.min(127, Math.round(x[i]! / s)));
    ints[i] = n;
    values[i] = n * s;
  }
  return { ints, values, scale };
}

/**
 * The operator problem `c` stands for: BNSD dense K/V holding the logical values (int8 KV already
 * dequantized in CaseInputs), causal as sparseMode 3 (the right-down band: key j kept for query i
 * iff j ≤ i + KV_S − Q_S), and the case's sliding window.
 */
function referenceProblem(c: BenchCase, x: CaseInputs): Problem {
  const { batch, qSeqLen, kvSeqLen } = c;
  return {
    isDecode: qSeqLen === 1, layout: 'BNSD', queryLayout: 'BNSD', outLayout: 'BNSD',
    batch, numQoHeads: c.numQoHeads, numKvHeads: c.numKvHeads, groupSize: groupSize(c), headDim: c.headDim,
    qSeqLen, kvSeqLen, scaleValue: x.scaleValue, queryDtype: c.dtype, kvDtype: c.dtype, outDtype: c.dtype,
    qLens: new Array<number>(batch).fill(qSeqLen), kvLens: new Array<number>(batch).fill(kvSeqLen),
    qLeftPadding: false, kvLeftPadding: false, kv: { kind: 'dense', kvLayout: 'BNSD', seqLen: kvSeqLen }, prefix: null,
    mask: null, band: c.causal ? { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 } : null, sparseMode: c.causal ? 3 : 0,
    pse: null, innerPrecise: 1, softmaxLse: false, antiquant: null, int8Attention: null, outQuant: null,
    learnableSink: false, softcap: 0, slidingWindow: c.slidingWindow ?? 0,
  };
}

/**
 * attentionOut [B, N, Q_S, D] of `c` on its logical inputs, from the package's float64 reference
 * (src/reference, the oracle the tests use): query head n reads KV head ⌊n / G⌋; a row with no
 * kept key is 0.
 */
export function sdpaReference(c: BenchCase, x: CaseInputs): Float64Array {
  return attentionReference(referenceProblem(c, x), { query: x.q, key: [x.k], value: [x.v] }).attentionOut;
}

/** Max |a − b| and the tolerance a case's output must meet (f32 math; output rounded to the dtype). */
export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : d;
  }
  return e;
}

/** Tolerance for outputs in `dtype` (values in [−1, 1]): f32 1e-4, fp16 4e-3, bf16 2e-2. */
export function tolerance(c: BenchCase, runnerWritesF32 = false): number {
  if (runnerWritesF32 || c.dtype === 'FLOAT32') return c.kvStorage === 'int8' ? 1e-3 : 1e-4;
  return c.dtype === 'FLOAT16' ? 4e-3 : 2e-2;
}
