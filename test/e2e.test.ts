// End-to-end: builds the benchmark page with Vite, serves it on 127.0.0.1, opens it in headless
// Chromium on the software WebGPU adapter (SwiftShader), runs the smallest case and checks that
// the table and both charts render and that the page's outputs match a float64 reference computed
// here. Screenshot: test-artifacts/e2e.png. Also checks the message shown where WebGPU is missing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES, makeInputs, maxAbsError, sdpaReference, tolerance } from '../bench/cases.js';

const ROOT = resolve(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

interface PageBench {
  state: string;
  error: string | null;
  report: { rows: { caseId: string; runner: string; ok: boolean; error?: string; maxAbsErr: number | null }[]; adapter: { vendor: string } } | null;
  outputs: Record<string, number[]>;
}

/** A static file server for the built page (no directory listing, no path escapes). */
function serve(dir: string): Promise<Server> {
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

describe('benchmark page in headless Chromium (SwiftShader)', () => {
  let outDir = '';
  let server: Server;
  let browser: Browser;
  let url = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run npm run setup (apt-get install chromium libvulkan1)`);
    outDir = mkdtempSync(join(tmpdir(), 'fia-page-'));
    await build({ root: ROOT, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await serve(outDir);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('runs the smallest case: table, charts, and outputs equal to the float64 reference', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { __bench?: PageBench }).__bench?.state;
      return s === 'idle' || s === 'no-webgpu' || s === 'error';
    }, undefined, { timeout: 30_000 });
    const adapterText = await page.locator('#adapter').innerText();
    expect(adapterText, `page found no adapter; console:\n${logs.join('\n')}`).toContain('Adapter:');

    await page.click('#pick-smoke');
    await page.click('#run');
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { __bench?: PageBench }).__bench?.state;
      return s === 'done' || s === 'error';
    }, undefined, { timeout: 60_000 });
    const bench = await page.evaluate(() => (globalThis as unknown as { __bench: PageBench }).__bench);
    expect(bench.error, logs.join('\n')).toBeNull();
    expect(bench.state).toBe('done');

    // The table: one row per runner for the smoke case, every one ok.
    const smoke = CASES.find((c) => c.tags.includes('smoke'))!;
    const rows = bench.report!.rows;
    // The smallest case runs through the real operator ("ours") and the naive baseline.
    expect(rows.map((r) => r.runner).sort()).toEqual(['naive', 'ours']);
    for (const r of rows) {
      expect(r.caseId).toBe(smoke.id);
      expect(r.ok, `${r.runner}: ${r.error ?? ''}`).toBe(true);
    }
    await expect.poll(() => page.locator('#results tbody tr').count()).toBe(rows.length);
    expect(await page.locator('#results tbody td.ok').count()).toBe(rows.length);

    // Both charts: one bar per row.
    expect(await page.locator('#chart-time-svg rect.bar').count()).toBe(rows.length);
    expect(await page.locator('#chart-roofline-svg rect.bar').count()).toBe(rows.length);
    expect(await page.locator('#download').isEnabled()).toBe(true);

    // The page's outputs against the float64 reference, recomputed here from the same seeded inputs.
    const reference = sdpaReference(smoke, makeInputs(smoke));
    for (const r of rows) {
      const out = bench.outputs[`${smoke.id}/${r.runner}`];
      expect(out, `no output kept for ${r.runner}`).toBeDefined();
      expect(out!.length).toBe(reference.length);
      expect(maxAbsError(out!, reference)).toBeLessThanOrEqual(tolerance(smoke, true));
    }

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'e2e.png'), fullPage: true });
    await page.close();
  }, 90_000);

  it('says clearly when WebGPU is missing', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    await page.goto(url);
    await page.waitForSelector('#no-webgpu', { timeout: 20_000 });
    expect(await page.locator('#adapter').innerText()).toMatch(/WebGPU is not available/);
    expect(await page.locator('#controls').isHidden()).toBe(true);
    await page.close();
  }, 30_000);
});
