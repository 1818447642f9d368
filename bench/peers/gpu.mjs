// navigator.gpu for the peer libraries in Node: Dawn from the pinned `webgpu` package, SwiftShader
// when the machine has no Vulkan driver (the library's own probe), plus two shims the peers need:
//  - Dawn's queue.writeBuffer rejects SharedArrayBuffer-backed data (onnxruntime-web's threaded
//    wasm heap): such data is copied first;
//  - HIDE_FEATURES=subgroups hides `subgroups` (and `subgroup-size-control`, which implies it):
//    onnxruntime-web 1.30's FlashAttention subgroup path assumes a subgroup size ≥ 8 and is wrong at
//    SwiftShader's 4.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { hasVulkanDriver, SWIFTSHADER_ICDS } from '../../dist/src/node.js';

if (!hasVulkanDriver()) {
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (icd) process.env.VK_ICD_FILENAMES = icd;
}
Object.assign(globalThis, globals);
export const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node', hardwareConcurrency: 2 }, configurable: true, writable: true });

const write = GPUQueue.prototype.writeBuffer;
GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
  const shared = typeof SharedArrayBuffer !== 'undefined' && (data instanceof SharedArrayBuffer || data?.buffer instanceof SharedArrayBuffer);
  if (!shared) return size === undefined ? write.call(this, buffer, offset, data, dataOffset) : write.call(this, buffer, offset, data, dataOffset, size);
  const el = data.BYTES_PER_ELEMENT ?? 1;
  const from = data instanceof SharedArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const len = (size ?? (from.byteLength / el - dataOffset)) * el;
  const copy = from.slice(dataOffset * el, dataOffset * el + len);
  return write.call(this, buffer, offset, copy, 0, copy.byteLength);
};

const hidden = (process.env.HIDE_FEATURES ?? '').split(',').filter(Boolean);
if (hidden.includes('subgroups')) hidden.push('subgroup-size-control');
if (hidden.length > 0) {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (opts) => {
    const a = await requestAdapter(opts);
    if (a) Object.defineProperty(a, 'features', { value: new Set([...a.features].filter((f) => !hidden.includes(f))) });
    return a;
  };
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = function (desc = {}) {
    return requestDevice.call(this, { ...desc, requiredFeatures: [...(desc.requiredFeatures ?? [])].filter((f) => !hidden.includes(f)) });
  };
}

/** Median of 10 (iters) wall-clock calls after warm-ups; `once` must resolve when the GPU is done. */
export async function timeCalls(once, iters, warmup) {
  for (let i = 0; i < warmup; i++) await once();
  const ms = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
}

/** --name value flags. */
export function flags(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}
