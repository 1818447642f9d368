// The 39 parameters of aclnnFusedInferAttentionScoreV2GetWorkspaceSize in the doc's order (37
// inputs, then the two outputs): one row each with what the port needs to know about it. The
// lists validation walks, the named options' defaults and the reference's host reads are derived
// from this table; `FiaInputs` is the same list as a TypeScript interface, and the compiler holds
// the two together (`ParamTable` below).
import { numel, type IntArray, type Tensor, type TensorList } from '../acl/tensor.js';

export const INT_MAX = 2147483647;

/**
 * The 37 inputs of aclnnFusedInferAttentionScoreV2GetWorkspaceSize plus its two outputs, by the
 * doc's names without the `Optional` suffix. `null`/`undefined` = nullptr.
 */
// PARAMS below is the table of these parameters; it must name exactly these fields (the compiler checks).
export interface FiaInputs {
  query: Tensor | null;
  key: TensorList | null;
  value: TensorList | null;
  pseShift?: Tensor | null;
  attenMask?: Tensor | null;
  actualSeqLengths?: IntArray | null;
  actualSeqLengthsKv?: IntArray | null;
  deqScale1?: Tensor | null;
  quantScale1?: Tensor | null;
  deqScale2?: Tensor | null;
  quantScale2?: Tensor | null;
  quantOffset2?: Tensor | null;
  antiquantScale?: Tensor | null;
  antiquantOffset?: Tensor | null;
  blockTable?: Tensor | null;
  queryPaddingSize?: Tensor | null;
  kvPaddingSize?: Tensor | null;
  keyAntiquantScale?: Tensor | null;
  keyAntiquantOffset?: Tensor | null;
  valueAntiquantScale?: Tensor | null;
  valueAntiquantOffset?: Tensor | null;
  keySharedPrefix?: Tensor | null;
  valueSharedPrefix?: Tensor | null;
  actualSharedPrefixLen?: IntArray | null;
  numHeads: number;
  scaleValue: number;
  preTokens: number;
  nextTokens: number;
  inputLayout: string | null;
  numKeyValueHeads: number;
  sparseMode: number;
  innerPrecise: number;
  blockSize: number;
  antiquantMode: number;
  softmaxLseFlag: boolean;
  keyAntiquantMode: number;
  valueAntiquantMode: number;
  attentionOut: Tensor | null;
  softmaxLse?: Tensor | null;
  /**
   * Port extensions beyond the operator (docs/semantics.md, "Extensions beyond the operator"):
   * not one of the 39 parameters, so the positional GetWorkspaceSize never sets it; the named
   * wrapper (fusedInferAttentionScore) fills it from its options.
   */
  extensions?: FiaExtensions | null;
}

/** The extensions beyond the operator (FiaInputs.extensions). */
export interface FiaExtensions {
  /** FLOAT32 [N]: a sink logit per query head that joins every row's softmax denominator. */
  learnableSink?: Tensor | null;
  /** Scores become softcap·tanh(s / softcap) after scaling and pseShift; 0 or absent: off. */
  softcap?: number;
  /**
   * Each query row attends only the last `slidingWindow` keys up to its own position (aligned to
   * the end of its KV, as sparseMode 3), on top of every other rule; 0 or absent: off.
   */
  slidingWindow?: number;
}

/**
 * The extension tensors' rows, read like PARAMS rows by the argument checks: learnableSink is
 * copied into the workspace (its N values beside the KV lengths), never bound.
 */
export const EXTENSION_TENSORS = {
  learnableSink: { kind: 'tensor', empty: 'rejected', copied: 'always' },
} as const satisfies { readonly [K in keyof FiaExtensions]?: ParamSpec };
export type ExtensionTensor = keyof typeof EXTENSION_TENSORS;


/**
 * - kind: the C type (tensor, tensor list, int array, int64, double, bool, char* layout).
 * - required: null is 161001 (attentionOut; softmaxLse is required only with softmaxLseFlag).
 * - default: the named options' default (fusedInferAttentionScore); scalars without one are required there.
 * - contiguous 'doc': the doc forbids non-contiguous ones (the port rejects the other tensors too).
 * - empty: what a 0-element tensor means: 'absent' (counts as not given, VALIDATION §19) or
 *   'rejected' (port: a per-tensor/per-channel parameter with no element; pass null).
 * - copied: copied into the workspace's aux region with copyBufferToBuffer (src/kernels/aux.ts):
 *   'always' when given, 'whenActive' only when its left padding is active (then never read otherwise).
 * - host: how readHostInputs decodes it for the reference: 'values' (float64 row-major), 'kv'
 *   (INT4 words unpacked), 'scalar' (one float; UINT64: the float32 in the low word).
 */
export interface ParamSpec {
  kind: 'tensor' | 'tensorList' | 'intArray' | 'int64' | 'double' | 'bool' | 'layout';
  required?: true;
  output?: true;
  default?: number | boolean | string;
  contiguous?: 'doc';
  empty?: 'absent' | 'rejected';
  copied?: 'always' | 'whenActive';
  host?: 'values' | 'kv' | 'scalar';
}

/** Every FiaInputs parameter exactly once (a missing or unknown name does not compile). */
type ParamTable = { readonly [K in Exclude<keyof FiaInputs, 'extensions'>]-?: ParamSpec };

export const PARAMS = {
  query: { kind: 'tensor', required: true, contiguous: 'doc' },
  key: { kind: 'tensorList', required: true, contiguous: 'doc' },
  value: { kind: 'tensorList', required: true, contiguous: 'doc' },
  pseShift: { kind: 'tensor', contiguous: 'doc', empty: 'absent', host: 'values' },
  attenMask: { kind: 'tensor', contiguous: 'doc', empty: 'absent', host: 'values' },
  actualSeqLengths: { kind: 'intArray' },
  actualSeqLengthsKv: { kind: 'intArray' },
  deqScale1: { kind: 'tensor', empty: 'rejected', copied: 'always', host: 'scalar' },
  quantScale1: { kind: 'tensor', empty: 'rejected', copied: 'always', host: 'scalar' },
  deqScale2: { kind: 'tensor', empty: 'rejected', copied: 'always', host: 'scalar' },
  quantScale2: { kind: 'tensor', empty: 'rejected', host: 'values' },
  quantOffset2: { kind: 'tensor', empty: 'absent', host: 'values' },
  antiquantScale: { kind: 'tensor', empty: 'rejected', host: 'values' },
  antiquantOffset: { kind: 'tensor', empty: 'rejected', host: 'values' },
  blockTable: { kind: 'tensor' },
  queryPaddingSize: { kind: 'tensor', copied: 'whenActive' },
  kvPaddingSize: { kind: 'tensor', copied: 'whenActive' },
  keyAntiquantScale: { kind: 'tensor', empty: 'rejected', host: 'values' },
  keyAntiquantOffset: { kind: 'tensor', empty: 'rejected', host: 'values' },
  valueAntiquantScale: { kind: 'tensor', empty: 'rejected', host: 'values' },
  valueAntiquantOffset: { kind: 'tensor', empty: 'rejected', host: 'values' },
  keySharedPrefix: { kind: 'tensor', contiguous: 'doc', host: 'kv' },
  valueSharedPrefix: { kind: 'tensor', contiguous: 'doc', host: 'kv' },
  actualSharedPrefixLen: { kind: 'intArray' },
  numHeads: { kind: 'int64' },
  scaleValue: { kind: 'double', default: 1.0 },
  preTokens: { kind: 'int64', default: INT_MAX },
  nextTokens: { kind: 'int64', default: INT_MAX },
  inputLayout: { kind: 'layout', default: 'BSH' },
  numKeyValueHeads: { kind: 'int64', default: 0 },
  sparseMode: { kind: 'int64', default: 0 },
  innerPrecise: { kind: 'int64', default: 0 },
  blockSize: { kind: 'int64', default: 0 },
  antiquantMode: { kind: 'int64', default: 0 },
  softmaxLseFlag: { kind: 'bool', default: false },
  keyAntiquantMode: { kind: 'int64', default: 0 },
  valueAntiquantMode: { kind: 'int64', default: 0 },
  attentionOut: { kind: 'tensor', required: true, output: true },
  softmaxLse: { kind: 'tensor', output: true },
} as const satisfies ParamTable;

type Params = typeof PARAMS;
export type ParamName = keyof Params;
/** The names whose row matches `Row`. */
type NamesWhere<Row> = { [K in ParamName]: Params[K] extends Row ? K : never }[ParamName];

/** The names of FiaInputs fields that hold a single device tensor. */
export type TensorParam = NamesWhere<{ kind: 'tensor' }>;
type HostParam<H extends ParamSpec['host']> = NamesWhere<{ host: H }>;

/** The 39 names in the doc's order. */
export const PARAM_NAMES = Object.keys(PARAMS) as readonly ParamName[];

function namesWhere<N extends ParamName>(test: (s: ParamSpec) => boolean): readonly N[] {
  return PARAM_NAMES.filter((n) => test(PARAMS[n])) as N[];
}

/** Null is 161001 (query, key, value, attentionOut), checked in this order. */
export const REQUIRED_PARAMS = namesWhere<NamesWhere<{ required: true }>>((s) => s.required === true);
/** Single-tensor parameters in the doc's order (outputs last). */
export const TENSOR_PARAMS = namesWhere<TensorParam>((s) => s.kind === 'tensor');
/** The int64 parameters (port: must be JS integers). */
export const INT_PARAMS = namesWhere<NamesWhere<{ kind: 'int64' }>>((s) => s.kind === 'int64');
export const INT_ARRAY_PARAMS = namesWhere<NamesWhere<{ kind: 'intArray' }>>((s) => s.kind === 'intArray');
/** How readHostInputs decodes each parameter tensor it reads whenever given. */
export const HOST_VALUES = namesWhere<HostParam<'values'>>((s) => s.host === 'values');
export const HOST_KV = namesWhere<HostParam<'kv'>>((s) => s.host === 'kv');
export const HOST_SCALARS = namesWhere<HostParam<'scalar'>>((s) => s.host === 'scalar');

/**
 * The operator's "given" for an optional tensor: non-null with at least one element. (A non-null
 * 0-element tensor is absent for the parameters whose row says so, rejected for the others.)
 */
export function given(t: Tensor | null | undefined): t is Tensor {
  return !!t && numel(t.shape) > 0;
}

/** An int array counts as given when it is non-null with at least one value. */
export function givenArray(a: IntArray | null | undefined): a is IntArray {
  return !!a && a.values.length > 0;
}

/** preTokens/nextTokens as the band reads them: clamped to ±INT_MAX. */
export function clampTokens(x: number): number {
  return Math.max(-INT_MAX, Math.min(INT_MAX, x));
}

/** Per-batch lengths from an actual-lengths array: absent → `fallback(b)`, one value → all, else the first B. */
export function resolveLengths(arr: IntArray | null | undefined, batch: number, fallback: (b: number) => number): number[] {
  return Array.from({ length: batch }, (_, b) =>
    !givenArray(arr) ? fallback(b) : arr.values.length === 1 ? arr.values[0]! : arr.values[b]!);
}
