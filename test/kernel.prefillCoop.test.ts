// The prefill kernel's cooperative body (shaders/common/prefill_coop.wgsl), the GPU-shaped variant
// the planner picks for hardware adapters, forced on every device configuration and held to the
// float64 reference: the hand-picked basics and a seeded random matrix (helpers/prefillCases.ts),
// with the device's fast paths (the softmax step on subgroups: size 4 on SwiftShader, 8 on
// lavapipe; FLOAT16 K/V in f16 tiles with shader-f16: lavapipe) and without ("plain").
// kernel.numerics runs its non-finite cases on both softmax steps too.
import { describe, expect, it } from 'vitest';
import type { PrefillPlan } from '../src/kernels/prefill.js';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { coopVariant, PREFILL_BASICS, prefillCaseTag, randomPrefillCase } from './helpers/prefillCases.js';

async function check(c: CaseSpec, plain: boolean): Promise<void> {
  const stream = await testStream();
  const v = coopVariant(c, plain);
  const r = await runCase(stream, v, { validate: false });
  const spec = (r.plan as PrefillPlan).spec;
  const has = (f: GPUFeatureName): boolean => !plain && stream.device.features.has(f);
  expect(spec.variant).toBe('coop');
  expect(spec.subgroups).toBe(has('subgroups'));
  // f16 tiles: FLOAT16 K/V read directly (not through antiquant or a shared prefix).
  const f16Kv = c.dtype === 'FLOAT16' && !c.antiquant && !c.prefix && !c.int8;
  expect(spec.f16Tiles).toBe(has('shader-f16') && f16Kv);
  expect(r.out.ok, `out: ${r.out.message} | ${repro(v)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(v)}`).toBe(true);
}

// The basics run with the fast paths, each mode its own random cases (lavapipe compiles each
// pipeline in about 1.5 s).
const NUM_RANDOM = 12;

describe('prefill kernel, coop body (fast paths where present): basics', () => {
  for (const [name, c] of PREFILL_BASICS) it(name, () => check(c, false));
});

for (const plain of [false, true]) {
  const mode = plain ? 'plain: one invocation per row, f32 tiles' : 'fast paths where present';
  describe(`prefill kernel, coop body (${mode}): randomized matrix`, () => {
    // Seeds after the quick matrix's (kernel.prefillQuick.test.ts): other cases.
    for (let i = 0; i < NUM_RANDOM; i++) {
      const c = randomPrefillCase(2000 + i + (plain ? NUM_RANDOM : 0));
      it(prefillCaseTag(coopVariant(c, plain)), () => check(c, plain));
    }
  });
}
