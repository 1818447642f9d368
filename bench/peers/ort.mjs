// onnxruntime-web's native WebGPU execution provider (fused FlashAttention kernels) on the shared
// cases, inputs and outputs resident on the GPU. `node ort.mjs [--cases LIST] [--iters 10]
// [--warmup 2] [--out FILE]`; run with HIDE_FEATURES=subgroups on SwiftShader (see README.md).
import { caseData, check, fromBsh, pickCases, PEER_CASES, toBsh, writeResults } from './common.mjs';
import { flags, timeCalls } from './gpu.mjs';
import { singleNodeModel } from './onnx.mjs';

// `import 'onnxruntime-web'` resolves to the CPU-only Node build; the WebGPU EP bundle is loaded by path.
const ort = await import(new URL('./node_modules/onnxruntime-web/dist/ort.webgpu.mjs', import.meta.url).href);
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const opt = flags(process.argv.slice(2), { cases: PEER_CASES.join(','), iters: '10', warmup: '2', out: '' });

/** The variants of a case: MultiHeadAttention (MHA, KV_N = N only) and GroupQueryAttention (GQA, decode). */
function variants(c) {
  const { batch: B, numQoHeads: N, numKvHeads: KVN, qSeqLen: Sq, kvSeqLen: Skv, headDim: D } = c;
  const f = (name, dims) => ({ name, type: 'float32', dims });
  const out = [];
  if (KVN === N) {
    out.push({
      name: 'MHA',
      model: singleNodeModel({ type: 'MultiHeadAttention', domain: 'com.microsoft', attrs: { num_heads: N, unidirectional: c.causal ? 1 : 0 } },
        [f('q', [B, Sq, N * D]), f('k', [B, Skv, N * D]), f('v', [B, Skv, N * D])], [f('output', [B, Sq, N * D])]),
      feeds: (x) => ({ q: [toBsh(x.q, B, N, Sq, D), [B, Sq, N * D]], k: [toBsh(x.k, B, N, Skv, D), [B, Skv, N * D]], v: [toBsh(x.v, B, N, Skv, D), [B, Skv, N * D]] }),
    });
  }
  if (Sq === 1) {
    // Decode as a cache step: the first Skv − 1 keys are the past (BNSD), the last one the new token.
    const past = (a) => {
      const p = new Float32Array(B * KVN * (Skv - 1) * D);
      for (let bh = 0; bh < B * KVN; bh++) p.set(a.subarray(bh * Skv * D, (bh * Skv + Skv - 1) * D), bh * (Skv - 1) * D);
      return p;
    };
    const last = (a) => {
      const p = new Float32Array(B * KVN * D);
      for (let b = 0; b < B; b++) for (let h = 0; h < KVN; h++) p.set(a.subarray(((b * KVN + h) * Skv + Skv - 1) * D, ((b * KVN + h) * Skv + Skv) * D), (b * KVN + h) * D);
      return p;
    };
    out.push({
      name: 'GQA',
      model: singleNodeModel({ type: 'GroupQueryAttention', domain: 'com.microsoft', attrs: { num_heads: N, kv_num_heads: KVN } },
        [f('q', [B, 1, N * D]), f('k', [B, 1, KVN * D]), f('v', [B, 1, KVN * D]), f('past_k', [B, KVN, Skv - 1, D]), f('past_v', [B, KVN, Skv - 1, D]),
          { name: 'seqlens_k', type: 'int32', dims: [B] }, { name: 'total_len', type: 'int32', dims: [] }],
        [f('output', [B, 1, N * D]), f('present_k', [B, KVN, 'present', D]), f('present_v', [B, KVN, 'present', D])]),
      feeds: (x) => ({
        q: [toBsh(x.q, B, N, 1, D), [B, 1, N * D]], k: [last(x.k), [B, 1, KVN * D]], v: [last(x.v), [B, 1, KVN * D]],
        past_k: [past(x.k), [B, KVN, Skv - 1, D]], past_v: [past(x.v), [B, KVN, Skv - 1, D]],
        seqlens_k: [new Int32Array(B).fill(Skv - 1), [B], 'cpu'], total_len: [new Int32Array([Skv]), [], 'cpu'],
      }),
    });
  }
  return out;
}

const results = [];
for (const c of pickCases(opt.cases)) {
  const x = caseData(c);
  for (const v of variants(c)) {
    const row = { peer: 'ort-native', variant: v.name, case: c.id, dtype: 'float32', ok: false, maxAbsErr: null, medianMs: null, gpuTsMedianMs: null, error: null };
    let session;
    const buffers = [];
    try {
      session = await ort.InferenceSession.create(v.model, {
        executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, preferredOutputLocation: 'gpu-buffer',
        extra: { session: { disable_cpu_ep_fallback: '1' } },
      });
      const device = await ort.env.webgpu.device;
      const feeds = {};
      for (const [name, [data, dims, where]] of Object.entries(v.feeds(x))) {
        if (where === 'cpu') { feeds[name] = new ort.Tensor('int32', data, dims); continue; }
        const buf = device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
        device.queue.writeBuffer(buf, 0, data);
        buffers.push(buf);
        feeds[name] = ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims });
      }
      const once = async () => {
        const r = await session.run(feeds, ['output']);
        await device.queue.onSubmittedWorkDone();
        return r.output;
      };
      const first = await once();
      const got = fromBsh(await first.getData(true), c.batch, c.numQoHeads, c.qSeqLen, c.headDim);
      Object.assign(row, check(c, got, x.ref));
      row.medianMs = await timeCalls(async () => (await once()).dispose(), Number(opt.iters), Number(opt.warmup));
    } catch (e) {
      row.error = e instanceof Error ? e.message : String(e);
    } finally {
      await session?.release();
      for (const b of buffers) b.destroy();
    }
    console.error(`ort-native ${c.id} ${v.name}: ${row.ok ? 'ok' : 'FAIL'} ${row.medianMs?.toFixed(1) ?? '–'} ms, err ${row.maxAbsErr ?? row.error}`);
    results.push(row);
  }
}
writeResults(opt.out, 'ort-native', results);
process.exit(0);
