// Seeded randomized matrix: the prefill kernel vs the float64 reference with every feature in
// combination (layouts, dtypes, GQA, odd lengths that break tiles, actual lengths with empty
// rows, left padding incl. windows that leave [0, S), masks of every shape/dtype with holes,
// sparseMode 0-4 with pre/next, pseShift, tensor-list KV, lse on/off).
// Tolerance (STYLE §8): max(floor per dtype, 2 × |reference in the storage dtype − exact reference|).
// A failing case prints a one-line repro (CASE={...}); paste it into `pinned` below. The kernel runs
// directly, without the operator's validation (it computes more than the operator accepts).
import { describe, expect, it } from 'vitest';
import { testStream } from './helpers/gpu.js';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { prefillCaseTag, randomPrefillCase } from './helpers/prefillCases.js';

/** Cases that once failed, kept as regressions (one-line repros). */
const pinned: CaseSpec[] = [];

const NUM_RANDOM = 40;

describe('prefill kernel: randomized matrix vs reference', () => {
  const cases = [...pinned, ...Array.from({ length: NUM_RANDOM }, (_, i) => randomPrefillCase(i + 1))];
  for (const c of cases) {
    const tag = prefillCaseTag(c);
    it(tag, async () => {
      const stream = await testStream();
      const r = await runCase(stream, c, { validate: false });
      expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
      if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
    });
  }
});
