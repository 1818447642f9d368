export * from './dtype.js';
export * from './status.js';
// The stream's public surface (its error-scope and device-loss plumbing stays internal).
export {
  aclrtGetDevice, aclrtResetDevice, aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream,
} from './stream.js';
export * from './tensor.js';
export { adapterSummary, requestDeviceFrom, requestWebGpuAdapter, requestWebGpuDevice, type WebGpuDeviceOptions } from './adapter.js';
