// Decode (Q_S == 1, the IncreFlashAttention branch): flash-decoding over (batch, KV head, KV split)
// in shaders/decode.wgsl, then the LSE combine (combine.ts) unless there is one split. Contract:
// notes/kernel-contract.md (decodeUnsupported / planDecode / layoutDecodeWorkspace / encodeDecode).
import type { DataType } from '../acl/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import type { FiaInputs, Problem, StorageLayout } from '../fia/problem.js';
import { AUX_BYTES, AUX_SLOTS, encodeAuxCopies } from './aux.js';
import type { DeviceCaps } from './caps.js';
import { encodeCombine, outPackBody, uniformBuffer } from './combine.js';
import { dummyBuffer, elementsPerWord, fill, getPipeline, loaderFn, specKey, UniformBlock, wgsl } from './shader.js';
import { bindingOf, type WorkspaceAllocator, type WorkspaceRegion } from './workspace.js';

export interface DecodePlan {
  /** Invocations per workgroup. */
  workgroupSize: number;
  /** KV columns per tile (the online-softmax step). */
  tileKeys: number;
  /** Query heads per workgroup (divides groupSize) and head blocks per KV head. */
  headBlock: number;
  numHeadBlocks: number;
  /** Output elements each invocation accumulates (even). */
  elemsPerInvocation: number;
  /** KV splits: split s covers logical columns [s·splitLen, (s+1)·splitLen). */
  numSplits: number;
  splitLen: number;
  /** One split written straight to attentionOut: no partials, no combine pass. */
  direct: boolean;
}

export interface DecodeRegions {
  /** aux scalars (AUX_BYTES) then kvLens u32[B]. */
  meta: WorkspaceRegion;
  /** Split mode: f32 partial out [B·N][numSplits][D] and lse [B·N][numSplits]. */
  partOut: WorkspaceRegion | null;
  partLse: WorkspaceRegion | null;
}

export interface DecodePlanOptions {
  /** Force the number of KV splits (tests); the plan still clamps it to [1, KV_S]. */
  numSplits?: number;
}

const FLOAT_TYPES: readonly DataType[] = ['FLOAT32', 'FLOAT16', 'BFLOAT16'];

/** null when the decode kernel computes `problem` exactly; else the unsupported feature. */
export function decodeUnsupported(problem: Problem): string | null {
  if (!problem.isDecode) return 'Q_S > 1 (decode handles Q_S == 1)';
  if (!FLOAT_TYPES.includes(problem.queryDtype)) return `query dtype ${problem.queryDtype} in decode`;
  if (!FLOAT_TYPES.includes(problem.kvDtype)) return `key/value dtype ${problem.kvDtype} (antiquant) in decode`;
  if (!FLOAT_TYPES.includes(problem.outDtype)) return `attentionOut dtype ${problem.outDtype} in decode`;
  if (problem.kv.kind === 'paged') return 'paged KV (blockTable) in decode';
  if (problem.prefix) return 'shared prefix in decode';
  if (problem.antiquant) return 'KV antiquant in decode';
  if (problem.outQuant) return 'INT8 output quantization in decode';
  if (problem.int8Attention) return 'INT8 attention in decode';
  if (problem.groupSize > 64) return `groupSize ${problem.groupSize} > 64 in decode`;
  if (problem.headDim > 512) return `headDim ${problem.headDim} > 512 in decode`;
  return null;
}

const MIN_SPLIT_KEYS = 128;
/** Workgroups that keep an adapter busy; more splits than this only add combine work. */
const TARGET_WORKGROUPS = 64;

/** Largest divisor of G whose working set fits the workgroup memory budget (in f32 words). */
function headBlockFor(groupSize: number, headDim: number, tileKeys: number, budgetWords: number): number {
  for (let gb = groupSize; gb >= 1; gb--) {
    if (groupSize % gb !== 0) continue;
    if (gb * headDim + gb * tileKeys + 2 * gb + 2 <= budgetWords) return gb;
  }
  throw new Error(`decode: headDim ${headDim} does not fit workgroup memory`);
}

export function planDecode(problem: Problem, caps: DeviceCaps, opts: DecodePlanOptions = {}): DecodePlan {
  const { batch: B, numKvHeads: KVN, groupSize: G, headDim: D, kvSeqLen } = problem;
  const tileKeys = 64;
  const budgetWords = Math.floor(Math.min(caps.maxWorkgroupStorageBytes, 32768) / 4) - 64;
  const headBlock = headBlockFor(G, D, tileKeys, budgetWords);
  const numHeadBlocks = G / headBlock;
  const outputs = headBlock * D;
  let workgroupSize = 64;
  while (workgroupSize < 256 && workgroupSize * 8 < outputs && workgroupSize * 2 <= caps.maxInvocationsPerWorkgroup) workgroupSize *= 2;
  const elemsPerInvocation = 2 * Math.ceil(outputs / (2 * workgroupSize));

  const baseGroups = Math.max(1, B * KVN * numHeadBlocks);
  const kvCols = Math.max(1, kvSeqLen);
  const maxSplits = Math.max(1, Math.ceil(kvCols / MIN_SPLIT_KEYS));
  let numSplits = opts.numSplits ?? Math.min(maxSplits, Math.ceil(TARGET_WORKGROUPS / baseGroups));
  numSplits = Math.max(1, Math.min(numSplits, kvCols));
  const splitLen = Math.ceil(kvCols / numSplits);
  numSplits = Math.ceil(kvCols / splitLen);
  // Direct writes need whole words per invocation: 16-bit outputs with odd D go through combine.
  const direct = numSplits === 1 && (elementsPerWord(problem.outDtype) === 1 || D % 2 === 0);
  return { workgroupSize, tileKeys, headBlock, numHeadBlocks, elemsPerInvocation, numSplits, splitLen, direct };
}

export function layoutDecodeWorkspace(problem: Problem, plan: DecodePlan, ws: WorkspaceAllocator): DecodeRegions {
  const meta = ws.alloc(AUX_BYTES + 4 * problem.batch);
  if (plan.direct) return { meta, partOut: null, partLse: null };
  const rows = problem.batch * problem.numQoHeads;
  const partOut = ws.alloc(rows * plan.numSplits * problem.headDim * 4);
  const partLse = ws.alloc(rows * plan.numSplits * 4);
  return { meta, partOut, partLse };
}

export const DECODE_UNIFORMS = new UniformBlock('DecodeUniforms', {
  batchBase: 'u32',
  numQoHeads: 'u32',
  groupSize: 'u32',
  numHeadBlocks: 'u32',
  numSplits: 'u32',
  splitLen: 'u32',
  kvLeftPadding: 'u32',
  kvRows: 'u32',
  scaleValue: 'f32',
  qOffset: 'u32', qBatchStride: 'u32', qHeadStride: 'u32', qDimStride: 'u32',
  kOffset: 'u32', kBatchStride: 'u32', kHeadStride: 'u32', kSeqStride: 'u32', kDimStride: 'u32',
  vOffset: 'u32', vBatchStride: 'u32', vHeadStride: 'u32', vSeqStride: 'u32', vDimStride: 'u32',
  maskOffset: 'u32', maskBatchStride: 'u32', maskColStride: 'u32',
  pseOffset: 'u32', pseBatchStride: 'u32', pseHeadStride: 'u32', pseColStride: 'u32',
  outOffset: 'u32',
  lseOffset: 'u32',
  writeLse: 'u32',
});

interface AxisStrides { batch: number; head: number; seq: number; dim: number }

/** Element strides (batch, head, seq, dim) of a stored tensor with `heads` heads of D elements. */
export function axisStrides(t: Tensor, layout: StorageLayout, headDim: number): AxisStrides {
  const s = t.strides;
  switch (layout) {
    case 'BSH': return { batch: s[0]!, seq: s[1]!, head: headDim * s[2]!, dim: s[2]! };
    case 'BSND': return { batch: s[0]!, seq: s[1]!, head: s[2]!, dim: s[3]! };
    case 'BNSD': return { batch: s[0]!, head: s[1]!, seq: s[2]!, dim: s[3]! };
  }
}

const writeDummies = new WeakMap<GPUDevice, GPUBuffer>();
/** A small writable buffer bound where an output is absent (distinct from the read-only dummy). */
function writeDummy(device: GPUDevice): GPUBuffer {
  let b = writeDummies.get(device);
  if (!b) {
    b = device.createBuffer({ size: 16, usage: 0x80 | 0x08, label: 'fia.absentOutput' });
    writeDummies.set(device, b);
  }
  return b;
}

function decodePipeline(device: GPUDevice, problem: Problem, plan: DecodePlan): GPUComputePipeline {
  const spec = {
    qDtype: problem.queryDtype, kvDtype: problem.kvDtype, outDtype: problem.outDtype,
    maskDtype: problem.mask?.dtype ?? 'none', pseDtype: problem.pse?.dtype ?? 'none',
    headDim: problem.headDim, headBlock: plan.headBlock, tileKeys: plan.tileKeys,
    wg: plan.workgroupSize, elems: plan.elemsPerInvocation, direct: plan.direct,
  };
  return getPipeline(device, specKey('decode', spec), () => {
    const loaders = [
      loaderFn('loadQ', 'qBuf', problem.queryDtype),
      loaderFn('loadK', 'kBuf', problem.kvDtype),
      loaderFn('loadV', 'vBuf', problem.kvDtype),
      loaderFn('loadMask', 'maskBuf', problem.mask?.dtype ?? 'UINT8'),
      loaderFn('loadPse', 'pseBuf', problem.pse?.dtype ?? 'FLOAT32'),
    ];
    const code = fill(wgsl('decode.wgsl'), {
      UNIFORMS: DECODE_UNIFORMS.wgslStruct(),
      AUX: wgsl('common/aux.wgsl'),
      PACK: wgsl('common/f16pack.wgsl'),
      LOADERS: loaders.join('\n'),
      GB: plan.headBlock,
      HEAD_DIM: problem.headDim,
      TK: plan.tileKeys,
      ELEMS: plan.elemsPerInvocation,
      LENS_SLOT: AUX_BYTES / 4,
      KV_PAD_SLOT: AUX_SLOTS.kvPad,
      HAS_MASK: problem.mask ? 'true' : 'false',
      HAS_PSE: problem.pse ? 'true' : 'false',
      DIRECT: plan.direct ? 'true' : 'false',
      OUT_WORD_ELEMS: elementsPerWord(problem.outDtype),
      OUT_PACK: outPackBody(problem.outDtype),
      QS_LEN: plan.headBlock * problem.headDim,
      SC_LEN: plan.headBlock * plan.tileKeys,
    });
    return { code, label: `fia.decode.${specKey('', spec)}`, constants: { WG: plan.workgroupSize } };
  });
}

export interface DecodeContext {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  problem: Problem;
  plan: DecodePlan;
  inputs: FiaInputs;
  workspace: GPUBuffer | null;
  regions: DecodeRegions;
}

/** Copies kvLens (u32) into the meta region after the aux scalars, inside the command buffer. */
function encodeLensCopy(device: GPUDevice, encoder: GPUCommandEncoder, kvLens: readonly number[], workspace: GPUBuffer, meta: WorkspaceRegion): void {
  const bytes = Math.max(4, kvLens.length * 4);
  const staging = device.createBuffer({ size: bytes, usage: 0x04 /* COPY_SRC */, mappedAtCreation: true, label: 'fia.decode.kvLens' });
  new Uint32Array(staging.getMappedRange()).set(kvLens);
  staging.unmap();
  encoder.copyBufferToBuffer(staging, 0, workspace, meta.offset + AUX_BYTES, kvLens.length * 4);
}

/** Records aux/lens copies, the split pass (one dispatch, or one per batch for tensor-list KV) and the combine. */
export function encodeDecode(ctx: DecodeContext): void {
  const { device, encoder, problem, plan, inputs, regions } = ctx;
  const ws = ctx.workspace;
  if (!ws) throw new Error('decode: a workspace buffer is required');
  const { batch: B, numQoHeads: N, numKvHeads: KVN, headDim: D } = problem;
  if (B * N === 0) return;
  encodeAuxCopies(encoder, inputs, ws, { offset: regions.meta.offset, size: AUX_BYTES });
  if (B > 0) encodeLensCopy(device, encoder, problem.kvLens, ws, regions.meta);

  const pipeline = decodePipeline(device, problem, plan);
  const query = inputs.query!;
  const out = inputs.attentionOut!;
  const lse = problem.softmaxLse && inputs.softmaxLse ? inputs.softmaxLse : null;
  if (plan.direct && elementsPerWord(problem.outDtype) === 2 && out.offset % 2 !== 0) {
    throw new Error('decode: a 16-bit attentionOut must start at an even element');
  }
  const q = axisStrides(query, problem.queryLayout, D);
  const mask = problem.mask;
  const pse = problem.pse;
  const dummy = dummyBuffer(device);
  const listKv = problem.kv.kind === 'list';
  const dispatches = listKv ? B : 1;

  const pass = encoder.beginComputePass({ label: 'fia.decode' });
  pass.setPipeline(pipeline);
  for (let i = 0; i < dispatches; i++) {
    const key = inputs.key!.tensors[listKv ? i : 0]!;
    const value = inputs.value!.tensors[listKv ? i : 0]!;
    const kvLayout = problem.queryLayout;
    const k = axisStrides(key, kvLayout, D);
    const v = axisStrides(value, kvLayout, D);
    const kvRows = problem.kv.kind === 'dense' ? problem.kv.seqLen : problem.kvSeqLen;
    const uniforms = uniformBuffer(device, DECODE_UNIFORMS.pack({
      batchBase: listKv ? i : 0, numQoHeads: N, groupSize: problem.groupSize, numHeadBlocks: plan.numHeadBlocks,
      numSplits: plan.numSplits, splitLen: plan.splitLen,
      kvLeftPadding: problem.kvLeftPadding ? 1 : 0, kvRows, scaleValue: problem.scaleValue,
      qOffset: query.offset, qBatchStride: q.batch, qHeadStride: q.head, qDimStride: q.dim,
      kOffset: key.offset, kBatchStride: listKv ? 0 : k.batch, kHeadStride: k.head, kSeqStride: k.seq, kDimStride: k.dim,
      vOffset: value.offset, vBatchStride: listKv ? 0 : v.batch, vHeadStride: v.head, vSeqStride: v.seq, vDimStride: v.dim,
      maskOffset: mask?.offset ?? 0, maskBatchStride: mask?.batchStride ?? 0, maskColStride: mask?.colStride ?? 0,
      pseOffset: pse?.offset ?? 0, pseBatchStride: pse?.batchStride ?? 0, pseHeadStride: pse?.headStride ?? 0,
      pseColStride: pse?.colStride ?? 0,
      outOffset: plan.direct ? out.offset : 0,
      lseOffset: plan.direct && lse ? lse.offset : 0,
      writeLse: lse ? 1 : 0,
    }), 'fia.decode.uniforms');
    const outBinding: GPUBufferBinding = plan.direct ? { buffer: out.buffer } : bindingOf(ws, regions.partOut!);
    const lseBinding: GPUBufferBinding = plan.direct ? { buffer: lse?.buffer ?? writeDummy(device) } : bindingOf(ws, regions.partLse!);
    const group0 = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: query.buffer } },
        { binding: 1, resource: { buffer: key.buffer } },
        { binding: 2, resource: { buffer: value.buffer } },
        { binding: 3, resource: { buffer: mask ? inputs.attenMask!.buffer : dummy } },
        { binding: 4, resource: { buffer: pse ? inputs.pseShift!.buffer : dummy } },
        { binding: 5, resource: bindingOf(ws, regions.meta) },
        { binding: 6, resource: outBinding },
        { binding: 7, resource: lseBinding },
      ],
    });
    const group1 = device.createBindGroup({ layout: pipeline.getBindGroupLayout(1), entries: [{ binding: 0, resource: { buffer: uniforms } }] });
    pass.setBindGroup(0, group0);
    pass.setBindGroup(1, group1);
    pass.dispatchWorkgroups(listKv ? 1 : B, KVN * plan.numHeadBlocks, plan.numSplits);
  }
  pass.end();

  if (plan.direct) return;
  const rows = B * N;
  encodeCombine(device, encoder, {
    parts: bindingOf(ws, regions.partOut!), partsDtype: 'FLOAT32', lses: bindingOf(ws, regions.partLse!),
    out: out.buffer, outDtype: problem.outDtype, outOffset: out.offset,
    lseOut: lse?.buffer ?? null, lseOutOffset: lse?.offset ?? 0,
    rows, headDim: D, numParts: plan.numSplits,
    partBase: 0, partRowStride: plan.numSplits * D, partSplitStride: D,
    lseBase: 0, lseRowStride: plan.numSplits, lseSplitStride: 1,
  }, writeDummy(device));
}
