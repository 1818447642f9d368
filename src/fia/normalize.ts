// Checked inputs → Problem. The checks (validate.ts) derive B, N, KV_N, D, the sequence lengths,
// the KV storage kind, the prefix and the padding while they check them; this file takes those
// facts as they are and adds only what the kernels and the reference read beyond them: the KV
// storage record, mask strides and band, pse strides, and which antiquant parameters apply and how
// they are indexed (defaults, broadcasts, which parameter wins, index strides).
import { contiguousStrides, numel, type Tensor } from '../acl/tensor.js';
import { kvElementDtype } from '../codec/dtype.js';
import { clampTokens, given } from '../problem/params.js';
import { isPackedInt4, outputStorage } from '../problem/dims.js';
import {
  type Antiquant, type Band, type FiaInputs, INT_MAX, type KvStorage, type MaskView,
  type ParamIndex, type Problem, type PseView, type TensorParam,
} from '../problem/problem.js';
import { type Checked, factsOf, resolveLens } from './validate.js';

// GetWorkspaceSize builds its Problem from its own check (problemOf); this serves tests and tools,
// reading the same facts (factsOf) with no rule checked.
/**
 * The Problem GetWorkspaceSize would plan for `inputs`, which the caller knows to be valid
 * (`validate` them first otherwise): no rule is checked here.
 */
export function normalize(inputs: FiaInputs): Problem {
  const facts = factsOf(inputs);
  resolveLens(facts);
  return problemOf(facts);
}

/** The Problem from the facts the checks derived. */
export function problemOf(c: Checked): Problem {
  const x = c.x;
  let kv: KvStorage;
  if (c.kind === 'paged') {
    const cacheLayout = c.keys[0]!.shape.length === 4 ? 'BNSD' : 'BSH';
    kv = {
      kind: 'paged', cacheLayout, blockSize: x.blockSize, maxBlocksPerSeq: x.blockTable!.shape[1]!, numBlocks: c.keys[0]!.shape[0]!,
    };
  } else if (c.kind === 'list') {
    kv = { kind: 'list', kvLayout: c.qLayout, seqLens: c.entrySeqLens };
  } else {
    kv = { kind: 'dense', kvLayout: c.qLayout, seqLen: c.KV_S };
  }
  const { mask, band } = maskAndBand(c);
  return {
    isDecode: c.decode, layout: c.layout, queryLayout: c.qLayout, outLayout: outputStorage(c.layout),
    batch: c.B, numQoHeads: c.N, numKvHeads: c.KV_N, groupSize: c.N / c.KV_N, headDim: c.D,
    qSeqLen: c.Q_S, kvSeqLen: c.KV_S, scaleValue: x.scaleValue,
    queryDtype: c.qd, kvDtype: kvElementDtype(c.kd), outDtype: c.od,
    qLens: c.qLens, kvLens: c.kvLens, qLeftPadding: c.qPadActive, kvLeftPadding: c.kvPadActive, kv,
    prefix: c.P > 0 ? { len: c.P, seqLen: c.prefixSeqLen } : null,
    mask, band, sparseMode: c.decode ? 0 : x.sparseMode,
    pse: pseView(x.pseShift),
    innerPrecise: x.innerPrecise,
    softmaxLse: !!x.softmaxLseFlag,
    antiquant: antiquantOf(c),
    int8Attention: c.qd === 'INT8'
      ? { deqScale1Dtype: x.deqScale1!.dtype, deqScale2Dtype: x.deqScale2!.dtype } : null,
    outQuant: c.od === 'INT8' ? {
      perChannel: numel(x.quantScale2!.shape) > 1,
      dtype: x.quantScale2!.dtype,
      hasOffset: given(x.quantOffset2),
    } : null,
    learnableSink: given(x.extensions?.learnableSink),
    softcap: x.extensions?.softcap ?? 0,
    slidingWindow: x.extensions?.slidingWindow ?? 0,
  };
}

/** Mask strides and the band predicate for sparseMode (SEMANTICS §3-4). */
function maskAndBand(c: Checked): { mask: MaskView | null; band: Band | null } {
  const { x: inputs, decode: isDecode } = c;
  const m = given(inputs.attenMask) ? inputs.attenMask : null;
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
      return { mask: view(), band: c.paddingGiven ? null : { anchor: 'topLeft', preTokens: pre, nextTokens: next } };
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
function antiquantOf(c: Checked): Problem['antiquant'] {
  const { x: inputs, decode: isDecode, D: headDim } = c;
  if (!(c.kd === 'INT8' || isPackedInt4(c.keys[0])) || c.qd === 'INT8') return null;
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
