// The prefill kernel (Q_S > 1): plan, workspace layout and encoding of shaders/prefill.wgsl.
// Kernel module contract: xUnsupported, planX, layoutXWorkspace, encodeX (as in decode.ts).
//
// Covers: FLOAT16/BFLOAT16/FLOAT32 query and K/V (u32-packed, no shader-f16 needed), outputs in
// those dtypes (RNE) or INT8 (output quant epilogue); layouts BSH/BSND/BNSD/BNSD_BSND; GQA; any
// D that is a multiple of 4; actual lengths; query/KV left padding (pads read on the device);
// attenMask (every shape, BOOL/INT8/UINT8), sparseMode 0-4 with whole-tile skipping, pseShift;
// softmaxLse; row-invalid rule; tensor-list KV (one dispatch per batch); paged KV; shared prefix
// and INT8/INT4 antiquant through the shared KV source (kvSource.ts; needs `inputs` at layout);
// INT8 query/key/value (two passes: P8 is quantized against the row's final max).
// Not covered (prefillUnsupported says so): more than 8 storage buffers (e.g. pse + mask + padding
// + lse + INT8 output with quantOffset2 all at once), tensor-list KV with prefix/antiquant.
import type { DataType } from '../acl/dtype.js';
import type { Tensor } from '../acl/tensor.js';
import type { FiaInputs, Problem, StorageLayout } from '../fia/problem.js';
import { AUX_BYTES, AUX_SLOTS, encodeAuxCopies } from './aux.js';
import {
  encodeKvSourceCopies, type KvSourceLayout, type KvSourceUniformValues, kvSourceSpec, kvSourceSpecKey, kvSourceUniformFields, kvSourceUniformValues,
  kvSourceUnsupported, kvSourceWgsl, layoutKvSource, MetaWordAllocator, type KvSourceSpec,
} from './kvSource.js';
import { type AxisRun, axisRuns, capsOf, DEFAULT_CAPS, type DeviceCaps } from './caps.js';
import {
  fill, getPipeline, loaderFn, outBitsBody, outStoreWgsl, specKey, UniformBlock, wgsl, type WorkgroupArray, workgroupBytes, workgroupDecls,
} from './shader.js';
import { rebased, rebaseInputs, tensorBinding } from './binding.js';
import { bindingOf, type WorkspaceAllocator, type WorkspaceRegion } from './workspace.js';

/** Batches per dispatch: the per-batch length table is a uniform array of LENS_CAP vec4 (2 batches each). */
const LENS_CAP = 1024;
const BATCHES_PER_DISPATCH = LENS_CAP * 2;
/** Band bounds are clamped to ±BAND_CLAMP so i32 arithmetic on them cannot overflow (lengths < 2^29). */
const BAND_CLAMP = 1 << 30;

/** Everything the WGSL text depends on (the pipeline cache key). */
export interface PrefillSpec {
  queryDtype: DataType;
  kvDtype: DataType;
  outDtype: DataType;
  pseDtype: DataType | 'none';
  mask: boolean;
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
  /** K/V through the KV source (prefix / antiquant); its own spec goes into the cache key. */
  kvSource: boolean;
  kvs: KvSourceSpec | null;
  headDim: number;
  groupSize: number;
  blockQ: number;
  blockKv: number;
  rowsPerThread: number;
  headsPerThread: number;
}

export interface PrefillPlan {
  spec: PrefillSpec;
  workgroupSize: number;
  /** Query tiles: ⌈Q_S / blockQ⌉ (grid x). */
  numQTiles: number;
  /**
   * Grid split so no axis exceeds the device's maxComputeWorkgroupsPerDimension: query tiles and
   * batches per dispatch (batches also ≤ the per-dispatch length table); y = numKvHeads.
   */
  qTilesPerDispatch: number;
  batchesPerDispatch: number;
  workgroupStorageBytes: number;
}

export interface PrefillRegions {
  /** Device-side pad counts (AUX_BYTES, left padding), then the KV source's copies (prefix/antiquant). */
  aux: WorkspaceRegion | null;
  kvSource: KvSourceLayout | null;
}

/**
 * null when the prefill kernel computes `problem` exactly; else the missing feature. `caps`
 * (default: the WebGPU defaults) bounds the storage buffers one dispatch may bind.
 */
export function prefillUnsupported(problem: Problem, caps: DeviceCaps = DEFAULT_CAPS): string | null {
  if (problem.isDecode) return 'Q_S == 1 (decode)';
  const floats: DataType[] = ['FLOAT16', 'BFLOAT16', 'FLOAT32'];
  const outOk = floats.includes(problem.outDtype) || (problem.outDtype === 'INT8' && !!problem.outQuant);
  const kvOk = floats.includes(problem.kvDtype) || !!problem.antiquant;
  const int8 = !!problem.int8Attention && problem.queryDtype === 'INT8' && problem.kvDtype === 'INT8'
    && (problem.outDtype === 'FLOAT16' || (problem.outDtype === 'INT8' && !!problem.outQuant));
  if (problem.int8Attention && !int8) return `INT8 attention with out ${problem.outDtype}`;
  if (!int8 && (!floats.includes(problem.queryDtype) || !kvOk || !outOk)) {
    return `dtypes query ${problem.queryDtype} / kv ${problem.kvDtype} / out ${problem.outDtype}`;
  }
  if (problem.headDim % 4 !== 0 || problem.headDim === 0) return `headDim ${problem.headDim} (needs a multiple of 4)`;
  if (problem.pse && !floats.includes(problem.pse.dtype)) return `pseShift dtype ${problem.pse.dtype}`;
  if (usesKvSource(problem)) {
    if (problem.kv.kind === 'list') return 'tensor-list KV with a shared prefix or antiquant';
    const reason = kvSourceUnsupported(problem);
    if (reason) return reason;
  }
  if (problem.numKvHeads > caps.maxWorkgroupsPerDimension) {
    return `${problem.numKvHeads} KV heads (one workgroup row each; the device allows ${caps.maxWorkgroupsPerDimension} per grid dimension)`;
  }
  const bindings = storageBindings(specFeatures(problem)).length;
  if (bindings > caps.maxStorageBuffersPerStage) {
    return `${bindings} storage buffers (e.g. pse + mask + padding + lse + INT8 output with quantOffset2 together; `
      + `the device allows ${caps.maxStorageBuffersPerStage})`;
  }
  const plan = planPrefill(problem, caps);
  if (plan.workgroupStorageBytes > caps.maxWorkgroupStorageBytes) {
    return `headDim ${problem.headDim}: ${plan.workgroupStorageBytes} bytes of workgroup storage for one KV column `
      + `(the device allows ${caps.maxWorkgroupStorageBytes})`;
  }
  if (plan.workgroupSize > Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX)) {
    return `groupSize ${problem.groupSize}: ${plan.workgroupSize} invocations per workgroup `
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

const largestDivisorAtMost = (n: number, cap: number): number => {
  for (let d = Math.min(n, cap); d > 1; d--) if (n % d === 0) return d;
  return 1;
};

/**
 * Tiles from the device limits and the head dim:
 * - blockKv: the workgroup arrays (prefillWorkgroupArrays: the two f32 K/V tiles of blockKv·D
 *   floats, column flags, mask bits) fit the workgroup storage, ≤ 32 columns (one u32 of bits);
 * - each invocation owns rowsPerThread rows × headsPerThread heads ("slots") with q and acc in
 *   registers, about SLOT_FLOATS floats of each in all: every K/V element read from workgroup
 *   memory feeds all slots, which is what pays on a CPU-backed adapter (B1 N8 S256 D64 on
 *   SwiftShader: 1 row/thread 240 ms, 4 rows 80 ms, 16 rows 44 ms);
 * - blockQ = rowThreads · rowsPerThread rows × G heads per workgroup. With a band (causal), fewer
 *   rows per workgroup so more whole KV tiles fall outside a tile's column range and are skipped.
 */
const SLOT_FLOATS = 1024;

export interface PrefillTune {
  blockKv?: number;
  rowsPerThread?: number;
  headsPerThread?: number;
  rowThreads?: number;
}

export function planPrefill(problem: Problem, caps: DeviceCaps, tune: PrefillTune = {}): PrefillPlan {
  const D = problem.headDim;
  const G = problem.groupSize;
  const slots = Math.max(1, Math.floor(SLOT_FLOATS / D));
  const headsPerThread = tune.headsPerThread ?? largestDivisorAtMost(G, Math.min(4, slots));
  // No more rows per thread than the query has: short queries would compute padding rows.
  const rowsPerThread = tune.rowsPerThread
    ?? Math.max(1, Math.min(Math.floor(slots / headsPerThread), Math.ceil(problem.qSeqLen / 2)));
  const headThreads = G / headsPerThread;
  const maxRowThreads = Math.max(1, Math.floor(caps.maxInvocationsPerWorkgroup / headThreads));
  const wantRowThreads = problem.band ? 4 : 8;
  const rowThreads = tune.rowThreads
    ?? Math.max(1, Math.min(maxRowThreads, wantRowThreads, Math.ceil(problem.qSeqLen / rowsPerThread)));
  const blockQ = rowThreads * rowsPerThread;
  const features = specFeatures(problem);
  const bytesAt = (blockKv: number): number => workgroupBytes(prefillWorkgroupArrays({ ...features, headDim: D, blockQ, blockKv }));
  let blockKv = tune.blockKv ?? MAX_BLOCK_KV;
  if (blockKv > MAX_BLOCK_KV) throw new Error(`prefill: blockKv ${blockKv} > ${MAX_BLOCK_KV} (one u32 of column bits)`);
  // The largest tile that fits (1 when none does: prefillUnsupported then reports the overflow).
  if (tune.blockKv === undefined) while (blockKv > 1 && bytesAt(blockKv) > caps.maxWorkgroupStorageBytes) blockKv--;
  const spec: PrefillSpec = {
    ...features,
    headDim: D, groupSize: G, blockQ, blockKv, rowsPerThread, headsPerThread,
  };
  const numQTiles = Math.ceil(problem.qSeqLen / blockQ);
  const maxGroups = caps.maxWorkgroupsPerDimension;
  return {
    spec, workgroupSize: rowThreads * headThreads, numQTiles,
    qTilesPerDispatch: Math.max(1, Math.min(numQTiles, maxGroups)),
    batchesPerDispatch: Math.max(1, Math.min(BATCHES_PER_DISPATCH, maxGroups)),
    workgroupStorageBytes: bytesAt(blockKv),
  };
}

/** KV columns per tile at most: a tile row's kept columns are one u32 of bits. */
const MAX_BLOCK_KV = 32;

/**
 * Every `var<workgroup>` array of the prefill shader, declared from this list (WORKGROUP in
 * shaders/prefill.wgsl) and counted from it by the plan: the f32 K/V tiles, the column-present
 * flags (paged K/V), the per-row kept-column bits (attenMask).
 */
export function prefillWorkgroupArrays(spec: Pick<PrefillSpec, 'headDim' | 'blockQ' | 'blockKv' | 'paged' | 'kvs' | 'mask'>): WorkgroupArray[] {
  const tile = spec.blockKv * (spec.headDim / 4);
  const arrays: WorkgroupArray[] = [
    { name: 'kTile', elem: 'vec4<f32>', length: tile },
    { name: 'vTile', elem: 'vec4<f32>', length: tile },
  ];
  if (spec.paged || spec.kvs?.paged) arrays.push({ name: 'tilePresent', elem: 'u32', length: spec.blockKv });
  if (spec.mask) arrays.push({ name: 'tileKeep', elem: 'u32', length: spec.blockQ });
  return arrays;
}

/** The feature half of the specialization (what decides bindings and feature blocks). */
function specFeatures(problem: Problem): Omit<PrefillSpec, 'headDim' | 'groupSize' | 'blockQ' | 'blockKv' | 'rowsPerThread' | 'headsPerThread'> {
  return {
    queryDtype: problem.queryDtype, kvDtype: problem.kvDtype, outDtype: problem.outDtype,
    pseDtype: problem.pse ? problem.pse.dtype : 'none', mask: !!problem.mask, band: !!problem.band,
    lse: problem.softmaxLse, queryPad: problem.qLeftPadding, kvPad: problem.kvLeftPadding,
    paged: problem.kv.kind === 'paged' && !usesKvSource(problem),
    outQuantDtype: problem.outQuant ? problem.outQuant.dtype : 'none',
    outQuantOffset: !!problem.outQuant?.hasOffset,
    int8: !!problem.int8Attention,
    kvSource: usesKvSource(problem),
    kvs: usesKvSource(problem) ? kvSourceSpec(problem) : null,
  };
}

/**
 * Workspace: one aux region when the kernel reads device scalars (left padding) or the KV source
 * (prefix / antiquant: `inputs` required, their copies follow the AUX_BYTES scalars).
 */
export function layoutPrefillWorkspace(problem: Problem, _plan: PrefillPlan, ws: WorkspaceAllocator, inputs?: FiaInputs): PrefillRegions {
  if (usesKvSource(problem)) {
    if (!inputs) throw new Error('prefill: a shared prefix or antiquant needs the inputs to lay out the workspace (KV source copies)');
    const words = new MetaWordAllocator(AUX_BYTES / 4);
    const kvSource = layoutKvSource(problem, inputs, words);
    return { aux: ws.alloc(words.words * 4), kvSource };
  }
  const aux = problem.qLeftPadding || problem.kvLeftPadding || !!problem.int8Attention;
  return { aux: aux ? ws.alloc(AUX_BYTES) : null, kvSource: null };
}

const UNIFORMS = new UniformBlock('PrefillUniforms', {
  batchBase: 'u32', qTileBase: 'u32', numQoHeads: 'u32', qSeqLen: 'u32', kvRows: 'u32', scaleValue: 'f32',
  bandRightDown: 'u32', preTokens: 'i32', nextTokens: 'i32',
  qOffset: 'u32', qStrideB: 'u32', qStrideN: 'u32', qStrideS: 'u32', qStrideD: 'u32',
  kOffset: 'u32', kStrideB: 'u32', kStrideN: 'u32', kStrideS: 'u32', kStrideD: 'u32',
  vOffset: 'u32', vStrideB: 'u32', vStrideN: 'u32', vStrideS: 'u32', vStrideD: 'u32',
  outOffset: 'u32', outStrideB: 'u32', outStrideN: 'u32', outStrideS: 'u32',
  maskOffset: 'u32', maskStrideB: 'u32', maskStrideS: 'u32', maskStrideC: 'u32',
  pseOffset: 'u32', pseStrideB: 'u32', pseStrideN: 'u32', pseStrideS: 'u32', pseStrideC: 'u32',
  lseOffset: 'u32',
  btOffset: 'u32', btStrideB: 'u32', btStrideE: 'u32', blockSize: 'u32', numBlocks: 'u32',
  qs2Offset: 'u32', qo2Offset: 'u32', quantPerChannel: 'u32',
  ...kvSourceUniformFields,
});
type PrefillUniformValues = Parameters<typeof UNIFORMS.pack>[0];
const NO_KV_SOURCE = Object.fromEntries(Object.keys(kvSourceUniformFields).map((k) => [k, 0])) as KvSourceUniformValues;

/** The storage bindings a specialization uses, in binding order (absent features bind nothing). */
function storageBindings(spec: Omit<PrefillSpec, 'headDim' | 'groupSize' | 'blockQ' | 'blockKv' | 'rowsPerThread' | 'headsPerThread'>): { name: string; access: 'read' | 'read_write'; elem: string }[] {
  const list: { name: string; access: 'read' | 'read_write'; elem: string }[] = [
    { name: 'qBuf', access: 'read', elem: 'u32' },
    { name: 'kBuf', access: 'read', elem: 'u32' },
    { name: 'vBuf', access: 'read', elem: 'u32' },
  ];
  if (spec.paged) list.push({ name: 'btBuf', access: 'read', elem: 'u32' });
  if (spec.pseDtype !== 'none') list.push({ name: 'pseBuf', access: 'read', elem: 'u32' });
  if (spec.mask) list.push({ name: 'maskBuf', access: 'read', elem: 'u32' });
  if (spec.queryPad || spec.kvPad || spec.kvSource || spec.int8) list.push({ name: 'aux', access: 'read', elem: 'u32' });
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

/** Storage buffers one dispatch binds (counted against maxStorageBuffersPerStage by the caller/validation). */
export function prefillStorageBufferCount(spec: PrefillSpec): number {
  return storageBindings(spec).length;
}

/**
 * WGSL `fn storeOut4(i, ch, v)`: 4 consecutive output elements from element index i (any i: the
 * stores go through outStoreRun, which merges words shared with other data or other invocations);
 * ch = n·D + d is the output-quant channel of the first.
 * INT8 (SEMANTICS §9): sat[-128,127](rint(o·quantScale2 + quantOffset2)), round() being ties-to-even.
 */
function storeOutFn(dtype: DataType): string {
  const store = outStoreWgsl(dtype);
  if (dtype === 'INT8') {
    return `${store}
fn quant8(x: f32, ch: u32) -> u32 {
  let c = u.quantPerChannel * ch;
  let t = x * loadQs2(u.qs2Offset + c) + quantOffset2(c);
  // NaN saturates to 0 (SEMANTICS §9; tested on the bits: compilers may fold NaN compares).
  let y = select(clamp(round(t), -128.0, 127.0), 0.0, (bitcast<u32>(t) & 0x7fffffffu) > 0x7f800000u);
  return u32(i32(y)) & 0xffu;
}
fn storeOut4(i: u32, ch: u32, v: vec4<f32>) {
  outStoreRun(i, 4u, vec4<u32>(quant8(v.x, ch), quant8(v.y, ch + 1u), quant8(v.z, ch + 2u), quant8(v.w, ch + 3u)));
}`;
  }
  return `${store}
fn outBits(x: f32) -> u32 { ${outBitsBody(dtype)} }
fn storeOut4(i: u32, ch: u32, v: vec4<f32>) {
  outStoreRun(i, 4u, vec4<u32>(outBits(v.x), outBits(v.y), outBits(v.z), outBits(v.w)));
}`;
}

/**
 * WGSL `fn kvRowBases(b, h, c, kvStart) -> vec3<u32>`: element index of (d = 0) of logical KV
 * column c in K (x) and V (y), and whether the column exists (z). Dense / list: physical row
 * kvStart + c. Paged (SEMANTICS §6): block blockTable[b][c / blockSize], slot c % blockSize, with
 * the cache's block stride in kStrideB; an id outside [0, numBlocks) is never dereferenced and
 * its columns are masked. Plus the per-tile column-present flags the predicate reads.
 */
function kvRowFn(paged: boolean): string {
  if (!paged) {
    return `fn kvRowBases(b: u32, h: u32, c: u32, kvStart: u32) -> vec3<u32> {
  let phys = kvStart + c;
  return vec3<u32>(u.kOffset + b * u.kStrideB + h * u.kStrideN + phys * u.kStrideS,
                   u.vOffset + b * u.vStrideB + h * u.vStrideN + phys * u.vStrideS, 1u);
}
fn setColumnPresent(col: u32, present: bool) { }
fn columnPresent(col: u32) -> bool { return true; }
${TILE_ELEMS_DIRECT}`;
  }
  return `fn kvRowBases(b: u32, h: u32, c: u32, kvStart: u32) -> vec3<u32> {
  let block = bitcast<i32>(btBuf[u.btOffset + b * u.btStrideB + (c / u.blockSize) * u.btStrideE]);
  if (block < 0i || u32(block) >= u.numBlocks) { return vec3<u32>(0u); }
  let slot = c % u.blockSize;
  return vec3<u32>(u.kOffset + u32(block) * u.kStrideB + h * u.kStrideN + slot * u.kStrideS,
                   u.vOffset + u32(block) * u.vStrideB + h * u.vStrideN + slot * u.vStrideS, 1u);
}
fn setColumnPresent(col: u32, present: bool) { tilePresent[col] = select(0u, 1u, present); }
fn columnPresent(col: u32) -> bool { return tilePresent[col] != 0u; }
${TILE_ELEMS_DIRECT}`;
}

const TILE_ELEMS_DIRECT = `fn loadTileElems(b: u32, h: u32, c: u32, kvStart: u32, d4: u32) -> TileElems {
  let rows = kvRowBases(b, h, c, kvStart);
  if (rows.z == 0u) { return TileElems(vec4<f32>(0.0), vec4<f32>(0.0), false); }
  return TileElems(loadK4(rows.x + 4u * d4 * u.kStrideD), loadV4(rows.y + 4u * d4 * u.vStrideD), true);
}`;

/** The tile loader through the KV source (shaders/common/kv_source.wgsl): prefix, antiquant, paged with them. */
function kvSourceTileFn(kvs: KvSourceSpec): string {
  const present = kvs.paged
    ? `fn setColumnPresent(col: u32, present: bool) { tilePresent[col] = select(0u, 1u, present); }
fn columnPresent(col: u32) -> bool { return tilePresent[col] != 0u; }`
    : `fn setColumnPresent(col: u32, present: bool) { }
fn columnPresent(col: u32) -> bool { return true; }`;
  // kvSourceWgsl reads only the spec (its problem argument is unused).
  return `${kvSourceWgsl(kvs)}
${present}
fn loadTileElems(b: u32, h: u32, c: u32, kvStart: u32, d4: u32) -> TileElems {
  let r = kvRow(b, h, c, kvStart);
  let d = 4u * d4;
  let k = vec4<f32>(loadKeyAt(r, d), loadKeyAt(r, d + 1u), loadKeyAt(r, d + 2u), loadKeyAt(r, d + 3u));
  let v = vec4<f32>(loadValueAt(r, d), loadValueAt(r, d + 1u), loadValueAt(r, d + 2u), loadValueAt(r, d + 3u));
  return TileElems(k, v, r.present);
}`;
}

/** The feature block: loaders, pad/mask/pse/lse functions and their on/off constants. */
function featureBlock(spec: PrefillSpec): string {
  const parts = [
    loaderFn('loadQ', 'qBuf', spec.queryDtype),
    loaderFn('loadK', 'kBuf', spec.kvDtype),
    loaderFn('loadV', 'vBuf', spec.kvDtype),
    `const HAS_MASK: bool = ${spec.mask};`,
    `const HAS_PSE: bool = ${spec.pseDtype !== 'none'};`,
    `const HAS_BAND: bool = ${spec.band};`,
    `const HAS_QUERY_PAD: bool = ${spec.queryPad};`,
    spec.kvs ? kvSourceTileFn(spec.kvs) : kvRowFn(spec.paged),
    `const HAS_KV_PAD: bool = ${spec.kvPad};`,
  ];
  if (spec.queryPad || spec.kvPad || spec.int8) parts.push(wgsl('common/aux.wgsl'));
  // Score multiplier: scaleValue, times deqScale1' on the INT8 path; quantScale1 for P8.
  parts.push(spec.int8
    ? `fn scoreScale() -> f32 { return u.scaleValue * auxDeqScale(${AUX_SLOTS.deqScale1}u); }`
    : 'fn scoreScale() -> f32 { return u.scaleValue; }');
  parts.push('var<private> quantScale1: f32;');
  parts.push(`fn loadQuantScale1() -> f32 { return ${spec.int8 ? `auxF32(${AUX_SLOTS.quantScale1}u)` : '0.0'}; }`);
  parts.push(`fn queryPad() -> u32 { return ${spec.queryPad ? `auxPad(${AUX_SLOTS.queryPad}u)` : '0u'}; }`);
  parts.push(`fn kvPad() -> u32 { return ${spec.kvPad ? `auxPad(${AUX_SLOTS.kvPad}u)` : '0u'}; }`);
  if (spec.mask) {
    parts.push(loaderFn('loadMaskByte', 'maskBuf', 'UINT8'));
    parts.push(`// attenMask byte at (b, physical row, physical column): 0 keeps (SEMANTICS §3).
fn maskKeeps(b: u32, row: u32, col: u32) -> bool {
  return loadMaskByte(u.maskOffset + b * u.maskStrideB + row * u.maskStrideS + col * u.maskStrideC) == 0.0;
}
// Bit col of tileKeep[r]: tile column c0 + col is kept for tile row r (range and mask), built by
// the whole workgroup once per tile so the unrolled per-slot code reads one word per row.
fn buildTileKeep(b: u32, c0: i32, kvStart: u32, lid: u32, tileRow0: u32, win: Window) {
  for (var r = lid; r < BLOCK_Q; r += WORKGROUP_SIZE) {
    let row = tileRow0 + r;
    let range = columnRange(row, win);
    var bits = 0u;
    for (var col = 0u; col < BLOCK_KV; col++) {
      let c = c0 + i32(col);
      if (c >= range.x && c < range.y && maskKeeps(b, row, kvStart + u32(c))) { bits |= 1u << col; }
    }
    tileKeep[r] = bits;
  }
}
fn rowKeepBits(r: u32, c0: i32, range: vec2<i32>) -> u32 { return tileKeep[r]; }`);
  } else {
    parts.push(`fn buildTileKeep(b: u32, c0: i32, kvStart: u32, lid: u32, tileRow0: u32, win: Window) { }
// Bits of the tile columns [c0, c0 + BLOCK_KV) inside the row's kept range.
fn rowKeepBits(r: u32, c0: i32, range: vec2<i32>) -> u32 {
  let lo = u32(clamp(range.x - c0, 0i, 32i));
  let hi = u32(clamp(range.y - c0, 0i, 32i));
  let below = select((1u << hi) - 1u, 0xffffffffu, hi >= 32u);
  let under = select((1u << lo) - 1u, 0xffffffffu, lo >= 32u);
  return select(0u, below & ~under, hi > lo);
}`);
  }
  if (spec.pseDtype !== 'none') {
    parts.push(loaderFn('loadPse', 'pseBuf', spec.pseDtype));
    parts.push(`fn pseAt(b: u32, n: u32, row: u32, col: u32) -> f32 {
  return loadPse(u.pseOffset + b * u.pseStrideB + n * u.pseStrideN + row * u.pseStrideS + col * u.pseStrideC);
}`);
  } else {
    parts.push('fn pseAt(b: u32, n: u32, row: u32, col: u32) -> f32 { return 0.0; }');
  }
  if (spec.outDtype === 'FLOAT16' || spec.outDtype === 'BFLOAT16') parts.push(wgsl('common/f16pack.wgsl'));
  if (spec.outQuantDtype !== 'none') {
    parts.push(loaderFn('loadQs2', 'qs2Buf', spec.outQuantDtype));
    parts.push(spec.outQuantOffset
      ? `${loaderFn('loadQo2', 'qo2Buf', spec.outQuantDtype)}\nfn quantOffset2(c: u32) -> f32 { return loadQo2(u.qo2Offset + c); }`
      : 'fn quantOffset2(c: u32) -> f32 { return 0.0; }');
  }
  parts.push(wgsl('common/softmax_rules.wgsl'));
  parts.push(storeOutFn(spec.outDtype));
  parts.push(spec.lse
    ? 'fn writeLse(i: u32, v: f32) { lseBuf[u.lseOffset + i] = v; }'
    : 'fn writeLse(i: u32, v: f32) { }');
  return parts.join('\n');
}


/**
 * The unrolled per-slot code of one invocation (slot s = r·HEADS_PER_THREAD + g: row r, head g).
 * Registers: q_s_k, acc_s_k (vec4, k < D/4), m_s, l_s; per row r: row_r, range_r.
 */
function unrolledBlocks(spec: PrefillSpec): { SLOT_STATE: string; FIRST_PASS: string; TILE_COMPUTE: string; EPILOGUE: string } {
  const R = spec.rowsPerThread;
  const H = spec.headsPerThread;
  const D4 = spec.headDim / 4;
  const rows = Array.from({ length: R }, (_, r) => r);
  const slots = rows.flatMap((r) => Array.from({ length: H }, (_, g) => ({ s: r * H + g, r, g })));
  const ks = Array.from({ length: D4 }, (_, k) => k);
  const lines = (xs: string[], indent: string): string => xs.map((x) => indent + x).join('\n');

  // q is loaded in a loop (one inlined copy of the loader, which keeps compile time down), then
  // moved into named registers.
  const state: string[] = [
    'var qInit: array<vec4<f32>, SLOTS * D4>;',
    'for (var e = 0u; e < SLOTS * D4; e++) {',
    '  let slot = e / D4;',
    '  qInit[e] = loadQScaled(b, head0 + slot % HEADS_PER_THREAD, row0 + slot / HEADS_PER_THREAD, e % D4);',
    '}',
  ];
  for (const r of rows) state.push(`let row_${r} = row0 + ${r}u;`, `let range_${r} = columnRange(row_${r}, win);`);
  for (const { s, g } of slots) {
    // cls: the OR of the slot's kept score classes (shaders/common/softmax_rules.wgsl).
    state.push(`let n_${s} = head0 + ${g}u;`, `var m_${s} = NEG_MAX;`, `var l_${s} = 0.0;`, `var cls_${s} = 0u;`);
    for (const k of ks) state.push(`let q_${s}_${k} = qInit[${s * D4 + k}u];`);
    for (const k of ks) state.push(`var acc_${s}_${k} = vec4<f32>(0.0);`);
  }

  // Kept columns of the tile per row, as bits (rowKeepBits: range and mask) and present columns:
  // branch-free, so the unrolled code is one basic block (per-row short-circuit tests made
  // SwiftShader's compile time explode with the row count).
  const keepBits = (): string[] => rows.map((r) => `let kb_${r} = rowKeepBits(rowSlot * ROWS_PER_THREAD + ${r}u, c0, range_${r});`);
  const keepAt = (): string[] => rows.map((r) => `let keep_${r} = (((kb_${r} >> col) & 1u) != 0u) & present;`);
  /** Scores of the tile into s_<slot>[col] (softmaxScore; NEG_MAX where not kept), their max t_<slot>, the classes in cls_<slot>. */
  const scores = (): string[] => {
    const t: string[] = [...keepBits()];
    for (const { s } of slots) t.push(`var s_${s}: array<f32, BLOCK_KV>;`, `var t_${s} = NEG_MAX;`);
    t.push('for (var col = 0u; col < BLOCK_KV; col++) {');
    const qk: string[] = ['let kb = col * D4;', 'let c = c0 + i32(col);', 'let physCol = kvStart + u32(c);', 'let present = columnPresent(col);'];
    for (const { s } of slots) qk.push(`var dot_${s} = vec4<f32>(0.0);`);
    for (const k of ks) {
      qk.push(`{ let k4 = kTile[kb + ${k}u]; ${slots.map(({ s }) => `dot_${s} += q_${s}_${k} * k4;`).join(' ')} }`);
    }
    qk.push(...keepAt());
    for (const { s, r } of slots) {
      qk.push(`let raw_${s} = dot_${s}.x + dot_${s}.y + dot_${s}.z + dot_${s}.w + pseAt(b, n_${s}, row_${r}, physCol);`);
      qk.push(`cls_${s} |= select(0u, scoreClass(raw_${s}), keep_${r});`);
      qk.push(`let sc_${s} = select(NEG_MAX, softmaxScore(raw_${s}), keep_${r});`);
      qk.push(`s_${s}[col] = sc_${s};`, `t_${s} = max(t_${s}, sc_${s});`);
    }
    t.push(lines(qk, '  '), '}');
    return t;
  };
  /** Online max/sum update with the tile: m' = max(m, tile max), l = l·e^(m - m') + Σ e^(s - m'). */
  const maxSum = (withAcc: boolean, sumInline: boolean): string[] => {
    const t: string[] = [];
    for (const { s } of slots) {
      t.push(`let mNew_${s} = max(m_${s}, t_${s});`, `let alpha_${s} = exp(m_${s} - mNew_${s});`, `m_${s} = mNew_${s};`, `l_${s} *= alpha_${s};`);
      if (withAcc) for (const k of ks) t.push(`acc_${s}_${k} *= alpha_${s};`);
    }
    if (sumInline) {
      t.push('for (var col = 0u; col < BLOCK_KV; col++) {');
      t.push(lines(['let present = columnPresent(col);', ...keepAt(),
        ...slots.map(({ s, r }) => `l_${s} += select(0.0, exp(s_${s}[col] - m_${s}), keep_${r});`)], '  '), '}');
    }
    return t;
  };
  // Rows whose kept set varies within the tile (band, mask) take the value of a column they
  // exclude as 0, so NaN/Inf there cannot reach them through p·v = 0·NaN. Without band and mask,
  // every valid row keeps exactly the present columns below colHi, and the tile already holds
  // zeros for the others.
  const rowVaries = spec.mask || spec.band;
  /** acc += p·v over the tile; p = e^(s - m), or (INT8 path) P8 = sat(rint(e^(s - m)·quantScale1)). */
  const pvLoop = (int8: boolean): string[] => {
    const t: string[] = ['for (var col = 0u; col < BLOCK_KV; col++) {'];
    const pv: string[] = ['let vb = col * D4;', 'let present = columnPresent(col);', ...keepAt()];
    for (const { s, r } of slots) {
      if (int8) {
        pv.push(`let p_${s} = select(0.0, clamp(round(exp(s_${s}[col] - m_${s}) * quantScale1), -128.0, 127.0), keep_${r});`);
      } else {
        pv.push(`let p_${s} = select(0.0, exp(s_${s}[col] - m_${s}), keep_${r});`, `l_${s} += p_${s};`);
      }
    }
    for (const k of ks) {
      const rowV = rowVaries ? rows.map((r) => `let v4_${r} = select(vec4<f32>(0.0), v4, keep_${r});`).join(' ') : '';
      const v = (r: number): string => (rowVaries ? `v4_${r}` : 'v4');
      pv.push(`{ let v4 = vTile[vb + ${k}u]; ${rowV} ${slots.map(({ s, r }) => `acc_${s}_${k} += p_${s} * ${v(r)};`).join(' ')} }`);
    }
    t.push(lines(pv, '  '), '}');
    return t;
  };

  // INT8 query/key/value (SEMANTICS §9): P8 is quantized against the row's final max, so a first
  // pass over the KV tiles finds m and l; the main pass then accumulates P8·v with m fixed.
  const int8 = spec.int8;
  const firstPass = int8 ? [
    'for (var tile = 0u; tile < numTiles; tile++) {',
    '  let c0 = colLo + i32(tile * BLOCK_KV);',
    '  loadTile(b, h, c0, colHi, kvStart, lid, tileRow0, win);',
    '  workgroupBarrier();',
    lines([...scores(), ...maxSum(false, true)], '  '),
    '  workgroupBarrier();',
    '}',
  ] : [];
  const tile = int8 ? [...scores(), ...pvLoop(true)] : [...scores(), ...maxSum(true, false), ...pvLoop(false)];

  // Epilogue: normalized rows go through a private array so the output store (f16/bf16 rounding
  // included) is inlined once, not once per register. INT8 path: out = acc · deqScale2' / l.
  const e: string[] = ['var o: array<vec4<f32>, SLOTS * D4>;'];
  const num = int8 ? 'outScale' : '1.0';
  if (int8) e.push(`let outScale = auxDeqScale(${AUX_SLOTS.deqScale2}u);`);
  // No kept column (l == 0): out 0, lse +Inf; a NaN row (rowIsNan): out and lse NaN.
  for (const { s, r } of slots) {
    // acc of an empty row may hold 0·NaN from values kept by other rows: select 0, never scale it.
    e.push(`{ let nan = rowIsNan(cls_${s}, l_${s}); let empty = l_${s} == 0.0; let inv = ${num} / l_${s}; `
      + `${ks.map((k) => `o[${s * D4 + k}u] = select(select(acc_${s}_${k} * inv, vec4<f32>(0.0), empty), vec4<f32>(nanF32()), nan);`).join(' ')}`);
    e.push(`  if (row_${r} < u.qSeqLen) { writeLse((b * u.numQoHeads + n_${s}) * u.qSeqLen + row_${r}, `
      + `finalLse(m_${s}, l_${s}, cls_${s})); } }`);
  }
  e.push(
    'for (var e = 0u; e < SLOTS * D4; e++) {',
    '  let slot = e / D4;',
    '  let row = row0 + slot / HEADS_PER_THREAD;',
    '  let n = head0 + slot % HEADS_PER_THREAD;',
    '  if (row < u.qSeqLen) {',
    '    storeOut4(u.outOffset + b * u.outStrideB + n * u.outStrideN + row * u.outStrideS + 4u * (e % D4), n * HEAD_DIM + 4u * (e % D4), o[e]);',
    '  }',
    '}',
  );
  return {
    SLOT_STATE: lines(state, '  '), FIRST_PASS: lines(firstPass, '  '), TILE_COMPUTE: lines(tile, '    '), EPILOGUE: lines(e, '  '),
  };
}

export function prefillShaderCode(spec: PrefillSpec): string {
  const bindings = storageBindings(spec)
    .map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${b.elem}>;`)
    .concat([
      '@group(1) @binding(0) var<uniform> u: PrefillUniforms;',
      `@group(1) @binding(1) var<uniform> lens: array<vec4<u32>, ${LENS_CAP}>;`,
    ]).join('\n');
  return fill(wgsl('prefill.wgsl'), {
    UNIFORMS: UNIFORMS.wgslStruct(),
    BINDINGS: bindings,
    WORKGROUP: workgroupDecls(prefillWorkgroupArrays(spec)),
    FEATURES: featureBlock(spec),
    HEAD_DIM: spec.headDim,
    GROUP_SIZE: spec.groupSize,
    BLOCK_Q: spec.blockQ,
    BLOCK_KV: spec.blockKv,
    ROWS_PER_THREAD: spec.rowsPerThread,
    HEADS_PER_THREAD: spec.headsPerThread,
    ...unrolledBlocks(spec),
  });
}

/** The prefill pipeline of `spec` (cached per device). */
export function pipelineFor(device: GPUDevice, spec: PrefillSpec): GPUComputePipeline {
  const { kvs, ...rest } = spec;
  const flat: Record<string, string | number | boolean> = { ...rest, ...(kvs ? kvSourceSpecKey(kvs) : {}) };
  return getPipeline(device, specKey('prefill', flat), () => ({ code: prefillShaderCode(spec), label: 'fia.prefill' }));
}

/** Element strides (batch, head, seq, dim) of a stored q/k/v/out tensor in `layout`. */
function layoutStrides(t: Tensor, layout: StorageLayout, headDim: number): { b: number; n: number; s: number; d: number } {
  const st = t.strides;
  switch (layout) {
    case 'BSH': return { b: st[0]!, s: st[1]!, n: headDim * st[2]!, d: st[2]! };
    case 'BSND': return { b: st[0]!, s: st[1]!, n: st[2]!, d: st[3]! };
    case 'BNSD': return { b: st[0]!, n: st[1]!, s: st[2]!, d: st[3]! };
  }
}

function uniformBuffer(device: GPUDevice, data: ArrayBuffer, label: string): GPUBuffer {
  const buf = device.createBuffer({ size: data.byteLength, usage: 0x40 | 0x08 /* UNIFORM | COPY_DST */, mappedAtCreation: true, label });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
  buf.unmap();
  return buf;
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
  device: GPUDevice; encoder: GPUCommandEncoder; problem: Problem; plan: PrefillPlan; inputs: FiaInputs;
  workspace: GPUBuffer | null; regions: PrefillRegions;
}): void {
  const { device, encoder, problem, plan, workspace, regions } = ctx;
  const reason = prefillUnsupported(problem, capsOf(device));
  if (reason) throw new Error(`prefill kernel: unsupported ${reason}`);
  const { spec } = plan;
  // Copies read the caller's tensors (ctx.inputs); bindings and uniforms use each tensor's byte range.
  const inputs = rebaseInputs(ctx.inputs);
  const out = inputs.attentionOut!;
  if (regions.aux) {
    encodeAuxCopies(encoder, ctx.inputs, workspace!, { offset: regions.aux.offset, size: AUX_BYTES });
    if (regions.kvSource) encodeKvSourceCopies(encoder, ctx.inputs, workspace!, regions.aux.offset, regions.kvSource);
  }
  if (spec.kvSource && !regions.kvSource) throw new Error('prefill: the workspace layout has no KV source copies');
  if (problem.batch === 0 || problem.qSeqLen === 0) return;

  const pipeline = pipelineFor(device, spec);
  const D = problem.headDim;
  const query = inputs.query!;
  const qs = layoutStrides(query, problem.queryLayout, D);
  const os = layoutStrides(out, problem.outLayout, D);
  const kvLayout = problem.kv.kind === 'paged' ? problem.kv.cacheLayout : problem.kv.kvLayout;
  const paged = problem.kv.kind === 'paged' ? problem.kv : null;
  const blockTable = paged ? inputs.blockTable! : null;
  const band = problem.band;
  const clampBand = (x: number): number => Math.max(-BAND_CLAMP, Math.min(BAND_CLAMP, x));
  const mask = problem.mask;
  const pse = problem.pse;
  const lseTensor = problem.softmaxLse ? inputs.softmaxLse! : null;
  if (spec.lse && !lseTensor) throw new Error('prefill kernel: softmaxLse requested but not given');

  const resources = (key: Tensor, value: Tensor): Record<string, GPUBufferBinding> => {
    const r: Record<string, GPUBufferBinding> = {
      qBuf: tensorBinding(query), kBuf: tensorBinding(key), vBuf: tensorBinding(value), outBuf: tensorBinding(out),
    };
    if (blockTable) r.btBuf = tensorBinding(blockTable);
    if (pse) r.pseBuf = tensorBinding(inputs.pseShift!);
    if (mask) r.maskBuf = tensorBinding(inputs.attenMask!);
    if (regions.aux) r.aux = bindingOf(workspace!, regions.aux);
    if (lseTensor) r.lseBuf = tensorBinding(lseTensor);
    if (problem.outQuant) r.qs2Buf = tensorBinding(inputs.quantScale2!);
    if (problem.outQuant?.hasOffset) r.qo2Buf = tensorBinding(inputs.quantOffset2!);
    return r;
  };

  const pass = encoder.beginComputePass({ label: 'fia.prefill' });
  pass.setPipeline(pipeline);
  const names = storageBindings(spec).map((b) => b.name);
  const list = problem.kv.kind === 'list';
  for (const chunk of prefillBatchRuns(problem, plan)) {
    // Tensor list: one batch per run, with its own K/V tensors.
    const key = inputs.key!.tensors[list ? chunk.base : 0]!;
    const value = inputs.value!.tensors[list ? chunk.base : 0]!;
    const ks = layoutStrides(key, kvLayout, D);
    const vs = layoutStrides(value, kvLayout, D);
    const values: Omit<PrefillUniformValues, 'qTileBase'> = {
      batchBase: chunk.base, numQoHeads: problem.numQoHeads, qSeqLen: problem.qSeqLen,
      kvRows: problem.kv.kind === 'dense' ? problem.kv.seqLen : problem.kvSeqLen,
      scaleValue: problem.scaleValue,
      bandRightDown: band?.anchor === 'rightDown' ? 1 : 0,
      preTokens: clampBand(band?.preTokens ?? 0), nextTokens: clampBand(band?.nextTokens ?? 0),
      qOffset: query.offset, qStrideB: qs.b, qStrideN: qs.n, qStrideS: qs.s, qStrideD: qs.d,
      // Tensor list: the batch's own tensor (batch 1), so the batch index must not move the base.
      kOffset: key.offset, kStrideB: list ? 0 : ks.b, kStrideN: ks.n, kStrideS: ks.s, kStrideD: ks.d,
      vOffset: value.offset, vStrideB: list ? 0 : vs.b, vStrideN: vs.n, vStrideS: vs.s, vStrideD: vs.d,
      outOffset: out.offset, outStrideB: os.b, outStrideN: os.n, outStrideS: os.s,
      maskOffset: mask ? rebased(mask.offset, ctx.inputs.attenMask!, inputs.attenMask!) : 0, maskStrideB: mask?.batchStride ?? 0, maskStrideS: mask?.rowStride ?? 0,
      maskStrideC: mask?.colStride ?? 0,
      pseOffset: pse ? rebased(pse.offset, ctx.inputs.pseShift!, inputs.pseShift!) : 0, pseStrideB: pse?.batchStride ?? 0, pseStrideN: pse?.headStride ?? 0,
      pseStrideS: pse?.rowStride ?? 0, pseStrideC: pse?.colStride ?? 0,
      lseOffset: lseTensor?.offset ?? 0,
      btOffset: blockTable?.offset ?? 0, btStrideB: blockTable?.strides[0] ?? 0, btStrideE: blockTable?.strides[1] ?? 0,
      blockSize: paged?.blockSize ?? 1, numBlocks: paged?.numBlocks ?? 0,
      qs2Offset: inputs.quantScale2?.offset ?? 0, qo2Offset: inputs.quantOffset2?.offset ?? 0,
      quantPerChannel: problem.outQuant?.perChannel ? 1 : 0,
      ...(regions.kvSource
        ? kvSourceUniformValues(problem, inputs, regions.kvSource, list ? chunk.base : 0)
        : NO_KV_SOURCE),
    };
    const lens = uniformBuffer(device, lensTable(problem, chunk.base, chunk.count), 'fia.prefill.lens');
    const res = resources(key, value);
    const group0 = device.createBindGroup({
      label: 'fia.prefill.tensors', layout: pipeline.getBindGroupLayout(0),
      entries: names.map((name, i) => ({ binding: i, resource: res[name]! })),
    });
    pass.setBindGroup(0, group0);
    for (const tiles of axisRuns(plan.numQTiles, plan.qTilesPerDispatch)) {
      const header = uniformBuffer(device, UNIFORMS.pack({ ...values, qTileBase: tiles.base }), 'fia.prefill.uniforms');
      const group1 = device.createBindGroup({
        label: 'fia.prefill.uniforms', layout: pipeline.getBindGroupLayout(1),
        entries: [{ binding: 0, resource: { buffer: header } }, { binding: 1, resource: { buffer: lens } }],
      });
      pass.setBindGroup(1, group1);
      pass.dispatchWorkgroups(tiles.count, problem.numKvHeads, chunk.count);
    }
  }
  pass.end();
}
