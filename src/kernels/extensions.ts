// Extensions beyond the operator (docs/semantics.md): what the prefill and decode kernels share
// for the logit soft cap and the learnable sink (their WGSL: shaders/common/extensions.wgsl).
import type { Problem } from '../problem/problem.js';

const F32_MIN_NORMAL = 2 ** -126;
const F32_MAX = 3.4028234663852886e38;

/** The kernels' uniform fields of the extensions (capScore, foldSink's sinkLogit slot). */
export const EXTENSION_UNIFORM_FIELDS = { softcap: 'f32', softcapClamp: 'f32', sinkSlot: 'u32' } as const;

/** The soft cap the kernels can apply: off, or a cap in f32's normal range; else the reason. */
export function softcapUnsupported(problem: Problem): string | null {
  const cap = Math.fround(problem.softcap);
  return problem.softcap > 0 && !(cap >= F32_MIN_NORMAL && cap <= F32_MAX) ? `softcap ${problem.softcap} outside f32's normal range` : null;
}

/** The uniform values of EXTENSION_UNIFORM_FIELDS; `sinkSlot`: the sink's first word in the kernel's aux/meta region. */
export function extensionUniforms(problem: Problem, sinkSlot: number): { softcap: number; softcapClamp: number; sinkSlot: number } {
  return { softcap: problem.softcap, softcapClamp: Math.min(10 * problem.softcap, F32_MAX), sinkSlot };
}

/** Records the copy of the learnable sink's N logits to word `slot` of the region at `regionOffset` of `ws`. */
export function encodeSinkCopy(encoder: GPUCommandEncoder, sink: { buffer: GPUBuffer; offset: number } | null, ws: GPUBuffer,
  regionOffset: number, slot: number, heads: number): void {
  if (sink) encoder.copyBufferToBuffer(sink.buffer, sink.offset * 4, ws, regionOffset + slot * 4, heads * 4);
}
