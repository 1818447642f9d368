// Seeded randomized decode kernel-vs-reference matrix over layouts, dtypes, GQA, D, ragged and
// padded lengths, masks, pse, tensor-list KV and split counts. A failure prints a one-line repro.
import { describe, expect, it } from 'vitest';
import { ACLNN_ERR_PARAM_INVALID, AclnnError } from '../src/acl/status.js';
import type { Layout } from '../src/problem/problem.js';
import { type CaseSpec, checkCase, type FloatDtype, type MaskShape, mulberry32, plannedDecodeVariants } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

/** The decode variants this device's planner can choose (lanes: SwiftShader only; quick: software adapters). */
const VARIANTS = await plannedDecodeVariants();

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** A random valid decode case (seeded). */
export function randomSpec(seed: number): CaseSpec {
  const r = mulberry32(seed * 7919 + 17);
  const layout = pick<Layout>(r, ['BSH', 'BSND', 'BNSD', 'BNSD_BSND']);
  const dtype = pick<FloatDtype>(r, ['FLOAT32', 'FLOAT16', 'BFLOAT16']);
  const numKvHeads = int(r, 1, 3);
  const groupSize = pick(r, [1, 1, 2, 3, 4, 8]);
  const headDim = layout === 'BNSD_BSND' ? pick(r, [16, 32, 64]) : pick(r, [4, 8, 16, 24, 40, 64, 96, 128, 5]);
  const batch = int(r, 1, 4);
  const list = layout !== 'BNSD_BSND' && r() < 0.15;
  const maxS = pick(r, [1, 9, 64, 130, 300]);
  const lists = list ? Array.from({ length: batch }, () => int(r, 1, maxS)) : null;
  const ragged = r() < 0.5;
  const kvLens = ragged ? Array.from({ length: batch }, (_, b) => int(r, 0, lists ? lists[b]! : maxS)) : null;
  const leftPad = !list && ragged && r() < 0.3;
  const spec: CaseSpec = {
    seed, batch, numQoHeads: numKvHeads * groupSize, numKvHeads, headDim, qSeqLen: 1, kvSeqLen: maxS, list: lists, dtype, layout, kvLens,
    numSplits: pick(r, [undefined, 1, 2, 3, 8]),
    lse: r() < 0.85,
    // The steady variant twice as often as the first-call tier (lanes over tiles where both are planned).
    variant: pick(r, VARIANTS.flatMap((v) => (v === 'quick' || (v === 'tiles' && VARIANTS.includes('lanes')) ? [v] : [v, v]))),
    noSubgroups: r() < 0.3,
  };
  if (lists && kvLens) spec.kvLens = kvLens.map((l, b) => Math.min(l, lists[b]!));
  if (leftPad) spec.kvPad = int(r, -2, 6);
  if (r() < 0.35) {
    spec.mask = {
      shape: pick<MaskShape>(r, ['B,S', 'B,1,S', 'B,1,1,S', '1,1,1,S']),
      dtype: pick(r, ['BOOL', 'INT8', 'UINT8'] as const), density: pick(r, [0.1, 0.5, 0.95]), extraCols: pick(r, [0, 3]),
    };
  }
  if (r() < 0.3 && headDim % 16 === 0) spec.pse = { batch1: pick(r, [true, false]), extraCols: pick(r, [0, 2]) };
  // K/V storage through the KV source: paged, shared prefix, INT8/INT4 antiquant (16-bit queries).
  const plain = !list && !leftPad;
  const feature = r();
  if (plain && dtype !== 'FLOAT32' && feature < 0.2 && layout !== 'BNSD_BSND') {
    spec.paged = { blockSize: pick(r, [16, 32]), cache: layout === 'BNSD' ? pick(r, ['BSH', 'BNSD'] as const) : 'BSH', spare: 2, invalid: r() < 0.3 };
    spec.kvLens ??= Array.from({ length: batch }, () => int(r, 0, maxS));
  } else if (plain && feature < 0.35) {
    const rows = int(r, 1, 40);
    const used = Math.min(pick(r, [0, 1, 5]), rows);
    spec.prefix = { rows, len: used === 0 ? null : used };
  }
  if (dtype !== 'FLOAT32' && !list && !leftPad && layout !== 'BNSD_BSND' && r() < 0.3) {
    const kv = headDim % 64 === 0 && r() < 0.4 ? 'INT4' : 'INT8';
    const mode = pick(r, kv === 'INT4' ? [0, 1, 3] as const : [0, 1, 2, 3] as const);
    spec.antiquant = { kv, kMode: mode, vMode: mode, offset: r() < 0.5 };
  }
  // Tiles: the hardware adapters' one score column per invocation, or 2, beside the plan's.
  const columns = pick(r, [undefined, undefined, 1, 2]);
  if (spec.variant === 'tiles' && columns) spec.scoreColumns = columns;
  // Quick: 1, 2 or 4 heads per invocation (1 is lavapipe's plan, up to 4 SwiftShader's).
  const laneHeads = pick(r, [undefined, 1, 2, 4]);
  if (spec.variant === 'quick' && laneHeads) spec.laneHeads = laneHeads;
  return spec;
}

const SEEDS = Array.from({ length: 28 }, (_, i) => i + 1);

describe('decode randomized matrix', () => {
  it(`${SEEDS.length} seeded cases`, async () => {
    const stream = await testStream();
    const failures: string[] = [];
    let run = 0;
    for (const seed of SEEDS) {
      const spec = randomSpec(seed);
      let msg: string;
      try {
        msg = await checkCase(stream, spec);
      } catch (e) {
        // The generator draws features independently; combinations the operator rejects (161002) are skipped.
        if (e instanceof AclnnError && e.status === ACLNN_ERR_PARAM_INVALID) continue;
        throw e;
      }
      run++;
      if (msg) failures.push(`seed ${seed}: ${msg}`);
    }
    expect(failures.join('\n')).toBe('');
    expect(run).toBeGreaterThanOrEqual(SEEDS.length * 0.85);
  });
});
