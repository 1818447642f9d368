// Per-batch windows: which physical query rows and KV rows are valid (SEMANTICS §2, §7).
import type { HostInputs, Problem } from '../problem/problem.js';

/**
 * Batch b's valid rows. Query rows [qStart, qStart + qLen) of the Q_S physical rows hold the
 * logical rows i = 0..qLen-1; KV rows [kvStart, kvStart + kvLen) hold logical KV positions
 * j = 0..kvLen-1. Logical columns c = 0..prefixLen + kvLen - 1 count the shared prefix first
 * (c < P: prefix row c; else KV position c - P). `valid` false: the left-padding window left
 * [0, S): the whole batch is out 0, lse +Inf.
 */
export interface BatchWindow {
  qStart: number;
  qLen: number;
  kvStart: number;
  kvLen: number;
  prefixLen: number;
  valid: boolean;
}

/** A left-padding pad value as used: negative counts as 0, absent as 0. */
export function padCount(pad: number | undefined): number {
  return Math.max(0, pad ?? 0);
}

/**
 * Window of batch b. Right padding: rows [0, len). Left padding (query: Q_S > 1 only): rows
 * [S - pad - len, S - pad), S = the tensor's row count (query Q_S; dense KV: kv.seqLen).
 */
export function batchWindow(problem: Problem, host: HostInputs, b: number): BatchWindow {
  const qLen = problem.isDecode ? 1 : problem.qLens[b]!;
  const kvLen = problem.kvLens[b]!;
  const qStart = problem.qLeftPadding && !problem.isDecode
    ? problem.qSeqLen - padCount(host.queryPaddingSize) - qLen
    : 0;
  const kvRows = problem.kv.kind === 'dense' ? problem.kv.seqLen : problem.kvSeqLen;
  const kvStart = problem.kvLeftPadding ? kvRows - padCount(host.kvPaddingSize) - kvLen : 0;
  return { qStart, qLen, kvStart, kvLen, prefixLen: problem.prefix?.len ?? 0, valid: qStart >= 0 && kvStart >= 0 };
}
