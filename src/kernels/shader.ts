// Shared kernel plumbing: WGSL sources, element loaders per dtype (from the dtype table), uniform blocks, pipeline cache.
import { type DataType, DTYPES, elementBits, elementsPerWord, wgslOf } from '../codec/dtype.js';
import { USAGE } from '../acl/usage.js';
import { WGSL_SOURCES } from './wgsl.generated.js';

// The kernels take it with the loaders, from here.
export { elementsPerWord };

/** The text of shaders/<path>. */
export function wgsl(path: string): string {
  const src = WGSL_SOURCES[path];
  if (src === undefined) throw new Error(`shader not found: shaders/${path}`);
  return src;
}

/**
 * Replaces `{{NAME}}` placeholders; every placeholder must be given and every key used, so a
 * template and its specialization cannot drift apart silently.
 */
export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  const used = new Set<string>();
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`template placeholder {{${k}}} has no value`);
    used.add(k);
    return String(values[k]);
  });
  for (const k of Object.keys(values)) if (!used.has(k)) throw new Error(`template has no placeholder {{${k}}}`);
  return out;
}

/**
 * WGSL for `fn <name>(i: u32) -> f32`: element i (in elements of `dtype`) of the u32-packed
 * storage array `buf`, by the dtype's row (src/codec/dtype.ts). Sub-word types are unpacked in
 * f32, so no `shader-f16` is needed.
 */
export function loaderFn(name: string, buf: string, dtype: DataType): string {
  const { element } = wgslOf(dtype);
  const per = elementsPerWord(dtype);
  if (per === 1) return `fn ${name}(i: u32) -> f32 { return ${element(`${buf}[i]`, '0u')}; }`;
  return `fn ${name}(i: u32) -> f32 { let w = ${buf}[i >> ${Math.log2(per)}u]; return ${element('w', `i & ${per - 1}u`)}; }`;
}

/**
 * `fn name(i: u32) -> vec2<f32>`: elements i, i + 1 of `buf` (i even for a 16-bit dtype: both
 * halves of one word, unpacked once).
 */
export function pairLoaderFn(name: string, buf: string, dtype: DataType): string {
  if (elementsPerWord(dtype) !== 2) {
    const one = (i: string): string => wgslOf(dtype).element(`${buf}[${i}]`, '0u');
    return `fn ${name}(i: u32) -> vec2<f32> { return vec2<f32>(${one('i')}, ${one('i + 1u')}); }`;
  }
  const [lo, hi] = wgslOf(dtype).unpack('w');
  return `fn ${name}(i: u32) -> vec2<f32> { let w = ${buf}[i >> 1u]; return vec2<f32>(${lo}, ${hi}); }`;
}

/**
 * WGSL `outMerge` / `outStoreRun` (shaders/common/out_store.wgsl) for an output of `dtype` bound as
 * `outBuf: array<atomic<u32>>`: element-wise stores that leave every other bit of a shared word alone.
 */
export function outStoreWgsl(dtype: DataType): string {
  const bits = elementBits(dtype);
  if (bits > 32) throw new Error(`no element-wise store for ${dtype} (wider than a word)`);
  return fill(wgsl('common/out_store.wgsl'), {
    EPW: 32 / bits, EBITS: bits, EMASK: bits === 32 ? '0xffffffff' : `0x${((1 << bits) - 1).toString(16)}`,
  });
}

/** WGSL body of `outBits(x: f32) -> u32`: one float output element's bits (RNE). */
export function outBitsBody(dtype: DataType): string {
  const pack = DTYPES[dtype].wgsl?.pack;
  if (!pack) throw new Error(`no output element bits for ${dtype}`);
  return pack;
}

export type UniformType = 'u32' | 'i32' | 'f32';

/**
 * A uniform block made of scalar fields only (no vec3 padding to get wrong, STYLE §6). The same
 * descriptor renders the WGSL struct and packs the host values, so names and order cannot drift.
 */
export class UniformBlock<F extends Record<string, UniformType>> {
  readonly fieldNames: (keyof F & string)[];
  constructor(readonly structName: string, readonly fields: F) {
    this.fieldNames = Object.keys(fields) as (keyof F & string)[];
  }

  /** Size in bytes, rounded up to 16 as uniform buffers need. */
  get byteLength(): number {
    return Math.max(16, Math.ceil((this.fieldNames.length * 4) / 16) * 16);
  }

  wgslStruct(): string {
    return `struct ${this.structName} {\n${this.fieldNames.map((n) => `  ${n}: ${this.fields[n]},`).join('\n')}\n}`;
  }

  pack(values: { [K in keyof F]: number }): ArrayBuffer {
    const buf = new ArrayBuffer(this.byteLength);
    const view = new DataView(buf);
    this.fieldNames.forEach((n, i) => {
      const v = values[n];
      if (typeof v !== 'number' || Number.isNaN(v) && this.fields[n] !== 'f32') {
        throw new Error(`uniform ${this.structName}.${n}: bad value ${String(v)}`);
      }
      switch (this.fields[n]) {
        case 'u32': view.setUint32(i * 4, v >>> 0, true); break;
        case 'i32': view.setInt32(i * 4, v | 0, true); break;
        case 'f32': view.setFloat32(i * 4, v, true); break;
      }
    });
    return buf;
  }
}

/** What a compute pipeline is made from: its WGSL, a label, and `override` constant values. */
export interface ShaderBuild {
  code: string;
  label: string;
  constants?: Record<string, number>;
}

/**
 * A pipeline a plan needs, before it exists: the cache key (a stable serialization of everything
 * the code depends on; build it with `specKey`) and how to build the shader. Each kernel family
 * lists the sources of a plan, so encoding and warm-up (preparePipelines) ask for the same ones.
 */
export interface PipelineSource {
  key: string;
  build: () => ShaderBuild;
}

/**
 * Which of a plan's pipelines: 'steady', the ones its runs use once compiled; 'first-call', the
 * ones a tiered encode runs before that (a quick tier that compiles fast, else the steady ones).
 */
export type PipelineTier = 'steady' | 'first-call';

/**
 * Per device: the pipeline cache, the ahead-of-time compilations in flight, the shader modules
 * made (for compiler messages) and how many pipelines were compiled each way.
 */
interface DevicePipelines {
  cache: Map<string, GPUComputePipeline>;
  pending: Map<string, Promise<void>>;
  /** Background compilations (readyPipeline) that failed: later encodes compile them in the call. */
  failed: Set<string>;
  /** Background compilations (readyPipeline) waiting for the work submitted with their call. */
  deferred: Set<string>;
  modules: GPUShaderModule[];
  sync: number;
  async: number;
  /** Prepared pipelines whose warm-up dispatch (warmPipeline) ran without an error. */
  warmed: number;
}
const perDevice = new WeakMap<GPUDevice, DevicePipelines>();

function recordOf(device: GPUDevice): DevicePipelines {
  let r = perDevice.get(device);
  if (!r) perDevice.set(device, (r = { cache: new Map(), pending: new Map(), failed: new Set(), deferred: new Set(), modules: [], sync: 0, async: 0, warmed: 0 }));
  return r;
}

/**
 * How many of `device`'s pipelines were compiled synchronously (a getPipeline miss, blocking the
 * calling thread) and ahead of time (preparePipelines), and how many of the latter were warmed up
 * (run over zero workgroups, warmPipeline). For tests and benchmarks.
 */
export function pipelineCompileCounts(device: GPUDevice): { sync: number; async: number; warmed: number } {
  const r = recordOf(device);
  return { sync: r.sync, async: r.async, warmed: r.warmed };
}

/** The compiler's messages (warnings, errors, info) for every shader module made on `device`. */
export async function shaderCompilerMessages(device: GPUDevice): Promise<{ label: string; type: string; message: string }[]> {
  const out: { label: string; type: string; message: string }[] = [];
  for (const module of recordOf(device).modules) {
    const info = await module.getCompilationInfo();
    for (const m of info.messages) out.push({ label: module.label, type: m.type, message: `${m.lineNum}:${m.linePos} ${m.message}` });
  }
  return out;
}

function pipelineDescriptor(device: GPUDevice, shader: ShaderBuild): GPUComputePipelineDescriptor {
  const module = device.createShaderModule({ code: shader.code, label: shader.label });
  recordOf(device).modules.push(module);
  return { label: shader.label, layout: 'auto', compute: { module, entryPoint: 'main', constants: shader.constants } };
}

/**
 * A compute pipeline cached per device under `key`, which must be a stable serialization of
 * everything the code depends on (build it with `specKey`). A pipeline not yet prepared
 * (preparePipelines) is compiled here, synchronously: the calling thread waits for the compiler.
 */
export function getPipeline(device: GPUDevice, key: string, build: () => ShaderBuild): GPUComputePipeline {
  const r = recordOf(device);
  const hit = r.cache.get(key);
  if (hit) return hit;
  const pipeline = device.createComputePipeline(pipelineDescriptor(device, build()));
  r.sync++;
  r.cache.set(key, pipeline);
  return pipeline;
}

/** getPipeline for a PipelineSource. */
export function pipelineOf(device: GPUDevice, source: PipelineSource): GPUComputePipeline {
  return getPipeline(device, source.key, source.build);
}

/** Where `source`'s pipeline stands on `device`: compiled, compiling off the thread, or neither. */
export function pipelineState(device: GPUDevice, source: PipelineSource): 'ready' | 'compiling' | 'absent' {
  const r = recordOf(device);
  return r.cache.has(source.key) ? 'ready' : r.pending.has(source.key) || r.deferred.has(source.key) ? 'compiling' : 'absent';
}

/**
 * A tiered kernel's steady pipeline if it is compiled, else null after scheduling its compilation
 * off the calling thread (the caller runs its quick tier meanwhile). The compilation starts once
 * the work submitted with this call is done: on a software adapter the compiler and the quick
 * run share the CPU cores, and the first call should not wait for both. A background compilation
 * that failed is not retried in the background: the pipeline is then compiled here, in the call,
 * so the call that uses it reports the error.
 */
export function readyPipeline(device: GPUDevice, source: PipelineSource): GPUComputePipeline | null {
  const r = recordOf(device);
  const hit = r.cache.get(source.key);
  if (hit) return hit;
  if (r.failed.has(source.key)) return pipelineOf(device, source);
  if (!r.pending.has(source.key) && !r.deferred.has(source.key)) {
    r.deferred.add(source.key);
    // The caller records and submits synchronously: after this task, onSubmittedWorkDone covers its work.
    setTimeout(() => {
      device.queue.onSubmittedWorkDone()
        .then(() => preparePipelines(device, [source]))
        .catch(() => r.failed.add(source.key))
        .finally(() => r.deferred.delete(source.key));
    }, 0);
  }
  return null;
}

/**
 * Runs `pipeline` once over zero workgroups (an indirect dispatch of 0 × 0 × 0) with placeholder
 * buffers in every binding of `code`. Some drivers compile a pipeline's machine code at its first
 * dispatch, not at creation: on lavapipe (llvmpipe) createComputePipelineAsync takes tens of ms
 * and the LLVM compile, 0.6-3 s, then happens in the first dispatch, so without this the first
 * call after a warm-up would still wait for the compiler. Errors stay in this function's own
 * scope: a failed warm-up only leaves the compile to the first dispatch.
 */
async function warmPipeline(device: GPUDevice, pipeline: GPUComputePipeline, code: string): Promise<boolean> {
  const made: GPUBuffer[] = [];
  const buffer = (size: number, usage: number): GPUBuffer => {
    const b = device.createBuffer({ size, usage });
    made.push(b);
    return b;
  };
  let ok = true;
  let scope: Promise<boolean> = Promise.resolve(false);
  device.pushErrorScope('validation');
  try {
    const groups = new Map<number, GPUBindGroupEntry[]>();
    for (const m of code.matchAll(/@group\((\d+)\)\s*@binding\((\d+)\)\s*var<(storage|uniform)/g)) {
      const group = Number(m[1]);
      const uniform = m[3] === 'uniform';
      const size = uniform ? Math.min(65536, device.limits.maxUniformBufferBindingSize) : 256;
      const entries = groups.get(group) ?? [];
      entries.push({ binding: Number(m[2]), resource: { buffer: buffer(size, uniform ? USAGE.UNIFORM : USAGE.STORAGE) } });
      groups.set(group, entries);
    }
    const encoder = device.createCommandEncoder({ label: 'fia.warm' });
    const pass = encoder.beginComputePass({ label: 'fia.warm' });
    pass.setPipeline(pipeline);
    for (const [group, entries] of groups) pass.setBindGroup(group, device.createBindGroup({ layout: pipeline.getBindGroupLayout(group), entries }));
    pass.dispatchWorkgroupsIndirect(buffer(16, USAGE.INDIRECT), 0);
    pass.end();
    device.queue.submit([encoder.finish()]);
  } catch {
    ok = false;
  } finally {
    scope = device.popErrorScope().then((e) => e === null, () => false);
  }
  await device.queue.onSubmittedWorkDone().catch(() => undefined);
  for (const b of made) b.destroy();
  return ok && await scope;
}

/**
 * Compiles `sources` off the calling thread (createComputePipelineAsync) into the per-device cache,
 * then runs each new one over zero workgroups (warmPipeline: drivers that compile at the first
 * dispatch compile now), so later encodes find them ready. Resolves when every one is ready;
 * rejects with the first compilation error (a GPUPipelineError's message).
 */
export async function preparePipelines(device: GPUDevice, sources: readonly PipelineSource[]): Promise<void> {
  const r = recordOf(device);
  const waits: Promise<void>[] = [];
  // The shader modules' own errors go to this scope, not to the application's uncaptured-error
  // handler; nothing else runs between the push and the pop (no await in between).
  device.pushErrorScope('validation');
  try {
    for (const source of sources) {
      if (r.cache.has(source.key)) continue;
      let p = r.pending.get(source.key);
      if (!p) {
        const shader = source.build();
        p = device.createComputePipelineAsync(pipelineDescriptor(device, shader))
          .then(async (pipeline) => {
            if (await warmPipeline(device, pipeline, shader.code)) r.warmed++;
            r.async++;
            if (!r.cache.has(source.key)) r.cache.set(source.key, pipeline);
          })
          .finally(() => r.pending.delete(source.key));
        r.pending.set(source.key, p);
      }
      waits.push(p);
    }
  } finally {
    const scope = device.popErrorScope();
    waits.push(scope.then((e) => { if (e) throw new Error(e.message); }));
  }
  await Promise.all(waits);
}

/** A stable cache key from a flat specialization object (sorted keys). */
export function specKey(kernel: string, spec: Readonly<Record<string, string | number | boolean>>): string {
  return `${kernel}{${Object.keys(spec).sort().map((k) => `${k}=${String(spec[k])}`).join(',')}}`;
}

const dummies = new WeakMap<GPUDevice, { input?: GPUBuffer; output?: GPUBuffer }>();

/**
 * A 16-byte storage buffer (one per device and role) bound where an optional binding is absent;
 * the kernel never touches it. 'input' for read-only bindings, 'output' for writable ones: one
 * buffer may not be bound both ways in one dispatch.
 */
export function dummyBuffer(device: GPUDevice, role: 'input' | 'output' = 'input'): GPUBuffer {
  let d = dummies.get(device);
  if (!d) dummies.set(device, (d = {}));
  return (d[role] ??= device.createBuffer({ size: 16, usage: USAGE.STORAGE | USAGE.COPY_DST, label: `fia.absent.${role}` }));
}

/** A uniform buffer holding `data`, written at creation. */
export function uniformBuffer(device: GPUDevice, data: ArrayBuffer, label: string): GPUBuffer {
  const buf = device.createBuffer({ size: data.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST, mappedAtCreation: true, label });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
  buf.unmap();
  return buf;
}

/** One `var<workgroup>` array of a kernel: the plan counts exactly what the shader declares. */
export interface WorkgroupArray {
  name: string;
  elem: 'f32' | 'u32' | 'vec4<f32>' | 'vec4<f16>' | 'atomic<u32>';
  length: number;
  /** A plain variable (length 1), not an array. */
  scalar?: boolean;
}

const WORKGROUP_ELEM_BYTES: Readonly<Record<WorkgroupArray['elem'], number>> = { f32: 4, u32: 4, 'vec4<f32>': 16, 'vec4<f16>': 8, 'atomic<u32>': 4 };

/** The WGSL declarations of `arrays`. */
export function workgroupDecls(arrays: readonly WorkgroupArray[]): string {
  return arrays.map((a) => (a.scalar
    ? `var<workgroup> ${a.name}: ${a.elem};`
    : `var<workgroup> ${a.name}: array<${a.elem}, ${a.length}>;`)).join('\n');
}

/**
 * Workgroup storage of `arrays` as WebGPU counts it against maxComputeWorkgroupStorageSize: each
 * variable rounded up to 16 bytes.
 */
export function workgroupBytes(arrays: readonly WorkgroupArray[]): number {
  return arrays.reduce((sum, a) => sum + Math.ceil((a.length * WORKGROUP_ELEM_BYTES[a.elem]) / 16) * 16, 0);
}
