// `npm run wgsl -- [options]`: prints the exact WGSL of every pipeline one call uses (after the
// host's fill-ins), for a benchmark case with optional shape/feature overrides, planned for the
// chosen device (the plan depends on its limits and features). Each shader is preceded by a
// comment line with its pipeline cache key.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, createStream } from '../src/acl/stream.js';
import { createEmptyTensor } from '../src/acl/tensor.js';
import { fiaGetWorkspaceSize } from '../src/fia/api.js';
import { pipelineSourcesOf } from '../src/fia/executor.js';
import { preparePipelines } from '../src/kernels/shader.js';
import { type BenchCase, type BenchDtype, CASES, type KvStorage, makeInputs } from '../bench/cases.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceFromArgs } from '../bench/device.js';
import { buildInputs } from '../bench/ours.js';

const USAGE = `usage: npm run wgsl -- [options]
  --case ID            the benchmark case to start from (default: decode_gqa; npm run bench -- --list)
  --batch N --heads N --kv-heads N --q-seq N --kv-seq N --dim N
                       shape overrides (B, N, KV_N, Q_S: 1 = decode, KV_S, D)
  --dtype T            FLOAT32 | FLOAT16 | BFLOAT16
  --kv STORAGE         dense | paged | int8 (per-channel antiquant)
  --block-size N       paged block size (default 128)
  --causal / --no-causal
  --lse                softmaxLseFlag
  --tier TIER          steady (default) | first-call: the pipelines a run uses before the steady
                       ones are compiled (a kernel's quick compile tier, where it has one)
  --out DIR            write one .wgsl file per pipeline into DIR instead of printing
  --compile            compile each pipeline on the device instead of printing, one after the
                       other, and print its compile time (creation + the first, empty dispatch,
                       where some drivers compile); on lavapipe set MESA_SHADER_CACHE_DISABLE=true
${DEVICE_USAGE}`;

function intOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: "${v}" is not a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      case: { type: 'string', default: 'decode_gqa' },
      batch: { type: 'string' }, heads: { type: 'string' }, 'kv-heads': { type: 'string' }, 'q-seq': { type: 'string' },
      'kv-seq': { type: 'string' }, dim: { type: 'string' }, dtype: { type: 'string' }, kv: { type: 'string' },
      'block-size': { type: 'string' }, causal: { type: 'boolean' }, 'no-causal': { type: 'boolean' },
      lse: { type: 'boolean', default: false }, compile: { type: 'boolean', default: false }, out: { type: 'string' }, tier: { type: 'string', default: 'steady' },
      help: { type: 'boolean', short: 'h', default: false },
      ...DEVICE_OPTIONS,
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const base = CASES.find((c) => c.id === values.case);
  if (!base) throw new Error(`--case ${values.case}: no such case (${CASES.map((c) => c.id).join(', ')})`);
  const c: BenchCase = { ...base };
  const set = <K extends keyof BenchCase>(k: K, v: BenchCase[K] | undefined) => { if (v !== undefined) c[k] = v; };
  set('batch', intOpt(values.batch, 'batch'));
  set('numQoHeads', intOpt(values.heads, 'heads'));
  set('numKvHeads', intOpt(values['kv-heads'], 'kv-heads'));
  set('qSeqLen', intOpt(values['q-seq'], 'q-seq'));
  set('kvSeqLen', intOpt(values['kv-seq'], 'kv-seq'));
  set('headDim', intOpt(values.dim, 'dim'));
  if (values.dtype !== undefined) {
    if (!['FLOAT32', 'FLOAT16', 'BFLOAT16'].includes(values.dtype)) throw new Error(`--dtype ${values.dtype}: FLOAT32, FLOAT16 or BFLOAT16`);
    c.dtype = values.dtype as BenchDtype;
  }
  if (values.kv !== undefined) {
    if (!['dense', 'paged', 'int8'].includes(values.kv)) throw new Error(`--kv ${values.kv}: dense, paged or int8`);
    c.kvStorage = values.kv as KvStorage;
  }
  if (c.kvStorage === 'paged') c.blockSize = intOpt(values['block-size'], 'block-size') ?? c.blockSize ?? 128;
  if (values.causal) c.causal = true;
  if (values['no-causal']) c.causal = false;
  c.kind = c.qSeqLen === 1 ? 'decode' : 'prefill';

  const { device } = await deviceFromArgs(values);
  const stream = createStream(device);
  aclrtSetDevice(device);
  const { inputs } = buildInputs(stream, c, makeInputs(c));
  if (values.lse) {
    inputs.softmaxLseFlag = true;
    inputs.softmaxLse = createEmptyTensor(stream, [c.batch, c.numQoHeads, c.qSeqLen, 1], 'FLOAT32');
  }
  const r = fiaGetWorkspaceSize(inputs);
  if (r.status !== ACLNN_SUCCESS) throw new Error(`GetWorkspaceSize: status ${r.status}: ${aclGetRecentErrMsg()}`);
  if (values.tier !== 'steady' && values.tier !== 'first-call') throw new Error(`--tier ${values.tier}: steady or first-call`);
  const sources = pipelineSourcesOf(r.executor!, values.tier);
  const shape = `B${c.batch} N${c.numQoHeads} KVN${c.numKvHeads} Q_S${c.qSeqLen} KV_S${c.kvSeqLen} D${c.headDim} ${c.dtype} ${c.kvStorage}${c.causal ? ' causal' : ''}${values.lse ? ' lse' : ''}`;
  if (values.compile) {
    for (const [i, s] of sources.entries()) {
      const t0 = performance.now();
      await preparePipelines(device, [s]);
      const lines = s.build().code.split('\n').length;
      console.log(`${shape}: pipeline ${i + 1} of ${sources.length} (${lines} lines) compiled in ${(performance.now() - t0).toFixed(0)} ms: ${s.key}`);
    }
    device.destroy();
    return;
  }
  if (values.out) mkdirSync(values.out, { recursive: true });
  sources.forEach((s, i) => {
    const shader = s.build();
    const text = `// ${shape}: pipeline ${i + 1} of ${sources.length}, key ${s.key}\n${shader.constants ? `// override constants: ${JSON.stringify(shader.constants)}\n` : ''}${shader.code}\n`;
    if (values.out) {
      // The label up to its specialization (the key is in the file's first line): names stay short.
      const file = join(values.out, `${i + 1}-${shader.label.split('{')[0].replace(/[^\w.-]+/g, '_')}.wgsl`);
      writeFileSync(file, text);
      console.log(`wrote ${file} (${shader.code.split('\n').length} lines)`);
    } else {
      process.stdout.write(text);
    }
  });
  device.destroy();
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
