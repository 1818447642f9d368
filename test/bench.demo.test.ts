// The generation demo (bench/demo/generate.ts): prompt and generation steps whose attention
// outputs and LSE (every layer, chosen steps, one of them opening a new KV block) match the float64
// reference; the demo must produce tokens and timings.
import { describe, expect, it } from 'vitest';
import { generate } from '../bench/demo/generate.js';
import { testStream } from './helpers/gpu.js';

const WATCHDOG_MS = 120_000;

describe('generation demo', () => {
  it('prompts then generated tokens over a paged cache: checked steps match the reference', async () => {
    const stream = await testStream();
    const prompts = [Array.from({ length: 17 }, (_, i) => (i * 7 + 3) % 64), Array.from({ length: 9 }, (_, i) => (i * 5 + 1) % 64)];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      generate(stream, prompts, 4, { checkSteps: [0, 8, 16, 19] }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('demo: no answer')), WATCHDOG_MS); }),
    ]).finally(() => clearTimeout(timer));
    // 4 steps × 2 layers: the first, sequence 1's first generated position, position 16 of
    // sequence 0 (a new block, its table row rewritten), the last step (20 steps in all).
    expect(r.checks.length).toBe(8);
    for (const c of r.checks) expect(c.ok, `step ${c.step} layer ${c.layer}: out ${c.out}; lse ${c.lse}`).toBe(true);
    expect(r.tokens.map((t) => t.length)).toEqual([4, 4]);
    expect(r.timedSteps).toBe(19);
    expect(r.gpuMsPerToken).toBeGreaterThan(0);
  });
});
