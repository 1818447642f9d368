// Timing primitives shared by the probes and the case runs: robust statistics and per-pass GPU
// timestamps. Device-free apart from the GPUDevice handed in (Node/Dawn or the browser).

/** Order statistics of a sample of times in ms. Spread = interquartile range (q3 − q1). */
export interface Stats {
  n: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  q1Ms: number;
  q3Ms: number;
}

function quantile(sorted: readonly number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function stats(samplesMs: readonly number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    n: s.length, medianMs: quantile(s, 0.5), minMs: s[0]!, maxMs: s[s.length - 1]!,
    q1Ms: quantile(s, 0.25), q3Ms: quantile(s, 0.75),
  };
}

// GPUBufferUsage / GPUMapMode values (spec constants; the globals may be absent in Node before setup).
const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

/**
 * GPU time of whatever one call submits: while `measure` runs, every compute pass begun on an
 * encoder of this device (that has no timestampWrites of its own) gets beginning/end-of-pass
 * timestamps; the result is Σ (end − begin) over those passes, in ms. Works on any code that
 * calls device.createCommandEncoder (ours, the naive baseline, the probes) without changing it.
 * The patch is an own property of this one device object and is removed afterwards.
 * Returns null when no pass was timed or a pair is invalid (end < begin, as webgpu-samples warns).
 */
export class PassTimestamps {
  /** 2 queries per pass: at most 128 passes per measured call. */
  static readonly CAPACITY = 256;
  private readonly querySet: GPUQuerySet;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: PassTimestamps.CAPACITY, label: 'bench.timestamps' });
  }

  static supported(device: GPUDevice): boolean {
    return device.features.has('timestamp-query');
  }

  async measure(call: () => Promise<void>): Promise<number | null> {
    const device = this.device;
    const querySet = this.querySet;
    let used = 0;
    const hadOwn = Object.prototype.hasOwnProperty.call(device, 'createCommandEncoder');
    const own = (device as { createCommandEncoder: GPUDevice['createCommandEncoder'] }).createCommandEncoder;
    const original = device.createCommandEncoder;
    device.createCommandEncoder = function (desc?: GPUCommandEncoderDescriptor): GPUCommandEncoder {
      const enc = original.call(device, desc);
      const begin = enc.beginComputePass;
      enc.beginComputePass = function (d?: GPUComputePassDescriptor): GPUComputePassEncoder {
        if (d?.timestampWrites || used + 2 > PassTimestamps.CAPACITY) return begin.call(enc, d);
        const i = used;
        used += 2;
        return begin.call(enc, {
          ...(d ?? {}), timestampWrites: { querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 },
        });
      };
      return enc;
    };
    try {
      await call();
    } finally {
      if (hadOwn) device.createCommandEncoder = own;
      else delete (device as { createCommandEncoder?: unknown }).createCommandEncoder;
    }
    if (used === 0) return null;
    const bytes = used * 8;
    const resolve = device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
    const read = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    const enc = device.createCommandEncoder();
    enc.resolveQuerySet(querySet, 0, used, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(MAP_READ);
    const ts = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    read.destroy();
    resolve.destroy();
    let ns = 0;
    for (let i = 0; i < used; i += 2) {
      const d = ts[i + 1]! - ts[i]!;
      if (d < 0n) return null;
      ns += Number(d);
    }
    return ns / 1e6;
  }
}

/** Wall-clock ms of one call: performance.now() around encode + submit + onSubmittedWorkDone. */
export async function wallMs(device: GPUDevice, call: () => void | Promise<void>): Promise<number> {
  const t0 = performance.now();
  await call();
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}
