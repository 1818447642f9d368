// mergeAttentionStates: combine partial attention results over disjoint key sets by their
// log-sum-exp (SEMANTICS §11), what ring / sequence-parallel attention needs between steps.
import { elementBits, isFloatType, paddedByteLength } from '../codec/dtype.js';
import { popScopes, pushScopes, recordWork, type Stream } from '../acl/stream.js';
import { aclCreateTensor, createBuffer, isContiguous, numel, type Tensor } from '../acl/tensor.js';
import { encodeCombine } from './combine.js';
import { dummyBuffer } from './shader.js';

/** mergeAttentionStates' options. */
export interface MergeOptions {
  /**
   * Extension (docs/semantics.md, "Extensions beyond the operator"): learnable sink logits, FLOAT32
   * with `rows` elements (row r: its head's sink), counted once for the merged rows: merged as one
   * more partial state with out 0 and lse = sink. The partials must not hold the sink themselves
   * (compute them without learnableSink).
   */
  sinks?: Tensor | null;
}

/**
 * Merges k partial states of the same rows:
 *   outs[i]: [rows, D] (or any shape whose last dim is D), FLOAT32 / FLOAT16 / BFLOAT16, all the same dtype;
 *   lses[i]: [rows] (or any shape with `rows` elements) FLOAT32, natural-log LSE of partial i, +Inf = empty.
 * Per row: m = max lse_i, w_i = exp(lse_i - m), out = Σ w_i·o_i / Σ w_i, lse = m + ln Σ w_i; empty
 * partials (lse +Inf) and massless ones (lse −Inf) are skipped and a row with none left gives
 * out 0, lse +Inf. `options.sinks`
 * adds a learnable sink once (MergeOptions).
 * Returns new contiguous tensors out [rows, D] (dtype of outs) and lse [rows] FLOAT32; the work is
 * queued on `stream` (read them with readTensor, or synchronize). Inputs must be contiguous with
 * a 4-byte aligned start (tensors from createTensor are).
 */
export async function mergeAttentionStates(
  stream: Stream, outs: readonly Tensor[], lses: readonly Tensor[], options: MergeOptions = {},
): Promise<{ out: Tensor; lse: Tensor }> {
  const k = outs.length;
  if (k === 0 || lses.length !== k) throw new RangeError(`mergeAttentionStates: ${k} outs and ${lses.length} lses (need the same count ≥ 1)`);
  const first = outs[0]!;
  const dtype = first.dtype;
  if (!isFloatType(dtype)) throw new RangeError(`mergeAttentionStates: outs dtype ${dtype} (FLOAT32, FLOAT16 or BFLOAT16)`);
  const headDim = first.shape[first.shape.length - 1] ?? 0;
  const count = numel(first.shape);
  const rows = headDim > 0 ? count / headDim : 0;
  outs.forEach((t, i) => {
    if (t.dtype !== dtype || numel(t.shape) !== count || t.shape[t.shape.length - 1] !== headDim) {
      throw new RangeError(`mergeAttentionStates: outs[${i}] is ${t.dtype} [${t.shape.join(',')}], outs[0] is ${dtype} [${first.shape.join(',')}]`);
    }
  });
  lses.forEach((t, i) => {
    if (t.dtype !== 'FLOAT32' || numel(t.shape) !== rows) {
      throw new RangeError(`mergeAttentionStates: lses[${i}] is ${t.dtype} [${t.shape.join(',')}], need FLOAT32 with ${rows} elements`);
    }
  });
  const sinks = options.sinks ?? null;
  if (sinks && (sinks.dtype !== 'FLOAT32' || numel(sinks.shape) !== rows)) {
    throw new RangeError(`mergeAttentionStates: sinks is ${sinks.dtype} [${sinks.shape.join(',')}], need FLOAT32 with ${rows} elements`);
  }
  // The sink is one more partial: out 0, lse = sink (staged after the caller's partials).
  const parts = k + (sinks ? 1 : 0);
  const device = stream.device;
  // This call's own error scopes: its errors reach the stream's next aclrtSynchronizeStream, and only there.
  pushScopes(device);
  try {
    const out = aclCreateTensor([rows, headDim], dtype, createBuffer(stream, paddedByteLength(dtype, count), 'fia.merge.out'));
    const lse = aclCreateTensor([rows], 'FLOAT32', createBuffer(stream, rows * 4, 'fia.merge.lse'));
    if (count === 0) return { out, lse };

    // Stage the partials side by side: parts [k (+1)][partStride] in `dtype`, lses [k (+1)][rows] f32.
    const partBytes = paddedByteLength(dtype, count);
    const partStride = (partBytes * 8) / elementBits(dtype);
    const partsBuffer = createBuffer(stream, parts * partBytes, 'fia.merge.parts');
    const lseParts = createBuffer(stream, parts * rows * 4, 'fia.merge.lses');
    const encoder = device.createCommandEncoder({ label: 'fia.merge' });
    const copy = (t: Tensor, dst: GPUBuffer, dstOffset: number, bytes: number, name: string): void => {
      const elementBytes = elementBits(t.dtype) / 8;
      const src = t.offset * elementBytes;
      if (!isContiguous(t) || src % 4 !== 0) throw new RangeError(`mergeAttentionStates: ${name} must be contiguous and start at a 4-byte boundary`);
      encoder.copyBufferToBuffer(t.buffer, src, dst, dstOffset, Math.min(bytes, t.buffer.size - src));
    };
    outs.forEach((t, i) => copy(t, partsBuffer, i * partBytes, partBytes, `outs[${i}]`));
    lses.forEach((t, i) => copy(t, lseParts, i * rows * 4, rows * 4, `lses[${i}]`));
    if (sinks) {
      encoder.clearBuffer(partsBuffer, k * partBytes, partBytes);
      copy(sinks, lseParts, k * rows * 4, rows * 4, 'sinks');
    }
    encodeCombine(device, encoder, {
      parts: { buffer: partsBuffer }, partsDtype: dtype, lses: { buffer: lseParts },
      out: { buffer: out.buffer }, outDtype: dtype, outOffset: 0, lseOut: { buffer: lse.buffer }, lseOutOffset: 0,
      rows, headDim, numParts: parts,
      partBase: 0, partRowStride: headDim, partSplitStride: partStride,
      lseBase: 0, lseRowStride: 1, lseSplitStride: rows,
    }, dummyBuffer(device));
    stream.queue.submit([encoder.finish()]);
    // The staging copies are this call's own: freed once the queue has run the merge.
    const release = (): void => { partsBuffer.destroy(); lseParts.destroy(); };
    void stream.queue.onSubmittedWorkDone().then(release, release);
    return { out, lse };
  } finally {
    recordWork(stream, popScopes(device));
  }
}
