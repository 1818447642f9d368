// Node entry: a GPUDevice from Dawn (npm `webgpu`, an optional peer dependency: npm install webgpu),
// falling back to SwiftShader's Vulkan driver when the machine has no hardware one.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { OPTIONAL_FEATURES, requestDeviceFrom } from './acl/adapter.js';

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
  return icdManifests(env).length > 0;
}

/** Every driver manifest (*.json) in the Vulkan loader's driver folders, in search order. */
function icdManifests(env: Readonly<Record<string, string | undefined>>): string[] {
  return vulkanIcdDirs(env).flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f));
    } catch {
      return []; // no such folder
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
type Source = 'default' | 'swiftshader' | 'lavapipe';
const instances = new Map<Source, WeakRef<GPU>>();
/** The hidden property under which an adapter or device holds its Dawn instance. */
const HOLD = Symbol('webgpu-fia.instance');

/**
 * Dawn zero-initializes workgroup memory either through Vulkan's VK_KHR_zero_initialize_workgroup_memory
 * (an initializer on each variable) or with a loop it adds to the shader. SwiftShader implements the
 * initializer as one unrolled store per scalar, so a kernel's 16 KiB of K/V tiles cost seconds of
 * pipeline compile (prefill B1 N8 S256 D64: 2.5 s with it, 0.6 s without); the loop costs nothing
 * measurable at run time. Same zero-initialization either way.
 */
const DAWN_FLAGS = ['disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'];

function gpuInstance(source: Source): GPU {
  const alive = instances.get(source)?.deref();
  if (alive) return alive;
  const gpu = create(DAWN_FLAGS);
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

/**
 * Which adapter to use in Node:
 * - 'default': Dawn's choice (a hardware GPU when there is one), else SwiftShader;
 * - 'swiftshader': SwiftShader's Vulkan driver from a known location (SWIFTSHADER_ICDS);
 * - 'lavapipe': Mesa's llvmpipe Vulkan driver (Debian: mesa-vulkan-drivers), from the loader's
 *   driver folders (lvp_icd*.json).
 * The environment variable FIA_ADAPTER sets it when the option is absent.
 */
export type NodeAdapterChoice = 'default' | 'swiftshader' | 'lavapipe';
export const NODE_ADAPTER_CHOICES: readonly NodeAdapterChoice[] = ['default', 'swiftshader', 'lavapipe'];

/**
 * The device's limits: 'adapter' (the adapter's own limits for what the kernels size by: storage
 * buffers, workgroup storage, invocations, binding sizes) or 'default' (WebGPU's default limits,
 * what a plain adapter.requestDevice() gives). The environment variable FIA_LIMITS sets it when the
 * option is absent.
 */
export type NodeLimitsChoice = 'adapter' | 'default';

export interface NodeAdapterOptions {
  /** Which adapter (default: FIA_ADAPTER, else 'default'). */
  adapter?: NodeAdapterChoice;
  /** Ask for this power preference first (default: none; 'default' adapter only). */
  powerPreference?: GPUPowerPreference;
  /** Use SwiftShader even when a hardware adapter exists (the same as adapter: 'swiftshader'). */
  forceSoftware?: boolean;
}

export interface NodeDeviceOptions extends NodeAdapterOptions {
  /** The device's limits (default: FIA_LIMITS, else 'adapter'). */
  limits?: NodeLimitsChoice;
  /**
   * Hide these adapter features from the device (e.g. to test the paths without subgroups);
   * default: FIA_HIDE_FEATURES, a comma list (`shader-f16,subgroups`), else none.
   */
  hideFeatures?: readonly GPUFeatureName[];
}

/** The option's value, else the environment variable's, else `fallback`; an unknown value throws naming it. */
function choiceOf<T extends string>(
  option: string, value: T | undefined, variable: string, allowed: readonly T[], fallback: T,
  env: Readonly<Record<string, string | undefined>>,
): T {
  const check = (v: string, what: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`${what}: expected one of ${allowed.join(', ')}`);
    return v as T;
  };
  if (value) return check(value, `${option} ${String(value)}`);
  const v = env[variable]?.trim();
  return v ? check(v, `${variable}=${v}`) : fallback;
}

/** The adapter choice of `opts` (forceSoftware: 'swiftshader'), else of FIA_ADAPTER, else 'default'. */
export function adapterChoice(opts: NodeAdapterOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): NodeAdapterChoice {
  const value = opts.adapter ?? (opts.forceSoftware ? 'swiftshader' : undefined);
  return choiceOf('adapter', value, 'FIA_ADAPTER', NODE_ADAPTER_CHOICES, 'default', env);
}

/** The limits choice of `opts`, else of FIA_LIMITS, else 'adapter'. */
export function limitsChoice(opts: NodeDeviceOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): NodeLimitsChoice {
  return choiceOf('limits', opts.limits, 'FIA_LIMITS', ['adapter', 'default'] as const, 'adapter', env);
}

/** The features `opts` hides, else those FIA_HIDE_FEATURES lists (an unknown name throws naming it). */
export function hiddenFeatures(opts: NodeDeviceOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): GPUFeatureName[] {
  if (opts.hideFeatures) return [...opts.hideFeatures];
  const names = (env.FIA_HIDE_FEATURES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(OPTIONAL_FEATURES as readonly string[]).includes(n)) {
      throw new Error(`FIA_HIDE_FEATURES=${env.FIA_HIDE_FEATURES}: ${n} is not one of ${OPTIONAL_FEATURES.join(', ')}`);
    }
  }
  return names as GPUFeatureName[];
}

/** lavapipe's driver manifest in the Vulkan loader's folders (lvp_icd.json, lvp_icd.x86_64.json, ...), or null. */
export function lavapipeIcd(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  return icdManifests(env).find((path) => /\/lvp_icd(\.[\w-]+)?\.json$/.test(path)) ?? null;
}

export const LAVAPIPE_HINT =
  'lavapipe (Mesa llvmpipe Vulkan driver) not found. On Debian 12 as root: add the bookworm-backports suite to apt, then '
  + 'apt-get install -t bookworm-backports mesa-vulkan-drivers (Ubuntu 24.04+: apt-get install mesa-vulkan-drivers).';

/** An adapter from the Vulkan driver manifest `icd` alone (its own Dawn instance). */
async function icdAdapter(source: Source, icd: string): Promise<GPUAdapter | null> {
  // The loader reads VK_ICD_FILENAMES when the instance enumerates its adapters, in this call.
  const saved = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = icd;
  try {
    const gpu = gpuInstance(source);
    const adapter = await gpu.requestAdapter();
    return adapter ? holdAdapter(adapter, gpu) : null;
  } finally {
    if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = saved;
  }
}

async function softwareAdapter(): Promise<GPUAdapter | null> {
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  return icd ? icdAdapter('swiftshader', icd) : null;
}

/**
 * A WebGPU adapter in Node, chosen by `opts.adapter` or FIA_ADAPTER (NodeAdapterChoice): Dawn's
 * default, else SwiftShader from a known location (on Linux without any Vulkan driver installed,
 * SwiftShader directly: no Vulkan warnings on stderr); or SwiftShader or lavapipe explicitly.
 * Throws INSTALL_HINT / LAVAPIPE_HINT when the chosen one is not there.
 */
export async function requestAdapter(opts: NodeAdapterOptions = {}): Promise<GPUAdapter> {
  installGlobals();
  const choice = adapterChoice(opts);
  if (choice === 'lavapipe') {
    const icd = lavapipeIcd();
    const adapter = icd ? await icdAdapter('lavapipe', icd) : null;
    if (!adapter) throw new Error(LAVAPIPE_HINT);
    return adapter;
  }
  const software = choice === 'swiftshader' || (!hasVulkanDriver() && SWIFTSHADER_ICDS.some((p) => existsSync(p)));
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
 * The adapter requestAdapter(opts) chooses and a device from it: with `limits` 'adapter' (the
 * default), the adapter's own limits for what the kernels size by and its optional fast-path
 * features (shader-f16, subgroups, timestamp-query; requestDeviceFrom); with 'default', WebGPU's
 * default limits and the same features. The device holds the adapter's Dawn instance.
 */
export async function requestAdapterAndDevice(opts: NodeDeviceOptions = {}): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await requestAdapter(opts);
  const device = await requestDeviceFrom(adapter, hiddenFeatures(opts), { defaultLimits: limitsChoice(opts) === 'default' });
  return { adapter, device };
}

/** The device of requestAdapterAndDevice(opts). */
export async function requestDevice(opts: NodeDeviceOptions = {}): Promise<GPUDevice> {
  return (await requestAdapterAndDevice(opts)).device;
}

/**
 * The configuration FIA_ADAPTER / FIA_LIMITS (or `opts`) select, as a short name for logs and test
 * titles: e.g. "swiftshader", "swiftshader+default-limits", "lavapipe".
 */
export function deviceConfigName(opts: NodeDeviceOptions = {}): string {
  return adapterChoice(opts) + (limitsChoice(opts) === 'default' ? '+default-limits' : '') + hiddenFeatures(opts).map((f) => `-${f}`).join('');
}

export { adapterSummary, requestDeviceFrom } from './acl/adapter.js';
