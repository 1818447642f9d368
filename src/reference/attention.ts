// The whole operator on the CPU in float64: attentionReference(problem, host) (SEMANTICS §1-9).
import type { DataType } from '../codec/dtype.js';
import type { HostInputs, Problem, ReferenceResult } from '../problem/problem.js';
import { type Rounder, rounderFor } from './emulate.js';
import { type GatheredKv, gatherKv, loadQueryRow } from './gather.js';
import { type Dims, elementIndex } from './layout.js';
import { type BatchWindow, batchWindow } from './lengths.js';
import { keptColumns, pseValue } from './mask.js';
import { maskedDeqScale, quantizeOutput } from './quant.js';
import { denseAttentionRow, int8AttentionRow, mergeStatesReference, type RowState, splitKvPartials } from './softmax.js';

export interface ReferenceOptions {
  /**
   * Low-precision emulation for tolerances: round scores (after scale + pse), the exp weights and
   * the normalized output to this dtype (FLOAT16, BFLOAT16, FLOAT32). Absent: exact float64.
   */
  roundTo?: DataType;
  /**
   * Split-KV reference: compute each row as partials over this many contiguous column splits,
   * merged by §11 (1 or absent: one pass). Ignored on the INT8 full-quant path, whose P8
   * quantization needs the row max.
   */
  kvSplits?: number;
}

/** A head's learnable sink as the softmax reads it: −Inf weighs exactly 0, so it is no sink at all. */
function sinkOf(value: number): number | null {
  return value === -Infinity ? null : value;
}

/** The soft cap (extension): s → softcap·tanh(s / softcap); softcap 0 leaves s as it is. */
export function softcapped(s: number, softcap: number): number {
  return softcap > 0 ? softcap * Math.tanh(s / softcap) : s;
}

/**
 * scores Float64 [L] of logical query row i (physical row qStart + i) of (b, n) against the
 * gathered K: s_c = scaleValue·dot(q, k_c) + pse_c (INT8 path: dot · deqScale1' · scaleValue + pse),
 * then the soft cap (extension), rounded by `round`. Masked columns get a score too; `kept`
 * decides whether it is used.
 */
function rowScores(
  problem: Problem, host: HostInputs, b: number, n: number, i: number, win: BatchWindow,
  q: Float64Array, kv: GatheredKv, scoreScale: number, round: Rounder,
): Float64Array {
  const D = problem.headDim;
  const L = kv.present.length;
  const s = new Float64Array(L);
  for (let c = 0; c < L; c++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[d]! * kv.k[c * D + d]!;
    s[c] = round(softcapped(scoreScale * dot + pseValue(problem, host, b, n, i, c, win), problem.softcap));
  }
  return s;
}

/**
 * One row through softmax: INT8 full-quant, split-KV partials + merge, or one dense pass. `sink`:
 * head n's learnable sink (extension), null without one.
 */
function attendRow(
  problem: Problem, host: HostInputs, scores: Float64Array, kept: Uint8Array, v: Float64Array,
  sink: number | null, opts: ReferenceOptions, round: Rounder,
): RowState {
  const D = problem.headDim;
  if (problem.int8Attention) {
    return int8AttentionRow(scores, kept, v, D, host.quantScale1!, maskedDeqScale(host.deqScale2!), round, sink);
  }
  const splits = opts.kvSplits ?? 1;
  if (splits <= 1) return denseAttentionRow(scores, kept, v, D, round, 0, scores.length, sink);
  const parts = splitKvPartials(scores, kept, v, D, splits, round, sink);
  const merged = mergeStatesReference(parts.outs, parts.lses, 1, D);
  return { out: merged.out, lse: merged.lse[0]! };
}

/** The multiplier of dot(q, k): scaleValue, times deqScale1' (bit-masked, §9) on the INT8 path. */
function scoreScaleOf(problem: Problem, host: HostInputs): number {
  return problem.int8Attention ? maskedDeqScale(host.deqScale1!) * problem.scaleValue : problem.scaleValue;
}

/**
 * attentionReference: the operator in float64.
 * Returns attentionOut row-major over the attentionOut shape (`problem.outLayout`: BSH
 * [B,Q_S,N·D], BSND [B,Q_S,N,D], BNSD [B,N,Q_S,D]; INT8 out: the integer values) and
 * softmaxLse [B,N,Q_S] (natural log) when problem.softmaxLse, else null.
 * Conventions: GQA head h = ⌊n / groupSize⌋; masked columns are excluded; a row with no kept
 * column, a query row outside the valid window, or a batch whose padding window leaves [0, S)
 * gives out 0, lse +Inf; with a learnable sink a query row with no kept column (a KV window
 * outside [0, S) included) gives out 0, lse = the sink. An empty query (0 elements) writes
 * nothing: both outputs empty/null.
 */
export function attentionReference(problem: Problem, host: HostInputs, opts: ReferenceOptions = {}): ReferenceResult {
  const { batch: B, numQoHeads: N, qSeqLen: S, headDim: D, groupSize: G } = problem;
  const outDims: Dims = { batch: B, heads: N, seq: S, headDim: D };
  const out = new Float64Array(B * N * S * D);
  if (out.length === 0) return { attentionOut: out, softmaxLse: null };
  const lse = new Float64Array(B * N * S).fill(Infinity);
  const round = rounderFor(opts.roundTo);
  const scoreScale = scoreScaleOf(problem, host);
  for (let b = 0; b < B; b++) {
    const win = batchWindow(problem, host, b);
    if (!win.valid) {
      // Only the KV window left [0, S): the query rows are there and keep no column, so with a
      // learnable sink they are the sink's alone (out 0, lse = sink).
      if (problem.learnableSink && win.qStart >= 0) {
        for (let n = 0; n < N; n++) {
          const sink = sinkOf(host.learnableSink![n]!);
          if (sink !== null) for (let i = 0; i < win.qLen; i++) lse[(b * N + n) * S + win.qStart + i] = sink;
        }
      }
      continue;
    }
    for (let h = 0; h < problem.numKvHeads; h++) {
      const kv = gatherKv(problem, host, b, h, win);
      for (let n = h * G; n < (h + 1) * G; n++) {
        for (let i = 0; i < win.qLen; i++) {
          const row = win.qStart + i;
          const q = loadQueryRow(problem, host, b, n, row);
          const scores = rowScores(problem, host, b, n, i, win, q, kv, scoreScale, round);
          const kept = keptColumns(problem, host, b, i, win, kv.present);
          const sink = problem.learnableSink ? sinkOf(host.learnableSink![n]!) : null;
          const state = attendRow(problem, host, scores, kept, kv.v, sink, opts, round);
          for (let d = 0; d < D; d++) out[elementIndex(problem.outLayout, outDims, b, n, row, d)] = state.out[d]!;
          lse[(b * N + n) * S + row] = state.lse;
        }
      }
    }
  }
  quantizeOutput(out, problem, host);
  return { attentionOut: out, softmaxLse: problem.softmaxLse ? lse : null };
}

/** The split-KV reference: attentionReference with every row computed as `numSplits` partials, then merged (§11). */
export function splitKvReference(problem: Problem, host: HostInputs, numSplits: number, opts: ReferenceOptions = {}): ReferenceResult {
  return attentionReference(problem, host, { ...opts, kvSplits: numSplits });
}
