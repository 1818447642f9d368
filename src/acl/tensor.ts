import { decodeValues, encodeValues, type Values } from '../codec/index.js';
import { USAGE } from './usage.js';
import { type DataType, elementBits, paddedByteLength } from './dtype.js';
import { type Stream, webgpuClass } from './stream.js';

export type Format = 'ND' | 'NCHW' | 'NHWC' | 'NCDHW' | 'NZ';

/**
 * The port of aclTensor: a GPUBuffer plus metadata. Element (i0, i1, …) lives at element index
 * `offset + Σ ik·strides[k]` of the buffer, counted in elements of `dtype` (INT4: nibbles).
 * Sub-word dtypes are packed little-endian in u32 words, exactly as on a CPU.
 */
export interface Tensor {
  readonly kind: 'tensor';
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DataType;
  readonly format: Format;
}

/** The port of aclTensorList. */
export interface TensorList {
  readonly kind: 'tensorList';
  readonly tensors: readonly (Tensor | null)[];
}

/** The port of aclIntArray (host int64 values). */
export interface IntArray {
  readonly kind: 'intArray';
  readonly values: readonly number[];
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isContiguous(t: Pick<Tensor, 'shape' | 'strides'>): boolean {
  const c = contiguousStrides(t.shape);
  return t.shape.every((d, i) => d <= 1 || t.strides[i] === c[i]);
}

/**
 * aclCreateTensor: wraps an existing buffer (strides default to contiguous). Like an aclTensor the
 * descriptor is immutable (frozen), which lets GetWorkspaceSize's plan cache remember what it read
 * from it (src/fia/plan.ts).
 */
export function aclCreateTensor(
  shape: readonly number[], dtype: DataType, buffer: GPUBuffer,
  opts: { strides?: readonly number[]; offset?: number; format?: Format } = {},
): Tensor {
  return Object.freeze({
    kind: 'tensor', buffer, dtype, shape: Object.freeze([...shape]),
    strides: Object.freeze([...(opts.strides ?? contiguousStrides(shape))]),
    offset: opts.offset ?? 0, format: opts.format ?? 'ND',
  });
}

/** aclCreateTensorList (frozen, like aclCreateTensor's descriptors). */
export function aclCreateTensorList(tensors: readonly (Tensor | null)[]): TensorList {
  return Object.freeze({ kind: 'tensorList', tensors: Object.freeze([...tensors]) });
}

/** aclCreateIntArray (frozen, like aclCreateTensor's descriptors). */
export function aclCreateIntArray(values: readonly number[]): IntArray {
  return Object.freeze({ kind: 'intArray', values: Object.freeze([...values]) });
}

/** A tensor, tensor list or int array frozen at every level (what the acl constructors return). */
export function isFrozenDescriptor(v: object): boolean {
  const o = v as { kind?: unknown; tensors?: readonly unknown[]; shape?: unknown; strides?: unknown; values?: unknown };
  if (!Object.isFrozen(v)) return false;
  if (o.kind === 'tensor') return Object.isFrozen(o.shape) && Object.isFrozen(o.strides);
  if (o.kind === 'tensorList') return Object.isFrozen(o.tensors) && o.tensors!.every((t) => t === null || isFrozenDescriptor(t as object));
  if (o.kind === 'intArray') return Object.isFrozen(o.values);
  return false;
}

/** Byte length a tensor's elements reach into its buffer (word-padded). */
export function tensorByteSpan(t: Pick<Tensor, 'shape' | 'strides' | 'offset' | 'dtype'>): number {
  if (t.shape.some((d) => d === 0)) return 0;
  const lastElement = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.strides[i]!, 0);
  return paddedByteLength(t.dtype, lastElement + 1);
}

/** Buffers the named-options wrapper validates against before allocating; never bound. */
const placeholders = new WeakSet<object>();

/** A stand-in GPUBuffer of `size` bytes (STORAGE | COPY_SRC | COPY_DST) that `isGpuBuffer` accepts. */
export function placeholderBuffer(size: number): GPUBuffer {
  const b = { size, usage: TENSOR_USAGE, label: 'fia.placeholder' };
  placeholders.add(b);
  return b as unknown as GPUBuffer;
}

/**
 * A GPUBuffer: `instanceof GPUBuffer` where the class exists; else (no WebGPU globals) an object
 * with a numeric size and usage and the buffer methods. Look-alikes never reach createBindGroup.
 */
export function isGpuBuffer(b: unknown): b is GPUBuffer {
  if (typeof b !== 'object' || b === null) return false;
  if (placeholders.has(b)) return true;
  const C = webgpuClass('GPUBuffer');
  if (C) return b instanceof C;
  const x = b as Record<string, unknown>;
  return typeof x.size === 'number' && typeof x.usage === 'number'
    && ['mapAsync', 'getMappedRange', 'unmap', 'destroy'].every((m) => typeof x[m] === 'function');
}

// Tensor buffers: bound as storage, copied into (uploads) and out of (reads, workspace copies).
const TENSOR_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

/** Allocates a device buffer for `byteLength` bytes (at least one word), usable as storage and for copies. */
export function createBuffer(stream: Stream, byteLength: number, label?: string): GPUBuffer {
  return stream.device.createBuffer({ size: Math.max(4, Math.ceil(byteLength / 4) * 4), usage: TENSOR_USAGE, label });
}

/** A contiguous tensor holding `bytes` (already in device encoding). */
export function createTensorFromBytes(
  stream: Stream, bytes: Uint8Array, shape: readonly number[], dtype: DataType, label?: string,
): Tensor {
  const buffer = createBuffer(stream, bytes.byteLength, label);
  if (bytes.byteLength > 0) {
    const padded = bytes.byteLength % 4 === 0 ? bytes : (() => {
      const p = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      p.set(bytes);
      return p;
    })();
    stream.queue.writeBuffer(buffer, 0, padded as Uint8Array<ArrayBuffer>);
  }
  return aclCreateTensor(shape, dtype, buffer);
}

/**
 * A contiguous tensor from logical values (row-major over `shape`), encoded on the host:
 * floats are rounded to the dtype (nearest even), int8 saturates, INT4 packs 8 per word.
 */
export function createTensor(
  stream: Stream, values: Values, shape: readonly number[], dtype: DataType, label?: string,
): Tensor {
  const n = numel(shape);
  if (values.length !== n) {
    throw new RangeError(`createTensor: ${values.length} values for shape [${shape.join(',')}] (${n} elements)`);
  }
  return createTensorFromBytes(stream, encodeValues(dtype, values), shape, dtype, label);
}

/** An uninitialised (zeroed) contiguous tensor, e.g. an output. */
export function createEmptyTensor(stream: Stream, shape: readonly number[], dtype: DataType, label?: string): Tensor {
  const buffer = createBuffer(stream, paddedByteLength(dtype, numel(shape)), label);
  return aclCreateTensor(shape, dtype, buffer);
}

/** Reads `byteLength` bytes from the start of a buffer. */
export async function readBufferBytes(stream: Stream, buffer: GPUBuffer, byteLength: number): Promise<Uint8Array> {
  const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
  const staging = stream.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  const enc = stream.device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
  stream.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
  const bytes = new Uint8Array(staging.getMappedRange().slice(0, byteLength));
  staging.unmap();
  staging.destroy();
  return bytes;
}

/** The raw bytes of a tensor's buffer up to the last element it reaches. */
export async function readTensorBytes(stream: Stream, t: Tensor): Promise<Uint8Array> {
  return readBufferBytes(stream, t.buffer, tensorByteSpan(t));
}

/** The tensor's logical values, row-major over its shape (strides and offset applied). */
export async function readTensor(stream: Stream, t: Tensor): Promise<Float64Array> {
  const bytes = await readTensorBytes(stream, t);
  const n = numel(t.shape);
  const all = decodeValues(t.dtype, bytes, Math.floor((bytes.byteLength * 8) / elementBits(t.dtype)));
  const out = new Float64Array(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let e = t.offset;
    for (let k = 0; k < idx.length; k++) e += idx[k]! * t.strides[k]!;
    out[i] = all[e]!;
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < t.shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}
