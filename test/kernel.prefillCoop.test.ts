// The prefill kernel's cooperative body (shaders/common/prefill_coop.wgsl), the GPU-shaped variant
// the planner picks for hardware adapters, forced on every device configuration and held to the
// float64 reference: the hand-picked basics and a seeded random matrix (helpers/prefillCases.ts),
// with the softmax step on subgroups (where the device has them: size 4 on SwiftShader, 8 on
// lavapipe) and without. kernel.numerics runs its non-finite cases on both modes too.
import { describe, expect, it } from 'vitest';
import type { PrefillPlan } from '../src/kernels/prefill.js';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { coopVariant, PREFILL_BASICS, prefillCaseTag, randomPrefillCase } from './helpers/prefillCases.js';

async function check(c: CaseSpec, noSubgroups: boolean): Promise<void> {
  const stream = await testStream();
  const v = coopVariant(c, noSubgroups);
  const r = await runCase(stream, v, { validate: false });
  const spec = (r.plan as PrefillPlan).spec;
  expect(spec.variant).toBe('coop');
  expect(spec.subgroups).toBe(!noSubgroups && stream.device.features.has('subgroups'));
  expect(r.out.ok, `out: ${r.out.message} | ${repro(v)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(v)}`).toBe(true);
}

// The softmax step is the only code the two modes do not share: the basics run with subgroups,
// each mode its own random cases (lavapipe compiles each pipeline in about 1.5 s).
const NUM_RANDOM = 12;

describe('prefill kernel, coop body (subgroup rows where present): basics', () => {
  for (const [name, c] of PREFILL_BASICS) it(name, () => check(c, false));
});

for (const noSubgroups of [false, true]) {
  const mode = noSubgroups ? 'one invocation per row' : 'subgroup rows where present';
  describe(`prefill kernel, coop body (${mode}): randomized matrix`, () => {
    // Seeds after the quick matrix's (kernel.prefillQuick.test.ts): other cases.
    for (let i = 0; i < NUM_RANDOM; i++) {
      const c = randomPrefillCase(2000 + i + (noSubgroups ? NUM_RANDOM : 0));
      it(prefillCaseTag(coopVariant(c, noSubgroups)), () => check(c, noSubgroups));
    }
  });
}
