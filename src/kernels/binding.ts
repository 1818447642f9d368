// Binding caller tensors: a kernel binds only the byte range a tensor's elements occupy, from a
// start aligned down to BINDING_ALIGN (minStorageBufferOffsetAlignment is at most 256), never the
// whole buffer, so a small tensor inside a large buffer fits the device's
// maxStorageBufferBindingSize. The kernel then addresses the tensor through a rebased element
// offset (its offset from the binding's start), passed in the uniforms as before.
import { elementBits } from '../codec/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import type { KernelTensors } from '../problem/tensors.js';
import { BINDING_ALIGN } from './workspace.js';

/** The byte range a kernel binds for `t`, and `t`'s element offset from that range's start. */
export interface TensorRange {
  /** Byte offset of the binding: the first byte of `t`, aligned down to BINDING_ALIGN. */
  offset: number;
  /** Bytes bound: up to the word-padded end of `t`'s last element (a multiple of 4, at least 4). */
  size: number;
  /** `t.offset` rebased onto the binding (elements of `t.dtype`). */
  elementOffset: number;
}

export function tensorRange(t: Pick<Tensor, 'shape' | 'strides' | 'offset' | 'dtype'>): TensorRange {
  const bits = elementBits(t.dtype);
  const first = Math.floor((t.offset * bits) / 8);
  const offset = Math.floor(first / BINDING_ALIGN) * BINDING_ALIGN;
  const empty = t.shape.some((d) => d === 0);
  const last = t.offset + (empty ? 0 : t.shape.reduce((acc, d, i) => acc + (d - 1) * t.strides[i]!, 0));
  const end = Math.ceil(((last + 1) * bits) / 32) * 4;
  // BINDING_ALIGN bytes hold a whole number of elements of every dtype (4 to 64 bits).
  return { offset, size: Math.max(4, end - offset), elementOffset: t.offset - (offset * 8) / bits };
}

const bindings = new WeakMap<Tensor, GPUBufferBinding>();

/** `t` rebased onto the binding of its byte range (see tensorBinding). */
export function rebaseTensor(t: Tensor): Tensor {
  const r = tensorRange(t);
  const rebased: Tensor = { ...t, offset: r.elementOffset };
  bindings.set(rebased, { buffer: t.buffer, offset: r.offset, size: r.size });
  return rebased;
}

/** The binding of a tensor from rebaseTensor / rebaseTensors (its byte range); else the whole buffer. */
export function tensorBinding(t: Tensor): GPUBufferBinding {
  return bindings.get(t) ?? { buffer: t.buffer };
}

/**
 * The tensors with every one rebased onto its own byte range: what kernels bind and whose offsets
 * they pass as uniforms. Copies into the workspace (aux scalars, KV-source copies) read the
 * caller's buffers directly and take the tensors as given.
 */
export function rebaseTensors(t: KernelTensors): KernelTensors {
  const out: Record<string, unknown> = {};
  for (const [role, v] of Object.entries(t)) {
    out[role] = Array.isArray(v) ? v.map(rebaseTensor) : v ? rebaseTensor(v as Tensor) : null;
  }
  return out as unknown as KernelTensors;
}

/** An element offset into `original`'s buffer (e.g. a normalized mask offset) moved onto `rebasedTensor`'s binding. */
export function rebased(elementOffset: number, original: Tensor, rebasedTensor: Tensor): number {
  return elementOffset - (original.offset - rebasedTensor.offset);
}

/**
 * A binding of elements [lo, hi) of `t`'s buffer (element indices in `t.dtype` units), for a
 * dispatch that reads only those, and `t.offset` rebased onto it. The rebased offset may be
 * negative: the kernel adds it in u32 arithmetic, which wraps, so pass it as is (the uniform
 * packer stores it modulo 2^32) and every index the kernel forms lands in [lo, hi) again.
 */
export function elementRangeBinding(t: Tensor, lo: number, hi: number): { binding: GPUBufferBinding; elementOffset: number } {
  const bits = elementBits(t.dtype);
  const offset = Math.floor(Math.floor((lo * bits) / 8) / BINDING_ALIGN) * BINDING_ALIGN;
  const end = Math.ceil((hi * bits) / 32) * 4;
  return { binding: { buffer: t.buffer, offset, size: Math.max(4, end - offset) }, elementOffset: t.offset - (offset * 8) / bits };
}
