import { ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, type AclnnStatus, setRecentErrMsg } from './status.js';

/**
 * The port of aclrtStream: a device and its queue. Work the operator queues on a stream is
 * submitted at once; aclrtSynchronizeStream waits for it and reports device errors seen meanwhile.
 */
export interface Stream {
  readonly device: GPUDevice;
  readonly queue: GPUQueue;
  /** Device errors (validation, out-of-memory, loss) captured since the last synchronize. */
  readonly pendingErrors: string[];
  /** Error-scope results still in flight (popErrorScope promises); synchronize awaits them. */
  readonly pendingScopes: Promise<unknown>[];
}

/**
 * The port of aclrtSetDevice's "current device": GetWorkspaceSize has no stream argument (as in
 * CANN), so it plans for this device. Planning reads only `limits` and `features`.
 */
let currentDevice: GPUDevice | null = null;

/** aclrtSetDevice: makes `device` current for the following GetWorkspaceSize calls. Returns 0. */
export function aclrtSetDevice(device: GPUDevice): number {
  currentDevice = device;
  return ACLNN_SUCCESS;
}

/** aclrtGetDevice: the current device, or null when none was set (nor any stream created). */
export function aclrtGetDevice(): GPUDevice | null {
  return currentDevice;
}

/** aclrtResetDevice: forgets the current device (when `device` is given, only if it is the current one). */
export function aclrtResetDevice(device?: GPUDevice): number {
  if (device === undefined || device === currentDevice) currentDevice = null;
  return ACLNN_SUCCESS;
}

const streams = new WeakMap<GPUDevice, Stream>();

/**
 * A stream on `device` (one per device: its error listener is installed once). Makes `device` the
 * current device (aclrtSetDevice) when none is set.
 */
export function createStream(device: GPUDevice): Stream {
  currentDevice ??= device;
  const existing = streams.get(device);
  if (existing) return existing;
  const stream: Stream = { device, queue: device.queue, pendingErrors: [], pendingScopes: [] };
  device.addEventListener('uncapturederror', (ev) => {
    stream.pendingErrors.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') stream.pendingErrors.push(`device lost: ${info.message}`);
  });
  streams.set(device, stream);
  return stream;
}

/** Waits until the work queued on `stream` has finished; 361001 if the device reported an error. */
export async function aclrtSynchronizeStream(stream: Stream): Promise<AclnnStatus> {
  await stream.queue.onSubmittedWorkDone();
  while (stream.pendingScopes.length > 0) await Promise.all(stream.pendingScopes.splice(0));
  if (stream.pendingErrors.length > 0) {
    const msg = stream.pendingErrors.splice(0).join('; ');
    setRecentErrMsg(`device error: ${msg}`);
    return ACLNN_ERR_RUNTIME_ERROR;
  }
  return ACLNN_SUCCESS;
}
