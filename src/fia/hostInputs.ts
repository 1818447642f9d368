// Host copies of exactly the tensors the GPU reads, decoded as HostInputs documents, so the CPU
// reference (src/reference) runs on the GPU's own inputs. For tests and the benchmark.
import type { Stream } from '../acl/stream.js';
import { contiguousStrides, readTensor, readTensorBytes, type Tensor } from '../acl/tensor.js';
import { kvElementDtype, kvElementsPerStored } from '../codec/dtype.js';
import { given, HOST_KV, HOST_SCALARS, HOST_VALUES } from '../problem/params.js';
import type { FiaInputs, HostInputs, Problem } from '../problem/problem.js';

/**
 * Logical values of a key/value/prefix tensor; INT32 words holding 8 int4 each are unpacked
 * (last dim ×8, values −8..7, lowest nibble first). Validation keeps these tensors contiguous.
 */
async function readKv(stream: Stream, t: Tensor): Promise<Float64Array> {
  const per = kvElementsPerStored(t.dtype);
  if (per === 1) return readTensor(stream, t);
  const shape = t.shape.map((d, i) => (i === t.shape.length - 1 ? d * per : d));
  const unpacked: Tensor = { ...t, dtype: kvElementDtype(t.dtype), shape, strides: contiguousStrides(shape), offset: t.offset * per };
  return readTensor(stream, unpacked);
}

/** A per-tensor scale: FLOAT32 as is; UINT64: the float32 whose bits are the low word. */
async function readScalar(stream: Stream, t: Tensor): Promise<number> {
  if (t.dtype !== 'UINT64') return (await readTensor(stream, t))[0]!;
  const bytes = await readTensorBytes(stream, t);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat32(t.offset * 8, true);
}

/**
 * Reads every present device tensor of `inputs` back and decodes it for the reference:
 * row-major over each tensor's shape, INT4 unpacked, deq scales as floats, padding sizes as
 * numbers (int64, exact to 2^53), blockTable as Int32Array. Absent (null or 0-element) tensors
 * are left out, and so are parameters the problem ignores. `problem` says which inputs the operator reads.
 */
export async function readHostInputs(stream: Stream, inputs: FiaInputs, problem: Problem): Promise<HostInputs> {
  const keys = inputs.key!.tensors.map((t) => t!);
  const values = inputs.value!.tensors.map((t) => t!);
  const host: HostInputs = {
    query: await readTensor(stream, inputs.query!),
    key: await Promise.all(keys.map((t) => readKv(stream, t))),
    value: await Promise.all(values.map((t) => readKv(stream, t))),
  };
  for (const name of HOST_VALUES) {
    const t = inputs[name];
    if (given(t)) host[name] = await readTensor(stream, t);
  }
  for (const name of HOST_KV) {
    const t = inputs[name];
    if (given(t)) host[name] = await readKv(stream, t);
  }
  for (const name of HOST_SCALARS) {
    const t = inputs[name];
    if (given(t)) host[name] = await readScalar(stream, t);
  }
  // Only the padding sizes in use: an ignored one may be any tensor (never read).
  for (const [name, used] of [['queryPaddingSize', problem.qLeftPadding], ['kvPaddingSize', problem.kvLeftPadding]] as const) {
    const t = inputs[name];
    if (used && given(t)) host[name] = (await readTensor(stream, t))[0]!;
  }
  const sink = inputs.extensions?.learnableSink;
  if (problem.learnableSink && given(sink)) host.learnableSink = await readTensor(stream, sink);
  if (problem.kv.kind === 'paged' && given(inputs.blockTable)) {
    host.blockTable = Int32Array.from(await readTensor(stream, inputs.blockTable));
  }
  return host;
}
