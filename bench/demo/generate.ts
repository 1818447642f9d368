// A generation demo (not part of the library): a tiny decoder-only transformer with seeded random
// weights whose attention runs through this operator, over a paged KV cache.
//
//   model      vocab 64, d_model 64, 2 layers, 4 query heads over 2 KV heads (GQA), head dim 16,
//              RMSNorm, ReLU MLP, no positional encoding; projections, MLP and sampling on the CPU
//              (float64); K/V caches, queries and attention outputs FLOAT16 on the device.
//   KV cache   per layer a paged pool (numBlocks, blockSize 16, KV_N·D); one block table shared by
//              the layers, filled by a block allocator as sequences grow (the table is rewritten in
//              place: the planned executors read its current contents).
//   steps      per layer one decode executor planned once for the cache's capacity; per step (one
//              position of every sequence): setActualSeqLengthsKv, record into an encoder, submit
//              (the CPU then needs the output). The prompts (different lengths) are consumed the
//              same way, one position per step (the Q_S > 1 prefill kernel over a paged cache
//              compiled too slowly on the software adapter for a demo); past its prompt a sequence
//              feeds back its sampled token.
//              softmaxLseFlag is on: the LSE is what an application merges partial attention by.
import { encodeValues } from '../../src/codec/index.js';
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../../src/acl/status.js';
import { aclrtSynchronizeStream, type Stream } from '../../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createEmptyTensor, createTensor, readTensor, type Tensor,
} from '../../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../../src/fia/api.js';
import type { FiaExecutor } from '../../src/fia/executor.js';
import { readHostInputs } from '../../src/fia/hostInputs.js';
import { normalize } from '../../src/fia/normalize.js';
import type { FiaInputs } from '../../src/problem/problem.js';
import { attentionReference, compareOutputs } from '../../src/reference/index.js';
import { mulberry32 } from '../../src/reference/random.js';

export const CONFIG = { vocab: 64, dModel: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, blockSize: 16, maxBlocksPerSeq: 16, mlp: 128 };
const { vocab: V, dModel: H, heads: N, kvHeads: KVN, headDim: D, blockSize: BS, maxBlocksPerSeq: MB } = CONFIG;
const HKV = KVN * D;

type Mat = { rows: number; cols: number; w: Float64Array };

function matrix(rand: () => number, rows: number, cols: number): Mat {
  const s = 1 / Math.sqrt(rows);
  return { rows, cols, w: Float64Array.from({ length: rows * cols }, () => (rand() * 2 - 1) * s * 1.7) };
}

/** x[n, rows] · m → [n, cols]. */
function matmul(x: Float64Array, n: number, m: Mat): Float64Array {
  const out = new Float64Array(n * m.cols);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < m.rows; k++) {
      const a = x[i * m.rows + k]!;
      if (a === 0) continue;
      for (let j = 0; j < m.cols; j++) out[i * m.cols + j] += a * m.w[k * m.cols + j]!;
    }
  }
  return out;
}

function rmsnorm(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < H; j++) ss += x[i * H + j]! ** 2;
    const r = 1 / Math.sqrt(ss / H + 1e-6);
    for (let j = 0; j < H; j++) out[i * H + j] = x[i * H + j]! * r;
  }
  return out;
}

interface Layer { wq: Mat; wk: Mat; wv: Mat; wo: Mat; w1: Mat; w2: Mat }

/** Free block ids of a pool; each sequence owns a list of blocks (its block-table row). */
export class BlockAllocator {
  private readonly free: number[];
  constructor(numBlocks: number) {
    this.free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }
  alloc(): number {
    const b = this.free.pop();
    if (b === undefined) throw new Error('KV cache full');
    return b;
  }
  release(ids: readonly number[]): void {
    this.free.push(...ids);
  }
}

export interface StepCheck { step: number; layer: number; out: string; lse: string; ok: boolean }

export interface GenerateResult {
  tokens: number[][];
  /** Steps timed (all but the first, which plans and records); a step is one position of every sequence. */
  timedSteps: number;
  hostMsPerToken: number;
  gpuMsPerToken: number;
  tokensPerSecond: number;
  /** Wall time until every prompt was consumed (the prefill). */
  promptMs: number;
  checks: StepCheck[];
}

function check(status: number, what: string): void {
  if (status !== ACLNN_SUCCESS) throw new Error(`${what}: status ${status}: ${aclGetRecentErrMsg()}`);
}

/**
 * Generates `steps` tokens after each prompt (batch = prompts.length). `checkSteps`: the first
 * decode steps whose attention outputs (every layer) are compared with the float64 reference.
 */
export async function generate(stream: Stream, prompts: number[][], steps: number, opts: { seed?: number; checkSteps?: readonly number[]; trace?: (what: string) => void } = {}): Promise<GenerateResult> {
  const device = stream.device;
  const trace = opts.trace ?? ((): void => undefined);
  const rand = mulberry32(opts.seed ?? 7);
  const embed = matrix(rand, V, H);
  const layers: Layer[] = Array.from({ length: CONFIG.layers }, () => ({
    wq: matrix(rand, H, N * D), wk: matrix(rand, H, HKV), wv: matrix(rand, H, HKV), wo: matrix(rand, N * D, H),
    w1: matrix(rand, H, CONFIG.mlp), w2: matrix(rand, CONFIG.mlp, H),
  }));
  const head = matrix(rand, H, V);
  const B = prompts.length;
  const numBlocks = B * MB + 2;
  const allocator = new BlockAllocator(numBlocks);
  const table = new Int32Array(B * MB);
  const owned: number[][] = prompts.map(() => []);
  const lens = prompts.map(() => 0);
  const zeros = (n: number): Float64Array => new Float64Array(n);
  const kCache = layers.map(() => createTensor(stream, zeros(numBlocks * BS * HKV), [numBlocks, BS, HKV], 'FLOAT16'));
  const vCache = layers.map(() => createTensor(stream, zeros(numBlocks * BS * HKV), [numBlocks, BS, HKV], 'FLOAT16'));
  const blockTable = createTensor(stream, table, [B, MB], 'INT32');

  /** Appends one K/V row per layer for sequence b at its next position (allocating a block when needed). */
  const slotOf = (b: number): number => {
    const p = lens[b]!;
    if (p % BS === 0) {
      const id = allocator.alloc();
      owned[b]!.push(id);
      table[b * MB + p / BS] = id;
      stream.queue.writeBuffer(blockTable.buffer, 0, table);
    }
    lens[b] = p + 1;
    return table[b * MB + Math.floor(p / BS)]! * BS + (p % BS);
  };
  const writeRows = (cache: Tensor, slot: number, row: Float64Array): void => {
    stream.queue.writeBuffer(cache.buffer, slot * HKV * 2, encodeValues('FLOAT16', row) as Uint8Array<ArrayBuffer>);
  };

  // Residual streams of the last token per sequence.
  const base = (Q: number, q: Tensor, out: Tensor, lse: Tensor, l: number, kvLens: number[], extra: Partial<FiaInputs>): FiaInputs => ({
    query: q, key: aclCreateTensorList([kCache[l]!]), value: aclCreateTensorList([vCache[l]!]),
    blockTable, blockSize: BS, actualSeqLengthsKv: aclCreateIntArray(kvLens),
    numHeads: N, numKeyValueHeads: KVN, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647,
    inputLayout: 'BSH', sparseMode: 0, innerPrecise: 0, antiquantMode: 0, softmaxLseFlag: true,
    keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: out, softmaxLse: lse, ...extra,
  });

  // ---- the prompts go through the same decode executors, one position per step (prefill of a
  // sequence is its steps before its first generated token); a sequence past its prompt feeds back
  // its last sampled token. Steps: until every sequence has `steps` generated tokens.
  const t0 = performance.now();
  const totalSteps = Math.max(...prompts.map((p) => p.length - 1 + steps));
  const promptSteps = Math.max(...prompts.map((p) => p.length)) - 1;
  let next = prompts.map((p) => p[0]!);
  const q1 = createEmptyTensor(stream, [B, 1, N * D], 'FLOAT16');
  const o1 = layers.map(() => createEmptyTensor(stream, [B, 1, N * D], 'FLOAT16'));
  const lse1 = layers.map(() => createEmptyTensor(stream, [B, N, 1, 1], 'FLOAT32'));
  const decodeInputs = layers.map((_, l) => base(1, q1, o1[l]!, lse1[l]!, l, lens.map((n) => n + 1), {}));
  const executors: { ex: FiaExecutor; ws: GPUBuffer }[] = [];
  const tokens: number[][] = prompts.map(() => []);
  const checks: StepCheck[] = [];
  let hostMs = 0;
  let gpuMs = 0;
  let timed = 0;
  let promptMs = 0;
  for (let step = 0; step < totalSteps; step++) {
    const s0 = performance.now();
    let gpu = 0;
    let xs: Float64Array = new Float64Array(B * H);
    next.forEach((t, b) => xs.set(embed.w.subarray(t * H, t * H + H), b * H));
    const newSlots = next.map((_, b) => slotOf(b));
    for (let l = 0; l < layers.length; l++) {
      const L = layers[l]!;
      const h = rmsnorm(xs, B);
      const q = matmul(h, B, L.wq);
      const k = matmul(h, B, L.wk);
      const v = matmul(h, B, L.wv);
      newSlots.forEach((slot, b) => {
        writeRows(kCache[l]!, slot, k.subarray(b * HKV, (b + 1) * HKV));
        writeRows(vCache[l]!, slot, v.subarray(b * HKV, (b + 1) * HKV));
      });
      stream.queue.writeBuffer(q1.buffer, 0, encodeValues('FLOAT16', q) as Uint8Array<ArrayBuffer>);
      if (!executors[l]) {
        const r = fiaGetWorkspaceSize(decodeInputs[l]!);
        check(r.status, `decode layer ${l}`);
        executors[l] = { ex: r.executor!, ws: device.createBuffer({ size: Math.max(4, r.workspaceSize), usage: 0x80 | 0x08 | 0x04 }) };
      }
      const { ex, ws } = executors[l]!;
      check(ex.setActualSeqLengthsKv(lens), 'setActualSeqLengthsKv');
      const encoder = device.createCommandEncoder();
      check(aclnnFusedInferAttentionScoreV2(ws, ex.workspaceSize, ex, stream, encoder), 'decode run');
      const g0 = performance.now();
      device.queue.submit([encoder.finish()]);
      const attn = await readTensor(stream, o1[l]!);
      gpu += performance.now() - g0;
      trace(`decode step ${step} layer ${l}: done`);
      if (opts.checkSteps?.includes(step)) checks.push(await checkStep(stream, { ...decodeInputs[l]!, actualSeqLengthsKv: aclCreateIntArray(lens) }, attn, step, l));
      xs = residual(xs, attn, B, L);
    }
    // Position `step` of sequence b: inside its prompt the next input is the prompt's next token,
    // after it the sampled one (also its output).
    next = Array.from({ length: B }, (_, b) => {
      const p = prompts[b]!;
      if (step + 1 < p.length) return p[step + 1]!;
      const t = argmax(logits(xs.subarray(b * H, (b + 1) * H), head));
      if (tokens[b]!.length < steps) tokens[b]!.push(t);
      return t;
    });
    if (step + 1 === promptSteps) promptMs = performance.now() - t0;
    if (step > 0) {
      hostMs += performance.now() - s0 - gpu;
      gpuMs += gpu;
      timed++;
    }
  }
  check(await aclrtSynchronizeStream(stream), 'decode');
  for (const e of executors) e.ws.destroy();
  owned.forEach((ids) => allocator.release(ids));
  for (const t of [...kCache, ...vCache, blockTable, q1, ...o1, ...lse1]) t.buffer.destroy();
  const perToken = timed > 0 ? (hostMs + gpuMs) / timed : 0;
  return {
    tokens, timedSteps: timed, promptMs, checks,
    hostMsPerToken: timed > 0 ? hostMs / timed : 0, gpuMsPerToken: timed > 0 ? gpuMs / timed : 0,
    tokensPerSecond: perToken > 0 ? (1000 * B) / perToken : 0,
  };
}

/** x + attn·Wo, then + MLP(rmsnorm(x)). */
function residual(x: Float64Array, attn: Float64Array, n: number, L: Layer): Float64Array {
  const y = Float64Array.from(x);
  const o = matmul(attn, n, L.wo);
  for (let i = 0; i < y.length; i++) y[i] += o[i]!;
  const hidden = matmul(rmsnorm(y, n), n, L.w1).map((a) => Math.max(0, a));
  const m = matmul(hidden, n, L.w2);
  for (let i = 0; i < y.length; i++) y[i] += m[i]!;
  return y;
}

function logits(x: Float64Array, head: Mat): Float64Array {
  return matmul(rmsnorm(x, 1), 1, head);
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** One decode layer's attentionOut and softmaxLse against the float64 reference on the device's current inputs. */
async function checkStep(stream: Stream, inputs: FiaInputs, out: Float64Array, step: number, layer: number): Promise<StepCheck> {
  const problem = normalize(inputs);
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const low = attentionReference(problem, host, { roundTo: 'FLOAT16' });
  const o = compareOutputs(out, ref.attentionOut, low.attentionOut, 1e-3);
  const l = compareOutputs(await readTensor(stream, inputs.softmaxLse!), ref.softmaxLse!, low.softmaxLse, 1e-4);
  return { step, layer, out: o.message, lse: l.message, ok: o.ok && l.ok };
}
