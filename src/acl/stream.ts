import {
  ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, type AclnnStatus, AclnnError,
  setRecentErrMsg, statusOf,
} from './status.js';

/**
 * The port of aclrtStream: a device and its queue. Work the operator queues on a stream is
 * submitted at once; aclrtSynchronizeStream waits for it and reports the device errors of that work.
 */
export interface Stream {
  readonly device: GPUDevice;
  readonly queue: GPUQueue;
}

/**
 * A WebGPU interface class when the global exists (browsers; Node after the `webgpu` globals are
 * installed), else undefined: callers then fall back to structural checks.
 */
export function webgpuClass(name: 'GPUBuffer' | 'GPUDevice' | 'GPUCommandEncoder'): (abstract new (...args: never[]) => object) | undefined {
  const c = (globalThis as Record<string, unknown>)[name];
  return typeof c === 'function' ? (c as abstract new (...args: never[]) => object) : undefined;
}

function hasMethods(x: object, names: readonly string[]): boolean {
  return names.every((n) => typeof (x as Record<string, unknown>)[n] === 'function');
}

/** A GPUCommandEncoder: `instanceof` where the class exists, else the methods the kernels call. */
export function isCommandEncoder(e: unknown): e is GPUCommandEncoder {
  if (typeof e !== 'object' || e === null) return false;
  const C = webgpuClass('GPUCommandEncoder');
  return C ? e instanceof C : hasMethods(e, ['beginComputePass', 'copyBufferToBuffer', 'clearBuffer', 'finish']);
}

/**
 * A Stream: an object with a device and a queue (the device a GPUDevice where the class exists).
 * Planning devices in host tests are plain objects, so without the class only the shape is checked.
 */
export function isStream(s: unknown): s is Stream {
  if (typeof s !== 'object' || s === null) return false;
  const { device, queue } = s as { device?: unknown; queue?: unknown };
  if (typeof device !== 'object' || device === null || typeof queue !== 'object' || queue === null) return false;
  const D = webgpuClass('GPUDevice');
  return D ? device instanceof D : true;
}

/** Throws 161001 / 161002 naming `param` unless `s` is a Stream. */
export function checkStream(s: unknown, param = 'stream'): asserts s is Stream {
  if (s == null) throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, `${param}=null: a stream is required (createStream(device))`);
  if (!isStream(s)) throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `${param}: not a stream (create it with createStream(device))`);
}

// ---------------------------------------------------------------------------------------------
// Device loss. `device.lost` resolves for every loss, a destroy() included; each device the port
// sees is watched once, and from then on it counts as lost for planning, runs and synchronize.

const watched = new WeakSet<object>();
const lostDevices = new WeakMap<object, string>();

/** Starts watching `device.lost` (idempotent; objects without a `lost` promise are not watched). */
export function watchDevice(device: GPUDevice): void {
  if (watched.has(device)) return;
  watched.add(device);
  const lost = (device as { lost?: unknown }).lost;
  if (!lost || typeof (lost as Promise<unknown>).then !== 'function') return;
  void (lost as Promise<GPUDeviceLostInfo>).then((info) => {
    lostDevices.set(device, `the device was lost (${info.reason ?? 'unknown'}): ${info.message}`);
    if (currentDevice === device) {
      currentDevice = null;
      currentLost = lostDevices.get(device)!;
    }
  }, () => undefined);
}

/** Why `device` is lost ("the device was lost (destroyed): …"), or null while it is usable. */
export function deviceLoss(device: GPUDevice): string | null {
  return lostDevices.get(device) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Current device

/**
 * The port of aclrtSetDevice's "current device": GetWorkspaceSize has no stream argument (as in
 * CANN), so it plans for this device. Planning reads only `limits` and `features`. A lost device
 * stops being current (currentLost then says why).
 */
let currentDevice: GPUDevice | null = null;
let currentLost: string | null = null;

/** aclrtSetDevice: makes `device` current for the following GetWorkspaceSize calls. Returns 0. */
export function aclrtSetDevice(device: GPUDevice): number {
  watchDevice(device);
  currentDevice = device;
  currentLost = null;
  return ACLNN_SUCCESS;
}

/** aclrtGetDevice: the current device, or null when none was set (nor any stream created) or it was lost. */
export function aclrtGetDevice(): GPUDevice | null {
  return currentDevice;
}

/** Why there is no current device: the loss of the last current one, or null (none was set). */
export function currentDeviceLoss(): string | null {
  return currentDevice === null ? currentLost : null;
}

/** aclrtResetDevice: forgets the current device (when `device` is given, only if it is the current one). */
export function aclrtResetDevice(device?: GPUDevice): number {
  if (device === undefined || device === currentDevice) {
    currentDevice = null;
    currentLost = null;
  }
  return ACLNN_SUCCESS;
}

const streams = new WeakMap<GPUDevice, Stream>();

/**
 * A stream on `device` (one per device). Makes `device` the current device (aclrtSetDevice) when
 * none is set or the current one was lost.
 */
export function createStream(device: GPUDevice): Stream {
  watchDevice(device);
  if (currentDevice === null || deviceLoss(currentDevice) !== null) aclrtSetDevice(device);
  const existing = streams.get(device);
  if (existing) return existing;
  const stream: Stream = { device, queue: device.queue };
  streams.set(device, stream);
  return stream;
}

// ---------------------------------------------------------------------------------------------
// Work and its errors. Each call captures its own device errors in its own error scopes; only
// those reach its stream's next synchronize (an application's unrelated uncaptured errors never do).

/** The device errors one call's error scopes captured (empty: none). */
export type WorkErrors = Promise<string[]>;

const pendingWork = new WeakMap<Stream, WorkErrors[]>();

/** Pushes one validation and one out-of-memory scope (pop them with `popScopes`). */
export function pushScopes(device: GPUDevice): void {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
}

/** Pops the two scopes of `pushScopes`; resolves to their error messages. */
export function popScopes(device: GPUDevice): WorkErrors {
  const scopes = [device.popErrorScope(), device.popErrorScope()];
  return Promise.all(scopes).then(
    (errors) => errors.filter((e): e is GPUError => e != null).map((e) => e.message),
    (e: unknown) => [`error scope: ${e instanceof Error ? e.message : String(e)}`],
  );
}

/** Records work queued on `stream` whose errors its next aclrtSynchronizeStream reports. */
export function recordWork(stream: Stream, errors: WorkErrors): void {
  let list = pendingWork.get(stream);
  if (!list) pendingWork.set(stream, (list = []));
  list.push(errors);
}

/**
 * Waits until the queue has run what was submitted so far, then returns the failure of `work`:
 * the device's loss (any reason, 'destroyed' included: outputs were not written) or its captured
 * errors, as one message; null when it succeeded.
 */
export async function settleWork(stream: Stream, work: readonly WorkErrors[]): Promise<string | null> {
  const { device, queue } = stream;
  watchDevice(device); // a stream built by hand: its device's loss is seen from now on
  if (deviceLoss(device) === null) {
    const done = queue.onSubmittedWorkDone().catch(() => undefined);
    const lost = (device as { lost?: Promise<unknown> }).lost;
    await (lost && typeof lost.then === 'function' ? Promise.race([done, lost]) : done);
  }
  const errors = (await Promise.all(work)).flat();
  // A loss resolves `device.lost` in a microtask; let it land before reading the state.
  await Promise.resolve();
  const loss = deviceLoss(device);
  if (loss !== null) return errors.length > 0 ? `${loss}; ${errors.join('; ')}` : loss;
  return errors.length > 0 ? `device error: ${errors.join('; ')}` : null;
}

/**
 * Waits until the work queued on `stream` has finished. 361001 when that work (queued since the
 * last synchronize) reported a device error, or when the stream's device is lost; 161001/161002
 * for a missing or malformed stream.
 */
export async function aclrtSynchronizeStream(stream: Stream): Promise<AclnnStatus> {
  try {
    checkStream(stream);
  } catch (e) {
    return statusOf(e);
  }
  const work = pendingWork.get(stream)?.splice(0) ?? [];
  const failure = await settleWork(stream, work);
  if (failure !== null) {
    setRecentErrMsg(`stream: ${failure}`);
    return ACLNN_ERR_RUNTIME_ERROR;
  }
  return ACLNN_SUCCESS;
}
