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
}

function combinePipeline(device: GPUDevice, partsDtype: DataType, outDtype: DataType): GPUComputePipeline {
  const spec = { partsDtype, outDtype, wg: COMBINE_WG };
  return getPipeline(device, specKey('combine', spec), () => ({
    label: `fia.combine.${partsDtype}.${outDtype}`,
    code: fill(wgsl('combine.wgsl'), {
      UNIFORMS: COMBINE_UNIFORMS.wgslStruct(),
      PACK: wgsl('common/f16pack.wgsl'),
      LOADERS: loaderFn('loadPart', 'parts', partsDtype),
      OUT_WORD_ELEMS: elementsPerWord(outDtype),
      OUT_PACK: outPackBody(outDtype),
    }),
    constants: { WG: COMBINE_WG },
  }));
}

/** Records the combine pass into `encoder` (its own compute pass). */
export function encodeCombine(device: GPUDevice, encoder: GPUCommandEncoder, a: CombineArgs, dummy: GPUBuffer): void {
  const outWordElems = elementsPerWord(a.outDtype);
  if (outWordElems === 2 && a.outOffset % 2 !== 0) throw new Error('combine: 16-bit output must start at an even element');
  const pipeline = combinePipeline(device, a.partsDtype, a.outDtype);
  const uniforms = uniformBuffer(device, COMBINE_UNIFORMS.pack({
    rows: a.rows, headDim: a.headDim, numParts: a.numParts,
    partBase: a.partBase, partRowStride: a.partRowStride, partSplitStride: a.partSplitStride,
    lseBase: a.lseBase, lseRowStride: a.lseRowStride, lseSplitStride: a.lseSplitStride,
    outOffset: a.outOffset, lseOutOffset: a.lseOutOffset, writeLse: a.lseOut ? 1 : 0, posInfBits: 0x7f800000,
  }), 'fia.combine.uniforms');
  const group0 = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: a.parts },
      { binding: 1, resource: a.lses },
      { binding: 2, resource: { buffer: a.out } },
      { binding: 3, resource: { buffer: a.lseOut ?? dummy } },
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
