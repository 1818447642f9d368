// The benchmark core shared by the Node CLI (bench/cli.ts) and the page (bench/page.ts): for each
// case × runner it prepares the inputs once, checks the first call against the float64 reference,
// warms up, then times calls (median and spread) by wall clock and, where the device has
// 'timestamp-query', by per-pass GPU timestamps. Rows carry GFLOP/s (prefill) or GB/s (decode),
// the fraction of the probe roofline, and the speed-up over the naive baseline measured here.
import {
  type BenchCase, bytesMoved, type CaseInputs, DTYPE_RATIOS, flopCount, groupSize, makeInputs, maxAbsError, sdpaReference,
} from './cases.js';
import { type ProbeResult, runProbes } from './probes.js';
import { PassTimestamps, type Stats, stats, wallMs } from './timing.js';

/** One prepared (case, runner) pair; `run` encodes and submits one call, the core awaits the queue. */
export interface PreparedRun {
  run(): void | Promise<void>;
  /** The last call's output as logical values, row-major [B, N, Q_S, D]. */
  readOutput(): Promise<Float64Array>;
  /** Max abs error allowed against the float64 reference. */
  tolerance: number;
  /** Anything a reader of the row should know (e.g. what the baseline reads instead). */
  note?: string;
  /**
   * Resolves when the runner's steady-state pipelines are compiled (a tiered kernel's first call
   * runs its quick tier and compiles the steady one in the background); timing starts after it.
   */
  steady?(): Promise<void>;
  dispose(): void;
}

export interface Runner {
  id: string;
  label: string;
  /** Throws when the runner cannot run the case (the row records the message). */
  prepare(device: GPUDevice, c: BenchCase, inputs: CaseInputs): Promise<PreparedRun>;
}

export interface AdapterRecord {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean | null;
  features: string[];
  limits: Record<string, number>;
}

export interface BenchRow {
  caseId: string;
  title: string;
  kind: 'prefill' | 'decode';
  shape: { batch: number; numQoHeads: number; numKvHeads: number; groupSize: number; qSeqLen: number; kvSeqLen: number; headDim: number };
  causal: boolean;
  dtype: string;
  kvStorage: string;
  runner: string;
  ok: boolean;
  error?: string;
  /** The runner does not run this case's features yet (e.g. status 561101): reported, not a failure. */
  unsupported?: boolean;
  note?: string;
  maxAbsErr: number | null;
  tolerance: number | null;
  /**
   * Wall ms of the row's first call, from the call to its completion: pipeline compilation
   * (the shape's first call in this process) plus one run.
   */
  firstCallMs: number | null;
  wall: Stats | null;
  gpu: Stats | null;
  /** The time the rates use: the GPU-timestamp median when measured, else the wall median. */
  timeMs: number | null;
  timeSource: 'gpu-timestamp' | 'wall' | null;
  flops: number;
  bytes: number;
  gflops: number | null;
  gbps: number | null;
  /** max(flops / probe GFLOP/s, bytes / probe GB/s): the time this adapter's roofline allows. */
  rooflineMs: number;
  /** rooflineMs / timeMs (1 = at the roofline). */
  rooflineFraction: number | null;
  /** naive timeMs / this row's timeMs (> 1: faster than the naive baseline). */
  speedupVsNaive: number | null;
}

export interface BenchReport {
  schema: 'webgpu-fia-bench/1';
  date: string;
  commit: string;
  runtime: string;
  adapter: AdapterRecord;
  probes: ProbeResult;
  settings: { warmup: number; iters: number; gpuTimestampIters: number; timing: 'gpu-timestamp' | 'wall'; check: boolean };
  rows: BenchRow[];
}

export interface Progress {
  /** 'probe' while the roofline probes run, then one event per (case, runner) step. */
  phase: 'probe' | 'prepare' | 'check' | 'warmup' | 'time' | 'gpu-time' | 'done';
  caseIndex: number;
  caseCount: number;
  caseId: string;
  runner: string;
  iter: number;
  iters: number;
}

export interface BenchOptions {
  device: GPUDevice;
  adapter: AdapterRecord;
  cases: readonly BenchCase[];
  runners: readonly Runner[];
  /** Uncounted calls before timing (≥ 2 including the checked first call). */
  warmup?: number;
  iters?: number;
  /** Extra calls timed with pass timestamps (when the device has 'timestamp-query'). */
  gpuTimestampIters?: number;
  /** Compare the first call with the float64 reference (default true). */
  check?: boolean;
  runtime: string;
  commit: string;
  onProgress?: (p: Progress) => void;
  /** Called with each finished row (live tables). */
  onRow?: (row: BenchRow) => void;
  /** Keep the outputs of cases whose output has at most this many elements (the page's check). */
  keepOutputsUpTo?: number;
  outputs?: Map<string, Float64Array>;
}

/** The adapter as recorded in every report. */
export function adapterRecord(adapter: GPUAdapter, device?: GPUDevice): AdapterRecord {
  const i = adapter.info;
  const l = (device ?? adapter).limits;
  const limits: Record<string, number> = {};
  for (const k of ['maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxStorageBufferBindingSize', 'maxBufferSize'] as const) limits[k] = l[k];
  const info = i as GPUAdapterInfo & { isFallbackAdapter?: boolean; subgroupMinSize?: number; subgroupMaxSize?: number };
  if (typeof info.subgroupMinSize === 'number') limits.subgroupMinSize = info.subgroupMinSize;
  if (typeof info.subgroupMaxSize === 'number') limits.subgroupMaxSize = info.subgroupMaxSize;
  return {
    vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    isFallbackAdapter: typeof info.isFallbackAdapter === 'boolean' ? info.isFallbackAdapter : null,
    features: [...(device ?? adapter).features].sort(), limits,
  };
}

/** "google / swiftshader / SwiftShader driver 5.0.0" */
export function adapterName(a: AdapterRecord): string {
  return [a.vendor, a.architecture, a.device, a.description].filter((s) => s && s.length > 0).join(' / ') || 'unknown adapter';
}

function baseRow(c: BenchCase, runner: string, probes: ProbeResult): BenchRow {
  const flops = flopCount(c);
  const bytes = bytesMoved(c);
  return {
    caseId: c.id, title: c.title, kind: c.kind,
    shape: {
      batch: c.batch, numQoHeads: c.numQoHeads, numKvHeads: c.numKvHeads, groupSize: groupSize(c),
      qSeqLen: c.qSeqLen, kvSeqLen: c.kvSeqLen, headDim: c.headDim,
    },
    causal: c.causal, dtype: c.dtype, kvStorage: c.kvStorage, runner, ok: false, maxAbsErr: null, tolerance: null,
    firstCallMs: null, wall: null, gpu: null, timeMs: null, timeSource: null, flops, bytes, gflops: null, gbps: null,
    rooflineMs: Math.max(flops / (probes.fmaGflops * 1e6), bytes / (probes.readGBs * 1e6)),
    rooflineFraction: null, speedupVsNaive: null,
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs one call inside validation/out-of-memory error scopes; a device error becomes a thrown Error. */
async function scopedCall(device: GPUDevice, call: () => void | Promise<void>): Promise<void> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let thrown: unknown = null;
  try {
    await call();
    await device.queue.onSubmittedWorkDone();
  } catch (e) {
    thrown = e;
  }
  const oom = await device.popErrorScope();
  const validation = await device.popErrorScope();
  if (thrown) throw thrown;
  const err = validation ?? oom;
  if (err) throw new Error(`WebGPU error: ${err.message}`);
}

/** Thrown by a runner's prepare when the case uses a feature it does not run yet (not a failure). */
export class UnsupportedCaseError extends Error {}

interface RowContext {
  device: GPUDevice;
  reference: () => Float64Array;
  warmup: number;
  iters: number;
  gpuIters: number;
  timestamps: PassTimestamps | null;
  check: boolean;
  step: (phase: Progress['phase'], iter?: number, n?: number) => void;
  keepOutput: (out: Float64Array) => void;
}

/**
 * One (case, runner) row: the checked first call, warm-up, `iters` wall-clock calls, then
 * `gpuIters` calls with pass timestamps (kept apart so the timestamp plumbing never inflates the
 * wall times). Fills row.wall, row.gpu, row.maxAbsErr, row.timeMs and the rates.
 */
async function measureRow(row: BenchRow, p: PreparedRun, x: RowContext): Promise<void> {
  const { device } = x;
  row.note = p.note;
  x.step('check');
  const t0 = performance.now();
  await scopedCall(device, () => p.run());
  await device.queue.onSubmittedWorkDone();
  row.firstCallMs = performance.now() - t0;
  if (x.check) {
    const out = await p.readOutput();
    row.maxAbsErr = maxAbsError(out, x.reference());
    row.tolerance = p.tolerance;
    x.keepOutput(out);
  }
  await p.steady?.();
  for (let i = 1; i < x.warmup; i++) {
    x.step('warmup', i, x.warmup);
    await wallMs(device, () => p.run());
  }
  const wall: number[] = [];
  for (let i = 0; i < x.iters; i++) {
    x.step('time', i + 1, x.iters);
    wall.push(await wallMs(device, () => p.run()));
  }
  row.wall = stats(wall);
  const gpu: number[] = [];
  for (let i = 0; i < x.gpuIters && x.timestamps; i++) {
    x.step('gpu-time', i + 1, x.gpuIters);
    const t = await x.timestamps.measure(async () => { await p.run(); await device.queue.onSubmittedWorkDone(); });
    if (t !== null) gpu.push(t);
  }
  row.gpu = gpu.length > 0 ? stats(gpu) : null;
  row.timeMs = row.gpu ? row.gpu.medianMs : row.wall.medianMs;
  row.timeSource = row.gpu ? 'gpu-timestamp' : 'wall';
  row.gflops = row.flops / (row.timeMs * 1e6);
  row.gbps = row.bytes / (row.timeMs * 1e6);
  row.rooflineFraction = row.rooflineMs / row.timeMs;
  row.ok = row.maxAbsErr === null || row.maxAbsErr <= p.tolerance;
  if (!row.ok) row.error = `max abs error ${row.maxAbsErr!.toExponential(2)} > tolerance ${p.tolerance}`;
}

/** Runs every case × runner; the naive runner (if present) is timed first so each row gets its ratio. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const { device } = opts;
  const warmup = Math.max(2, opts.warmup ?? 2);
  const iters = Math.max(1, opts.iters ?? 10);
  const useTs = PassTimestamps.supported(device);
  const gpuIters = useTs ? Math.max(0, opts.gpuTimestampIters ?? Math.min(5, iters)) : 0;
  const check = opts.check ?? true;
  const progress = (p: Omit<Progress, 'caseCount'>) => opts.onProgress?.({ ...p, caseCount: opts.cases.length });

  progress({ phase: 'probe', caseIndex: 0, caseId: '', runner: '', iter: 0, iters: 0 });
  const probes = await runProbes(device, { useTimestamps: useTs });
  const timestamps = useTs ? new PassTimestamps(device) : null;
  const runners = [...opts.runners].sort((a, b) => (a.id === 'naive' ? -1 : b.id === 'naive' ? 1 : 0));

  const rows: BenchRow[] = [];
  for (const [caseIndex, c] of opts.cases.entries()) {
    const inputs = makeInputs(c);
    let reference: Float64Array | null = null;
    let naiveMs: number | null = null;
    for (const runner of runners) {
      const row = baseRow(c, runner.id, probes);
      const ctx: RowContext = {
        device, warmup, iters, gpuIters, timestamps, check,
        reference: () => (reference ??= sdpaReference(c, inputs)),
        step: (phase, iter = 0, n = 0) => progress({ phase, caseIndex, caseId: c.id, runner: runner.id, iter, iters: n }),
        keepOutput: (out) => {
          if (opts.outputs && opts.keepOutputsUpTo !== undefined && out.length <= opts.keepOutputsUpTo) {
            opts.outputs.set(`${c.id}/${runner.id}`, out);
          }
        },
      };
      let prepared: PreparedRun | null = null;
      try {
        ctx.step('prepare');
        prepared = await runner.prepare(device, c, inputs);
        await measureRow(row, prepared, ctx);
        if (runner.id === 'naive') naiveMs = row.timeMs;
        row.speedupVsNaive = naiveMs !== null && row.timeMs !== null ? naiveMs / row.timeMs : null;
      } catch (e) {
        row.error = message(e);
        row.unsupported = e instanceof UnsupportedCaseError;
      } finally {
        prepared?.dispose();
      }
      rows.push(row);
      opts.onRow?.(row);
    }
  }
  progress({ phase: 'done', caseIndex: opts.cases.length, caseId: '', runner: '', iter: 0, iters: 0 });
  return {
    schema: 'webgpu-fia-bench/1', date: new Date().toISOString(), commit: opts.commit, runtime: opts.runtime,
    adapter: opts.adapter, probes,
    settings: { warmup, iters, gpuTimestampIters: gpuIters, timing: useTs ? 'gpu-timestamp' : 'wall', check },
    rows,
  };
}

/** 'ok', 'n/a: <why>' for a feature the runner does not run yet, else 'FAIL: <why>'. */
export function rowStatus(r: BenchRow): string {
  return r.ok ? 'ok' : `${r.unsupported ? 'n/a' : 'FAIL'}: ${r.error ?? ''}`;
}

/** Rows that count as failures (wrong numbers or errors; unsupported features do not). */
export function failedRows(report: BenchReport): BenchRow[] {
  return report.rows.filter((r) => !r.ok && !r.unsupported);
}

const TABLE_HEAD = ['case', 'runner', 'first ms', 'wall ms', 'IQR', 'gpu ms', 'rate', '% roofline', 'x naive', 'max err', 'status'];

/**
 * A row's figures as table cells: wall median, IQR, GPU median, rate, % roofline, × naive, max
 * error; `none` where a figure is missing. The CLI table and the page show the same ones.
 */
export function figureCells(r: BenchRow, none: string): string[] {
  return [
    r.wall ? r.wall.medianMs.toFixed(2) : none,
    r.wall ? (r.wall.q3Ms - r.wall.q1Ms).toFixed(2) : none,
    r.gpu ? r.gpu.medianMs.toFixed(2) : none,
    r.timeMs === null ? none : r.kind === 'prefill' ? `${r.gflops!.toFixed(2)} GFLOP/s` : `${r.gbps!.toFixed(2)} GB/s`,
    r.rooflineFraction === null ? none : `${(r.rooflineFraction * 100).toFixed(1)}%`,
    r.speedupVsNaive === null ? none : r.speedupVsNaive.toFixed(2),
    r.maxAbsErr === null ? none : r.maxAbsErr.toExponential(1),
  ];
}

function tableCells(report: BenchReport): string[][] {
  return report.rows.map((r) => [
    r.caseId, r.runner, r.firstCallMs === null ? '-' : r.firstCallMs.toFixed(0), ...figureCells(r, '-'), rowStatus(r).slice(0, 100),
  ]);
}

/** Fixed-width text table of a report's rows (the CLI prints it). */
export function formatTable(report: BenchReport): string {
  const head = TABLE_HEAD;
  const body = tableCells(report);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((s, i) => (i < 2 || i === cells.length - 1 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * DTYPE_RATIOS over the report's rows of ours (GPU time where measured, else wall): one line per
 * pair whose two cases both ran, with its goal and whether it is met; none when no pair ran.
 */
export function formatDtypeRatios(report: BenchReport): string[] {
  const time = (id: string): number | null => {
    const r = report.rows.find((x) => x.caseId === id && x.runner === 'ours' && x.ok);
    return r?.gpu?.medianMs ?? r?.wall?.medianMs ?? null;
  };
  const lines: string[] = [];
  for (const p of DTYPE_RATIOS) {
    const num = time(p.num);
    const den = time(p.den);
    if (num === null || den === null) continue;
    const ratio = num / den;
    lines.push(`${p.name.padEnd(36)} ${ratio.toFixed(2)}  (goal ≤ ${p.goal}: ${ratio <= p.goal ? 'met' : 'not met'})`);
  }
  return lines.length > 0 ? ['time ratios of ours (same run; does time follow the bytes moved?):', ...lines] : [];
}

/** The same table as GitHub markdown (`npm run bench -- --markdown`), for the README. */
export function formatMarkdown(report: BenchReport): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${TABLE_HEAD.join(' | ')} |`,
    `|${TABLE_HEAD.map((_, i) => (i < 2 || i === TABLE_HEAD.length - 1 ? '---' : '---:')).join('|')}|`,
    ...tableCells(report).map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n');
}
