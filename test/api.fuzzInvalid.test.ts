// Seeded fuzz of invalid calls (more than 10,000 per run) through both entry points and the second
// phase, on real device buffers: GetWorkspaceSize never throws, the named wrapper rejects only with
// AclnnError, aclnnFusedInferAttentionScoreV2 never throws; every status is 161001, 161002 or 561101
// with a message that starts with the parameter it names; and no caller buffer changes by a byte
// (read back once at the end), with nothing left for aclrtSynchronizeStream to report.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, AclnnError, aclGetRecentErrMsg,
} from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, type Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createTensor, readBufferBytes, type Tensor,
} from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize, fusedInferAttentionScore, type FusedInferAttentionScoreOptions,
  type GetWorkspaceSizeResult,
} from '../src/fia/api.js';
import { WORKSPACE_USAGE } from '../src/fia/executor.js';
import { type FiaInputs, INT_MAX } from '../src/problem/problem.js';
import { mulberry32 } from '../src/reference/random.js';
import { testStream } from './helpers/gpu.js';

const SEED = 0x5eed_0009;
const GWS_CALLS = 4000;
const WRAPPER_CALLS = 4000;
const RUN_CALLS = 2500;

const ALLOWED = [ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_INNER_NOT_SUPPORTED];

const TENSOR_FIELDS = [
  'query', 'pseShift', 'attenMask', 'deqScale1', 'quantScale1', 'deqScale2', 'quantScale2', 'quantOffset2',
  'antiquantScale', 'antiquantOffset', 'blockTable', 'queryPaddingSize', 'kvPaddingSize', 'keyAntiquantScale',
  'keyAntiquantOffset', 'valueAntiquantScale', 'valueAntiquantOffset', 'keySharedPrefix', 'valueSharedPrefix',
  'attentionOut',
] as const;
const INT_FIELDS = [
  'numHeads', 'preTokens', 'nextTokens', 'numKeyValueHeads', 'sparseMode', 'innerPrecise', 'blockSize', 'antiquantMode',
  'keyAntiquantMode', 'valueAntiquantMode',
] as const;
const ARRAY_FIELDS = ['actualSeqLengths', 'actualSeqLengthsKv', 'actualSharedPrefixLen'] as const;
const TYPOS = ['scalValue', 'sparsemode', 'numHead', 'Query', 'blocksize', 'attenmask', 'actualSeqLenKv', 'inputlayout'];
/** Names a message may start with: every parameter, the second phase's arguments, the wrapper's own. */
const NAMES = new Set<string>([
  ...TENSOR_FIELDS, ...INT_FIELDS, ...ARRAY_FIELDS, 'key', 'value', 'scaleValue', 'inputLayout', 'softmaxLseFlag',
  'softmaxLse', 'workspace', 'workspaceSize', 'executor', 'stream', 'encoder', 'opts', 'outDtype', ...TYPOS,
]);

let stream: Stream;

interface Base {
  name: string;
  inputs: FiaInputs;
  opts: FusedInferAttentionScoreOptions;
  planned: GetWorkspaceSizeResult;
  workspace: GPUBuffer | null;
}
const bases: Base[] = [];
/** Every caller buffer and its bytes before the fuzz. */
const callerBuffers: { buffer: GPUBuffer; before: Uint8Array }[] = [];

function vals(rand: () => number, n: number): number[] {
  return Array.from({ length: n }, () => rand() * 2 - 1);
}

function makeBase(name: string, rand: () => number, layout: 'BNSD' | 'BSH', qShape: number[], kShape: number[], N: number, KV_N: number, mask: Tensor | null): Base {
  const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const query = createTensor(stream, vals(rand, numel(qShape)), qShape, 'FLOAT16', `${name}.q`);
  const key = createTensor(stream, vals(rand, numel(kShape)), kShape, 'FLOAT16', `${name}.k`);
  const value = createTensor(stream, vals(rand, numel(kShape)), kShape, 'FLOAT16', `${name}.v`);
  const out = createTensor(stream, vals(rand, numel(qShape)), qShape, 'FLOAT16', `${name}.out`);
  const inputs: FiaInputs = {
    query, key: aclCreateTensorList([key]), value: aclCreateTensorList([value]), attenMask: mask,
    actualSeqLengthsKv: aclCreateIntArray([20]),
    numHeads: N, scaleValue: 0.25, preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: layout,
    numKeyValueHeads: KV_N === N ? 0 : KV_N, sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0,
    softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: out, softmaxLse: null,
  };
  const opts: FusedInferAttentionScoreOptions = {
    query, key, value, attenMask: mask, actualSeqLengthsKv: [20], numHeads: N, numKeyValueHeads: KV_N,
    scaleValue: 0.25, inputLayout: layout,
  };
  const planned = fiaGetWorkspaceSize(inputs);
  expect(planned.status, `${name}: ${aclGetRecentErrMsg()}`).toBe(0);
  const workspace = planned.workspaceSize > 0
    ? stream.device.createBuffer({ size: planned.workspaceSize, usage: WORKSPACE_USAGE, label: `${name}.ws` })
    : null;
  for (const t of [query, key, value, out, mask]) if (t) callerBuffers.push({ buffer: t.buffer, before: new Uint8Array() });
  return { name, inputs, opts, planned, workspace };
}

beforeAll(async () => {
  stream = await testStream();
  aclrtSetDevice(stream.device);
  const rand = mulberry32(SEED ^ 0xabc);
  const decodeMask = createTensor(stream, Array.from({ length: 2 * 32 }, () => (rand() < 0.3 ? 1 : 0)), [2, 1, 1, 32], 'BOOL', 'mask');
  bases.push(makeBase('decode', rand, 'BNSD', [2, 4, 1, 16], [2, 2, 32, 16], 4, 2, decodeMask));
  bases.push(makeBase('prefill', rand, 'BSH', [1, 16, 32], [1, 32, 32], 2, 2, null));
  for (const c of callerBuffers) c.before = await readBufferBytes(stream, c.buffer, c.buffer.size);
});

type Rand = () => number;
const pick = <V>(rand: Rand, xs: readonly V[]): V => xs[Math.floor(rand() * xs.length)]!;

/** A tensor argument that no rule accepts, derived from a valid tensor `t`. */
function badTensor(rand: Rand, t: Tensor): unknown {
  switch (Math.floor(rand() * 11)) {
    case 0: return { ...t, buffer: { size: 1 << 20, usage: 0x8c, label: 'lookalike' } };
    case 1: return { ...t, shape: t.shape.map((d) => BigInt(d)) };
    case 2: return { ...t, shape: [-1, ...t.shape.slice(1)] };
    case 3: return { ...t, dtype: pick(rand, ['FLOAT8', 'float16', '', 7]) };
    case 4: return { ...t, offset: t.buffer.size };
    case 5: return { ...t, strides: t.strides.slice(1) };
    case 6: return { ...t, format: 'NZ' };
    case 7: return pick(rand, [5, 'tensor', true, Symbol('t'), 3n]);
    case 8: return { ...t, shape: 'x' };
    case 9: return { ...t, offset: 0.5 };
    default: return { ...t, buffer: null };
  }
}

function badList(rand: Rand, t: Tensor): unknown {
  switch (Math.floor(rand() * 6)) {
    case 0: return aclCreateTensorList([]);
    case 1: return aclCreateTensorList([t, null]);
    case 2: return 7;
    case 3: return { kind: 'tensorList', tensors: 'x' };
    case 4: return rand() < 0.02 ? aclCreateTensorList(new Array<Tensor>(200_000).fill(t)) : aclCreateTensorList([t, t, t]);
    default: return aclCreateTensorList([badTensor(rand, t) as Tensor]);
  }
}

const BAD_INT = [1.5, NaN, '2', 2n, {}, Infinity, true, -Infinity];
const BAD_ARRAY_VALUES = [[1.5], [2n], ['3'], [NaN]];

/** Mutates a two-phase FiaInputs with one invalid change; returns its description. */
function mutateInputs(rand: Rand, x: Record<string, unknown>, base: Base): string {
  const q = base.inputs.query!;
  switch (Math.floor(rand() * 9)) {
    case 0: case 1: {
      const f = pick(rand, TENSOR_FIELDS);
      x[f] = badTensor(rand, (base.inputs[f] as Tensor | null | undefined) ?? q);
      return f;
    }
    case 2: {
      const f = pick(rand, ['key', 'value'] as const);
      x[f] = badList(rand, base.inputs[f]!.tensors[0]!);
      return f;
    }
    case 3: {
      const f = pick(rand, INT_FIELDS);
      x[f] = pick(rand, [...BAD_INT, null, undefined]);
      return f;
    }
    case 4: {
      const f = pick(rand, ARRAY_FIELDS);
      x[f] = rand() < 0.5 ? aclCreateIntArray(pick(rand, BAD_ARRAY_VALUES) as number[]) : pick(rand, [5, 'x', { kind: 'intArray', values: 'x' }]);
      return f;
    }
    case 5: x.scaleValue = pick(rand, ['1', 1n, {}, true, null]); return 'scaleValue';
    case 6: x.inputLayout = pick(rand, ['TND', '', 'bnsd', 5, {}, null]); return 'inputLayout';
    case 7: x.softmaxLseFlag = pick(rand, [1, 'true', {}, null, true]); return 'softmaxLseFlag';
    default: {
      const f = pick(rand, ['query', 'key', 'value', 'attentionOut'] as const);
      x[f] = pick(rand, [null, undefined]);
      return f;
    }
  }
}

/** Mutates named options with one invalid change (defaults make null/undefined valid there). */
function mutateOptions(rand: Rand, o: Record<string, unknown>, base: Base): string {
  const q = base.inputs.query!;
  switch (Math.floor(rand() * 9)) {
    case 0: case 1: {
      const f = pick(rand, TENSOR_FIELDS.filter((n) => n !== 'attentionOut'));
      o[f] = badTensor(rand, (base.inputs[f] as Tensor | null | undefined) ?? q);
      return f;
    }
    case 2: {
      const f = pick(rand, ['key', 'value'] as const);
      o[f] = rand() < 0.5 ? badTensor(rand, base.inputs[f]!.tensors[0]!) : badList(rand, base.inputs[f]!.tensors[0]!);
      return f;
    }
    case 3: {
      const f = pick(rand, INT_FIELDS);
      o[f] = pick(rand, BAD_INT);
      return f;
    }
    case 4: {
      const f = pick(rand, ARRAY_FIELDS);
      o[f] = rand() < 0.5 ? pick(rand, BAD_ARRAY_VALUES) : pick(rand, [5, 'x']);
      return f;
    }
    case 5: o.scaleValue = pick(rand, ['1', 1n, {}, true]); return 'scaleValue';
    case 6: o.inputLayout = pick(rand, ['TND', '', 'bnsd', 5, {}]); return 'inputLayout';
    case 7: {
      const typo = pick(rand, TYPOS);
      o[typo] = 1;
      return typo;
    }
    default: o.outDtype = pick(rand, ['FLOAT8', 5, 'INT4', 'BOOL']); return 'outDtype';
  }
}

function leadingName(message: string): string {
  return /^[A-Za-z0-9]+/.exec(message)?.[0] ?? '';
}

function expectNamed(status: number, message: string, what: string): void {
  expect(ALLOWED, `${what}: ${status} ${message}`).toContain(status);
  expect(message.length, what).toBeGreaterThan(0);
  if (status === ACLNN_ERR_INNER_NOT_SUPPORTED) {
    expect([...NAMES].some((n) => message.includes(n)), `${what}: ${message}`).toBe(true);
  } else {
    expect(NAMES.has(leadingName(message)), `${what}: message does not start with a parameter: ${message}`).toBe(true);
  }
}

describe(`fuzz: ${GWS_CALLS + WRAPPER_CALLS + RUN_CALLS} invalid calls (seed ${SEED})`, () => {
  it('GetWorkspaceSize: never throws, 161001/161002/561101 naming a parameter', () => {
    const rand = mulberry32(SEED);
    for (let i = 0; i < GWS_CALLS; i++) {
      const base = bases[i % bases.length]!;
      const x = { ...base.inputs } as unknown as Record<string, unknown>;
      const changed = [mutateInputs(rand, x, base)];
      if (rand() < 0.3) changed.push(mutateInputs(rand, x, base));
      const what = `GetWorkspaceSize ${i} (${base.name}: ${changed.join(', ')})`;
      let r: GetWorkspaceSizeResult;
      try {
        r = fiaGetWorkspaceSize(x as unknown as FiaInputs);
      } catch (e) {
        throw new Error(`${what} threw: ${String(e)}`);
      }
      expectNamed(r.status, aclGetRecentErrMsg(), what);
      expect(r.executor, what).toBeNull();
    }
  });

  it('fusedInferAttentionScore: rejects only with AclnnError, 161001/161002/561101 naming a parameter', async () => {
    const rand = mulberry32(SEED + 1);
    for (let i = 0; i < WRAPPER_CALLS; i++) {
      const base = bases[i % bases.length]!;
      const o = { ...base.opts } as Record<string, unknown>;
      let s: unknown = stream;
      const changed: string[] = [];
      if (rand() < 0.05) {
        s = pick(rand, [null, undefined, {}, 5, { device: {}, queue: {} }, { device: stream.device }]);
        changed.push('stream');
      } else {
        changed.push(mutateOptions(rand, o, base));
        if (rand() < 0.3) changed.push(mutateOptions(rand, o, base));
      }
      const what = `wrapper ${i} (${base.name}: ${changed.join(', ')})`;
      let err: unknown = null;
      try {
        await fusedInferAttentionScore(s as Stream, o as unknown as FusedInferAttentionScoreOptions);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(AclnnError);
      const e = err as AclnnError;
      expect(e.message, what).toBe(aclGetRecentErrMsg());
      expectNamed(e.status, e.message, what);
    }
  });

  it('aclnnFusedInferAttentionScoreV2 with a bad workspace, size, executor, stream or encoder: never throws, 161001/161002', () => {
    const rand = mulberry32(SEED + 2);
    const noUsage = { size: 1 << 20, destroy() {}, mapAsync() {}, getMappedRange() {}, unmap() {} };
    const mapRead = stream.device.createBuffer({ size: 1 << 16, usage: 0x0001 | 0x0008 });
    for (let i = 0; i < RUN_CALLS; i++) {
      const base = bases[i % bases.length]!;
      const need = base.planned.workspaceSize;
      const args: { workspace: unknown; size: unknown; executor: unknown; stream: unknown; encoder: unknown } = {
        workspace: base.workspace, size: need, executor: base.planned.executor, stream, encoder: undefined,
      };
      const changed: string[] = [];
      const count = 1 + Math.floor(rand() * 2);
      for (let c = 0; c < count; c++) {
        switch (Math.floor(rand() * 5)) {
          case 0:
            args.workspace = pick(rand, [
              noUsage, { ...noUsage, usage: '7' }, mapRead, base.inputs.query!.buffer, 5, 'ws',
              ...(need > 0 ? [null, { size: need, usage: WORKSPACE_USAGE }] : []),
            ]);
            changed.push('workspace');
            break;
          case 1:
            args.size = pick(rand, [-1, 1.5, 'x', 10n, NaN, Infinity, ...(need >= 4 ? [need - 4] : [])]);
            changed.push('workspaceSize');
            break;
          case 2:
            args.executor = pick(rand, [null, undefined, {}, { ...base.planned.executor }, 'executor']);
            changed.push('executor');
            break;
          case 3:
            args.stream = pick(rand, [{}, 5, 'stream', { device: {}, queue: {} }, { device: stream.device }]);
            changed.push('stream');
            break;
          default:
            args.encoder = pick(rand, [{}, 5, { beginComputePass() {} }, 'encoder']);
            changed.push('encoder');
        }
      }
      const what = `run ${i} (${base.name}: ${changed.join(', ')})`;
      let status: number;
      try {
        status = aclnnFusedInferAttentionScoreV2(
          args.workspace as GPUBuffer | null, args.size as number, args.executor as never, args.stream as Stream,
          args.encoder as GPUCommandEncoder | undefined,
        );
      } catch (e) {
        throw new Error(`${what} threw: ${String(e)}`);
      }
      expect([ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_PARAM_INVALID], `${what}: ${status} ${aclGetRecentErrMsg()}`).toContain(status);
      expectNamed(status, aclGetRecentErrMsg(), what);
    }
    mapRead.destroy();
  });

  it('left every caller buffer byte-for-byte unchanged and nothing for synchronize to report', async () => {
    expect(callerBuffers.length).toBeGreaterThan(0);
    expect(await aclrtSynchronizeStream(stream), aclGetRecentErrMsg()).toBe(0);
    for (const { buffer, before } of callerBuffers) {
      const after = await readBufferBytes(stream, buffer, buffer.size);
      expect(Buffer.from(after).equals(Buffer.from(before)), buffer.label).toBe(true);
    }
  });
});

