// The LSE merge pass (shaders/combine.wgsl, SEMANTICS §11): K partial states per row → one.
// Used by decode after its KV splits, and by the public mergeAttentionStates (merge.ts).
import type { DataType } from '../codec/dtype.js';
import type { Problem } from '../problem/problem.js';
import type { KernelTensors } from '../problem/tensors.js';
import { tensorBinding } from './binding.js';
import { axisRuns } from './caps.js';
import {
  elementsPerWord, fill, loaderFn, outBitsBody, outStoreWgsl, type PipelineSource, pipelineOf, specKey, UniformBlock, uniformBuffer, wgsl,
} from './shader.js';

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
  // Output words: the first word of outBuf holding an output element; this dispatch's words k
  // (from firstWord) are [wordBase, wordLimit).
  firstWord: 'u32',
  wordBase: 'u32',
  wordLimit: 'u32',
  lseOutOffset: 'u32',
  writeLse: 'u32',
  posInfBits: 'u32',
  // INT8 output only (shaders/common/out_quant.wgsl).
  qs2Offset: 'u32',
  qo2Offset: 'u32',
  quantPerChannel: 'u32',
  // Row order (partRow, headOf in combine.wgsl): query rows and heads per batch, and whether the
  // output holds rows in (batch, query row, head) order.
  seqLen: 'u32',
  heads: 'u32',
  seqOuter: 'u32',
  // The partials are a row's KV splits: lse −Inf means kept columns all −Inf (combine.wgsl).
  noMassNan: 'u32',
});

const COMBINE_WG = 64;


/** INT8 output quantization (SEMANTICS §9) applied by the combine's output store. */
export interface CombineOutQuant {
  /** quantScale2 / quantOffset2 (null: none): binding, element offset in it, dtype (FLOAT32 or BFLOAT16). */
  scale: { binding: GPUBufferBinding; offset: number };
  offset: { binding: GPUBufferBinding; offset: number } | null;
  dtype: DataType;
  /** Per-channel: element d of a row of head n uses channel n·D + d (rows: CombineArgs.rowOrder); per-tensor: channel 0. */
  perChannel: boolean;
}

/**
 * How output rows map to partial rows and heads (combine.wgsl, partRow / headOf): partials and
 * lses are in (batch, head, query row) order; the output in the same order, or with `seqOuter`
 * in (batch, query row, head) order. Decode: seqLen 1.
 */
export interface CombineRowOrder {
  seqLen: number;
  heads: number;
  seqOuter: boolean;
}

export interface CombineArgs {
  /** Partial outputs (elements of partsDtype) and their lses (f32), addressed as in combine.wgsl. */
  parts: GPUBufferBinding;
  partsDtype: DataType;
  lses: GPUBufferBinding;
  out: GPUBufferBinding;
  outDtype: DataType;
  /** Element offset of row 0 in `out` (any: words shared with other data are merged). */
  outOffset: number;
  /** Null: no lse output. */
  lseOut: GPUBufferBinding | null;
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
  /** Default: partial row = output row, one head per row (no INT8 output). */
  rowOrder?: CombineRowOrder;
  /**
   * The partials are the KV splits of a split pass (decode, prefill): lse −Inf marks kept columns
   * whose scores were all −Inf, and a row with such a partial and none with mass is NaN. Unset
   * (mergeAttentionStates): −Inf is no mass, like +Inf.
   */
  splitPartials?: boolean;
  /** Workgroups per grid dimension (default: the device's maxComputeWorkgroupsPerDimension). */
  maxWorkgroupsPerDimension?: number;
}

/** What the combine's INT8 store depends on: the scale dtype and whether an offset is bound. */
export interface CombineQuantSpec {
  dtype: DataType;
  hasOffset: boolean;
}

/** The INT8 store's bindings (group 0, bindings 4-5: at most 6 storage buffers) and WGSL helpers. */
function outQuantWgsl(q: CombineQuantSpec | null): { bindings: string; helpers: string } {
  if (!q) return { bindings: '', helpers: 'fn quant8(x: f32, ch: u32) -> u32 { return 0u; }' };
  const bindings = ['@group(0) @binding(4) var<storage, read> qs2Buf: array<u32>;'];
  const helpers = [loaderFn('loadQs2', 'qs2Buf', q.dtype)];
  if (q.hasOffset) {
    bindings.push('@group(0) @binding(5) var<storage, read> qo2Buf: array<u32>;');
    helpers.push(loaderFn('loadQo2', 'qo2Buf', q.dtype), 'fn quantOffset2(c: u32) -> f32 { return loadQo2(u.qo2Offset + c); }');
  } else {
    helpers.push('fn quantOffset2(c: u32) -> f32 { return 0.0; }');
  }
  helpers.push(wgsl('common/out_quant.wgsl'));
  return { bindings: bindings.join('\n'), helpers: helpers.join('\n') };
}

/** The combine pipeline for partials of `partsDtype` into an `outDtype` output (INT8: with `q`). */
export function combinePipelineSource(partsDtype: DataType, outDtype: DataType, q: CombineQuantSpec | null): PipelineSource {
  const spec = { partsDtype, outDtype, wg: COMBINE_WG, quant: q ? q.dtype : 'none', quantOffset: !!q?.hasOffset };
  return {
    key: specKey('combine', spec),
    build: () => {
      const quant = outQuantWgsl(q);
      return {
        label: `fia.combine.${partsDtype}.${outDtype}`,
        code: fill(wgsl('combine.wgsl'), {
          UNIFORMS: COMBINE_UNIFORMS.wgslStruct(),
          PACK: wgsl('common/f16pack.wgsl'),
          LOADERS: loaderFn('loadPart', 'parts', partsDtype),
          OUT_STORE: outStoreWgsl(outDtype),
          ELEM_BITS: outDtype === 'INT8' ? 'return quant8(x, headOf(r) * u.headDim + d);' : outBitsBody(outDtype),
          QUANT_BINDINGS: quant.bindings,
          OUT_QUANT: quant.helpers,
        }),
        constants: { WG: COMBINE_WG },
      };
    },
  };
}

const quantSpecOf = (q: CombineOutQuant | null): CombineQuantSpec | null => (q ? { dtype: q.dtype, hasOffset: !!q.offset } : null);

/** The combine that merges a split pass's f32 partials into `problem`'s outputs (decode, prefill). */
export function splitCombineSource(problem: Problem): PipelineSource {
  const q = problem.outQuant;
  return combinePipelineSource('FLOAT32', problem.outDtype, q ? { dtype: q.dtype, hasOffset: q.hasOffset } : null);
}

/** Records the combine pass into `encoder` (its own compute pass; several dispatches past the grid limit). */
export function encodeCombine(device: GPUDevice, encoder: GPUCommandEncoder, a: CombineArgs, dummy: GPUBuffer): void {
  const epw = elementsPerWord(a.outDtype);
  const q = a.outQuant ?? null;
  if ((a.outDtype === 'INT8') !== !!q) throw new Error('combine: outQuant is required exactly for an INT8 output');
  const count = a.rows * a.headDim;
  if (count === 0) return;
  const firstWord = Math.floor(a.outOffset / epw);
  const words = Math.floor((a.outOffset + count - 1) / epw) - firstWord + 1;
  const pipeline = pipelineOf(device, combinePipelineSource(a.partsDtype, a.outDtype, quantSpecOf(q)));
  const group0 = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: a.parts },
      { binding: 1, resource: a.lses },
      { binding: 2, resource: a.out },
      { binding: 3, resource: a.lseOut ?? { buffer: dummy } },
      ...(q ? [{ binding: 4, resource: q.scale.binding }] : []),
      ...(q?.offset ? [{ binding: 5, resource: q.offset.binding }] : []),
    ],
  });
  const maxDim = a.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
  const pass = encoder.beginComputePass({ label: 'fia.combine' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group0);
  // Workgroups in runs of at most maxDim² per dispatch, each folded into (x ≤ maxDim, y ≤ maxDim).
  for (const run of axisRuns(Math.ceil(words / COMBINE_WG), maxDim * maxDim)) {
    const uniforms = uniformBuffer(device, COMBINE_UNIFORMS.pack({
      rows: a.rows, headDim: a.headDim, numParts: a.numParts,
      partBase: a.partBase, partRowStride: a.partRowStride, partSplitStride: a.partSplitStride,
      lseBase: a.lseBase, lseRowStride: a.lseRowStride, lseSplitStride: a.lseSplitStride,
      outOffset: a.outOffset, firstWord, wordBase: run.base * COMBINE_WG,
      wordLimit: Math.min(words, (run.base + run.count) * COMBINE_WG),
      lseOutOffset: a.lseOutOffset, writeLse: a.lseOut ? 1 : 0, posInfBits: 0x7f800000,
      qs2Offset: q?.scale.offset ?? 0, qo2Offset: q?.offset?.offset ?? 0,
      quantPerChannel: q?.perChannel ? 1 : 0,
      seqLen: Math.max(1, a.rowOrder?.seqLen ?? 1), heads: Math.max(1, a.rowOrder?.heads ?? 1), seqOuter: a.rowOrder?.seqOuter ? 1 : 0,
      noMassNan: a.splitPartials ? 1 : 0,
    }), 'fia.combine.uniforms');
    pass.setBindGroup(1, device.createBindGroup({ layout: pipeline.getBindGroupLayout(1), entries: [{ binding: 0, resource: { buffer: uniforms } }] }));
    const x = Math.min(run.count, maxDim);
    pass.dispatchWorkgroups(x, Math.ceil(run.count / x));
  }
  pass.end();
}

/** The combine's INT8 store parameters (quantScale2 / quantOffset2 bound in place), or null. */
export function combineOutQuant(problem: Problem, tensors: KernelTensors): CombineOutQuant | null {
  const q = problem.outQuant;
  if (!q) return null;
  const scale = tensors.outScale!;
  const offset = tensors.outOffset;
  return {
    scale: { binding: tensorBinding(scale), offset: scale.offset },
    offset: offset ? { binding: tensorBinding(offset), offset: offset.offset } : null,
    dtype: q.dtype, perChannel: q.perChannel,
  };
}
