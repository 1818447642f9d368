// The kept-column predicate (SEMANTICS §3-4, MaskView/Band in problem.ts) and pseShift (§5).
// Host copies are row-major over the tensor's shape with the view offset already applied
// (HostInputs), so the views' `offset` (a device-buffer offset) is not added here; their strides
// equal row-major strides because validation requires a contiguous mask and pse (0 = broadcast).
import type { HostInputs, Problem } from '../problem/problem.js';
import type { BatchWindow } from './lengths.js';

/**
 * The band's anchor offset of batch b: 0 for 'topLeft', o_b = (Skv_b + P) - Sq_b for 'rightDown'.
 */
export function anchorOffset(problem: Problem, win: BatchWindow): number {
  if (!problem.band || problem.band.anchor === 'topLeft') return 0;
  return win.prefixLen + win.kvLen - win.qLen;
}

/**
 * attenMask byte for logical row i, logical column c of batch b, indexed by physical row
 * (qStart + i; decode: row stride 0) and physical column (kvStart + c; prefix columns first).
 * Returns true when the mask keeps the column (byte 0) or there is no mask.
 */
export function maskKeeps(problem: Problem, host: HostInputs, b: number, i: number, c: number, win: BatchWindow): boolean {
  const m = problem.mask;
  if (!m) return true;
  const idx = b * m.batchStride + (win.qStart + i) * m.rowStride + (win.kvStart + c) * m.colStride;
  return host.attenMask![idx] === 0;
}

/** Band rule on logical indices: -preTokens ≤ c - (i + anchor) ≤ nextTokens; no band keeps all. */
export function bandKeeps(problem: Problem, i: number, c: number, anchor: number): boolean {
  const band = problem.band;
  if (!band) return true;
  const delta = c - (i + anchor);
  return -band.preTokens <= delta && delta <= band.nextTokens;
}

/**
 * Sliding window (extension) on logical indices: p − W < c ≤ p with p = i + (P + Skv_b) − Sq_b,
 * the row's position aligned to the end of its KV (decode: Sq_b = 1, p = P + Skv_b − 1); W 0 keeps all.
 */
export function windowKeeps(problem: Problem, i: number, c: number, win: BatchWindow): boolean {
  const W = problem.slidingWindow;
  if (W === 0) return true;
  const p = i + win.prefixLen + win.kvLen - win.qLen;
  return p - W < c && c <= p;
}

/**
 * keptColumns: Uint8 [L] (L = P + Skv_b) for logical query row i of batch b: 1 where
 * mask rule ∧ band rule ∧ sliding window ∧ the column could be read (present: paged block id
 * valid). The bound c < P + Skv_b is implicit in L.
 */
export function keptColumns(problem: Problem, host: HostInputs, b: number, i: number, win: BatchWindow, present: Uint8Array): Uint8Array {
  const L = win.prefixLen + win.kvLen;
  const kept = new Uint8Array(L);
  const anchor = anchorOffset(problem, win);
  for (let c = 0; c < L; c++) {
    kept[c] = present[c] && maskKeeps(problem, host, b, i, c, win) && bandKeeps(problem, i, c, anchor) && windowKeeps(problem, i, c, win) ? 1 : 0;
  }
  return kept;
}

/** pseShift[b, n, physical row, physical column] (0 without pse), same physical indexing as the mask. */
export function pseValue(problem: Problem, host: HostInputs, b: number, n: number, i: number, c: number, win: BatchWindow): number {
  const p = problem.pse;
  if (!p) return 0;
  const idx = b * p.batchStride + n * p.headStride + (win.qStart + i) * p.rowStride + (win.kvStart + c) * p.colStride;
  return host.pseShift![idx]!;
}
