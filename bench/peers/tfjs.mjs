// TensorFlow.js on its WebGPU backend: unfused matMul → scale (→ causal mask) → softmax → matMul,
// inputs resident on the GPU. `node tfjs.mjs [--cases LIST] [--iters 10] [--warmup 2] [--out FILE]`.
import './gpu.mjs'; // navigator.gpu must exist before tfjs-backend-webgpu is imported
import { caseData, check, pickCases, PEER_CASES, writeResults } from './common.mjs';
import { flags, timeCalls } from './gpu.mjs';

const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
await tf.setBackend('webgpu');
await tf.ready();
const backend = tf.backend();

const opt = flags(process.argv.slice(2), { cases: PEER_CASES.join(','), iters: '10', warmup: '2', out: '' });

/** Submits tfjs's open compute pass and waits for the GPU. */
async function gpuDone() {
  backend.endComputePassEncoder?.();
  backend.submitQueue?.();
  await backend.device.queue.onSubmittedWorkDone();
}

const results = [];
for (const c of pickCases(opt.cases)) {
  const { batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: Sq, kvSeqLen: Skv, headDim: D } = c;
  const x = caseData(c);
  const row = { peer: 'tfjs-webgpu', variant: 'matmul-softmax-matmul', case: c.id, dtype: 'float32', ok: false, maxAbsErr: null, medianMs: null, gpuTsMedianMs: null, error: null };
  const keep = [];
  try {
    const q = tf.tensor4d(Float32Array.from(x.q), [B, N, Sq, D]);
    // GQA: query head n reads KV head ⌊n / G⌋, so repeat each KV head G times.
    const heads = tf.tensor1d(Array.from({ length: N }, (_, n) => Math.floor(n / (N / KVN))), 'int32');
    const k = tf.gather(tf.tensor4d(Float32Array.from(x.k), [B, KVN, Skv, D]), heads, 1);
    const v = tf.gather(tf.tensor4d(Float32Array.from(x.v), [B, KVN, Skv, D]), heads, 1);
    const mask = c.causal
      ? tf.tensor2d(Float32Array.from({ length: Sq * Skv }, (_, i) => ((i % Skv) > Math.floor(i / Skv) + Skv - Sq ? -1e9 : 0)), [Sq, Skv])
      : null;
    keep.push(q, heads, k, v, ...(mask ? [mask] : []));
    const scale = tf.scalar(x.scaleValue);
    keep.push(scale);
    const attend = () => tf.tidy(() => {
      let s = tf.mul(tf.matMul(q, k, false, true), scale);
      if (mask) s = tf.add(s, mask);
      return tf.matMul(tf.softmax(s), v);
    });
    const first = attend();
    await gpuDone();
    Object.assign(row, check(c, Float64Array.from(await first.data()), x.ref));
    first.dispose();
    row.medianMs = await timeCalls(async () => { const o = attend(); await gpuDone(); o.dispose(); }, Number(opt.iters), Number(opt.warmup));
  } catch (e) {
    row.error = e instanceof Error ? e.message : String(e);
  } finally {
    for (const t of keep) t.dispose();
  }
  console.error(`tfjs ${c.id}: ${row.ok ? 'ok' : 'FAIL'} ${row.medianMs?.toFixed(1) ?? '–'} ms, err ${row.maxAbsErr ?? row.error}`);
  results.push(row);
}
writeResults(opt.out, 'tfjs-webgpu', results);
process.exit(0);
