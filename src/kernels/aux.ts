// The aux region: small device-side scalars kernels read, copied from the caller's tensors into
// the workspace in the same command buffer (one binding instead of one per tiny tensor).
import { elementBits } from '../codec/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import type { KernelTensors } from '../problem/tensors.js';
import type { WorkspaceRegion } from './workspace.js';

/**
 * Word slots of the aux array<u32>:
 *   [0..1] queryPaddingSize (int64: low word, high word), 0 when absent
 *   [2..3] kvPaddingSize, likewise
 *   (a padding size is there only while its padding is active: KernelTensors holds no role the
 *   problem ignores, so e.g. queryPaddingSize at Q_S == 1 is never read)
 *   [4]    deqScale1 float32 bits (UINT64: its low word), [5] quantScale1, [6] deqScale2
 * A kernel turns a pad into a count with `auxPad` (shaders/common/aux.wgsl): negative → 0,
 * ≥ 2^31 → 2^31 - 1 (the window then leaves [0, S) and the batch is treated as invalid).
 */
export const AUX_SLOTS = { queryPad: 0, kvPad: 2, deqScale1: 4, quantScale1: 5, deqScale2: 6 } as const;
export const AUX_BYTES = 32;

/** Records the copies that fill the aux region (clear, then copy each present scalar). */
export function encodeAuxCopies(encoder: GPUCommandEncoder, tensors: KernelTensors, buffer: GPUBuffer, aux: WorkspaceRegion): void {
  encoder.clearBuffer(buffer, aux.offset, aux.size);
  const copy = (t: Tensor | null, slot: number, bytes: number): void => {
    if (t) encoder.copyBufferToBuffer(t.buffer, (t.offset * elementBits(t.dtype)) / 8, buffer, aux.offset + slot * 4, bytes);
  };
  copy(tensors.queryPad, AUX_SLOTS.queryPad, 8);
  copy(tensors.kvPad, AUX_SLOTS.kvPad, 8);
  copy(tensors.deqScale1, AUX_SLOTS.deqScale1, 4);
  copy(tensors.quantScale1, AUX_SLOTS.quantScale1, 4);
  copy(tensors.deqScale2, AUX_SLOTS.deqScale2, 4);
}
