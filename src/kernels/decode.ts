// Decode (Q_S == 1, the IncreFlashAttention branch): flash-decoding over (batch, KV head, KV split),
// then the LSE combine (combine.ts) unless there is one split. A kernel family (family.ts):
// decodeUnsupported / planDecode / layoutDecodeWorkspace / decodePipelineSources / encodeDecode.
//
// Three variants of the split pass, same grid, bindings, uniforms and outputs:
// - 'lanes' (shaders/common/decode_lanes.wgsl, D ≤ 128, GB·D ≤ 256): 4 invocations per workgroup, each a
//   lane with its own softmax state; q, scores and accumulators are named values in generated
//   straight-line code. Shaped for SwiftShader (caps.straightLineLanes: its JIT keeps only named
//   values in registers and every indexed load is a per-lane gather): K/V read once, no barrier
//   until the merge. It runs 3-6× faster there than 'tiles', but compiles in 1-5 s; other
//   adapters get 'tiles' (lavapipe's LLVM takes 12 s to minutes on the lanes code).
// - 'tiles' (shaders/decode.wgsl): workgroup-wide KV tiles with an online softmax, any G ≤ 64 and
//   D ≤ 512 (head blocks of at most 8 heads that fit workgroup memory). A first call (compile and
//   run) takes 0.3-0.45 s on SwiftShader, about 1 s on lavapipe.
// - 'quick' (shaders/common/decode_quick.wgsl): the compile tier of software adapters. Each
//   invocation keeps the softmax state of up to 4 heads (laneHeads) over a share of the split's
//   columns, in rolled loops with one site per kind of memory access; the states are merged
//   through workgroup memory at the end.
// Tiers: a plan on a fallback (software) adapter carries a quick plan (`quick`): 'quick' on the
// same grid and workspace, with the same KV splits or, where the grid is wide enough without
// them, one split written directly (no combine pass to compile). An encode with `tiered` set (the
// executor's) runs the quick plan while the plan's own pipelines compile off the thread, so the
// first call of a shape waits for the small compile only. Hardware adapters compile the steady kernel directly.
// K/V are read directly (dense, tensor list) or through the KV source (kvSource.ts: paged cache,
// shared prefix, INT8/INT4 antiquant) from copies in the workspace meta region.
// Extensions beyond the operator: the soft cap (capScore, a uniform) and the learnable sink, copied
// into the meta region (no binding of its own: the pass keeps its 8 storage buffers) and folded
// into split 0's state, so the combine counts it once. The sliding window: the splits cover only the
// window's last W columns (planned over min(P + KV_S, W) columns, started at each batch's first
// window column on the device), so a long KV with a short window costs a short decode.
import { EXTENSION_UNIFORM_FIELDS, encodeSinkCopy, extensionUniforms, softcapUnsupported } from './extensions.js';
import { type DataType, elementBits, isFloatType, kvElementsPerStored, wgslOf } from '../codec/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import { type AxisStrides, axisStrides } from '../problem/dims.js';
import type { Antiquant, Problem } from '../problem/problem.js';
import type { KernelTensors } from '../problem/tensors.js';
import { USAGE } from '../acl/usage.js';
import { AUX_BYTES, AUX_SLOTS, encodeAuxCopies } from './aux.js';
import { combineOutQuant, encodeCombine, splitCombineSource } from './combine.js';
import { elementRangeBinding, rebased, rebaseTensors, tensorBinding } from './binding.js';
import { type AxisRun, axisRuns, DEFAULT_CAPS, type DeviceCaps } from './caps.js';
import {
  dummyBuffer, elementsPerWord, fill, loaderFn, outBitsBody, outStoreWgsl, specKey, UniformBlock, uniformBuffer, wgsl,
  type WorkgroupArray, workgroupBytes, workgroupDecls, type PipelineSource, type PipelineTier, pipelineOf, readyPipeline,
} from './shader.js';
import {
  encodeKvSourceCopies, type KvSourceLayout, kvSourceSpec, kvSourceSpecKey, kvSourceUniformFields, kvSourceUniformValues,
  kvSourceUnsupported, kvSourceWgsl, layoutKvSource, MetaWordAllocator,
} from './kvSource.js';
import { kvSplits } from './splits.js';
import { bindingOf, type WorkspaceAllocator, type WorkspaceRegion } from './workspace.js';

export type DecodeVariant = 'lanes' | 'tiles' | 'quick';

export interface DecodePlan {
  /**
   * 'lanes': shaders/common/decode_lanes.wgsl, each invocation a lane with its own softmax state
   * in named registers (small head blocks); 'tiles': shaders/decode.wgsl, workgroup-wide tiles;
   * 'quick': shaders/common/decode_quick.wgsl, the compile tier (a quick plan's variant).
   */
  variant: DecodeVariant;
  /** Invocations per workgroup. */
  workgroupSize: number;
  /** KV columns per tile (the online-softmax step). */
  tileKeys: number;
  /**
   * Tiles, phase A: the KV columns each invocation scores per tile (divides tileKeys), so each q
   * read from workgroup memory feeds that many columns. CPU adapters: 4 (lavapipe, FLOAT16 B4 N8
   * KV_N2 KV_S 8192 D64: 0.46 against 0.61-0.73 of the previous kernel's time with 1); elsewhere
   * 1, so every invocation of a 64-column tile loads K. Lanes: 1 (unused).
   */
  scoreColumns: number;
  /**
   * Quick: the heads each invocation keeps (HL: one HV register of up to 4 heads per value, so each
   * K/V element read feeds HL heads). 4 where the head block and D allow on SwiftShader, whose
   * run of a FLOAT16 B4 N8 KV_N2 KV_S 8192 D64 decode took 0.2 s with 4 against 0.4 s with 1;
   * 1 elsewhere: lavapipe compiled the vec4 form in 0.45 s against 0.25 s (its run: 33 against
   * 54 ms). Other variants: 1 (unused).
   */
  laneHeads: number;
  /** Query heads per workgroup (divides groupSize) and head blocks per KV head. */
  headBlock: number;
  numHeadBlocks: number;
  /** Output elements each invocation accumulates (even). */
  elemsPerInvocation: number;
  /**
   * KV splits: split s covers logical columns [s·splitLen, (s+1)·splitLen), counted from the
   * batch's first sliding-window column (from column 0 when kvRange is set: splitColumns in
   * shaders/common/decode_io.wgsl); planned over the window's columns only.
   */
  numSplits: number;
  splitLen: number;
  /** One split written straight to attentionOut: no partials, no combine pass. */
  direct: boolean;
  /**
   * Lanes variant: merge the lane states with subgroup operations (device has `subgroups`). The
   * workgroup is LANES = 4 invocations and WebGPU's subgroups hold at least 4 (subgroupMinSize ≥ 4),
   * so one subgroup holds the whole workgroup whatever the device's size (4 on SwiftShader, 8 on
   * lavapipe, up to 128): no size is assumed beyond the API's minimum.
   */
  subgroupMerge: boolean;
  /**
   * The grid (B, KV_N · numHeadBlocks, numSplits) in dispatches of at most this many batches and
   * splits (the device's maxComputeWorkgroupsPerDimension); the combine folds by the same limit.
   */
  batchesPerDispatch: number;
  splitsPerDispatch: number;
  /** Grid y (KV head · head block) per dispatch; a multiple of numHeadBlocks when kvRange is set. */
  yPerDispatch: number;
  maxWorkgroupsPerDimension: number;
  /**
   * Dense K/V larger than one storage binding: each dispatch (one batch, headsPerDispatch KV
   * heads, splits of at most rowsPerDispatch rows in all) binds only the K/V range it reads.
   * null: K and V are bound whole.
   */
  kvRange: { headsPerDispatch: number; rowsPerDispatch: number } | null;
  /** Workgroup storage the split pass declares (decodeWorkgroupArrays), within the device limit unless decodeUnsupported says otherwise. */
  workgroupStorageBytes: number;
  /**
   * A plan chosen by the planner for a fallback adapter: the 'quick' plan with the same grid and
   * workspace, and the same KV splits or one written directly (quickOnGrid), which tiered encodes
   * run until the plan's own pipelines are compiled. null otherwise (hardware adapters, forced
   * variants, or a head block whose quick state does not fit workgroup memory).
   */
  quick: DecodePlan | null;
  /** How the split pass addresses K/V, from the planned tensors (part of the shader: fixed by the plan). */
  access: KvAccess;
}

export interface DecodeRegions {
  /** aux scalars (AUX_BYTES), kvLens u32[B], then the KV source's copies (kvSource). */
  meta: WorkspaceRegion;
  /** Paged / prefix / antiquant problems: where the KV source's copies sit in the meta region. */
  kvSource: KvSourceLayout | null;
  /** Split mode: f32 partial out [B·N][numSplits][D] and lse [B·N][numSplits]. */
  partOut: WorkspaceRegion | null;
  partLse: WorkspaceRegion | null;
}

export interface DecodePlanOptions {
  /** Force the number of KV splits (tests); the plan still clamps it to [1, the columns the splits cover]. */
  numSplits?: number;
  /** Force the KV tile (tuning). */
  tileKeys?: number;
  /** Force the tiles variant's score columns per invocation (tests; 1 when it does not divide the tile). */
  scoreColumns?: number;
  /** Quick: at most this many heads per invocation (tests; the largest that fits, 1 at least). */
  laneHeads?: number;
  /**
   * Force the variant (tests cover each); a forced plan has no quick plan. 'quick': the quick
   * tier itself, on the grid of the plan the planner would choose.
   */
  variant?: DecodeVariant;
  /** Workgroups the split count aims for (tuning). */
  targetWorkgroups?: number;
  /** Merge lane states through workgroup memory even when the device has subgroups (tests). */
  noSubgroups?: boolean;
}

/** K/V come through the KV source (kvSource.ts): paged cache, shared prefix or INT8/INT4 antiquant. */
export function usesKvSource(problem: Problem): boolean {
  return problem.kv.kind === 'paged' || problem.prefix !== null || problem.antiquant !== null;
}

/**
 * null when the decode kernel computes `problem` exactly on a device with `caps` (default: the
 * WebGPU defaults); else the unsupported feature.
 */
export function decodeUnsupported(problem: Problem, caps: DeviceCaps = DEFAULT_CAPS): string | null {
  if (!problem.isDecode) return 'Q_S > 1 (decode handles Q_S == 1)';
  if (!isFloatType(problem.queryDtype)) return `query dtype ${problem.queryDtype} in decode`;
  const int8Out = problem.outDtype === 'INT8' && !!problem.outQuant;
  if (!isFloatType(problem.outDtype) && !int8Out) return `attentionOut dtype ${problem.outDtype} in decode`;
  if (problem.int8Attention) return 'INT8 attention in decode';
  if (!isFloatType(problem.kvDtype) && !problem.antiquant) return `key/value dtype ${problem.kvDtype} without antiquant in decode`;
  if (usesKvSource(problem)) {
    const reason = kvSourceUnsupported(problem);
    if (reason) return reason;
  }
  if (problem.groupSize > 64) return `groupSize ${problem.groupSize} > 64 in decode`;
  if (problem.headDim > 512) return `headDim ${problem.headDim} > 512 in decode`;
  const softcap = softcapUnsupported(problem);
  if (softcap) return softcap;
  const plan = planDecode(problem, caps);
  if (plan.workgroupStorageBytes > caps.maxWorkgroupStorageBytes) {
    return `headDim ${problem.headDim}: ${plan.workgroupStorageBytes} bytes of workgroup storage for one query head `
      + `(the device allows ${caps.maxWorkgroupStorageBytes})`;
  }
  return null;
}

/** Largest divisor of G accepted by `fits` (the working set must fit workgroup memory / the unroll limit); 0 if none. */
function largestDivisor(groupSize: number, fits: (gb: number) => boolean): number {
  for (let gb = groupSize; gb >= 1; gb--) {
    if (groupSize % gb === 0 && fits(gb)) return gb;
  }
  return 0;
}

/** What the split pass's workgroup arrays depend on. */
interface WorkgroupShape {
  variant: DecodeVariant;
  headBlock: number;
  laneHeads: number;
  headDim: number;
  tileKeys: number;
  workgroupSize: number;
  /** Lanes: the score stash per head (stashLen). */
  stash: number;
  subgroupMerge: boolean;
}

/**
 * Every `var<workgroup>` of the split pass, declared from this list (WORKGROUP in the shaders)
 * and counted from it by the plan. Lanes: wmem holds the score stash and, without subgroups, the
 * published lane states (m, l, classes, GB·D accumulators per lane). Tiles: q, scores, per-head
 * m / alpha / classes, the tile's kept-column flags. Quick: wmem holds its S lane states (m, l,
 * classes, GB·D accumulators each), laid out as lanes lays out its lanes (decode_merge.wgsl).
 */
export function decodeWorkgroupArrays(w: WorkgroupShape): WorkgroupArray[] {
  const GB = w.headBlock;
  if (w.variant === 'quick') {
    // S = WG / (GB / HL) lane states of every head of the block (decode_merge.wgsl's layout).
    const laneStates = w.workgroupSize / (GB / w.laneHeads);
    return [{ name: 'wmem', elem: 'f32', length: laneStates * (3 * GB + GB * w.headDim) }];
  }
  const window: WorkgroupArray[] = ['wgTotal', 'wgStart', 'wgFirst'].map((name) => ({ name, elem: 'u32', length: 1, scalar: true }));
  if (w.variant === 'lanes') {
    const stash = GB * w.stash;
    const laneStates = w.workgroupSize * (3 * GB + GB * w.headDim);
    return [{ name: 'wmem', elem: 'f32', length: w.subgroupMerge ? stash : Math.max(stash, laneStates) }, ...window];
  }
  const GB4 = Math.ceil(GB / 4);
  const { quads, groups } = tilesQuads(w.headDim, w.workgroupSize);
  return [
    // q of 4 heads per vec4: dim d of heads 4·g4 .. at d·⌈GB/4⌉ + g4 (phase A's layout).
    { name: 'qs', elem: 'vec4<f32>', length: GB4 * w.headDim },
    // Scores of 4 heads per vec4 at t·⌈GB/4⌉ + g4; after the last tile, each column group's
    // partial sums (acc: GB · quads vec4, then l: ⌈GB/4⌉ vec4 per group).
    { name: 'sc', elem: 'vec4<f32>', length: Math.max(GB4 * w.tileKeys, groups * (GB * quads + GB4)) },
    // Four heads per vec4 (phase C reads alpha four heads at a time; padding heads: m NEG_MAX, alpha 1).
    { name: 'mW', elem: 'vec4<f32>', length: GB4 },
    { name: 'alphaW', elem: 'vec4<f32>', length: GB4 },
    { name: 'clsW', elem: 'u32', length: GB },
    { name: 'keptW', elem: 'u32', length: w.tileKeys },
    // The KV-source row base of each kept column (phase A → C).
    { name: 'kvBaseW', elem: 'u32', length: w.tileKeys },
    ...window,
  ];
}

/**
 * Tiles, phase C: invocation `lid` accumulates dims 4·q .. 4·q + 3 of every head of the block for
 * q = lid % laneQuads + j·laneQuads (j < quadsPerLane), over the columns t ≡ lid / laneQuads
 * (mod groups); the groups' sums are added after the last tile. One V read of 4 dims feeds GB
 * heads, and one score read of 4 heads feeds 4 dims.
 */
export interface TilesQuads {
  /** ⌈D / 4⌉ quads of dims per head. */
  quads: number;
  /** Invocations per column group (min(quads, WG)). */
  laneQuads: number;
  /** Column groups (⌊WG / laneQuads⌋). */
  groups: number;
  /** Quads each invocation owns (⌈quads / laneQuads⌉). */
  quadsPerLane: number;
}

export function tilesQuads(D: number, workgroupSize: number): TilesQuads {
  const quads = Math.ceil(D / 4);
  const laneQuads = Math.max(1, Math.min(quads, workgroupSize));
  return { quads, laneQuads, groups: Math.max(1, Math.floor(workgroupSize / laneQuads)), quadsPerLane: Math.ceil(quads / laneQuads) };
}

/**
 * The per-head register type HV of the tiles and quick variants (4 heads per vec4<f32> for blocks
 * of 3 or more, vec2<f32> / f32 for blocks of 2 / 1) with toHV / fromHV (from / to the vec4 of
 * heads that workgroup memory holds), hvAt (head i's value) and hvWith (head i replaced).
 */
function headVecWgsl(headBlock: number): string {
  const [type, to, from] = headBlock >= 3 ? ['vec4<f32>', 'v', 'h']
    : headBlock === 2 ? ['vec2<f32>', 'v.xy', 'vec4<f32>(h, 0.0, 0.0)'] : ['f32', 'v.x', 'vec4<f32>(h, 0.0, 0.0, 0.0)'];
  const vector = headBlock >= 2;
  return [
    `alias HV = ${type};`,
    `fn toHV(v: vec4<f32>) -> HV { return ${to}; }`,
    `fn fromHV(h: HV) -> vec4<f32> { return ${from}; }`,
    `fn hvAt(h: HV, i: u32) -> f32 { return ${vector ? 'h[i]' : 'h'}; }`,
    `fn hvWith(h: HV, i: u32, x: f32) -> HV { ${vector ? 'var v = h; v[i] = x; return v;' : 'return x;'} }`,
  ].join('\n');
}

/** Tiles: score columns per invocation on CPU adapters (DecodePlan.scoreColumns). */
const CPU_SCORE_COLUMNS = 4;

function scoreColumnsOf(tileKeys: number, caps: DeviceCaps, forced?: number): number {
  const columns = forced ?? (caps.fallbackAdapter ? CPU_SCORE_COLUMNS : 1);
  return tileKeys > 0 && tileKeys % columns === 0 ? columns : 1;
}

/**
 * Tiles: the most heads a workgroup takes. Phase C keeps 4 dims of every head of the block in
 * registers (GB · quadsPerLane vec4 accumulators), so larger groups run as several head blocks.
 */
const TILES_MAX_HEADS = 8;

/** Lanes variant: invocations per workgroup and the largest head block it unrolls (GB·D outputs). */
const LANES = 4;
const LANES_MAX_OUTPUTS = 256;
/**
 * Larger D goes to 'tiles': the unrolled lanes code grows with D and SwiftShader's compile time
 * with it (D 64·G 4: ~2 s, D 256: ~6 s for a first call), while a first call on tiles takes 0.3-0.45 s.
 */
const LANES_MAX_DIM = 128;
/** The lanes score stash holds splitLen rounded up to this, so nearby lengths share a pipeline. */
const STASH_ROUND = 64;
const stashLen = (plan: Pick<DecodePlan, 'splitLen'>): number => Math.ceil(plan.splitLen / STASH_ROUND) * STASH_ROUND;

/**
 * The decode plan of `problem` on a device with `caps`. `tensors`: the tensors the plan will run
 * with (their strides and offsets choose the K/V access path, which is part of the shader);
 * without them, contiguous tensors at offset 0.
 */
export function planDecode(problem: Problem, caps: DeviceCaps, opts: DecodePlanOptions = {}, tensors?: KernelTensors): DecodePlan {
  const { batch: B, numKvHeads: KVN, groupSize: G, headDim: D, kvSeqLen } = problem;
  const budget = Math.min(caps.maxWorkgroupStorageBytes, 32768);
  const subgroupsOk = caps.subgroups && !opts.noSubgroups;
  const lanesBytes = (gb: number, stash: number): number => workgroupBytes(decodeWorkgroupArrays({
    variant: 'lanes', headBlock: gb, laneHeads: 1, headDim: D, tileKeys: 0, workgroupSize: LANES, stash, subgroupMerge: subgroupsOk,
  }));
  const lanesBlock = largestDivisor(G, (gb) => gb * D <= LANES_MAX_OUTPUTS && lanesBytes(gb, STASH_ROUND) <= budget);
  const lanesFit = D <= LANES_MAX_DIM && lanesBlock > 0;
  const forced = opts.variant === 'quick' ? undefined : opts.variant;
  const variant = lanesFit ? (forced ?? (caps.straightLineLanes ? 'lanes' : 'tiles')) : 'tiles';
  const kvRange = kvRangeOf(problem, caps.maxStorageBindingBytes);
  // The columns the splits cover: a sliding window's W at most (unless K/V ranges are bound per
  // dispatch: their rows are fixed on the host, so the splits stay at absolute columns).
  const allCols = kvSeqLen + (problem.prefix?.len ?? 0);
  const kvCols = Math.max(1, problem.slidingWindow > 0 && !kvRange ? Math.min(allCols, problem.slidingWindow) : allCols);

  let tileKeys: number;
  let headBlock: number;
  let workgroupSize: number;
  let elemsPerInvocation: number;
  let maxSplitLen: number;
  if (variant === 'lanes') {
    headBlock = lanesBlock;
    workgroupSize = LANES;
    tileKeys = 0;
    elemsPerInvocation = 2 * Math.ceil((headBlock * D) / (2 * LANES));
    // The longest stash that fits (a multiple of STASH_ROUND; STASH_ROUND fits by the choice of headBlock).
    maxSplitLen = Math.floor(budget / 4 / headBlock / STASH_ROUND) * STASH_ROUND;
    while (maxSplitLen > STASH_ROUND && lanesBytes(headBlock, maxSplitLen) > budget) maxSplitLen -= STASH_ROUND;
  } else {
    tileKeys = opts.tileKeys ?? 64;
    const tilesBytes = (gb: number): number => workgroupBytes(decodeWorkgroupArrays({
      variant: 'tiles', headBlock: gb, laneHeads: 1, headDim: D, tileKeys, workgroupSize: tilesThreads(gb * D, caps).workgroupSize, stash: 0, subgroupMerge: false,
    }));
    // No head block fits: one head per workgroup, and decodeUnsupported reports the overflow.
    headBlock = Math.max(1, largestDivisor(G, (gb) => gb <= TILES_MAX_HEADS && tilesBytes(gb) <= budget));
    ({ workgroupSize, elemsPerInvocation } = tilesThreads(headBlock * D, caps));
    maxSplitLen = Infinity;
  }
  const numHeadBlocks = G / headBlock;

  if (kvRange) maxSplitLen = Math.min(maxSplitLen, kvRange.rowsPerDispatch);
  const { numSplits, splitLen } = kvSplits(kvCols, B * KVN * numHeadBlocks, { forced: opts.numSplits, target: opts.targetWorkgroups, maxSplitLen });
  // One split writes attentionOut directly (element-wise merged stores: any D, any offset); an
  // INT8 output goes through combine (the combine's store quantizes, SEMANTICS §9).
  const direct = numSplits === 1 && !problem.outQuant;
  // Grid (B, KV_N · head blocks, splits): every axis in runs within the per-dimension limit; with
  // a K/V range per dispatch, one batch, whole KV heads and as many splits as the range holds.
  const maxDim = caps.maxWorkgroupsPerDimension;
  const batchesPerDispatch = kvRange ? 1 : Math.max(1, Math.min(B, maxDim));
  const ySpan = kvRange ? kvRange.headsPerDispatch * numHeadBlocks : KVN * numHeadBlocks;
  const yPerDispatch = Math.max(1, ySpan <= maxDim || !kvRange ? Math.min(ySpan, maxDim) : numHeadBlocks);
  const splitsFit = kvRange ? Math.max(1, Math.floor(kvRange.rowsPerDispatch / splitLen)) : numSplits;
  const splitsPerDispatch = Math.max(1, Math.min(numSplits, splitsFit, maxDim));
  const subgroupMerge = variant === 'lanes' && subgroupsOk;
  const shape = {
    variant, workgroupSize, tileKeys, scoreColumns: scoreColumnsOf(tileKeys, caps, opts.scoreColumns), laneHeads: 1, headBlock, numHeadBlocks,
    elemsPerInvocation, numSplits, splitLen, direct, subgroupMerge,
    batchesPerDispatch, splitsPerDispatch, yPerDispatch, maxWorkgroupsPerDimension: maxDim, kvRange,
  };
  const workgroupStorageBytes = workgroupBytes(decodeWorkgroupArrays(workgroupShapeOf(shape, D)));
  // From the caller's K/V tensors as they are: binding rebases move offsets by whole 256-byte
  // blocks, which keeps every parity the access path tests (encodeDecode checks the rebased ones).
  const access = kvAccessOf(problem, tensors);
  const plan: DecodePlan = { ...shape, workgroupStorageBytes, quick: null, access };
  const quickOpts = { budget, laneHeads: opts.laneHeads, keepSplits: opts.numSplits !== undefined };
  if (opts.variant === 'quick') return quickOnGrid(plan, problem, caps, quickOpts) ?? plan;
  if (opts.variant || !caps.fallbackAdapter) return plan;
  return { ...plan, quick: quickOnGrid(plan, problem, caps, quickOpts) };
}

/** Tiles: 64-256 invocations (about 8 outputs each, within the device limit), an even count of outputs each. */
function tilesThreads(outputs: number, caps: DeviceCaps): { workgroupSize: number; elemsPerInvocation: number } {
  let workgroupSize = 64;
  while (workgroupSize < 256 && workgroupSize * 8 < outputs && workgroupSize * 2 <= caps.maxInvocationsPerWorkgroup) workgroupSize *= 2;
  return { workgroupSize, elemsPerInvocation: 2 * Math.ceil(outputs / (2 * workgroupSize)) };
}

/** Quick: the most lanes sharing a head group's columns, invocations per workgroup, and q floats per lane (HL·D). */
const QUICK_MAX_LANES = 16;
const QUICK_MAX_WORKGROUP = 64;
const QUICK_LANE_FLOATS = 256;
/**
 * Quick: a grid of at least this many workgroups without KV splits runs unsplit, writing the
 * output directly: a first call then compiles no combine pass (lavapipe: about 0.1 s), and the
 * workgroups still cover the cores of a typical CPU.
 */
const QUICK_UNSPLIT_WORKGROUPS = 8;

/**
 * Quick: heads per invocation (DecodePlan.laneHeads: one HV), the largest divisor of the head
 * block ≤ 4 whose q and acc fit QUICK_LANE_FLOATS each, on SwiftShader; 1 elsewhere; at most
 * `forced` when given.
 */
function quickLaneHeads(headBlock: number, headDim: number, caps: DeviceCaps, forced?: number): number {
  const most = Math.min(4, forced ?? (caps.straightLineLanes ? 4 : 1));
  return Math.max(1, largestDivisor(headBlock, (hl) => hl <= most && hl * headDim <= QUICK_LANE_FLOATS));
}

/**
 * The 'quick' split pass on `grid`'s grid and workspace (a quick tier): GB / HL head groups × S
 * lanes per group, as many lanes as fit QUICK_MAX_WORKGROUP invocations and `budget` bytes of
 * published states; null when one lane per group does not fit. Its KV splits are the grid's,
 * or one split written directly (no combine) where the grid has QUICK_UNSPLIT_WORKGROUPS
 * workgroups without them, unless the splits are forced (`keepSplits`), bound per dispatch
 * (kvRange) or needed by an INT8 output (the combine quantizes it).
 */
function quickOnGrid(grid: DecodePlan, problem: Problem, caps: DeviceCaps,
  opts: { budget: number; laneHeads?: number; keepSplits: boolean }): DecodePlan | null {
  const GB = grid.headBlock;
  const budget = opts.budget;
  const laneHeads = quickLaneHeads(GB, problem.headDim, caps, opts.laneHeads);
  const groups = GB / laneHeads;
  // The most lanes whose published states (decodeWorkgroupArrays) fit the budget.
  const bytes = (lanes: number): number => workgroupBytes(decodeWorkgroupArrays({
    variant: 'quick', headBlock: GB, laneHeads, headDim: problem.headDim, tileKeys: 0, workgroupSize: groups * lanes, stash: 0, subgroupMerge: false,
  }));
  let lanes = Math.min(QUICK_MAX_LANES, Math.floor(QUICK_MAX_WORKGROUP / groups));
  while (lanes >= 1 && bytes(lanes) > budget) lanes--;
  if (lanes < 1) return null;
  const workgroupSize = groups * lanes;
  const unsplit = grid.numSplits > 1 && !opts.keepSplits && !grid.kvRange && !problem.outQuant
    && problem.batch * problem.numKvHeads * grid.numHeadBlocks >= QUICK_UNSPLIT_WORKGROUPS;
  const splits = unsplit
    ? { numSplits: 1, splitLen: grid.numSplits * grid.splitLen, direct: true, splitsPerDispatch: 1 } : {};
  const shape = {
    ...grid, ...splits, variant: 'quick' as const, workgroupSize, tileKeys: 0, scoreColumns: 1, laneHeads,
    elemsPerInvocation: 2 * Math.ceil((GB * problem.headDim) / (2 * workgroupSize)), subgroupMerge: false,
  };
  return { ...shape, workgroupStorageBytes: workgroupBytes(decodeWorkgroupArrays(workgroupShapeOf(shape, problem.headDim))), quick: null };
}

function workgroupShapeOf(plan: Omit<DecodePlan, 'workgroupStorageBytes' | 'quick' | 'access'>, headDim: number): WorkgroupShape {
  return {
    variant: plan.variant, headBlock: plan.headBlock, laneHeads: plan.laneHeads, headDim, tileKeys: plan.tileKeys, workgroupSize: plan.workgroupSize,
    stash: plan.variant === 'lanes' ? stashLen(plan) : 0, subgroupMerge: plan.subgroupMerge,
  };
}

/** Bytes a binding may need beyond its elements: the start aligned down (< 256) and the end to a word. */
const BINDING_SLACK = 256 + 4;

/**
 * For a dense K/V (read directly, no left padding: the rows a split reads are known on the host)
 * whose whole tensor does not fit one binding of `limitBytes`: the KV heads (all, else one) and
 * the most rows per dispatch whose K/V range fits. null when the tensors fit, or when ranges
 * cannot help (the plan then binds them whole and GetWorkspaceSize rejects the call).
 */
export function kvRangeOf(problem: Problem, limitBytes: number): DecodePlan['kvRange'] {
  const kv = problem.kv;
  if (kv.kind !== 'dense' || usesKvSource(problem) || problem.kvLeftPadding) return null;
  const { batch: B, numKvHeads: KVN, headDim: D } = problem;
  const S = kv.seqLen;
  const bytes = elementBits(problem.kvDtype) / 8;
  if (B * KVN * S * D * bytes + BINDING_SLACK <= limitBytes) return null;
  const budget = Math.floor((limitBytes - BINDING_SLACK) / bytes);
  // Elements of one batch's rows [0, R) over heads [0, hc) (contiguous tensors, validated).
  const rowsFor = (hc: number): number => kv.kvLayout === 'BNSD'
    ? Math.floor((budget - (hc - 1) * S * D) / D)
    : Math.floor((budget - hc * D) / (KVN * D)) + 1;
  for (const hc of KVN > 1 ? [KVN, 1] : [1]) {
    const rows = rowsFor(hc);
    if (rows >= 1) return { headsPerDispatch: hc, rowsPerDispatch: rows };
  }
  return null;
}

/** The meta region's word of the learnable sink's first value (after the aux scalars and kvLens[B]). */
const sinkSlot = (problem: Problem): number => AUX_BYTES / 4 + problem.batch;

/** Words of the meta region before the KV source's copies: aux scalars, kvLens[B], then the learnable sink [N]. */
const metaStartWords = (problem: Problem): number => sinkSlot(problem) + (problem.learnableSink ? problem.numQoHeads : 0);

/**
 * The workspace: meta region (aux scalars, kvLens, KV-source copies), then in split mode the f32
 * partials. `tensors` are needed only when the problem reads K/V through the KV source (the sizes
 * of its copies depend on the parameter tensors); GetWorkspaceSize and the run pass the same ones.
 */
export function layoutDecodeWorkspace(problem: Problem, plan: DecodePlan, ws: WorkspaceAllocator, tensors?: KernelTensors): DecodeRegions {
  let kvSource: KvSourceLayout | null = null;
  let metaWords = metaStartWords(problem);
  if (usesKvSource(problem)) {
    if (!tensors) throw new Error('decode: the KV source layout needs the kernel tensors');
    const words = new MetaWordAllocator(metaWords);
    kvSource = layoutKvSource(problem, tensors, words);
    metaWords = words.words;
  }
  const meta = ws.alloc(metaWords * 4);
  if (plan.direct) return { meta, kvSource, partOut: null, partLse: null };
  const rows = problem.batch * problem.numQoHeads;
  const partOut = ws.alloc(rows * plan.numSplits * problem.headDim * 4);
  const partLse = ws.alloc(rows * plan.numSplits * 4);
  return { meta, kvSource, partOut, partLse };
}

export const DECODE_UNIFORMS = new UniformBlock('DecodeUniforms', {
  batchBase: 'u32',
  splitBase: 'u32',
  yBase: 'u32',
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
  // Sliding window W (0: off) and whether the splits start at its first column (splitColumns).
  slidingWindow: 'u32',
  splitsFromWindow: 'u32',
  // 0: loop bounds the compiler cannot see through (shaders/common/rolled.wgsl).
  rolled: 'u32',
  ...EXTENSION_UNIFORM_FIELDS,
  ...kvSourceUniformFields,
});


/** How the lanes variant may address K/V rows (from the actual tensors; part of the pipeline key). */
export interface KvAccess {
  /** Through the KV source (paged / prefix / antiquant): kvRow once per column, then per element. */
  source: boolean;
  /** Source mode, per side: no dequant, per-token params (one per column) or per-channel/tensor/head (hoisted). */
  deq: { k: 'none' | 'token' | 'channel'; v: 'none' | 'token' | 'channel' };
  offset: { k: boolean; v: boolean };
  /** Source mode: rows start on u32 words, so a row is read as D / elementsPerWord whole words. */
  sourceWords: boolean;
  /** K and V have dim stride 1: element d of a row is at row base + d. */
  unitDim: boolean;
  /** 16-bit K/V whose row bases are all even: one u32 load yields elements d, d + 1. */
  pairs: boolean;
}

/** The K/V access of `problem` with these tensors (without: contiguous tensors at offset 0, as a planner sees them). */
export function kvAccessOf(problem: Problem, tensors?: KernelTensors): KvAccess {
  const aq = problem.antiquant;
  const deqOf = (a: Antiquant | undefined): 'none' | 'token' | 'channel' => (!a ? 'none' : a.mode === 0 || a.mode === 2 ? 'channel' : 'token');
  const deq = { k: deqOf(aq?.key), v: deqOf(aq?.value) };
  const offset = { k: !!aq?.key.offset, v: !!aq?.value.offset };
  const D = problem.headDim;
  if (usesKvSource(problem)) {
    // Row bases are multiples of D (cache and dense strides); the tensors' element offsets
    // (INT4: nibbles, INT32 words × 8) must be word-aligned too.
    const per = elementsPerWord(problem.kvDtype);
    const kvTensors = tensors ? [...tensors.key, ...tensors.value] : [];
    const units = (t: Tensor): number => t.offset * kvElementsPerStored(t.dtype);
    const sourceWords = per > 1 && problem.prefix === null && D % per === 0 && kvTensors.every((t) => units(t) % per === 0);
    return { source: true, deq, offset, sourceWords, unitDim: false, pairs: false };
  }
  const kv = tensors ? [...tensors.key, ...tensors.value] : [];
  const unitDim = kv.every((t) => axisStrides(t, problem.queryLayout, D).dim === 1);
  const even = (x: number): boolean => x % 2 === 0;
  const pairs = unitDim && elementsPerWord(problem.kvDtype) === 2 && even(D) && kv.every((t) => {
    const a = axisStrides(t, problem.queryLayout, D);
    return even(t.offset) && even(a.batch) && even(a.head) && even(a.seq);
  });
  return { source: false, deq, offset, sourceWords: false, unitDim, pairs };
}

const sameAccess = (a: KvAccess, b: KvAccess): boolean => JSON.stringify(a) === JSON.stringify(b);

/** WGSL statements loading element pairs/singles of one K or V row into `${name}{d}` lets. */
function rowLoads(kind: 'k' | 'v', D: number, dtype: DataType, access: KvAccess): string[] {
  const buf = kind === 'k' ? 'kBuf' : 'vBuf';
  const load = kind === 'k' ? 'loadK' : 'loadV';
  const base = kind === 'k' ? 'kb' : 'vb';
  const stride = kind === 'k' ? 'u.kDimStride' : 'u.vDimStride';
  const lines: string[] = [];
  if (access.source) {
    // Raw element by select (prefix / cache), dequant with hoisted parameters, absent → 0.
    const X = kind === 'k' ? 'K' : 'V';
    lines.push(`    let ${kind}r = kvRow(b, h, c, kvStart);`);
    const deq = access.deq[kind];
    if (deq === 'token') {
      lines.push(`    let ${kind}sc = kv${X}TokenParam(${kind}r, u.kvs${X}sBase);`);
      lines.push(access.offset[kind] ? `    let ${kind}of = kv${X}TokenParam(${kind}r, u.kvs${X}oBase);` : `    let ${kind}of = 0.0;`);
    }
    // Whole-word reads when every row starts on a word (no prefix, aligned offset, D a word multiple).
    const raws: string[] = [];
    if (access.sourceWords) {
      const per = elementsPerWord(dtype);
      lines.push(`    let ${kind}w = (u.kvs${X}Offset + ${kind}r.base) / ${per}u;`);
      for (let d = 0; d < D; d += per) {
        lines.push(`    let ${kind}word${d} = ${buf}[${kind}w + ${d / per}u];`);
        raws.push(...wgslOf(dtype).unpack(`${kind}word${d}`));
      }
    } else {
      for (let d = 0; d < D; d++) raws.push(`kvRaw${X}(${kind}r, ${d}u)`);
    }
    for (let d = 0; d < D; d++) {
      const raw = raws[d]!;
      const value = deq === 'none' ? raw
        : deq === 'token' ? `(${raw} + ${kind}of) * ${kind}sc`
        : `(${raw} + ${kind}of${d}) * ${kind}sc${d}`;
      lines.push(`    let ${kind}${d} = select(0.0, ${value}, ${kind}r.present);`);
    }
    return lines;
  }
  if (access.pairs) {
    lines.push(`    let ${kind}w = ${base} >> 1u;`);
    for (let d = 0; d < D; d += 2) {
      const [lo, hi] = wgslOf(dtype).unpack(`${kind}p${d}`);
      lines.push(`    let ${kind}p${d} = ${buf}[${kind}w + ${d / 2}u]; let ${kind}${d} = ${lo}; let ${kind}${d + 1} = ${hi};`);
    }
    return lines;
  }
  for (let d = 0; d < D; d++) {
    const idx = access.unitDim ? `${base} + ${d}u` : `${base} + ${d}u * ${stride}`;
    // A word-sized element is read in place; sub-word ones through the row's loader.
    const value = elementsPerWord(dtype) === 1 ? wgslOf(dtype).element(`${buf}[${idx}]`, '0u') : `${load}(${idx})`;
    lines.push(`    let ${kind}${d} = ${value};`);
  }
  return lines;
}

/**
 * The generated straight-line blocks of decode_lanes.wgsl for GB heads × D dims; the soft cap's
 * call only where the problem has one (the lanes' hot loop carries nothing it does not use).
 */
function lanesBlocks(GB: number, D: number, dtype: DataType, access: KvAccess, softcap: boolean): Record<string, string> {
  const heads = [...Array(GB).keys()];
  const dims = [...Array(D).keys()];
  const qLoad = heads.flatMap((g) => dims.map((d) =>
    `  let q_${g}_${d} = loadQ(qb + ${g}u * u.qHeadStride + ${d}u * u.qDimStride) * u.scaleValue;`));
  for (const [kind, X] of [['k', 'K'], ['v', 'V']] as const) {
    if (!access.source || access.deq[kind] !== 'channel') continue;
    for (const d of dims) {
      qLoad.push(`  let ${kind}sc${d} = kv${X}ChannelParam(h, u.kvs${X}sBase, ${d}u);`);
      qLoad.push(access.offset[kind] ? `  let ${kind}of${d} = kv${X}ChannelParam(h, u.kvs${X}oBase, ${d}u);` : `  let ${kind}of${d} = 0.0;`);
    }
  }
  const state = heads.flatMap((g) => [`  var m_${g} = NEG_MAX;`, `  var l_${g} = 0.0;`, `  var cls_${g} = 0u;`, ...dims.map((d) => `  var a_${g}_${d} = 0.0;`)]);
  const qk = [
    ...rowLoads('k', D, dtype, access),
    ...heads.map((g) => `    var s_${g} = ${dims.map((d) => `q_${g}_${d} * k${d}`).slice(0, 1)[0]};`),
    ...heads.flatMap((g) => dims.slice(1).map((d) => `    s_${g} = fma(q_${g}_${d}, k${d}, s_${g});`)),
    ...heads.flatMap((g) => [
      softcap ? `    let raw_${g} = capScore(s_${g} + pseAt(b, n0 + ${g}u, col));` : `    let raw_${g} = s_${g} + pseAt(b, n0 + ${g}u, col);`,
      `    cls_${g} |= select(0u, scoreClass(raw_${g}), keep);`,
      `    s_${g} = select(NEG_MAX, softmaxScore(raw_${g}), keep);`,
    ]),
  ];
  const stash = heads.flatMap((g) => [`    wmem[${g}u * SPLIT + slot] = s_${g};`, `    m_${g} = max(m_${g}, s_${g});`]);
  const pLoad = heads.flatMap((g) => [
    `    let t_${g} = wmem[${g}u * SPLIT + slot];`,
    `    let p_${g} = select(0.0, exp(t_${g} - m_${g}), keep);`,
    `    l_${g} += p_${g};`,
  ]);
  // An excluded column's value is taken as 0 (p is 0 too): nothing it holds reaches a.
  const pv = [
    ...rowLoads('v', D, dtype, access),
    ...dims.map((d) => `    let x${d} = select(0.0, v${d}, keep);`),
    ...heads.flatMap((g) => dims.map((d) => `    a_${g}_${d} = fma(p_${g}, x${d}, a_${g}_${d});`)),
  ];
  const publish = [
    '  let rb = lid * RED;',
    ...heads.flatMap((g) => [`  wmem[rb + ${g}u] = m_${g};`, `  wmem[rb + ${GB + g}u] = l_${g};`, `  wmem[rb + ${2 * GB + g}u] = f32(cls_${g});`,
      ...dims.map((d) => `  wmem[rb + ${3 * GB + g * D + d}u] = a_${g}_${d};`)]),
  ];
  return {
    Q_LOAD: qLoad.join('\n'), LANE_STATE: state.join('\n'), QK: qk.join('\n'), SCORE_STASH: stash.join('\n'),
    P_LOAD: pLoad.join('\n'), PV: pv.join('\n'), PUBLISH: publish.join('\n'),
  };
}

/**
 * The lanes variant's subgroup merge: every lane gets the merged (out, lse) of all GB·D outputs by
 * subgroupMax/subgroupAdd, and lane p % WG writes output pair p (merged stores) and lse g % WG.
 * With a learnable sink, split 0 folds it into each head's merged state (withSink).
 */
function subgroupMergeBlock(GB: number, D: number, WG: number, sink: boolean): string {
  const heads = [...Array(GB).keys()];
  const dims = [...Array(D).keys()];
  const L: string[] = [];
  for (const g of heads) {
    // m is finite in every lane (NEG_MAX when empty, with l = a = 0): w needs no guard.
    L.push(`    let M_${g} = subgroupMax(m_${g});`);
    L.push(`    let w_${g} = exp(m_${g} - M_${g});`);
    L.push(`    let L_${g} = subgroupAdd(w_${g} * l_${g});`);
    L.push(`    let C_${g} = subgroupOr(cls_${g});`);
    if (sink) L.push(`    let S_${g} = withSink(n0 + ${g}u, split, M_${g}, L_${g}, C_${g});`);
    const [m, l, cls, scale] = sink ? [`S_${g}.m`, `S_${g}.l`, `S_${g}.cls`, ` * S_${g}.scale`] : [`M_${g}`, `L_${g}`, `C_${g}`, ''];
    L.push(`    let lse_${g} = bitcast<u32>(finalLse(${m}, ${l}, ${cls}));`);
    for (const d of dims) L.push(`    let o_${g}_${d} = finalOut(subgroupAdd(w_${g} * a_${g}_${d})${scale}, ${l}, ${cls});`);
    L.push(`    if (lid == ${g % WG}u) { storeLse(rowBase, ${g}u, split, lse_${g}); }`);
  }
  const n = GB * D;
  const name = (e: number): string => (e < n ? `o_${Math.floor(e / D)}_${e % D}` : '0.0');
  for (let e = 0; e < n; e += 2) L.push(`    if (lid == ${(e / 2) % WG}u) { storePair(rowBase, ${e}u, split, ${name(e)}, ${name(e + 1)}); }`);
  return L.join('\n');
}

/** The split pass pipeline of a plan (cached per device). */
export function decodePipeline(device: GPUDevice, problem: Problem, plan: DecodePlan): GPUComputePipeline {
  return pipelineOf(device, splitPassSource(problem, plan));
}

/**
 * Every pipeline an encode of `plan` uses: the split pass and, unless it writes the output
 * directly, the combine. `tier` 'first-call': the pipelines a tiered encode uses before the steady
 * ones are compiled (the quick plan's split pass when there is one).
 */
export function decodePipelineSources(problem: Problem, plan: DecodePlan, tier: PipelineTier = 'steady'): PipelineSource[] {
  const run = tier === 'first-call' && plan.quick ? plan.quick : plan;
  const sources = [splitPassSource(problem, run)];
  if (!run.direct) sources.push(splitCombineSource(problem));
  return sources;
}

/**
 * Elements per u32 word the tiles variant reads at once (KW in shaders/decode.wgsl): 16-bit pairs
 * read directly, whole words through the KV source (sourceWords: 16-bit, INT8 or INT4 rows that
 * all start on a word, dequantized by the kernel); 1 otherwise (element reads).
 */
const wordElements = (problem: Problem, access: KvAccess): number =>
  access.pairs || (access.source && access.sourceWords) ? elementsPerWord(problem.kvDtype) : 1;

/** The split pass of a plan (K/V read through plan.access). */
function splitPassSource(problem: Problem, plan: DecodePlan): PipelineSource {
  const access = plan.access;
  // What the split pass itself stores: attentionOut's dtype when direct, else f32 partials.
  const storeDtype: DataType = plan.direct ? problem.outDtype : 'FLOAT32';
  const spec = {
    variant: plan.variant,
    qDtype: problem.queryDtype, kvDtype: problem.kvDtype, outDtype: storeDtype,
    maskDtype: problem.mask?.dtype ?? 'none', pseDtype: problem.pse?.dtype ?? 'none',
    softcap: problem.softcap > 0, sink: problem.learnableSink,
    headDim: problem.headDim, headBlock: plan.headBlock, tileKeys: plan.tileKeys, scoreColumns: plan.scoreColumns, laneHeads: plan.laneHeads,
    wg: plan.workgroupSize, elems: plan.elemsPerInvocation, direct: plan.direct,
    split: plan.variant === 'lanes' ? stashLen(plan) : 0,
    subgroupMerge: plan.subgroupMerge,
    unitDim: plan.variant === 'lanes' && access.unitDim, pairs: access.pairs,
    deqK: access.deq.k, deqV: access.deq.v, sourceWords: access.sourceWords,
    ...(access.source ? kvSourceSpecKey(kvSourceSpec(problem)) : {}),
  };
  return { key: specKey('decode', spec), build: () => {
    const loaders = [
      loaderFn('loadQ', 'qBuf', problem.queryDtype),
      loaderFn('loadK', 'kBuf', problem.kvDtype),
      loaderFn('loadV', 'vBuf', problem.kvDtype),
      loaderFn('loadMask', 'maskBuf', problem.mask?.dtype ?? 'UINT8'),
      loaderFn('loadPse', 'pseBuf', problem.pse?.dtype ?? 'FLOAT32'),
    ];
    // What every variant declares alike (shaders/common/decode_preamble.wgsl).
    const preamble = fill(wgsl('common/decode_preamble.wgsl'), {
      UNIFORMS: DECODE_UNIFORMS.wgslStruct(),
      BINDINGS: wgsl('common/decode_bindings.wgsl'),
      AUX: wgsl('common/aux.wgsl'),
      PACK: wgsl('common/f16pack.wgsl'),
      LOADERS: [...loaders, `fn kvWordElem(w: u32, i: u32) -> f32 { return ${wgslOf(problem.kvDtype).element('w', 'i')}; }`].join('\n'),
      KV_SOURCE: access.source
        ? `const KV_SRC: bool = true;\n${kvSourceWgsl(kvSourceSpec(problem))}\n${wgsl('common/decode_kv_select.wgsl')}`
        : wgsl('common/decode_kv_stub.wgsl'),
      LENS_SLOT: AUX_BYTES / 4,
      KV_PAD_SLOT: AUX_SLOTS.kvPad,
      HAS_MASK: problem.mask ? 'true' : 'false',
      HAS_PSE: problem.pse ? 'true' : 'false',
      HAS_SOFTCAP: problem.softcap > 0 ? 'true' : 'false',
      HAS_SINK: problem.learnableSink ? 'true' : 'false',
      DIRECT: plan.direct ? 'true' : 'false',
      KW: wordElements(problem, access),
      K_TOKEN: access.source && access.deq.k === 'token' ? 'true' : 'false',
      K_CHANNEL: access.source && access.deq.k === 'channel' ? 'true' : 'false',
      V_TOKEN: access.source && access.deq.v === 'token' ? 'true' : 'false',
      V_CHANNEL: access.source && access.deq.v === 'channel' ? 'true' : 'false',
      // The extensions' helpers (capScore, foldSink) read the softmax rules: pasted after them.
      SOFTMAX_RULES: `${wgsl('common/softmax_rules.wgsl')}\n${wgsl('common/extensions.wgsl')}`,
      OUT_PACK: outBitsBody(storeDtype),
      OUT_STORE: outStoreWgsl(storeDtype),
      DECODE_IO: wgsl('common/decode_io.wgsl'),
      ROLLED: wgsl('common/rolled.wgsl'),
    });
    const common = {
      PREAMBLE: preamble,
      GB: plan.headBlock,
      HEAD_DIM: problem.headDim,
      WORKGROUP: workgroupDecls(decodeWorkgroupArrays(workgroupShapeOf(plan, problem.headDim))),
    };
    const label = `fia.decode.${specKey('', spec)}`;
    if (plan.variant === 'quick') {
      const code = fill(wgsl('common/decode_quick.wgsl'), {
        ...common,
        WG: plan.workgroupSize,
        HL: plan.laneHeads,
        HEAD_VEC: headVecWgsl(plan.laneHeads),
        MERGE: wgsl('common/decode_merge.wgsl'),
      });
      return { code, label };
    }
    if (plan.variant === 'lanes') {
      const GB = plan.headBlock;
      const D = problem.headDim;
      const code = fill(wgsl('common/decode_lanes.wgsl'), {
        ...common,
        ...lanesBlocks(GB, D, problem.kvDtype, access, problem.softcap > 0),
        WG: plan.workgroupSize,
        SPLIT: stashLen(plan),
        PAIRS: Math.ceil((GB * D) / (2 * plan.workgroupSize)),
        MERGE: wgsl('common/decode_merge.wgsl'),
        ENABLE: plan.subgroupMerge ? 'enable subgroups;' : '',
        SUBGROUP_MERGE: plan.subgroupMerge ? 'true' : 'false',
        SUBGROUP_MERGE_BLOCK: plan.subgroupMerge
          ? subgroupMergeBlock(GB, D, plan.workgroupSize, problem.learnableSink) : '',
      });
      return { code, label };
    }
    const code = fill(wgsl('decode.wgsl'), {
      ...common,
      TK: plan.tileKeys,
      CA: plan.scoreColumns,
      HEAD_VEC: headVecWgsl(plan.headBlock),
      ELEMS: plan.elemsPerInvocation,
      ...(({ laneQuads, groups, quadsPerLane }) => ({ QW: laneQuads, R: groups, QJ: quadsPerLane }))(tilesQuads(problem.headDim, plan.workgroupSize)),
    });
    return { code, label, constants: { WG: plan.workgroupSize } };
  } };
}

export interface DecodeContext {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  problem: Problem;
  plan: DecodePlan;
  tensors: KernelTensors;
  workspace: GPUBuffer | null;
  regions: DecodeRegions;
  /**
   * u32 actualSeqLengthsKv[B] on the device (a kvLensBuffer), copied into the meta region by every
   * run: the executor's, which setActualSeqLengthsKv updates. Required (the field is optional in
   * the families' common context only because prefill has none).
   */
  kvLens?: GPUBuffer;
  /**
   * Run plan.quick while the plan's own split pass compiles in the background (the executor's
   * encodes). Unset: the plan's own split pass, compiled in the call if needed (kernel tests).
   */
  tiered?: boolean;
}

/**
 * A device copy of a decode's KV lengths (u32 per batch) for DecodeContext.kvLens: COPY_SRC for
 * the runs, COPY_DST so its owner can update it (queue.writeBuffer) between runs. The owner
 * destroys it.
 */
export function kvLensBuffer(device: GPUDevice, lens: readonly number[] | Uint32Array): GPUBuffer {
  const words = Uint32Array.from(lens);
  const buffer = device.createBuffer({ size: Math.max(4, words.byteLength), usage: USAGE.COPY_SRC | USAGE.COPY_DST, label: 'fia.decode.kvLens' });
  if (words.length > 0) device.queue.writeBuffer(buffer, 0, words);
  return buffer;
}

/**
 * The batch runs of the split pass's grid (x): runs of plan.batchesPerDispatch, or one batch per run
 * for tensor-list KV (each batch binds its own K/V). Each run is dispatched once per run of splits.
 */
export function decodeBatchRuns(problem: Problem, plan: DecodePlan): AxisRun[] {
  return axisRuns(problem.batch, problem.kv.kind === 'list' ? 1 : plan.batchesPerDispatch);
}

/** Records aux/lens copies, the split pass (dispatches per batch run × split run) and the combine. */
export function encodeDecode(ctx: DecodeContext): void {
  const { device, encoder, problem, regions } = ctx;
  const ws = ctx.workspace;
  if (!ws) throw new Error('decode: a workspace buffer is required');
  const { batch: B, numQoHeads: N, numKvHeads: KVN, headDim: D } = problem;
  if (B * N === 0) return;
  if (!ctx.kvLens) throw new Error('decode: the KV lengths buffer is required (kvLensBuffer)');
  // Copies read the caller's tensors (ctx.tensors); bindings and uniforms use each tensor's byte range.
  encodeAuxCopies(encoder, ctx.tensors, ws, { offset: regions.meta.offset, size: AUX_BYTES });
  encoder.copyBufferToBuffer(ctx.kvLens, 0, ws, regions.meta.offset + AUX_BYTES, B * 4);
  encodeSinkCopy(encoder, ctx.tensors.sink, ws, regions.meta.offset, sinkSlot(problem), N);
  if (regions.kvSource) encodeKvSourceCopies(encoder, ctx.tensors, ws, regions.meta.offset, regions.kvSource);
  const tensors = rebaseTensors(ctx.tensors);

  const access = ctx.plan.access;
  if (!sameAccess(access, kvAccessOf(problem, tensors))) {
    throw new Error('decode: the K/V tensors are addressed differently from the planned ones (plan with the tensors it runs)');
  }
  if (access.source && !regions.kvSource) throw new Error('decode: the workspace layout has no KV source copies');
  // A tiered encode runs the quick plan until the plan's own pipelines are compiled (all of them
  // are scheduled: an unsplit quick plan compiles no combine pass). The same grid, bindings and
  // workspace regions; the same splits or one written directly (the partials' regions unused).
  const quickNow = ctx.tiered && ctx.plan.quick
    && decodePipelineSources(problem, ctx.plan).map((s) => readyPipeline(device, s)).includes(null);
  const plan = quickNow ? ctx.plan.quick! : ctx.plan;
  const pipeline = decodePipeline(device, problem, plan);
  const query = tensors.query;
  const out = tensors.out;
  const lse = tensors.lse;
  const q = axisStrides(query, problem.queryLayout, D);
  const mask = problem.mask;
  const pse = problem.pse;
  const dummy = dummyBuffer(device);
  const listKv = problem.kv.kind === 'list';

  const pass = encoder.beginComputePass({ label: 'fia.decode' });
  pass.setPipeline(pipeline);
  const kvRows = problem.kv.kind === 'dense' ? problem.kv.seqLen : problem.kvSeqLen;
  const none: AxisStrides = { batch: 0, head: 0, seq: 0, dim: 0 };
  for (const batches of decodeBatchRuns(problem, plan)) {
    const key = tensors.key[listKv ? batches.base : 0]!;
    const value = tensors.value[listKv ? batches.base : 0]!;
    const kvLayout = problem.queryLayout;
    // Through the KV source the k*/v* fields are unused (a paged cache has another rank).
    const k = access.source ? none : axisStrides(key, kvLayout, D);
    const v = access.source ? none : axisStrides(value, kvLayout, D);
    const values: Omit<Parameters<typeof DECODE_UNIFORMS.pack>[0], 'splitBase' | 'yBase'> = {
      batchBase: batches.base, numQoHeads: N, groupSize: problem.groupSize, numHeadBlocks: plan.numHeadBlocks,
      numSplits: plan.numSplits, splitLen: plan.splitLen,
      kvLeftPadding: problem.kvLeftPadding ? 1 : 0, kvRows, scaleValue: problem.scaleValue,
      qOffset: query.offset, qBatchStride: q.batch, qHeadStride: q.head, qDimStride: q.dim,
      kOffset: access.source ? 0 : key.offset, kBatchStride: listKv ? 0 : k.batch, kHeadStride: k.head, kSeqStride: k.seq, kDimStride: k.dim,
      vOffset: access.source ? 0 : value.offset, vBatchStride: listKv ? 0 : v.batch, vHeadStride: v.head, vSeqStride: v.seq, vDimStride: v.dim,
      maskOffset: mask ? rebased(mask.offset, ctx.tensors.mask!, tensors.mask!) : 0,
      maskBatchStride: mask?.batchStride ?? 0, maskColStride: mask?.colStride ?? 0,
      pseOffset: pse ? rebased(pse.offset, ctx.tensors.pse!, tensors.pse!) : 0,
      pseBatchStride: pse?.batchStride ?? 0, pseHeadStride: pse?.headStride ?? 0,
      pseColStride: pse?.colStride ?? 0,
      outOffset: plan.direct ? out.offset : 0,
      lseOffset: plan.direct && lse ? lse.offset : 0,
      writeLse: lse ? 1 : 0,
      slidingWindow: problem.slidingWindow, splitsFromWindow: plan.kvRange ? 0 : 1, rolled: 0,
      ...extensionUniforms(problem, sinkSlot(problem)),
      ...kvSourceUniformValues(problem, tensors, regions.kvSource ?? { copies: [], words: 0 }, listKv ? batches.base : 0),
    };
    const outBinding: GPUBufferBinding = plan.direct ? tensorBinding(out) : bindingOf(ws, regions.partOut!);
    const lseBinding: GPUBufferBinding = plan.direct ? (lse ? tensorBinding(lse) : { buffer: dummyBuffer(device, 'output') }) : bindingOf(ws, regions.partLse!);
    const group0 = (kBinding: GPUBufferBinding, vBinding: GPUBufferBinding): GPUBindGroup => device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: tensorBinding(query) },
        { binding: 1, resource: kBinding },
        { binding: 2, resource: vBinding },
        { binding: 3, resource: mask ? tensorBinding(tensors.mask!) : { buffer: dummy } },
        { binding: 4, resource: pse ? tensorBinding(tensors.pse!) : { buffer: dummy } },
        { binding: 5, resource: bindingOf(ws, regions.meta) },
        { binding: 6, resource: outBinding },
        { binding: 7, resource: lseBinding },
      ],
    });
    if (!plan.kvRange) pass.setBindGroup(0, group0(tensorBinding(key), tensorBinding(value)));
    for (const ys of axisRuns(KVN * plan.numHeadBlocks, plan.yPerDispatch)) {
      for (const splits of axisRuns(plan.numSplits, plan.splitsPerDispatch)) {
        let ranged: { kOffset: number; vOffset: number } | null = null;
        if (plan.kvRange) {
          // The K/V elements this dispatch reads: batch b, KV heads [h0, h1), rows [r0, r1), all d.
          const b = batches.base;
          const h0 = Math.floor(ys.base / plan.numHeadBlocks);
          const h1 = Math.ceil((ys.base + ys.count) / plan.numHeadBlocks);
          const r0 = splits.base * plan.splitLen;
          const r1 = Math.max(r0 + 1, Math.min((splits.base + splits.count) * plan.splitLen, kvRows));
          const range = (t: Tensor, st: AxisStrides) => {
            const lo = t.offset + b * st.batch + h0 * st.head + r0 * st.seq;
            return elementRangeBinding(t, lo, t.offset + b * st.batch + (h1 - 1) * st.head + (r1 - 1) * st.seq + (D - 1) * st.dim + 1);
          };
          const kr = range(key, k);
          const vr = range(value, v);
          pass.setBindGroup(0, group0(kr.binding, vr.binding));
          ranged = { kOffset: kr.elementOffset, vOffset: vr.elementOffset };
        }
        const uniforms = uniformBuffer(device, DECODE_UNIFORMS.pack({
          ...values, ...(ranged ?? {}), yBase: ys.base, splitBase: splits.base,
        }), 'fia.decode.uniforms');
        const group1 = device.createBindGroup({ layout: pipeline.getBindGroupLayout(1), entries: [{ binding: 0, resource: { buffer: uniforms } }] });
        pass.setBindGroup(1, group1);
        pass.dispatchWorkgroups(batches.count, ys.count, splits.count);
      }
    }
  }
  pass.end();

  if (plan.direct) return;
  const rows = B * N;
  encodeCombine(device, encoder, {
    parts: bindingOf(ws, regions.partOut!), partsDtype: 'FLOAT32', lses: bindingOf(ws, regions.partLse!),
    out: tensorBinding(out), outDtype: problem.outDtype, outOffset: out.offset,
    lseOut: lse ? tensorBinding(lse) : null, lseOutOffset: lse?.offset ?? 0,
    rows, headDim: D, numParts: plan.numSplits,
    partBase: 0, partRowStride: plan.numSplits * D, partSplitStride: D,
    lseBase: 0, lseRowStride: plan.numSplits, lseSplitStride: 1,
    outQuant: combineOutQuant(problem, tensors),
    rowOrder: { seqLen: 1, heads: N, seqOuter: false }, splitPartials: true,
    maxWorkgroupsPerDimension: plan.maxWorkgroupsPerDimension,
  }, dummyBuffer(device, 'output'));
}

