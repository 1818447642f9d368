// The public operator: CANN's two-phase API and the named-options wrapper (docs/design.md, "Host layer").
//
//   aclnnFusedInferAttentionScoreV2GetWorkspaceSize(37 inputs, attentionOut, softmaxLse)
//     checkInputs (arguments.ts, then the operator's rules in validate.ts) → Problem (problemOf,
//     on a plan-cache miss) → kernel choice → plan (current device) → workspace size
//     → { status, workspaceSize, executor }
//   aclnnFusedInferAttentionScoreV2(workspace, workspaceSize, executor, stream[, encoder]) → status
//   fusedInferAttentionScore(stream, { query, key, value, ...options }) → { attentionOut, softmaxLse }
//     (also the extensions beyond the operator, learnableSink, softcap and slidingWindow: FiaInputs.extensions,
//     which the positional GetWorkspaceSize never sets)
//
// Every non-zero status records its message for aclGetRecentErrMsg(); a rejected call writes nothing.
import { type DataType, isDataType, paddedByteLength } from '../codec/dtype.js';
import {
  AclnnError, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, type AclnnStatus,
  aclGetRecentErrMsg, invalid, setRecentErrMsg, statusOf,
} from '../acl/status.js';
import {
  aclrtGetDevice, aclrtSetDevice, checkStream, currentDeviceLoss, deviceLoss, popScopes, pushScopes, settleWork,
  type Stream, type WorkErrors,
} from '../acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, contiguousStrides, createBuffer, createEmptyTensor, type IntArray, placeholderBuffer, type Tensor,
  type TensorList,
} from '../acl/tensor.js';
import { axesOf, inputStorage, isLayout, outputStorage, shapeOf } from '../problem/dims.js';
import { FiaExecutor, runExecutor, runExecutorOwn } from './executor.js';
import { planFiaOn } from './plan.js';
import { type ParamName, PARAM_NAMES, PARAMS, type ParamSpec } from '../problem/params.js';
import type { FiaInputs, Layout } from '../problem/problem.js';
import { checkInputs } from './validate.js';

export { FiaExecutor } from './executor.js';

export interface GetWorkspaceSizeResult {
  status: AclnnStatus;
  /** Bytes of workspace the second phase needs (0: pass null). */
  workspaceSize: number;
  /** null unless status is ACLNN_SUCCESS. */
  executor: FiaExecutor | null;
}

/**
 * GetWorkspaceSize from a FiaInputs object (the 39 parameters by name). Plans for the current
 * device (aclrtSetDevice, or the first createStream): none → 361001.
 */
export function fiaGetWorkspaceSize(inputs: FiaInputs): GetWorkspaceSizeResult {
  try {
    const executor = createExecutor(inputs);
    return { status: ACLNN_SUCCESS, workspaceSize: executor.workspaceSize, executor };
  } catch (e) {
    return { status: statusOf(e), workspaceSize: 0, executor: null };
  }
}

function createExecutor(raw: FiaInputs): FiaExecutor {
  const checked = checkInputs(raw);
  if (checked === null) return new FiaExecutor(null, { ...raw }, null, null, 0);
  const device = aclrtGetDevice();
  if (device === null) {
    const loss = currentDeviceLoss();
    throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, loss !== null
      ? `current device: ${loss}; create a stream on a new device (createStream) or call aclrtSetDevice`
      : 'no current device: call aclrtSetDevice(device) or createStream(device) before GetWorkspaceSize');
  }
  const loss = deviceLoss(device);
  if (loss !== null) throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, `current device: ${loss}`);
  const { problem, plan } = planFiaOn(device, raw, checked);
  // The executor keeps its own copy of the inputs object (a caller may reuse theirs).
  return new FiaExecutor(device, { ...raw }, problem, plan, plan.workspaceBytes);
}

/**
 * aclnnFusedInferAttentionScoreV2GetWorkspaceSize: the 37 inputs in the doc's order, then
 * attentionOut and softmaxLse (CANN's workspaceSize/executor out-pointers are the result's fields).
 */
export function aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
  query: Tensor | null, key: TensorList | null, value: TensorList | null,
  pseShiftOptional: Tensor | null, attenMaskOptional: Tensor | null,
  actualSeqLengthsOptional: IntArray | null, actualSeqLengthsKvOptional: IntArray | null,
  deqScale1Optional: Tensor | null, quantScale1Optional: Tensor | null, deqScale2Optional: Tensor | null,
  quantScale2Optional: Tensor | null, quantOffset2Optional: Tensor | null,
  antiquantScaleOptional: Tensor | null, antiquantOffsetOptional: Tensor | null,
  blockTableOptional: Tensor | null, queryPaddingSizeOptional: Tensor | null, kvPaddingSizeOptional: Tensor | null,
  keyAntiquantScaleOptional: Tensor | null, keyAntiquantOffsetOptional: Tensor | null,
  valueAntiquantScaleOptional: Tensor | null, valueAntiquantOffsetOptional: Tensor | null,
  keySharedPrefixOptional: Tensor | null, valueSharedPrefixOptional: Tensor | null,
  actualSharedPrefixLenOptional: IntArray | null,
  numHeads: number, scaleValue: number, preTokens: number, nextTokens: number, inputLayout: Layout | null,
  numKeyValueHeads: number, sparseMode: number, innerPrecise: number, blockSize: number, antiquantMode: number,
  softmaxLseFlag: boolean, keyAntiquantMode: number, valueAntiquantMode: number,
  attentionOut: Tensor | null, softmaxLse: Tensor | null,
): GetWorkspaceSizeResult {
  return fiaGetWorkspaceSize({
    query, key, value,
    pseShift: pseShiftOptional, attenMask: attenMaskOptional,
    actualSeqLengths: actualSeqLengthsOptional, actualSeqLengthsKv: actualSeqLengthsKvOptional,
    deqScale1: deqScale1Optional, quantScale1: quantScale1Optional, deqScale2: deqScale2Optional,
    quantScale2: quantScale2Optional, quantOffset2: quantOffset2Optional,
    antiquantScale: antiquantScaleOptional, antiquantOffset: antiquantOffsetOptional,
    blockTable: blockTableOptional, queryPaddingSize: queryPaddingSizeOptional, kvPaddingSize: kvPaddingSizeOptional,
    keyAntiquantScale: keyAntiquantScaleOptional, keyAntiquantOffset: keyAntiquantOffsetOptional,
    valueAntiquantScale: valueAntiquantScaleOptional, valueAntiquantOffset: valueAntiquantOffsetOptional,
    keySharedPrefix: keySharedPrefixOptional, valueSharedPrefix: valueSharedPrefixOptional,
    actualSharedPrefixLen: actualSharedPrefixLenOptional,
    numHeads, scaleValue, preTokens, nextTokens, inputLayout, numKeyValueHeads, sparseMode, innerPrecise,
    blockSize, antiquantMode, softmaxLseFlag, keyAntiquantMode, valueAntiquantMode,
    attentionOut, softmaxLse,
  });
}

/**
 * aclnnFusedInferAttentionScoreV2: queues the executor's work on `stream` (null: the planned
 * device's stream). `workspace` holds at least `workspaceSize` ≥ GetWorkspaceSize's bytes, usage
 * STORAGE | COPY_DST | COPY_SRC (null when 0 bytes are needed). Port extension: pass a
 * GPUCommandEncoder to record into it instead of submitting (the caller submits).
 * Statuses: 161001 null executor/workspace/stream, 161002 an argument that is not an executor,
 * buffer, stream or encoder, a workspace too small or unusable, 361001 a stream on another device
 * or a lost device, 561000 an internal fault while encoding. Device errors of the run surface at
 * the stream's next aclrtSynchronizeStream (361001), and only there.
 */
export function aclnnFusedInferAttentionScoreV2(
  workspace: GPUBuffer | null, workspaceSize: number, executor: FiaExecutor | null, stream: Stream | null,
  encoder?: GPUCommandEncoder,
): AclnnStatus {
  try {
    return runExecutor(executor, workspace, workspaceSize, stream, encoder);
  } catch (e) {
    return statusOf(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Named options (torch_npu's npu_fused_infer_attention_score style)

type KvArg = Tensor | readonly Tensor[] | TensorList;
type LengthsArg = readonly number[] | IntArray;

/**
 * The named options: the operator's inputs by their FiaInputs names (the optional parameter tensors
 * as FiaInputs types them), key/value as one tensor, an array or a list, the int arrays as arrays
 * or aclIntArrays, and the scalars optional with the doc's defaults. attentionOut and softmaxLse
 * are allocated by the call; `outDtype` picks attentionOut's dtype.
 */
export interface FusedInferAttentionScoreOptions extends Pick<FiaInputs,
  | 'pseShift' | 'attenMask' | 'deqScale1' | 'quantScale1' | 'deqScale2' | 'quantScale2' | 'quantOffset2'
  | 'antiquantScale' | 'antiquantOffset' | 'blockTable' | 'queryPaddingSize' | 'kvPaddingSize' | 'keyAntiquantScale'
  | 'keyAntiquantOffset' | 'valueAntiquantScale' | 'valueAntiquantOffset' | 'keySharedPrefix' | 'valueSharedPrefix'> {
  query: Tensor;
  key: KvArg;
  value: KvArg;
  actualSeqLengths?: LengthsArg | null;
  actualSeqLengthsKv?: LengthsArg | null;
  actualSharedPrefixLen?: LengthsArg | null;
  /** Required: query heads N. */
  numHeads: number;
  /** Default 1.0. */
  scaleValue?: number;
  /** Default 2147483647. */
  preTokens?: number;
  /** Default 2147483647. */
  nextTokens?: number;
  /** Default "BSH". */
  inputLayout?: Layout;
  /** Default 0 (= numHeads). */
  numKeyValueHeads?: number;
  /** Default 0. */
  sparseMode?: number;
  /** Default 0 (the doc names no default; torch_npu uses 0). */
  innerPrecise?: number;
  /** Default 0. */
  blockSize?: number;
  /** Default 0. */
  antiquantMode?: number;
  /** Default false. */
  softmaxLseFlag?: boolean;
  /** Default 0. */
  keyAntiquantMode?: number;
  /** Default 0. */
  valueAntiquantMode?: number;
  /**
   * attentionOut dtype. Default: INT8 when quantScale2 is given, FLOAT16 for an INT8 query, else
   * the query dtype.
   */
  outDtype?: DataType;
  /**
   * Extension beyond the operator: FLOAT32 [N], a sink logit per query head that joins every
   * row's softmax denominator (and softmaxLse) with no value.
   */
  learnableSink?: Tensor | null;
  /**
   * Extension beyond the operator: scores become softcap·tanh(s / softcap) after scaleValue and
   * pseShift, before the mask. Default 0 (off); finite and ≥ 0.
   */
  softcap?: number;
  /**
   * Extension beyond the operator: query row i attends only the keys j with p − W < j ≤ p, where
   * p = i + kvLen − qLen is its position aligned to the end of its KV (the shared prefix counted),
   * on top of the mask, sparseMode and lengths. Decode attends the last W keys, and reads and
   * plans only those. Default 0 (off); an integer ≥ 0.
   */
  slidingWindow?: number;
}

export interface FusedInferAttentionScoreResult {
  /** Shape per layout: query's, or (B, Q_S, N, D) for BNSD_BSND. */
  attentionOut: Tensor;
  /** [B, N, Q_S, 1] FLOAT32 when softmaxLseFlag, else null. */
  softmaxLse: Tensor | null;
}

function toList(kv: KvArg | null | undefined): TensorList | null {
  if (kv == null) return null;
  if (Array.isArray(kv)) return aclCreateTensorList(kv as readonly Tensor[]);
  if ((kv as TensorList).kind === 'tensorList' || Array.isArray((kv as TensorList).tensors)) return kv as TensorList;
  return aclCreateTensorList([kv as Tensor]);
}

function toIntArray(a: LengthsArg | null | undefined): IntArray | null {
  if (a == null) return null;
  return Array.isArray(a) ? aclCreateIntArray(a as readonly number[]) : (a as IntArray);
}

/** FiaInputs from named options with the doc's defaults (outputs left null). */
export function inputsFromOptions(o: FusedInferAttentionScoreOptions): FiaInputs {
  const named = o as unknown as Record<string, unknown>;
  const inputs: Record<string, unknown> = {};
  for (const name of PARAM_NAMES) {
    const spec: ParamSpec = PARAMS[name];
    const v = named[name];
    inputs[name] = spec.output ? null
      : spec.kind === 'tensorList' ? toList(v as KvArg | null | undefined)
      : spec.kind === 'intArray' ? toIntArray(v as LengthsArg | null | undefined)
      : spec.kind === 'tensor' ? v ?? null
      // A scalar without a default (numHeads) stays as given: validation names a missing one.
      : v ?? spec.default;
  }
  if (o.learnableSink != null || o.softcap !== undefined || o.slidingWindow !== undefined) {
    inputs.extensions = { learnableSink: o.learnableSink ?? null, softcap: o.softcap, slidingWindow: o.slidingWindow };
  }
  return inputs as unknown as FiaInputs;
}

/** A shape of safe non-negative integers (anything else is left to validation to name). */
function isShape(s: unknown): s is number[] {
  return Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

/**
 * The output shapes for these inputs, read leniently (validation judges them): attentionOut in
 * the output layout, softmaxLse [B,N,Q_S,1]. Falls back to the query shape (or [1]) when it
 * cannot be read.
 */
function outputShapes(x: FiaInputs): { out: number[]; lse: number[] } {
  const q = x.query as { shape?: unknown } | null;
  const qShape = typeof q === 'object' && q !== null && isShape(q.shape) ? [...q.shape] : [1];
  const layout = x.inputLayout;
  const fallback = { out: qShape, lse: [1, 1, 1, 1] };
  if (!isLayout(layout) || !Number.isSafeInteger(x.numHeads) || x.numHeads < 1) return fallback;
  const qLayout = inputStorage(layout);
  if (qShape.length !== (qLayout === 'BSH' ? 3 : 4)) return fallback;
  const a = axesOf(qShape, qLayout, x.numHeads);
  if (!Number.isInteger(a.headDim)) return fallback;
  return { out: shapeOf(outputStorage(layout), a), lse: [a.batch, a.heads, a.seq, 1] };
}

function defaultOutDtype(x: FiaInputs): DataType {
  const q = isDataType(x.query?.dtype) ? x.query.dtype : 'FLOAT16';
  if (x.quantScale2 != null) return 'INT8';
  return q === 'INT8' ? 'FLOAT16' : q;
}

/** A buffer-shaped placeholder for validating before allocating (never bound). */
function placeholder(shape: readonly number[], dtype: DataType): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const size = Math.max(4, paddedByteLength(dtype, Math.max(0, n)));
  return { kind: 'tensor', buffer: placeholderBuffer(size), shape: [...shape], strides: contiguousStrides(shape), offset: 0, dtype, format: 'ND' };
}

/** GetWorkspaceSize planned for `stream`'s device (the current device is restored afterwards). */
function workspaceSizeOn(stream: Stream, inputs: FiaInputs): GetWorkspaceSizeResult {
  const previous = aclrtGetDevice();
  aclrtSetDevice(stream.device);
  try {
    return fiaGetWorkspaceSize(inputs);
  } finally {
    if (previous) aclrtSetDevice(previous);
  }
}

function fail(status: AclnnStatus): never {
  throw new AclnnError(status, aclGetRecentErrMsg());
}

/** Every option fusedInferAttentionScore knows: the table's inputs, outDtype, then the extensions. */
const OPTION_NAMES: readonly (keyof FusedInferAttentionScoreOptions)[] = [
  ...PARAM_NAMES.filter((n): n is Exclude<ParamName, 'attentionOut' | 'softmaxLse'> => !('output' in PARAMS[n])),
  'outDtype', 'learnableSink', 'softcap', 'slidingWindow',
];
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(OPTION_NAMES);

/** Levenshtein distance (names are short). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Length of the longest common subsequence (ties of edit distance: the name that keeps more of it). */
function commonSubsequence(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = [0];
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known option closest to `name`: a case-insensitive match, else the smallest edit distance
 * (case-insensitive), ties going to the longest common subsequence.
 */
function closestOption(name: string): string {
  const known = OPTION_NAMES;
  const lower = name.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best = known[0]!;
  let bestScore = [Infinity, 0];
  for (const k of known) {
    const score = [editDistance(lower, k.toLowerCase()), commonSubsequence(lower, k.toLowerCase())];
    if (score[0]! < bestScore[0]! || (score[0] === bestScore[0] && score[1]! > bestScore[1]!)) [best, bestScore] = [k, score];
  }
  return best;
}

function showOption(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a${typeof v === 'object' ? 'n object' : ` ${typeof v}`}`;
}

/** 161002 for an option fusedInferAttentionScore does not know (a typo would otherwise be a silent default). */
function checkOptionNames(opts: object): void {
  for (const name of Object.keys(opts)) {
    if (KNOWN_OPTIONS.has(name)) continue;
    throw invalid(`${name}=${showOption((opts as Record<string, unknown>)[name])}: unknown option; did you mean ${closestOption(name)}?`);
  }
}

/** A rejected wrapper call as an AclnnError (message recorded for aclGetRecentErrMsg). */
function asAclnnError(e: unknown): AclnnError {
  const status = statusOf(e);
  return e instanceof AclnnError ? e : new AclnnError(status, aclGetRecentErrMsg());
}

/** What a started wrapper call waits for, and what it frees on failure. */
interface StartedCall {
  stream: Stream;
  result: FusedInferAttentionScoreResult;
  /** This call's own device errors: its allocations, then its run. */
  errors: WorkErrors[];
  workspace: GPUBuffer | null;
}

function releaseOutputs(r: FusedInferAttentionScoreResult): void {
  r.attentionOut.buffer.destroy();
  r.softmaxLse?.buffer.destroy();
}

/**
 * The wrapper's checks and validation, against placeholders so a rejected call allocates nothing.
 * Throws AclnnError. The executor it plans is the real call's but for its outputs: preparing it
 * compiles the real call's pipelines.
 */
function checkCall(stream: Stream, opts: FusedInferAttentionScoreOptions): { inputs: FiaInputs; shapes: { out: number[]; lse: number[] }; outDtype: DataType; dry: FiaExecutor } {
  checkStream(stream);
  if (opts == null) throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, 'opts=null: the options object is required');
  if (typeof opts !== 'object') throw invalid(`opts=${showOption(opts)}: the options must be an object`);
  checkOptionNames(opts);
  if (opts.outDtype !== undefined && !isDataType(opts.outDtype)) {
    throw invalid(`outDtype=${showOption(opts.outDtype)}: not a known aclDataType`);
  }
  const inputs = inputsFromOptions(opts);
  const shapes = outputShapes(inputs);
  const outDtype = opts.outDtype ?? defaultOutDtype(inputs);
  // Validate against placeholders first, so a rejected call allocates nothing.
  const dry = workspaceSizeOn(stream, {
    ...inputs,
    attentionOut: placeholder(shapes.out, outDtype),
    softmaxLse: inputs.softmaxLseFlag ? placeholder(shapes.lse, 'FLOAT32') : null,
  });
  if (dry.status !== ACLNN_SUCCESS) fail(dry.status);
  return { inputs, shapes, outDtype, dry: dry.executor! };
}

/** The synchronous part of the wrapper after checkCall: allocation, planning on the outputs, submit. Throws AclnnError. */
function startCall(stream: Stream, checked: ReturnType<typeof checkCall>): StartedCall {
  const { inputs, shapes, outDtype } = checked;
  const device = stream.device;
  let result: FusedInferAttentionScoreResult | null = null;
  let workspace: GPUBuffer | null = null;
  let allocErrors: WorkErrors;
  let runErrors: WorkErrors;
  // This call's scopes: its allocations' errors are its own, not the stream's nor the application's.
  pushScopes(device);
  try {
    const attentionOut = createEmptyTensor(stream, shapes.out, outDtype, 'fia.attentionOut');
    result = { attentionOut, softmaxLse: null };
    if (inputs.softmaxLseFlag) result.softmaxLse = createEmptyTensor(stream, shapes.lse, 'FLOAT32', 'fia.softmaxLse');
    const real = workspaceSizeOn(stream, { ...inputs, ...result });
    if (real.status !== ACLNN_SUCCESS) fail(real.status);
    workspace = real.workspaceSize > 0 ? createBuffer(stream, real.workspaceSize, 'fia.workspace') : null;
    runErrors = runExecutorOwn(real.executor, workspace, real.workspaceSize, stream).errors;
  } catch (e) {
    if (result) releaseOutputs(result);
    workspace?.destroy();
    throw e;
  } finally {
    allocErrors = popScopes(device);
  }
  return { stream, result, errors: [allocErrors, runErrors], workspace };
}

/**
 * The operator with named options and the doc's defaults: validates (the same validate() as
 * GetWorkspaceSize, before anything is allocated), allocates attentionOut, softmaxLse (when
 * softmaxLseFlag) and the workspace, runs, waits for its own work and resolves to the outputs.
 * An option it does not know is rejected (161002, naming the closest known one).
 * Rejects with AclnnError { status, message } on any failure: 161001/161002 bad arguments,
 * 561101 not supported, 361001 a device error of this call or a lost device. Errors of other work
 * on the stream (other calls, the application's own) never fail this call.
 */
export async function fusedInferAttentionScore(
  stream: Stream, opts: FusedInferAttentionScoreOptions,
): Promise<FusedInferAttentionScoreResult> {
  let call: StartedCall;
  try {
    const checked = checkCall(stream, opts);
    // Compile off the thread first what the run needs (FiaExecutor.prepare 'first-call': a tiered
    // kernel's quick tier; its steady pipeline compiles in the background for later calls).
    const prepared = await checked.dry.prepare('first-call');
    // A device lost meanwhile is this call's runtime error, reported as the stream's (as a loss during the run is).
    const loss = deviceLoss(stream.device);
    if (loss !== null) throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, `stream: ${loss}`);
    if (prepared !== ACLNN_SUCCESS) throw new AclnnError(prepared, aclGetRecentErrMsg());
    call = startCall(stream, checked);
  } catch (e) {
    throw asAclnnError(e);
  }
  let failure: string | null;
  try {
    failure = await settleWork(call.stream, call.errors);
  } finally {
    call.workspace?.destroy();
  }
  if (failure !== null) {
    releaseOutputs(call.result);
    const message = `stream: ${failure}`;
    setRecentErrMsg(message);
    throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, message);
  }
  return call.result;
}
