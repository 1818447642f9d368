// The generation demo (bench/demo/generate.ts): prefill, then decode steps whose attention outputs
// and LSE (every layer, the first steps, one of them across a new KV block) match the float64
// reference; the demo must produce tokens and timings.
import { describe, expect, it } from 'vitest';
import { generate } from '../bench/demo/generate.js';
import { testStream } from './helpers/gpu.js';

const WATCHDOG_MS = 120_000;

describe('generation demo', () => {
  it('prefill + 4 decode steps over a paged cache: the first 3 steps match the reference', async () => {
    const stream = await testStream();
    const prompts = [Array.from({ length: 127 }, (_, i) => (i * 7 + 3) % 64), Array.from({ length: 9 }, (_, i) => (i * 5 + 1) % 64)];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      generate(stream, prompts, 4, { checkSteps: 3 }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('demo: no answer')), WATCHDOG_MS); }),
    ]).finally(() => clearTimeout(timer));
    // 3 steps × 2 layers checked; sequence 0 (127 prompt tokens + 1) moves into its second block at step 1.
    expect(r.checks.length).toBe(6);
    for (const c of r.checks) expect(c.ok, `step ${c.step} layer ${c.layer}: out ${c.out}; lse ${c.lse}`).toBe(true);
    expect(r.tokens.map((t) => t.length)).toEqual([4, 4]);
    expect(r.timedSteps).toBe(3);
    expect(r.gpuMsPerToken).toBeGreaterThan(0);
  });
});
