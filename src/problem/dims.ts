// Reading B, N, S, D out of tensor shapes per layout: the one place that knows where each axis is.
import type { Tensor } from '../acl/tensor.js';
import { kvElementDtype, kvElementsPerStored } from '../codec/dtype.js';
import type { Layout, StorageLayout } from './problem.js';

const LAYOUTS: readonly Layout[] = ['BSH', 'BSND', 'BNSD', 'BNSD_BSND'];

export function isLayout(s: unknown): s is Layout {
  return typeof s === 'string' && (LAYOUTS as readonly string[]).includes(s);
}

/** The layout query, key and value are stored in (BNSD_BSND reads BNSD). */
export function inputStorage(layout: Layout): StorageLayout {
  return layout === 'BNSD_BSND' ? 'BNSD' : layout;
}

/** The layout attentionOut is written in (BNSD_BSND writes BSND). */
export function outputStorage(layout: Layout): StorageLayout {
  return layout === 'BNSD_BSND' ? 'BSND' : layout;
}

export function rankOf(layout: StorageLayout): number {
  return layout === 'BSH' ? 3 : 4;
}

/** B, S, N and D of a stored tensor (D unpacked: INT4 counts int4 elements). */
export interface Axes {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
}

/**
 * Axes of a stored tensor. BSH has no N axis: `heads` is the caller's head count and D = H / heads.
 * INT4 packed in INT32 counts words in the last dim: pass `elementsPerLastDim` 8 (`lastDimFactor`).
 */
export function axesOf(shape: readonly number[], layout: StorageLayout, heads: number, elementsPerLastDim = 1): Axes {
  if (layout === 'BSH') {
    const hidden = shape[2]! * elementsPerLastDim;
    return { batch: shape[0]!, seq: shape[1]!, heads, headDim: heads > 0 ? hidden / heads : 0 };
  }
  if (layout === 'BSND') {
    return { batch: shape[0]!, seq: shape[1]!, heads: shape[2]!, headDim: shape[3]! * elementsPerLastDim };
  }
  return { batch: shape[0]!, heads: shape[1]!, seq: shape[2]!, headDim: shape[3]! * elementsPerLastDim };
}

/** The shape of a stored tensor with these axes. */
export function shapeOf(layout: StorageLayout, a: Axes): number[] {
  switch (layout) {
    case 'BSH': return [a.batch, a.seq, a.heads * a.headDim];
    case 'BSND': return [a.batch, a.seq, a.heads, a.headDim];
    case 'BNSD': return [a.batch, a.heads, a.seq, a.headDim];
  }
}

/**
 * Element strides (batch, head, seq, dim) of a contiguous tensor stored in `layout` with these
 * axes: element (b, n, s, d) is at b·batch + n·head + s·seq + d·dim.
 */
export function stridesOf(layout: StorageLayout, a: Axes): AxisStrides {
  const { seq: S, heads: N, headDim: D } = a;
  switch (layout) {
    case 'BSH': case 'BSND': return { batch: S * N * D, seq: N * D, head: D, dim: 1 };
    case 'BNSD': return { batch: N * S * D, head: S * D, seq: D, dim: 1 };
  }
}

/** Element strides per axis: element (b, n, s, d) is at b·batch + n·head + s·seq + d·dim. */
export interface AxisStrides { batch: number; head: number; seq: number; dim: number }

/** The axis strides of a stored tensor (its own strides) in `layout`, with heads of `headDim` elements. */
export function axisStrides(t: Pick<Tensor, 'strides'>, layout: StorageLayout, headDim: number): AxisStrides {
  const s = t.strides;
  switch (layout) {
    case 'BSH': return { batch: s[0]!, seq: s[1]!, head: headDim * s[2]!, dim: s[2]! };
    case 'BSND': return { batch: s[0]!, seq: s[1]!, head: s[2]!, dim: s[3]! };
    case 'BNSD': return { batch: s[0]!, head: s[1]!, seq: s[2]!, dim: s[3]! };
  }
}

/** True when a K/V tensor holds int4 values (INT32 words each packing 8, or INT4). */
export function isPackedInt4(t: Tensor | null | undefined): boolean {
  return !!t && kvElementDtype(t.dtype) === 'INT4';
}

/** Elements per last-dim entry of a K/V tensor: 8 for INT32-packed INT4, else 1. */
export function lastDimFactor(t: Tensor): number {
  return kvElementsPerStored(t.dtype);
}
