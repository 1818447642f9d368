// `npm run bench [-- options]`: the benchmark in Node (Dawn via npm `webgpu`, SwiftShader fallback).
// Prints a table, writes the JSON report, and shows a progress line on stderr while it runs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, selectCases } from './cases.js';
import {
  adapterName, adapterRecord, type BenchReport, failedRows, formatDtypeRatios, formatMarkdown, formatTable, type Progress, runBench,
} from './core.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceFromArgs } from './device.js';
import { selectRunners } from './runners.js';

const USAGE = `usage: npm run bench -- [options]
  --quick              the quick set (cases tagged "quick", 3 timed calls + 2 timestamped): < 1 min on SwiftShader
  --cases LIST         comma list of case ids, tags or id substrings ("all"; default: all)
  --runners LIST       ours,naive (default: all)
  --iters N            wall-clock timed calls per row (default 10; --quick 3)
  --gpu-iters N        extra calls timed with GPU timestamps, if the device has them (default 5; --quick 2)
  --warmup N           warm-up calls, the checked first call included (default 2, minimum 2)
  --out FILE           JSON report path (default bench/results/bench-<date>.json)
  --no-check           skip the float64 reference check
  --markdown           print the table as GitHub markdown
${DEVICE_USAGE}
  --list               list the cases and exit`;

function commitId(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function progressLine(p: Progress): string {
  if (p.phase === 'probe') return 'probing the adapter roofline (FMA, streaming read) ...';
  if (p.phase === 'done') return 'done';
  const it = p.iters > 0 ? ` ${p.iter}/${p.iters}` : '';
  return `[${p.caseIndex + 1}/${p.caseCount}] ${p.caseId} · ${p.runner} · ${p.phase}${it}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      cases: { type: 'string' },
      runners: { type: 'string' },
      iters: { type: 'string' },
      'gpu-iters': { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      ...DEVICE_OPTIONS,
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  if (values.list) {
    for (const c of CASES) console.log(`${c.id.padEnd(24)} ${c.title}  [${c.tags.join(', ')}]`);
    return;
  }
  const cases = selectCases(values.cases ?? (values.quick ? 'quick' : 'all'));
  const runners = selectRunners(values.runners);
  const int = (s: string | undefined, name: string, dflt: number) => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: "${s}" is not a non-negative integer`);
    return n;
  };
  const iters = int(values.iters, 'iters', values.quick ? 3 : 10);
  const gpuTimestampIters = int(values['gpu-iters'], 'gpu-iters', values.quick ? 2 : 5);
  const warmup = int(values.warmup, 'warmup', 2);

  const { adapter, device } = await deviceFromArgs(values);
  const adapterRec = adapterRecord(adapter, device);
  console.log(`adapter: ${adapterName(adapterRec)}${adapterRec.isFallbackAdapter ? ' (fallback/software)' : ''}`);
  console.log(`cases: ${cases.map((c) => c.id).join(', ')}; runners: ${runners.map((r) => r.id).join(', ')}; ` +
    `warm-up ${Math.max(2, warmup)}, ${iters} wall-clock + ${gpuTimestampIters} GPU-timestamp timed calls`);

  const tty = process.stderr.isTTY;
  let last = '';
  const started = performance.now();
  const report: BenchReport = await runBench({
    device, adapter: adapterRec, cases, runners, iters, warmup, gpuTimestampIters, check: !values['no-check'],
    runtime: `node ${process.version} (Dawn, npm webgpu)`, commit: commitId(),
    onProgress: (p) => {
      const line = `${progressLine(p)}  (${((performance.now() - started) / 1000).toFixed(0)} s)`;
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
      else if (p.phase === 'probe' || p.phase === 'prepare') process.stderr.write(`${line}\n`);
      last = line;
    },
  });
  if (tty && last) process.stderr.write('\r\x1b[K');

  const p = report.probes;
  console.log(`roofline probes (${p.timing}): FMA ${p.fmaGflops.toFixed(1)} GFLOP/s, streaming read ${p.readGBs.toFixed(2)} GB/s`);
  console.log(`timing: ${report.settings.timing === 'gpu-timestamp' ? 'GPU timestamps (sum of pass times) for the rates; wall clock beside' : 'wall clock'}`);
  console.log(values.markdown ? formatMarkdown(report) : formatTable(report));
  const ratios = formatDtypeRatios(report);
  if (ratios.length > 0) console.log(`\n${ratios.join('\n')}`);
  const stamp = report.date.replace(/[:.]/g, '-');
  const out = resolve(values.out ?? `bench/results/bench-${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  device.destroy();
  // Exit 1 when a row is wrong or errored; features the operator does not run yet ('n/a') are not failures.
  process.exitCode = failedRows(report).length > 0 ? 1 : 0;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
