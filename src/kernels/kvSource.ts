// The KV source: one reusable piece that turns (batch b, KV head h, logical column c, dim d) into
// the dequantized f32 K or V element for every K/V storage of the operator (dense, tensor-list,
// paged with either cache layout, shared prefix, INT8/INT4 antiquant in modes 0-5; SEMANTICS
// §6-8), in WGSL (shaders/common/kv_source.wgsl) plus its host side here.
//
// Kernels are at the storage-buffer limit, so the source binds nothing of its own: K and V are
// the kernel's `kBuf`/`vBuf`, and every small tensor it needs (blockTable, antiquant
// scales/offsets, prefix K/V) is copied with copyBufferToBuffer into the kernel's workspace meta
// region (`aux: array<u32>`) at word offsets handed out by `layoutKvSource`.
//
// Adopting it in a kernel:
//   layout:   words = new MetaWordAllocator(<the kernel's own meta words>);
//             kvs = layoutKvSource(problem, tensors, words); meta = ws.alloc(words.words * 4)
//   encode:   encodeKvSourceCopies(encoder, tensors, workspace, meta.offset, kvs) before the pass
//             (after any clearBuffer of the meta region)
//   uniforms: new UniformBlock(name, { ...ownFields, ...kvSourceUniformFields }) and
//             pack({ ...ownValues, ...kvSourceUniformValues(problem, tensors, kvs, listBatch) })
//   WGSL:     paste kvSourceWgsl(kvSourceSpec(problem)) after the kBuf/vBuf/aux/u declarations; call
//             kvRow(b, h, c, kvStart) once per column, then loadKeyAt/loadValueAt(row, d)
//             (or loadKey/loadValue(b, h, c, kvStart, d)); AND kvPresent(b, c) into the kept rule
//   cache:    spread kvSourceSpecKey(kvSourceSpec(problem)) into the pipeline's specKey object
import { DTYPES, elementBits, isFloatType, kvElementDtype, kvElementsPerStored, type DataType } from '../codec/dtype.js';
import { numel, type Tensor } from '../acl/tensor.js';
import { stridesOf } from '../problem/dims.js';
import type { Antiquant, Problem, StorageLayout } from '../problem/problem.js';
import type { KernelTensors } from '../problem/tensors.js';
import { fill, loaderFn, wgsl, type UniformType } from './shader.js';

/** Hands out word offsets inside the kernel's meta binding (the binding's word 0 = offset 0). */
export interface MetaWords {
  alloc(words: number): number;
}

/** A simple MetaWords: words [start, …) in order; `words` is the total used so far. */
export class MetaWordAllocator implements MetaWords {
  constructor(public words = 0) {}
  alloc(n: number): number {
    const at = this.words;
    this.words += Math.max(0, Math.ceil(n));
    return at;
  }
}

/**
 * One copyBufferToBuffer from a caller tensor into the meta region: bytes [srcByte, srcByte +
 * bytes) of the tensor's buffer land at meta word `word`. The tensor's first element then sits at
 * element `elemBase` of the meta region seen as an array of that dtype (word·elementsPerWord +
 * the sub-word shift of the tensor's offset).
 */
export interface KvSourceCopy {
  /** The roles this tensor serves (K and V may share one antiquant tensor: one copy for both). */
  roles: KvSourceRole[];
  srcByte: number;
  bytes: number;
  word: number;
  elemBase: number;
}

/** Where kvSource.ts put its copies (all positions inside the meta binding). */
export interface KvSourceLayout {
  copies: KvSourceCopy[];
  /** Total meta words the copies take (informative). */
  words: number;
}

/** Specialization: everything the WGSL text depends on (flat, for specKey). */
export interface KvSourceSpec {
  kvDtype: DataType;
  paged: boolean;
  prefix: boolean;
  /** 'none' or the scale/offset dtype; per side. */
  kDeq: DataType | 'none';
  kPagedToken: boolean;
  kOffset: boolean;
  vDeq: DataType | 'none';
  vPagedToken: boolean;
  vOffset: boolean;
}

export function kvSourceSpec(problem: Problem): KvSourceSpec {
  const aq = problem.antiquant;
  const paged = problem.kv.kind === 'paged';
  return {
    kvDtype: problem.kvDtype,
    paged,
    prefix: problem.prefix !== null,
    kDeq: aq ? aq.key.dtype : 'none',
    kPagedToken: !!aq && paged && aq.key.pagedToken,
    kOffset: !!aq?.key.offset,
    vDeq: aq ? aq.value.dtype : 'none',
    vPagedToken: !!aq && paged && aq.value.pagedToken,
    vOffset: !!aq?.value.offset,
  };
}

/** The spec as a flat record with prefixed keys, to spread into a kernel's specKey object. */
export function kvSourceSpecKey(spec: KvSourceSpec): Record<string, string | boolean> {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [`kvs_${k}`, v as string | boolean]));
}

const U32_LIMIT = 2 ** 32;

/** null when the source reads `problem`'s K/V exactly; else the unsupported feature. */
export function kvSourceUnsupported(problem: Problem): string | null {
  if (!DTYPES[problem.kvDtype].kvElement) return `key/value dtype ${problem.kvDtype} in the KV source`;
  const aq = problem.antiquant;
  for (const side of aq ? [aq.key, aq.value] : []) {
    if (!isFloatType(side.dtype)) return `antiquant scale dtype ${side.dtype} in the KV source`;
  }
  // Element indices are u32 (INT4: nibbles).
  const { numKvHeads: N, headDim: D } = problem;
  const kv = problem.kv;
  const elements = kv.kind === 'paged' ? kv.numBlocks * kv.blockSize * N * D
    : kv.kind === 'dense' ? problem.batch * kv.seqLen * N * D
    : Math.max(0, ...kv.seqLens) * N * D;
  if (elements >= U32_LIMIT) return `K/V of ${elements} elements (u32 indexing) in the KV source`;
  return null;
}

/** Storage layout of K/V (paged: the cache's; prefix tensors share it). */
function kvStorageLayout(problem: Problem): StorageLayout {
  return problem.kv.kind === 'paged' ? problem.kv.cacheLayout : problem.kv.kvLayout;
}

/** Element strides of a contiguous K/V tensor in unpacked elements (INT4: nibbles); dim stride 1. */
function kvStrides(problem: Problem, seq: number): { batch: number; head: number; seq: number } {
  const s = stridesOf(kvStorageLayout(problem), { batch: 1, seq, heads: problem.numKvHeads, headDim: problem.headDim });
  return { batch: s.batch, head: s.head, seq: s.seq };
}

/** The tensors the source copies into the meta region, by role (KernelTensors' names). */
export type KvSourceRole = 'blockTable' | 'keyPrefix' | 'valuePrefix' | 'keyScale' | 'keyOffset' | 'valueScale' | 'valueOffset';
const PREFIX_ROLES: readonly KvSourceRole[] = ['keyPrefix', 'valuePrefix'];

/**
 * Bits per element and the offset in elements. K/V-typed tensors (key, value, prefix) are seen as
 * the elements they hold (INT32-packed INT4: nibbles); every other tensor in its own dtype.
 */
function unitsOf(t: Tensor, kvTyped: boolean): { bits: number; offset: number } {
  if (kvTyped) return { bits: elementBits(kvElementDtype(t.dtype)), offset: t.offset * kvElementsPerStored(t.dtype) };
  return { bits: elementBits(t.dtype), offset: t.offset };
}

/** Elements (units of unitsOf) of `t` that the source reads for `role`, counted from its first element. */
function readSpan(problem: Problem, role: KvSourceRole, t: Tensor): number {
  if (PREFIX_ROLES.includes(role)) {
    // Rows [0, P) of every head: up to the last element of head KV_N-1, row P-1.
    const p = problem.prefix!;
    const s = kvStrides(problem, p.seqLen);
    return p.len === 0 ? 0 : (problem.numKvHeads - 1) * s.head + (p.len - 1) * s.seq + problem.headDim;
  }
  return numel(t.shape);
}

/** The roles the source reads for `problem`, in layout order. */
function copiedRoles(problem: Problem): KvSourceRole[] {
  const out: KvSourceRole[] = [];
  if (problem.kv.kind === 'paged') out.push('blockTable');
  if (problem.prefix) out.push('keyPrefix', 'valuePrefix');
  const aq = problem.antiquant;
  if (aq) {
    out.push('keyScale');
    if (aq.key.offset) out.push('keyOffset');
    out.push('valueScale');
    if (aq.value.offset) out.push('valueOffset');
  }
  return out;
}

/**
 * The role whose copy `role` reuses: V's antiquant scale (offset) when one operator parameter holds
 * both K's and V's (antiquantScale in modes 0-2). Decided by the Problem, never by tensor
 * identity: a cached plan serves later calls with other tensor objects.
 */
function sharedCopy(problem: Problem, role: KvSourceRole): KvSourceRole | null {
  const aq = problem.antiquant;
  if (!aq) return null;
  if (role === 'valueScale' && aq.value.scale === aq.key.scale) return 'keyScale';
  if (role === 'valueOffset' && aq.value.offset !== null && aq.value.offset === aq.key.offset) return 'keyOffset';
  return null;
}

/**
 * Places the copies in the meta binding through `words` (call it with the same allocator state
 * for GetWorkspaceSize and for the run: same answer): one copy per role the problem reads, a
 * shared antiquant tensor once. Byte ranges are whole words of the caller's buffer; validation keeps
 * every tensor's word-padded span inside its buffer.
 */
export function layoutKvSource(problem: Problem, tensors: KernelTensors, words: MetaWords): KvSourceLayout {
  const copies: KvSourceCopy[] = [];
  let total = 0;
  for (const role of copiedRoles(problem)) {
    const t = tensors[role];
    if (!t) throw new Error(`kvSource: ${role} is required by the problem but absent`);
    const shared = sharedCopy(problem, role);
    const owner = shared ? copies.find((c) => c.roles.includes(shared)) : undefined;
    if (owner) { owner.roles.push(role); continue; }
    const { bits, offset } = unitsOf(t, PREFIX_ROLES.includes(role));
    const count = readSpan(problem, role, t);
    const firstBit = offset * bits;
    const srcByte = Math.floor(firstBit / 32) * 4;
    const endByte = Math.ceil(((offset + count) * bits) / 32) * 4;
    const bytes = Math.max(4, endByte - srcByte);
    const n = bytes / 4;
    const word = words.alloc(n);
    total += n;
    const perWord = 32 / bits;
    copies.push({ roles: [role], srcByte, bytes, word, elemBase: word * perWord + (firstBit - srcByte * 8) / bits });
  }
  return { copies, words: total };
}

/**
 * Records the copies into the meta region (at byte `metaByteOffset` of `workspace`, i.e. the
 * offset of the kernel's meta binding). Record them before the kernel's pass.
 */
export function encodeKvSourceCopies(
  encoder: GPUCommandEncoder, tensors: KernelTensors, workspace: GPUBuffer, metaByteOffset: number, layout: KvSourceLayout,
): void {
  for (const c of layout.copies) {
    const t = tensors[c.roles[0]!]!;
    // Validation keeps the word-padded span inside the buffer; clamp anyway (never copy past it).
    const bytes = Math.min(c.bytes, Math.floor(t.buffer.size / 4) * 4 - c.srcByte);
    if (bytes > 0) encoder.copyBufferToBuffer(t.buffer, c.srcByte, workspace, metaByteOffset + c.word * 4, bytes);
  }
}

/** Uniform fields the WGSL reads (`u.kvs*`): merge into the kernel's UniformBlock. */
export const kvSourceUniformFields = {
  // K/V tensors: first element (unpacked elements: INT4 nibbles) in kBuf/vBuf.
  kvsKOffset: 'u32', kvsVOffset: 'u32',
  // Dense/list: batch, head, row strides; paged: block, head, slot strides (d stride is 1).
  kvsBatchStride: 'u32', kvsHeadStride: 'u32', kvsSeqStride: 'u32',
  // Shared prefix: P, element bases of the K/V copies in aux, head and row strides.
  kvsPrefixLen: 'u32', kvsPkBase: 'u32', kvsPvBase: 'u32', kvsPHeadStride: 'u32', kvsPSeqStride: 'u32',
  // Paged: blockTable word base in aux, its row stride, maxBlocksPerSeq, blockSize, numBlocks.
  kvsBtBase: 'u32', kvsBtRowStride: 'u32', kvsMaxBlocks: 'u32', kvsBlockSize: 'u32', kvsNumBlocks: 'u32',
  // Antiquant K: scale/offset element bases in aux (incl. ParamIndex.base), index strides.
  kvsKsBase: 'u32', kvsKoBase: 'u32', kvsKqBatch: 'u32', kvsKqHead: 'u32', kvsKqToken: 'u32', kvsKqDim: 'u32',
  kvsVsBase: 'u32', kvsVoBase: 'u32', kvsVqBatch: 'u32', kvsVqHead: 'u32', kvsVqToken: 'u32', kvsVqDim: 'u32',
} as const satisfies Record<string, UniformType>;

export type KvSourceUniformValues = { [K in keyof typeof kvSourceUniformFields]: number };

/**
 * Uniform values. Tensor-list KV: pass `listBatch`, the batch whose K/V tensors the dispatch binds
 * (the batch stride is then 0; the kernel still passes the real b to loadKey for the dequant).
 */
export function kvSourceUniformValues(problem: Problem, tensors: KernelTensors, layout: KvSourceLayout, listBatch = 0): KvSourceUniformValues {
  const kv = problem.kv;
  const tensorIndex = kv.kind === 'list' ? listBatch : 0;
  const key = tensors.key[tensorIndex]!;
  const value = tensors.value[tensorIndex]!;
  const rows = kv.kind === 'dense' ? kv.seqLen : kv.kind === 'list' ? kv.seqLens[listBatch]! : kv.blockSize;
  const s = kvStrides(problem, rows);
  const base = (role: KvSourceRole): number => layout.copies.find((c) => c.roles.includes(role))?.elemBase ?? 0;
  const ps = problem.prefix ? kvStrides(problem, problem.prefix.seqLen) : { head: 0, seq: 0 };
  const bt = tensors.blockTable;
  const side = (aq: Antiquant | undefined, scale: KvSourceRole, offset: KvSourceRole) => aq ? {
    s: base(scale) + aq.index.base, o: aq.offset ? base(offset) + aq.index.base : 0,
    b: aq.index.batch, h: aq.index.head, t: aq.index.token, d: aq.index.dim,
  } : { s: 0, o: 0, b: 0, h: 0, t: 0, d: 0 };
  const k = side(problem.antiquant?.key, 'keyScale', 'keyOffset');
  const v = side(problem.antiquant?.value, 'valueScale', 'valueOffset');
  return {
    kvsKOffset: unitsOf(key, true).offset, kvsVOffset: unitsOf(value, true).offset,
    kvsBatchStride: kv.kind === 'list' ? 0 : s.batch, kvsHeadStride: s.head, kvsSeqStride: s.seq,
    kvsPrefixLen: problem.prefix?.len ?? 0, kvsPkBase: base('keyPrefix'), kvsPvBase: base('valuePrefix'),
    kvsPHeadStride: ps.head, kvsPSeqStride: ps.seq,
    kvsBtBase: base('blockTable'), kvsBtRowStride: bt ? bt.strides[0]! : 0,
    kvsMaxBlocks: kv.kind === 'paged' ? kv.maxBlocksPerSeq : 0,
    kvsBlockSize: kv.kind === 'paged' ? kv.blockSize : 1,
    kvsNumBlocks: kv.kind === 'paged' ? kv.numBlocks : 0,
    kvsKsBase: k.s, kvsKoBase: k.o, kvsKqBatch: k.b, kvsKqHead: k.h, kvsKqToken: k.t, kvsKqDim: k.d,
    kvsVsBase: v.s, kvsVoBase: v.o, kvsVqBatch: v.b, kvsVqHead: v.h, kvsVqToken: v.t, kvsVqDim: v.d,
  };
}

/**
 * WGSL defining `kvPresent(b, c) -> bool`, `loadKey(b, h, c, kvStart, d) -> f32`, `loadValue(…)`,
 * and the hoistable pair `kvRow(b, h, c, kvStart) -> KvRow` + `loadKeyAt(row, d)` /
 * `loadValueAt(row, d)` (resolve a column once, read all d). Needs bindings `kBuf`, `vBuf`,
 * `aux` (array<u32>) and the uniform `u` with kvSourceUniformFields. Paste it after those
 * declarations (it declares module-scope consts and fns prefixed kvs / KVS_, KvRow, kvRow, kvPresent,
 * loadKey, loadValue, loadKeyAt, loadValueAt).
 */
export function kvSourceWgsl(spec: KvSourceSpec): string {
  const loaders = [
    loaderFn('kvsRawK', 'kBuf', spec.kvDtype),
    loaderFn('kvsRawV', 'vBuf', spec.kvDtype),
    loaderFn('kvsRawPrefix', 'aux', spec.kvDtype),
    loaderFn('kvsKParam', 'aux', spec.kDeq === 'none' ? 'FLOAT32' : spec.kDeq),
    loaderFn('kvsVParam', 'aux', spec.vDeq === 'none' ? 'FLOAT32' : spec.vDeq),
  ];
  const b = (x: boolean): string => (x ? 'true' : 'false');
  return fill(wgsl('common/kv_source.wgsl'), {
    PAGED: b(spec.paged),
    PREFIX: b(spec.prefix),
    K_DEQ: b(spec.kDeq !== 'none'),
    K_PAGED_TOKEN: b(spec.kPagedToken),
    K_OFFSET: b(spec.kOffset),
    V_DEQ: b(spec.vDeq !== 'none'),
    V_PAGED_TOKEN: b(spec.vPagedToken),
    V_OFFSET: b(spec.vOffset),
    LOADERS: loaders.join('\n'),
  });
}
