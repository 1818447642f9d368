// The extensions beyond the operator through the named wrapper (docs/semantics.md, "Extensions
// beyond the operator"): learnableSink, softcap and slidingWindow reach the decode and prefill
// kernels and match the float64 reference (also after a plan without them on the same shapes);
// their validation (161002), an unsupported soft cap (561101) and the unchanged positional
// GetWorkspaceSize.
import { beforeAll, describe, expect, it } from 'vitest';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, AclnnError } from '../src/acl/status.js';
import { aclrtSetDevice, type Stream } from '../src/acl/stream.js';
import { createTensor, readTensor, type Tensor } from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fusedInferAttentionScore, type FusedInferAttentionScoreOptions,
} from '../src/fia/api.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { buildCase, type CaseSpec, compareCase } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

let stream: Stream;

beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
});

const SINKS = [0.5, -2, 4, 1];
const base: CaseSpec = {
  seed: 5, qSeqLen: 1, batch: 2, numQoHeads: 4, numKvHeads: 2, headDim: 8, kvSeqLen: 300, dtype: 'FLOAT16', layout: 'BSH',
  kvLens: [300, 77], qScale: 4,
};

/** The wrapper's options for a built case's inputs: the inputs without the outputs, plus the extensions. */
function optionsOf(x: FiaInputs, ext: Pick<FusedInferAttentionScoreOptions, 'learnableSink' | 'softcap' | 'slidingWindow'>): FusedInferAttentionScoreOptions {
  return {
    query: x.query!, key: x.key!, value: x.value!, actualSeqLengthsKv: x.actualSeqLengthsKv, actualSeqLengths: x.actualSeqLengths,
    numHeads: x.numHeads, scaleValue: x.scaleValue, inputLayout: x.inputLayout as FusedInferAttentionScoreOptions['inputLayout'],
    numKeyValueHeads: x.numKeyValueHeads, softmaxLseFlag: x.softmaxLseFlag,
    attenMask: x.attenMask, sparseMode: x.sparseMode, preTokens: x.preTokens, nextTokens: x.nextTokens, ...ext,
  };
}

/** Runs `spec` through fusedInferAttentionScore; '' when it matches the reference, else why not. */
async function wrapperVsReference(spec: CaseSpec): Promise<string> {
  const c = buildCase(stream, spec);
  try {
    const ext = c.inputs.extensions ?? {};
    const r = await fusedInferAttentionScore(stream, optionsOf(c.inputs, { learnableSink: ext.learnableSink, softcap: ext.softcap, slidingWindow: ext.slidingWindow }));
    const ran: FiaInputs = { ...c.inputs, attentionOut: r.attentionOut, softmaxLse: r.softmaxLse };
    const problem = normalize(ran);
    const host = await readHostInputs(stream, ran, problem);
    const got = { out: await readTensor(stream, r.attentionOut), lse: r.softmaxLse ? await readTensor(stream, r.softmaxLse) : null };
    r.attentionOut.buffer.destroy();
    r.softmaxLse?.buffer.destroy();
    const cmp = compareCase(spec, problem, host, got.out, got.lse);
    if (!cmp.out.ok) return `out: ${cmp.out.message}`;
    if (cmp.lse && !cmp.lse.ok) return `lse: ${cmp.lse.message}`;
    return '';
  } finally {
    c.destroy();
  }
}

/** The wrapper's rejection of `opts` as { status, message }. */
async function rejection(opts: FusedInferAttentionScoreOptions): Promise<{ status: number; message: string }> {
  try {
    await fusedInferAttentionScore(stream, opts);
  } catch (e) {
    if (e instanceof AclnnError) return { status: e.status, message: e.message };
    throw e;
  }
  throw new Error('the call was accepted');
}

describe('extensions through fusedInferAttentionScore (decode)', () => {
  it('without, then with a sink and a soft cap on the same shapes: each matches the reference', async () => {
    // The second call must not reuse the first call's plan (the extensions are part of the plan key).
    expect(await wrapperVsReference(base)).toBe('');
    expect(await wrapperVsReference({ ...base, sink: SINKS, softcap: 1.5 })).toBe('');
  });

  it('a sink alone and a soft cap alone, BNSD f32', async () => {
    const spec: CaseSpec = { ...base, layout: 'BNSD', dtype: 'FLOAT32' };
    expect(await wrapperVsReference({ ...spec, sink: SINKS })).toBe('');
    expect(await wrapperVsReference({ ...spec, softcap: 0.75 })).toBe('');
  });

  it('without, then with sliding windows of 64 and 16 on the same shapes (each its own plan), then with a sink too', async () => {
    expect(await wrapperVsReference(base)).toBe('');
    expect(await wrapperVsReference({ ...base, window: 64 })).toBe('');
    expect(await wrapperVsReference({ ...base, window: 16 })).toBe('');
    expect(await wrapperVsReference({ ...base, window: 16, sink: SINKS })).toBe('');
  });
});

describe('extensions through fusedInferAttentionScore (prefill)', () => {
  const prefill: CaseSpec = { ...base, headDim: 16, qSeqLen: 7, kvSeqLen: 40, kvLens: [40, 13], qLens: [7, 5], sparseMode: 3,
    mask: { shape: 'Q,S', dtype: 'BOOL', density: 0, size2048: true } };
  it('without, then with a sink and a soft cap, causal with ragged lengths: each matches the reference', async () => {
    expect(await wrapperVsReference(prefill)).toBe('');
    expect(await wrapperVsReference({ ...prefill, sink: SINKS, softcap: 1.5 })).toBe('');
  });
  it('a sliding window of 4 with the causal mask, then without a mask (sparseMode 0)', async () => {
    expect(await wrapperVsReference({ ...prefill, window: 4 })).toBe('');
    expect(await wrapperVsReference({ ...prefill, window: 4, sparseMode: 0, mask: null })).toBe('');
  });
});

describe('extension validation and support', () => {
  /** A valid call's options (FLOAT16 BSH, N 4, KV_N 2, D 16), Q_S 1 unless told. */
  function decodeOptions(qSeqLen = 1): FusedInferAttentionScoreOptions {
    const q = createTensor(stream, new Float64Array(2 * qSeqLen * 64), [2, qSeqLen, 64], 'FLOAT16', 'q');
    const k = createTensor(stream, new Float64Array(2 * 16 * 32), [2, 16, 32], 'FLOAT16', 'k');
    const v = createTensor(stream, new Float64Array(2 * 16 * 32), [2, 16, 32], 'FLOAT16', 'v');
    return { query: q, key: k, value: v, numHeads: 4, numKeyValueHeads: 2, inputLayout: 'BSH' };
  }
  const sink = (shape: number[], dtype: 'FLOAT32' | 'FLOAT16' = 'FLOAT32'): Tensor =>
    createTensor(stream, new Float64Array(shape.reduce((a, b) => a * b, 1)), shape, dtype, 'sink');

  it('learnableSink must be FLOAT32 of shape [N]', async () => {
    expect(await rejection({ ...decodeOptions(), learnableSink: sink([4], 'FLOAT16') }))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'learnableSink.dtype=FLOAT16: (port) must be FLOAT32' });
    expect(await rejection({ ...decodeOptions(), learnableSink: sink([2]) }))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'learnableSink.shape=[2]: (port) must be [N] = [4] (one sink per query head)' });
    expect(await rejection({ ...decodeOptions(), learnableSink: sink([1, 4]) }))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'learnableSink.shape=[1,4]: (port) must be [N] = [4] (one sink per query head)' });
  });

  it('softcap must be a finite number ≥ 0', async () => {
    for (const softcap of [-1, NaN, Infinity]) {
      expect(await rejection({ ...decodeOptions(), softcap }))
        .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: `softcap=${softcap}: (port) must be finite and ≥ 0 (0: off)` });
    }
    expect(await rejection({ ...decodeOptions(), softcap: '2' as unknown as number }))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'softcap=2: (port) must be a number' });
  });

  it('slidingWindow must be an integer in [0, INT_MAX]', async () => {
    for (const slidingWindow of [-1, 2.5, NaN, Infinity, 2 ** 31]) {
      expect(await rejection({ ...decodeOptions(), slidingWindow }))
        .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: `slidingWindow=${slidingWindow}: (port) must be an integer in [0, 2147483647] (0: off)` });
    }
    expect(await rejection({ ...decodeOptions(), slidingWindow: '8' as unknown as number }))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'slidingWindow=8: (port) must be a number' });
  });

  it('a soft cap outside f32\'s normal range is not supported (561101)', async () => {
    for (const softcap of [1e-40, 1e39]) {
      const r = await rejection({ ...decodeOptions(), softcap });
      expect(r.status).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
      expect(r.message).toContain(`softcap ${softcap} outside f32's normal range`);
    }
  });

  it('Q_S > 1: a soft cap outside f32\'s normal range is not supported by the prefill kernel either (561101)', async () => {
    const r = await rejection({ ...decodeOptions(3), softcap: 1e39 });
    expect(r.status, r.message).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
    expect(r.message).toContain('softcap 1e+39 outside f32\'s normal range');
  });

  it('a misspelt extension option names the closest one', async () => {
    expect(await rejection({ ...decodeOptions(), softCap: 2 } as FusedInferAttentionScoreOptions))
      .toEqual({ status: ACLNN_ERR_PARAM_INVALID, message: 'softCap=2: unknown option; did you mean softcap?' });
  });

  it('the positional GetWorkspaceSize keeps exactly the operator\'s 39 parameters', () => {
    expect(aclnnFusedInferAttentionScoreV2GetWorkspaceSize.length).toBe(39);
  });
});
