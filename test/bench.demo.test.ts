// The generation demo (bench/demo/generate.ts): the prompts' prefill (one Q_S > 1 call per layer
// over a paged cache, prompts of different lengths padded to the longest, causal) and chosen decode
// steps (one of them opening a new KV block) match the float64 reference in attention outputs and
// LSE, every layer; the demo must produce tokens and timings.
import { describe, expect, it } from 'vitest';
import { CONFIG, generate } from '../bench/demo/generate.js';
import { testStream } from './helpers/gpu.js';

const WATCHDOG_MS = 120_000;

describe('generation demo', () => {
  it('prefill then generated tokens over a paged cache: the prefill and checked steps match the reference', async () => {
    const stream = await testStream();
    expect(CONFIG.blockSize).toBe(128); // the lengths below are chosen around one block
    // Sequence 0's prompt spans two blocks; sequence 1 opens its second block at decode step 2
    // (position 128); sequence 2 is short (most of the padded query rows are past its length).
    const prompts = [130, 126, 9].map((n, s) => Array.from({ length: n }, (_, i) => (i * (2 * s + 5) + s) % CONFIG.vocab));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      generate(stream, prompts, 5, { checkSteps: [0, 2, 3] }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('demo: no answer')), WATCHDOG_MS); }),
    ]).finally(() => clearTimeout(timer));
    // 2 layers × (the prefill + decode steps 0, 2 and 3, the last of the 4 decode steps).
    expect(r.checks.map((c) => `${c.phase} ${c.step} ${c.layer}`)).toEqual([
      'prefill 0 0', 'prefill 0 1', 'decode 0 0', 'decode 0 1', 'decode 2 0', 'decode 2 1', 'decode 3 0', 'decode 3 1',
    ]);
    for (const c of r.checks) expect(c.ok, `${c.phase} step ${c.step} layer ${c.layer}: out ${c.out}; lse ${c.lse}`).toBe(true);
    expect(r.tokens.map((t) => t.length)).toEqual([5, 5, 5]);
    for (const t of r.tokens.flat()) expect(t >= 0 && t < CONFIG.vocab && Number.isInteger(t)).toBe(true);
    expect(r.prefillCallMs).toHaveLength(CONFIG.layers);
    expect(r.timedSteps).toBe(3);
    expect(r.gpuMsPerToken).toBeGreaterThan(0);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
  });
});
