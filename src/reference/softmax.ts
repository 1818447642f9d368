// One query row's softmax and P·V (SEMANTICS §1, §9), the log-sum-exp merge of partial states
// (§11) and the split-KV reference ("partials, then merge", STYLE §7).
import { quantizeInt8 } from '../codec/int.js';
import { exact, type Rounder } from './emulate.js';

/** One row's result: out Float64 [D], lse = m + ln l (natural log; +Inf for a row with no kept column). */
export interface RowState {
  out: Float64Array;
  lse: number;
}

/** The empty state: out 0, lse +Inf (§1 row-invalid rule; contributes nothing to a merge, §11). */
export function emptyRow(headDim: number): RowState {
  return { out: new Float64Array(headDim), lse: Infinity };
}

/**
 * The row max over the kept columns of [from, to), the learnable sink included (extension:
 * `sink` non-null); null when there is neither a kept column nor a sink. A NaN anywhere makes the
 * row's weights NaN whatever m holds.
 */
function rowMax(scores: Float64Array, kept: Uint8Array, from: number, to: number, sink: number | null): number | null {
  let m = sink ?? -Infinity;
  let any = sink !== null;
  for (let c = from; c < to; c++) {
    if (kept[c]) { any = true; if (!(scores[c]! <= m)) m = scores[c]!; }
  }
  return any ? m : null;
}

/**
 * denseAttentionRow over the columns [from, to) of one query row.
 *   scores Float64 [L]: s_c = scale·q·k_c + pse_c (already final; masked columns are ignored)
 *   kept   Uint8 [L]: 1 = kept (masked columns are excluded, never filled with a constant)
 *   v      Float64 [L, D]
 *   sink   the learnable sink logit (extension), or null: one more term of the denominator
 * m = max(max kept s, sink), e_c = exp(s_c - m), l = Σ e_c + exp(sink - m),
 * out = Σ e_c·v_c / l, lse = m + ln l.
 * No kept column in range and no sink: out 0, lse +Inf (with a sink: out 0, lse = sink).
 * `round` emulates storage precision on e_c and out.
 */
export function denseAttentionRow(
  scores: Float64Array, kept: Uint8Array, v: Float64Array, headDim: number,
  round: Rounder = exact, from = 0, to = scores.length, sink: number | null = null,
): RowState {
  const m = rowMax(scores, kept, from, to, sink);
  if (m === null) return emptyRow(headDim);
  const acc = new Float64Array(headDim);
  let l = sink === null ? 0 : round(Math.exp(sink - m));
  for (let c = from; c < to; c++) {
    if (!kept[c]) continue;
    const e = round(Math.exp(scores[c]! - m));
    l += e;
    for (let d = 0; d < headDim; d++) acc[d] = acc[d]! + e * v[c * headDim + d]!;
  }
  const out = new Float64Array(headDim);
  for (let d = 0; d < headDim; d++) out[d] = round(acc[d]! / l);
  return { out, lse: m + Math.log(l) };
}

/**
 * The INT8 full-quant row (§9). scores = int32 dot · deqScale1' · scaleValue + pse (kept only).
 *   e_c = exp(s_c - m), l = Σ e_c, P8_c = sat[-128,127](rint(e_c · quantScale1)) ∈ [0, 127],
 *   out = (Σ P8_c · v_c) · deqScale2' / l, lse = m + ln l.
 * v holds the INT8 values. No kept column: out 0, lse +Inf. A learnable sink (extension) joins m
 * and l as in denseAttentionRow (it has no value, so no P8).
 */
export function int8AttentionRow(
  scores: Float64Array, kept: Uint8Array, v: Float64Array, headDim: number,
  quantScale1: number, deqScale2: number, round: Rounder = exact, sink: number | null = null,
): RowState {
  const m = rowMax(scores, kept, 0, scores.length, sink);
  if (m === null) return emptyRow(headDim);
  const acc = new Float64Array(headDim);
  let l = sink === null ? 0 : Math.exp(sink - m);
  for (let c = 0; c < scores.length; c++) {
    if (!kept[c]) continue;
    const e = Math.exp(scores[c]! - m);
    l += e;
    const p8 = quantizeInt8(e * quantScale1);
    for (let d = 0; d < headDim; d++) acc[d] = acc[d]! + p8 * v[c * headDim + d]!;
  }
  const out = new Float64Array(headDim);
  for (let d = 0; d < headDim; d++) out[d] = round((acc[d]! * deqScale2) / l);
  return { out, lse: m + Math.log(l) };
}

/**
 * mergeStatesReference (§11): K partial states of `rows` query rows over disjoint key sets.
 *   outs[k] Float64 [rows, headDim], lses[k] Float64 [rows]
 * Per row: m = max_k lse_k, w_k = exp(lse_k - m), out = Σ w_k·o_k / Σ w_k, lse = m + ln Σ w_k.
 * A partial with lse = +Inf (empty) contributes nothing, nor does one with lse = −Inf (no mass:
 * w = 0); all such → out 0, lse +Inf.
 */
export function mergeStatesReference(
  outs: Float64Array[], lses: Float64Array[], rows: number, headDim: number,
): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(rows * headDim);
  const lse = new Float64Array(rows).fill(Infinity);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (const l of lses) if (l[r]! !== Infinity && l[r]! > m) m = l[r]!;
    if (m === -Infinity) continue;
    let sum = 0;
    for (let k = 0; k < lses.length; k++) {
      const l = lses[k]![r]!;
      if (l === Infinity) continue;
      const w = Math.exp(l - m);
      sum += w;
      for (let d = 0; d < headDim; d++) out[r * headDim + d] = out[r * headDim + d]! + w * outs[k]![r * headDim + d]!;
    }
    for (let d = 0; d < headDim; d++) out[r * headDim + d] = out[r * headDim + d]! / sum;
    lse[r] = m + Math.log(sum);
  }
  return { out, lse };
}

/**
 * splitKvPartials: one row's partial states over `numSplits` contiguous column splits of
 * ⌈L / numSplits⌉ columns (the last ones may be short or empty: out 0, lse +Inf).
 * A learnable sink (extension) joins the first partial only, so the merge counts it once.
 * Returns outs[k] Float64 [1, D] and lses[k] Float64 [1], ready for mergeStatesReference.
 */
export function splitKvPartials(
  scores: Float64Array, kept: Uint8Array, v: Float64Array, headDim: number, numSplits: number,
  round: Rounder = exact, sink: number | null = null,
): { outs: Float64Array[]; lses: Float64Array[] } {
  const L = scores.length;
  const chunk = Math.max(1, Math.ceil(L / numSplits));
  const outs: Float64Array[] = [];
  const lses: Float64Array[] = [];
  for (let k = 0; k < numSplits; k++) {
    const from = Math.min(L, k * chunk);
    const to = Math.min(L, from + chunk);
    const part = denseAttentionRow(scores, kept, v, headDim, round, from, to, k === 0 ? sink : null);
    outs.push(part.out);
    lses.push(Float64Array.of(part.lse));
  }
  return { outs, lses };
}
