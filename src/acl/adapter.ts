/** A one-line description of an adapter, for logs and benchmark records. */
export function adapterSummary(adapter: GPUAdapter | { info: GPUAdapterInfo; features: ReadonlySet<string> }): string {
  const i = adapter.info;
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0);
  return `${parts.join(' / ') || 'unknown adapter'}${[...adapter.features].includes('shader-f16') ? ' [shader-f16]' : ''}`;
}

/**
 * A GPUDevice from `adapter` with the adapter's own limits for what the kernels size by (storage
 * buffers, workgroup storage, invocations) and its optional fast-path features (shader-f16,
 * subgroups, timestamp-query), minus `hideFeatures`. Browser-safe: Node's entry and the page share it.
 */
export async function requestDeviceFrom(adapter: GPUAdapter, hideFeatures: readonly string[] = []): Promise<GPUDevice> {
  const wanted = ['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f) && !hideFeatures.includes(f));
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
