// The prefill kernel (Q_S > 1): plan, workspace layout and encoding of shaders/prefill.wgsl.
// A kernel family (family.ts): prefillUnsupported, planPrefill, layoutPrefillWorkspace, prefillPipelineSources, encodePrefill.
//
// Covers: FLOAT16/BFLOAT16/FLOAT32 query and K/V (u32-packed, no shader-f16 needed), outputs in
// those dtypes (RNE) or INT8 (output quant epilogue); layouts BSH/BSND/BNSD/BNSD_BSND; GQA; any
// D that is a multiple of 4; actual lengths; query/KV left padding (pads read on the device);
// attenMask (every shape, BOOL/INT8/UINT8), sparseMode 0-4 with whole-tile skipping, pseShift;
// softmaxLse; row-invalid rule; tensor-list KV (one dispatch per batch); paged KV; shared prefix
// and INT8/INT4 antiquant through the shared KV source (kvSource.ts; needs `inputs` at layout);
// INT8 query/key/value (two passes: P8 is quantized against the row's final max).
// KV splits: where query tiles alone give the device few workgroups (a few query rows, e.g.
// speculative verification, over a long KV), each split of the KV columns is a workgroup writing
// f32 partials to the workspace, merged by the combine pass (combine.ts) into the outputs.
// Not covered (prefillUnsupported says so): more storage buffers than the device grants (WebGPU's
// default 8: e.g. pse + mask + padding + lse + INT8 output with quantOffset2 all at once),
// tensor-list KV with prefix/antiquant.
import { type DataType, isFloatType } from '../codec/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import { axisStrides } from '../problem/dims.js';
import type { Problem } from '../problem/problem.js';
import type { KernelTensors } from '../problem/tensors.js';
import { AUX_BYTES, AUX_SLOTS, encodeAuxCopies } from './aux.js';
import {
  encodeKvSourceCopies, type KvSourceLayout, type KvSourceUniformValues, kvSourceSpec, kvSourceSpecKey, kvSourceUniformFields, kvSourceUniformValues,
  kvSourceUnsupported, kvSourceWgsl, layoutKvSource, MetaWordAllocator, type KvSourceSpec,
} from './kvSource.js';
import { type AxisRun, axisRuns, capsOf, DEFAULT_CAPS, type DeviceCaps } from './caps.js';
import {
  dummyBuffer, fill, loaderFn, outBitsBody, outStoreWgsl, type PipelineSource, type PipelineTier, pipelineOf, readyPipeline, specKey, UniformBlock, uniformBuffer, wgsl,
  type WorkgroupArray, workgroupBytes, workgroupDecls,
} from './shader.js';
import { rebased, rebaseTensors, tensorBinding } from './binding.js';
import { EXTENSION_UNIFORM_FIELDS, encodeSinkCopy, extensionUniforms, softcapUnsupported } from './extensions.js';
import { combineOutQuant, encodeCombine, splitCombineSource } from './combine.js';
import { type KvSplits, kvSplits } from './splits.js';
import { bindingOf, type WorkspaceAllocator, type WorkspaceRegion } from './workspace.js';

/** Batches per dispatch: the per-batch length table is a uniform array of LENS_CAP vec4 (2 batches each). */
const LENS_CAP = 1024;
const BATCHES_PER_DISPATCH = LENS_CAP * 2;
/** Band bounds are clamped to ±BAND_CLAMP so i32 arithmetic on them cannot overflow (lengths < 2^29). */
const BAND_CLAMP = 1 << 30;

/**
 * The bodies of shaders/prefill.wgsl: 'blocked' (steady on CPU adapters: register-blocked slots,
 * shaders/common/prefill_blocked.wgsl), 'quick' (the compile tier: one slot per invocation,
 * rolled loops, shaders/common/prefill_quick.wgsl) and 'coop' (steady on hardware GPUs: the
 * workgroup computes each score block together, shaders/common/prefill_coop.wgsl).
 */
export type PrefillVariant = 'blocked' | 'quick' | 'coop';

/** Everything the WGSL text depends on (the pipeline cache key). */
export interface PrefillSpec {
  variant: PrefillVariant;
  queryDtype: DataType;
  kvDtype: DataType;
  outDtype: DataType;
  pseDtype: DataType | 'none';
  mask: boolean;
  /** A band or a sliding window limits each row's column range (HAS_BAND). */
  band: boolean;
  lse: boolean;
  queryPad: boolean;
  kvPad: boolean;
  /** K/V gathered through blockTable (cache layout and block size are uniforms). */
  paged: boolean;
  /** INT8 attentionOut: quantScale2 (+ quantOffset2) dtype, or 'none'. */
  outQuantDtype: DataType | 'none';
  outQuantOffset: boolean;
  /** INT8 query, key and value (SEMANTICS §9): two passes, P8 quantized against the row max. */
  int8: boolean;
  /** Extensions (docs/semantics.md): the logit soft cap; the learnable sink, copied into aux. */
  softcap: boolean;
  sink: boolean;
  /** K/V through the KV source (prefix / antiquant); its own spec goes into the cache key. */
  kvSource: boolean;
  /**
   * KV splits (PARTIAL in shaders/prefill.wgsl): the pass writes f32 partials and their lse to the
   * workspace (outDtype FLOAT32, lse on, no output quant) for the combine.
   */
  split: boolean;
  kvs: KvSourceSpec | null;
  headDim: number;
  groupSize: number;
  blockQ: number;
  blockKv: number;
  rowsPerThread: number;
  headsPerThread: number;
  workgroupSize: number;
  /** coop: the softmax step runs on subgroups (prefill_coop_subgroups.wgsl); else false. */
  subgroups: boolean;
  /**
   * coop with shader-f16 and FLOAT16 K/V read directly: K/V loaded as f16 into f16 tiles (F16_TILES);
   * f16Products: p·v in f16 too, where the final output (FLOAT16, BFLOAT16, INT8) rounds coarser.
   */
  f16Tiles: boolean;
  f16Products: boolean;
}

export interface PrefillPlan {
  spec: PrefillSpec;
  /** Query tiles: ⌈Q_S / blockQ⌉. */
  numQTiles: number;
  /**
   * KV splits (splits.ts): split s of every row covers the logical columns [s·splitLen, +splitLen);
   * grid x is numQTiles · numSplits. Unsplit: numSplits 1 and splitLen 2^30 (every column).
   */
  numSplits: number;
  splitLen: number;
  /**
   * Grid split so no axis exceeds the device's maxComputeWorkgroupsPerDimension: grid x (query
   * tiles × splits) and batches per dispatch (batches also ≤ the per-dispatch length table);
   * y = numKvHeads.
   */
  xPerDispatch: number;
  batchesPerDispatch: number;
  workgroupStorageBytes: number;
  /**
   * A blocked plan chosen by the planner: the quick plan of the same problem (its own query tiles;
   * same bindings, uniforms and workspace), which tiered encodes run until the blocked pipeline is
   * compiled. null for a quick plan, a forced variant, or where one slot per invocation does not
   * fit the device's workgroup size (G above it).
   */
  quick: PrefillPlan | null;
}

export interface PrefillRegions {
  /** Device-side pad counts (AUX_BYTES, left padding), then the KV source's copies (prefix/antiquant). */
  aux: WorkspaceRegion | null;
  kvSource: KvSourceLayout | null;
  /** KV splits: f32 partial out [B][N][Q_S][numSplits][D] and lse [B][N][Q_S][numSplits]. */
  partOut: WorkspaceRegion | null;
  partLse: WorkspaceRegion | null;
}

/**
 * null when the prefill kernel computes `problem` exactly; else the missing feature. `caps`
 * (default: the WebGPU defaults) bounds the storage buffers one dispatch may bind.
 */
export function prefillUnsupported(problem: Problem, caps: DeviceCaps = DEFAULT_CAPS): string | null {
  if (problem.isDecode) return 'Q_S == 1 (decode)';
  const outOk = isFloatType(problem.outDtype) || (problem.outDtype === 'INT8' && !!problem.outQuant);
  const kvOk = isFloatType(problem.kvDtype) || !!problem.antiquant;
  const int8 = !!problem.int8Attention && problem.queryDtype === 'INT8' && problem.kvDtype === 'INT8'
    && (problem.outDtype === 'FLOAT16' || (problem.outDtype === 'INT8' && !!problem.outQuant));
  if (problem.int8Attention && !int8) return `INT8 attention with out ${problem.outDtype}`;
  if (!int8 && (!isFloatType(problem.queryDtype) || !kvOk || !outOk)) {
    return `dtypes query ${problem.queryDtype} / kv ${problem.kvDtype} / out ${problem.outDtype}`;
  }
  if (problem.headDim % 4 !== 0 || problem.headDim === 0) return `headDim ${problem.headDim} (needs a multiple of 4)`;
  if (problem.pse && !isFloatType(problem.pse.dtype)) return `pseShift dtype ${problem.pse.dtype}`;
  const softcap = softcapUnsupported(problem);
  if (softcap) return softcap;
  if (usesKvSource(problem)) {
    if (problem.kv.kind === 'list') return 'tensor-list KV with a shared prefix or antiquant';
    const reason = kvSourceUnsupported(problem);
    if (reason) return reason;
  }
  if (problem.numKvHeads > caps.maxWorkgroupsPerDimension) {
    return `${problem.numKvHeads} KV heads (one workgroup row each; the device allows ${caps.maxWorkgroupsPerDimension} per grid dimension)`;
  }
  const plan = planPrefill(problem, caps);
  const bindings = storageBindings(plan.spec).length;
  if (bindings > caps.maxStorageBuffersPerStage) {
    return `${bindings} storage buffers (e.g. pse + mask + padding + lse + INT8 output with quantOffset2 together; `
      + `the device allows ${caps.maxStorageBuffersPerStage})`;
  }
  if (plan.workgroupStorageBytes > caps.maxWorkgroupStorageBytes) {
    return `headDim ${problem.headDim}: ${plan.workgroupStorageBytes} bytes of workgroup storage for one KV column `
      + `(the device allows ${caps.maxWorkgroupStorageBytes})`;
  }
  if (plan.spec.workgroupSize > Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX)) {
    return `groupSize ${problem.groupSize}: ${plan.spec.workgroupSize} invocations per workgroup `
      + `(the device allows ${Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX)})`;
  }
  return null;
}

/**
 * K/V come through the shared KV source (kvSource.ts, its small tensors copied into the aux
 * region): shared prefix or INT8/INT4 antiquant. Dense, tensor-list and paged float K/V are read
 * directly (no copies, no dependence on the inputs at layout time).
 */
export function usesKvSource(problem: Problem): boolean {
  return problem.prefix !== null || problem.antiquant !== null;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

const largestDivisorAtMost = (n: number, cap: number): number => {
  for (let d = Math.min(n, cap); d > 1; d--) if (n % d === 0) return d;
  return 1;
};

/** Floats of q, and as many of acc, each invocation holds in private arrays, about (planPrefill). */
const SLOT_FLOATS = 512;

export interface PrefillTune {
  /** Force the variant (tests cover each on every adapter); a forced plan has no quick plan. */
  variant?: PrefillVariant;
  /** coop: the softmax step without subgroups even where the device has them (tests). */
  noSubgroups?: boolean;
  /** coop: f32 K/V tiles even where the device has shader-f16 (tests). */
  noF16?: boolean;
  /** At most this many KV columns per tile (fewer where the device's workgroup storage needs it). */
  blockKv?: number;
  rowsPerThread?: number;
  headsPerThread?: number;
  /** Invocations along the rows (quick and coop: rows per workgroup). */
  rowThreads?: number;
  /**
   * Force the KV split count (tests; 1: unsplit). Splits never apply to INT8 attention (P8 needs
   * the row's final max over every column) nor where the split pass's bindings exceed the device's.
   */
  numSplits?: number;
}

/** Invocations a quick workgroup aims for (BLOCK_Q rows × G heads, one slot each). */
const QUICK_INVOCATIONS = 64;
/** A coop workgroup: its invocations, the slots (rows × G heads) it aims for, its smallest KV tile before fewer rows. */
const COOP_INVOCATIONS = 128;
const COOP_SLOTS = 32;
const COOP_MIN_BLOCK_KV = 8;

/**
 * Tiles from the device limits and the head dim:
 * - blockKv: the workgroup arrays (prefillWorkgroupArrays: the two f32 K/V tiles of blockKv·D
 *   floats, column flags, mask bits) fit the workgroup storage, ≤ 32 columns (one u32 of bits);
 * - each invocation owns rowsPerThread rows × headsPerThread heads ("slots"), about SLOT_FLOATS
 *   floats of q and as many of acc in all, in private arrays, in pairs of quads of 4 slots (rows
 *   rounded up so the slots fill whole pairs): each K/V vector read from workgroup memory feeds 8. More
 *   slots per invocation did not pay on SwiftShader (B1 N8 S256 D64: 8 and 16 rows per invocation
 *   run alike), and private arrays cost pipeline-compile time there (each is zero-initialized by
 *   unrolled stores: 16 rows of D64 compile in 0.58 s, 8 rows in 0.35 s);
 * - blockQ = rowThreads · rowsPerThread rows × G heads per workgroup. With a band (causal) or a
 *   sliding window, fewer rows per workgroup so more whole KV tiles fall outside a tile's column
 *   range and are skipped.
 * `tune` fixes any of them instead (tests, benchmarks).
 */
export function planPrefill(problem: Problem, caps: DeviceCaps, tune: PrefillTune = {}): PrefillPlan {
  const G = problem.groupSize;
  const maxInvocations = Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX);
  const quickGeometry = (): Geometry => {
    const rowThreads = tune.rowThreads ?? Math.max(1, Math.min(Math.floor(QUICK_INVOCATIONS / G), problem.qSeqLen));
    return { variant: 'quick', rowsPerThread: 1, headsPerThread: 1, rowThreads, threads: rowThreads * G };
  };
  if (tune.variant === 'quick') {
    const g = quickGeometry();
    return planOf(problem, caps, tune, g, splitsOf(problem, caps, tune, g));
  }
  // Hardware adapters run the cooperative body where its tiles fit; CPU adapters (and problems
  // whose q tile does not fit) the blocked one.
  if (tune.variant === 'coop' || (!tune.variant && !caps.fallbackAdapter)) {
    const coop = planCoop(problem, caps, tune);
    if (tune.variant || coop.workgroupStorageBytes <= caps.maxWorkgroupStorageBytes) return coop;
  }
  const D = problem.headDim;
  const slots = Math.max(1, Math.floor(SLOT_FLOATS / D));
  const headsPerThread = tune.headsPerThread ?? largestDivisorAtMost(G, Math.min(4, slots));
  // No more rows per thread than the query needs (short queries would compute padding rows), then
  // up to whole pairs of quads (8 slots: padding slots would be computed anyway). A short query
  // with fewer than 32 (row, head) slots in all gets one quad of 4 slots per invocation instead:
  // twice the invocations (8 slots each would leave fewer than 4, part of a SIMD group idle on a
  // CPU adapter) for half the work each.
  const pairRows = 8 / gcd(headsPerThread, 8);
  const quadRows = 4 / gcd(headsPerThread, 4);
  const oneQuad = problem.qSeqLen * G < 32 && headsPerThread * quadRows === 4;
  const rowsPerThread = tune.rowsPerThread ?? (oneQuad ? quadRows
    : Math.ceil(Math.max(1, Math.min(Math.floor(slots / headsPerThread), Math.ceil(problem.qSeqLen / 2))) / pairRows) * pairRows);
  const headThreads = G / headsPerThread;
  const maxRowThreads = Math.max(1, Math.floor(caps.maxInvocationsPerWorkgroup / headThreads));
  const wantRowThreads = problem.band || problem.slidingWindow > 0 ? 4 : 8;
  const rowThreads = tune.rowThreads
    ?? Math.max(1, Math.min(maxRowThreads, wantRowThreads, Math.ceil(problem.qSeqLen / rowsPerThread)));
  const geometry: Geometry = { variant: 'blocked', rowsPerThread, headsPerThread, rowThreads, threads: rowThreads * headThreads };
  // The quick tier runs on the same splits (same workspace); the blocked plan's grid decides them.
  const splits = splitsOf(problem, caps, tune, geometry);
  const blocked = planOf(problem, caps, tune, geometry, splits);
  if (tune.variant || G > maxInvocations) return blocked;
  const q = planOf(problem, caps, tune, quickGeometry(), splits);
  return q.workgroupStorageBytes <= caps.maxWorkgroupStorageBytes ? { ...blocked, quick: q } : blocked;
}

/**
 * A plan's slot geometry: the body, each invocation's rows × heads, invocations along the rows
 * (coop: the rows of the workgroup), invocations per workgroup.
 */
interface Geometry { variant: PrefillVariant; rowsPerThread: number; headsPerThread: number; rowThreads: number; threads: number }

/**
 * The coop plan: about COOP_SLOTS (row, head) slots per workgroup, fewer rows while the q tile and
 * a KV tile of COOP_MIN_BLOCK_KV columns do not fit the workgroup storage (prefillWorkgroupArrays);
 * the smallest that does not fit is returned, and prefillUnsupported reports it.
 */
function planCoop(problem: Problem, caps: DeviceCaps, tune: PrefillTune): PrefillPlan {
  const threads = Math.min(COOP_INVOCATIONS, caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX);
  let blockQ = tune.rowThreads ?? Math.max(1, Math.min(Math.floor(COOP_SLOTS / problem.groupSize), problem.qSeqLen));
  for (;;) {
    const g: Geometry = { variant: 'coop', rowsPerThread: 1, headsPerThread: 1, rowThreads: blockQ, threads };
    const plan = planOf(problem, caps, tune, g, splitsOf(problem, caps, tune, g));
    const fits = plan.workgroupStorageBytes <= caps.maxWorkgroupStorageBytes && plan.spec.blockKv >= Math.min(COOP_MIN_BLOCK_KV, tune.blockKv ?? MAX_BLOCK_KV);
    if (fits || blockQ === 1 || tune.rowThreads) return plan;
    blockQ = Math.ceil(blockQ / 2);
  }
}

const UNSPLIT: KvSplits = { numSplits: 1, splitLen: BAND_CLAMP };

/**
 * The KV splits of a plan with geometry `g` (splits.ts: enough workgroups for the device), in whole
 * KV tiles; UNSPLIT for INT8 attention (P8 needs each row's final max over all its columns), where
 * the split pass would bind more storage buffers than the device grants, and no more splits than
 * the partials' workspace region can hold in one binding (maxStorageBufferBindingSize).
 */
function splitsOf(problem: Problem, caps: DeviceCaps, tune: PrefillTune, g: Geometry): KvSplits {
  if (problem.int8Attention) return UNSPLIT;
  if (storageBindings(specFeatures(problem, true)).length > caps.maxStorageBuffersPerStage) return UNSPLIT;
  const tiles = Math.ceil(problem.qSeqLen / (g.rowThreads * g.rowsPerThread));
  const columns = problem.kvSeqLen + (problem.prefix?.len ?? 0);
  const workgroups = problem.batch * problem.numKvHeads * tiles;
  const partialBytes = problem.batch * problem.numQoHeads * problem.qSeqLen * problem.headDim * 4;
  const fit = Math.floor(caps.maxStorageBindingBytes / Math.max(1, partialBytes));
  let splits = kvSplits(columns, workgroups, { forced: tune.numSplits, align: MAX_BLOCK_KV });
  if (splits.numSplits > fit) splits = kvSplits(columns, workgroups, { forced: fit, align: MAX_BLOCK_KV });
  return splits.numSplits > 1 && splits.numSplits <= fit ? splits : UNSPLIT;
}

/** A plan from its slot geometry and splits: the largest KV tile that fits, the spec and the grid. */
function planOf(problem: Problem, caps: DeviceCaps, tune: PrefillTune, g: Geometry, splits: KvSplits): PrefillPlan {
  const D = problem.headDim;
  const G = problem.groupSize;
  const blockQ = g.rowThreads * g.rowsPerThread;
  const features = specFeatures(problem, splits.numSplits > 1);
  const subgroups = g.variant === 'coop' && caps.subgroups && !tune.noSubgroups;
  const f16Tiles = g.variant === 'coop' && caps.shaderF16 && !tune.noF16 && problem.kvDtype === 'FLOAT16' && !features.kvSource;
  const f16Products = f16Tiles && problem.outDtype !== 'FLOAT32';
  const bytesAt = (blockKv: number): number => workgroupBytes(prefillWorkgroupArrays({
    ...features, variant: g.variant, headDim: D, groupSize: G, blockQ, blockKv, subgroups, f16Tiles,
  }));
  let blockKv = tune.blockKv ?? MAX_BLOCK_KV;
  if (blockKv > MAX_BLOCK_KV) throw new Error(`prefill: blockKv ${blockKv} > ${MAX_BLOCK_KV} (one u32 of column bits)`);
  // The largest tile that fits, up to the tuned one (1 when none does: prefillUnsupported then
  // reports the overflow).
  while (blockKv > 1 && bytesAt(blockKv) > caps.maxWorkgroupStorageBytes) blockKv--;
  const spec: PrefillSpec = {
    ...features, variant: g.variant,
    headDim: D, groupSize: G, blockQ, blockKv, rowsPerThread: g.rowsPerThread, headsPerThread: g.headsPerThread,
    workgroupSize: g.threads, subgroups, f16Tiles, f16Products,
  };
  const numQTiles = Math.ceil(problem.qSeqLen / blockQ);
  const maxGroups = caps.maxWorkgroupsPerDimension;
  return {
    spec, numQTiles, ...splits,
    xPerDispatch: Math.max(1, Math.min(numQTiles * splits.numSplits, maxGroups)),
    batchesPerDispatch: Math.max(1, Math.min(BATCHES_PER_DISPATCH, maxGroups)),
    workgroupStorageBytes: bytesAt(blockKv),
    quick: null,
  };
}

/** KV columns per tile at most: a tile row's kept columns are one u32 of bits. */
const MAX_BLOCK_KV = 32;

/**
 * Every `var<workgroup>` variable of the prefill shader, declared from this list (WORKGROUP in
 * shaders/prefill.wgsl) and counted from it by the plan: the K/V tiles (f32, or f16 with
 * f16Tiles); coop's q tile, score block and per-slot softmax state (and its subgroups' index
 * counter); the column-present flags (paged K/V); the per-row kept-column bits (attenMask); the tag
 * of the last tile whose V holds NaN or Inf (blocked body, rows keep different columns: band or
 * mask; the quick and coop bodies add each slot's kept columns only and need no flag); the left
 * pads.
 */
export function prefillWorkgroupArrays(
  spec: Pick<PrefillSpec, 'variant' | 'headDim' | 'groupSize' | 'blockQ' | 'blockKv' | 'subgroups' | 'f16Tiles' | 'paged' | 'kvs' | 'mask' | 'band'>,
): WorkgroupArray[] {
  const tile = spec.blockKv * (spec.headDim / 4);
  const elem = spec.f16Tiles ? 'vec4<f16>' : 'vec4<f32>';
  const arrays: WorkgroupArray[] = [
    { name: 'kTile', elem, length: tile },
    { name: 'vTile', elem, length: tile },
  ];
  if (spec.variant === 'coop') {
    // q of the workgroup's slots, the score block, and each slot's softmax state (prefill_coop.wgsl).
    const slots = spec.blockQ * spec.groupSize;
    arrays.push(
      { name: 'qTile', elem: 'vec4<f32>', length: slots * (spec.headDim / 4) },
      { name: 'sTile', elem: 'f32', length: slots * spec.blockKv },
      ...['rowM', 'rowL', 'rowAlpha'].map((name): WorkgroupArray => ({ name, elem: 'f32', length: slots })),
      ...['rowCls', 'rowKept'].map((name): WorkgroupArray => ({ name, elem: 'u32', length: slots })),
    );
    // The subgroups' index counter (prefill_coop_subgroups.wgsl).
    if (spec.subgroups) arrays.push({ name: 'wgTeamCount', elem: 'atomic<u32>', length: 1, scalar: true }, { name: 'wgTeams', elem: 'u32', length: 1, scalar: true });
  }
  if (spec.paged || spec.kvs?.paged) arrays.push({ name: 'tilePresent', elem: 'u32', length: spec.blockKv });
  if (spec.mask) arrays.push({ name: 'tileKeep', elem: 'u32', length: spec.blockQ });
  if ((spec.mask || spec.band) && spec.variant === 'blocked') arrays.push({ name: 'tileVBad', elem: 'atomic<u32>', length: 1, scalar: true });
  // The left pads, read once per workgroup (workgroupSpan).
  arrays.push({ name: 'wgQueryPad', elem: 'u32', length: 1, scalar: true }, { name: 'wgKvPad', elem: 'u32', length: 1, scalar: true });
  return arrays;
}

/** The accessors of the optional workgroup variables: real where declared, constant stubs elsewhere. */
function workgroupAccessors(spec: PrefillSpec): string {
  const names = new Set(prefillWorkgroupArrays(spec).map((a) => a.name));
  return [
    names.has('tilePresent')
      ? `fn setColumnPresent(col: u32, present: bool) { tilePresent[col] = select(0u, 1u, present); }
fn columnPresent(col: u32) -> bool { return tilePresent[col] != 0u; }`
      : `fn setColumnPresent(col: u32, present: bool) { }
fn columnPresent(col: u32) -> bool { return true; }`,
    names.has('tileKeep')
      ? `fn setTileKeep(r: u32, bits: u32) { tileKeep[r] = bits; }
fn tileKeepOf(r: u32) -> u32 { return tileKeep[r]; }`
      : `fn setTileKeep(r: u32, bits: u32) { }
fn tileKeepOf(r: u32) -> u32 { return 0u; }`,
    names.has('tileVBad')
      ? `fn markVBad(tag: u32) { atomicMax(&tileVBad, tag); }
fn vBadTag() -> u32 { return atomicLoad(&tileVBad); }`
      : `fn markVBad(tag: u32) { }
fn vBadTag() -> u32 { return 0u; }`,
  ].join('\n');
}

/** The feature half of the specialization (what decides bindings and feature blocks). */
type SpecFeatures = Omit<PrefillSpec,
  'variant' | 'headDim' | 'groupSize' | 'blockQ' | 'blockKv' | 'rowsPerThread' | 'headsPerThread' | 'workgroupSize' | 'subgroups' | 'f16Tiles' | 'f16Products'>;

/** The features of `problem`'s pass; `split`: the split pass's (f32 partials and lse to the workspace, no output quant). */
function specFeatures(problem: Problem, split = false): SpecFeatures {
  const features: SpecFeatures = {
    queryDtype: problem.queryDtype, kvDtype: problem.kvDtype, outDtype: problem.outDtype,
    // A sliding window limits each row's columns as a band does (columnRange, shaders/prefill.wgsl).
    pseDtype: problem.pse ? problem.pse.dtype : 'none', mask: !!problem.mask, band: !!problem.band || problem.slidingWindow > 0,
    lse: problem.softmaxLse, queryPad: problem.qLeftPadding, kvPad: problem.kvLeftPadding,
    paged: problem.kv.kind === 'paged' && !usesKvSource(problem),
    outQuantDtype: problem.outQuant ? problem.outQuant.dtype : 'none',
    outQuantOffset: !!problem.outQuant?.hasOffset,
    int8: !!problem.int8Attention,
    softcap: problem.softcap > 0, sink: problem.learnableSink,
    kvSource: usesKvSource(problem),
    kvs: usesKvSource(problem) ? kvSourceSpec(problem) : null,
    split: false,
  };
  return split ? { ...features, outDtype: 'FLOAT32', lse: true, outQuantDtype: 'none', outQuantOffset: false, split: true } : features;
}

/** The aux region's word of the learnable sink's first logit (after the aux scalars). */
const SINK_SLOT = AUX_BYTES / 4;

/**
 * Workspace: one aux region when the kernel reads device scalars (left padding, INT8 scales), the
 * learnable sink (N words at SINK_SLOT) or the KV source (prefix / antiquant: `tensors` required,
 * its copies follow); then, with KV splits, the partials the combine merges.
 */
export function layoutPrefillWorkspace(problem: Problem, plan: PrefillPlan, ws: WorkspaceAllocator, tensors?: KernelTensors): PrefillRegions {
  const words = new MetaWordAllocator(SINK_SLOT + (problem.learnableSink ? problem.numQoHeads : 0));
  let kvSource: KvSourceLayout | null = null;
  if (usesKvSource(problem)) {
    if (!tensors) throw new Error('prefill: a shared prefix or antiquant needs the tensors to lay out the workspace (KV source copies)');
    kvSource = layoutKvSource(problem, tensors, words);
  }
  const aux = readsAux(plan.spec) ? ws.alloc(words.words * 4) : null;
  if (plan.numSplits === 1) return { aux, kvSource, partOut: null, partLse: null };
  const partials = problem.batch * problem.numQoHeads * problem.qSeqLen * plan.numSplits;
  return { aux, kvSource, partOut: ws.alloc(partials * problem.headDim * 4), partLse: ws.alloc(partials * 4) };
}

const UNIFORMS = new UniformBlock('PrefillUniforms', {
  batchBase: 'u32', qTileBase: 'u32', numQoHeads: 'u32', qSeqLen: 'u32', kvRows: 'u32', scaleValue: 'f32',
  bandRightDown: 'u32', preTokens: 'i32', nextTokens: 'i32',
  // The sliding window W (extension; 0: off), part of the column range as the band is.
  slidingWindow: 'i32',
  qOffset: 'u32', qStrideB: 'u32', qStrideN: 'u32', qStrideS: 'u32', qStrideD: 'u32',
  kOffset: 'u32', kStrideB: 'u32', kStrideN: 'u32', kStrideS: 'u32', kStrideD: 'u32',
  vOffset: 'u32', vStrideB: 'u32', vStrideN: 'u32', vStrideS: 'u32', vStrideD: 'u32',
  outOffset: 'u32', outStrideB: 'u32', outStrideN: 'u32', outStrideS: 'u32',
  maskOffset: 'u32', maskStrideB: 'u32', maskStrideS: 'u32', maskStrideC: 'u32',
  pseOffset: 'u32', pseStrideB: 'u32', pseStrideN: 'u32', pseStrideS: 'u32', pseStrideC: 'u32',
  lseOffset: 'u32',
  btOffset: 'u32', btStrideB: 'u32', btStrideE: 'u32', blockSize: 'u32', numBlocks: 'u32',
  qs2Offset: 'u32', qo2Offset: 'u32', quantPerChannel: 'u32',
  // KV splits (grid x = query tile · numSplits + split); unsplit: 1 and 2^30.
  numSplits: 'u32', splitLen: 'u32',
  // 0: loop bounds the compiler cannot see through (shaders/common/rolled.wgsl).
  rolled: 'u32',
  ...EXTENSION_UNIFORM_FIELDS,
  ...kvSourceUniformFields,
});
type PrefillUniformValues = Parameters<typeof UNIFORMS.pack>[0];
const NO_KV_SOURCE = Object.fromEntries(Object.keys(kvSourceUniformFields).map((k) => [k, 0])) as KvSourceUniformValues;

/** The pass reads the aux region: left pads, INT8 scales, the learnable sink or the KV source's copies. */
function readsAux(spec: SpecFeatures): boolean {
  return spec.queryPad || spec.kvPad || spec.int8 || spec.sink || spec.kvSource;
}

/** The storage bindings a specialization uses, in binding order (absent features bind nothing). */
function storageBindings(spec: SpecFeatures & { f16Tiles?: boolean }): { name: string; access: 'read' | 'read_write'; elem: string }[] {
  // F16_TILES reads K/V as f16 (shader-f16), the others as u32 words.
  const kv = spec.f16Tiles ? 'f16' : 'u32';
  const list: { name: string; access: 'read' | 'read_write'; elem: string }[] = [
    { name: 'qBuf', access: 'read', elem: 'u32' },
    { name: 'kBuf', access: 'read', elem: kv },
    { name: 'vBuf', access: 'read', elem: kv },
  ];
  if (spec.paged) list.push({ name: 'btBuf', access: 'read', elem: 'u32' });
  if (spec.pseDtype !== 'none') list.push({ name: 'pseBuf', access: 'read', elem: 'u32' });
  if (spec.mask) list.push({ name: 'maskBuf', access: 'read', elem: 'u32' });
  // Split mode writes partials to the workspace the aux region lies in: every binding of one buffer
  // in a pass must then be writable storage.
  if (readsAux(spec)) list.push({ name: 'aux', access: spec.split ? 'read_write' : 'read', elem: 'u32' });
  list.push({ name: 'outBuf', access: 'read_write', elem: 'atomic<u32>' });
  if (spec.outQuantDtype !== 'none') list.push({ name: 'qs2Buf', access: 'read', elem: 'u32' });
  if (spec.outQuantOffset) list.push({ name: 'qo2Buf', access: 'read', elem: 'u32' });
  if (spec.lse) list.push({ name: 'lseBuf', access: 'read_write', elem: 'f32' });
  return list;
}

/**
 * The batch runs of the prefill grid (z): runs of plan.batchesPerDispatch, or one batch per run for
 * tensor-list KV (each batch binds its own K/V). Each run is dispatched once per run of query tiles.
 */
export function prefillBatchRuns(problem: Problem, plan: PrefillPlan): AxisRun[] {
  return axisRuns(problem.batch, problem.kv.kind === 'list' ? 1 : plan.batchesPerDispatch);
}

const wgslBool = (x: boolean): string => (x ? 'true' : 'false');

/** CONSTS: the shape constants and feature switches of shaders/prefill.wgsl. */
function constsBlock(spec: PrefillSpec): string {
  const u32s: [string, number][] = [
    ['HEAD_DIM', spec.headDim], ['GROUP_SIZE', spec.groupSize], ['BLOCK_Q', spec.blockQ], ['BLOCK_KV', spec.blockKv],
    ['ROWS_PER_THREAD', spec.rowsPerThread], ['HEADS_PER_THREAD', spec.headsPerThread], ['WORKGROUP_SIZE', spec.workgroupSize],
  ];
  const bools: [string, boolean][] = [
    ['HAS_MASK', spec.mask], ['HAS_PSE', spec.pseDtype !== 'none'], ['HAS_BAND', spec.band],
    ['HAS_QUERY_PAD', spec.queryPad], ['HAS_KV_PAD', spec.kvPad],
    // Column-present flags: paged K/V, read directly or through the KV source.
    ['PAGED', spec.paged || !!spec.kvs?.paged],
    ['INT8', spec.int8], ['OUT_INT8', spec.outDtype === 'INT8'],
    ['HAS_SOFTCAP', spec.softcap], ['HAS_SINK', spec.sink],
    // K/V tile loads four elements per iteration, one in the quick body (loadTile).
    ['TILE_VEC4', spec.variant !== 'quick'],
    // The pass writes split partials (softmax_rules.wgsl, prefill.wgsl "KV splits").
    ['PARTIAL', spec.split],
    // coop: f16 K/V tiles, and p·v in f16 (prefill_coop.wgsl).
    ['F16_TILES', spec.f16Tiles], ['F16_PRODUCTS', spec.f16Products],
  ];
  const tileScalar = spec.f16Tiles ? 'f16' : 'f32';
  return [
    ...u32s.map(([name, v]) => `const ${name}: u32 = ${v}u;`),
    ...bools.map(([name, v]) => `const ${name}: bool = ${wgslBool(v)};`),
    // The K/V tiles' element type (kTile, vTile).
    `alias TileScalar = ${tileScalar};`, 'alias TileVec = vec4<TileScalar>;',
  ].join('\n');
}

/**
 * ACCESSORS: one-line loaders of each bound tensor (its dtype's element loader), constant stubs
 * for the features that are off (an absent binding cannot be named, even in dead code), and the
 * device scalars the aux region holds (pads, INT8 scales).
 */
function accessorsBlock(spec: PrefillSpec): string {
  const parts = [loaderFn('loadQ', 'qBuf', spec.queryDtype)];
  if (spec.f16Tiles) parts.push('fn loadK(i: u32) -> f32 { return f32(kBuf[i]); }', 'fn loadV(i: u32) -> f32 { return f32(vBuf[i]); }');
  else if (!spec.kvs) parts.push(loaderFn('loadK', 'kBuf', spec.kvDtype), loaderFn('loadV', 'vBuf', spec.kvDtype));
  parts.push(spec.paged
    ? 'fn loadBlockId(i: u32) -> i32 { return bitcast<i32>(btBuf[i]); }'
    : 'fn loadBlockId(i: u32) -> i32 { return -1i; }');
  parts.push(spec.mask ? loaderFn('loadMaskByte', 'maskBuf', 'UINT8') : 'fn loadMaskByte(i: u32) -> f32 { return 0.0; }');
  parts.push(spec.pseDtype !== 'none' ? loaderFn('loadPse', 'pseBuf', spec.pseDtype) : 'fn loadPse(i: u32) -> f32 { return 0.0; }');
  parts.push(spec.outQuantDtype !== 'none' ? loaderFn('loadQs2', 'qs2Buf', spec.outQuantDtype) : 'fn loadQs2(i: u32) -> f32 { return 0.0; }');
  parts.push(spec.outQuantOffset && spec.outQuantDtype !== 'none'
    ? `${loaderFn('loadQo2', 'qo2Buf', spec.outQuantDtype)}\nfn quantOffset2(c: u32) -> f32 { return loadQo2(u.qo2Offset + c); }`
    : 'fn quantOffset2(c: u32) -> f32 { return 0.0; }');
  // Row i's lse (split mode: its split's partial lse, numSplits per row).
  parts.push(spec.lse ? 'fn writeLse(i: u32, v: f32) { lseBuf[u.lseOffset + i * u.numSplits + split] = v; }' : 'fn writeLse(i: u32, v: f32) { }');
  if (readsAux(spec)) parts.push(wgsl('common/aux.wgsl'));
  parts.push(`fn queryPad() -> u32 { return ${spec.queryPad ? `auxPad(${AUX_SLOTS.queryPad}u)` : '0u'}; }`);
  parts.push(`fn kvPad() -> u32 { return ${spec.kvPad ? `auxPad(${AUX_SLOTS.kvPad}u)` : '0u'}; }`);
  // Score multiplier: scaleValue, times deqScale1' on the INT8 path; quantScale1 for P8;
  // the output multiplier deqScale2' on the INT8 path.
  parts.push(spec.int8
    ? `fn scoreScale() -> f32 { return u.scaleValue * auxDeqScale(${AUX_SLOTS.deqScale1}u); }
fn quantScale1() -> f32 { return auxF32(${AUX_SLOTS.quantScale1}u); }
fn outScale() -> f32 { return auxDeqScale(${AUX_SLOTS.deqScale2}u); }`
    : `fn scoreScale() -> f32 { return u.scaleValue; }
fn quantScale1() -> f32 { return 0.0; }
fn outScale() -> f32 { return 1.0; }`);
  parts.push(wgsl('common/softmax_rules.wgsl'), wgsl('common/extensions.wgsl'));
  parts.push(spec.sink ? 'fn sinkLogit(n: u32) -> f32 { return auxF32(u.sinkSlot + n); }' : 'fn sinkLogit(n: u32) -> f32 { return 0.0; }');
  return parts.join('\n');
}

/** OUTPUT: element stores for the output dtype, its f32 → bits conversion and the INT8 quantizer. */
function outputBlock(spec: PrefillSpec): string {
  return [
    outStoreWgsl(spec.outDtype),
    wgsl('common/f16pack.wgsl'),
    `fn outBits(x: f32) -> u32 { ${outBitsBody(spec.outDtype === 'INT8' ? 'FLOAT32' : spec.outDtype)} }`,
    wgsl('common/out_quant.wgsl'),
  ].join('\n');
}

/** BODY of each variant; coop's softmax step comes first, with or without subgroups. */
const BODIES: Record<PrefillVariant, (spec: PrefillSpec) => string> = {
  blocked: () => wgsl('common/prefill_blocked.wgsl'),
  quick: () => wgsl('common/prefill_quick.wgsl'),
  coop: (spec) => `${wgsl(spec.subgroups ? 'common/prefill_coop_subgroups.wgsl' : 'common/prefill_coop_rows.wgsl')}\n${wgsl('common/prefill_coop.wgsl')}`,
};

export function prefillShaderCode(spec: PrefillSpec): string {
  const bindings = storageBindings(spec)
    .map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${b.elem}>;`)
    .concat([
      '@group(1) @binding(0) var<uniform> u: PrefillUniforms;',
      `@group(1) @binding(1) var<uniform> lens: array<vec4<u32>, ${LENS_CAP}>;`,
    ]).join('\n');
  return fill(wgsl('prefill.wgsl'), {
    ENABLE: [spec.f16Tiles ? 'enable f16;' : '', spec.subgroups ? 'enable subgroups;' : ''].join('\n'),
    UNIFORMS: UNIFORMS.wgslStruct(),
    BINDINGS: bindings,
    WORKGROUP: `${workgroupDecls(prefillWorkgroupArrays(spec))}\n${workgroupAccessors(spec)}`,
    CONSTS: constsBlock(spec),
    ACCESSORS: accessorsBlock(spec),
    KV_TILE: spec.kvs
      ? `${kvSourceWgsl(spec.kvs)}\n${wgsl('common/prefill_kv_source.wgsl')}`
      : wgsl('common/prefill_kv_direct.wgsl'),
    OUTPUT: outputBlock(spec),
    ROLLED: wgsl('common/rolled.wgsl'),
    BODY: BODIES[spec.variant](spec),
  });
}

/**
 * Every pipeline an encode of `plan` uses (the prefill shader of plan.spec, keyed by the whole
 * specialization; with KV splits also the combine); encodePrefill asks for exactly these. `tier`
 * 'first-call': the quick plan's shader when there is one.
 */
export function prefillPipelineSources(problem: Problem, plan: PrefillPlan, tier: PipelineTier = 'steady'): PipelineSource[] {
  const sources = [prefillSource(tier === 'first-call' && plan.quick ? plan.quick : plan)];
  if (plan.numSplits > 1) sources.push(splitCombineSource(problem));
  return sources;
}

function prefillSource(plan: PrefillPlan): PipelineSource {
  const { kvs, ...rest } = plan.spec;
  const flat: Record<string, string | number | boolean> = { ...rest, ...(kvs ? kvSourceSpecKey(kvs) : {}) };
  return { key: specKey('prefill', flat), build: () => ({ code: prefillShaderCode(plan.spec), label: `fia.prefill.${plan.spec.variant}` }) };
}

/** The per-batch (qLen, kvLen) table for batches [base, base + count). */
function lensTable(problem: Problem, base: number, count: number): ArrayBuffer {
  const words = new Uint32Array(LENS_CAP * 4);
  for (let k = 0; k < count; k++) {
    words[2 * k] = problem.qLens[base + k]!;
    // Logical columns: the shared prefix first (SEMANTICS §7).
    words[2 * k + 1] = (problem.prefix?.len ?? 0) + problem.kvLens[base + k]!;
  }
  return words.buffer;
}

export function encodePrefill(ctx: {
  device: GPUDevice; encoder: GPUCommandEncoder; problem: Problem; plan: PrefillPlan; tensors: KernelTensors;
  workspace: GPUBuffer | null; regions: PrefillRegions;
  /**
   * Run plan.quick while the plan's own pipeline compiles in the background (the executor's
   * encodes). Unset: the plan's own pipeline, compiled in the call if needed (kernel tests).
   */
  tiered?: boolean;
}): void {
  const { device, encoder, problem, workspace, regions } = ctx;
  const caps = capsOf(device);
  const reason = prefillUnsupported(problem, caps);
  if (reason) throw new Error(`prefill kernel: unsupported ${reason}`);
  // The quick plan has its own query tiles; bindings, uniforms and workspace are the same.
  const steady = ctx.tiered && ctx.plan.quick ? readyPipeline(device, prefillSource(ctx.plan)) : null;
  const plan = ctx.tiered && ctx.plan.quick && !steady ? ctx.plan.quick : ctx.plan;
  const pipeline = steady ?? pipelineOf(device, prefillSource(plan));
  const { spec } = plan;
  // Copies read the caller's tensors (ctx.tensors); bindings and uniforms use each tensor's byte range.
  const tensors = rebaseTensors(ctx.tensors);
  const out = tensors.out;
  if (regions.aux) {
    encodeAuxCopies(encoder, ctx.tensors, workspace!, { offset: regions.aux.offset, size: AUX_BYTES });
    encodeSinkCopy(encoder, ctx.tensors.sink, workspace!, regions.aux.offset, SINK_SLOT, problem.numQoHeads);
    if (regions.kvSource) encodeKvSourceCopies(encoder, ctx.tensors, workspace!, regions.aux.offset, regions.kvSource);
  }
  if (spec.kvSource && !regions.kvSource) throw new Error('prefill: the workspace layout has no KV source copies');
  if (problem.batch === 0 || problem.qSeqLen === 0) return;

  const D = problem.headDim;
  const query = tensors.query;
  const qs = axisStrides(query, problem.queryLayout, D);
  const os = axisStrides(out, problem.outLayout, D);
  const kvLayout = problem.kv.kind === 'paged' ? problem.kv.cacheLayout : problem.kv.kvLayout;
  const paged = problem.kv.kind === 'paged' ? problem.kv : null;
  const blockTable = paged ? tensors.blockTable! : null;
  const band = problem.band;
  const clampBand = (x: number): number => Math.max(-BAND_CLAMP, Math.min(BAND_CLAMP, x));
  const mask = problem.mask;
  const pse = problem.pse;
  const lseTensor = tensors.lse;
  if (problem.softmaxLse && !lseTensor) throw new Error('prefill kernel: softmaxLse requested but not given');
  // KV splits: the pass writes partials [B][N][Q_S][K][D] and lse [B][N][Q_S][K] to the workspace.
  const K = plan.numSplits;
  const split = K > 1;
  if (split && !(regions.partOut && regions.partLse)) throw new Error('prefill: the workspace layout has no split partials');
  const partStrideS = K * D;

  const resources = (key: Tensor, value: Tensor): Record<string, GPUBufferBinding> => {
    const r: Record<string, GPUBufferBinding> = {
      qBuf: tensorBinding(query), kBuf: tensorBinding(key), vBuf: tensorBinding(value),
      outBuf: split ? bindingOf(workspace!, regions.partOut!) : tensorBinding(out),
    };
    if (blockTable) r.btBuf = tensorBinding(blockTable);
    if (pse) r.pseBuf = tensorBinding(tensors.pse!);
    if (mask) r.maskBuf = tensorBinding(tensors.mask!);
    if (regions.aux) r.aux = bindingOf(workspace!, regions.aux);
    if (split) r.lseBuf = bindingOf(workspace!, regions.partLse!);
    else if (lseTensor) r.lseBuf = tensorBinding(lseTensor);
    if (tensors.outScale) r.qs2Buf = tensorBinding(tensors.outScale);
    if (tensors.outOffset) r.qo2Buf = tensorBinding(tensors.outOffset);
    return r;
  };

  const pass = encoder.beginComputePass({ label: 'fia.prefill' });
  pass.setPipeline(pipeline);
  const names = storageBindings(spec).map((b) => b.name);
  const list = problem.kv.kind === 'list';
  for (const chunk of prefillBatchRuns(problem, plan)) {
    // Tensor list: one batch per run, with its own K/V tensors.
    const key = tensors.key[list ? chunk.base : 0]!;
    const value = tensors.value[list ? chunk.base : 0]!;
    const ks = axisStrides(key, kvLayout, D);
    const vs = axisStrides(value, kvLayout, D);
    const values: Omit<PrefillUniformValues, 'qTileBase'> = {
      batchBase: chunk.base, numQoHeads: problem.numQoHeads, qSeqLen: problem.qSeqLen,
      kvRows: problem.kv.kind === 'dense' ? problem.kv.seqLen : problem.kvSeqLen,
      scaleValue: problem.scaleValue,
      // Without a band (a sliding window alone) the band keeps every column.
      bandRightDown: band?.anchor === 'rightDown' ? 1 : 0,
      preTokens: clampBand(band?.preTokens ?? BAND_CLAMP), nextTokens: clampBand(band?.nextTokens ?? BAND_CLAMP),
      slidingWindow: clampBand(problem.slidingWindow),
      qOffset: query.offset, qStrideB: qs.batch, qStrideN: qs.head, qStrideS: qs.seq, qStrideD: qs.dim,
      // Tensor list: the batch's own tensor (batch 1), so the batch index must not move the base.
      kOffset: key.offset, kStrideB: list ? 0 : ks.batch, kStrideN: ks.head, kStrideS: ks.seq, kStrideD: ks.dim,
      vOffset: value.offset, vStrideB: list ? 0 : vs.batch, vStrideN: vs.head, vStrideS: vs.seq, vStrideD: vs.dim,
      ...(split
        ? { outOffset: 0, outStrideB: problem.numQoHeads * problem.qSeqLen * partStrideS, outStrideN: problem.qSeqLen * partStrideS, outStrideS: partStrideS }
        : { outOffset: out.offset, outStrideB: os.batch, outStrideN: os.head, outStrideS: os.seq }),
      maskOffset: mask ? rebased(mask.offset, ctx.tensors.mask!, tensors.mask!) : 0, maskStrideB: mask?.batchStride ?? 0, maskStrideS: mask?.rowStride ?? 0,
      maskStrideC: mask?.colStride ?? 0,
      pseOffset: pse ? rebased(pse.offset, ctx.tensors.pse!, tensors.pse!) : 0, pseStrideB: pse?.batchStride ?? 0, pseStrideN: pse?.headStride ?? 0,
      pseStrideS: pse?.rowStride ?? 0, pseStrideC: pse?.colStride ?? 0,
      lseOffset: split ? 0 : lseTensor?.offset ?? 0,
      btOffset: blockTable?.offset ?? 0, btStrideB: blockTable?.strides[0] ?? 0, btStrideE: blockTable?.strides[1] ?? 0,
      blockSize: paged?.blockSize ?? 1, numBlocks: paged?.numBlocks ?? 0,
      qs2Offset: tensors.outScale?.offset ?? 0, qo2Offset: tensors.outOffset?.offset ?? 0,
      quantPerChannel: problem.outQuant?.perChannel ? 1 : 0,
      numSplits: K, splitLen: plan.splitLen,
      rolled: 0,
      ...extensionUniforms(problem, SINK_SLOT),
      ...(regions.kvSource
        ? kvSourceUniformValues(problem, tensors, regions.kvSource, list ? chunk.base : 0)
        : NO_KV_SOURCE),
    };
    const lens = uniformBuffer(device, lensTable(problem, chunk.base, chunk.count), 'fia.prefill.lens');
    const res = resources(key, value);
    const group0 = device.createBindGroup({
      label: 'fia.prefill.tensors', layout: pipeline.getBindGroupLayout(0),
      entries: names.map((name, i) => ({ binding: i, resource: res[name]! })),
    });
    pass.setBindGroup(0, group0);
    for (const xs of axisRuns(plan.numQTiles * K, plan.xPerDispatch)) {
      const header = uniformBuffer(device, UNIFORMS.pack({ ...values, qTileBase: xs.base }), 'fia.prefill.uniforms');
      const group1 = device.createBindGroup({
        label: 'fia.prefill.uniforms', layout: pipeline.getBindGroupLayout(1),
        entries: [{ binding: 0, resource: { buffer: header } }, { binding: 1, resource: { buffer: lens } }],
      });
      pass.setBindGroup(1, group1);
      pass.dispatchWorkgroups(xs.count, problem.numKvHeads, chunk.count);
    }
  }
  pass.end();
  if (!split) return;

  // Merge the splits into attentionOut (its layout's row order), softmaxLse and the INT8 output.
  encodeCombine(device, encoder, {
    parts: bindingOf(workspace!, regions.partOut!), partsDtype: 'FLOAT32', lses: bindingOf(workspace!, regions.partLse!),
    out: tensorBinding(out), outDtype: problem.outDtype, outOffset: out.offset,
    lseOut: lseTensor ? tensorBinding(lseTensor) : null, lseOutOffset: lseTensor?.offset ?? 0,
    rows: problem.batch * problem.numQoHeads * problem.qSeqLen, headDim: D, numParts: K,
    partBase: 0, partRowStride: partStrideS, partSplitStride: D,
    lseBase: 0, lseRowStride: K, lseSplitStride: 1,
    outQuant: combineOutQuant(problem, tensors),
    rowOrder: { seqLen: problem.qSeqLen, heads: problem.numQoHeads, seqOuter: os.seq > os.head },
    splitPartials: true,
    maxWorkgroupsPerDimension: caps.maxWorkgroupsPerDimension,
  }, dummyBuffer(device, 'output'));
}
