// Node entry: a GPUDevice from Dawn (npm `webgpu`, an optional peer dependency: npm install webgpu),
// falling back to SwiftShader's Vulkan driver when the machine has no hardware one.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
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

/** The Vulkan loader's driver-manifest search path on Linux (its "icd.d" folders, XDG order). */
function vulkanIcdDirs(env: Readonly<Record<string, string | undefined>>): string[] {
  const config = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const data = [env.XDG_DATA_HOME || join(homedir(), '.local/share'), ...(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':')];
  return [...config, '/usr/local/etc', '/etc', ...data].filter(Boolean).map((d) => join(d, 'vulkan/icd.d'));
}

/**
 * Whether the Vulkan loader can find any driver on this machine. Off Linux (Metal, D3D12) this is
 * not Vulkan's question: true. Used to skip a Dawn instance that would only fail and print
 * "vkCreateInstance: Found no drivers!" before we fall back to SwiftShader.
 */
export function hasVulkanDriver(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (process.platform !== 'linux') return true;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return true;
  return vulkanIcdDirs(env).some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/**
 * Dawn instances, one per adapter source, shared by every adapter and device requested from them.
 * dawn.node pumps its callbacks only while the object returned by `create` is alive (npm webgpu
 * README "Lifetime"), so each adapter and device we hand out holds its instance (a hidden
 * property): the instance lives as long as something from it does, and is collected after the
 * last device is destroyed and dropped. Only a weak reference is kept here, for re-use.
 */
type Source = 'default' | 'software';
const instances = new Map<Source, WeakRef<GPU>>();
/** The hidden property under which an adapter or device holds its Dawn instance. */
const HOLD = Symbol('webgpu-fia.instance');

function gpuInstance(source: Source): GPU {
  const alive = instances.get(source)?.deref();
  if (alive) return alive;
  const gpu = create([]);
  instances.set(source, new WeakRef(gpu));
  return gpu;
}

function hold<T extends object>(obj: T, gpu: GPU): T {
  Object.defineProperty(obj, HOLD, { value: gpu, enumerable: false });
  return obj;
}

/**
 * An adapter that holds its instance, and whose every device does too, however it is requested
 * (requestDeviceFrom or the adapter's own requestDevice): a device outliving its adapter must not
 * outlive the instance, or dawn.node aborts the process.
 */
function holdAdapter(adapter: GPUAdapter, gpu: GPU): GPUAdapter {
  const request = adapter.requestDevice.bind(adapter);
  Object.defineProperty(adapter, 'requestDevice', {
    value: async (descriptor?: GPUDeviceDescriptor): Promise<GPUDevice> => hold(await request(descriptor), gpu),
    enumerable: false,
  });
  return hold(adapter, gpu);
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

async function softwareAdapter(): Promise<GPUAdapter | null> {
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!icd) return null;
  process.env.VK_ICD_FILENAMES = icd;
  const gpu = gpuInstance('software');
  const adapter = await gpu.requestAdapter();
  return adapter ? holdAdapter(adapter, gpu) : null;
}

/**
 * A WebGPU adapter in Node: Dawn's default, else SwiftShader from a known location. On Linux
 * without any Vulkan driver installed, goes to SwiftShader directly (no Vulkan warnings on stderr).
 * Throws INSTALL_HINT when there is none.
 */
export async function requestAdapter(opts: NodeAdapterOptions = {}): Promise<GPUAdapter> {
  installGlobals();
  const software = opts.forceSoftware || (!hasVulkanDriver() && SWIFTSHADER_ICDS.some((p) => existsSync(p)));
  if (!software) {
    const gpu = gpuInstance('default');
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
    if (adapter) return holdAdapter(adapter, gpu);
  }
  const adapter = await softwareAdapter();
  if (adapter) return adapter;
  throw new Error(INSTALL_HINT);
}

/**
 * A GPUDevice with the adapter's own limits for what the kernels size by (storage buffers,
 * workgroup storage, invocations) and its optional fast-path features (shader-f16, subgroups,
 * timestamp-query).
 */
export async function requestDevice(opts: NodeAdapterOptions = {}): Promise<GPUDevice> {
  const adapter = await requestAdapter(opts);
  return requestDeviceFrom(adapter, opts.hideFeatures); // the device holds the adapter's instance (holdAdapter)
}

export { adapterSummary, requestDeviceFrom } from './acl/adapter.js';
