// The device options every Node script shares (bench, bench:host, demo, npm start):
// --adapter default|swiftshader|lavapipe, --limits adapter|default, --software (= --adapter swiftshader).
// Absent options fall back to FIA_ADAPTER / FIA_LIMITS (src/node.ts), then Dawn's default adapter
// with its own limits.
import { type NodeAdapterChoice, type NodeLimitsChoice, requestAdapterAndDevice } from '../src/node.js';

export const DEVICE_OPTIONS = {
  adapter: { type: 'string' },
  limits: { type: 'string' },
  software: { type: 'boolean', default: false },
} as const;

export const DEVICE_USAGE = `  --adapter NAME       default | swiftshader | lavapipe (default: $FIA_ADAPTER, else Dawn's default)
  --limits NAME        adapter | default: the adapter's limits or WebGPU's defaults (default: $FIA_LIMITS, else adapter)
  --software           the same as --adapter swiftshader`;

export function deviceFromArgs(values: { adapter?: string; limits?: string; software?: boolean }): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  return requestAdapterAndDevice({
    adapter: values.adapter as NodeAdapterChoice | undefined,
    limits: values.limits as NodeLimitsChoice | undefined,
    forceSoftware: values.software,
  });
}
