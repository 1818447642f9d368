// The two-phase API on a hardware adapter: the device seen through a proxy whose adapter info says
// it is not a fallback adapter, so the planner picks what it picks on a GPU (the cooperative
// prefill body, with subgroups and f16 tiles where the device has them). GetWorkspaceSize,
// prepare() and the run then go through the same executor as on any device, and the outputs are
// held to the float64 reference: the coop body end to end, on both software adapters.
import { describe, expect, it } from 'vitest';
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { createBuffer, readTensor } from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../src/fia/api.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { capsOf } from '../src/kernels/caps.js';
import type { PrefillPlan } from '../src/kernels/prefill.js';
import { pipelineCompileCounts } from '../src/kernels/shader.js';
import { buildCase, type CaseSpec, compareCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

/** `device` as a hardware adapter's device: adapterInfo says so; everything else is the device's own. */
function asHardware(device: GPUDevice): GPUDevice {
  const info = { ...JSON.parse(JSON.stringify(device.adapterInfo)), isFallbackAdapter: false, architecture: 'gpu', device: 'gpu', description: 'gpu' };
  return new Proxy(device, {
    get(target, key) {
      if (key === 'adapterInfo') return info;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const CAUSAL = { sparseMode: 3, mask: { shape: 'Q,S', dtype: 'BOOL', density: 0, size2048: true } } as const;
const CASES: { name: string; c: Omit<CaseSpec, 'seed'> }[] = [
  { name: 'FLOAT16 causal GQA, BSND, softmaxLse', c: { layout: 'BSND', dtype: 'FLOAT16', lse: true, ...CAUSAL, batch: 2, numQoHeads: 8, numKvHeads: 2, qSeqLen: 40, kvSeqLen: 40, headDim: 64 } },
  { name: 'short query over a long KV (KV splits + combine), FLOAT32', c: { layout: 'BNSD', dtype: 'FLOAT32', lse: true, ...CAUSAL, batch: 1, numQoHeads: 4, numKvHeads: 2, qSeqLen: 3, kvSeqLen: 600, headDim: 32 } },
  { name: 'INT8 output with per-channel quantScale2, paged KV, BFLOAT16', c: { layout: 'BNSD', dtype: 'BFLOAT16', lse: false, outDtype: 'INT8', batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 9, kvSeqLen: 200,
    headDim: 32, outQuant: { perChannel: true, offset: true, dtype: 'FLOAT32' }, paged: { blockSize: 128, cache: 'BSH', spare: 2, invalid: false } } },
];

async function hardwareStream(): Promise<Stream> {
  const stream = createStream(asHardware((await testStream()).device));
  aclrtSetDevice(stream.device);
  return stream;
}

describe('two-phase API on a hardware adapter (simulated): the coop prefill body end to end', () => {
  it('the proxy device plans as hardware', async () => {
    const stream = await hardwareStream();
    expect(capsOf(stream.device).fallbackAdapter).toBe(false);
    expect(capsOf((await testStream()).device).fallbackAdapter).toBe(true);
  });

  for (const [i, { name, c }] of CASES.entries()) {
    it(name, async () => {
      const stream = await hardwareStream();
      const built = buildCase(stream, { ...c, seed: 40 + i });
      const { inputs } = built;
      const r = fiaGetWorkspaceSize(inputs);
      expect(r.status, aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      const planned = r.executor!.plan!;
      expect(planned.kernel).toBe('prefill');
      const plan = planned.plan as PrefillPlan;
      expect(plan.spec.variant).toBe('coop');
      expect(plan.quick).toBeNull();
      expect(await r.executor!.prepare(), aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      const prepared = pipelineCompileCounts(stream.device).sync;
      const ws = r.workspaceSize > 0 ? createBuffer(stream, r.workspaceSize) : null;
      expect(aclnnFusedInferAttentionScoreV2(ws, r.workspaceSize, r.executor, stream)).toBe(ACLNN_SUCCESS);
      expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(ACLNN_SUCCESS);
      // Prepared: the run compiled nothing in the call.
      expect(pipelineCompileCounts(stream.device).sync).toBe(prepared);
      // The kernel tests' comparison (compareCase): the same tolerances as every prefill case.
      const host = await readHostInputs(stream, inputs, built.problem);
      const lse = inputs.softmaxLse ? await readTensor(stream, inputs.softmaxLse) : null;
      const { out, lse: lseCheck } = compareCase(built.spec, built.problem, host, await readTensor(stream, inputs.attentionOut!), lse);
      expect(out.ok, out.message).toBe(true);
      if (lseCheck) expect(lseCheck.ok, lseCheck.message).toBe(true);
    });
  }
});
