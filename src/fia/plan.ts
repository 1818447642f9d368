// Planning: which kernel family computes a Problem, its plan for the device's caps, and the
// workspace layout. The same layout call sizes the workspace (GetWorkspaceSize) and places the
// regions the executor binds, so the two agree by construction.
import { AclnnError, ACLNN_ERR_INNER_NOT_SUPPORTED } from '../acl/status.js';
import { capsOf, type DeviceCaps } from '../kernels/caps.js';
import { kernelUnsupported, planKernel, type PlannedKernel } from '../kernels/family.js';
import { isFrozenDescriptor, type Tensor } from '../acl/tensor.js';
import { tensorRange } from '../kernels/binding.js';
import type { WorkspaceRegion } from '../kernels/workspace.js';
import { problemOf } from './normalize.js';
import { given, PARAM_NAMES } from '../problem/params.js';
import type { FiaInputs, Problem } from '../problem/problem.js';
import { kernelTensors } from '../problem/tensors.js';
import type { Checked } from './validate.js';

/** A kernel family's plan and its placement in the caller's workspace (`workspaceBytes` in all). */
export type FiaPlan = PlannedKernel;

export { kernelFor, kernelUnsupported as unsupportedReason } from '../kernels/family.js';

/**
 * Plans `problem` for a device with `caps` (`inputs`: the operator inputs, which the kernel layouts
 * need for the KV source's copies: paged KV, shared prefix, antiquant). Throws AclnnError 561101 (ACLNN_ERR_INNER_NOT_SUPPORTED)
 * when the kernel family does not cover the problem's features yet.
 */
export function planFia(problem: Problem, caps: DeviceCaps, inputs?: FiaInputs): FiaPlan {
  const reason = kernelUnsupported(problem, caps);
  if (reason !== null) {
    throw new AclnnError(ACLNN_ERR_INNER_NOT_SUPPORTED, `not supported on the WebGPU path yet: ${reason}`);
  }
  const out = planKernel(problem, caps, inputs && kernelTensors(problem, inputs));
  checkBindingSizes(problem, out, caps, inputs);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The plan cache: GetWorkspaceSize of a call already planned on this device reuses its Problem and
// plan. problemOf and planFia read only the inputs' dtypes, shapes, strides, offsets, formats,
// scalars and lengths, and the device's caps: the key holds all of those (the device by identity,
// its caps being fixed), never buffer identity, which no plan depends on. The actualSeqLengthsKv
// values are kept beside the key: a decode plan does not depend on them (its splits cover the
// planned maximum, the lengths are read on the device), so a decode hit takes the new lengths;
// a prefill entry serves only the same lengths.

const PLAN_CACHE_ENTRIES = 256;
interface PlanEntry { problem: Problem; plan: FiaPlan; kvLensKey: string }
const planCaches = new WeakMap<object, Map<string, PlanEntry>>();

let undescribable = 0;
/**
 * Every description text gets a number (never reused), so a key is a short list of numbers rather
 * than a long text the cache lookup would hash every call. Frozen descriptors (the acl
 * constructors') remember theirs: they cannot change.
 */
const textIds = new Map<string, number>();
let nextTextId = 0;
const describedIds = new WeakMap<object, number>();
const TEXT_IDS_KEPT = 65536;

function idOfText(text: string): number {
  let id = textIds.get(text);
  if (id === undefined) {
    // Forgetting texts only costs cache misses: a forgotten text gets a new number, never an old one.
    if (textIds.size >= TEXT_IDS_KEPT) textIds.clear();
    textIds.set(text, (id = nextTextId++));
  }
  return id;
}

/** An input's description number; an ignored parameter may hold anything (validation judges only what it reads). */
function describeId(v: unknown): number {
  if (v !== null && typeof v === 'object') {
    const known = describedIds.get(v);
    if (known !== undefined) return known;
    const id = idOfText(describe(v));
    if (isFrozenDescriptor(v)) describedIds.set(v, id);
    return id;
  }
  return idOfText(describe(v));
}

/** An input as text: a tensor by its metadata (never its buffer: no plan depends on it), a list by its entries. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v);
  const o = v as { kind?: unknown; tensors?: unknown; values?: unknown };
  if (o.kind === 'tensor') {
    const t = v as Record<keyof Tensor, unknown>;
    return `${String(t.dtype)}[${String(t.shape)}](${String(t.strides)})@${String(t.offset)}${String(t.format)}`;
  }
  if (Array.isArray(o.tensors)) return `{${o.tensors.map(describe).join(';')}}`;
  if (Array.isArray(o.values)) return `<${String(o.values)}>`;
  try {
    return JSON.stringify(v);
  } catch {
    return `?${undescribable++}`; // never equal to another call's key
  }
}

/**
 * The cache key of a call's inputs: the description number of each of the 39 parameters in the
 * doc's order, then of the extensions' learnableSink, softcap and slidingWindow (other properties are read by
 * nothing), actualSeqLengthsKv only as given or not (see above).
 */
export function planKey(inputs: FiaInputs): string {
  const x = inputs as unknown as Record<string, unknown>;
  let key = '';
  for (const name of PARAM_NAMES) {
    const v = x[name];
    key += name === 'actualSeqLengthsKv' ? (v == null ? '-,' : '+,') : `${describeId(v)},`;
  }
  const e = inputs.extensions;
  return e == null ? key : `${key}${describeId(e.learnableSink)},${describeId(e.softcap)},${describeId(e.slidingWindow)}`;
}

/**
 * The Problem of checked inputs (`checked`: what validation derived from `inputs`) and its plan for
 * `device`'s caps, reusing the Problem and plan of an earlier call with the same key (successful
 * plans only).
 */
export function planFiaOn(device: GPUDevice, inputs: FiaInputs, checked: Checked): { problem: Problem; plan: FiaPlan } {
  let cache = planCaches.get(device);
  if (!cache) planCaches.set(device, (cache = new Map()));
  const key = planKey(inputs);
  const kvLensKey = describe(inputs.actualSeqLengthsKv);
  const hit = cache.get(key);
  if (hit && hit.kvLensKey === kvLensKey) return hit;
  if (hit && hit.problem.isDecode) return { problem: { ...hit.problem, kvLens: checked.kvLens }, plan: hit.plan };
  const problem = problemOf(checked);
  const plan = planFia(problem, capsOf(device), inputs);
  if (!hit && cache.size >= PLAN_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { problem, plan, kvLensKey });
  return { problem, plan };
}

/**
 * Every storage binding of the plan fits the device's maxStorageBufferBindingSize, or the call is
 * rejected here (561101) rather than failing on the device: caller tensors are bound by their byte
 * range (kernels/binding.ts), workspace regions by their size. Decode binds a dense K/V larger
 * than one binding by the rows of each dispatch (DecodePlan.kvRange); otherwise K/V are bound
 * whole per dispatch, and a paged cache, a tensor-list entry or a prefill K/V larger than one
 * binding is not supported.
 */
function checkBindingSizes(problem: Problem, plan: FiaPlan, caps: DeviceCaps, inputs?: FiaInputs): void {
  const limit = caps.maxStorageBindingBytes;
  const fail = (what: string, bytes: number, why: string): never => {
    throw new AclnnError(ACLNN_ERR_INNER_NOT_SUPPORTED,
      `${what}: binds ${bytes} bytes, more than the device's maxStorageBufferBindingSize ${limit}; ${why}`);
  };
  if (inputs) {
    const bound: [string, Tensor | null | undefined][] = [
      ['query', inputs.query], ['attentionOut', inputs.attentionOut],
      ['attenMask', problem.mask ? inputs.attenMask : null], ['pseShift', problem.pse ? inputs.pseShift : null],
      ['softmaxLse', problem.softmaxLse ? inputs.softmaxLse : null],
      ['quantScale2', problem.outQuant ? inputs.quantScale2 : null],
      ['quantOffset2', problem.outQuant?.hasOffset ? inputs.quantOffset2 : null],
      ['blockTable', problem.kv.kind === 'paged' ? inputs.blockTable : null],
    ];
    // Decode over a dense K/V larger than one binding binds each dispatch's rows only (kvRange).
    const ranged = plan.kernel === 'decode' && plan.plan.kvRange !== null;
    const kvWhy = problem.kv.kind === 'paged'
      ? 'a paged KV cache is bound whole (every block may be referenced)'
      : problem.isDecode
        ? '(port) decode binds a larger K/V per split only when it is dense without kvPaddingSize'
        : '(port) prefill binds K/V whole';
    for (const [side, l] of ranged ? [] : [['key', inputs.key], ['value', inputs.value]] as const) {
      const ts = l?.tensors ?? [];
      ts.forEach((t, i) => {
        if (!t) return;
        const bytes = tensorRange(t).size;
        if (bytes > limit) fail(`${ts.length > 1 ? `${side}[${i}]` : side}=[${t.shape.join(',')}] ${t.dtype}`, bytes, kvWhy);
      });
    }
    for (const [name, t] of bound) {
      if (!given(t)) continue;
      const bytes = tensorRange(t).size;
      if (bytes > limit) fail(`${name}=[${t.shape.join(',')}] ${t.dtype}`, bytes, '(port) a tensor is bound whole by one kernel dispatch');
    }
  }
  for (const [name, r] of Object.entries(plan.regions)) {
    if (r && typeof r === 'object' && typeof (r as WorkspaceRegion).size === 'number' && (r as WorkspaceRegion).size > limit) {
      fail(`workspace region ${name}`, (r as WorkspaceRegion).size, '(port) the problem is too large for one binding (fewer batches or heads per call)');
    }
  }
}
