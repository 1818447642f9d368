// Dequantization of INT8/INT4 K/V (SEMANTICS §8) and the INT8 quantization rules (§9).
import { f32Bits } from '../codec/float.js';
import { deqScaleValue, quantizeInt8 } from '../codec/int.js';
import type { Antiquant, HostInputs, ParamIndex, Problem } from '../problem/problem.js';
import { type Dims, elementIndex } from './layout.js';

/**
 * Element index of a parameter tensor (ParamIndex in problem.ts):
 *   base + b·batch + h·head + t·token + d·dim
 * For the paged per-token modes (4, 5) pass the block id as b and the slot as t.
 */
export function paramIndex(ix: ParamIndex, b: number, h: number, t: number, d: number): number {
  return ix.base + b * ix.batch + h * ix.head + t * ix.token + d * ix.dim;
}

/** Where one dequantized element sits: KV head h, head-dim index d, per-token position (b, t). */
export interface DequantAt {
  /** Batch, or (pagedToken) the block id. */
  b: number;
  h: number;
  /** Per-token position: physical KV row in the scale row (prefix first), or (pagedToken) the slot. */
  t: number;
  d: number;
}

/** x = (q + offset) · scale (offset absent → 0: symmetric). */
export function dequant(aq: Antiquant, host: HostInputs, raw: number, at: DequantAt): number {
  const i = paramIndex(aq.index, at.b, at.h, at.t, at.d);
  const scale = host[aq.scale as keyof HostInputs] as Float64Array;
  const offset = aq.offset ? (host[aq.offset as keyof HostInputs] as Float64Array)[i]! : 0;
  return (raw + offset) * scale[i]!;
}

/** A deqScale as the hardware reads it: the float32 bits with bits 12..0 cleared (& 0xFFFFE000, §9). */
export function maskedDeqScale(scale: number): number {
  return deqScaleValue(f32Bits(scale));
}

/**
 * INT8 output quantization (§9), in place over attentionOut (row-major in `problem.outLayout`):
 *   out8 = sat[-128,127](rint(o · quantScale2[c] + quantOffset2[c])), c = n·D + d per-channel, else 0.
 * Every element is quantized, so an empty/invalid row (o = 0) becomes sat(rint(quantOffset2[c])).
 */
export function quantizeOutput(out: Float64Array, problem: Problem, host: HostInputs): Float64Array {
  const q = problem.outQuant;
  if (!q) return out;
  const scale = host.quantScale2!;
  const offset = q.hasOffset ? host.quantOffset2! : null;
  const { batch: B, numQoHeads: N, qSeqLen: S, headDim: D } = problem;
  const dims: Dims = { batch: B, heads: N, seq: S, headDim: D };
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        for (let d = 0; d < D; d++) {
          const c = q.perChannel ? n * D + d : 0;
          const i = elementIndex(problem.outLayout, dims, b, n, s, d);
          out[i] = quantizeInt8(out[i]! * scale[c]! + (offset ? offset[c]! : 0));
        }
      }
    }
  }
  return out;
}
