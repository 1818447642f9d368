// Pairwise feature coverage of both kernels through the public two-phase API, against the float64
// reference: every pair of values of two features below appears in some case, for prefill
// (Q_S > 1) and decode (Q_S == 1), wherever the operator accepts the combination.
//
// - Combinations the operator rejects (161002) are constraints, not cases; each constraint has an
//   example that is asserted to be rejected with 161002, so the model cannot drop a legal pair.
// - Combinations the operator accepts but this port does not compute (561101) are listed in
//   UNSUPPORTED and asserted as 561101 with the reason in the message.
// - Every case runs under a watchdog (WATCHDOG_MS) so a hung GPU case fails instead of hanging.
// - KNOWN_DEFECTS lists cases that fail today because of open kernel defects; they run as
//   `it.fails`, so they turn red once fixed (then delete the entry).
// A failure message ends with a one-line repro: the case JSON (test/helpers/cases.ts CaseSpec).
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, AclnnError } from '../src/acl/status.js';
import type { Stream } from '../src/acl/stream.js';
import { aclCreateTensorList } from '../src/acl/tensor.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { validate } from '../src/fia/validate.js';
import { buildCase, repro } from './helpers/cases.js';
import { testStream } from './helpers/gpu.js';
import {
  allowedPairs, allPairs, brokenRule, CaseRunner, type Constraint, coveredPairs, type Factor, type Row,
} from './helpers/pairwise.js';
import { aqOn, type CaseRequest, caseOf, combined, int4, runThroughApi, separate } from './helpers/pairwiseCases.js';

const WATCHDOG_MS = 30_000;
const SEED = 20260;


// ---------------------------------------------------------------------------------------------
// Factors. Masks: "DTYPE:shape"; the shapes with a leading B are full, the others broadcast.

const PREFILL_FACTORS: Factor[] = [
  { name: 'int8', values: [false, true] },
  { name: 'mask', values: ['none', 'BOOL:B1SS', 'INT8:BSS', 'UINT8:B1SS', 'BOOL:SS', 'UINT8:1SS', 'INT8:11SS'] },
  { name: 'sparse', values: [0, 1, 2, 3, 4] },
  { name: 'pse', values: [false, true] },
  { name: 'paged', values: [false, true] },
  { name: 'prefix', values: [false, true] },
  { name: 'antiquant', values: ['none', 'combined-channel', 'combined-tensor', 'separate-channel', 'separate-token'] },
  { name: 'outQuant', values: ['none', 'tensor', 'channel'] },
  { name: 'lse', values: [false, true] },
  { name: 'pad', values: ['none', 'q', 'kv', 'both'] },
  { name: 'list', values: [false, true] },
  { name: 'ragged', values: [false, true] },
  { name: 'G', values: [1, 2, 4] },
  { name: 'D', values: [64, 32, 48] },
];

const DECODE_FACTORS: Factor[] = [
  { name: 'mask', values: ['none', 'BOOL:B,1,S', 'INT8:B,S', 'UINT8:B,1,1,S', 'BOOL:1,S', 'INT8:1,1,1,S'] },
  { name: 'pse', values: [false, true] },
  { name: 'paged', values: [false, true] },
  { name: 'prefix', values: [false, true] },
  { name: 'antiquant', values: ['none', 'int8-channel', 'int8-tensor', 'int8-token', 'int8-k0v1', 'int4-channel', 'int4-token', 'int8-paged-token'] },
  { name: 'outQuant', values: ['none', 'tensor', 'channel'] },
  { name: 'lse', values: [false, true] },
  { name: 'pad', values: ['none', 'kv'] },
  { name: 'list', values: [false, true] },
  { name: 'ragged', values: [false, true] },
  { name: 'G', values: [1, 2, 4] },
  { name: 'D', values: [64, 128, 48, 72] },
];

// ---------------------------------------------------------------------------------------------
// What the operator rejects (161002), one rule each, with an example row (over NEUTRAL) it rejects.

interface Rule extends Constraint {
  example: Row;
}

/** `reads`: the factors `breaks` reads (default: the example's). */
const rule = (why: string, example: Row, breaks: (r: Row) => boolean, reads: string[] = Object.keys(example)): Rule => ({ why, reads, breaks, example });

const PREFILL_NEUTRAL: Row = {
  int8: false, mask: 'none', sparse: 0, pse: false, paged: false, prefix: false, antiquant: 'none', outQuant: 'none',
  lse: true, pad: 'none', list: false, ragged: false, G: 1, D: 64,
};
const DECODE_NEUTRAL: Row = {
  mask: 'none', pse: false, paged: false, prefix: false, antiquant: 'none', outQuant: 'none', lse: true, pad: 'none',
  list: false, ragged: false, G: 1, D: 64,
};

const PREFILL_RULES: Rule[] = [
  rule('paged KV cannot be used with an INT8 query', { int8: true, paged: true }, (r) => r.int8 === true && r.paged === true),
  rule('a shared prefix cannot be used with an INT8 query', { int8: true, prefix: true }, (r) => r.int8 === true && r.prefix === true),
  rule('antiquant parameters need a FLOAT16/BFLOAT16 query', { int8: true, antiquant: 'combined-tensor' }, (r) => r.int8 === true && aqOn(r)),
  rule('INT8 query, key/value or output needs D % 32 == 0 (Q_S > 1)', { int8: true, D: 48 }, (r) => r.int8 === true && Number(r.D) % 32 !== 0),
  rule('sparseMode 1..4 needs an attenMask', { sparse: 1, mask: 'none' }, (r) => Number(r.sparse) >= 1 && r.mask === 'none'),
  rule('sparseMode 2..4 needs a (2048,2048), (1,2048,2048) or (1,1,2048,2048) mask', { sparse: 2, mask: 'INT8:BSS' },
    (r) => Number(r.sparse) >= 2 && String(r.mask).includes(':B')),
  rule('paged KV cannot use a shared prefix', { paged: true, prefix: true }, (r) => r.paged === true && r.prefix === true),
  rule('paged KV cannot use tensor-list key/value', { paged: true, list: true }, (r) => r.paged === true && r.list === true),
  rule('paged KV cannot use left padding', { paged: true, pad: 'kv' }, (r) => r.paged === true && r.pad !== 'none'),
  rule('paged INT8 key/value need Q_S == 1', { paged: true, antiquant: 'combined-channel' }, (r) => r.paged === true && aqOn(r)),
  rule('a shared prefix cannot be used with tensor-list key/value', { prefix: true, list: true }, (r) => r.prefix === true && r.list === true),
  rule('left padding cannot be used with a shared prefix', { prefix: true, pad: 'q' }, (r) => r.prefix === true && r.pad !== 'none'),
  rule('per-token antiquant cannot be used with a shared prefix (Q_S > 1)', { prefix: true, antiquant: 'separate-token' },
    (r) => r.prefix === true && r.antiquant === 'separate-token'),
  rule('INT8 key/value need D % 32 == 0 (Q_S > 1)', { antiquant: 'combined-tensor', D: 48 }, (r) => aqOn(r) && Number(r.D) % 32 !== 0),
  rule('separate antiquant scales need a BFLOAT16 attentionOut (Q_S > 1)', { antiquant: 'separate-channel', outQuant: 'tensor' },
    (r) => separate(r) && r.outQuant !== 'none'),
  rule('separate antiquant scales: not with tensor-list key/value (Q_S > 1)', { antiquant: 'separate-channel', list: true },
    (r) => separate(r) && r.list === true),
  rule('separate antiquant scales: not with left padding (Q_S > 1)', { antiquant: 'separate-token', pad: 'kv' },
    (r) => separate(r) && r.pad !== 'none'),
  rule('left padding cannot be used with tensor-list key/value', { list: true, pad: 'kv' }, (r) => r.list === true && r.pad !== 'none'),
  rule('INT8 attentionOut needs D % 32 == 0 (Q_S > 1)', { outQuant: 'tensor', D: 48 }, (r) => r.outQuant !== 'none' && Number(r.D) % 32 !== 0),
  rule('per-channel output quantization cannot be used with softmaxLseFlag (Q_S > 1)', { outQuant: 'channel', lse: true },
    (r) => r.outQuant === 'channel' && r.lse === true),
  rule('per-channel output quantization cannot be used with left padding', { outQuant: 'channel', lse: false, pad: 'q' },
    (r) => r.outQuant === 'channel' && r.pad !== 'none', ['outQuant', 'pad']),
];

const DECODE_RULES: Rule[] = [
  rule('paged KV cannot use a shared prefix', { paged: true, prefix: true }, (r) => r.paged === true && r.prefix === true),
  rule('paged KV cannot use tensor-list key/value', { paged: true, list: true }, (r) => r.paged === true && r.list === true),
  rule('paged KV cannot use left padding', { paged: true, pad: 'kv' }, (r) => r.paged === true && r.pad !== 'none'),
  rule('paged KV cannot be INT4', { paged: true, antiquant: 'int4-channel' }, (r) => r.paged === true && int4(r)),
  rule('antiquant modes 4 and 5 need paged KV', { paged: false, antiquant: 'int8-paged-token' },
    (r) => r.paged === false && r.antiquant === 'int8-paged-token'),
  // Mode 4 needs paging, and paging excludes these (the two rules above, transitively).
  rule('antiquant mode 4 needs paged KV, which cannot use a shared prefix', { prefix: true, antiquant: 'int8-paged-token' },
    (r) => r.prefix === true && r.antiquant === 'int8-paged-token'),
  rule('antiquant mode 4 needs paged KV, which cannot use tensor-list key/value', { list: true, antiquant: 'int8-paged-token' },
    (r) => r.list === true && r.antiquant === 'int8-paged-token'),
  rule('antiquant mode 4 needs paged KV, which cannot use left padding', { pad: 'kv', antiquant: 'int8-paged-token' },
    (r) => r.pad !== 'none' && r.antiquant === 'int8-paged-token'),
  rule('a shared prefix cannot be used with tensor-list key/value', { prefix: true, list: true }, (r) => r.prefix === true && r.list === true),
  rule('left padding cannot be used with a shared prefix', { prefix: true, pad: 'kv' }, (r) => r.prefix === true && r.pad !== 'none'),
  rule('left padding cannot be used with tensor-list key/value', { list: true, pad: 'kv' }, (r) => r.list === true && r.pad !== 'none'),
  rule('left padding cannot be used with INT4 key/value', { antiquant: 'int4-token', pad: 'kv' }, (r) => int4(r) && r.pad !== 'none'),
  rule('INT4 key/value need D % 64 == 0', { antiquant: 'int4-channel', D: 48 }, (r) => int4(r) && Number(r.D) % 64 !== 0),
  rule('INT4 key/value write attentionOut in the query dtype (no INT8 output)', { antiquant: 'int4-token', outQuant: 'tensor' },
    (r) => int4(r) && r.outQuant !== 'none'),
  rule('key mode 0 + value mode 1 with INT8 key/value needs a FLOAT16 attentionOut', { antiquant: 'int8-k0v1', outQuant: 'tensor' },
    (r) => r.antiquant === 'int8-k0v1' && r.outQuant !== 'none'),
  rule('pseShift needs D % 16 == 0 (Q_S == 1)', { pse: true, D: 72 }, (r) => r.pse === true && Number(r.D) % 16 !== 0),
  rule('per-channel output quantization cannot be used with left padding', { outQuant: 'channel', pad: 'kv' },
    (r) => r.outQuant === 'channel' && r.pad !== 'none'),
];

// What the operator accepts and this port answers with 561101: listed, and asserted as such.
interface Unsupported extends Rule {
  /** Text the 561101 message must contain. */
  message: string;
}

const PREFILL_UNSUPPORTED: Unsupported[] = [
  { ...rule('tensor-list KV with per-channel combined antiquant (Q_S > 1)', { list: true, antiquant: 'combined-channel' },
    (r) => r.list === true && combined(r)), message: 'tensor-list KV with a shared prefix or antiquant' },
  { ...rule('tensor-list KV with per-tensor combined antiquant (Q_S > 1)', { list: true, antiquant: 'combined-tensor' },
    (r) => r.list === true && combined(r)), message: 'tensor-list KV with a shared prefix or antiquant' },
];
const DECODE_UNSUPPORTED: Unsupported[] = [];

// ---------------------------------------------------------------------------------------------
// Known kernel defects (issue 9): signature → item. Each runs as it.fails; delete an entry when
// its fix lands (the case then passes and it.fails turns red).

const KNOWN_DEFECTS = new Map<string, string>([]);

// ---------------------------------------------------------------------------------------------
// Rows → cases (seeded sizes, layouts, dtypes; small shapes).

const signature = (kernel: string, r: Row, factors: readonly Factor[]): string =>
  `${kernel} ${factors.map((f) => `${f.name}=${String(r[f.name])}`).join(' ')}`;

// ---------------------------------------------------------------------------------------------

interface Suite {
  kernel: 'prefill' | 'decode';
  factors: Factor[];
  rules: Rule[];
  unsupported: Unsupported[];
  neutral: Row;
  /**
   * Rows also run with the device's default plan (the pairwise rows use small, fast-compiling
   * tiles): the first row `pick` accepts, for combinations with a known default-plan defect.
   */
  defaultPlanProbes: { why: string; pick: (r: Row) => boolean; sizes?: { Qs: number; KVs: number } }[];
}

const SUITES: Suite[] = [
  { kernel: 'decode', factors: DECODE_FACTORS, rules: DECODE_RULES, unsupported: DECODE_UNSUPPORTED, neutral: DECODE_NEUTRAL, defaultPlanProbes: [] },
  {
    kernel: 'prefill', factors: PREFILL_FACTORS, rules: PREFILL_RULES, unsupported: PREFILL_UNSUPPORTED, neutral: PREFILL_NEUTRAL,
    defaultPlanProbes: [
      // The sizes of the issue's report: Q_S 32, KV_S 48.
      {
        why: 'INT8 query/key/value with an attenMask (issue 9 item 1)', sizes: { Qs: 32, KVs: 48 },
        pick: (r) => r.int8 === true && String(r.mask).startsWith('BOOL:B') && r.sparse === 0 && r.D === 32,
      },
    ],
  },
];

/**
 * The operator inputs of a row. The builder expresses paged KV and tensor lists separately, so a
 * row with both (a rule example only) is built paged and its cache listed once per batch.
 */
function inputsOf(stream: Stream, s: Suite, row: Row, seed: number): { inputs: FiaInputs; repro: string; destroy: () => void } {
  const both = row.paged === true && row.list === true;
  // Likewise mode-4 scales without paging: built paged, then the blockTable is dropped.
  const unpaged = row.paged === false && row.antiquant === 'int8-paged-token';
  const r = both ? { ...row, list: false } : unpaged ? { ...row, paged: true, list: false, pad: 'none' } : row;
  const c = caseOf({ kernel: s.kernel, row: r, seed });
  // Unvalidated: the callers validate (or call the API on) the final inputs.
  const built = buildCase(stream, c, false);
  const out = { inputs: built.inputs, repro: `repro: ${repro(c)}`, destroy: built.destroy };
  if (both) {
    const { key, value } = out.inputs;
    out.inputs.key = aclCreateTensorList([key!.tensors[0]!, key!.tensors[0]!]);
    out.inputs.value = aclCreateTensorList([value!.tensors[0]!, value!.tensors[0]!]);
  }
  if (unpaged) out.inputs.blockTable = null;
  return out;
}

const runner = new CaseRunner(fileURLToPath(new URL('./helpers/pairwiseChild.mjs', import.meta.url)));
afterAll(() => runner.kill());

const caseSeed = (s: Suite, index: number): number => SEED * 1000 + (s.kernel === 'prefill' ? 500 : 0) + index;

for (const s of SUITES) {
  const generated = allPairs(s.factors, [...s.rules, ...s.unsupported], SEED);

  describe(`${s.kernel}: pairwise feature coverage vs reference`, () => {
    it(`the ${generated.rows.length} cases cover all ${generated.pairs} allowed pairs, and break no rule`, () => {
      expect(generated.infeasible).toEqual([]);
      const covered = coveredPairs(s.factors, generated.rows);
      const missing = allowedPairs(s.factors, [...s.rules, ...s.unsupported]).filter((p) => !covered.has(p));
      expect(missing).toEqual([]);
      for (const r of generated.rows) expect(brokenRule([...s.rules, ...s.unsupported], r)?.why ?? null).toBeNull();
    });

    it('each rejection rule is the operator\'s: its example is rejected with 161002', async () => {
      const stream = await testStream();
      const wrong: string[] = [];
      s.rules.forEach((rl, i) => {
        const row = { ...s.neutral, ...rl.example };
        let status = 0;
        let message = '';
        let built: { inputs: FiaInputs; repro: string; destroy: () => void } | null = null;
        try {
          built = inputsOf(stream, s, row, caseSeed(s, 900 + i));
          validate(built.inputs);
        } catch (e) {
          if (!(e instanceof AclnnError)) throw e;
          status = e.status;
          message = e.message;
        } finally {
          built?.destroy();
        }
        if (status !== ACLNN_ERR_PARAM_INVALID) wrong.push(`${rl.why}: ${JSON.stringify(rl.example)} → ${status} ${message}`);
      });
      expect(wrong.join('\n')).toBe('');
    });

    for (const [i, u] of s.unsupported.entries()) {
      it(`561101: ${u.why}`, async () => {
        const stream = await testStream();
        const row = { ...s.neutral, ...u.example };
        expect(brokenRule(s.rules, row)).toBeNull();
        const built = inputsOf(stream, s, row, caseSeed(s, 800 + i));
        try {
          // Refused at GetWorkspaceSize: nothing is compiled or dispatched.
          const api = await runThroughApi(stream, built.inputs);
          expect(api.status, `${api.message} | ${built.repro}`).toBe(ACLNN_ERR_INNER_NOT_SUPPORTED);
          expect(api.phase).toBe('GetWorkspaceSize');
          expect(api.message).toContain(u.message);
        } finally {
          built.destroy();
        }
      });
    }

    const cases: { name: string; request: CaseRequest }[] = generated.rows.map((row, index) => (
      { name: signature(s.kernel, row, s.factors), request: { kernel: s.kernel, row, seed: caseSeed(s, index) } }));
    for (const probe of s.defaultPlanProbes) {
      const index = generated.rows.findIndex(probe.pick);
      if (index < 0) continue;
      const request: CaseRequest = { ...cases[index]!.request, defaultPlan: true, sizes: probe.sizes };
      const sizes = probe.sizes ? ` Q_S ${probe.sizes.Qs} KV_S ${probe.sizes.KVs}` : '';
      cases.push({ name: `${cases[index]!.name} [default plan${sizes}]`, request });
    }
    for (const { name, request } of cases) {
      const known = KNOWN_DEFECTS.get(name);
      const test = known ? it.fails : it;
      test(`${known ? `[known defect: ${known}] ` : ''}${name}`, async () => {
        const msg = await runner.run(request, WATCHDOG_MS, `${name} | repro: ${repro(caseOf(request))}`);
        expect(msg === '', msg).toBe(true);
      }, WATCHDOG_MS + 150_000);
    }
  });
}
