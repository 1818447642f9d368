// The benchmark page (index.html, `npm run dev`): adapter info, case picker, run button, live
// progress, results table, bar charts and a JSON download, on the same core as the Node CLI.
// Also the generation demo (bench/demo/generate.ts, as `npm run demo`) on the page's device.
// State for tests: window.__bench = { state: 'idle' | 'running' | 'done' | 'error', report, error, outputs,
// demo: { state, result, error } }.
import { requestDeviceFrom, requestWebGpuAdapter } from '../src/acl/adapter.js';
import { createStream } from '../src/acl/stream.js';
import { CASES, type BenchCase } from './cases.js';
import { adapterName, adapterRecord, type BenchReport, type BenchRow, figureCells, type Progress, rowStatus, runBench } from './core.js';
import { RUNNERS } from './runners.js';
import { DEMO_PROMPTS, demoCheckSteps, formatCheck, formatTimings, formatTokens, generate, type GenerateResult } from './demo/generate.js';

declare const __BENCH_COMMIT__: string | undefined;

interface PageState {
  state: 'idle' | 'running' | 'done' | 'error' | 'no-webgpu';
  report: BenchReport | null;
  error: string | null;
  /** Outputs of small cases by "caseId/runner" (≤ 4096 elements), for the e2e reference check. */
  outputs: Record<string, number[]>;
  /** The generation demo's last run (its result carries the reference checks). */
  demo: { state: 'idle' | 'running' | 'done' | 'error'; result: GenerateResult | null; error: string | null };
}

const page: PageState = { state: 'idle', report: null, error: null, outputs: {}, demo: { state: 'idle', result: null, error: null } };
(globalThis as unknown as { __bench: PageState }).__bench = page;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e: HTMLElementTagNameMap[K] = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const COLORS: Record<string, string> = { ours: '#0969da', naive: '#bf8700' };

/** A horizontal bar chart, one bar per (case, runner) row with a value. */
function barChart(rows: BenchRow[], value: (r: BenchRow) => number | null, unit: string, id: string): SVGElement {
  const items = rows.map((r) => ({ r, v: value(r) })).filter((x): x is { r: BenchRow; v: number } => x.v !== null && Number.isFinite(x.v));
  const labelW = 260, barW = 520, rowH = 22, pad = 6;
  const max = Math.max(...items.map((x) => x.v), 1e-9);
  const root = svg('svg', { id, width: labelW + barW + 110, height: items.length * rowH + 2 * pad, role: 'img' });
  items.forEach(({ r, v }, i) => {
    const y = pad + i * rowH;
    const w = Math.max(1, (v / max) * barW);
    root.append(
      svg('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end' }, `${r.caseId} · ${r.runner}`),
      svg('rect', { class: 'bar', x: labelW, y: y + 3, width: w, height: rowH - 6, fill: COLORS[r.runner] ?? '#57606a', 'data-case': r.caseId, 'data-runner': r.runner }),
      svg('text', { x: labelW + w + 6, y: y + 15 }, `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ${unit}`),
    );
  });
  return root;
}

const HEAD = ['case', 'runner', 'median ms', 'IQR ms', 'GPU ms', 'rate', '% roofline', '× naive', 'max err', 'status'];

function rowCells(r: BenchRow): string[] {
  return [r.caseId, r.runner, ...figureCells(r, '–'), rowStatus(r)];
}

function addRow(r: BenchRow): void {
  const tr = el('tr');
  tr.dataset.case = r.caseId;
  tr.dataset.runner = r.runner;
  rowCells(r).forEach((text, i) => {
    const td = el('td', { textContent: text, title: i === 0 ? r.title : text });
    if (i === HEAD.length - 1) td.className = r.ok ? 'ok' : r.unsupported ? 'na' : 'fail';
    tr.append(td);
  });
  $('results').querySelector('tbody')!.append(tr);
}

function showNoWebGpu(reason: string): void {
  page.state = 'no-webgpu';
  page.error = reason;
  const box = $('adapter');
  box.className = 'panel error';
  box.id = 'adapter';
  box.replaceChildren(
    el('strong', { id: 'no-webgpu' }, 'WebGPU is not available here. '),
    `${reason} Use a recent Chrome or Edge (113+) on a machine with a GPU driver, served from localhost or HTTPS; ` +
      'on Linux you may need chrome://flags/#enable-unsafe-webgpu and Vulkan. Node alternative: npm run bench.',
  );
}

async function requestDevice(): Promise<{ adapter: GPUAdapter; device: GPUDevice } | null> {
  let adapter: GPUAdapter;
  try {
    adapter = await requestWebGpuAdapter();
  } catch (e) {
    showNoWebGpu(e instanceof Error ? e.message : String(e));
    return null;
  }
  return { adapter, device: await requestDeviceFrom(adapter) };
}

function caseBoxes(): HTMLInputElement[] {
  return Array.from(document.querySelectorAll<HTMLInputElement>('#cases input[type=checkbox]'));
}

function buildControls(initial: Set<string>): void {
  const box = $('cases');
  for (const c of CASES) {
    const input = el('input', { type: 'checkbox', id: `case-${c.id}`, value: c.id, checked: initial.has(c.id) });
    box.append(el('label', { title: c.tags.join(', ') }, input, ` ${c.id}`, el('small', {}, ` — ${c.title}`)));
  }
  const pick = (pred: (c: BenchCase) => boolean) => () => caseBoxes().forEach((b) => {
    b.checked = pred(CASES.find((c) => c.id === b.value)!);
  });
  $('pick-smoke').onclick = pick((c) => c.tags.includes('smoke'));
  $('pick-quick').onclick = pick((c) => c.tags.includes('quick'));
  $('pick-all').onclick = pick(() => true);
  $('pick-none').onclick = pick(() => false);
  const runners = $('runners');
  for (const r of RUNNERS) {
    runners.append(el('label', { title: r.label }, el('input', { type: 'checkbox', id: `runner-${r.id}`, value: r.id, checked: true }), ` ${r.id} `));
  }
}

async function run(device: GPUDevice, adapter: GPUAdapter): Promise<void> {
  const cases = CASES.filter((c) => caseBoxes().some((b) => b.checked && b.value === c.id));
  const runners = RUNNERS.filter((r) => document.querySelector<HTMLInputElement>(`#runner-${r.id}`)?.checked);
  if (cases.length === 0 || runners.length === 0) {
    $('progress-text').textContent = 'pick at least one case and one runner';
    return;
  }
  const iters = Math.max(1, Math.min(100, Number($<HTMLInputElement>('iters').value) || 5));
  page.state = 'running';
  page.report = null;
  page.outputs = {};
  $<HTMLButtonElement>('run').disabled = true;
  $<HTMLButtonElement>('download').disabled = true;
  $('output').hidden = false;
  const thead = $('results').querySelector('thead')!;
  thead.replaceChildren(el('tr', {}, ...HEAD.map((h) => el('th', { textContent: h }))));
  $('results').querySelector('tbody')!.replaceChildren();
  for (const id of ['chart-time', 'chart-roofline', 'check', 'probe']) $(id).replaceChildren();
  const bar = $<HTMLProgressElement>('progress');
  const steps = cases.length * runners.length;
  let done = 0;
  const outputs = new Map<string, Float64Array>();
  try {
    const report = await runBench({
      device, adapter: adapterRecord(adapter, device), cases, runners, iters, warmup: 2,
      runtime: `browser: ${navigator.userAgent}`,
      commit: typeof __BENCH_COMMIT__ === 'string' ? __BENCH_COMMIT__ : 'unknown',
      keepOutputsUpTo: 4096, outputs,
      onProgress: (p: Progress) => {
        $('progress-text').textContent = p.phase === 'probe' ? 'probing the roofline (FMA, streaming read)…'
          : p.phase === 'done' ? 'done'
          : `[${p.caseIndex + 1}/${p.caseCount}] ${p.caseId} · ${p.runner} · ${p.phase}${p.iters ? ` ${p.iter}/${p.iters}` : ''}`;
        bar.value = p.phase === 'done' ? 1 : done / steps;
      },
      onRow: (r) => { done++; addRow(r); },
    });
    for (const [k, v] of outputs) page.outputs[k] = [...v];
    page.report = report;
    render(report);
    page.state = 'done';
  } catch (e) {
    page.error = e instanceof Error ? e.message : String(e);
    page.state = 'error';
    $('progress-text').textContent = `error: ${page.error}`;
  } finally {
    $<HTMLButtonElement>('run').disabled = false;
  }
}

function render(report: BenchReport): void {
  const p = report.probes;
  $('probe').textContent = `Roofline probes (${p.timing}): FMA ${p.fmaGflops.toFixed(1)} GFLOP/s, ` +
    `streaming read ${p.readGBs.toFixed(2)} GB/s. Rates use ${report.settings.timing === 'gpu-timestamp' ? 'GPU timestamps' : 'wall clock'}; ` +
    `${report.settings.iters} timed calls after ${report.settings.warmup} warm-up calls.`;
  const checked = report.rows.filter((r) => r.maxAbsErr !== null);
  const bad = report.rows.filter((r) => !r.ok && !r.unsupported);
  $('check').textContent = `Reference check (float64 SDPA): ${checked.length} rows compared, ` +
    `${bad.length === 0 ? 'all within tolerance' : `${bad.length} failed`}; ` +
    `largest max abs error ${Math.max(0, ...checked.map((r) => r.maxAbsErr!)).toExponential(2)}.`;
  $('chart-time').replaceChildren(barChart(report.rows, (r) => r.timeMs, 'ms', 'chart-time-svg'));
  $('chart-roofline').replaceChildren(barChart(report.rows, (r) => (r.rooflineFraction === null ? null : r.rooflineFraction * 100), '%', 'chart-roofline-svg'));
  const dl = $<HTMLButtonElement>('download');
  dl.disabled = false;
  dl.onclick = () => {
    const blob = new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `webgpu-fia-bench-${report.date.replace(/[:.]/g, '-')}.json` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
}

async function runDemo(device: GPUDevice): Promise<void> {
  const steps = Math.max(2, Math.min(200, Number($<HTMLInputElement>('demo-steps').value) || 16));
  page.demo = { state: 'running', result: null, error: null };
  const button = $<HTMLButtonElement>('demo-run');
  const status = $('demo-status');
  button.disabled = true;
  status.textContent = 'running…';
  $('demo-output').replaceChildren();
  try {
    const result = await generate(createStream(device), DEMO_PROMPTS, steps, {
      checkSteps: demoCheckSteps(steps),
      trace: (what) => { status.textContent = what; },
    });
    const failed = result.checks.filter((c) => !c.ok).length;
    $('demo-output').replaceChildren(
      ...formatTokens(DEMO_PROMPTS, result).map((line) => el('div', {}, line)),
      ...result.checks.map((c) => el('div', { className: c.ok ? 'ok' : 'fail' }, formatCheck(c))),
      ...formatTimings(DEMO_PROMPTS, result).map((line) => el('div', {}, line)),
    );
    status.textContent = failed === 0 ? `done: ${result.checks.length} reference checks, all ok` : `done: ${failed} of ${result.checks.length} reference checks FAILED`;
    page.demo = { state: 'done', result, error: null };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    status.textContent = `error: ${error}`;
    page.demo = { state: 'error', result: null, error };
  } finally {
    button.disabled = false;
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const got = await requestDevice();
  if (!got) return;
  const { adapter, device } = got;
  const rec = adapterRecord(adapter, device);
  $('adapter').replaceChildren(
    el('strong', {}, 'Adapter: '), el('span', { id: 'adapter-name' }, adapterName(rec)),
    el('br'), `fallback/software: ${rec.isFallbackAdapter ?? 'unknown'}; features: ${rec.features.join(', ') || 'none'}; ` +
      `timing: ${rec.features.includes('timestamp-query') ? 'GPU timestamps + wall clock' : 'wall clock'}`,
  );
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') $('progress-text').textContent = `device lost: ${info.message}`;
  });
  const initial = new Set((params.get('cases') ?? 'smoke').split(','));
  buildControls(initial);
  if (params.get('iters')) $<HTMLInputElement>('iters').value = params.get('iters')!;
  $('controls').hidden = false;
  $('run').onclick = () => void run(device, adapter);
  $('demo').hidden = false;
  $('demo-run').onclick = () => void runDemo(device);
  page.state = 'idle';
  if (params.get('autorun') === '1') void run(device, adapter);
}

main().catch((e: unknown) => {
  page.state = 'error';
  page.error = e instanceof Error ? e.message : String(e);
  $('adapter').textContent = `error: ${page.error}`;
});
