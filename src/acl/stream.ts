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
}

const streams = new WeakMap<GPUDevice, Stream>();

/** A stream on `device` (one per device: its error listener is installed once). */
export function createStream(device: GPUDevice): Stream {
  const existing = streams.get(device);
  if (existing) return existing;
  const stream: Stream = { device, queue: device.queue, pendingErrors: [] };
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
  if (stream.pendingErrors.length > 0) {
    const msg = stream.pendingErrors.splice(0).join('; ');
    setRecentErrMsg(`device error: ${msg}`);
    return ACLNN_ERR_RUNTIME_ERROR;
  }
  return ACLNN_SUCCESS;
}
