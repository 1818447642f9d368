// Prefill kernel vs the float64 reference: hand-picked basic cases (dtypes, layouts, GQA, lengths, lse).
// The kernel runs directly, without the operator's validation: it computes more than the operator
// accepts (e.g. causal with a mask smaller than (2048, 2048), a FLOAT16 output of a FLOAT32 query).
import { describe, expect, it } from 'vitest';
import { capsOf } from '../src/kernels/caps.js';
import { type CaseSpec, repro, runCase } from './helpers/cases.js';
import { PREFILL_BASICS, prefillBase as base } from './helpers/prefillCases.js';
import { testStream } from './helpers/gpu.js';

async function check(c: CaseSpec): Promise<void> {
  const stream = await testStream();
  const r = await runCase(stream, c, { validate: false });
  expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  if (r.lse) expect(r.lse.ok, `lse: ${r.lse.message} | ${repro(c)}`).toBe(true);
}

describe('prefill kernel: dense basics', () => {
  for (const [name, c] of PREFILL_BASICS) it(name, () => check(c));
  it('beyond 8 storage buffers: unsupported under the default limits, runs where the device grants more', async () => {
    const stream = await testStream();
    const c: CaseSpec = {
      ...base, dtype: 'FLOAT16', outDtype: 'INT8', outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' },
      qLens: [19, 7], qPad: 2, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0.2 },
      pse: { batch1: true },
    };
    const caps = capsOf(stream.device);
    if (caps.maxStorageBuffersPerStage < 10) {
      await expect(runCase(stream, c, { validate: false })).rejects.toThrow(/10 storage buffers/);
      return;
    }
    const r = await runCase(stream, c, { caps, validate: false });
    expect(r.out.ok, `out: ${r.out.message} | ${repro(c)}`).toBe(true);
  });
});
