// The "ours" runner: the operator through its two-phase CANN API, as a caller would use it per call:
//   aclnnFusedInferAttentionScoreV2GetWorkspaceSize(...)  (validate, normalize, plan)  +
//   aclnnFusedInferAttentionScoreV2(workspace, size, executor, stream)                 (encode, one submit)
// Inputs (query/key/value BNSD, or a paged cache / int8 K/V with per-channel antiquant scales), the
// output and the workspace are allocated once per case; only the two calls are timed.
import type { DataType } from '../src/codec/dtype.js';
import { ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createBuffer, createEmptyTensor, createTensor, readTensor, type Tensor,
} from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../src/fia/api.js';
import { INT_MAX, type FiaInputs } from '../src/problem/problem.js';
import type { BenchCase, CaseInputs } from './cases.js';
import { rng, tolerance } from './cases.js';
import { type PreparedRun, type Runner, UnsupportedCaseError } from './core.js';

/** sparseMode 2-4 take this fixed lower-triangular mask (SEMANTICS §4). */
const CAUSAL_MASK_SIZE = 2048;
/** Spare blocks in the paged cache, so block ids are not simply 0..n−1. */
const SPARE_BLOCKS = 3;

const causalMasks = new WeakMap<GPUDevice, Tensor>();

/** The (2048, 2048) BOOL mask with 1 (masked) strictly above the diagonal, shared per device. */
function causalMask(stream: Stream): Tensor {
  let m = causalMasks.get(stream.device);
  if (!m) {
    const n = CAUSAL_MASK_SIZE;
    const values = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) values.fill(1, i * n + i + 1, (i + 1) * n);
    m = createTensor(stream, values, [n, n], 'BOOL', 'bench.causalMask');
    causalMasks.set(stream.device, m);
  }
  return m;
}

/** A shuffled block table over a cache with spare blocks; returns the table and the (blockNum, bs, KV_N·D) cache. */
function pagedCache(c: BenchCase, x: Float64Array, table: Int32Array, blockNum: number): Float64Array {
  const bs = c.blockSize!;
  const { batch: B, numKvHeads: KVN, kvSeqLen: S, headDim: D } = c;
  const perSeq = Math.ceil(S / bs);
  const cache = new Float64Array(blockNum * bs * KVN * D);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < S; p++) {
      const block = table[b * perSeq + Math.floor(p / bs)]!;
      const row = (block * bs + (p % bs)) * KVN * D;
      for (let h = 0; h < KVN; h++) {
        const src = ((b * KVN + h) * S + p) * D;
        for (let d = 0; d < D; d++) cache[row + h * D + d] = x[src + d]!;
      }
    }
  }
  return cache;
}

function shuffledTable(c: BenchCase): { table: Int32Array; blockNum: number } {
  const perSeq = Math.ceil(c.kvSeqLen / c.blockSize!);
  const blockNum = c.batch * perSeq + SPARE_BLOCKS;
  const ids = Array.from({ length: blockNum }, (_, i) => i);
  const r = rng(77);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(((r() + 1) / 2) * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return { table: Int32Array.from(ids.slice(0, c.batch * perSeq)), blockNum };
}

/** The operator's inputs for one case (BNSD layout; outputs in the query dtype). */
export function buildInputs(stream: Stream, c: BenchCase, x: CaseInputs): { inputs: FiaInputs; owned: Tensor[] } {
  const dtype: DataType = c.dtype;
  const { batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: Sq, kvSeqLen: Skv, headDim: D } = c;
  const owned: Tensor[] = [];
  const make = (values: ArrayLike<number>, shape: number[], dt: DataType, label: string) => {
    const t = createTensor(stream, values, shape, dt, label);
    owned.push(t);
    return t;
  };
  const query = make(x.q, [B, N, Sq, D], dtype, 'bench.q');
  const attentionOut = createEmptyTensor(stream, [B, N, Sq, D], dtype, 'bench.out');
  owned.push(attentionOut);
  const inputs: FiaInputs = {
    query, key: null, value: null, numHeads: N, scaleValue: x.scaleValue, preTokens: INT_MAX, nextTokens: INT_MAX,
    inputLayout: 'BNSD', numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0,
    softmaxLseFlag: false, keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut, softmaxLse: null,
  };
  if (c.causal) {
    inputs.sparseMode = 3; // right-down causal: j ≤ i + Skv − Sq, the bench's convention
    inputs.attenMask = causalMask(stream);
  }
  // The named wrapper's extension, handed on as fusedInferAttentionScore does.
  if (c.slidingWindow) inputs.extensions = { slidingWindow: c.slidingWindow };
  if (c.kvStorage === 'paged') {
    const { table, blockNum } = shuffledTable(c);
    const perSeq = table.length / B;
    inputs.key = aclCreateTensorList([make(pagedCache(c, x.k, table, blockNum), [blockNum, c.blockSize!, KVN * D], dtype, 'bench.kcache')]);
    inputs.value = aclCreateTensorList([make(pagedCache(c, x.v, table, blockNum), [blockNum, c.blockSize!, KVN * D], dtype, 'bench.vcache')]);
    inputs.blockTable = make(table, [B, perSeq], 'INT32', 'bench.blockTable');
    inputs.blockSize = c.blockSize!;
    inputs.actualSeqLengthsKv = aclCreateIntArray(new Array<number>(B).fill(Skv));
  } else if (c.kvStorage === 'int8') {
    const q8 = x.int8!;
    inputs.key = aclCreateTensorList([make(q8.k, [B, KVN, Skv, D], 'INT8', 'bench.k8')]);
    inputs.value = aclCreateTensorList([make(q8.v, [B, KVN, Skv, D], 'INT8', 'bench.v8')]);
    const scales = new Float64Array(2 * KVN * D);
    scales.set(q8.kScale, 0);
    scales.set(q8.vScale, KVN * D);
    inputs.antiquantScale = make(scales, [2, KVN, 1, D], dtype, 'bench.antiquantScale');
    inputs.antiquantMode = 0;
  } else {
    inputs.key = aclCreateTensorList([make(x.k, [B, KVN, Skv, D], dtype, 'bench.k')]);
    inputs.value = aclCreateTensorList([make(x.v, [B, KVN, Skv, D], dtype, 'bench.v')]);
  }
  return { inputs, owned };
}

export async function prepareOurs(device: GPUDevice, c: BenchCase, x: CaseInputs): Promise<PreparedRun> {
  const stream = createStream(device);
  aclrtSetDevice(device);
  const { inputs, owned } = buildInputs(stream, c, x);
  const destroy = () => owned.forEach((t) => t.buffer.destroy());
  const first = fiaGetWorkspaceSize(inputs);
  if (first.status !== ACLNN_SUCCESS) {
    destroy();
    const msg = `GetWorkspaceSize: status ${first.status}: ${aclGetRecentErrMsg()}`;
    throw first.status === ACLNN_ERR_INNER_NOT_SUPPORTED ? new UnsupportedCaseError(msg) : new Error(msg);
  }
  const workspaceSize = first.workspaceSize;
  const workspace = workspaceSize > 0 ? createBuffer(stream, workspaceSize, 'bench.workspace') : null;
  return {
    tolerance: tolerance(c),
    run() {
      const ws = fiaGetWorkspaceSize(inputs);
      const status = ws.status === ACLNN_SUCCESS
        ? aclnnFusedInferAttentionScoreV2(workspace, workspaceSize, ws.executor, stream)
        : ws.status;
      if (status !== ACLNN_SUCCESS) throw new Error(`status ${status}: ${aclGetRecentErrMsg()}`);
    },
    async steady() {
      const ws = fiaGetWorkspaceSize(inputs);
      const status = ws.status === ACLNN_SUCCESS ? await ws.executor!.prepare('steady') : ws.status;
      if (status !== ACLNN_SUCCESS) throw new Error(`prepare: status ${status}: ${aclGetRecentErrMsg()}`);
    },
    async readOutput() {
      // Device errors the executor's own scopes caught surface here (361001), not as WebGPU errors.
      const sync = await aclrtSynchronizeStream(stream);
      if (sync !== ACLNN_SUCCESS) throw new Error(`aclrtSynchronizeStream: status ${sync}: ${aclGetRecentErrMsg()}`);
      return readTensor(stream, inputs.attentionOut!);
    },
    dispose() {
      destroy();
      workspace?.destroy();
    },
  };
}

export const oursRunner: Runner = {
  id: 'ours',
  label: 'webgpu-fia (two-phase API per call)',
  prepare: prepareOurs,
};

