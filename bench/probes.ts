// The adapter's own roofline, measured by the bench itself: an FMA-throughput probe (GFLOP/s) and
// a streaming-read probe (GB/s). A row's roofline time is max(flops / peakFlops, bytes / peakBytes).
import { getPipeline } from '../src/kernels/shader.js';
import { benchWgsl as wgsl } from './shaders.js';
import { PassTimestamps, stats, wallMs, type Stats } from './timing.js';

export interface ProbeResult {
  /** Sustained f32 FMA throughput, 1 FMA = 2 flops. */
  fmaGflops: number;
  /** Sustained streaming-read bandwidth, GB = 1e9 bytes. */
  readGBs: number;
  fma: { invocations: number; iters: number; flops: number; time: Stats };
  /** The fastest access pattern and grid (shaders/bench/probe_read.wgsl) sets readGBs. */
  read: { bytes: number; pattern: string; time: Stats; variants: { pattern: string; medianMs: number }[] };
  timing: 'gpu-timestamp' | 'wall';
}

const STORAGE = 0x80;
const COPY_DST = 0x08;
const UNIFORM = 0x40;

/** FMA probe grid: 256 workgroups of 256 invocations. */
const FMA_WORKGROUPS = 256;
/** Read probe: both access patterns on a small and a large grid; the fastest sets the roofline. */
const READ_VARIANTS: readonly [0 | 1, number][] = [[0, 8], [0, 256], [1, 8], [1, 256]];
const READ_OUT_INVOCATIONS = 256 * 256;

/** FLOPs per FMA-probe invocation and iteration: 8 vec4 chains × 4 lanes × 2. */
const FLOPS_PER_ITER = 64;

type Timer = (call: () => void) => Promise<number>;

function makeTimer(device: GPUDevice, useTimestamps: boolean): Timer {
  const ts = useTimestamps ? new PassTimestamps(device) : null;
  return async (call) => {
    if (ts) {
      const gpu = await ts.measure(async () => { call(); await device.queue.onSubmittedWorkDone(); });
      if (gpu !== null) return gpu;
    }
    return wallMs(device, call);
  };
}

async function repeat(timer: Timer, call: () => void, warmup: number, iters: number): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await timer(call);
  const samples: number[] = [];
  for (let i = 0; i < iters; i++) samples.push(await timer(call));
  return stats(samples);
}

function uniform(device: GPUDevice, words: ArrayBuffer): GPUBuffer {
  const b = device.createBuffer({ size: words.byteLength, usage: UNIFORM | COPY_DST });
  device.queue.writeBuffer(b, 0, words);
  return b;
}

/**
 * Runs both probes (about 1.5 s on SwiftShader). The FMA probe doubles its iteration count until
 * one call takes ≥ `targetMs`, then reports the median of 5 calls.
 */
export async function runProbes(device: GPUDevice, opts: { useTimestamps: boolean; targetMs?: number } = { useTimestamps: false }): Promise<ProbeResult> {
  const timer = makeTimer(device, opts.useTimestamps);
  const targetMs = opts.targetMs ?? 40;

  // FMA throughput.
  const fmaPipe = getPipeline(device, 'bench.probe_fma', () => ({ code: wgsl('bench/probe_fma.wgsl'), label: 'bench.probe_fma' }));
  const invocations = FMA_WORKGROUPS * 256;
  const fmaOut = device.createBuffer({ size: invocations * 4, usage: STORAGE });
  let iters = 64;
  let fmaUniform: GPUBuffer | null = null;
  const fmaCall = () => {
    const enc = device.createCommandEncoder({ label: 'bench.probe_fma' });
    const pass = enc.beginComputePass();
    pass.setPipeline(fmaPipe);
    pass.setBindGroup(0, device.createBindGroup({
      layout: fmaPipe.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: fmaOut } }, { binding: 1, resource: { buffer: fmaUniform! } }],
    }));
    pass.dispatchWorkgroups(FMA_WORKGROUPS);
    pass.end();
    device.queue.submit([enc.finish()]);
  };
  const setIters = (n: number) => {
    fmaUniform?.destroy();
    const u = new ArrayBuffer(16);
    const view = new DataView(u);
    view.setUint32(0, n, true);
    view.setFloat32(4, 0.999, true);
    view.setFloat32(8, 1e-3, true);
    fmaUniform = uniform(device, u);
  };
  setIters(iters);
  await timer(fmaCall); // compile + first touch
  for (;;) {
    const t = await timer(fmaCall);
    if (t >= targetMs || iters >= 1 << 20) break;
    iters *= t > 0 ? Math.min(16, Math.max(2, 2 ** Math.ceil(Math.log2(targetMs / t)))) : 16;
    setIters(iters);
  }
  const fmaTime = await repeat(timer, fmaCall, 1, 5);
  const flops = invocations * iters * FLOPS_PER_ITER;

  // Streaming read.
  const readPipe = getPipeline(device, 'bench.probe_read', () => ({ code: wgsl('bench/probe_read.wgsl'), label: 'bench.probe_read' }));
  const readBytes = Math.min(32 << 20, device.limits.maxStorageBufferBindingSize) & ~15;
  const src = device.createBuffer({ size: readBytes, usage: STORAGE | COPY_DST });
  const readOut = device.createBuffer({ size: READ_OUT_INVOCATIONS * 4, usage: STORAGE });
  const readCall = (mode: 0 | 1, workgroups: number) => {
    const ru = new ArrayBuffer(16);
    const view = new DataView(ru);
    view.setUint32(0, readBytes / 16, true);
    view.setUint32(4, mode, true);
    const readUniform = uniform(device, ru);
    const bind = device.createBindGroup({
      layout: readPipe.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: readOut } },
        { binding: 2, resource: { buffer: readUniform } },
      ],
    });
    const call = () => {
      const enc = device.createCommandEncoder({ label: 'bench.probe_read' });
      const pass = enc.beginComputePass();
      pass.setPipeline(readPipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(workgroups);
      pass.end();
      device.queue.submit([enc.finish()]);
    };
    return { call, readUniform, pattern: `${mode === 0 ? 'grid-stride' : 'blocked'} × ${workgroups} workgroups` };
  };
  const variants = READ_VARIANTS.map(([mode, wgs]) => readCall(mode, wgs));
  const readTimes: { pattern: string; time: Stats }[] = [];
  for (const v of variants) readTimes.push({ pattern: v.pattern, time: await repeat(timer, v.call, 1, 5) });
  const best = readTimes.reduce((a, b) => (b.time.medianMs < a.time.medianMs ? b : a));

  for (const b of [fmaOut, fmaUniform as GPUBuffer | null, src, readOut, ...variants.map((v) => v.readUniform)]) b?.destroy();
  return {
    fmaGflops: flops / (fmaTime.medianMs * 1e6),
    readGBs: readBytes / (best.time.medianMs * 1e6),
    fma: { invocations, iters, flops, time: fmaTime },
    read: { bytes: readBytes, pattern: best.pattern, time: best.time, variants: readTimes.map((r) => ({ pattern: r.pattern, medianMs: r.time.medianMs })) },
    timing: opts.useTimestamps ? 'gpu-timestamp' : 'wall',
  };
}
