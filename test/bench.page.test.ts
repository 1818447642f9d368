// End-to-end: builds the benchmark page with Vite, serves it on 127.0.0.1, opens it in headless
// Chromium on the software WebGPU adapter (SwiftShader), runs the smallest case and checks that
// the table and both charts render and that the page's outputs match a float64 reference computed
// here. Screenshot: test-artifacts/e2e.png. Runs the page's generation demo (its prefill and decode
// steps checked against the float64 reference in the page). Also checks the message shown where
// WebGPU is missing.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BenchCase, bytesMoved, CASES, flopCount, keptPairs, makeInputs, maxAbsError, sdpaReference, selectCases, tolerance,
} from '../bench/cases.js';
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../bench/browser.js';
import { CONFIG, DEMO_PROMPTS, type GenerateResult } from '../bench/demo/generate.js';
import { stats } from '../bench/timing.js';

const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');

interface PageBench {
  state: string;
  error: string | null;
  report: { rows: { caseId: string; runner: string; ok: boolean; error?: string; maxAbsErr: number | null }[]; adapter: { vendor: string } } | null;
  outputs: Record<string, number[]>;
  demo: { state: string; result: GenerateResult | null; error: string | null };
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
    server = await serveStatic(outDir);
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

  it('runs the generation demo: tokens, timings, and every reference check ok', async () => {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await page.waitForSelector('#demo-run', { state: 'visible', timeout: 30_000 });
    // 4 tokens per sequence: the prefill gives the first, 3 decode steps the others.
    await page.fill('#demo-steps', '4');
    await page.click('#demo-run');
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { __bench?: PageBench }).__bench?.demo.state;
      return s === 'done' || s === 'error';
    }, undefined, { timeout: 60_000 });
    const demo = await page.evaluate(() => (globalThis as unknown as { __bench: PageBench }).__bench.demo);
    expect(demo.error, logs.join('\n')).toBeNull();
    const r = demo.result!;
    // The prefill (every layer) and decode steps 0 and 2 (the first and the last), in the page.
    expect(r.checks.map((c) => `${c.phase} ${c.step} ${c.layer}`)).toEqual(['prefill 0 0', 'prefill 0 1', 'decode 0 0', 'decode 0 1', 'decode 2 0', 'decode 2 1']);
    for (const c of r.checks) expect(c.ok, `${c.phase} step ${c.step} layer ${c.layer}: out ${c.out}; lse ${c.lse}`).toBe(true);
    expect(r.tokens.map((t) => t.length)).toEqual(DEMO_PROMPTS.map(() => 4));
    for (const t of r.tokens.flat()) expect(t >= 0 && t < CONFIG.vocab && Number.isInteger(t)).toBe(true);
    expect(r.timedSteps).toBe(2);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    // What the page shows: one line per check, all ok, and the status.
    expect(await page.locator('#demo-output div.ok').count()).toBe(r.checks.length);
    expect(await page.locator('#demo-output div.fail').count()).toBe(0);
    expect(await page.locator('#demo-status').innerText()).toMatch(/all ok/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#demo').screenshot({ path: join(ARTIFACTS, 'e2e-demo.png') });
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

describe('bench core models (host side, no GPU)', () => {
  const base: BenchCase = {
    id: 't', title: 't', kind: 'prefill', batch: 2, numQoHeads: 4, numKvHeads: 2, qSeqLen: 8, kvSeqLen: 8, headDim: 16,
    causal: false, dtype: 'FLOAT32', kvStorage: 'dense', tags: [],
  };

  it('counts FLOPs as 4·B·N·Q_S·KV_S·D, causal at half, and kept pairs exactly', () => {
    expect(flopCount(base)).toBe(4 * 2 * 4 * 8 * 8 * 16);
    expect(flopCount({ ...base, causal: true })).toBe(flopCount(base) / 2);
    expect(keptPairs({ ...base, causal: true })).toBe((8 * 9) / 2);
    expect(keptPairs({ ...base, causal: true, qSeqLen: 2 })).toBe(7 + 8); // bottom-right aligned
  });

  it('models decode bytes as Q + K + V + O (+ scales, + block table)', () => {
    const d: BenchCase = { ...base, kind: 'decode', qSeqLen: 1, kvSeqLen: 1024, dtype: 'FLOAT16' };
    const qo = 2 * 2 * 4 * 1 * 16 * 2;
    const kv = 2 * 2 * 2 * 1024 * 16 * 2;
    expect(bytesMoved(d)).toBe(qo + kv);
    expect(bytesMoved({ ...d, kvStorage: 'int8' })).toBe(qo + kv / 2 + 2 * 2 * 16 * 2);
    expect(bytesMoved({ ...d, kvStorage: 'paged', blockSize: 128 })).toBe(qo + kv + 2 * 8 * 4);
  });

  it('selects cases by id, tag or substring and names a selector that matches nothing', () => {
    expect(selectCases('quick').map((c) => c.id)).toEqual(CASES.filter((c) => c.tags.includes('quick')).map((c) => c.id));
    expect(selectCases('decode_gqa').map((c) => c.id)).toEqual(['decode_gqa']);
    expect(selectCases('bf16').every((c) => c.dtype === 'BFLOAT16')).toBe(true);
    expect(() => selectCases('nope')).toThrow(/"nope" matches no case/);
  });

  it('takes the median and the quartiles of the samples', () => {
    const s = stats([5, 1, 4, 2, 3]);
    expect([s.medianMs, s.minMs, s.maxMs, s.q1Ms, s.q3Ms]).toEqual([3, 1, 5, 2, 4]);
    expect(stats([1, 2, 3, 4]).medianMs).toBe(2.5);
  });

  it('the float64 SDPA: equal keys average V; causal row 0 sees key 0 only; GQA maps heads to ⌊n/G⌋', () => {
    const c: BenchCase = { ...base, batch: 1, numQoHeads: 2, numKvHeads: 1, qSeqLen: 3, kvSeqLen: 3, headDim: 2 };
    const q = Float64Array.from({ length: 12 }, (_, i) => (i % 5) / 5 - 0.4);
    const k = new Float64Array(6).fill(0.5);
    const v = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const out = sdpaReference(c, { q, k, v, scaleValue: 0.7 });
    for (let row = 0; row < 6; row++) expect([out[row * 2], out[row * 2 + 1]]).toEqual([3, 4]);
    const kDistinct = Float64Array.from([0.1, -0.2, 0.3, 0.9, -0.5, 0.4]);
    const causal = sdpaReference({ ...c, causal: true }, { q, k: kDistinct, v, scaleValue: 0.7 });
    for (const n of [0, 1]) expect([causal[n * 6], causal[n * 6 + 1]]).toEqual([1, 2]);
    // Row 1 of head 0 keeps keys 0 and 1: a convex combination of v0 and v1 with softmax weights.
    const s0 = 0.7 * (q[2]! * 0.1 + q[3]! * -0.2);
    const s1 = 0.7 * (q[2]! * 0.3 + q[3]! * 0.9);
    const w1 = Math.exp(s1) / (Math.exp(s0) + Math.exp(s1));
    expect(causal[2]).toBeCloseTo(1 + 2 * w1, 12);
  });

  it('generates the same seeded inputs every time, rounded to the case dtype', () => {
    const c = CASES.find((x) => x.id === 'decode_gqa_f16')!;
    const a = makeInputs(c);
    const b = makeInputs(c);
    expect(maxAbsError(a.q, b.q)).toBe(0);
    for (const x of a.k.subarray(0, 64)) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    // fp16 keeps 11 significant bits: x · 2^(10 − ⌊log2|x|⌋) is an integer (normal range).
    for (const x of a.q.subarray(0, 256)) {
      if (Math.abs(x) < 2 ** -14) continue;
      expect(Number.isInteger(x * 2 ** (10 - Math.floor(Math.log2(Math.abs(x)))))).toBe(true);
    }
  });
});
