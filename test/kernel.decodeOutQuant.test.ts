// Decode with an INT8 attentionOut (SEMANTICS §9): out8 = sat[-128,127](rint(o·quantScale2 + quantOffset2)),
// quantized in the combine pass's store. Compared with attentionReference (float64, then quantized)
// to ±1: the kernel quantizes an f32 o, so a value near a rounding boundary may land one step away.
import { describe, expect, it } from 'vitest';
import type { Stream } from '../src/acl/stream.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import type { DecodePlan } from '../src/kernels/decode.js';
import { attentionReference } from '../src/reference/index.js';
import { buildCase, type CaseSpec, plannedDecodeVariants, repro, runKernel } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

/** The case with an INT8 attentionOut and quantScale2/quantOffset2 (CaseSpec.outQuant). */
async function checkOutQuant(stream: Stream, spec: CaseSpec): Promise<string> {
  const c = buildCase(stream, spec);
  try {
    const host = await readHostInputs(stream, c.inputs, c.problem);
    const got = await runKernel(stream, c, spec);
    const plan = got.plan as DecodePlan;
    const ref = attentionReference(c.problem, host);
    const where = `${repro(spec)} plan ${JSON.stringify({ variant: plan.variant, numSplits: plan.numSplits, direct: plan.direct })}`;
    if (plan.direct) return `INT8 output must go through the combine pass; ${where}`;
    for (let i = 0; i < ref.attentionOut.length; i++) {
      const want = ref.attentionOut[i]!;
      if (!(Math.abs(got.out[i]! - want) <= 1)) return `out[${i}] = ${got.out[i]} vs reference ${want} (B ${spec.batch}); ${where}`;
    }
    if (ref.softmaxLse) {
      const lse = got.lse!;
      for (let i = 0; i < ref.softmaxLse.length; i++) {
        const a = lse[i]!;
        const b = ref.softmaxLse[i]!;
        const ok = a === b || Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
        if (!ok) return `lse[${i}] = ${a} vs reference ${b}; ${where}`;
      }
    }
    return '';
  } finally {
    c.destroy();
  }
}

type OutQuantSpec = NonNullable<CaseSpec['outQuant']>;

const base: CaseSpec = { seed: 11, qSeqLen: 1, batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 40, dtype: 'FLOAT16', layout: 'BSND' };

const CASES: [string, Partial<CaseSpec>, OutQuantSpec][] = [
  ['per-tensor f32 scale, no offset, one split', { numSplits: 1 }, { perChannel: false, offset: false, dtype: 'FLOAT32' }],
  ['per-tensor f32 scale + offset, empty-KV batch (kvLens 0 → sat(rint(offset)))',
    { kvLens: [0, 23, 40], numSplits: 3 }, { perChannel: false, offset: true, dtype: 'FLOAT32' }],
  ['per-channel f32 + offset, BSH, masked-out row',
    { layout: 'BSH', kvLens: [3, 40, 2], mask: { shape: 'B,S', dtype: 'BOOL', density: 0.985 }, numSplits: 2 },
    { perChannel: true, offset: true, dtype: 'FLOAT32' }],
  ['per-channel bf16 scale + offset (bf16 query), BNSD, G 4, empty KV batch',
    { dtype: 'BFLOAT16', layout: 'BNSD', numQoHeads: 8, numKvHeads: 2, kvLens: [17, 0, 40] },
    { perChannel: true, offset: true, dtype: 'BFLOAT16' }],
  ['per-tensor bf16 scale (bf16 query), no offset, D 6 (N·D not a multiple of 4), no lse',
    { dtype: 'BFLOAT16', headDim: 6, numQoHeads: 3, numKvHeads: 1, batch: 1, lse: false },
    { perChannel: false, offset: false, dtype: 'BFLOAT16' }],
  ['per-channel f32 without offset, f16 query, G 2, 4 splits', { numSplits: 4 }, { perChannel: true, offset: false, dtype: 'FLOAT32' }],
];

const VARIANTS = await plannedDecodeVariants();

describe('decode INT8 attentionOut vs reference (±1)', () => {
  for (const variant of VARIANTS) {
    for (const [name, over, q] of CASES) {
      it(`${variant}: ${name}`, async () => {
        const stream = await testStream();
        expect(await checkOutQuant(stream, { ...base, variant, ...over, outDtype: 'INT8', outQuant: q })).toBe('');
      });
    }
  }
});
