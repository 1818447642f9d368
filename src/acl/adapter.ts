// Adapter and device helpers shared by the browser (main entry) and Node (webgpu-fia/node).
// Browser-safe: no Node modules here.

/** A one-line description of an adapter, for logs and benchmark records. */
export function adapterSummary(adapter: GPUAdapter | { info: GPUAdapterInfo; features: ReadonlySet<string> }): string {
  const i = adapter.info;
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0);
  return `${parts.join(' / ') || 'unknown adapter'}${[...adapter.features].includes('shader-f16') ? ' [shader-f16]' : ''}`;
}

/** The optional fast-path features requestDeviceFrom asks for (each where the adapter has it). */
export const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/**
 * A GPUDevice from `adapter` with the adapter's own limits for what the kernels size by (storage
 * buffers, workgroup storage, invocations, binding and buffer sizes) and its optional fast-path
 * features (shader-f16, subgroups, timestamp-query), minus `hideFeatures`. A device from a plain
 * `adapter.requestDevice()` works too, with WebGPU's default limits (8 storage buffers per stage,
 * 16 KiB workgroup storage) and no subgroups: some plans are then slower or rejected with 561101.
 */
export async function requestDeviceFrom(
  adapter: GPUAdapter, hideFeatures: readonly string[] = [], opts: { defaultLimits?: boolean } = {},
): Promise<GPUDevice> {
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !hideFeatures.includes(f));
  // WebGPU's default limits (what a plain requestDevice gives), with the same optional features.
  if (opts.defaultLimits) return adapter.requestDevice({ requiredFeatures });
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  });
  return device;
}

export interface WebGpuDeviceOptions {
  /** Passed to navigator.gpu.requestAdapter (default: none). */
  powerPreference?: GPUPowerPreference;
  /** Hide these adapter features from the device (e.g. to test the paths without subgroups). */
  hideFeatures?: readonly string[];
  /** Where to find WebGPU (default: globalThis.navigator.gpu). */
  gpu?: GPU;
}

/**
 * In a browser (or any runtime with `navigator.gpu`): an adapter. Throws an Error saying what is
 * missing when WebGPU or an adapter is not available.
 */
export async function requestWebGpuAdapter(opts: Omit<WebGpuDeviceOptions, 'hideFeatures'> = {}): Promise<GPUAdapter> {
  const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available here: navigator.gpu is undefined (use a browser with WebGPU enabled)');
  const adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined)
    .catch(() => null);
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no WebGPU adapter');
  return adapter;
}

/**
 * In a browser: requestWebGpuAdapter, then requestDeviceFrom (the adapter's limits and optional
 * features such as subgroups). The device to give createStream.
 */
export async function requestWebGpuDevice(opts: WebGpuDeviceOptions = {}): Promise<GPUDevice> {
  return requestDeviceFrom(await requestWebGpuAdapter(opts), opts.hideFeatures);
}
