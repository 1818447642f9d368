// KV split planning (src/kernels/splits.ts), shared by decode and prefill: how many splits, how
// long, and the prefill plans that use them (short queries over a long KV) or not.
import { describe, expect, it } from 'vitest';
import { kvSplits, MIN_SPLIT_KEYS, TARGET_WORKGROUPS } from '../src/kernels/splits.js';
import { planPrefill } from '../src/kernels/prefill.js';
import { DEFAULT_CAPS } from '../src/kernels/caps.js';
import { makeProblem } from './helpers/cases.js';

/** Every column in exactly one split: splits cover [0, columns) and the last one is not empty. */
function expectCover(columns: number, s: { numSplits: number; splitLen: number }): void {
  expect(s.numSplits * s.splitLen).toBeGreaterThanOrEqual(columns);
  expect((s.numSplits - 1) * s.splitLen).toBeLessThan(columns);
}

describe('kvSplits', () => {
  it('aims for TARGET_WORKGROUPS, none shorter than MIN_SPLIT_KEYS', () => {
    expect(kvSplits(4096, 8)).toEqual({ numSplits: TARGET_WORKGROUPS / 8, splitLen: 4096 / (TARGET_WORKGROUPS / 8) });
    // 300 columns allow ⌈300 / 128⌉ = 3 splits however few the workgroups.
    const s = kvSplits(300, 1);
    expect(s.numSplits).toBe(Math.ceil(300 / MIN_SPLIT_KEYS));
    expectCover(300, s);
    expect(kvSplits(100, 1).numSplits).toBe(1);
    expect(kvSplits(8192, TARGET_WORKGROUPS).numSplits).toBe(1);
  });

  it('forced counts, aligned lengths and a longest split', () => {
    expect(kvSplits(10, 1, { forced: 3 })).toEqual({ numSplits: 3, splitLen: 4 });
    expect(kvSplits(2, 1, { forced: 5 })).toEqual({ numSplits: 2, splitLen: 1 });
    // Aligned to 32: 100 columns in 3 forced splits of 34 → 2 splits of 64.
    const a = kvSplits(100, 1, { forced: 3, align: 32 });
    expect(a).toEqual({ numSplits: 2, splitLen: 64 });
    expectCover(100, a);
    const m = kvSplits(1000, 1000, { maxSplitLen: 128 });
    expect(m.splitLen).toBeLessThanOrEqual(128);
    expectCover(1000, m);
  });
});

describe('prefill plans and splits', () => {
  it('a few query rows over a long KV split; a long prefill and a short KV do not', () => {
    // A software adapter's plan: the blocked body with its quick tier (a hardware one has no tier).
    const software = { ...DEFAULT_CAPS, fallbackAdapter: true };
    const short = planPrefill(makeProblem({ batch: 1, numQoHeads: 8, numKvHeads: 2, headDim: 64, qSeqLen: 4, kvSeqLen: 4096 }), software);
    expect(planPrefill(makeProblem({ batch: 1, numQoHeads: 8, numKvHeads: 2, headDim: 64, qSeqLen: 4, kvSeqLen: 4096 }), DEFAULT_CAPS).numSplits).toBeGreaterThan(1);
    expect(short.numSplits).toBeGreaterThan(1);
    expect(short.splitLen % 32).toBe(0);
    expectCover(4096, short);
    // The quick tier runs on the same splits (same workspace).
    expect(short.quick).not.toBeNull();
    expect([short.quick!.numSplits, short.quick!.splitLen]).toEqual([short.numSplits, short.splitLen]);
    expect(short.spec.split && short.quick!.spec.split).toBe(true);
    expect(planPrefill(makeProblem({ batch: 1, numQoHeads: 8, headDim: 64, qSeqLen: 256, kvSeqLen: 256 }), DEFAULT_CAPS).numSplits).toBe(1);
    expect(planPrefill(makeProblem({ batch: 1, numQoHeads: 2, headDim: 64, qSeqLen: 4, kvSeqLen: 100 }), DEFAULT_CAPS).numSplits).toBe(1);
  });

  it('no more splits than one binding holds of the partials', () => {
    // 1 × 64 heads × 16 rows × D 512 × 4 bytes = 2 MiB per split: 3 fit a 6 MiB binding, 1 a 3 MiB one.
    const problem = makeProblem({ batch: 1, numQoHeads: 64, numKvHeads: 1, headDim: 512, qSeqLen: 16, kvSeqLen: 65536 });
    const MiB = 1 << 20;
    const roomy = planPrefill(problem, DEFAULT_CAPS);
    expect(roomy.numSplits * 2 * MiB).toBeLessThanOrEqual(DEFAULT_CAPS.maxStorageBindingBytes);
    expect(roomy.numSplits).toBeGreaterThan(1);
    expect(planPrefill(problem, { ...DEFAULT_CAPS, maxStorageBindingBytes: 6 * MiB }).numSplits).toBe(3);
    expect(planPrefill(problem, { ...DEFAULT_CAPS, maxStorageBindingBytes: 3 * MiB }).numSplits).toBe(1);
    expect(planPrefill(problem, { ...DEFAULT_CAPS, maxStorageBindingBytes: 3 * MiB }, { numSplits: 4 }).numSplits).toBe(1);
  });
});
