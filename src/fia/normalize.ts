// FiaInputs → Problem. Runs after validation (validate.ts): it trusts shapes and combinations and
// only resolves them (defaults, broadcasts, which parameter wins, index strides).
import type { DataType } from '../acl/dtype.js';
import { contiguousStrides, numel, type Tensor } from '../acl/tensor.js';
import { clampTokens, given, givenArray, resolveLengths } from './params.js';
import { axesOf, inputStorage, lastDimFactor, outputStorage } from './dims.js';
import {
  type Antiquant, type Band, type FiaInputs, INT_MAX, type KvStorage, type Layout, type MaskView,
  type ParamIndex, type Problem, type PseView, type TensorParam,
} from './problem.js';

// Kernels read `given` from here.
export { given } from './params.js';

export function normalize(inputs: FiaInputs): Problem {
  const query = inputs.query!;
  const keys = inputs.key!.tensors.map((t) => t!);
  const key0 = keys[0]!;
  const layout = inputs.inputLayout as Layout;
  const queryLayout = inputStorage(layout);
  const numQoHeads = inputs.numHeads;
  const numKvHeads = inputs.numKeyValueHeads === 0 ? numQoHeads : inputs.numKeyValueHeads;
  const q = axesOf(query.shape, queryLayout, numQoHeads);
  const isDecode = q.seq === 1;
  const batch = q.batch;
  const kvDtype: DataType = key0.dtype === 'INT32' ? 'INT4' : key0.dtype;

  const paged = given(inputs.blockTable);
  let kv: KvStorage;
  if (paged) {
    const bt = inputs.blockTable!;
    const cacheLayout = key0.shape.length === 4 ? 'BNSD' : 'BSH';
    kv = {
      kind: 'paged', cacheLayout, blockSize: inputs.blockSize, maxBlocksPerSeq: bt.shape[1]!, numBlocks: key0.shape[0]!,
    };
  } else if (keys.length > 1) {
    kv = { kind: 'list', kvLayout: queryLayout, seqLens: keys.map((t) => axesOf(t.shape, queryLayout, numKvHeads, lastDimFactor(t)).seq) };
  } else {
    kv = { kind: 'dense', kvLayout: queryLayout, seqLen: axesOf(key0.shape, queryLayout, numKvHeads, lastDimFactor(key0)).seq };
  }
  const kvSeqLen = kv.kind === 'dense' ? kv.seqLen
    : kv.kind === 'list' ? Math.max(...kv.seqLens)
    : kv.maxBlocksPerSeq * kv.blockSize;

  const qLens = isDecode ? new Array<number>(batch).fill(1) : resolveLengths(inputs.actualSeqLengths, batch, () => q.seq);
  const kvLens = resolveLengths(inputs.actualSeqLengthsKv, batch,
    (b) => (kv.kind === 'list' ? kv.seqLens[b]! : kvSeqLen));
  const qLeftPadding = !isDecode && given(inputs.queryPaddingSize) && givenArray(inputs.actualSeqLengths);
  const kvLeftPadding = given(inputs.kvPaddingSize) && givenArray(inputs.actualSeqLengthsKv);

  const prefixTensor = inputs.keySharedPrefix;
  let prefix: Problem['prefix'] = null;
  if (given(prefixTensor)) {
    const seqLen = axesOf(prefixTensor.shape, queryLayout, numKvHeads, lastDimFactor(prefixTensor)).seq;
    const len = givenArray(inputs.actualSharedPrefixLen) ? inputs.actualSharedPrefixLen.values[0]! : seqLen;
    if (len > 0) prefix = { len, seqLen };
  }

  const { mask, band } = maskAndBand(inputs, isDecode);
  return {
    isDecode, layout, queryLayout, outLayout: outputStorage(layout),
    batch, numQoHeads, numKvHeads, groupSize: numQoHeads / numKvHeads, headDim: q.headDim,
    qSeqLen: q.seq, kvSeqLen, scaleValue: inputs.scaleValue,
    queryDtype: query.dtype, kvDtype, outDtype: inputs.attentionOut!.dtype,
    qLens, kvLens, qLeftPadding, kvLeftPadding, kv, prefix,
    mask, band, sparseMode: isDecode ? 0 : inputs.sparseMode,
    pse: pseView(inputs.pseShift),
    innerPrecise: inputs.innerPrecise,
    softmaxLse: !!inputs.softmaxLseFlag,
    antiquant: antiquantOf(inputs, isDecode, q.headDim),
    int8Attention: query.dtype === 'INT8'
      ? { deqScale1Dtype: inputs.deqScale1!.dtype, deqScale2Dtype: inputs.deqScale2!.dtype } : null,
    outQuant: inputs.attentionOut!.dtype === 'INT8' ? {
      perChannel: numel(inputs.quantScale2!.shape) > 1,
      dtype: inputs.quantScale2!.dtype,
      hasOffset: given(inputs.quantOffset2),
    } : null,
  };
}

/** Mask strides and the band predicate for sparseMode (SEMANTICS §3-4). */
function maskAndBand(inputs: FiaInputs, isDecode: boolean): { mask: MaskView | null; band: Band | null } {
  const m = given(inputs.attenMask) ? inputs.attenMask : null;
  const padding = given(inputs.queryPaddingSize) || given(inputs.kvPaddingSize);
  const view = (): MaskView => {
    const t = m!;
    const s = t.strides;
    const r = t.shape.length;
    // Last dim: key column; second to last: query row (decode 2-D/3-D masks have no row axis);
    // dim 0 of a 3-/4-D prefill mask, or of any decode mask, is the batch.
    const hasRow = isDecode ? r >= 3 : true;
    const hasBatch = isDecode ? true : r >= 3;
    return {
      source: 'attenMask', dtype: t.dtype, offset: t.offset,
      colStride: s[r - 1]!,
      rowStride: hasRow && t.shape[r - 2]! > 1 ? s[r - 2]! : 0,
      batchStride: hasBatch && t.shape[0]! > 1 ? s[0]! : 0,
    };
  };
  if (isDecode) return { mask: m ? view() : null, band: null };
  const pre = clampTokens(inputs.preTokens);
  const next = clampTokens(inputs.nextTokens);
  switch (inputs.sparseMode) {
    case 0:
      if (!m) return { mask: null, band: null };
      return { mask: view(), band: padding ? null : { anchor: 'topLeft', preTokens: pre, nextTokens: next } };
    case 1: return { mask: view(), band: null };
    case 2: return { mask: null, band: { anchor: 'topLeft', preTokens: INT_MAX, nextTokens: 0 } };
    case 3: return { mask: null, band: { anchor: 'rightDown', preTokens: INT_MAX, nextTokens: 0 } };
    case 4: return { mask: null, band: { anchor: 'rightDown', preTokens: pre, nextTokens: next } };
    default: throw new Error(`sparseMode ${inputs.sparseMode} reached normalize`);
  }
}

function pseView(t: Tensor | null | undefined): PseView | null {
  if (!given(t)) return null;
  const s = t.strides;
  return {
    source: 'pseShift', dtype: t.dtype, offset: t.offset,
    batchStride: t.shape[0]! > 1 ? s[0]! : 0, headStride: s[1]!, rowStride: t.shape[2]! > 1 ? s[2]! : 0, colStride: s[3]!,
  };
}

/**
 * Which antiquant parameters apply to K and V and how they are indexed (SEMANTICS §8). The
 * separate key/value parameters win over the combined ones; combined tensors carry K at index 0
 * and V at index 1 of their leading dim of 2.
 */
function antiquantOf(inputs: FiaInputs, isDecode: boolean, headDim: number): Problem['antiquant'] {
  const kvDtype = inputs.key!.tensors[0]!.dtype;
  if (!(kvDtype === 'INT8' || kvDtype === 'INT32' || kvDtype === 'INT4') || inputs.query!.dtype === 'INT8') return null;
  if (given(inputs.keyAntiquantScale)) {
    const side = (which: 'key' | 'value', mode: number): Antiquant => {
      const scaleName: TensorParam = which === 'key' ? 'keyAntiquantScale' : 'valueAntiquantScale';
      const offsetName: TensorParam = which === 'key' ? 'keyAntiquantOffset' : 'valueAntiquantOffset';
      const scale = inputs[scaleName]!;
      return {
        mode: mode as Antiquant['mode'], scale: scaleName, offset: given(inputs[offsetName]) ? offsetName : null,
        dtype: scale.dtype, index: separateIndex(scale, mode, headDim),
        pagedToken: mode === 4 || mode === 5,
      };
    };
    return { key: side('key', inputs.keyAntiquantMode), value: side('value', inputs.valueAntiquantMode) };
  }
  const scale = inputs.antiquantScale!;
  const mode = isDecode ? inputs.antiquantMode : 0;
  const perSide = numel(scale.shape) / 2;
  const side = (k: 0 | 1): Antiquant => {
    const rest = combinedIndex(scale, mode, headDim);
    return {
      mode: mode as Antiquant['mode'], scale: 'antiquantScale',
      offset: given(inputs.antiquantOffset) ? 'antiquantOffset' : null,
      dtype: scale.dtype, index: { ...rest, base: rest.base + k * perSide }, pagedToken: false,
    };
  };
  return { key: side(0), value: side(1) };
}

/**
 * Combined params: (2) per-tensor, (2,N,1,D)/(2,N,D)/(2,H) per-channel, (2,B,S) per-token. Every
 * per-channel shape flattens to h·D + d per side.
 */
function combinedIndex(scale: Tensor, mode: number, headDim: number): ParamIndex {
  const shape = scale.shape;
  if (mode === 1) {
    const s = contiguousStrides(shape);
    return { base: 0, batch: s[1]!, head: 0, token: s[2]!, dim: 0 };
  }
  if (shape.length === 1) return { base: 0, batch: 0, head: 0, token: 0, dim: 0 };
  return { base: 0, batch: 0, head: headDim, token: 0, dim: 1 };
}

/** Separate params, by mode (SEMANTICS §8 table). N = KV_N. */
function separateIndex(scale: Tensor, mode: number, headDim: number): ParamIndex {
  const shape = scale.shape;
  const base = 0;
  const s = contiguousStrides(shape);
  const n = numel(shape);
  switch (mode) {
    case 0:
      // (1) per-tensor, or per-channel over (KV_N, D) flattened in every accepted shape.
      return n === 1 ? { base, batch: 0, head: 0, token: 0, dim: 0 } : { base, batch: 0, head: headDim, token: 0, dim: 1 };
    case 1: // (1,B,S) or (B,S): per-token
      return { base, batch: s[shape.length - 2]!, head: 0, token: s[shape.length - 1]!, dim: 0 };
    case 2: // (N): per-tensor per-head
      return { base, batch: 0, head: 1, token: 0, dim: 0 };
    case 3: // (B,N,S)
      return { base, batch: s[0]!, head: s[1]!, token: s[2]!, dim: 0 };
    case 4: // (blockNum, blockSize): b = block id, t = slot
      return { base, batch: s[0]!, head: 0, token: s[1]!, dim: 0 };
    case 5: // (blockNum, N, blockSize)
      return { base, batch: s[0]!, head: s[1]!, token: s[2]!, dim: 0 };
    default:
      throw new Error(`antiquant mode ${mode} reached normalize`);
  }
}
