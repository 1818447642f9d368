// The published package as a new user gets it: `npm pack` (which builds through `prepare`), the
// tarball installed offline into a fresh Node project and a fresh Vite project (webgpu, vite,
// typescript and @webgpu/types come from this repository's node_modules), then
//  - every ```js example of README.md and docs/guides/*.md run with node, outputs checked against
//    a float64 computation here (README) or the reference comparison the guide prints;
//  - require() of each entry (Node ≥ 20.19), and a TypeScript 5.x consumer type-checked;
//  - the README's browser example built with `vite build` and run in headless Chromium (SwiftShader).
// Also: what the tarball ships, and the Node entry's device lifetime (Dawn instances released).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeValues, encodeValues } from '../src/codec/index.js';
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../bench/browser.js';
import { hasVulkanDriver, requestDevice } from '../src/node.js';

const ROOT = resolve(import.meta.dirname, '..');
const NM = join(ROOT, 'node_modules');

/** The ```js blocks of a markdown file: { browser } for ```js browser. */
function jsBlocks(file: string): { code: string; browser: boolean }[] {
  const md = readFileSync(join(ROOT, file), 'utf8');
  return [...md.matchAll(/^```js( browser)?\n([\s\S]*?)^```$/gm)].map((m) => ({ code: m[2]!, browser: !!m[1] }));
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const f16 = (xs: number[]) => Array.from(decodeValues('FLOAT16', encodeValues('FLOAT16', xs), xs.length));

/** The doc sample by hand in float64 (inputs rounded to FLOAT16 as the tensors store them). */
function docSample(): { out: number[]; lse: number[] } {
  const q = f16([0.1, 0.2, 0.3, 0.4]);
  const kv = f16([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const out: number[] = [];
  const lse: number[] = [];
  for (let n = 0; n < 2; n++) {
    const s = [0, 1].map((j) => (q[n * 2]! * kv[n * 4 + j * 2]! + q[n * 2 + 1]! * kv[n * 4 + j * 2 + 1]!) / Math.sqrt(2));
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const l = e[0]! + e[1]!;
    for (let d = 0; d < 2; d++) out.push((e[0]! * kv[n * 4 + d]! + e[1]! * kv[n * 4 + 2 + d]!) / l);
    lse.push(m + Math.log(l));
  }
  return { out, lse };
}

function numbersAfter(label: string, text: string): number[] {
  const line = text.split('\n').find((l) => l.includes(label));
  if (!line) throw new Error(`no "${label}" in output:\n${text}`);
  return line.slice(line.indexOf(label) + label.length).trim().split(/\s+/).map(Number);
}

let work = '';
let tarball = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fia-pkg-'));
  const r = run('npm', ['pack', '--pack-destination', work, '--silent'], ROOT, 180_000);
  expect(r.status, r.stderr).toBe(0);
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(name, r.stdout + r.stderr).toBeDefined();
  tarball = join(work, name!);
}, 200_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function project(name: string, deps: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const dependencies: Record<string, string> = { 'webgpu-fia': `file:${tarball}` };
  for (const [d, path] of Object.entries(deps)) dependencies[d] = `file:${path}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module', dependencies }, null, 2));
  // --legacy-peer-deps: npm 11 fails ("Cannot read properties of null (reading 'matches')") when a
  // file: link satisfies a peer dependency; a user installing from the registry does not hit it.
  const r = run('npm', ['install', '--offline', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error'], dir, 180_000);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

describe('the tarball', () => {
  it('ships the built library, its types, docs and license, and nothing of the benchmark or the sources', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/node.js', 'dist/src/reference/index.js', 'LICENSE',
      'README.md', 'CHANGELOG.md', 'docs/semantics.md', 'docs/validation.md', 'docs/guides/paged-kv.md', 'package.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|bench|shaders|test|scripts)\//.test(f) || f.startsWith('dist/bench') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const shaders = execFileSync('tar', ['xzOf', tarball, 'package/dist/src/kernels/wgsl.generated.js'], { encoding: 'utf8' });
    expect(shaders).toContain('prefill.wgsl');
    expect(shaders).not.toContain('naive_qk');
    expect(shaders).not.toContain('probe_fma');
  });
});

describe('a fresh Node project', () => {
  let dir = '';
  beforeAll(() => {
    dir = project('fia-node-app', {
      webgpu: join(NM, 'webgpu'), '@webgpu/types': join(NM, '@webgpu/types'), typescript: join(NM, 'typescript'),
    });
  }, 200_000);

  const examples = [
    ...jsBlocks('README.md').filter((b) => !b.browser).map((b, i) => ({ file: 'README.md', i, code: b.code })),
    ...['paged-kv', 'antiquant', 'int8', 'merge-lse'].flatMap((g) => jsBlocks(`docs/guides/${g}.md`).map((b, i) => ({ file: `docs/guides/${g}.md`, i, code: b.code }))),
  ];

  it('finds the examples: two in the README, one per guide', () => {
    expect(examples.map((e) => e.file)).toEqual(['README.md', 'README.md', 'docs/guides/paged-kv.md', 'docs/guides/antiquant.md',
      'docs/guides/int8.md', 'docs/guides/merge-lse.md']);
  });

  const outputs = new Map<string, string>();
  for (const ex of examples) {
    it(`runs ${ex.file} example ${ex.i + 1} with node, exit 0, nothing on stderr`, () => {
      const file = join(dir, `${ex.file.replace(/[/.]/g, '_')}_${ex.i}.mjs`);
      writeFileSync(file, ex.code);
      const r = run(process.execPath, [file], dir, 90_000);
      expect(r.status, r.stderr).toBe(0);
      // No Vulkan noise before the software fallback (and no warnings at all).
      expect(r.stderr).toBe('');
      outputs.set(`${ex.file}#${ex.i}`, r.stdout);
      if (ex.file.startsWith('docs/')) {
        const err = numbersAfter('max abs error vs float64 reference:', r.stdout)[0]!;
        // FLOAT16 outputs: 2^-9 (about 4 ulp at 1); the FLOAT32 merge: 1e-5.
        expect(err).toBeLessThanOrEqual(ex.file.includes('merge') ? 1e-5 : 2 ** -9);
      }
    }, 100_000);
  }

  it('the README examples print the doc sample within FLOAT16 tolerance of a float64 computation', () => {
    const want = docSample();
    const quick = outputs.get('README.md#0');
    const twoPhase = outputs.get('README.md#1');
    expect(quick && twoPhase).toBeTruthy();
    for (const [got, exp, tol] of [
      [numbersAfter('attentionOut:', quick!), want.out, 2 ** -9],
      [numbersAfter('softmaxLse:', quick!), want.lse, 1e-5],
      [numbersAfter('attentionOut:', twoPhase!), want.out, 2 ** -9],
    ] as const) {
      expect(got.length).toBe(exp.length);
      got.forEach((x, i) => expect(Math.abs(x - exp[i]!), `${i}: ${x} vs ${exp[i]}`).toBeLessThanOrEqual(tol));
    }
    expect(numbersAfter('status:', twoPhase!)[0]).toBe(0);
  });

  it('require() loads every entry (Node ≥ 20.19) and import() gives the same functions', () => {
    const code = `const m = require('webgpu-fia'); const r = require('webgpu-fia/reference'); const n = require('webgpu-fia/node');
      console.log(typeof m.fusedInferAttentionScore, typeof m.requestWebGpuDevice, typeof r.attentionReference, typeof n.requestDevice);`;
    const r = run(process.execPath, ['--input-type=commonjs', '-e', code], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function function function function');
  });

  it('a TypeScript 5.x consumer type-checks with @webgpu/types, and inputLayout is a literal union', () => {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['@webgpu/types'] },
      include: ['consumer.ts'],
    }));
    writeFileSync(join(dir, 'consumer.ts'), `import { createStream, createTensor, fusedInferAttentionScore, type Layout, type Tensor } from 'webgpu-fia';
import { requestDevice } from 'webgpu-fia/node';
import { attentionReference } from 'webgpu-fia/reference';
export async function run(): Promise<Tensor> {
  const stream = createStream(await requestDevice());
  const q = createTensor(stream, [1, 2], [1, 1, 1, 2], 'FLOAT16');
  const layout: Layout = 'BNSD';
  // @ts-expect-error: 'bnsd' is not a layout
  const bad: Layout = 'bnsd';
  void bad; void attentionReference;
  const r = await fusedInferAttentionScore(stream, { query: q, key: q, value: q, numHeads: 1, inputLayout: layout });
  return r.attentionOut;
}
`);
    const r = run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir], dir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(execFileSync(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-v'], { encoding: 'utf8' })).toMatch(/^Version 5\./);
  }, 60_000);
});

describe('a fresh Vite project in headless Chromium (SwiftShader)', () => {
  let dir = '';
  let server: Server | undefined;
  beforeAll(() => {
    dir = project('fia-vite-app', { vite: join(NM, 'vite') });
  }, 200_000);
  afterAll(async () => {
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('vite build of the README browser example runs and prints the doc sample', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run npm run setup`);
    const browserBlocks = jsBlocks('README.md').filter((b) => b.browser);
    expect(browserBlocks.length).toBe(1);
    writeFileSync(join(dir, 'main.js'), browserBlocks[0]!.code);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>');
    writeFileSync(join(dir, 'vite.config.js'), "export default { build: { target: 'es2022' }, logLevel: 'error' };");
    const b = run(process.execPath, [join(dir, 'node_modules/vite/bin/vite.js'), 'build'], dir);
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const bundle = readdirSync(join(dir, 'dist/assets')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dir, 'dist/assets', f), 'utf8')).join('');
    expect(bundle).not.toContain('naive_qk'); // the benchmark's shaders stay out of a user's bundle
    server = await serveStatic(join(dir, 'dist'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.body.textContent?.startsWith('attentionOut:'), undefined, { timeout: 60_000 })
        .catch(() => { throw new Error(`no output; console:\n${logs.join('\n')}`); });
      const got = numbersAfter('attentionOut:', await page.evaluate(() => document.body.textContent ?? ''));
      const want = docSample().out;
      expect(got.length).toBe(want.length);
      got.forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(2 ** -9));
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('the Node entry (webgpu-fia/node)', () => {
  it('probes for a Vulkan driver by the loader\'s search path', () => {
    const empty = mkdtempSync(join(tmpdir(), 'fia-icd-'));
    const env = { XDG_CONFIG_DIRS: empty, XDG_DATA_HOME: empty, XDG_DATA_DIRS: empty, HOME: empty };
    if (process.platform === 'linux' && !['/etc/vulkan/icd.d', '/usr/local/etc/vulkan/icd.d'].some((d) => existsSync(d) && readdirSync(d).length > 0)) {
      expect(hasVulkanDriver(env)).toBe(false);
    }
    expect(hasVulkanDriver({ ...env, VK_ICD_FILENAMES: '/some/icd.json' })).toBe(true);
    mkdirSync(join(empty, 'vulkan/icd.d'), { recursive: true });
    writeFileSync(join(empty, 'vulkan/icd.d/x.json'), '{}');
    expect(hasVulkanDriver(env)).toBe(true);
    rmSync(empty, { recursive: true, force: true });
  });

  it('40 request/destroy cycles keep RSS growth small (Dawn instances are released)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settle = async () => { gc(); await new Promise((r) => setTimeout(r, 20)); gc(); };
    const cycle = async () => {
      const d = await requestDevice();
      d.createBuffer({ size: 1024, usage: GPUBufferUsage.STORAGE });
      d.destroy();
    };
    for (let i = 0; i < 5; i++) await cycle();
    await settle();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 40; i++) {
      await cycle();
      if (i % 5 === 4) await settle();
    }
    await settle();
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    // Before the fix every device kept its instance (about 1 MiB each: +39 MiB here); now about 8.
    expect(grownMiB).toBeLessThan(20);
    // And a device requested afterwards still works (its instance is alive while it is).
    const d = await requestDevice();
    const buf = d.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    await Promise.race([buf.mapAsync(GPUMapMode.READ), new Promise((_, no) => setTimeout(() => no(new Error('mapAsync hung')), 20_000))]);
    expect(buf.getMappedRange().byteLength).toBe(16);
    d.destroy();
  }, 120_000);
});

