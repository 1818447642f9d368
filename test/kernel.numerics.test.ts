// NaN and Inf (docs/numerics.md): excluded columns (mask, band, causal bound, beyond the actual
// lengths, invalid paged blocks) contribute nothing whatever their data; NaN in kept data (query,
// attended keys, values, pse) reaches the outputs as in the float64 reference. Both kernels, every
// decode variant (lanes with and without subgroups, tiles; one split and several + combine).
import { describe, expect, it } from 'vitest';
import type { Stream } from '../src/acl/stream.js';
import { aclCreateIntArray, aclCreateTensorList, createTensor, type Tensor } from '../src/acl/tensor.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import type { DecodePlan } from '../src/kernels/decode.js';
import type { PrefillPlan, PrefillTune } from '../src/kernels/prefill.js';
import { normalize } from '../src/fia/normalize.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { attentionReference, compareOutputs } from '../src/reference/index.js';
import { type KernelRun, mulberry32, type PlanChoices, plannedDecodeVariants, randomValues, runKernel } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';

const f32 = (stream: Stream, v: ArrayLike<number>, shape: number[], label: string): Tensor =>
  createTensor(stream, Float64Array.from(v), shape, 'FLOAT32', label);

interface Case {
  B: number; N: number; S: number; KVS: number; D: number;
  q: Float64Array; k: Float64Array; v: Float64Array;
  /** BOOL attenMask values (1 excludes) and shape, or null. */
  mask?: { values: number[]; shape: number[] } | null;
  pse?: Float64Array | null;
  sparseMode?: number;
  kvLens?: number[] | null;
  qLens?: number[] | null;
}

/** BNSD FLOAT32 inputs with garbage in the outputs (every element must be written). */
function inputsOf(stream: Stream, c: Case): FiaInputs {
  const { B, N, S, KVS, D } = c;
  return {
    query: f32(stream, c.q, [B, N, S, D], 'query'),
    key: aclCreateTensorList([f32(stream, c.k, [B, N, KVS, D], 'key')]),
    value: aclCreateTensorList([f32(stream, c.v, [B, N, KVS, D], 'value')]),
    pseShift: c.pse ? f32(stream, c.pse, [B, N, S, KVS], 'pse') : null,
    attenMask: c.mask ? createTensor(stream, Float64Array.from(c.mask.values), c.mask.shape, 'BOOL', 'mask') : null,
    blockTable: null, blockSize: 0, actualSeqLengths: c.qLens ? aclCreateIntArray(c.qLens) : null,
    actualSeqLengthsKv: c.kvLens ? aclCreateIntArray(c.kvLens) : null,
    queryPaddingSize: null, kvPaddingSize: null,
    numHeads: N, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647,
    inputLayout: 'BNSD', numKeyValueHeads: N, sparseMode: c.sparseMode ?? 0, innerPrecise: 1,
    antiquantMode: 0, softmaxLseFlag: true, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: f32(stream, new Float64Array(B * N * S * D).fill(123), [B, N, S, D], 'out'),
    softmaxLse: f32(stream, new Float64Array(B * N * S).fill(-77), [B, N, S, 1], 'lse'),
  } as FiaInputs;
}

/** The kernel for `inputs` (prefill or decode by Q_S) with the plan choices given, run directly. */
const runKernelOn = (stream: Stream, inputs: FiaInputs, choices: PlanChoices = {}): Promise<KernelRun> =>
  runKernel(stream, { inputs, problem: normalize(inputs) }, choices);

/** Kernel outputs vs the float64 reference: NaN where it is NaN, close elsewhere. */
async function expectReference(stream: Stream, inputs: FiaInputs, got: { out: Float64Array; lse: Float64Array | null }): Promise<{ ref: Float64Array; refLse: Float64Array }> {
  const problem = normalize(inputs);
  const ref = attentionReference(problem, await readHostInputs(stream, inputs, problem));
  const o = compareOutputs(got.out, ref.attentionOut, null, 1e-5);
  expect(o.ok, `out: ${o.message}`).toBe(true);
  const l = compareOutputs(got.lse!, ref.softmaxLse!, null, 1e-5);
  expect(l.ok, `lse: ${l.message}`).toBe(true);
  return { ref: ref.attentionOut, refLse: ref.softmaxLse! };
}

const random = (seed: number, n: number): Float64Array => randomValues(mulberry32(seed), n, 'FLOAT32');

const VARIANTS = await plannedDecodeVariants();
const DECODE_PATHS = ([
  { name: 'lanes, subgroup merge where the device has it', opts: { variant: 'lanes', numSplits: 1 } },
  { name: 'lanes, workgroup-memory merge', opts: { variant: 'lanes', noSubgroups: true, numSplits: 1 } },
  { name: 'tiles', opts: { variant: 'tiles', numSplits: 1 } },
  { name: 'lanes, 2 splits + combine', opts: { variant: 'lanes', numSplits: 2 } },
  { name: 'tiles, 2 splits + combine', opts: { variant: 'tiles', numSplits: 2 } },
  { name: 'quick', opts: { variant: 'quick', numSplits: 1 } },
  { name: 'quick, 2 splits + combine', opts: { variant: 'quick', numSplits: 2 } },
] satisfies { name: string; opts: PlanChoices }[]).filter((p) => VARIANTS.includes(p.opts.variant));

describe('decode: NaN/Inf in excluded columns contribute nothing, NaN in kept data propagates', () => {
  const base = { B: 1, N: 1, S: 1, KVS: 2, D: 4 };
  const q = Float64Array.of(0.5, -1, 0.25, 2);
  const k = Float64Array.of(1, 0, -1, 0.5, 0.25, 1, 2, -1);
  for (const { name, opts } of DECODE_PATHS) {
    it(`${name}: V = [[1,2,3,4],[NaN,0,0,0]], mask [0,1] → out [1,2,3,4]`, async () => {
      const stream = await testStream();
      const inputs = inputsOf(stream, { ...base, q, k, v: Float64Array.of(1, 2, 3, 4, NaN, 0, 0, 0), mask: { values: [0, 1], shape: [1, 1, 1, 2] } });
      const got = await runKernelOn(stream, inputs, opts);
      expect(Array.from(got.out)).toEqual([1, 2, 3, 4]);
      await expectReference(stream, inputs, got);
    });
    it(`${name}: Inf and NaN in a masked key and value, NaN pse there`, async () => {
      const stream = await testStream();
      const inputs = inputsOf(stream, {
        ...base, q, k: Float64Array.of(1, 0, -1, 0.5, NaN, Infinity, 2, -1), v: Float64Array.of(1, 2, 3, 4, NaN, Infinity, -Infinity, 0),
        mask: { values: [0, 1], shape: [1, 1, 1, 2] }, pse: Float64Array.of(0.5, NaN),
      });
      const got = await runKernelOn(stream, inputs, opts);
      expect(Array.from(got.out)).toEqual([1, 2, 3, 4]);
      await expectReference(stream, inputs, got);
    });
    it(`${name}: NaN in the query → out and lse NaN`, async () => {
      const stream = await testStream();
      const inputs = inputsOf(stream, { ...base, q: Float64Array.of(0.5, NaN, 0.25, 2), k, v: Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
      const got = await runKernelOn(stream, inputs, opts);
      expect(Array.from(got.out).every(Number.isNaN), `out ${Array.from(got.out)}`).toBe(true);
      expect(got.lse![0]).toBeNaN();
      await expectReference(stream, inputs, got);
    });
    it(`${name}: NaN in an attended key → NaN; NaN in an attended value → NaN in that element only`, async () => {
      const stream = await testStream();
      const keyNan = inputsOf(stream, { ...base, q, k: Float64Array.of(1, 0, -1, 0.5, 0.25, NaN, 2, -1), v: Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
      const a = await runKernelOn(stream, keyNan, opts);
      expect(Array.from(a.out).every(Number.isNaN), `out ${Array.from(a.out)}`).toBe(true);
      expect(a.lse![0]).toBeNaN();
      await expectReference(stream, keyNan, a);
      const valueNan = inputsOf(stream, { ...base, q, k, v: Float64Array.of(1, 2, 3, 4, NaN, 6, 7, 8) });
      const b = await runKernelOn(stream, valueNan, opts);
      expect(b.out[0]).toBeNaN();
      expect(Array.from(b.out.slice(1)).every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(b.lse![0]!)).toBe(true);
      await expectReference(stream, valueNan, b);
    });
  }

  it('300 columns, NaN/Inf values at masked and beyond-length columns, several splits by default', async () => {
    const stream = await testStream();
    const B = 2;
    const N = 2;
    const KVS = 300;
    const D = 8;
    const v = random(3, B * N * KVS * D);
    const k = random(4, B * N * KVS * D);
    const mask = Array.from({ length: B * KVS }, (_, i) => (i % 7 === 3 ? 1 : 0));
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < KVS; c++) {
          const i = ((b * N + n) * KVS + c) * D;
          // Masked columns and columns at or past kvLens (250) hold NaN / Inf.
          if (mask[b * KVS + c] || c >= 250) { v[i] = NaN; v[i + 1] = Infinity; k[i + 2] = NaN; }
        }
      }
    }
    const inputs = inputsOf(stream, { B, N, S: 1, KVS, D, q: random(5, B * N * D), k, v, mask: { values: mask, shape: [B, 1, 1, KVS] }, kvLens: [250, 250] });
    for (const opts of [{}, { variant: 'tiles' as const }]) {
      const got = await runKernelOn(stream, inputs, opts);
      expect((got.plan as DecodePlan).numSplits).toBeGreaterThan(1);
      expect(Array.from(got.out).every(Number.isFinite), 'finite out').toBe(true);
      await expectReference(stream, inputs, got);
    }
  });
});

// The planned body (blocked on the software adapters) and the cooperative one, with its softmax
// step on subgroups (where the device has them) and without.
const PREFILL_BODIES: { name: string; tune?: PrefillTune }[] = [
  { name: 'planned body' }, { name: 'coop, subgroups', tune: { variant: 'coop' } }, { name: 'coop, no subgroups', tune: { variant: 'coop', noSubgroups: true } },
];

for (const body of PREFILL_BODIES) describe(`prefill (${body.name}): NaN/Inf in excluded columns contribute nothing, NaN in kept data propagates`, () => {
  const S = 5;
  const D = 8;
  const causalMask = { values: Array.from({ length: S * S }, (_, i) => (i % S > Math.floor(i / S) ? 1 : 0)), shape: [S, S] };

  it('causal (sparseMode 3): NaN in the last position\'s V leaves the earlier rows finite', async () => {
    const stream = await testStream();
    const v = random(7, S * D);
    for (let d = 0; d < D; d++) v[(S - 1) * D + d] = NaN;
    const inputs = inputsOf(stream, { B: 1, N: 1, S, KVS: S, D, q: random(8, S * D), k: random(9, S * D), v, mask: causalMask, sparseMode: 3 });
    const got = await runKernelOn(stream, inputs, { tune: body.tune });
    expect(Array.from(got.out.slice(0, (S - 1) * D)).every(Number.isFinite), `rows 0..${S - 2} finite`).toBe(true);
    expect(Array.from(got.out.slice((S - 1) * D)).every(Number.isNaN), 'last row NaN').toBe(true);
    await expectReference(stream, inputs, got);
  });

  it('mask: NaN/Inf keys, values and pse at masked columns are ignored; NaN query row and attended NaN key give NaN rows', async () => {
    const stream = await testStream();
    const KVS = 40;
    const N = 2;
    const q = random(10, N * S * D);
    const k = random(11, N * KVS * D);
    const v = random(12, N * KVS * D);
    const pse = random(13, N * S * KVS);
    // Column 5 is masked for every row: poison it everywhere.
    const mask = Array.from({ length: S * KVS }, (_, i) => (i % KVS === 5 || (i * 7) % 11 === 0 ? 1 : 0));
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) { k[(n * KVS + 5) * D + d] = NaN; v[(n * KVS + 5) * D + d] = d % 2 ? Infinity : NaN; }
      for (let r = 0; r < S; r++) pse[(n * S + r) * KVS + 5] = NaN;
    }
    for (let d = 0; d < D; d++) q[(1 * S + 2) * D + d] = d === 3 ? NaN : q[(1 * S + 2) * D + d]!;   // head 1, row 2
    k[(0 * KVS + 20) * D + 1] = NaN;   // head 0, column 20: attended by rows whose mask keeps it
    const inputs = inputsOf(stream, { B: 1, N, S, KVS, D, q, k, v, pse, mask: { values: mask, shape: [S, KVS] }, sparseMode: 1 });
    const got = await runKernelOn(stream, inputs, { tune: body.tune });
    const { ref } = await expectReference(stream, inputs, got);
    // The case exercises both outcomes: some NaN rows, some finite ones.
    expect(ref.some(Number.isNaN) && ref.some(Number.isFinite)).toBe(true);
  });

  it('rows outside the query window (actualSeqLengths) stay 0 / +Inf when kept values hold NaN and Inf', async () => {
    const stream = await testStream();
    const KVS = 6;
    const v = random(17, KVS * D);
    v[2 * D + 1] = NaN;
    v[4 * D + 3] = Infinity;
    const inputs = inputsOf(stream, { B: 1, N: 1, S, KVS, D, q: random(18, S * D), k: random(19, KVS * D), v, qLens: [3] });
    const got = await runKernelOn(stream, inputs, { tune: body.tune });
    expect(Array.from(got.out.slice(3 * D))).toEqual(new Array<number>((S - 3) * D).fill(0));
    expect(Array.from(got.lse!.slice(3))).toEqual([Infinity, Infinity]);
    await expectReference(stream, inputs, got);
  });

  it('a row whose kept pse scores are all -Inf is NaN (0/0), a row with one -Inf column ignores it', async () => {
    const stream = await testStream();
    const KVS = 3;
    const pse = new Float64Array(S * KVS);
    for (let c = 0; c < KVS; c++) pse[0 * KVS + c] = -Infinity;   // row 0: every column -Inf
    pse[1 * KVS + 2] = -Infinity;                                  // row 1: one column
    const inputs = inputsOf(stream, { B: 1, N: 1, S, KVS, D, q: random(14, S * D), k: random(15, KVS * D), v: random(16, KVS * D), pse });
    const got = await runKernelOn(stream, inputs, { tune: body.tune });
    expect(Array.from(got.out.slice(0, D)).every(Number.isNaN)).toBe(true);
    expect(Array.from(got.out.slice(D)).every(Number.isFinite)).toBe(true);
    await expectReference(stream, inputs, got);
  });
});

describe('split partials: a split whose kept scores are all -Inf holds no mass; the row is NaN only when no split has any', () => {
  // Two KV splits of 300 columns (decode: 150 each; prefill: 160, whole 32-column tiles). Row 0:
  // pse -Inf on columns [0, 160), the whole first split → finite; row 1: -Inf everywhere → NaN;
  // row 2: no -Inf.
  const KVS = 300;
  const D = 8;
  const pseRows = (rows: number[]): Float64Array => {
    const pse = new Float64Array(rows.length * KVS);
    rows.forEach((kind, r) => {
      for (let c = 0; c < KVS; c++) if ((kind === 0 && c < 160) || kind === 1) pse[r * KVS + c] = -Infinity;
    });
    return pse;
  };
  const expectRows = (out: Float64Array, kinds: number[]): void => {
    kinds.forEach((kind, r) => {
      const row = Array.from(out.slice(r * D, (r + 1) * D));
      expect(row.every(kind === 1 ? Number.isNaN : Number.isFinite), `row ${r}: ${row}`).toBe(true);
    });
  };
  for (const { name, opts } of DECODE_PATHS.filter((p) => p.opts.numSplits === 2)) {
    it(`decode ${name}`, async () => {
      const stream = await testStream();
      for (const kind of [0, 1]) {
        const inputs = inputsOf(stream, { B: 1, N: 1, S: 1, KVS, D, q: random(30, D), k: random(31, KVS * D), v: random(32, KVS * D), pse: pseRows([kind]) });
        const got = await runKernelOn(stream, inputs, opts);
        expect((got.plan as DecodePlan).numSplits).toBe(2);
        expectRows(got.out, [kind]);
        await expectReference(stream, inputs, got);
      }
    });
  }
  for (const variant of ['blocked', 'quick', 'coop'] as const) {
    it(`prefill ${variant}, 2 splits + combine`, async () => {
      const stream = await testStream();
      const kinds = [0, 1, 2];
      const inputs = inputsOf(stream, { B: 1, N: 1, S: 3, KVS, D, q: random(33, 3 * D), k: random(34, KVS * D), v: random(35, KVS * D), pse: pseRows(kinds) });
      const got = await runKernelOn(stream, inputs, { tune: { variant, numSplits: 2 } });
      expect((got.plan as PrefillPlan).numSplits).toBe(2);
      expectRows(got.out, kinds);
      await expectReference(stream, inputs, got);
    });
  }
});
