// What a plan may assume about the device: its limits and optional fast-path features.

export interface DeviceCaps {
  maxWorkgroupStorageBytes: number;
  maxInvocationsPerWorkgroup: number;
  maxWorkgroupSizeX: number;
  maxStorageBuffersPerStage: number;
  maxStorageBindingBytes: number;
  maxWorkgroupsPerDimension: number;
  shaderF16: boolean;
  subgroups: boolean;
  /**
   * The adapter is SwiftShader: its JIT compiles long straight-line code in seconds and keeps only
   * named values in registers, so the decode 'lanes' variant (src/kernels/decode.ts) is its fast
   * path. Measured elsewhere: lavapipe's LLVM spends 12 s to minutes on the same code.
   */
  straightLineLanes: boolean;
  /**
   * The adapter says it is a fallback (software) adapter, SwiftShader and lavapipe here: the
   * prefill planner gives it the CPU-shaped body, and hardware the cooperative one (prefill.ts).
   */
  fallbackAdapter: boolean;
}

export function capsOf(device: GPUDevice): DeviceCaps {
  const l = device.limits;
  return {
    maxWorkgroupStorageBytes: l.maxComputeWorkgroupStorageSize,
    maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerStage: l.maxStorageBuffersPerShaderStage,
    maxStorageBindingBytes: l.maxStorageBufferBindingSize,
    maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    straightLineLanes: device.adapterInfo?.architecture === 'swiftshader',
    fallbackAdapter: isSoftwareAdapter(device.adapterInfo as GPUAdapterInfo & { isFallbackAdapter?: boolean } | undefined),
  };
}

/** The adapter says it is a fallback adapter, or (browsers without that field) names a CPU driver. */
function isSoftwareAdapter(info: (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined): boolean {
  if (!info) return false;
  if (info.isFallbackAdapter === true) return true;
  return /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.device} ${info.description}`);
}

/** The WebGPU defaults: what every adapter grants (used when planning without a device). */
export const DEFAULT_CAPS: DeviceCaps = {
  maxWorkgroupStorageBytes: 16384,
  maxInvocationsPerWorkgroup: 256,
  maxWorkgroupSizeX: 256,
  maxStorageBuffersPerStage: 8,
  maxStorageBindingBytes: 134217728,
  maxWorkgroupsPerDimension: 65535,
  shaderF16: false,
  subgroups: false,
  straightLineLanes: false,
  fallbackAdapter: false,
};

/** One dispatch's share of a grid axis: workgroups [base, base + count). */
export interface AxisRun {
  base: number;
  count: number;
}

/**
 * [0, total) in runs of at most `max` workgroups (maxComputeWorkgroupsPerDimension, or a smaller
 * per-kernel cap): one dispatch per run along that axis, the kernel adding `base` (a uniform).
 */
export function axisRuns(total: number, max: number): AxisRun[] {
  const step = Math.max(1, Math.floor(max));
  const runs: AxisRun[] = [];
  for (let base = 0; base < total; base += step) runs.push({ base, count: Math.min(step, total - base) });
  return runs;
}
