// The LSE merge pass (shaders/combine.wgsl, SEMANTICS §11): K partial states per row → one.
// Used by decode after its KV splits, and by the public mergeAttentionStates (merge.ts).
import type { DataType } from '../acl/dtype.js';
import { elementsPerWord, fill, getPipeline, loaderFn, specKey, UniformBlock, wgsl } from './shader.js';

export const COMBINE_UNIFORMS = new UniformBlock('CombineUniforms', {
  rows: 'u32',
  headDim: 'u32',
  numParts: 'u32',
  partBase: 'u32',
  partRowStride: 'u32',
  partSplitStride: 'u32',
  lseBase: 'u32',
  lseRowStride: 'u32',
  lseSplitStride: 'u32',
  outOffset: 'u32',
  lseOutOffset: 'u32',
  writeLse: 'u32',
  posInfBits: 'u32',
  // INT8 output only (shaders/common/out_quant.wgsl).
  qs2Offset: 'u32',
  qo2Offset: 'u32',
  quantPerChannel: 'u32',
  quantChannels: 'u32',
});

const COMBINE_WG = 64;
const MAX_GROUPS_X = 65535;

// GPUBufferUsage.UNIFORM | COPY_DST (numeric: the global may be missing in Node).
const UNIFORM_USAGE = 0x40 | 0x08;

/** WGSL body of `outWord(lo, hi) -> u32` for an output dtype (RNE for the 16-bit types). */
export function outPackBody(dtype: DataType): string {
  switch (dtype) {
    case 'FLOAT32': return 'return bitcast<u32>(lo);';
    case 'FLOAT16': return 'return f32ToF16Bits(lo) | (f32ToF16Bits(hi) << 16u);';
    case 'BFLOAT16': return 'return f32ToBf16Bits(lo) | (f32ToBf16Bits(hi) << 16u);';
    default: throw new Error(`no output packing for ${dtype}`);
  }
}

/** A uniform buffer holding `data`, written at creation. */
export function uniformBuffer(device: GPUDevice, data: ArrayBuffer, label: string): GPUBuffer {
  const buf = device.createBuffer({ size: data.byteLength, usage: UNIFORM_USAGE, mappedAtCreation: true, label });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
  buf.unmap();
  return buf;
}

/** INT8 output quantization (SEMANTICS §9) applied by the combine's output store. */
export interface CombineOutQuant {
  /** quantScale2 / quantOffset2 (null: none): buffer, element offset, dtype (FLOAT32 or BFLOAT16). */
  scale: { buffer: GPUBuffer; offset: number };
  offset: { buffer: GPUBuffer; offset: number } | null;
  dtype: DataType;
  /** Per-channel: element e uses channel e % channels (channels = N·D); per-tensor: channel 0. */
  perChannel: boolean;
  channels: number;
}

export interface CombineArgs {
  /** Partial outputs (elements of partsDtype) and their lses (f32), addressed as in combine.wgsl. */
  parts: GPUBufferBinding;
  partsDtype: DataType;
  lses: GPUBufferBinding;
  out: GPUBuffer;
  outDtype: DataType;
  /** Element offset of row 0 in `out`; must be even for 16-bit outputs (whole words per invocation). */
  outOffset: number;
  /** Null: no lse output. */
  lseOut: GPUBuffer | null;
  lseOutOffset: number;
  rows: number;
  headDim: number;
  numParts: number;
  partBase: number;
  partRowStride: number;
  partSplitStride: number;
  lseBase: number;
  lseRowStride: number;
  lseSplitStride: number;
  /** Required iff outDtype is INT8. */
  outQuant?: CombineOutQuant | null;
}

/** The INT8 store's bindings (group 0, bindings 4-5: at most 6 storage buffers) and WGSL helpers. */
function outQuantWgsl(q: CombineOutQuant | null): { bindings: string; helpers: string } {
  if (!q) return { bindings: '', helpers: 'fn quant8(x: f32, ch: u32) -> u32 { return 0u; }' };
  const bindings = ['@group(0) @binding(4) var<storage, read> qs2Buf: array<u32>;'];
  const helpers = [loaderFn('loadQs2', 'qs2Buf', q.dtype)];
  if (q.offset) {
    bindings.push('@group(0) @binding(5) var<storage, read> qo2Buf: array<u32>;');
    helpers.push(loaderFn('loadQo2', 'qo2Buf', q.dtype), 'fn quantOffset2(c: u32) -> f32 { return loadQo2(u.qo2Offset + c); }');
  } else {
    helpers.push('fn quantOffset2(c: u32) -> f32 { return 0.0; }');
  }
  helpers.push(wgsl('common/out_quant.wgsl'));
  return { bindings: bindings.join('\n'), helpers: helpers.join('\n') };
}

function combinePipeline(device: GPUDevice, partsDtype: DataType, outDtype: DataType, q: CombineOutQuant | null): GPUComputePipeline {
  const spec = { partsDtype, outDtype, wg: COMBINE_WG, quant: q ? q.dtype : 'none', quantOffset: !!q?.offset };
  const quant = outQuantWgsl(q);
  return getPipeline(device, specKey('combine', spec), () => ({
    label: `fia.combine.${partsDtype}.${outDtype}`,
    code: fill(wgsl('combine.wgsl'), {
      UNIFORMS: COMBINE_UNIFORMS.wgslStruct(),
      PACK: wgsl('common/f16pack.wgsl'),
      LOADERS: loaderFn('loadPart', 'parts', partsDtype),
      OUT_WORD_ELEMS: elementsPerWord(outDtype),
      OUT_PACK: outDtype === 'INT8' ? 'return 0u;' : outPackBody(outDtype),
      QUANT_BINDINGS: quant.bindings,
      OUT_QUANT: quant.helpers,
    }),
    constants: { WG: COMBINE_WG },
  }));
}

/** Records the combine pass into `encoder` (its own compute pass). */
export function encodeCombine(device: GPUDevice, encoder: GPUCommandEncoder, a: CombineArgs, dummy: GPUBuffer): void {
  const outWordElems = elementsPerWord(a.outDtype);
  if (a.outOffset % outWordElems !== 0) throw new Error(`combine: a ${a.outDtype} output must start at a multiple of ${outWordElems} elements`);
  const q = a.outQuant ?? null;
  if ((a.outDtype === 'INT8') !== !!q) throw new Error('combine: outQuant is required exactly for an INT8 output');
  const pipeline = combinePipeline(device, a.partsDtype, a.outDtype, q);
  const uniforms = uniformBuffer(device, COMBINE_UNIFORMS.pack({
    rows: a.rows, headDim: a.headDim, numParts: a.numParts,
    partBase: a.partBase, partRowStride: a.partRowStride, partSplitStride: a.partSplitStride,
    lseBase: a.lseBase, lseRowStride: a.lseRowStride, lseSplitStride: a.lseSplitStride,
    outOffset: a.outOffset, lseOutOffset: a.lseOutOffset, writeLse: a.lseOut ? 1 : 0, posInfBits: 0x7f800000,
    qs2Offset: q?.scale.offset ?? 0, qo2Offset: q?.offset?.offset ?? 0,
    quantPerChannel: q?.perChannel ? 1 : 0, quantChannels: Math.max(1, q?.channels ?? 1),
  }), 'fia.combine.uniforms');
  const group0 = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: a.parts },
      { binding: 1, resource: a.lses },
      { binding: 2, resource: { buffer: a.out } },
      { binding: 3, resource: { buffer: a.lseOut ?? dummy } },
      ...(q ? [{ binding: 4, resource: { buffer: q.scale.buffer } }] : []),
      ...(q?.offset ? [{ binding: 5, resource: { buffer: q.offset.buffer } }] : []),
    ],
  });
  const group1 = device.createBindGroup({ layout: pipeline.getBindGroupLayout(1), entries: [{ binding: 0, resource: { buffer: uniforms } }] });
  const words = Math.ceil((a.rows * a.headDim) / outWordElems);
  const groups = Math.ceil(words / COMBINE_WG);
  if (groups === 0) return;
  const x = Math.min(groups, MAX_GROUPS_X);
  const pass = encoder.beginComputePass({ label: 'fia.combine' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group0);
  pass.setBindGroup(1, group1);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  pass.end();
}
