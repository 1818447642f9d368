// Gathering K and V for one (batch, KV head): dense, tensor-list, paged, shared prefix, dequant.
// "Gather, then dense" (STYLE §7): everything after this sees plain float64 [L, D] rows.
import type { Antiquant, HostInputs, Problem, StorageLayout } from '../problem/problem.js';
import type { BatchWindow } from './lengths.js';
import { type Dims, elementIndex } from './layout.js';
import { dequant } from './quant.js';

/**
 * K and V of one (b, h): `k`, `v` Float64 [L, D] row-major with L = P + Skv_b (logical column c:
 * c < P the prefix row c, else KV position c - P), already dequantized. `present[c]` is 0 where
 * the row could not be read (paged: block id outside [0, numBlocks)); such columns are masked
 * out and their rows left 0.
 */
export interface GatheredKv {
  k: Float64Array;
  v: Float64Array;
  present: Uint8Array;
}

/** Where column c's raw row lives: tensor array + element index of d = 0 (d is contiguous in every layout). */
interface RowSource {
  keys: Float64Array;
  values: Float64Array;
  base: number;
  /** Per-token position: the physical row in batch b's scale row (prefix first, §8), paged KV too. */
  token: number;
  /** Paged KV: the block id and slot, which the paged per-token modes (4, 5) address by; else null. */
  slot: { block: number; slot: number } | null;
}

/** The layout prefix tensors are stored in: the KV layout (paged: the cache's). */
function kvStorageLayout(problem: Problem): StorageLayout {
  return problem.kv.kind === 'paged' ? problem.kv.cacheLayout : problem.kv.kvLayout;
}

/** Column c of batch b, KV head h → its stored row, or null for an invalid paged block. */
function rowSource(problem: Problem, host: HostInputs, b: number, h: number, c: number, win: BatchWindow): RowSource | null {
  const { numKvHeads: KV_N, headDim: D } = problem;
  const P = win.prefixLen;
  // Per-token scales follow the physical row of the scale tensor (prefix first, §8).
  const token = win.kvStart + c;
  if (c < P) {
    const dims: Dims = { batch: 1, heads: KV_N, seq: problem.prefix!.seqLen, headDim: D };
    const base = elementIndex(kvStorageLayout(problem), dims, 0, h, c, 0);
    return { keys: host.keySharedPrefix!, values: host.valueSharedPrefix!, base, token, slot: null };
  }
  const j = c - P;
  const kv = problem.kv;
  if (kv.kind === 'dense') {
    const dims: Dims = { batch: problem.batch, heads: KV_N, seq: kv.seqLen, headDim: D };
    const base = elementIndex(kv.kvLayout, dims, b, h, win.kvStart + j, 0);
    return { keys: host.key[0]!, values: host.value[0]!, base, token, slot: null };
  }
  if (kv.kind === 'list') {
    const dims: Dims = { batch: 1, heads: KV_N, seq: kv.seqLens[b]!, headDim: D };
    const base = elementIndex(kv.kvLayout, dims, 0, h, j, 0);
    return { keys: host.key[b]!, values: host.value[b]!, base, token, slot: null };
  }
  // Paged (§6): logical position j is in block blockTable[b][⌊j / bs⌋], slot j mod bs.
  const bs = kv.blockSize;
  const entry = Math.floor(j / bs);
  if (entry >= kv.maxBlocksPerSeq) return null; // past the table row: never read another batch's ids
  const block = host.blockTable![b * kv.maxBlocksPerSeq + entry]!;
  if (!(block >= 0 && block < kv.numBlocks)) return null;
  const slot = j % bs;
  const base = kv.cacheLayout === 'BSH'
    ? ((block * bs + slot) * KV_N + h) * D        // (blockNum, blockSize, KV_N·D)
    : ((block * KV_N + h) * bs + slot) * D;       // (blockNum, KV_N, blockSize, D)
  return { keys: host.key[0]!, values: host.value[0]!, base, token, slot: { block, slot } };
}

/**
 * One stored element, dequantized when `aq` is given: the paged per-token modes (4, 5) address by
 * block and slot; every other per-token scale by (batch, row), paged KV included (§8).
 */
function loadElement(aq: Antiquant | undefined, host: HostInputs, raw: number, src: RowSource, b: number, h: number, d: number): number {
  if (!aq) return raw;
  if (aq.pagedToken && src.slot) return dequant(aq, host, raw, { b: src.slot.block, h, t: src.slot.slot, d });
  return dequant(aq, host, raw, { b, h, t: src.token, d });
}

/** gatherKv: per (b, h) the Float64 [L, D] K and V, L = P + Skv_b (see GatheredKv). */
export function gatherKv(problem: Problem, host: HostInputs, b: number, h: number, win: BatchWindow): GatheredKv {
  const D = problem.headDim;
  const L = win.prefixLen + win.kvLen;
  const k = new Float64Array(L * D);
  const v = new Float64Array(L * D);
  const present = new Uint8Array(L);
  const aq = problem.antiquant;
  for (let c = 0; c < L; c++) {
    const src = rowSource(problem, host, b, h, c, win);
    if (!src) continue;
    present[c] = 1;
    for (let d = 0; d < D; d++) {
      k[c * D + d] = loadElement(aq?.key, host, src.keys[src.base + d]!, src, b, h, d);
      v[c * D + d] = loadElement(aq?.value, host, src.values[src.base + d]!, src, b, h, d);
    }
  }
  return { k, v, present };
}

/** Query row (b, n, physical row s) as Float64 [D]. */
export function loadQueryRow(problem: Problem, host: HostInputs, b: number, n: number, s: number): Float64Array {
  const D = problem.headDim;
  const dims: Dims = { batch: problem.batch, heads: problem.numQoHeads, seq: problem.qSeqLen, headDim: D };
  const base = elementIndex(problem.queryLayout, dims, b, n, s, 0);
  return host.query.slice(base, base + D);
}
