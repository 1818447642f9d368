// `npm run bench:peers` (from the repository root; it builds the repository and installs this
// folder first): ours, then onnxruntime-web, then TensorFlow.js, one after the other (one GPU job at
// a time), then the side-by-side table. `node bench/peers/run.mjs [--cases LIST] [--iters 10]
// [--warmup 2] [--out DIR]` (default DIR: bench/results/peers).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const args = process.argv.slice(2);
const opt = { cases: 'prefill_noncausal,prefill_causal,decode_gqa,decode_mha', iters: '10', warmup: '2', out: join(ROOT, 'bench/results/peers') };
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
const out = resolve(opt.out);
mkdirSync(out, { recursive: true });
const common = ['--cases', opt.cases, '--iters', opt.iters, '--warmup', opt.warmup];

function step(title, cmd, cmdArgs, cwd, env = {}) {
  console.log(title);
  const r = spawnSync(process.execPath, [cmd, ...cmdArgs], { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  // Our CLI exits 1 when a row fails its reference check (the row stays in the table).
  if (r.status !== 0 && r.status !== 1) {
    console.error(`${title}: exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

step('[1/3] ours (dist/bench/cli.js)', join(ROOT, 'dist/bench/cli.js'),
  [...common, '--gpu-iters', '5', '--out', join(out, 'ours.json')], ROOT);
step('[2/3] onnxruntime-web, native WebGPU EP (subgroups hidden)', join(HERE, 'ort.mjs'), [...common, '--out', join(out, 'ort-native.json')], HERE,
  { HIDE_FEATURES: 'subgroups' });
step('[3/3] TensorFlow.js, WebGPU backend', join(HERE, 'tfjs.mjs'), [...common, '--out', join(out, 'tfjs.json')], HERE);

const { peersTable } = await import(join(ROOT, 'dist/bench/peers.js'));
const table = peersTable(out);
writeFileSync(join(out, 'SIDE_BY_SIDE.md'), `${table}\n`);
console.log(`\n${table}\n\n(${join(out, 'SIDE_BY_SIDE.md')})`);
