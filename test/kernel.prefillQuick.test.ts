// The prefill kernel's quick compile tier (shaders/common/prefill_quick.wgsl) vs the float64
// reference: the hand-picked basics and a seeded random matrix (helpers/prefillCases.ts), each
// with the quick body forced. The executor runs this body on a shape's first calls while the
// blocked body compiles (docs/design.md, "Compile tiers"), so it must give the same answers
// within the same tolerances. Small shaders: this file runs on every device configuration.
import { describe, expect, it } from 'vitest';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { PREFILL_BASICS, prefillCaseTag, quickVariant, randomPrefillCase } from './helpers/prefillCases.js';

async function check(c: CaseSpec): Promise<void> {
  const stream = await testStream();
  const r = await runCase(stream, quickVariant(c), { validate: false });
  expect(r.out.ok, `out: ${r.out.message} | ${repro(quickVariant(c))}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(quickVariant(c))}`).toBe(true);
}

const NUM_RANDOM = 20;

describe('prefill kernel, quick tier: basics', () => {
  for (const [name, c] of PREFILL_BASICS) it(name, () => check(c));
});

describe('prefill kernel, quick tier: randomized matrix', () => {
  // Seeds after the blocked matrix's (kernel.prefillRandom.test.ts): other cases.
  for (let i = 0; i < NUM_RANDOM; i++) {
    const c = randomPrefillCase(1000 + i);
    it(prefillCaseTag(quickVariant(c)), () => check(c));
  }
});
