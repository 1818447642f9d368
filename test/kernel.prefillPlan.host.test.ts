// Which prefill body the planner picks, and the cooperative body's geometry, without a GPU: the
// CPU-shaped blocked body (with its quick tier) on fallback adapters, the cooperative body on
// hardware, its softmax on subgroups only where the device has them, and its workgroup arrays
// within the device's workgroup storage for every head dim and group size the kernel takes.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS, type DeviceCaps } from '../src/kernels/caps.js';
import { planPrefill, prefillUnsupported, prefillWorkgroupArrays } from '../src/kernels/prefill.js';
import { workgroupBytes } from '../src/kernels/shader.js';
import { makeProblem } from './helpers/cases.js';

const HARDWARE: DeviceCaps = { ...DEFAULT_CAPS, subgroups: true };
const SOFTWARE: DeviceCaps = { ...DEFAULT_CAPS, maxWorkgroupStorageBytes: 32768, subgroups: true, fallbackAdapter: true };

describe('prefill planner: body per adapter', () => {
  const problem = makeProblem({ batch: 2, numQoHeads: 8, numKvHeads: 2, headDim: 64, qSeqLen: 64, kvSeqLen: 128 });

  it('a fallback (software) adapter gets the blocked body and its quick tier', () => {
    const plan = planPrefill(problem, SOFTWARE);
    expect(plan.spec.variant).toBe('blocked');
    expect(plan.spec.subgroups).toBe(false);
    expect(plan.quick?.spec.variant).toBe('quick');
  });

  it('a hardware adapter gets the cooperative body, subgroups as the device has them', () => {
    const plan = planPrefill(problem, HARDWARE);
    expect(plan.spec.variant).toBe('coop');
    expect(plan.spec.subgroups).toBe(true);
    expect(plan.quick).toBeNull();
    expect(planPrefill(problem, { ...HARDWARE, subgroups: false }).spec.subgroups).toBe(false);
    expect(planPrefill(problem, HARDWARE, { noSubgroups: true }).spec.subgroups).toBe(false);
    // About 32 (row, head) slots per workgroup: G = 4 → 8 query rows.
    expect(plan.spec.blockQ * plan.spec.groupSize).toBe(32);
    expect(plan.spec.workgroupSize).toBe(128);
  });

  it('a forced body is planned on any adapter', () => {
    expect(planPrefill(problem, SOFTWARE, { variant: 'coop' }).spec.variant).toBe('coop');
    expect(planPrefill(problem, HARDWARE, { variant: 'blocked' }).spec.variant).toBe('blocked');
  });
});

describe('prefill planner: cooperative workgroup storage', () => {
  for (const caps of [HARDWARE, { ...HARDWARE, maxWorkgroupStorageBytes: 32768 }]) {
    it(`fits ${caps.maxWorkgroupStorageBytes} bytes for D 16-512 and G 1-64, or falls back to the blocked body`, () => {
      for (const headDim of [16, 64, 128, 256, 512]) {
        for (const G of [1, 4, 16, 64]) {
          const problem = makeProblem({ batch: 1, numQoHeads: G, numKvHeads: 1, headDim, qSeqLen: 40, kvSeqLen: 100 });
          const plan = planPrefill(problem, caps);
          const tag = `D ${headDim} G ${G}`;
          expect(plan.workgroupStorageBytes, tag).toBeLessThanOrEqual(caps.maxWorkgroupStorageBytes);
          expect(plan.workgroupStorageBytes, tag).toBe(workgroupBytes(prefillWorkgroupArrays(plan.spec)));
          expect(prefillUnsupported(problem, caps), tag).toBeNull();
          if (plan.spec.variant === 'coop') {
            expect(plan.spec.blockQ * G, tag).toBeLessThanOrEqual(Math.max(32, G));
          } else {
            // Only where one query row of G heads does not fit with an 8-column KV tile.
            const one = planPrefill(problem, caps, { variant: 'coop', rowThreads: 1 });
            expect(one.workgroupStorageBytes > caps.maxWorkgroupStorageBytes || one.spec.blockKv < 8, tag).toBe(true);
          }
        }
      }
    });
  }
});
