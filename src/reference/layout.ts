// Element addressing of stored tensors, per layout letters (SEMANTICS §2). Kept separate from
// src/fia so the reference shares nothing with the kernels' side beyond Problem and codec.
import type { StorageLayout } from '../problem/problem.js';

/** Axes of a stored tensor: B, N (heads), S (rows), D (head dim; BSH: H = N·D). */
export interface Dims {
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
}

/**
 * Row-major element index of (b, n, s, d) in a contiguous tensor stored in `layout`:
 *   BSH  [B, S, N·D]    BSND [B, S, N, D]    → ((b·S + s)·N + n)·D + d
 *   BNSD [B, N, S, D]                         → ((b·N + n)·S + s)·D + d
 */
export function elementIndex(layout: StorageLayout, dims: Dims, b: number, n: number, s: number, d: number): number {
  const { heads: N, seq: S, headDim: D } = dims;
  if (layout === 'BNSD') return ((b * N + n) * S + s) * D + d;
  return ((b * S + s) * N + n) * D + d;
}

/** The shape of a stored tensor with these axes. */
export function shapeOf(layout: StorageLayout, dims: Dims): number[] {
  const { batch: B, heads: N, seq: S, headDim: D } = dims;
  if (layout === 'BSH') return [B, S, N * D];
  if (layout === 'BSND') return [B, S, N, D];
  return [B, N, S, D];
}
