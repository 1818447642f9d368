/** A one-line description of an adapter, for logs and benchmark records. */
export function adapterSummary(adapter: GPUAdapter | { info: GPUAdapterInfo; features: ReadonlySet<string> }): string {
  const i = adapter.info;
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0);
  return `${parts.join(' / ') || 'unknown adapter'}${[...adapter.features].includes('shader-f16') ? ' [shader-f16]' : ''}`;
}
