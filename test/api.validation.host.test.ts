// Table-driven validation tests (VALIDATION.md §1-19 plus the port's rules): at least one rejected
// call per rule, each asserting the status and a message fragment naming the parameter, and a set
// of accepted calls (every dtype row of §2). No GPU: tensors wrap fake buffers (size + usage only)
// and planning runs against a fake current device (limits + features).
import { beforeAll, describe, expect, it } from 'vitest';
import { paddedByteLength, type DataType } from '../src/codec/dtype.js';
import {
  ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR,
  aclGetRecentErrMsg,
} from '../src/acl/status.js';
import { aclrtResetDevice, aclrtSetDevice } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensor, aclCreateTensorList, contiguousStrides, numel, type Format, type Tensor,
} from '../src/acl/tensor.js';
import { fiaGetWorkspaceSize } from '../src/fia/api.js';
import { inputStorage, outputStorage, shapeOf } from '../src/problem/dims.js';
import { type FiaInputs, INT_MAX, type Layout } from '../src/problem/problem.js';
import { validate } from '../src/fia/validate.js';
import { mulberry32 } from '../src/reference/random.js';

// ---------------------------------------------------------------------------------------------
// Fakes

const USAGE_ALL = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

/** A stand-in with the GPUBuffer members the port checks (no WebGPU globals in this file). */
function fakeBuffer(size: number, usage = USAGE_ALL): GPUBuffer {
  const none = (): void => undefined;
  return { size, usage, destroy: none, mapAsync: none, getMappedRange: none, unmap: none } as unknown as GPUBuffer;
}

/** A SwiftShader-like device: planning reads only limits and features. */
const FAKE_DEVICE = {
  limits: {
    maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256,
    maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupsPerDimension: 65535,
  },
  features: new Set<string>(['subgroups']),
} as unknown as GPUDevice;

interface TOpts { strides?: number[]; offset?: number; format?: Format; size?: number; usage?: number }

/** A contiguous tensor over an exactly sized fake buffer. */
function T(shape: number[], dtype: DataType = 'FLOAT16', o: TOpts = {}): Tensor {
  const offset = o.offset ?? 0;
  const size = o.size ?? Math.max(4, paddedByteLength(dtype, offset + Math.max(1, numel(shape))));
  return aclCreateTensor(shape, dtype, fakeBuffer(size, o.usage), {
    strides: o.strides ?? contiguousStrides(shape), offset, format: o.format ?? 'ND',
  });
}

const list = (...ts: (Tensor | null)[]) => aclCreateTensorList(ts);
const ints = (...v: number[]) => aclCreateIntArray(v);

interface Spec {
  layout: Layout; B: number; N: number; KV_N: number; Q_S: number; KV_S: number; D: number;
  qd: DataType; kd: DataType; od: DataType;
}

/** Prefill base: BNSD B 2, N 8, KV_N 2, Q_S 128, KV_S 256, D 64, FLOAT16. */
const PRE: Spec = { layout: 'BNSD', B: 2, N: 8, KV_N: 2, Q_S: 128, KV_S: 256, D: 64, qd: 'FLOAT16', kd: 'FLOAT16', od: 'FLOAT16' };

function qShape(s: Spec): number[] {
  return shapeOf(inputStorage(s.layout), { batch: s.B, seq: s.Q_S, heads: s.N, headDim: s.D });
}

/** Key shape in the query layout; INT32 (packed INT4) counts words in the last dim. */
function kShape(s: Spec, seq = s.KV_S, batch = s.B): number[] {
  const shape = shapeOf(inputStorage(s.layout), { batch, seq, heads: s.KV_N, headDim: s.D });
  if (s.kd === 'INT32') shape[shape.length - 1] = shape[shape.length - 1]! / 8;
  return shape;
}

function outShape(s: Spec): number[] {
  return shapeOf(outputStorage(s.layout), { batch: s.B, seq: s.Q_S, heads: s.N, headDim: s.D });
}

/** Valid inputs for `spec` (defaults: PRE), with `over` replacing fields. */
function make(spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}): FiaInputs {
  const s = { ...PRE, ...spec };
  return {
    query: T(qShape(s), s.qd),
    key: list(T(kShape(s), s.kd)),
    value: list(T(kShape(s), s.kd)),
    numHeads: s.N, scaleValue: 1 / Math.sqrt(s.D), preTokens: INT_MAX, nextTokens: INT_MAX,
    inputLayout: s.layout, numKeyValueHeads: s.KV_N === s.N ? 0 : s.KV_N, sparseMode: 0, innerPrecise: 0,
    blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: T(outShape(s), s.od), softmaxLse: null,
    ...over,
  };
}

/** Decode (Q_S 1) variant of `make`. */
const dec = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}): FiaInputs => make({ Q_S: 1, ...spec }, over);

/** Decode with a paged (blockNum 8, blockSize 128, H 128) cache; Skv (300, 500) needs 3 + 4 blocks. */
function paged(spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}, cache?: number[]): FiaInputs {
  const s = { ...PRE, Q_S: 1, ...spec };
  const shape = cache ?? [8, 128, s.KV_N * s.D];
  return make(s, {
    key: list(T(shape, s.kd)), value: list(T(shape, s.kd)),
    blockTable: T([s.B, 4], 'INT32'), blockSize: 128, actualSeqLengthsKv: ints(300, 500), ...over,
  });
}

/** Tensor-list KV: one (1, KV_N, S_b, D) tensor per batch. */
function listKv(spec: Partial<Spec>, seqLens: number[], over: Partial<FiaInputs> = {}): FiaInputs {
  const s = { ...PRE, B: seqLens.length, ...spec };
  return make(s, {
    key: list(...seqLens.map((n) => T(kShape(s, n, 1), s.kd))),
    value: list(...seqLens.map((n) => T(kShape(s, n, 1), s.kd))),
    ...over,
  });
}

/** A shared prefix of S rows (batch 1, key layout). */
function prefix(spec: Partial<Spec>, seq: number, over: Partial<FiaInputs> = {}): FiaInputs {
  const s = { ...PRE, ...spec };
  return make(s, { keySharedPrefix: T(kShape(s, seq, 1), s.kd), valueSharedPrefix: T(kShape(s, seq, 1), s.kd), ...over });
}

const mask = (shape: number[], dtype: DataType = 'BOOL') => T(shape, dtype);
const M2048 = () => mask([2048, 2048]);
/** Decode with INT8 KV and a valid per-channel combined scale. */
const decInt8 = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}) =>
  dec({ kd: 'INT8', ...spec }, { antiquantScale: T([2, 2, 1, 64], spec.qd ?? 'FLOAT16'), ...over });
/** Decode with INT4 (INT32) KV and valid separate per-channel scales. */
const decInt4 = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}) =>
  dec({ kd: 'INT32', ...spec }, {
    keyAntiquantScale: T([1, 2, 1, spec.D ?? 64]), valueAntiquantScale: T([1, 2, 1, spec.D ?? 64]), ...over,
  });
/** Prefill BFLOAT16 query, INT8 KV, separate per-channel BF16 scales, Q_S 16, BFLOAT16 out. */
const preSep = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}) =>
  make({ Q_S: 16, qd: 'BFLOAT16', kd: 'INT8', od: 'BFLOAT16', ...spec }, {
    keyAntiquantScale: T([2, 64], 'BFLOAT16'), valueAntiquantScale: T([2, 64], 'BFLOAT16'), ...over,
  });
/** Prefill INT8 query/key/value with the three scales. */
const preInt8 = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}) =>
  make({ qd: 'INT8', kd: 'INT8', ...spec }, {
    deqScale1: T([1], 'UINT64'), quantScale1: T([1], 'FLOAT32'), deqScale2: T([1], 'FLOAT32'), ...over,
  });
/** INT8 attentionOut with a per-tensor quantScale2. */
const outInt8 = (spec: Partial<Spec> = {}, over: Partial<FiaInputs> = {}) =>
  make({ od: 'INT8', ...spec }, { quantScale2: T([1], 'FLOAT32'), ...over });

const NP = ACLNN_ERR_PARAM_NULLPTR;
const IV = ACLNN_ERR_PARAM_INVALID;

type Case = [name: string, build: () => FiaInputs, status: number, fragment: string];

// ---------------------------------------------------------------------------------------------
// Rejected calls, by section of VALIDATION.md

const REJECTED: Case[] = [
  // §1 Presence
  ['§1 query null', () => make({}, { query: null }), NP, 'query'],
  ['§1 key null', () => make({}, { key: null }), NP, 'key'],
  ['§1 value null', () => make({}, { value: null }), NP, 'value'],
  ['§1 attentionOut null', () => make({}, { attentionOut: null }), NP, 'attentionOut'],
  ['§1 softmaxLse null with the flag', () => make({}, { softmaxLseFlag: true }), NP, 'softmaxLse'],
  ['§1 null key list entry', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), null) }), NP, 'key[1]'],
  ['§1 null value list entry', () => listKv({}, [256, 256], { value: list(null, T([1, 2, 256, 64])) }), NP, 'value[0]'],
  ['§1 key list with 0 tensors', () => make({}, { key: list(), value: list() }), IV, 'key'],
  ['§1 key and value lists differ in length', () => make({}, { value: list(T([2, 2, 256, 64]), T([2, 2, 256, 64])) }), IV, 'value'],
  ['§1 inputLayout null', () => make({}, { inputLayout: null }), IV, 'inputLayout'],

  // §2 Dtypes
  ['§2 key FLOAT16, value BFLOAT16', () => make({}, { value: list(T([2, 2, 256, 64], 'BFLOAT16')) }), IV, 'value.dtype'],
  ['§2 FLOAT16 query, BFLOAT16 key/value', () => make({ kd: 'BFLOAT16' }), IV, 'key.dtype'],
  ['§2 FLOAT32 query, FLOAT16 key/value', () => make({ qd: 'FLOAT32' }), IV, 'key.dtype'],
  ['§2 INT32 query', () => make({ qd: 'INT32' }), IV, 'query.dtype'],
  ['§2 FLOAT16 query writing BFLOAT16', () => make({ od: 'BFLOAT16' }), IV, 'attentionOut.dtype'],
  ['§2 INT8 query writing BFLOAT16', () => preInt8({ od: 'BFLOAT16' }), IV, 'attentionOut.dtype'],
  ['§2 INT4 key/value writing INT8', () => decInt4({ od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), IV, 'attentionOut.dtype'],
  ['§2 FLOAT32 query writing FLOAT16', () => make({ qd: 'FLOAT32', kd: 'FLOAT32' }), IV, 'attentionOut.dtype'],
  ['§2 list entries of different dtypes', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), T([1, 2, 256, 64], 'BFLOAT16')) }), IV, 'key[1].dtype'],
  ['§2 raw INT4 key (port)', () => dec({ kd: 'INT4' }), IV, 'key.dtype'],
  ['§2 attenMask FLOAT16', () => make({}, { attenMask: mask([128, 256], 'FLOAT16') }), IV, 'attenMask.dtype'],
  ['§2 pseShift FLOAT32 with a FLOAT16 query', () => make({}, { pseShift: T([2, 8, 128, 256], 'FLOAT32') }), IV, 'pseShift.dtype'],
  ['§2 pseShift FLOAT16 with a BFLOAT16 query', () => make({ qd: 'BFLOAT16', kd: 'BFLOAT16', od: 'BFLOAT16' }, { pseShift: T([2, 8, 128, 256]) }), IV, 'pseShift.dtype'],
  ['§2 NCHW query format', () => make({}, { query: T([2, 8, 128, 64], 'FLOAT16', { format: 'NCHW' }) }), IV, 'query.format'],
  ['§2 NZ mask format', () => make({}, { attenMask: T([128, 256], 'BOOL', { format: 'NZ' }) }), IV, 'attenMask.format'],
  ['§2 non-contiguous query', () => make({}, { query: T([2, 8, 128, 64], 'FLOAT16', { strides: [65536, 64, 512, 1], size: 262144 }) }), IV, 'query.strides'],
  ['§2 non-contiguous key', () => make({}, { key: list(T([2, 2, 256, 64], 'FLOAT16', { strides: [32768, 64, 128, 1], size: 131072 })) }), IV, 'key.strides'],
  ['§2 non-contiguous attenMask', () => make({}, { attenMask: T([128, 256], 'BOOL', { strides: [512, 1], size: 65536 }) }), IV, 'attenMask.strides'],
  ['§2 non-contiguous pseShift', () => make({}, { pseShift: T([1, 8, 128, 256], 'FLOAT16', { strides: [524288, 65536, 512, 1], size: 1048576 }) }), IV, 'pseShift.strides'],
  ['§2 non-contiguous attentionOut (port)', () => make({}, { attentionOut: T([2, 8, 128, 64], 'FLOAT16', { strides: [65536, 64, 512, 1], size: 262144 }) }), IV, '(port)'],
  ['§2 non-contiguous quantScale2 (port)', () => outInt8({}, { quantScale2: T([8, 64], 'FLOAT32', { strides: [1, 8], size: 2048 }) }), IV, 'quantScale2.strides'],

  // §3 Layout and shapes
  ['§3 inputLayout SH', () => make({}, { inputLayout: 'SH' }), IV, 'inputLayout'],
  ['§3 inputLayout TND', () => make({}, { inputLayout: 'TND' }), IV, 'inputLayout'],
  ['§3 inputLayout bnsd', () => make({}, { inputLayout: 'bnsd' }), IV, 'inputLayout'],
  ['§3 BNSD query of rank 3', () => make({}, { query: T([2, 128, 512]) }), IV, 'query.shape'],
  ['§3 BSH query of rank 4', () => make({ layout: 'BSH' }, { query: T([2, 128, 8, 64]) }), IV, 'query.shape'],
  ['§3 key of rank 3 with BNSD', () => make({}, { key: list(T([2, 256, 128])), value: list(T([2, 256, 128])) }), IV, 'key.shape'],
  ['§3 key shape ≠ value shape', () => make({}, { value: list(T([2, 2, 255, 64])) }), IV, 'value.shape'],
  ['§3 key D ≠ query D', () => make({}, { key: list(T([2, 2, 256, 32])), value: list(T([2, 2, 256, 32])) }), IV, 'key.shape'],
  ['§3 BSH key H/KV_N ≠ query H/N', () => make({ layout: 'BSH' }, { key: list(T([2, 256, 64])), value: list(T([2, 256, 64])) }), IV, 'key.shape'],
  ['§3 key batch ≠ query batch', () => make({}, { key: list(T([1, 2, 256, 64])), value: list(T([1, 2, 256, 64])) }), IV, 'key.shape'],
  ['§3 negative dim', () => make({}, { query: T([2, 8, -128, 64]) }), IV, 'query.shape'],
  ['§3 B > 65536', () => dec({ B: 65537, D: 16 }), IV, 'query.shape'],
  ['§3 D > 512', () => make({ D: 528 }), IV, 'query.shape'],
  ['§3 attentionOut shape ≠ query shape', () => make({}, { attentionOut: T([2, 8, 127, 64]) }), IV, 'attentionOut.shape'],
  ['§3 BNSD_BSND attentionOut given as BNSD', () => make({ layout: 'BNSD_BSND' }, { attentionOut: T([1, 8, 128, 64]) }), IV, 'attentionOut.shape'],
  ['§3 Q_S > 1, D 72', () => make({ D: 72 }), IV, 'query.shape'],
  ['§3 Q_S > 1, INT8 key/value, D 48', () => make({ D: 48, kd: 'INT8' }, { keyAntiquantScale: T([2, 48], 'BFLOAT16'), valueAntiquantScale: T([2, 48], 'BFLOAT16') }), IV, 'multiple of 32'],
  ['§3 Q_S > 1, INT8 attentionOut, D 48', () => outInt8({ D: 48 }), IV, 'multiple of 32'],
  ['§3 Q_S > 1, BSH N·D ≥ 65535', () => make({ layout: 'BSH', N: 128, KV_N: 128, D: 512, B: 1, Q_S: 2, KV_S: 2 }), IV, 'N·D'],
  ['§3 Q_S > 20971520', () => make({ B: 1, N: 1, KV_N: 1, D: 16, Q_S: 20971536, KV_S: 16 }), IV, 'query.shape'],
  ['§3 KV_S + prefix S > 20971520', () => prefix({ B: 1, N: 1, KV_N: 1, D: 16, Q_S: 16, KV_S: 20971520 }, 16), IV, 'key.shape'],
  ['§3 INT4 key/value with Q_S > 1', () => make({ kd: 'INT32' }, { keyAntiquantScale: T([2, 64], 'BFLOAT16'), valueAntiquantScale: T([2, 64], 'BFLOAT16') }), IV, 'key.dtype'],

  // §4 Heads
  ['§4 numHeads 0', () => make({}, { numHeads: 0 }), IV, 'numHeads'],
  ['§4 numHeads 300', () => make({ N: 300, KV_N: 300 }), IV, 'numHeads'],
  ['§4 numKeyValueHeads -1', () => make({}, { numKeyValueHeads: -1 }), IV, 'numKeyValueHeads'],
  ['§4 numKeyValueHeads 6 with numHeads 32', () => make({ N: 32, KV_N: 6 }), IV, 'numKeyValueHeads=6: numHeads 32 is not a multiple'],
  ['§4 numKeyValueHeads > numHeads', () => make({}, { numKeyValueHeads: 16 }), IV, 'numKeyValueHeads'],
  ['§4 G > 64', () => make({ N: 128, KV_N: 1 }), IV, 'numKeyValueHeads'],
  ['§4 BSH query H % N ≠ 0', () => make({ layout: 'BSH' }, { query: T([2, 128, 500]), attentionOut: T([2, 128, 500]) }), IV, 'query.shape'],
  ['§4 BSH key H % KV_N ≠ 0', () => make({ layout: 'BSH' }, { key: list(T([2, 256, 129])), value: list(T([2, 256, 129])) }), IV, 'key.shape'],
  ['§4 query N dim ≠ numHeads', () => make({}, { numHeads: 4 }), IV, 'query.shape'],
  ['§4 key N dim ≠ numKeyValueHeads', () => make({}, { numKeyValueHeads: 4 }), IV, 'key.shape'],
  ['§4 BSND key N dim ≠ numKeyValueHeads', () => make({ layout: 'BSND' }, { key: list(T([2, 256, 4, 64])), value: list(T([2, 256, 4, 64])) }), IV, 'key.shape'],
  ['§4 paged 4-D cache N ≠ KV_N', () => paged({}, {}, [8, 4, 128, 64]), IV, 'key.shape'],

  // §5 Actual lengths
  ['§5 actualSeqLengths of length 2 with B 4', () => make({ B: 4 }, { actualSeqLengths: ints(1, 2) }), IV, 'actualSeqLengths'],
  ['§5 actualSeqLengthsKv of length 3 with B 4', () => make({ B: 4 }, { actualSeqLengthsKv: ints(1, 2, 3) }), IV, 'actualSeqLengthsKv'],
  ['§5 actualSeqLengths 129 > Q_S', () => make({}, { actualSeqLengths: ints(129) }), IV, 'actualSeqLengths[0]'],
  ['§5 actualSeqLengths -1', () => make({}, { actualSeqLengths: ints(5, -1) }), IV, 'actualSeqLengths[1]'],
  ['§5 actualSeqLengthsKv 257 > KV_S', () => make({}, { actualSeqLengthsKv: ints(1, 257, 3) }), IV, 'actualSeqLengthsKv[1]'],
  ['§5 actualSeqLengthsKv > tensor-list entry S', () => listKv({}, [100, 300], { actualSeqLengthsKv: ints(200, 10) }), IV, 'actualSeqLengthsKv[0]'],
  ['§5 paged without actualSeqLengthsKv', () => paged({}, { actualSeqLengthsKv: null }), IV, 'actualSeqLengthsKv'],
  ['§5 paged with empty actualSeqLengthsKv', () => paged({}, { actualSeqLengthsKv: ints() }), IV, 'actualSeqLengthsKv'],
  ['§5 paged negative actualSeqLengthsKv', () => paged({}, { actualSeqLengthsKv: ints(-1, 5) }), IV, 'actualSeqLengthsKv[0]'],

  // §6 Masks, sparseMode, pre/next
  ['§6 mask of rank 1', () => make({}, { attenMask: mask([256]) }), IV, 'attenMask.shape'],
  ['§6 mask of rank 5', () => make({}, { attenMask: mask([1, 1, 1, 128, 256]) }), IV, 'attenMask.shape'],
  ['§6 4-D mask with dim 1 = 2', () => make({}, { attenMask: mask([2, 2, 128, 256]) }), IV, 'dim 1'],
  ['§6 sparseMode 5', () => make({}, { sparseMode: 5, attenMask: M2048() }), IV, 'sparseMode'],
  ['§6 sparseMode -1', () => make({}, { sparseMode: -1 }), IV, 'sparseMode'],
  ['§6 sparseMode 9', () => make({}, { sparseMode: 9 }), IV, 'sparseMode'],
  ['§6 sparseMode 1 without mask', () => make({}, { sparseMode: 1 }), IV, 'sparseMode'],
  ['§6 sparseMode 3 without mask', () => make({}, { sparseMode: 3 }), IV, 'attenMask'],
  ['§6 mode 0 mask batch 3 with B 2', () => make({}, { attenMask: mask([3, 128, 256]) }), IV, 'attenMask.shape'],
  ['§6 mode 0 mask rows < Q_S', () => make({}, { attenMask: mask([2, 1, 127, 256]) }), IV, 'attenMask.shape'],
  ['§6 mode 0 mask columns < KV_S', () => make({}, { attenMask: mask([2, 1, 128, 255]) }), IV, 'attenMask.shape'],
  ['§6 mode 1 mask columns < KV_S + P', () => prefix({}, 16, { sparseMode: 1, attenMask: mask([128, 256]) }), IV, 'attenMask.shape'],
  ['§6 mode 3 mask (128,256)', () => make({}, { sparseMode: 3, attenMask: mask([128, 256]) }), IV, 'attenMask.shape'],
  ['§6 mode 2 mask (2,2048,2048)', () => make({}, { sparseMode: 2, attenMask: mask([2, 2048, 2048]) }), IV, 'attenMask.shape'],
  ['§6 decode mask batch 3 with B 2', () => dec({}, { attenMask: mask([3, 256]) }), IV, 'attenMask.shape'],
  ['§6 decode mask columns < max Skv', () => dec({}, { attenMask: mask([2, 1, 1, 255]) }), IV, 'attenMask.shape'],
  ['§6 decode paged mask columns < blockTable dim 1 · blockSize', () => paged({}, { attenMask: mask([2, 500]) }), IV, 'attenMask.shape'],
  ['§6 mode 0 pre/next (-1, 0)', () => make({}, { attenMask: mask([128, 256]), preTokens: -1, nextTokens: 0 }), IV, 'preTokens'],
  ['§6 mode 0 pre/next (10, -11)', () => make({}, { attenMask: mask([128, 256]), preTokens: 10, nextTokens: -11 }), IV, 'preTokens'],
  ['§6 mode 4 pre/next (-5, 2)', () => make({}, { sparseMode: 4, attenMask: M2048(), preTokens: -5, nextTokens: 2 }), IV, 'preTokens'],

  // §7 pseShift
  ['§7 pse of rank 3', () => make({}, { pseShift: T([8, 128, 256]) }), IV, 'pseShift.shape'],
  ['§7 pse dim 0 = 3', () => make({}, { pseShift: T([3, 8, 128, 256]) }), IV, 'pseShift.shape'],
  ['§7 pse dim 1 ≠ N', () => make({}, { pseShift: T([2, 1, 128, 256]) }), IV, 'pseShift.shape'],
  ['§7 pse dim 2 < Q_S', () => make({}, { pseShift: T([2, 8, 1, 256]) }), IV, 'pseShift.shape'],
  ['§7 decode pse dim 2 = 2', () => dec({}, { pseShift: T([2, 8, 2, 256]) }), IV, 'pseShift.shape'],
  ['§7 pse dim 3 < KV_S', () => make({}, { pseShift: T([2, 8, 128, 200]) }), IV, 'pseShift.shape'],
  ['§7 pse dim 3 < KV_S + P', () => prefix({}, 16, { pseShift: T([2, 8, 128, 256]) }), IV, 'pseShift.shape'],
  ['§7 decode pse with D 72', () => dec({ D: 72 }, { pseShift: T([2, 8, 1, 256]) }), IV, 'pseShift'],

  // §8 Left padding
  ['§8 queryPaddingSize INT32', () => make({}, { queryPaddingSize: T([1], 'INT32') }), IV, 'queryPaddingSize'],
  ['§8 kvPaddingSize of shape [2]', () => make({}, { kvPaddingSize: T([2], 'INT64') }), IV, 'kvPaddingSize'],
  ['§8 kvPaddingSize of 0 elements', () => dec({}, { kvPaddingSize: T([0], 'INT64') }), IV, 'kvPaddingSize'],
  ['§8 kv left padding with a shared prefix', () => prefix({}, 16, { kvPaddingSize: T([1], 'INT64'), actualSeqLengthsKv: ints(100) }), IV, 'kvPaddingSize'],
  ['§8 query left padding with tensor-list KV', () => listKv({}, [256, 200], { queryPaddingSize: T([1], 'INT64'), actualSeqLengths: ints(100) }), IV, 'queryPaddingSize'],
  ['§8 kv left padding with INT4 key/value', () => decInt4({}, { kvPaddingSize: T([1], 'INT64'), actualSeqLengthsKv: ints(100) }), IV, 'kvPaddingSize'],

  // §9 Paged KV
  ['§9 blockTable INT64', () => paged({}, { blockTable: T([2, 4], 'INT64') }), IV, 'blockTable.dtype'],
  ['§9 blockTable of rank 1', () => paged({}, { blockTable: T([8], 'INT32') }), IV, 'blockTable.shape'],
  ['§9 blockTable dim 0 ≠ B', () => paged({}, { blockTable: T([1, 6], 'INT32') }), IV, 'blockTable.shape'],
  ['§9 blockTable dim 1 < blocks of the longest sequence', () => paged({}, { blockTable: T([2, 3], 'INT32') }), IV, 'blockTable.shape'],
  ['§9 blockTable with 0 elements', () => paged({}, { blockTable: T([2, 0], 'INT32') }), IV, 'blockTable.shape'],
  ['§9 4-D cache with a BSND query', () => paged({ layout: 'BSND' }, {}, [8, 2, 128, 64]), IV, 'key.shape'],
  ['§9 5-D cache', () => paged({}, {}, [8, 2, 1, 128, 64]), IV, 'key.shape'],
  ['§9 cache blockSize dim ≠ blockSize', () => paged({}, {}, [8, 64, 128]), IV, 'key.shape'],
  ['§9 blockSize 48 with INT8 KV (Q_S 1)', () => paged({ kd: 'INT8' }, { blockSize: 48, antiquantScale: T([2, 2, 1, 64]) }, [8, 48, 128]), IV, 'blockSize'],
  ['§9 blockSize 0', () => paged({}, { blockSize: 0 }), IV, 'blockSize'],
  ['§9 blockSize 1024', () => paged({}, { blockSize: 1024 }, [8, 1024, 128]), IV, 'blockSize'],
  ['§9 blockSize 64 with Q_S > 1', () => paged({ Q_S: 128 }, { blockSize: 64, actualSeqLengthsKv: ints(100) }, [8, 64, 128]), IV, 'blockSize'],
  ['§9 3-D cache H > 65535', () => paged({ N: 128, KV_N: 128, D: 512 }, {}, [8, 128, 65536]), IV, 'key.shape'],
  ['§9 blockNum < blocks needed', () => paged({}, {}, [6, 128, 128]), IV, 'blockNum'],
  ['§9 paging with tensor-list KV', () => listKv({ Q_S: 1 }, [256, 256], { blockTable: T([2, 4], 'INT32'), blockSize: 128, actualSeqLengthsKv: ints(100) }), IV, 'blockTable'],
  ['§9 paging with kv left padding', () => paged({}, { kvPaddingSize: T([1], 'INT64') }), IV, 'blockTable'],
  ['§9 paging with a shared prefix', () => paged({}, { keySharedPrefix: T([1, 2, 16, 64]), valueSharedPrefix: T([1, 2, 16, 64]) }), IV, 'blockTable'],
  ['§9 paging with an INT8 query', () => paged({ Q_S: 128, qd: 'INT8', kd: 'INT8' }, { deqScale1: T([1], 'FLOAT32'), quantScale1: T([1], 'FLOAT32'), deqScale2: T([1], 'FLOAT32') }), IV, 'blockTable'],
  ['§9 paging with INT4 KV', () => paged({ kd: 'INT32' }, {}, [8, 128, 16]), IV, 'blockTable'],
  ['§9 Q_S > 1 paging with INT8 KV', () => paged({ Q_S: 16, qd: 'BFLOAT16', kd: 'INT8', od: 'BFLOAT16' }, {}), IV, 'blockTable'],

  // §10 Tensor-list KV
  ['§10 list of 2 with B 3', () => listKv({ B: 3 }, [256, 256]), IV, 'key'],
  ['§10 list with B > 256', () => listKv({ Q_S: 1, N: 1, KV_N: 1, D: 16 }, new Array(257).fill(4)), IV, 'B ≤ 256'],
  ['§10 entry of the wrong rank', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), T([2, 256, 64])), value: list(T([1, 2, 256, 64]), T([2, 256, 64])) }), IV, 'key[1].shape'],
  ['§10 entry with batch 2', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), T([2, 2, 256, 64])), value: list(T([1, 2, 256, 64]), T([2, 2, 256, 64])) }), IV, 'key[1].shape'],
  ['§10 entry heads ≠ KV_N', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), T([1, 4, 256, 64])), value: list(T([1, 2, 256, 64]), T([1, 4, 256, 64])) }), IV, 'key[1].shape'],
  ['§10 entry D ≠ query D', () => listKv({}, [256, 256], { key: list(T([1, 2, 256, 64]), T([1, 2, 256, 32])), value: list(T([1, 2, 256, 64]), T([1, 2, 256, 32])) }), IV, 'key[1].shape'],
  ['§10 key entry shape ≠ value entry shape', () => listKv({}, [256, 256], { value: list(T([1, 2, 256, 64]), T([1, 2, 200, 64])) }), IV, 'value[1].shape'],

  // §11 Shared prefix
  ['§11 keySharedPrefix alone', () => make({}, { keySharedPrefix: T([1, 2, 16, 64]) }), IV, 'valueSharedPrefix'],
  ['§11 valueSharedPrefix alone', () => make({}, { valueSharedPrefix: T([1, 2, 16, 64]) }), IV, 'keySharedPrefix'],
  ['§11 prefix rank ≠ key rank', () => make({}, { keySharedPrefix: T([1, 16, 128]), valueSharedPrefix: T([1, 16, 128]) }), IV, 'keySharedPrefix.shape'],
  ['§11 prefix dtype ≠ key dtype', () => make({}, { keySharedPrefix: T([1, 2, 16, 64], 'BFLOAT16'), valueSharedPrefix: T([1, 2, 16, 64], 'BFLOAT16') }), IV, 'keySharedPrefix.dtype'],
  ['§11 prefix batch 2', () => prefix({}, 16, { keySharedPrefix: T([2, 2, 16, 64]), valueSharedPrefix: T([2, 2, 16, 64]) }), IV, 'keySharedPrefix.shape'],
  ['§11 prefix N ≠ key N', () => prefix({}, 16, { keySharedPrefix: T([1, 4, 16, 64]), valueSharedPrefix: T([1, 4, 16, 64]) }), IV, 'keySharedPrefix.shape'],
  ['§11 BSH prefix H ≠ key H', () => prefix({ layout: 'BSH' }, 16, { keySharedPrefix: T([1, 16, 64]), valueSharedPrefix: T([1, 16, 64]) }), IV, 'keySharedPrefix.shape'],
  ['§11 key prefix shape ≠ value prefix shape', () => prefix({}, 16, { valueSharedPrefix: T([1, 2, 17, 64]) }), IV, 'valueSharedPrefix.shape'],
  ['§11 actualSharedPrefixLen [5,5]', () => prefix({}, 16, { actualSharedPrefixLen: ints(5, 5) }), IV, 'actualSharedPrefixLen'],
  ['§11 actualSharedPrefixLen 513 > prefix S 512', () => prefix({}, 512, { actualSharedPrefixLen: ints(513), attenMask: null }), IV, 'actualSharedPrefixLen[0]'],
  ['§11 prefix with tensor-list KV', () => listKv({}, [256, 256], { keySharedPrefix: T([1, 2, 16, 64]), valueSharedPrefix: T([1, 2, 16, 64]) }), IV, 'keySharedPrefix'],
  ['§11 prefix with an INT8 query', () => preInt8({}, { keySharedPrefix: T([1, 2, 16, 64], 'INT8'), valueSharedPrefix: T([1, 2, 16, 64], 'INT8') }), IV, 'keySharedPrefix'],

  // §12 Antiquant, combined parameters
  ['§12 antiquantScale without antiquant', () => make({}, { antiquantScale: T([2]) }), IV, 'antiquantScale'],
  ['§12 keyAntiquantScale with an INT8 query', () => preInt8({}, { keyAntiquantScale: T([1]) }), IV, 'keyAntiquantScale'],
  ['§12 antiquant with no scale', () => dec({ kd: 'INT8' }), IV, 'antiquantScale'],
  ['§12 antiquantOffset without antiquantScale', () => dec({ kd: 'INT8' }, { antiquantOffset: T([2]) }), IV, 'antiquantScale'],
  ['§12 INT4 KV with combined parameters only', () => dec({ kd: 'INT32' }, { antiquantScale: T([2]) }), IV, 'antiquantScale'],
  ['§12 antiquantOffset shape ≠ scale shape', () => decInt8({}, { antiquantOffset: T([2]) }), IV, 'antiquantOffset'],
  ['§12 antiquantOffset dtype ≠ scale dtype', () => decInt8({}, { antiquantOffset: T([2, 2, 1, 64], 'FLOAT32') }), IV, 'antiquantOffset'],
  ['§12 Q_S > 1 combined with a BFLOAT16 query', () => make({ qd: 'BFLOAT16', kd: 'INT8', od: 'BFLOAT16' }, { antiquantScale: T([2], 'BFLOAT16') }), IV, 'query.dtype'],
  ['§12 Q_S > 1 combined scale FLOAT32', () => make({ kd: 'INT8' }, { antiquantScale: T([2], 'FLOAT32') }), IV, 'antiquantScale.dtype'],
  ['§12 Q_S > 1 combined (2,KV_N,D) with BNSD', () => make({ kd: 'INT8' }, { antiquantScale: T([2, 2, 64]) }), IV, 'antiquantScale.shape'],
  ['§12 Q_S > 1 combined (2,KV_N,1,D) with BSND', () => make({ layout: 'BSND', kd: 'INT8' }, { antiquantScale: T([2, 2, 1, 64]) }), IV, 'antiquantScale.shape'],
  ['§12 decode antiquantMode 2', () => decInt8({}, { antiquantMode: 2 }), IV, 'antiquantMode'],
  ['§12 decode mode 0 scale (3)', () => decInt8({}, { antiquantScale: T([3]) }), IV, 'antiquantScale.shape'],
  ['§12 decode mode 0 scale FLOAT32 with FLOAT16 query', () => decInt8({}, { antiquantScale: T([2, 2, 1, 64], 'FLOAT32') }), IV, 'antiquantScale.dtype'],
  ['§12 decode mode 1 scale S < KV_S', () => decInt8({}, { antiquantMode: 1, antiquantScale: T([2, 2, 100], 'FLOAT32') }), IV, 'antiquantScale.shape'],
  ['§12 decode mode 1 scale FLOAT16', () => decInt8({}, { antiquantMode: 1, antiquantScale: T([2, 2, 256]) }), IV, 'antiquantScale.dtype'],

  // §13 Antiquant, separate parameters
  ['§13 keyAntiquantScale alone', () => dec({ kd: 'INT8' }, { keyAntiquantScale: T([1]) }), IV, 'valueAntiquantScale'],
  ['§13 keyAntiquantOffset alone', () => decInt4({}, { keyAntiquantOffset: T([1, 2, 1, 64]) }), IV, 'valueAntiquantOffset'],
  ['§13 offsets without scales', () => dec({ kd: 'INT8' }, { keyAntiquantOffset: T([1]), valueAntiquantOffset: T([1]) }), IV, 'keyAntiquantOffset'],
  ['§13 offset shape ≠ scale shape', () => decInt4({}, { keyAntiquantOffset: T([1]), valueAntiquantOffset: T([1]) }), IV, 'keyAntiquantOffset'],
  ['§13 decode keyAntiquantMode 6', () => decInt4({}, { keyAntiquantMode: 6, valueAntiquantMode: 6 }), IV, 'keyAntiquantMode'],
  ['§13 Q_S > 1 keyAntiquantMode 2', () => preSep({}, { keyAntiquantMode: 2, valueAntiquantMode: 2 }), IV, 'keyAntiquantMode'],
  ['§13 key mode 1 + value mode 0', () => decInt4({}, { keyAntiquantMode: 1 }), IV, 'valueAntiquantMode'],
  ['§13 Q_S > 1 key 0 + value 1', () => preSep({}, { valueAntiquantMode: 1 }), IV, 'valueAntiquantMode'],
  ['§13 key and value scale shapes differ', () => decInt4({}, { valueAntiquantScale: T([1, 2, 64]) }), IV, 'valueAntiquantScale.shape'],
  ['§13 Q_S > 1 FLOAT16 query', () => preSep({ qd: 'FLOAT16', od: 'FLOAT16' }), IV, 'query.dtype'],
  ['§13 Q_S > 1 INT8 attentionOut', () => preSep({ od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), IV, 'attentionOut.dtype'],
  ['§13 Q_S 17', () => preSep({ Q_S: 17, D: 64 }), IV, 'query.shape'],
  ['§13 Q_S > 1 with tensor-list KV', () => listKv({ Q_S: 16, qd: 'BFLOAT16', kd: 'INT8', od: 'BFLOAT16' }, [256, 256], { keyAntiquantScale: T([2, 64], 'BFLOAT16'), valueAntiquantScale: T([2, 64], 'BFLOAT16') }), IV, 'keyAntiquantScale'],
  ['§13 Q_S > 1 with left padding', () => preSep({}, { kvPaddingSize: T([1], 'INT64'), actualSeqLengthsKv: ints(100) }), IV, 'keyAntiquantScale'],
  ['§13 Q_S > 1 mode 0 scale (1,KV_N,D)', () => preSep({}, { keyAntiquantScale: T([1, 2, 64], 'BFLOAT16'), valueAntiquantScale: T([1, 2, 64], 'BFLOAT16') }), IV, 'keyAntiquantScale.shape'],
  ['§13 Q_S > 1 mode 0 scale FLOAT16', () => preSep({}, { keyAntiquantScale: T([2, 64]), valueAntiquantScale: T([2, 64]) }), IV, 'keyAntiquantScale.dtype'],
  ['§13 Q_S > 1 mode 1 scale (B, KV_S + 1)', () => preSep({}, { keyAntiquantMode: 1, valueAntiquantMode: 1, keyAntiquantScale: T([2, 257], 'FLOAT32'), valueAntiquantScale: T([2, 257], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 Q_S > 1 mode 1 with a prefix', () => preSep({}, {
    keyAntiquantMode: 1, valueAntiquantMode: 1, keyAntiquantScale: T([2, 256], 'FLOAT32'), valueAntiquantScale: T([2, 256], 'FLOAT32'),
    keySharedPrefix: T([1, 2, 16, 64], 'INT8'), valueSharedPrefix: T([1, 2, 16, 64], 'INT8'),
  }), IV, 'keyAntiquantMode'],
  ['§13 decode mode 0 scale (2,KV_N,D)', () => decInt4({}, { keyAntiquantScale: T([2, 2, 64]), valueAntiquantScale: T([2, 2, 64]) }), IV, 'keyAntiquantScale.shape'],
  ['§13 decode mode 0 scale BFLOAT16 with FLOAT16 query', () => decInt4({}, { keyAntiquantScale: T([1], 'BFLOAT16'), valueAntiquantScale: T([1], 'BFLOAT16') }), IV, 'keyAntiquantScale.dtype'],
  ['§13 decode mode 1 scale FLOAT16', () => decInt4({}, { keyAntiquantMode: 1, valueAntiquantMode: 1, keyAntiquantScale: T([2, 256]), valueAntiquantScale: T([2, 256]) }), IV, 'keyAntiquantScale.dtype'],
  ['§13 decode mode 1 scale S < KV_S', () => decInt4({}, { keyAntiquantMode: 1, valueAntiquantMode: 1, keyAntiquantScale: T([1, 2, 255], 'FLOAT32'), valueAntiquantScale: T([1, 2, 255], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 decode mode 2 scale (3)', () => dec({ kd: 'INT8' }, { keyAntiquantMode: 2, valueAntiquantMode: 2, keyAntiquantScale: T([3]), valueAntiquantScale: T([3]) }), IV, 'keyAntiquantScale.shape'],
  ['§13 decode mode 3 scale (B,N,100)', () => decInt4({}, { keyAntiquantMode: 3, valueAntiquantMode: 3, keyAntiquantScale: T([2, 2, 100], 'FLOAT32'), valueAntiquantScale: T([2, 2, 100], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 decode mode 4 without paging', () => dec({ kd: 'INT8' }, { keyAntiquantMode: 4, valueAntiquantMode: 4, keyAntiquantScale: T([8, 128], 'FLOAT32'), valueAntiquantScale: T([8, 128], 'FLOAT32') }), IV, 'keyAntiquantMode'],
  ['§13 decode mode 4 scale (blockNum, 64)', () => paged({ kd: 'INT8' }, { keyAntiquantMode: 4, valueAntiquantMode: 4, keyAntiquantScale: T([8, 64], 'FLOAT32'), valueAntiquantScale: T([8, 64], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 decode mode 5 scale (blockNum, blockSize)', () => paged({ kd: 'INT8' }, { keyAntiquantMode: 5, valueAntiquantMode: 5, keyAntiquantScale: T([8, 128], 'FLOAT32'), valueAntiquantScale: T([8, 128], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 key 0 + value 1 with a (1) key scale', () => decInt4({}, { valueAntiquantMode: 1, keyAntiquantScale: T([1]), valueAntiquantScale: T([1, 2, 256], 'FLOAT32') }), IV, 'keyAntiquantScale.shape'],
  ['§13 key 0 + value 1 with a FLOAT16 value scale', () => decInt4({}, { valueAntiquantMode: 1, valueAntiquantScale: T([1, 2, 256]) }), IV, 'valueAntiquantScale.dtype'],
  ['§13 key 0 + value 1, INT8 KV, BFLOAT16 query', () => dec({ qd: 'BFLOAT16', kd: 'INT8', od: 'BFLOAT16' }, { valueAntiquantMode: 1, keyAntiquantScale: T([1, 2, 1, 64], 'BFLOAT16'), valueAntiquantScale: T([1, 2, 256], 'FLOAT32') }), IV, 'query.dtype'],
  ['§13 INT4 KV with mode 2', () => decInt4({}, { keyAntiquantMode: 2, valueAntiquantMode: 2, keyAntiquantScale: T([2]), valueAntiquantScale: T([2]) }), IV, 'keyAntiquantMode'],

  // §14 INT8 full quantization
  ['§14 INT8 query with Q_S 1', () => preInt8({ Q_S: 1 }), IV, 'query.dtype'],
  ['§14 INT8 query without deqScale1', () => preInt8({}, { deqScale1: null }), IV, 'deqScale1'],
  ['§14 INT8 query without quantScale1', () => preInt8({}, { quantScale1: null }), IV, 'quantScale1'],
  ['§14 INT8 query with 0-element deqScale2', () => preInt8({}, { deqScale2: T([0], 'FLOAT32') }), IV, 'deqScale2'],
  ['§14 deqScale1 FLOAT16', () => preInt8({}, { deqScale1: T([1], 'FLOAT16') }), IV, 'deqScale1.dtype'],
  ['§14 quantScale1 UINT64', () => preInt8({}, { quantScale1: T([1], 'UINT64') }), IV, 'quantScale1.dtype'],
  ['§14 deqScale2 of 2 elements', () => preInt8({}, { deqScale2: T([2], 'FLOAT32') }), IV, 'deqScale2.shape'],
  ['§14 deqScale1 with a FLOAT16 query', () => make({}, { deqScale1: T([1], 'FLOAT32') }), IV, 'deqScale1'],
  ['§14 quantScale1 with a FLOAT16 query writing INT8', () => outInt8({}, { quantScale1: T([1], 'FLOAT32') }), IV, 'quantScale1'],

  // §15 INT8 output quantization
  ['§15 INT8 attentionOut without quantScale2', () => make({ od: 'INT8' }), IV, 'quantScale2'],
  ['§15 INT8 query writing INT8 without quantScale2', () => preInt8({ od: 'INT8' }), IV, 'quantScale2'],
  ['§15 quantScale2 with a FLOAT16 attentionOut', () => make({}, { quantScale2: T([1], 'FLOAT32') }), IV, 'quantScale2'],
  ['§15 quantOffset2 with a FLOAT16 attentionOut', () => make({}, { quantOffset2: T([1], 'FLOAT32') }), IV, 'quantOffset2'],
  ['§15 quantScale2 BFLOAT16 with a FLOAT16 query', () => outInt8({}, { quantScale2: T([1], 'BFLOAT16') }), IV, 'quantScale2.dtype'],
  ['§15 quantScale2 FLOAT16', () => outInt8({ qd: 'BFLOAT16', kd: 'BFLOAT16' }, { quantScale2: T([1]) }), IV, 'quantScale2.dtype'],
  ['§15 quantOffset2 dtype ≠ quantScale2', () => outInt8({}, { quantOffset2: T([1], 'BFLOAT16') }), IV, 'quantOffset2'],
  ['§15 quantOffset2 shape ≠ quantScale2', () => outInt8({}, { quantOffset2: T([8, 64], 'FLOAT32') }), IV, 'quantOffset2'],
  ['§15 quantScale2 [64,8] (N 8, D 64)', () => outInt8({}, { quantScale2: T([64, 8], 'FLOAT32') }), IV, 'quantScale2.shape'],
  ['§15 quantScale2 [2]', () => outInt8({}, { quantScale2: T([2], 'FLOAT32') }), IV, 'quantScale2.shape'],
  ['§15 per-channel with left padding', () => outInt8({}, { quantScale2: T([8, 64], 'FLOAT32'), kvPaddingSize: T([1], 'INT64'), actualSeqLengthsKv: ints(100) }), IV, 'quantScale2'],
  ['§15 Q_S > 1 per-channel with softmaxLseFlag', () => outInt8({}, { quantScale2: T([512], 'FLOAT32'), softmaxLseFlag: true, softmaxLse: T([2, 8, 128, 1], 'FLOAT32') }), IV, 'quantScale2'],
  ['§15 Q_S > 1 mode 4 with nextTokens -1', () => outInt8({}, { sparseMode: 4, attenMask: M2048(), preTokens: 8, nextTokens: -1 }), IV, 'sparseMode 4'],
  ['§15 quantOffset2 with mode 3, Sq 128 > Skv 100', () => outInt8({ KV_S: 100 }, { sparseMode: 3, attenMask: M2048(), quantOffset2: T([1], 'FLOAT32') }), IV, 'quantOffset2'],
  ['§15 quantOffset2 with mode 0, nextTokens -1', () => outInt8({}, { attenMask: mask([128, 256]), preTokens: 10, nextTokens: -1, quantOffset2: T([1], 'FLOAT32') }), IV, 'quantOffset2'],
  ['§15 quantOffset2 with mode 4, next + Skv < Sq', () => outInt8({ KV_S: 100 }, { sparseMode: 4, attenMask: M2048(), preTokens: 10, nextTokens: 0, quantOffset2: T([1], 'FLOAT32') }), IV, 'quantOffset2'],

  // §16 softmaxLse
  ['§16 softmaxLse FLOAT16', () => make({}, { softmaxLseFlag: true, softmaxLse: T([2, 8, 128, 1]) }), IV, 'softmaxLse.dtype'],
  ['§16 softmaxLse [B,N,Q_S]', () => make({}, { softmaxLseFlag: true, softmaxLse: T([2, 8, 128], 'FLOAT32') }), IV, 'softmaxLse.shape'],
  ['§16 BNSD_BSND softmaxLse [B,Q_S,N,1]', () => make({ layout: 'BNSD_BSND' }, { softmaxLseFlag: true, softmaxLse: T([2, 128, 8, 1], 'FLOAT32') }), IV, 'softmaxLse.shape'],

  // §17 innerPrecise and port rules
  ['§17 Q_S > 1 innerPrecise 4', () => make({}, { innerPrecise: 4 }), IV, 'innerPrecise'],
  ['§17 Q_S > 1 innerPrecise -1', () => make({}, { innerPrecise: -1 }), IV, 'innerPrecise'],
  ['§17 decode innerPrecise 2', () => dec({}, { innerPrecise: 2 }), IV, 'innerPrecise'],
  ['§17 non-integer numHeads (port)', () => make({}, { numHeads: 8.5 }), IV, 'numHeads'],
  ['§17 non-integer blockSize (port)', () => make({}, { blockSize: 0.5 }), IV, 'blockSize'],
  ['§17 NaN preTokens (port)', () => make({}, { preTokens: NaN }), IV, 'preTokens'],
  ['§17 non-boolean softmaxLseFlag (port)', () => make({}, { softmaxLseFlag: 1 as unknown as boolean }), IV, 'softmaxLseFlag'],
  ['§17 non-integer actualSeqLengths entry (port)', () => make({}, { actualSeqLengths: ints(1.5) }), IV, 'actualSeqLengths[0]'],
  ['§17 actualSeqLengths as a plain array (port)', () => make({}, { actualSeqLengths: [5] as unknown as ReturnType<typeof ints> }), IV, 'actualSeqLengths'],
  ['§17 query buffer too small (port)', () => make({}, { query: T([2, 8, 128, 64], 'FLOAT16', { size: 262140 }) }), IV, 'query'],
  ['§17 key buffer too small for its offset (port)', () => make({}, { key: list(T([2, 2, 256, 64], 'FLOAT16', { offset: 2, size: 131072 })) }), IV, 'key'],
  ['§17 mask buffer too small (port)', () => make({}, { attenMask: T([128, 256], 'BOOL', { size: 1024 }) }), IV, 'attenMask'],
  ['§17 attentionOut sharing the query buffer (port)', () => { const x = make(); return { ...x, attentionOut: aclCreateTensor([2, 8, 128, 64], 'FLOAT16', x.query!.buffer) }; }, IV, 'attentionOut.buffer'],
  ['§17 softmaxLse overlapping attentionOut (port)', () => { const x = make(); return { ...x, softmaxLseFlag: true, softmaxLse: aclCreateTensor([2, 8, 128, 1], 'FLOAT32', x.attentionOut!.buffer) }; }, IV, 'softmaxLse.buffer'],
  ['§17 query buffer without STORAGE usage (port)', () => make({}, { query: T([2, 8, 128, 64], 'FLOAT16', { usage: 0x08 }) }), IV, 'query.buffer.usage'],
  ['§17 active padding buffer without COPY_SRC usage (port)', () => make({}, { kvPaddingSize: T([1], 'INT64', { usage: 0x80 }), actualSeqLengthsKv: ints(100) }), IV, 'kvPaddingSize.buffer.usage'],
  ['buffer that only looks like a GPUBuffer (port)', () => make({}, { attenMask: aclCreateTensor([128, 256], 'BOOL', { size: 1 << 20, usage: USAGE_ALL } as unknown as GPUBuffer) }), IV, 'attenMask.buffer'],
  ['a 200,000-entry key list (port)', () => make({}, { key: aclCreateTensorList(Array.from({ length: 200000 }, () => T([1, 2, 256, 64]))), value: aclCreateTensorList(Array.from({ length: 200000 }, () => T([1, 2, 256, 64]))) }), IV, 'key=a list of 200000: tensor-list KV supports B ≤ 256'],
  ['§17 key not a tensor list (port)', () => make({}, { key: T([2, 2, 256, 64]) as unknown as ReturnType<typeof list> }), IV, 'key'],
  ['§17 0-element antiquantScale (port)', () => dec({ kd: 'INT8' }, { antiquantScale: T([0]) }), IV, 'antiquantScale'],

  // §18 Q_S == 1 specifics
  ['§18 INT4 KV with D 96', () => decInt4({ D: 96 }), IV, 'key.shape'],
  ['§18 BNSD_BSND decode with D 72', () => dec({ layout: 'BNSD_BSND', D: 72 }), IV, 'inputLayout'],
  ['§18 BNSD_BSND decode with INT8 KV', () => decInt8({ layout: 'BNSD_BSND' }), IV, 'inputLayout'],
  ['§18 BNSD_BSND decode, INT8 out, KV_N < N, D 48', () => dec({ layout: 'BNSD_BSND', D: 48, od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), IV, 'inputLayout'],

  // §19 Empty tensors
  ['§19 query with 0 elements, attentionOut not', () => make({}, { query: T([2, 8, 0, 64]) }), IV, 'attentionOut.shape'],
  ['§19 INT8 query with 0-element key/value', () => preInt8({ KV_S: 0 }), IV, 'key.shape'],
  ['§19 tensor-list entry with 0 elements', () => listKv({}, [256, 0]), IV, 'key[1].shape'],
  ['§19 Q_S > 1 prefix with 0 elements', () => prefix({}, 0), IV, 'keySharedPrefix.shape'],
];

// ---------------------------------------------------------------------------------------------
// Accepted calls

/** `kernel`: the WebGPU kernels cover it (status 0); else validation passes and the status is 0 or 561101. */
type Accepted = [name: string, build: () => FiaInputs, kernel: boolean];

const ACCEPTED: Accepted[] = [
  // §2 every dtype row (prefill and decode where the row allows)
  ['FLOAT16 / FLOAT16 → FLOAT16 prefill', () => make(), true],
  ['FLOAT16 / FLOAT16 → FLOAT16 decode', () => dec(), true],
  // Outputs sharing a word with other data are merged (shaders/common/out_store.wgsl), not rejected.
  ['attentionOut at an odd FLOAT16 offset', () => make({}, { attentionOut: T([2, 8, 128, 64], 'FLOAT16', { offset: 1 }) }), true],
  ['attentionOut at an odd FLOAT16 offset, decode', () => dec({}, { attentionOut: T([2, 8, 1, 64], 'FLOAT16', { offset: 3 }) }), true],
  ['FLOAT16 / FLOAT16 → INT8', () => outInt8(), true],
  ['BFLOAT16 / BFLOAT16 → BFLOAT16 prefill', () => make({ qd: 'BFLOAT16', kd: 'BFLOAT16', od: 'BFLOAT16' }), true],
  ['BFLOAT16 / BFLOAT16 → BFLOAT16 decode', () => dec({ qd: 'BFLOAT16', kd: 'BFLOAT16', od: 'BFLOAT16' }), true],
  ['BFLOAT16 / BFLOAT16 → INT8 (BFLOAT16 quantScale2)', () => outInt8({ qd: 'BFLOAT16', kd: 'BFLOAT16' }, { quantScale2: T([8, 64], 'BFLOAT16') }), true],
  ['FLOAT16 / INT8 → FLOAT16 prefill (combined per-channel)', () => make({ kd: 'INT8' }, { antiquantScale: T([2, 2, 1, 64]) }), true],
  ['FLOAT16 / INT8 → INT8 decode', () => decInt8({ od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), true],
  ['BFLOAT16 / INT8 → BFLOAT16 prefill (separate)', () => preSep(), true],
  ['BFLOAT16 / INT8 → INT8 decode', () => decInt8({ qd: 'BFLOAT16', od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), true],
  ['FLOAT16 / INT4 → FLOAT16 decode', () => decInt4(), true],
  ['BFLOAT16 / INT4 → BFLOAT16 decode', () => decInt4({ qd: 'BFLOAT16', od: 'BFLOAT16' }, { keyAntiquantScale: T([1, 2, 1, 64], 'BFLOAT16'), valueAntiquantScale: T([1, 2, 1, 64], 'BFLOAT16') }), true],
  ['INT8 / INT8 → INT8', () => preInt8({ od: 'INT8' }, { quantScale2: T([1], 'FLOAT32') }), true],
  ['INT8 / INT8 → FLOAT16', () => preInt8({ od: 'FLOAT16' }), true],
  ['FLOAT32 / FLOAT32 → FLOAT32 prefill', () => make({ qd: 'FLOAT32', kd: 'FLOAT32', od: 'FLOAT32' }), true],
  ['FLOAT32 / FLOAT32 → FLOAT32 decode', () => dec({ qd: 'FLOAT32', kd: 'FLOAT32', od: 'FLOAT32' }), true],
  // layouts, GQA, lengths
  ['BSH prefill', () => make({ layout: 'BSH' }), true],
  ['BSND decode', () => dec({ layout: 'BSND' }), true],
  ['BNSD_BSND prefill', () => make({ layout: 'BNSD_BSND' }), true],
  ['BNSD_BSND decode D 64', () => dec({ layout: 'BNSD_BSND' }), true],
  ['Q_S > 1 D 80', () => make({ D: 80 }), true],
  ['decode D 72 (no alignment)', () => dec({ D: 72 }), true],
  ['actualSeqLengths of length 6 with B 4', () => make({ B: 4 }, { actualSeqLengths: ints(1, 2, 3, 4, 999, -5) }), true],
  ['actualSeqLengths ignored when Q_S == 1', () => dec({}, { actualSeqLengths: ints(999, -3, 7) }), true],
  ['tensor-list KV with per-entry S', () => listKv({}, [100, 300], { actualSeqLengthsKv: ints(100, 250) }), true],
  ['tensor-list KV decode', () => listKv({ Q_S: 1 }, [100, 300]), true],
  ['key/value with S = 0', () => make({ KV_S: 0 }), true],
  // masks, sparse modes, pre/next
  ['mode 0 masks (128,256), (1,128,256), (2,1,144,272)', () => make({}, { attenMask: mask([2, 1, 144, 272], 'UINT8') }), true],
  ['mode 0 mask (1,128,256) INT8', () => make({}, { attenMask: mask([1, 128, 256], 'INT8') }), true],
  ['mode 0 band (10, -5)', () => make({}, { attenMask: mask([128, 256]), preTokens: 10, nextTokens: -5 }), true],
  ['mode 0 pre/next ignored with a padding tensor', () => make({}, { attenMask: mask([128, 256]), preTokens: -10, nextTokens: -10, kvPaddingSize: T([1], 'INT64') }), true],
  ['mode 0 pre/next ignored without a mask', () => make({}, { preTokens: -10, nextTokens: -10 }), true],
  ['mode 1 ignores pre/next', () => make({}, { sparseMode: 1, attenMask: mask([128, 256]), preTokens: -10, nextTokens: -10 }), true],
  ['mode 2 (2048,2048)', () => make({}, { sparseMode: 2, attenMask: M2048() }), true],
  ['mode 3 (1,2048,2048)', () => make({}, { sparseMode: 3, attenMask: mask([1, 2048, 2048]) }), true],
  ['mode 4 (1,1,2048,2048)', () => make({}, { sparseMode: 4, attenMask: mask([1, 1, 2048, 2048]), preTokens: 10, nextTokens: 0 }), true],
  ['decode ignores sparseMode and pre/next', () => dec({}, { sparseMode: 9, preTokens: -5, nextTokens: -5 }), true],
  ['decode mask (1,1,1,256) broadcasts', () => dec({}, { attenMask: mask([1, 1, 1, 256]) }), true],
  ['0-element mask counts as absent', () => make({}, { attenMask: mask([0, 256], 'FLOAT16') }), true],
  // pse, padding, prefix, paging
  ['pse (1,8,112,224)... (2,8,128,256)', () => make({}, { pseShift: T([2, 8, 128, 256]) }), true],
  ['decode pse (1,8,1,256)', () => dec({}, { pseShift: T([1, 8, 1, 256]) }), true],
  ['query left padding', () => make({}, { queryPaddingSize: T([1], 'INT64'), actualSeqLengths: ints(100) }), true],
  ['queryPaddingSize ignored when Q_S == 1', () => dec({}, { queryPaddingSize: T([3], 'INT32') }), true],
  ['an inactive padding size is not read: no COPY_SRC needed', () => make({}, { kvPaddingSize: T([1], 'INT64', { usage: 0 }) }), true],
  ['queryPaddingSize at Q_S == 1 is not read: any usage', () => dec({}, { queryPaddingSize: T([1], 'INT32', { usage: 0 }) }), true],
  ['shared prefix with actualSharedPrefixLen', () => prefix({}, 512, { actualSharedPrefixLen: ints(512) }), true],
  ['decode prefix with 0 elements (P = 0)', () => prefix({ Q_S: 1 }, 0), true],
  ['paged decode FLOAT16', () => paged(), true],
  ['paged decode BNSD cache', () => paged({}, {}, [8, 2, 128, 64]), true],
  ['paged prefill blockSize 128', () => paged({ Q_S: 128 }, { actualSeqLengthsKv: ints(300, 500) }), true],
  // antiquant modes at Q_S == 1
  ['decode combined per-token', () => decInt8({}, { antiquantMode: 1, antiquantScale: T([2, 2, 256], 'FLOAT32'), antiquantOffset: T([2, 2, 256], 'FLOAT32') }), true],
  ['decode separate mode 2', () => dec({ kd: 'INT8' }, { keyAntiquantMode: 2, valueAntiquantMode: 2, keyAntiquantScale: T([2]), valueAntiquantScale: T([2]) }), true],
  ['decode separate mode 3 INT4', () => decInt4({}, { keyAntiquantMode: 3, valueAntiquantMode: 3, keyAntiquantScale: T([2, 2, 256], 'FLOAT32'), valueAntiquantScale: T([2, 2, 256], 'FLOAT32') }), true],
  ['decode separate mode 4 paged', () => paged({ kd: 'INT8' }, { keyAntiquantMode: 4, valueAntiquantMode: 4, keyAntiquantScale: T([8, 128], 'FLOAT32'), valueAntiquantScale: T([8, 128], 'FLOAT32') }), true],
  ['decode separate mode 5 paged', () => paged({ kd: 'INT8' }, { keyAntiquantMode: 5, valueAntiquantMode: 5, keyAntiquantScale: T([8, 2, 128], 'FLOAT32'), valueAntiquantScale: T([8, 2, 128], 'FLOAT32') }), true],
  ['decode key 0 + value 1 INT8', () => dec({ kd: 'INT8' }, { valueAntiquantMode: 1, keyAntiquantScale: T([1, 2, 64]), valueAntiquantScale: T([2, 256], 'FLOAT32') }), true],
  ['separate params win over combined', () => decInt4({}, { antiquantScale: T([7], 'FLOAT32'), antiquantMode: 9 }), true],
  // quant output, misc
  ['INT8 out per-channel [1,1,H] BSH', () => outInt8({ layout: 'BSH' }, { quantScale2: T([1, 1, 512], 'FLOAT32'), quantOffset2: T([1, 1, 512], 'FLOAT32') }), true],
  ['softmaxLse [B,N,Q_S,1]', () => make({}, { softmaxLseFlag: true, softmaxLse: T([2, 8, 128, 1], 'FLOAT32') }), true],
  ['softmaxLse unchecked when the flag is false', () => make({}, { softmaxLse: T([3], 'BOOL', { format: 'NZ' }) }), true],
  ['scaleValue NaN passes', () => make({}, { scaleValue: NaN }), true],
  ['innerPrecise 3 prefill, 1 decode', () => make({}, { innerPrecise: 3 }), true],
  ['numKeyValueHeads 0 means numHeads', () => make({ KV_N: 8 }), true],
  ['G 64', () => make({ N: 64, KV_N: 1, D: 16, Q_S: 16, KV_S: 16 }), true],
];

// ---------------------------------------------------------------------------------------------

beforeAll(() => {
  aclrtSetDevice(FAKE_DEVICE);
});

describe('validation: rejected calls (VALIDATION.md §1-19)', () => {
  it.each(REJECTED)('%s', (_name, build, status, fragment) => {
    const r = fiaGetWorkspaceSize(build());
    const msg = aclGetRecentErrMsg();
    expect(r.status, msg).toBe(status);
    expect(r.executor).toBeNull();
    expect(r.workspaceSize).toBe(0);
    expect(msg).toContain(fragment);
  });

  it('messages read parameter=value: rule', () => {
    const r = fiaGetWorkspaceSize(make({ N: 32, KV_N: 6 }));
    expect(r.status).toBe(IV);
    expect(aclGetRecentErrMsg()).toBe('numKeyValueHeads=6: numHeads 32 is not a multiple');
    fiaGetWorkspaceSize(make({}, { inputLayout: 'TND' }));
    expect(aclGetRecentErrMsg()).toMatch(/^inputLayout="TND": /);
  });

  it('the doc-listed non-contiguous tensors are rejected without "(port)", the others with it', () => {
    fiaGetWorkspaceSize(make({}, { query: T([2, 8, 128, 64], 'FLOAT16', { strides: [65536, 64, 512, 1], size: 262144 }) }));
    expect(aclGetRecentErrMsg()).not.toContain('(port)');
    fiaGetWorkspaceSize(outInt8({}, { quantScale2: T([8, 64], 'FLOAT32', { strides: [1, 8], size: 2048 }) }));
    expect(aclGetRecentErrMsg()).toContain('(port)');
  });

  it('161001 comes before every 161002 rule', () => {
    const r = fiaGetWorkspaceSize(make({}, { key: null, numHeads: 0, inputLayout: 'TND' }));
    expect(r.status).toBe(NP);
  });
});

describe('validation: an empty attentionOut succeeds with nothing else checked', () => {
  it('returns success, workspace 0, whatever the other parameters', () => {
    const r = fiaGetWorkspaceSize(make({}, {
      attentionOut: T([2, 8, 0, 64]), query: T([2, 8, 0, 64]), numHeads: 0, inputLayout: 'TND', sparseMode: 99,
    }));
    expect(r.status, aclGetRecentErrMsg()).toBe(0);
    expect(r.workspaceSize).toBe(0);
    expect(r.executor).not.toBeNull();
  });

  it('still reports 161001 first', () => {
    expect(fiaGetWorkspaceSize(make({}, { attentionOut: T([0]), value: null })).status).toBe(NP);
  });
});

describe('validation: accepted calls', () => {
  it.each(ACCEPTED)('%s', (_name, build, kernel) => {
    const x = build();
    expect(() => validate(x)).not.toThrow();
    const r = fiaGetWorkspaceSize(x);
    const msg = aclGetRecentErrMsg();
    if (kernel) {
      expect(r.status, msg).toBe(0);
    } else {
      expect([0, ACLNN_ERR_INNER_NOT_SUPPORTED], msg).toContain(r.status);
    }
    if (r.status === 0) {
      expect(r.executor).not.toBeNull();
      expect(Number.isInteger(r.workspaceSize) && r.workspaceSize >= 0 && r.workspaceSize % 4 === 0).toBe(true);
      expect(r.workspaceSize).toBeLessThan(64 << 20);
      if (x.query!.shape.length === 4 && r.executor!.problem!.isDecode) expect(r.workspaceSize).toBeGreaterThan(0);
    } else {
      expect(msg).toMatch(/^not supported on the WebGPU path yet: /);
    }
  });
});

describe('GetWorkspaceSize without a current device', () => {
  it('returns 361001 naming aclrtSetDevice', () => {
    aclrtResetDevice();
    try {
      const r = fiaGetWorkspaceSize(make());
      expect(r.status).toBe(ACLNN_ERR_RUNTIME_ERROR);
      expect(aclGetRecentErrMsg()).toContain('aclrtSetDevice');
    } finally {
      aclrtSetDevice(FAKE_DEVICE);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Robustness: seeded random mutations of valid calls never throw and never give anything but
// 0, 161001, 161002 or 561101 (a statusless crash or an "internal error" would be a validation gap).


const FIELDS: (keyof FiaInputs)[] = [
  'query', 'key', 'value', 'pseShift', 'attenMask', 'actualSeqLengths', 'actualSeqLengthsKv', 'deqScale1', 'quantScale1',
  'deqScale2', 'quantScale2', 'quantOffset2', 'antiquantScale', 'antiquantOffset', 'blockTable', 'queryPaddingSize',
  'kvPaddingSize', 'keyAntiquantScale', 'keyAntiquantOffset', 'valueAntiquantScale', 'valueAntiquantOffset',
  'keySharedPrefix', 'valueSharedPrefix', 'actualSharedPrefixLen', 'numHeads', 'scaleValue', 'preTokens', 'nextTokens',
  'inputLayout', 'numKeyValueHeads', 'sparseMode', 'innerPrecise', 'blockSize', 'antiquantMode', 'softmaxLseFlag',
  'keyAntiquantMode', 'valueAntiquantMode', 'attentionOut', 'softmaxLse',
];
const DTYPES: DataType[] = ['FLOAT32', 'FLOAT16', 'BFLOAT16', 'INT8', 'UINT8', 'INT4', 'INT32', 'INT64', 'UINT64', 'BOOL'];

function randomValue(rand: () => number): unknown {
  const pick = <V>(xs: readonly V[]): V => xs[Math.floor(rand() * xs.length)]!;
  const dims = [0, 1, 2, 3, 8, 16, 64, 128, 256, 2048, -1];
  const shape = () => Array.from({ length: Math.floor(rand() * 6) }, () => pick(dims));
  const tensor = () => {
    const s = shape();
    return rand() < 0.8 && s.every((d) => d >= 0) ? T(s, pick(DTYPES)) : aclCreateTensor(s, pick(DTYPES), fakeBuffer(Math.floor(rand() * 4096)));
  };
  switch (Math.floor(rand() * 12)) {
    case 0: return null;
    case 1: return undefined;
    case 2: return pick([0, 1, -1, 2, 3, 4, 5, 8, 128, 1.5, NaN, Infinity, -INT_MAX, 2 ** 53]);
    case 3: return pick(['BSH', 'BSND', 'BNSD', 'BNSD_BSND', 'TND', '', 'x']);
    case 4: return pick([true, false, 'yes', {}]);
    case 5: case 6: return tensor();
    case 7: return list(...Array.from({ length: Math.floor(rand() * 4) }, () => (rand() < 0.1 ? null : tensor())));
    case 8: return ints(...Array.from({ length: Math.floor(rand() * 4) }, () => pick([0, 1, 100, 256, -3, 1.5, 513])));
    case 9: return { kind: 'tensor', shape: 'bad' };
    case 10: return [1, 2];
    default: return aclCreateTensor(shape(), pick(DTYPES), fakeBuffer(0), { strides: [1, 2, 3], offset: -2 });
  }
}

describe('validation: random mutations never crash', () => {
  const bases: [string, () => FiaInputs][] = [
    ['prefill', () => make()], ['decode', () => dec()], ['paged', () => paged()], ['list', () => listKv({}, [100, 300])],
    ['prefix', () => prefix({}, 16)], ['int4', () => decInt4()], ['int8', () => preInt8()], ['out int8', () => outInt8()],
    ['sep', () => preSep()], ['mask', () => make({}, { attenMask: mask([128, 256]) })],
  ];
  it('2000 seeded mutations of 1-3 fields', () => {
    const rand = mulberry32(20261125);
    const allowed = [0, NP, IV, ACLNN_ERR_INNER_NOT_SUPPORTED];
    for (let i = 0; i < 2000; i++) {
      const [baseName, build] = bases[i % bases.length]!;
      const x = build() as unknown as Record<string, unknown>;
      const changed: string[] = [];
      const count = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < count; c++) {
        const f = FIELDS[Math.floor(rand() * FIELDS.length)]!;
        x[f] = randomValue(rand);
        changed.push(f);
      }
      let status: number;
      try {
        status = fiaGetWorkspaceSize(x as unknown as FiaInputs).status;
      } catch (e) {
        throw new Error(`mutation ${i} (${baseName}: ${changed.join(', ')}) threw: ${String(e)}`);
      }
      expect(allowed, `mutation ${i} (${baseName}: ${changed.join(', ')}): ${status} ${aclGetRecentErrMsg()}`).toContain(status);
      if (status !== 0) expect(aclGetRecentErrMsg().length).toBeGreaterThan(0);
    }
  });
});
