// Split-KV planning, shared by decode and prefill: a row's KV columns cut into contiguous splits,
// each a workgroup of its own writing a partial state, merged by the combine pass (combine.ts).
// Splits buy parallelism when the grid without them has too few workgroups (decode; prefill of a
// few query rows over a long KV), at the price of the partials and a combine.

/** Fewest KV columns a split gets from the planner (a forced count may go below). */
export const MIN_SPLIT_KEYS = 128;
/** Workgroups that keep an adapter busy; more splits than this only add combine work. */
export const TARGET_WORKGROUPS = 32;

export interface KvSplits {
  numSplits: number;
  /** Columns per split: split s covers [s·splitLen, (s + 1)·splitLen). */
  splitLen: number;
}

export interface KvSplitOptions {
  /** Force the count (tests); still clamped to [1, columns] and to maxSplitLen. */
  forced?: number;
  /** Workgroups the count aims for (default TARGET_WORKGROUPS). */
  target?: number;
  /** The longest split the kernel takes (default: any). */
  maxSplitLen?: number;
  /** splitLen is a multiple of this (prefill: its KV tile, so splits hold whole tiles). */
  align?: number;
}

/** Splits of `columns` KV columns for a grid of `workgroups` workgroups without splits. */
export function kvSplits(columns: number, workgroups: number, opts: KvSplitOptions = {}): KvSplits {
  const cols = Math.max(1, columns);
  const align = Math.max(1, opts.align ?? 1);
  const maxSplitLen = opts.maxSplitLen ?? Infinity;
  const maxSplits = Math.max(1, Math.ceil(cols / MIN_SPLIT_KEYS));
  let numSplits = opts.forced ?? Math.min(maxSplits, Math.ceil((opts.target ?? TARGET_WORKGROUPS) / Math.max(1, workgroups)));
  numSplits = Math.max(numSplits, Math.ceil(cols / maxSplitLen));
  numSplits = Math.max(1, Math.min(numSplits, cols));
  const splitLen = Math.min(Math.ceil(Math.ceil(cols / numSplits) / align) * align, Math.max(1, maxSplitLen));
  return { numSplits: Math.ceil(cols / splitLen), splitLen };
}
