// The port's argument checks: what a JavaScript caller can get wrong that C's types rule out.
// The 161001 null checks (docs/validation.md §1), the JS types of the scalars, lists and int arrays, every
// tensor's metadata against its GPUBuffer (size, usage, strides, offset, format, contiguity) and
// output aliasing. Messages of port-only rules say "(port)". The operator's own rules (dtypes,
// shapes, combinations) are in validate.ts, which runs these first.
import { elementBits, isDataType } from '../codec/dtype.js';
import { invalid, nullptr } from '../acl/status.js';
import { USAGE, usageNames } from '../acl/usage.js';
import { isContiguous, isFrozenDescriptor, isGpuBuffer, numel, type Tensor, type TensorList } from '../acl/tensor.js';
import {
  EXTENSION_TENSORS, type ExtensionTensor, given, INT_ARRAY_PARAMS, INT_PARAMS, type ParamName, PARAMS, type ParamSpec,
  REQUIRED_PARAMS, TENSOR_PARAMS,
} from '../problem/params.js';
import type { FiaInputs } from '../problem/problem.js';

/** The most entries a key/value tensor list may hold (docs/validation.md §10: B ≤ 256). */
export const MAX_LIST_BATCH = 256;

function show(v: unknown): string {
  if (Array.isArray(v)) return v.length > 16 ? `[${v.slice(0, 16).map(show).join(',')},… (${v.length})]` : `[${v.map(show).join(',')}]`;
  if (typeof v === 'string') return v;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    const kind = (v as { kind?: unknown }).kind;
    return kind === 'tensor' ? 'an aclTensor' : kind === 'tensorList' ? 'an aclTensorList' : 'an object';
  }
  return String(v);
}

/** Throws 161002 `param=value: rule`. */
export function reject(param: string, value: unknown, rule: string): never {
  throw invalid(`${param}=${show(value)}: ${rule}`);
}

function isList(l: unknown): l is TensorList {
  return typeof l === 'object' && l !== null && Array.isArray((l as TensorList).tensors);
}

// ---------------------------------------------------------------------------------------------
// §1 Presence (161001)

export function checkPresence(x: FiaInputs): void {
  if (x == null || typeof x !== 'object') throw nullptr('inputs: null');
  for (const name of REQUIRED_PARAMS) {
    const spec: ParamSpec = PARAMS[name];
    const what = spec.output ? 'output' : spec.kind === 'tensorList' ? 'tensor list' : 'tensor';
    if (x[name] == null) throw nullptr(`${name}=null: a required ${what} is missing`);
  }
  if (x.softmaxLseFlag === true && x.softmaxLse == null) {
    throw nullptr('softmaxLse=null: required when softmaxLseFlag is true');
  }
  for (const name of ['key', 'value'] as const) {
    const list = x[name];
    if (!isList(list)) continue;
    list.tensors.forEach((t, i) => {
      if (t == null) throw nullptr(`${name}[${i}]=null: a null entry in the ${name} tensor list`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Structure: list-ness, the scalars' JS types, and every tensor's metadata against its buffer (port
// rules), the format (§2), contiguity (§2) and negative dims (§3).

export function checkStructure(x: FiaInputs): void {
  for (const name of ['key', 'value'] as const) {
    if (!isList(x[name])) reject(name, x[name], '(port) not an aclTensorList: wrap tensors with aclCreateTensorList');
  }
  const nk = x.key!.tensors.length;
  const nv = x.value!.tensors.length;
  if (nk === 0) reject('key', '[]', 'the key tensor list holds no tensor');
  if (nk !== nv) reject('value', `a list of ${nv}`, `key and value lists differ in length (key holds ${nk})`);
  // Before any per-entry work: a list longer than any valid batch is rejected in O(1).
  if (nk > MAX_LIST_BATCH) reject('key', `a list of ${nk}`, `tensor-list KV supports B ≤ ${MAX_LIST_BATCH}`);
  if (x.inputLayout == null) reject('inputLayout', null, 'a layout is required ("BSH", "BSND", "BNSD" or "BNSD_BSND")');
  if (typeof x.inputLayout !== 'string') reject('inputLayout', x.inputLayout, '(port) not a string');

  for (const name of INT_PARAMS) {
    const v = x[name];
    if (typeof v !== 'number' || !Number.isInteger(v)) reject(name, v, '(port) an int64 parameter must be an integer');
  }
  if (typeof x.scaleValue !== 'number') reject('scaleValue', x.scaleValue, '(port) a double parameter must be a number');
  if (typeof x.softmaxLseFlag !== 'boolean') reject('softmaxLseFlag', x.softmaxLseFlag, '(port) must be a boolean');
  for (const name of INT_ARRAY_PARAMS) {
    const a = x[name];
    if (a == null) continue;
    if (typeof a !== 'object' || !Array.isArray(a.values)) {
      reject(name, a, '(port) not an aclIntArray: use aclCreateIntArray');
    }
    a.values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v)) reject(`${name}[${i}]`, v, '(port) an int64 entry must be an integer');
    });
  }

  for (const name of TENSOR_PARAMS) {
    const t = x[name];
    if (t == null) continue;
    if (name === 'softmaxLse' && x.softmaxLseFlag !== true) continue; // neither checked nor written (§16)
    checkTensor(name, t, name);
  }
  x.key!.tensors.forEach((t, i) => checkTensor(nk > 1 ? `key[${i}]` : 'key', t!, 'key'));
  x.value!.tensors.forEach((t, i) => checkTensor(nv > 1 ? `value[${i}]` : 'value', t!, 'value'));
  checkExtensions(x);
  checkOutputAliasing(x);
}

/** The extensions (set by the named wrapper): JS types, and learnableSink's metadata against its buffer. */
function checkExtensions(x: FiaInputs): void {
  const e = x.extensions;
  if (e == null) return;
  if (typeof e !== 'object') reject('extensions', e, '(port) must be an object');
  if (e.softcap != null && typeof e.softcap !== 'number') reject('softcap', e.softcap, '(port) must be a number');
  if (e.slidingWindow != null && typeof e.slidingWindow !== 'number') reject('slidingWindow', e.slidingWindow, '(port) must be a number');
  if (e.learnableSink != null) checkTensor('learnableSink', e.learnableSink, 'learnableSink');
}

/** A tensor role's row: an operator parameter's, or an extension tensor's. */
function specOf(role: ParamName | ExtensionTensor): ParamSpec {
  return role in PARAMS ? PARAMS[role as ParamName] : EXTENSION_TENSORS[role as ExtensionTensor];
}

/**
 * Frozen tensors (aclCreateTensor's) that passed checkTensor, with the roles they passed for: what
 * it checks cannot change afterwards (a buffer's size and usage are fixed at its creation).
 */
const checkedTensors = new WeakMap<Tensor, Set<ParamName | ExtensionTensor>>();

/** One tensor's metadata: dtype, shape, strides, offset, format, buffer size and usage, contiguity. */
function checkTensor(name: string, t: Tensor, role: ParamName | ExtensionTensor): void {
  if (checkedTensors.get(t)?.has(role)) return;
  checkTensorOnce(name, t, role);
  if (isFrozenDescriptor(t)) {
    let roles = checkedTensors.get(t);
    if (!roles) checkedTensors.set(t, (roles = new Set()));
    roles.add(role);
  }
}

function checkTensorOnce(name: string, t: Tensor, role: ParamName | ExtensionTensor): void {
  if (typeof t !== 'object' || !Array.isArray(t.shape) || !Array.isArray(t.strides)) {
    reject(name, t, '(port) not an aclTensor: create it with aclCreateTensor or createTensor');
  }
  if (!isDataType(t.dtype)) reject(`${name}.dtype`, t.dtype, '(port) not a known aclDataType');
  if (!t.shape.every((d) => typeof d === 'number' && Number.isInteger(d))) {
    reject(`${name}.shape`, t.shape, '(port) dims must be integers');
  }
  if (t.shape.some((d) => d < 0)) reject(`${name}.shape`, t.shape, 'a negative dim');
  const spec = specOf(role);
  const empty = numel(t.shape) === 0;
  if (empty && spec.empty === 'absent') return; // counts as absent: nothing else is read
  if (t.strides.length !== t.shape.length || !t.strides.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0)) {
    reject(`${name}.strides`, t.strides, `(port) strides must be ${t.shape.length} non-negative integers`);
  }
  if (typeof t.offset !== 'number' || !Number.isInteger(t.offset) || t.offset < 0) {
    reject(`${name}.offset`, t.offset, '(port) the storage offset must be a non-negative integer (elements)');
  }
  if (t.format !== 'ND') reject(`${name}.format`, t.format, 'only the ND format is supported');
  if (empty && spec.empty === 'rejected') reject(`${name}.shape`, t.shape, '(port) a parameter tensor with 0 elements: pass null instead');
  const buffer = t.buffer;
  if (!isGpuBuffer(buffer)) reject(`${name}.buffer`, buffer, '(port) not a GPUBuffer (create it with device.createBuffer)');
  // A padding size is copied (never bound) and only when active: validate.ts checks it then.
  if (spec.copied !== 'whenActive') checkUsage(name, buffer, USAGE.STORAGE | (spec.copied === 'always' ? USAGE.COPY_SRC : 0));
  if (!empty) {
    const reach = byteSpan(t);
    if (reach > buffer.size) {
      reject(name, `[${t.shape.join(',')}] ${t.dtype}`,
        `(port) shape, strides and offset ${t.offset} reach ${reach} bytes but the buffer holds ${buffer.size}`);
    }
  }
  if (!isContiguous(t)) {
    reject(`${name}.strides`, t.strides, spec.contiguous === 'doc'
      ? 'non-contiguous tensors are not supported'
      : '(port) non-contiguous parameter and output tensors are not supported');
  }
}

export function checkUsage(name: string, buffer: GPUBuffer, need: number): void {
  if ((buffer.usage & need) !== need) {
    reject(`${name}.buffer.usage`, `0x${buffer.usage.toString(16)}`, `(port) the buffer needs ${usageNames(need)} usage`);
  }
}


/** First byte and end byte (word-padded) of the elements a non-empty tensor reaches. */
function byteRange(t: Tensor): { start: number; end: number } {
  const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.strides[i]!, 0);
  return { start: Math.floor((t.offset * elementBits(t.dtype)) / 8), end: Math.ceil(((last + 1) * elementBits(t.dtype)) / 32) * 4 };
}

function byteSpan(t: Tensor): number {
  return byteRange(t).end;
}

/** Outputs never share a buffer with an input, nor overlap each other (port: no read/write hazards). */
function checkOutputAliasing(x: FiaInputs): void {
  const outs: [string, Tensor][] = [['attentionOut', x.attentionOut!]];
  if (x.softmaxLseFlag === true && given(x.softmaxLse)) outs.push(['softmaxLse', x.softmaxLse]);
  const ins: [string, Tensor][] = [];
  for (const name of TENSOR_PARAMS) {
    const t = x[name];
    if (!('output' in PARAMS[name]) && given(t)) ins.push([name, t]);
  }
  x.key!.tensors.forEach((t, i) => ins.push([`key[${i}]`, t!]));
  x.value!.tensors.forEach((t, i) => ins.push([`value[${i}]`, t!]));
  const sink = x.extensions?.learnableSink;
  if (given(sink)) ins.push(['learnableSink', sink]);
  for (const [outName, out] of outs) {
    for (const [inName, t] of ins) {
      if (t.buffer === out.buffer) reject(`${outName}.buffer`, 'shared', `(port) the output shares its buffer with ${inName}`);
    }
  }
  if (outs.length === 2 && outs[0]![1].buffer === outs[1]![1].buffer) {
    const a = byteRange(outs[0]![1]);
    const b = byteRange(outs[1]![1]);
    if (a.start < b.end && b.start < a.end) {
      reject('softmaxLse.buffer', 'shared', '(port) softmaxLse overlaps attentionOut in the same buffer');
    }
  }
}

