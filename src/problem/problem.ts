// The one normalized `Problem` that validation builds and planning, the kernels and the CPU
// reference all read (docs/design.md, "Host layer"), and the operator's inputs it comes from.
import type { DataType } from '../codec/dtype.js';
import type { TensorParam } from './params.js';

export type Layout = 'BSH' | 'BSND' | 'BNSD' | 'BNSD_BSND';
/** The layout of a stored tensor (BNSD_BSND reads BNSD and writes BSND). */
export type StorageLayout = 'BSH' | 'BSND' | 'BNSD';

// The operator's inputs are defined with their table in params.ts; they are read from here too.
export { type FiaExtensions, type FiaInputs, INT_MAX, type TensorParam } from './params.js';

/**
 * Affine element index into a parameter tensor (all parameter tensors are contiguous), counted
 * from the tensor's first element (kernels add the tensor's storage offset themselves):
 *   index = base + b·batch + h·head + t·token + d·dim            (t: per-token position, §8)
 * For the paged per-token modes (4, 5) `b` is the block id from the block table and `t` the slot:
 *   index = base + blockId·batch + h·head + slot·token
 * A stride of 0 broadcasts that axis. `h` is the KV head; `d` runs over the unpacked head dim.
 */
export interface ParamIndex {
  base: number;
  batch: number;
  head: number;
  token: number;
  dim: number;
}

/** How one of K or V is dequantized: x = (q + offset) · scale (SEMANTICS §8). */
export interface Antiquant {
  /** The doc's mode number (combined params: antiquantMode 0 → 0, 1 → 1). */
  mode: 0 | 1 | 2 | 3 | 4 | 5;
  scale: TensorParam;
  /** Absent: symmetric (offset 0). Indexed exactly like `scale`. */
  offset: TensorParam | null;
  dtype: DataType;
  index: ParamIndex;
  /** Modes 4 and 5: `b` in the index is the block id, `t` the slot within the block. */
  pagedToken: boolean;
}

/**
 * Where the kept-column predicate comes from (SEMANTICS §3-4). A column j of logical row i of
 * batch b is kept iff:
 *   (mask == null || mask[b][physRow(i)][physCol(j)] == 0)
 *   ∧ (band == null || -preTokens ≤ j - (i + anchorOffset_b) ≤ nextTokens)
 *   ∧ j < P + Skv_b
 * with anchorOffset_b = 0 for 'topLeft' and o_b = (Skv_b + P) - Sq_b for 'rightDown'.
 */
export interface MaskView {
  source: 'attenMask';
  // `offset` is the tensor's storage offset: kernels add it; host arrays already start at element 0.
  dtype: DataType;
  /** Element strides (0 broadcasts): batch, query row, key column. Decode: row stride 0. */
  batchStride: number;
  rowStride: number;
  colStride: number;
  offset: number;
}

export interface Band {
  anchor: 'topLeft' | 'rightDown';
  /** Clamped to ±INT_MAX. */
  preTokens: number;
  nextTokens: number;
}

/** pseShift (B or 1, N, rows, cols), added after scaling; element strides, batch stride 0 when dim 0 is 1. */
export interface PseView {
  source: 'pseShift';
  // `offset`: as in MaskView.
  dtype: DataType;
  batchStride: number;
  headStride: number;
  rowStride: number;
  colStride: number;
  offset: number;
}

/**
 * How K/V are stored.
 * - dense: key/value are one tensor each in `kvLayout` with `seqLen` = KV_S rows per batch.
 * - list: key/value are B tensors of batch 1 (tensor b serves batch b), `seqLens[b]` rows each.
 * - paged: a cache addressed through blockTable (SEMANTICS §6). 'BSH' cache = (blockNum, blockSize,
 *   KV_N·D); 'BNSD' cache = (blockNum, KV_N, blockSize, D).
 */
export type KvStorage =
  | { kind: 'dense'; kvLayout: StorageLayout; seqLen: number }
  | { kind: 'list'; kvLayout: StorageLayout; seqLens: number[] }
  | { kind: 'paged'; cacheLayout: 'BSH' | 'BNSD'; blockSize: number; maxBlocksPerSeq: number; numBlocks: number };

export interface Problem {
  /** Q_S == 1: the IncreFlashAttention branch. */
  isDecode: boolean;
  layout: Layout;
  /** Layout of query (BNSD for BNSD_BSND). */
  queryLayout: StorageLayout;
  /** Layout of attentionOut (BSND for BNSD_BSND). */
  outLayout: StorageLayout;
  batch: number;          // B
  numQoHeads: number;     // N
  numKvHeads: number;     // KV_N
  groupSize: number;      // G = N / KV_N
  headDim: number;        // D (unpacked: INT4 counts int4 elements)
  qSeqLen: number;        // Q_S
  /** KV_S: dense: the key S; list: the largest entry S; paged: maxBlocksPerSeq·blockSize. */
  kvSeqLen: number;
  scaleValue: number;

  queryDtype: DataType;   // FLOAT16 | BFLOAT16 | FLOAT32 | INT8
  /** FLOAT16 | BFLOAT16 | FLOAT32 | INT8 | INT4 (INT32 words holding 8 int4 each). */
  kvDtype: DataType;
  outDtype: DataType;     // FLOAT16 | BFLOAT16 | FLOAT32 | INT8

  /** Sq_b per batch (decode: 1). */
  qLens: number[];
  /** Skv_b per batch, without the prefix. */
  kvLens: number[];
  /** Left padding active: the pad count is read on the device from queryPaddingSize / kvPaddingSize. */
  qLeftPadding: boolean;
  kvLeftPadding: boolean;

  kv: KvStorage;
  /** Shared prefix: P = `len` rows of keySharedPrefix/valueSharedPrefix (stored with `seqLen` rows, batch 1, KV layout). */
  prefix: { len: number; seqLen: number } | null;

  mask: MaskView | null;
  band: Band | null;
  /** The doc's sparseMode as given (Q_S > 1), 0 for decode; the predicate is `mask` + `band`. */
  sparseMode: number;
  pse: PseView | null;
  innerPrecise: number;
  softmaxLse: boolean;

  /** FLOAT16/BFLOAT16 query with INT8/INT4 K/V. */
  antiquant: { key: Antiquant; value: Antiquant } | null;
  /** INT8 query, key and value (Q_S > 1 only, SEMANTICS §9). Scales are device tensors deqScale1, quantScale1, deqScale2. */
  int8Attention: { deqScale1Dtype: DataType; deqScale2Dtype: DataType } | null;
  /** INT8 attentionOut: out8 = sat(rint(o·scale + offset)); per-channel index n·D + d. */
  outQuant: { perChannel: boolean; dtype: DataType; hasOffset: boolean } | null;

  // Extensions beyond the operator (docs/semantics.md, "Extensions beyond the operator").
  /** A learnable sink logit per query head (the kernel tensors' `sink`, FLOAT32 [N]). */
  learnableSink: boolean;
  /** Scores become softcap·tanh(s / softcap) after scaling and pseShift; 0: off. */
  softcap: number;
  /**
   * Sliding window W (0: off): logical row i of batch b keeps only columns j with
   * p − W < j ≤ p, p = i + (P + Skv_b) − Sq_b (decode: p = P + Skv_b − 1), on top of mask and band.
   */
  slidingWindow: number;
}

/**
 * Host copies of the device tensors, decoded to logical values, row-major over each tensor's
 * shape (strides and offset already applied). INT32-packed INT4 key/value/prefix tensors are
 * given unpacked: the last dim ×8, int4 values −8..7. This is what the CPU reference reads.
 */
export interface HostInputs {
  query: Float64Array;
  key: Float64Array[];
  value: Float64Array[];
  pseShift?: Float64Array;
  attenMask?: Float64Array;
  /** deqScale1/deqScale2 as the float scale (UINT64: from the low word), before the bit-mask of §9. */
  deqScale1?: number;
  quantScale1?: number;
  deqScale2?: number;
  quantScale2?: Float64Array;
  quantOffset2?: Float64Array;
  antiquantScale?: Float64Array;
  antiquantOffset?: Float64Array;
  keyAntiquantScale?: Float64Array;
  keyAntiquantOffset?: Float64Array;
  valueAntiquantScale?: Float64Array;
  valueAntiquantOffset?: Float64Array;
  blockTable?: Int32Array;
  queryPaddingSize?: number;
  kvPaddingSize?: number;
  keySharedPrefix?: Float64Array;
  valueSharedPrefix?: Float64Array;
  /** The learnable sink [N] (extensions.learnableSink). */
  learnableSink?: Float64Array;
}

/** The reference's result: attentionOut row-major over its shape (INT8 out: integer values), lse [B,N,Q_S]. */
export interface ReferenceResult {
  attentionOut: Float64Array;
  softmaxLse: Float64Array | null;
}
