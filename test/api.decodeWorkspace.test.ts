// Decode through the two-phase API: the workspace GetWorkspaceSize reports is exactly what the
// kernel uses (run with a buffer of exactly that size), and a smaller one is rejected (161002)
// without touching the outputs.
import { describe, expect, it } from 'vitest';
import { ACLNN_ERR_PARAM_INVALID, ACLNN_SUCCESS } from '../src/acl/status.js';
import { aclrtSynchronizeStream } from '../src/acl/stream.js';
import { createBuffer, readTensor } from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../src/fia/api.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { capsOf } from '../src/kernels/caps.js';
import { layoutDecodeWorkspace, planDecode } from '../src/kernels/decode.js';
import { WorkspaceAllocator } from '../src/kernels/workspace.js';
import { attentionReference, compareOutputs } from '../src/reference/index.js';
import { buildCase, type CaseSpec, OUT_FILL } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import { kernelTensors } from '../src/problem/tensors.js';

const SPECS: [string, Omit<CaseSpec, 'seed'>][] = [
  ['many splits (combine)', { qSeqLen: 1, batch: 1, numQoHeads: 4, numKvHeads: 1, headDim: 32, kvSeqLen: 700, dtype: 'FLOAT16', layout: 'BSND' }],
  ['one split (direct)', { qSeqLen: 1, batch: 2, numQoHeads: 2, numKvHeads: 2, headDim: 16, kvSeqLen: 20, dtype: 'FLOAT32', layout: 'BNSD' }],
];

describe('decode through the API', () => {
  for (const [name, spec] of SPECS) {
    it(`${name}: runs with exactly the reported workspace`, async () => {
      const stream = await testStream();
      const c = buildCase(stream, { ...spec, seed: 11 });
      const r = fiaGetWorkspaceSize(c.inputs);
      expect(r.status).toBe(ACLNN_SUCCESS);
      // The size is the decode layout's count for the plan of this device.
      const tensors = kernelTensors(c.problem, c.inputs);
      const plan = planDecode(c.problem, capsOf(stream.device), {}, tensors);
      const ws = new WorkspaceAllocator();
      layoutDecodeWorkspace(c.problem, plan, ws, tensors);
      expect(r.workspaceSize).toBe(ws.bytes);
      expect(plan.numSplits > 1).toBe(name.startsWith('many'));
      const workspace = createBuffer(stream, r.workspaceSize);
      expect(workspace.size).toBe(r.workspaceSize);
      expect(aclnnFusedInferAttentionScoreV2(workspace, r.workspaceSize, r.executor, stream)).toBe(ACLNN_SUCCESS);
      expect(await aclrtSynchronizeStream(stream)).toBe(ACLNN_SUCCESS);
      const host = await readHostInputs(stream, c.inputs, c.problem);
      const ref = attentionReference(c.problem, host);
      const refLow = attentionReference(c.problem, host, { roundTo: spec.dtype });
      const out = compareOutputs(await readTensor(stream, c.inputs.attentionOut!), ref.attentionOut, refLow.attentionOut, 1e-3);
      expect(out.message).toMatch(/<=/);
      const lse = compareOutputs(await readTensor(stream, c.inputs.softmaxLse!), ref.softmaxLse!, refLow.softmaxLse, 1e-4);
      expect(lse.message).toMatch(/<=/);
    });

    it(`${name}: rejects a smaller workspace`, async () => {
      const stream = await testStream();
      const c = buildCase(stream, { ...spec, seed: 12 });
      const r = fiaGetWorkspaceSize(c.inputs);
      expect(r.status).toBe(ACLNN_SUCCESS);
      expect(r.workspaceSize).toBeGreaterThan(4);
      const small = createBuffer(stream, r.workspaceSize - 4);
      expect(aclnnFusedInferAttentionScoreV2(small, r.workspaceSize - 4, r.executor, stream)).toBe(ACLNN_ERR_PARAM_INVALID);
      // A buffer smaller than the size it claims is rejected too.
      expect(aclnnFusedInferAttentionScoreV2(small, r.workspaceSize, r.executor, stream)).toBe(ACLNN_ERR_PARAM_INVALID);
      expect(await aclrtSynchronizeStream(stream)).toBe(ACLNN_SUCCESS);
      const out = await readTensor(stream, c.inputs.attentionOut!);
      expect(out.every((x) => x === OUT_FILL)).toBe(true);
    });
  }
});
