// A generation demo (not part of the library): a tiny decoder-only transformer with seeded random
// weights whose attention runs through this operator, over a paged KV cache.
//
//   model      vocab 64, d_model 64, 2 layers, 4 query heads over 2 KV heads (GQA), head dim 16,
//              RMSNorm, ReLU MLP, no positional encoding; projections, MLP and sampling on the CPU
//              (float64); K/V caches, queries and attention outputs FLOAT16 on the device.
//   KV cache   per layer a paged pool (numBlocks, blockSize 128, KV_N·D); one block table shared by
//              the layers, filled by a block allocator as sequences grow (the table is rewritten in
//              place: the planned executors read its current contents). Block size 128: the
//              operator's Q_S > 1 path over a paged cache takes multiples of 128 only.
//   prefill    per layer one Q_S > 1 call over every prompt at once: the queries padded to the
//              longest prompt (BSH, actualSeqLengths = each prompt's length), K/V of every prompt
//              position written into the pool first (actualSeqLengthsKv = the prompt lengths),
//              causal within the prompt (sparseMode 3 with the 2048×2048 mask the mode requires).
//              The last prompt position gives each sequence's first token.
//   decode     per layer one decode executor planned once for the cache's capacity; per step (one
//              new token of every sequence): setActualSeqLengthsKv, record into an encoder, submit
//              (the CPU then needs the output).
//   softmaxLseFlag is on in both: the LSE is what an application merges partial attention by.
import { encodeValues } from '../../src/codec/index.js';
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../../src/acl/status.js';
import { aclrtSynchronizeStream, type Stream } from '../../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createEmptyTensor, createTensor, createTensorFromBytes, readTensor, type Tensor,
} from '../../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../../src/fia/api.js';
import { type FiaExecutor, WORKSPACE_USAGE } from '../../src/fia/executor.js';
import { readHostInputs } from '../../src/fia/hostInputs.js';
import { normalize } from '../../src/fia/normalize.js';
import type { FiaInputs } from '../../src/problem/problem.js';
import { attentionReference, compareOutputs } from '../../src/reference/index.js';
import { mulberry32 } from '../../src/reference/random.js';

export const CONFIG = { vocab: 64, dModel: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, blockSize: 128, maxBlocksPerSeq: 4, mlp: 128 };
const { vocab: V, dModel: H, heads: N, kvHeads: KVN, headDim: D, blockSize: BS, maxBlocksPerSeq: MB } = CONFIG;
const HKV = KVN * D;
/** The (2048, 2048) causal mask sparseModes 2-4 require (the operator computes the predicate itself). */
const CAUSAL_MASK_SIDE = 2048;
/**
 * Absolute error floors of the reference checks (FLOAT16 storage), those of the kernel tests: the
 * tolerance is max(floor, 2 × the error FLOAT16 storage itself causes).
 */
const FLOORS = { prefill: { out: 2e-3, lse: 1e-3 }, decode: { out: 1e-3, lse: 1e-4 } };

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

export interface StepCheck {
  /** 'prefill': the prompts' call; 'decode': decode step `step` (0: the first after the prefill). */
  phase: 'prefill' | 'decode';
  step: number;
  layer: number;
  out: string;
  lse: string;
  ok: boolean;
}

export interface GenerateResult {
  tokens: number[][];
  /** Wall time of the prefill (every layer, from the embeddings to the first tokens; reference checks excluded). */
  prefillMs: number;
  /** Per layer, the prefill call's plan + run + readback (layer 0's includes the pipeline compile). */
  prefillCallMs: number[];
  /** Decode steps timed (all but the first, which plans and records); a step is one token of every sequence. */
  timedSteps: number;
  hostMsPerToken: number;
  gpuMsPerToken: number;
  tokensPerSecond: number;
  checks: StepCheck[];
}

function check(status: number, what: string): void {
  if (status !== ACLNN_SUCCESS) throw new Error(`${what}: status ${status}: ${aclGetRecentErrMsg()}`);
}

/**
 * Generates `steps` tokens after each prompt (batch = prompts.length): the first from the prefill,
 * the others from `steps` − 1 decode steps. The prefill's attention outputs (every layer) are
 * compared with the float64 reference, and so are those of the decode steps in `checkSteps`.
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
  if (prompts.some((p) => p.length === 0) || steps < 1) throw new RangeError('generate: every prompt needs a token, and steps ≥ 1');
  const numBlocks = B * MB + 2;
  const allocator = new BlockAllocator(numBlocks);
  const table = new Int32Array(B * MB);
  const owned: number[][] = prompts.map(() => []);
  const lens = prompts.map(() => 0);
  const zeros = (n: number): Float64Array => new Float64Array(n);
  const kCache = layers.map(() => createTensor(stream, zeros(numBlocks * BS * HKV), [numBlocks, BS, HKV], 'FLOAT16'));
  const vCache = layers.map(() => createTensor(stream, zeros(numBlocks * BS * HKV), [numBlocks, BS, HKV], 'FLOAT16'));
  const blockTable = createTensor(stream, table, [B, MB], 'INT32');
  const buffers: GPUBuffer[] = [...kCache, ...vCache, blockTable].map((t) => t.buffer);
  const tensor = (shape: number[], dtype: 'FLOAT16' | 'FLOAT32'): Tensor => {
    const t = createEmptyTensor(stream, shape, dtype);
    buffers.push(t.buffer);
    return t;
  };

  /** The cache slot of sequence b's next position (allocating a block when it opens one). */
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
  const base = (q: Tensor, out: Tensor, lse: Tensor, l: number, extra: Partial<FiaInputs>): FiaInputs => ({
    query: q, key: aclCreateTensorList([kCache[l]!]), value: aclCreateTensorList([vCache[l]!]),
    blockTable, blockSize: BS, actualSeqLengthsKv: aclCreateIntArray(lens),
    numHeads: N, numKeyValueHeads: KVN, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647,
    inputLayout: 'BSH', sparseMode: 0, innerPrecise: 0, antiquantMode: 0, softmaxLseFlag: true,
    keyAntiquantMode: 0, valueAntiquantMode: 0, attentionOut: out, softmaxLse: lse, ...extra,
  });
  /** Plans a call and gives it a workspace buffer. */
  const plan = (inputs: FiaInputs, what: string): { ex: FiaExecutor; ws: GPUBuffer } => {
    const r = fiaGetWorkspaceSize(inputs);
    check(r.status, what);
    const ws = device.createBuffer({ size: Math.max(4, r.workspaceSize), usage: WORKSPACE_USAGE });
    buffers.push(ws);
    return { ex: r.executor!, ws };
  };
  /** Runs a planned call in its own submit and reads attentionOut back; returns it and the GPU time (submit to readback). */
  const runAndRead = async ({ ex, ws }: { ex: FiaExecutor; ws: GPUBuffer }, out: Tensor, what: string): Promise<{ attn: Float64Array; gpuMs: number }> => {
    const encoder = device.createCommandEncoder();
    check(aclnnFusedInferAttentionScoreV2(ws, ex.workspaceSize, ex, stream, encoder), what);
    const g0 = performance.now();
    device.queue.submit([encoder.finish()]);
    const attn = await readTensor(stream, out);
    return { attn, gpuMs: performance.now() - g0 };
  };
  const checks: StepCheck[] = [];
  const tokens: number[][] = prompts.map(() => []);
  const sample = (x: Float64Array, b: number): number => argmax(logits(x.subarray(b * H, (b + 1) * H), head));

  // ---- prefill: every prompt position of every sequence through each layer, one call per layer.
  // Rows of the CPU side are the prompt positions only ([Σ len, H]); the query is padded to the
  // longest prompt ([B, S, N·D], rows past a prompt's length zero: the operator does not read them).
  const t0 = performance.now();
  const S = Math.max(...prompts.map((p) => p.length));
  const rows = prompts.flatMap((p, b) => p.map((_, i) => ({ b, i })));
  const promptSlots = rows.map(({ b }) => slotOf(b));
  const mask = createTensorFromBytes(stream, causalMask(CAUSAL_MASK_SIDE), [CAUSAL_MASK_SIDE, CAUSAL_MASK_SIDE], 'BOOL');
  buffers.push(mask.buffer);
  const qP = tensor([B, S, N * D], 'FLOAT16');
  const oP = tensor([B, S, N * D], 'FLOAT16');
  const lseP = tensor([B, N, S, 1], 'FLOAT32');
  const prefillCallMs: number[] = [];
  let checking = 0; // time in reference checks: not part of the prefill's or a step's cost
  let xs: Float64Array = new Float64Array(rows.length * H);
  rows.forEach(({ b, i }, r) => xs.set(embedRow(embed, prompts[b]![i]!), r * H));
  for (let l = 0; l < layers.length; l++) {
    const L = layers[l]!;
    const { q, k, v } = project(xs, rows.length, L);
    promptSlots.forEach((slot, r) => {
      writeRows(kCache[l]!, slot, k.subarray(r * HKV, (r + 1) * HKV));
      writeRows(vCache[l]!, slot, v.subarray(r * HKV, (r + 1) * HKV));
    });
    const padded = new Float64Array(B * S * N * D);
    rows.forEach(({ b, i }, r) => padded.set(q.subarray(r * N * D, (r + 1) * N * D), (b * S + i) * N * D));
    stream.queue.writeBuffer(qP.buffer, 0, encodeValues('FLOAT16', padded) as Uint8Array<ArrayBuffer>);
    const inputs = base(qP, oP, lseP, l, { actualSeqLengths: aclCreateIntArray(lens), sparseMode: 3, attenMask: mask });
    const c0 = performance.now();
    const { attn } = await runAndRead(plan(inputs, `prefill layer ${l}`), oP, `prefill layer ${l}`);
    const c1 = performance.now();
    prefillCallMs.push(c1 - c0);
    trace(`prefill layer ${l}: done`);
    checks.push(await checkCall(stream, inputs, attn, 'prefill', 0, l));
    checking += performance.now() - c1;
    const attnRows = new Float64Array(rows.length * N * D);
    rows.forEach(({ b, i }, r) => attnRows.set(attn.subarray((b * S + i) * N * D, (b * S + i + 1) * N * D), r * N * D));
    xs = residual(xs, attnRows, rows.length, L);
  }
  // The last prompt position of each sequence gives its first token.
  const lastRows = new Float64Array(B * H);
  let end = 0;
  prompts.forEach((p, b) => {
    end += p.length;
    lastRows.set(xs.subarray((end - 1) * H, end * H), b * H);
  });
  let next = prompts.map((_, b) => sample(lastRows, b));
  next.forEach((t, b) => tokens[b]!.push(t));
  const prefillMs = performance.now() - t0 - checking;

  // ---- decode: each step feeds every sequence's last token at its next position.
  const q1 = tensor([B, 1, N * D], 'FLOAT16');
  const o1 = layers.map(() => tensor([B, 1, N * D], 'FLOAT16'));
  const lse1 = layers.map(() => tensor([B, N, 1, 1], 'FLOAT32'));
  const decodeInputs = layers.map((_, l) => base(q1, o1[l]!, lse1[l]!, l, {}));
  const executors: { ex: FiaExecutor; ws: GPUBuffer }[] = [];
  let hostMs = 0;
  let gpuMs = 0;
  let timed = 0;
  for (let step = 0; step < steps - 1; step++) {
    const s0 = performance.now();
    let gpu = 0;
    checking = 0;
    let x: Float64Array = new Float64Array(B * H);
    next.forEach((t, b) => x.set(embedRow(embed, t), b * H));
    const newSlots = next.map((_, b) => slotOf(b));
    for (let l = 0; l < layers.length; l++) {
      const L = layers[l]!;
      const { q, k, v } = project(x, B, L);
      newSlots.forEach((slot, b) => {
        writeRows(kCache[l]!, slot, k.subarray(b * HKV, (b + 1) * HKV));
        writeRows(vCache[l]!, slot, v.subarray(b * HKV, (b + 1) * HKV));
      });
      stream.queue.writeBuffer(q1.buffer, 0, encodeValues('FLOAT16', q) as Uint8Array<ArrayBuffer>);
      executors[l] ??= plan(decodeInputs[l]!, `decode layer ${l}`);
      check(executors[l].ex.setActualSeqLengthsKv(lens), 'setActualSeqLengthsKv');
      const r = await runAndRead(executors[l], o1[l]!, 'decode run');
      gpu += r.gpuMs;
      trace(`decode step ${step} layer ${l}: done`);
      if (opts.checkSteps?.includes(step)) {
        const c0 = performance.now();
        checks.push(await checkCall(stream, { ...decodeInputs[l]!, actualSeqLengthsKv: aclCreateIntArray(lens) }, r.attn, 'decode', step, l));
        checking += performance.now() - c0;
      }
      x = residual(x, r.attn, B, L);
    }
    const xLast = x;
    next = prompts.map((_, b) => sample(xLast, b));
    next.forEach((t, b) => tokens[b]!.push(t));
    if (step > 0) {
      hostMs += performance.now() - s0 - gpu - checking;
      gpuMs += gpu;
      timed++;
    }
  }
  check(await aclrtSynchronizeStream(stream), 'generate');
  owned.forEach((ids) => allocator.release(ids));
  for (const b of buffers) b.destroy();
  const perToken = timed > 0 ? (hostMs + gpuMs) / timed : 0;
  return {
    tokens, prefillMs, prefillCallMs, timedSteps: timed, checks,
    hostMsPerToken: timed > 0 ? hostMs / timed : 0, gpuMsPerToken: timed > 0 ? gpuMs / timed : 0,
    tokensPerSecond: perToken > 0 ? (1000 * B) / perToken : 0,
  };
}

/** Row-major (side, side) BOOL bytes: 1 (masked) above the diagonal. */
function causalMask(side: number): Uint8Array {
  const m = new Uint8Array(side * side);
  for (let i = 0; i < side; i++) m.fill(1, i * side + i + 1, (i + 1) * side);
  return m;
}

function embedRow(embed: Mat, token: number): Float64Array {
  return embed.w.subarray(token * H, token * H + H);
}

/** The attention projections of rmsnorm(x) for n rows. */
function project(x: Float64Array, n: number, L: Layer): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const h = rmsnorm(x, n);
  return { q: matmul(h, n, L.wq), k: matmul(h, n, L.wk), v: matmul(h, n, L.wv) };
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

/** One call's attentionOut and softmaxLse against the float64 reference on the device's current inputs. */
async function checkCall(stream: Stream, inputs: FiaInputs, out: Float64Array, phase: 'prefill' | 'decode', step: number, layer: number): Promise<StepCheck> {
  const problem = normalize(inputs);
  const host = await readHostInputs(stream, inputs, problem);
  const ref = attentionReference(problem, host);
  const low = attentionReference(problem, host, { roundTo: 'FLOAT16' });
  const floor = FLOORS[phase];
  const o = compareOutputs(out, ref.attentionOut, low.attentionOut, floor.out);
  const l = compareOutputs(await readTensor(stream, inputs.softmaxLse!), ref.softmaxLse!, low.softmaxLse, floor.lse);
  return { phase, step, layer, out: o.message, lse: l.message, ok: o.ok && l.ok };
}

// ---- the demo's run, shared by `npm run demo` and the benchmark page.

/** Two prompts of different lengths; the first fills most of a 128-position block. */
export const DEMO_PROMPTS: number[][] = [
  Array.from({ length: 120 }, (_, i) => (i * 7 + 3) % V),
  Array.from({ length: 45 }, (_, i) => (i * 5 + 1) % V),
];

/** Decode steps checked: the first, the one where sequence 0 opens its second block, the last. */
export function demoCheckSteps(steps: number): number[] {
  const opensBlock = BS - DEMO_PROMPTS[0]!.length;
  return [...new Set([0, opensBlock, steps - 2])].filter((s) => s >= 0 && s < steps - 1);
}

/** One reference check as a line. */
export function formatCheck(c: StepCheck): string {
  return `check ${c.phase === 'prefill' ? 'prefill' : `decode step ${c.step}`} layer ${c.layer}: ${c.ok ? 'ok' : 'FAILED'} (out ${c.out}; lse ${c.lse})`;
}

/** The timings as lines. */
export function formatTimings(prompts: number[][], r: GenerateResult): string[] {
  return [
    `prefill of ${prompts.length} prompts, ${CONFIG.layers} layers: ${r.prefillMs.toFixed(1)} ms; its calls (plan, run, readback; the first compiles the kernel): ${r.prefillCallMs.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}`,
    `decode: ${r.timedSteps} timed steps (one token of each of ${prompts.length} sequences, ${CONFIG.layers} layers): ` +
      `host ${r.hostMsPerToken.toFixed(2)} ms/step, GPU (submit to readback) ${r.gpuMsPerToken.toFixed(2)} ms/step, ${r.tokensPerSecond.toFixed(1)} tokens/s`,
  ];
}

/** The generated tokens of each sequence as lines. */
export function formatTokens(prompts: number[][], r: GenerateResult): string[] {
  return r.tokens.map((t, b) => `sequence ${b} (prompt of ${prompts[b]!.length} tokens): ${t.join(' ')}`);
}
