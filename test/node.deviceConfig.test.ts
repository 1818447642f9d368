// The device configuration a project runs on is the one it names (FIA_ADAPTER / FIA_LIMITS, set per
// vitest project from scripts/adapters.mjs): a wrong selector would run every GPU file on one adapter.
import { describe, expect, it } from 'vitest';
import { adapterChoice, deviceConfigName, limitsChoice } from '../src/node.js';
import { testStream } from './helpers/gpu.js';

const DEFAULTS = { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxStorageBufferBindingSize: 134217728 };

describe(`device configuration ${deviceConfigName()}`, () => {
  it('the adapter and the limits are the configuration\'s', async () => {
    const { device } = await testStream();
    const description = device.adapterInfo.description;
    const choice = adapterChoice();
    if (choice === 'swiftshader') expect(description).toMatch(/SwiftShader/);
    if (choice === 'lavapipe') expect(description).toMatch(/llvmpipe/);
    for (const [name, value] of Object.entries(DEFAULTS)) {
      const got = device.limits[name as keyof typeof DEFAULTS];
      if (limitsChoice() === 'default') expect(got, name).toBe(value);
      else expect(got, name).toBeGreaterThanOrEqual(value);
    }
    if (limitsChoice() === 'adapter' && choice !== 'default') {
      // Both software adapters grant more than the defaults where the kernels size by it.
      expect(device.limits.maxStorageBuffersPerShaderStage).toBeGreaterThan(8);
      expect(device.limits.maxComputeWorkgroupStorageSize).toBeGreaterThan(16384);
    }
  });
});
