// `node dist/bench/browser.js [--cases LIST] [--iters N] [--out FILE]`: the benchmark page in headless
// Chromium on its software WebGPU adapter (SwiftShader), driven like a user with ?autorun=1: builds
// the page with Vite, serves it on 127.0.0.1, prints the same table as the CLI and writes the JSON.
// Needs /usr/bin/chromium (npm run setup). Run under the GPU lock like every benchmark.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { selectCases } from './cases.js';
import { adapterName, type BenchReport, failedRows, formatMarkdown, formatTable } from './core.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Headless Chromium on SwiftShader's Vulkan, WebGPU enabled, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves `dir` on 127.0.0.1 (random port): files only, no paths outside `dir`. */
export function serveStatic(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: 'quick' },
      iters: { type: 'string', default: '5' },
      out: { type: 'string' },
      markdown: { type: 'boolean', default: false },
    },
  });
  const cases = selectCases(values.cases!).map((c) => c.id);
  const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
  const outDir = mkdtempSync(join(tmpdir(), 'fia-page-'));
  await build({ root, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const server = await serveStatic(outDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const port = (server.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/?cases=${cases.join(',')}&iters=${Number(values.iters)}&autorun=1`);
    let last = '';
    for (;;) {
      const s = await page.evaluate(() => {
        const b = (globalThis as unknown as { __bench?: { state: string; error: string | null } }).__bench;
        return { state: b?.state ?? 'loading', error: b?.error ?? null, text: document.getElementById('progress-text')?.textContent ?? '' };
      });
      if (s.text !== last) process.stderr.write(`${s.text}\n`);
      last = s.text;
      if (s.state === 'done') break;
      if (s.state === 'error' || s.state === 'no-webgpu') throw new Error(`page: ${s.state}: ${s.error}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const report = await page.evaluate(() => (globalThis as unknown as { __bench: { report: BenchReport } }).__bench.report);
    console.log(`adapter: ${adapterName(report.adapter)}; ${report.runtime}`);
    const p = report.probes;
    console.log(`roofline probes (${p.timing}): FMA ${p.fmaGflops.toFixed(1)} GFLOP/s, streaming read ${p.readGBs.toFixed(2)} GB/s`);
    console.log(values.markdown ? formatMarkdown(report) : formatTable(report));
    const out = resolve(values.out ?? `bench/results/browser-${report.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${out}`);
    process.exitCode = failedRows(report).length > 0 ? 1 : 0;
  } finally {
    await browser.close();
    server.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

// Run only as the entry point: test/bench.page.test.ts imports the server and the Chromium flags from here.
if (process.argv[1] && /browser\.js$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  });
}
