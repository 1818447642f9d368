// Decode with an INT8 attentionOut (SEMANTICS §9): out8 = sat[-128,127](rint(o·quantScale2 + quantOffset2)),
// quantized in the combine pass's store. Compared with attentionReference (float64, then quantized)
// to ±1: the kernel quantizes an f32 o, so a value near a rounding boundary may land one step away.
import { describe, expect, it } from 'vitest';
import type { Stream } from '../src/acl/stream.js';
import { createEmptyTensor, createTensor, readTensor } from '../src/acl/tensor.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import { validate } from '../src/fia/validate.js';
import { attentionReference } from '../src/reference/index.js';
import { buildDecodeCase, mulberry32, runDecode, type DecodeSpec } from './decode-cases.js';
import { testStream } from './helpers/gpu.js';

interface OutQuantSpec {
  /** Per-channel scale shape (N·D elements; any accepted per-channel shape) or per-tensor [1]. */
  perChannel: boolean;
  offset: boolean;
  dtype: 'FLOAT32' | 'BFLOAT16';
}

/** Rounds to bfloat16 (RNE) so host and device hold the same parameter values. */
function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) & 0xffff0000;
  return f[0]!;
}

/** The decode case of `spec` with its attentionOut replaced by INT8 and quantScale2/quantOffset2 added. */
async function checkOutQuant(stream: Stream, spec: DecodeSpec, q: OutQuantSpec, seed: number): Promise<string> {
  const c = buildDecodeCase(stream, spec, seed);
  const { batch: B, numQoHeads: N, headDim: D } = spec;
  const rand = mulberry32(seed + 1000);
  const round = q.dtype === 'BFLOAT16' ? toBf16 : (x: number): number => Math.fround(x);
  const n = q.perChannel ? N * D : 1;
  const shape = q.perChannel ? [N, D] : [1];
  // Scales large enough that |o·scale| reaches the saturation bounds for some elements.
  const scale = Float64Array.from({ length: n }, () => round(40 + rand() * 120));
  const offset = Float64Array.from({ length: n }, () => round((rand() * 2 - 1) * 20));
  const out = c.inputs.attentionOut!;
  c.inputs.attentionOut = createEmptyTensor(stream, out.shape, 'INT8');
  c.inputs.quantScale2 = createTensor(stream, scale, shape, q.dtype);
  c.inputs.quantOffset2 = q.offset ? createTensor(stream, offset, shape, q.dtype) : null;
  validate(c.inputs);
  const built = { inputs: c.inputs, problem: normalize(c.inputs) };
  const host = await readHostInputs(stream, built.inputs, built.problem);
  const got = await runDecode(stream, built, { numSplits: spec.numSplits, variant: spec.variant });
  const ref = attentionReference(built.problem, host);
  const repro = `spec ${JSON.stringify(spec)} quant ${JSON.stringify(q)} seed ${seed} plan ${JSON.stringify({ variant: got.plan.variant, numSplits: got.plan.numSplits, direct: got.plan.direct })}`;
  if (got.plan.direct) return `INT8 output must go through the combine pass; ${repro}`;
  const raw = await readTensor(stream, built.inputs.attentionOut!);
  for (let i = 0; i < ref.attentionOut.length; i++) {
    const want = ref.attentionOut[i]!;
    if (!(Math.abs(raw[i]! - want) <= 1)) return `out[${i}] = ${raw[i]} vs reference ${want} (B ${B}); ${repro}`;
  }
  if (ref.softmaxLse) {
    const lse = got.lse!;
    for (let i = 0; i < ref.softmaxLse.length; i++) {
      const a = lse[i]!;
      const b = ref.softmaxLse[i]!;
      const ok = a === b || Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
      if (!ok) return `lse[${i}] = ${a} vs reference ${b}; ${repro}`;
    }
  }
  return '';
}

const base: DecodeSpec = { batch: 3, numQoHeads: 4, numKvHeads: 2, headDim: 16, kvSeqLen: 40, dtype: 'FLOAT16', layout: 'BSND' };

const CASES: [string, Partial<DecodeSpec>, OutQuantSpec][] = [
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
    { dtype: 'BFLOAT16', headDim: 6, numQoHeads: 3, numKvHeads: 1, batch: 1, softmaxLse: false },
    { perChannel: false, offset: false, dtype: 'BFLOAT16' }],
  ['per-channel f32 without offset, f16 query, G 2, 4 splits', { numSplits: 4 }, { perChannel: true, offset: false, dtype: 'FLOAT32' }],
];

describe('decode INT8 attentionOut vs reference (±1)', () => {
  for (const variant of ['lanes', 'tiles'] as const) {
    for (const [name, over, q] of CASES) {
      it(`${variant}: ${name}`, async () => {
        const stream = await testStream();
        expect(await checkOutQuant(stream, { ...base, variant, ...over }, q, 11)).toBe('');
      });
    }
  }
});
