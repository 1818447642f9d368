// `npm run bench:host`: host time per call of the decode loop (the host's own time; the GPU's apart), on the
// issue's shape decode B4 N8 KV_N2 KV_S1024 D64 FLOAT16:
//   GetWorkspaceSize cold (plan cache cleared by a new shape each call) and cached (same shape),
//   the per-call path (GetWorkspaceSize + run with its own encoder and submit),
//   the re-run path: setActualSeqLengthsKv + record into a caller encoder (32 layers, one submit,
//   then waiting for the GPU, as a decode loop does).
// Prints one markdown row per measure; the README records the figures.
import { parseArgs } from 'node:util';
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import {
  aclCreateIntArray, aclCreateTensorList, createBuffer, createEmptyTensor, createTensor, type Tensor,
} from '../src/acl/tensor.js';
import { aclnnFusedInferAttentionScoreV2, fiaGetWorkspaceSize } from '../src/fia/api.js';
import type { FiaExecutor } from '../src/fia/executor.js';
import type { FiaInputs } from '../src/problem/problem.js';
import { DEVICE_OPTIONS, deviceFromArgs } from './device.js';
import { adapterName, adapterRecord } from './core.js';

const [B, N, KVN, S, D] = [4, 8, 2, 1024, 64];
const LAYERS = 32;

function inputsFor(stream: Stream, k: Tensor, v: Tensor, kvLen: number): FiaInputs {
  return {
    query: createTensor(stream, new Float64Array(B * N * D).fill(0.5), [B, N, 1, D], 'FLOAT16'),
    key: aclCreateTensorList([k]), value: aclCreateTensorList([v]),
    actualSeqLengthsKv: aclCreateIntArray(new Array<number>(B).fill(kvLen)),
    numHeads: N, scaleValue: 1 / Math.sqrt(D), preTokens: 2147483647, nextTokens: 2147483647, inputLayout: 'BNSD',
    numKeyValueHeads: KVN, sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: true,
    keyAntiquantMode: 0, valueAntiquantMode: 0,
    attentionOut: createEmptyTensor(stream, [B, N, 1, D], 'FLOAT16'),
    softmaxLse: createEmptyTensor(stream, [B, N, 1, 1], 'FLOAT32'),
  };
}

function check(status: number, what: string): void {
  if (status !== ACLNN_SUCCESS) throw new Error(`${what}: status ${status}: ${aclGetRecentErrMsg()}`);
}

/** Mean µs per call of `fn` over `n` calls (after `warm` untimed ones). */
function perCall(n: number, warm: number, fn: (i: number) => void): number {
  for (let i = 0; i < warm; i++) fn(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(warm + i);
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '300' }, ...DEVICE_OPTIONS } });
  const calls = Number(values.calls);
  const { adapter, device } = await deviceFromArgs(values);
  const stream = createStream(device);
  aclrtSetDevice(device);
  const kv = (): Tensor => createTensor(stream, new Float64Array(B * KVN * S * D).fill(0.25), [B, KVN, S, D], 'FLOAT16');
  const k = kv();
  const v = kv();
  const x = inputsFor(stream, k, v, S);

  // GetWorkspaceSize costs microseconds: timed over 10× the calls, after as many untimed ones (the
  // JIT's steady state, as in a decode loop's thousands of calls).
  const gwsCalls = 10 * calls;
  // Cold: a KV_S the cache has not seen (the key tensor's shape differs every call).
  const shapes = Array.from({ length: 2 * gwsCalls }, (_, i) => {
    const s = 64 + (i % 900); // then the same lengths at another storage offset: still a new key
    const t: Tensor = { ...k, shape: [B, KVN, s, D], strides: [KVN * s * D, s * D, D, 1], offset: 2 * Math.floor(i / 900) };
    return { ...x, key: aclCreateTensorList([t]), value: aclCreateTensorList([t]), actualSeqLengthsKv: aclCreateIntArray([s]) };
  });
  const cold = perCall(gwsCalls, gwsCalls, (i) => check(fiaGetWorkspaceSize(shapes[i]!).status, 'cold GetWorkspaceSize'));
  // Cached: the same shape, the lengths one larger each call (a decode loop's sequence).
  const lens = Array.from({ length: 2 * gwsCalls }, (_, i) => ({ ...x, actualSeqLengthsKv: aclCreateIntArray([512 + (i % 512)]) }));
  const cached = perCall(gwsCalls, gwsCalls, (i) => check(fiaGetWorkspaceSize(lens[i]!).status, 'cached GetWorkspaceSize'));

  const first = fiaGetWorkspaceSize(x);
  check(first.status, 'GetWorkspaceSize');
  const size = first.workspaceSize;
  const ws = createBuffer(stream, size, 'bench.workspace');
  // Per call: GetWorkspaceSize + run (own encoder, submit), as bench/ours.ts times it.
  const perCallPath = perCall(calls, 5, (i) => {
    const r = fiaGetWorkspaceSize(lens[i]!);
    check(r.status, 'GetWorkspaceSize');
    check(aclnnFusedInferAttentionScoreV2(ws, size, r.executor, stream), 'run');
  });
  check(await aclrtSynchronizeStream(stream), 'synchronize');

  // Re-run: LAYERS executors planned once, each with its workspace; per token: set lengths and
  // record every layer into one encoder, one submit.
  const layers: { ex: FiaExecutor; ws: GPUBuffer }[] = [];
  for (let l = 0; l < LAYERS; l++) {
    const r = fiaGetWorkspaceSize(x);
    check(r.status, 'GetWorkspaceSize');
    layers.push({ ex: r.executor!, ws: createBuffer(stream, r.workspaceSize, `bench.ws${l}`) });
  }
  // The steady state: the steady pipelines compiled (a compile tier would re-record mid-loop), and
  // the host path warmed by tokens recorded but never submitted (the JIT's steady state).
  check(await layers[0]!.ex.prepare(), 'prepare');
  for (let t = 0; t < 2 * gwsCalls / LAYERS; t++) {
    const encoder = device.createCommandEncoder();
    for (const { ex, ws: w } of layers) {
      check(ex.setActualSeqLengthsKv([512 + (t % 512)]), 'setActualSeqLengthsKv');
      check(aclnnFusedInferAttentionScoreV2(w, ex.workspaceSize, ex, stream, encoder), 'run into encoder');
    }
    encoder.finish();
  }
  // The decode loop as an application runs it: per token, set the lengths and record every layer
  // into one encoder, submit, wait for the GPU. The first layer of a token is timed apart: it
  // carries the first command of a new command buffer after a submit, where Dawn (on SwiftShader)
  // stalls for milliseconds before our call does anything.
  const tokens = Math.max(4, Math.floor(calls / LAYERS));
  let firstMs = 0;
  let restMs = 0;
  let submitMs = 0;
  let gpuMs = 0;
  for (let t = 0; t < tokens + 2; t++) {
    const encoder = device.createCommandEncoder();
    let first = 0;
    const t0 = performance.now();
    for (const [l, { ex, ws: w }] of layers.entries()) {
      check(ex.setActualSeqLengthsKv([512 + t]), 'setActualSeqLengthsKv');
      check(aclnnFusedInferAttentionScoreV2(w, ex.workspaceSize, ex, stream, encoder), 'run into encoder');
      if (l === 0) first = performance.now();
    }
    const t1 = performance.now();
    device.queue.submit([encoder.finish()]);
    const t2 = performance.now();
    await device.queue.onSubmittedWorkDone();
    const t3 = performance.now();
    if (t >= 2) { // the first two tokens record the commands
      firstMs += first - t0;
      restMs += t1 - first;
      submitMs += t2 - t1;
      gpuMs += t3 - t2;
    }
  }
  check(await aclrtSynchronizeStream(stream), 'synchronize');
  const rec = adapterRecord(adapter, device);
  const rows = [
    ['GetWorkspaceSize, cold (new shape)', cold],
    ['GetWorkspaceSize, cached (same shape, new lengths)', cached],
    ['GetWorkspaceSize + run (own encoder, submit)', perCallPath],
    [`re-run: setActualSeqLengthsKv + record into caller encoder, per layer (layers 2-${LAYERS} of a token)`, (restMs * 1000) / (tokens * (LAYERS - 1))],
    ['re-run, first layer of a token (with Dawn\'s first command of a new command buffer)', (firstMs * 1000) / tokens],
    [`finish + submit of ${LAYERS} layers, per layer`, (submitMs * 1000) / (tokens * LAYERS)],
    [`GPU (submit to done) of ${LAYERS} layers, per layer`, (gpuMs * 1000) / (tokens * LAYERS)],
  ] as const;
  console.log(`host cost per call, decode B${B} N${N} KV_N${KVN} KV_S${S} D${D} FLOAT16, ${calls} calls; adapter: ${adapterName(rec)}`);
  console.log('| measure | µs per call |\n|---|---:|');
  for (const [name, us] of rows) console.log(`| ${name} | ${us.toFixed(1)} |`);
  for (const { ws: w } of layers) w.destroy();
  ws.destroy();
  device.destroy();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
