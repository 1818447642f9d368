// Node entry: a GPUDevice from Dawn (npm `webgpu`), falling back to SwiftShader's Vulkan driver.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { requestDeviceFrom } from './acl/adapter.js';

/** Where Debian (and a few other distributions) ship SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

export const INSTALL_HINT =
  'No WebGPU adapter found. Install a Vulkan driver and loader; on Debian/Ubuntu the software one is: ' +
  'apt-get install chromium libvulkan1 (SwiftShader ships as /usr/lib/chromium/vk_swiftshader_icd.json).';

/**
 * Every dawn.node instance we create stays referenced for the life of the process: dawn.node
 * pumps its callbacks only while the object returned by `create` is alive, and once it is
 * garbage-collected pending promises (onSubmittedWorkDone, mapAsync) hang or the process aborts
 * in a pthread mutex assertion (npm webgpu README "Lifetime"; crbug.com/387965810).
 */
const instances: GPU[] = [];
function gpuInstance(): GPU {
  const gpu = create([]);
  instances.push(gpu);
  return gpu;
}

let installed = false;
function installGlobals(): void {
  if (installed) return;
  Object.assign(globalThis, globals);
  installed = true;
}

export interface NodeAdapterOptions {
  /** Ask for this power preference first (default: none). */
  powerPreference?: GPUPowerPreference;
  /** Use SwiftShader even when a hardware adapter exists. */
  forceSoftware?: boolean;
  /** Hide these adapter features from the device (e.g. to test the paths without subgroups). */
  hideFeatures?: readonly GPUFeatureName[];
}

/** A WebGPU adapter in Node: Dawn's default, else SwiftShader from a known location. */
export async function requestAdapter(opts: NodeAdapterOptions = {}): Promise<GPUAdapter> {
  installGlobals();
  if (!opts.forceSoftware) {
    const adapter = await gpuInstance().requestAdapter({ powerPreference: opts.powerPreference });
    if (adapter) return adapter;
  }
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (icd) {
    process.env.VK_ICD_FILENAMES = icd;
    const adapter = await gpuInstance().requestAdapter();
    if (adapter) return adapter;
  }
  throw new Error(INSTALL_HINT);
}

/**
 * A GPUDevice with the adapter's own limits for what the kernels size by (storage buffers,
 * workgroup storage, invocations) and its optional fast-path features (shader-f16, subgroups,
 * timestamp-query).
 */
export async function requestDevice(opts: NodeAdapterOptions = {}): Promise<GPUDevice> {
  const adapter = await requestAdapter(opts);
  return requestDeviceFrom(adapter, opts.hideFeatures);
}


export { adapterSummary, requestDeviceFrom } from './acl/adapter.js';
