// The device tensors a kernel reads and writes, by role. The operator names its 39 parameters
// after the CANN signature, with alternatives for one role (antiquantScale or keyAntiquantScale,
// by antiquantMode) and parameters a problem ignores (queryPaddingSize without
// actualSeqLengths, softmaxLse without its flag). Which parameter serves which role is decided
// once, here, from the Problem; the kernels see only roles, each null where the problem does not
// use it, and never read a parameter by its operator name.
import type { Tensor } from '../acl/tensor.js';
import { type FiaInputs, given } from './params.js';
import type { Problem } from './problem.js';

export interface KernelTensors {
  query: Tensor;
  /** K and V: one tensor each (dense K/V or the paged pool), or one per batch (tensor-list KV). */
  key: readonly Tensor[];
  value: readonly Tensor[];
  out: Tensor;
  /** softmaxLse [B, N, Q_S, 1] FLOAT32 (softmaxLseFlag). */
  lse: Tensor | null;
  pse: Tensor | null;
  mask: Tensor | null;
  blockTable: Tensor | null;
  /** Shared prefix K/V (keySharedPrefix, valueSharedPrefix). */
  keyPrefix: Tensor | null;
  valuePrefix: Tensor | null;
  /**
   * Antiquant parameters of K and of V, from whichever operator parameters the problem's
   * antiquant mode reads (problem.antiquant); K and V may share one tensor (antiquantScale).
   */
  keyScale: Tensor | null;
  keyOffset: Tensor | null;
  valueScale: Tensor | null;
  valueOffset: Tensor | null;
  /** INT8 attentionOut: quantScale2, quantOffset2. */
  outScale: Tensor | null;
  outOffset: Tensor | null;
  /** Left padding counts (queryPaddingSize, kvPaddingSize), read on the device. */
  queryPad: Tensor | null;
  kvPad: Tensor | null;
  /** INT8 query/key/value: the score, P and output scales (deqScale1, quantScale1, deqScale2). */
  deqScale1: Tensor | null;
  quantScale1: Tensor | null;
  deqScale2: Tensor | null;
  /** The learnable sink FLOAT32 [N] (extension), copied into the workspace's meta region. */
  sink: Tensor | null;
}

/**
 * The roles of a call's inputs for `problem` (validated: every tensor the problem uses is given).
 * A role is null where the problem does not use it, whatever the parameter holds.
 */
export function kernelTensors(problem: Problem, x: FiaInputs): KernelTensors {
  const when = (used: boolean, t: Tensor | null | undefined): Tensor | null => (used && given(t) ? t : null);
  const aq = problem.antiquant;
  const param = (name: keyof FiaInputs | null | undefined): Tensor | null => (name ? when(true, x[name] as Tensor | null | undefined) : null);
  const int8 = problem.int8Attention !== null;
  return {
    query: x.query!,
    key: x.key!.tensors.map((t) => t!),
    value: x.value!.tensors.map((t) => t!),
    out: x.attentionOut!,
    lse: when(problem.softmaxLse, x.softmaxLse),
    pse: when(problem.pse !== null, x.pseShift),
    mask: when(problem.mask !== null, x.attenMask),
    blockTable: when(problem.kv.kind === 'paged', x.blockTable),
    keyPrefix: when(problem.prefix !== null, x.keySharedPrefix),
    valuePrefix: when(problem.prefix !== null, x.valueSharedPrefix),
    keyScale: param(aq?.key.scale),
    keyOffset: param(aq?.key.offset),
    valueScale: param(aq?.value.scale),
    valueOffset: param(aq?.value.offset),
    outScale: when(problem.outQuant !== null, x.quantScale2),
    outOffset: when(problem.outQuant?.hasOffset === true, x.quantOffset2),
    queryPad: when(problem.qLeftPadding, x.queryPaddingSize),
    kvPad: when(problem.kvLeftPadding, x.kvPaddingSize),
    deqScale1: when(int8, x.deqScale1),
    quantScale1: when(int8, x.quantScale1),
    deqScale2: when(int8, x.deqScale2),
    sink: when(problem.learnableSink, x.extensions?.learnableSink),
  };
}
