// The port of aclOpExecutor: what GetWorkspaceSize decided (inputs, Problem, plan, workspace map)
// and the second phase that records it on a stream.
//
// Re-use: unlike CANN's default (single-use unless aclSetAclOpExecutorRepeatable), an executor may
// run any number of times; each run reads the tensors' current contents. The inputs object is
// copied at GetWorkspaceSize time, the Tensor objects themselves are immutable.
import type { Stream } from '../acl/stream.js';
import {
  AclnnError, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS, type AclnnStatus,
} from '../acl/status.js';
import { createStream } from '../acl/stream.js';
import type { Tensor } from '../acl/tensor.js';
import { encodeDecode } from '../kernels/decode.js';
import { encodePrefill } from '../kernels/prefill.js';
import type { FiaPlan } from './plan.js';
import type { FiaInputs, Problem } from './problem.js';

// GPUBufferUsage bits the workspace needs: kernels bind it as storage, copy into it (aux scalars,
// lengths) and may copy out of it.
const USAGE_COPY_SRC = 0x04;
const USAGE_COPY_DST = 0x08;
const USAGE_STORAGE = 0x80;
export const WORKSPACE_USAGE = USAGE_STORAGE | USAGE_COPY_DST | USAGE_COPY_SRC;

export class FiaExecutor {
  constructor(
    /** The device GetWorkspaceSize planned for (null only for an empty output: nothing to run). */
    readonly device: GPUDevice | null,
    readonly inputs: Readonly<FiaInputs>,
    /** null: attentionOut has 0 elements, the run succeeds with nothing written. */
    readonly problem: Problem | null,
    readonly plan: FiaPlan | null,
    /** Bytes the caller must pass (GetWorkspaceSize's answer). */
    readonly workspaceSize: number,
  ) {}

  /** Every caller tensor (inputs and outputs), for aliasing checks. */
  tensors(): Tensor[] {
    const out: Tensor[] = [];
    for (const v of Object.values(this.inputs)) {
      if (v && typeof v === 'object' && (v as Tensor).kind === 'tensor') out.push(v as Tensor);
    }
    for (const list of [this.inputs.key, this.inputs.value]) for (const t of list?.tensors ?? []) if (t) out.push(t);
    return out;
  }
}

function isBufferLike(b: unknown): b is GPUBuffer {
  return typeof b === 'object' && b !== null && typeof (b as GPUBuffer).size === 'number';
}

/**
 * Checks the second phase's arguments; returns the stream to run on. Throws AclnnError:
 * 161001 null executor (or a null workspace where bytes are needed), 161002 a workspace that is
 * too small, lacks usage or aliases a caller tensor, 361001 a stream on another device.
 */
function checkRun(
  executor: FiaExecutor | null, workspace: GPUBuffer | null, workspaceSize: number, stream: Stream | null,
  encoder: GPUCommandEncoder | undefined,
): { ex: FiaExecutor; stream: Stream | null } {
  if (!(executor instanceof FiaExecutor)) {
    throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, `executor=${executor === null || executor === undefined ? 'null' : 'unknown'}: pass the executor GetWorkspaceSize returned`);
  }
  const need = executor.workspaceSize;
  if (typeof workspaceSize !== 'number' || !Number.isInteger(workspaceSize) || workspaceSize < 0) {
    throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspaceSize=${String(workspaceSize)}: must be a non-negative integer (bytes)`);
  }
  if (workspaceSize < need) {
    throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspaceSize=${workspaceSize}: smaller than the ${need} bytes GetWorkspaceSize reported`);
  }
  if (workspace == null) {
    if (need > 0 || workspaceSize > 0) {
      throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, `workspace=null: GetWorkspaceSize reported ${need} bytes (workspaceSize=${workspaceSize})`);
    }
  } else {
    if (!isBufferLike(workspace)) throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'workspace: not a GPUBuffer');
    if (workspace.size < workspaceSize) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspaceSize=${workspaceSize}: the workspace buffer holds only ${workspace.size} bytes`);
    }
    if ((workspace.usage & WORKSPACE_USAGE) !== WORKSPACE_USAGE) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspace.usage=0x${workspace.usage.toString(16)}: the workspace needs STORAGE | COPY_DST | COPY_SRC usage`);
    }
    if (executor.tensors().some((t) => t.buffer === workspace)) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'workspace: shares its buffer with an input or output tensor');
    }
  }
  if (encoder != null && (typeof encoder !== 'object' || typeof encoder.beginComputePass !== 'function')) {
    throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'encoder: not a GPUCommandEncoder');
  }
  if (executor.device === null) return { ex: executor, stream };
  const s = stream ?? createStream(executor.device);
  if (typeof s !== 'object' || s.device !== executor.device) {
    throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, 'stream: its device is not the device GetWorkspaceSize planned for (aclrtSetDevice)');
  }
  return { ex: executor, stream: s };
}

/** Records the planned kernels into `encoder` (no submit). */
function encodePlan(device: GPUDevice, encoder: GPUCommandEncoder, ex: FiaExecutor, workspace: GPUBuffer | null): void {
  const problem = ex.problem!;
  const p = ex.plan!;
  const inputs = ex.inputs as FiaInputs;
  if (p.kernel === 'decode') {
    encodeDecode({ device, encoder, problem, plan: p.plan, inputs, workspace, regions: p.regions });
  } else {
    encodePrefill({ device, encoder, problem, plan: p.plan, inputs, workspace, regions: p.regions });
  }
}

/**
 * The second phase. Own encoder (default): one command encoder, one submit, inside validation and
 * out-of-memory error scopes whose errors land on `stream.pendingErrors` (aclrtSynchronizeStream
 * then returns 361001). With a caller `encoder`, the passes are recorded there and nothing is
 * submitted; device errors then surface where the caller finishes and submits it.
 * Throws AclnnError for rejected arguments (see checkRun); a kernel that throws while encoding with
 * its own encoder submits nothing, so caller buffers stay untouched.
 */
export function runExecutor(
  executor: FiaExecutor | null, workspace: GPUBuffer | null, workspaceSize: number, stream: Stream | null,
  encoder?: GPUCommandEncoder,
): AclnnStatus {
  const { ex, stream: s } = checkRun(executor, workspace, workspaceSize, stream, encoder);
  if (ex.problem === null || ex.plan === null || s === null) return ACLNN_SUCCESS;
  const device = s.device;
  if (encoder) {
    encodePlan(device, encoder, ex, workspace);
    return ACLNN_SUCCESS;
  }
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  try {
    const own = device.createCommandEncoder({ label: `fia.${ex.plan.kernel}` });
    encodePlan(device, own, ex, workspace);
    s.queue.submit([own.finish()]);
  } finally {
    const scopes = [device.popErrorScope(), device.popErrorScope()];
    s.pendingScopes.push(Promise.all(scopes).then((errors) => {
      for (const e of errors) if (e) s.pendingErrors.push(e.message);
    }, (e: unknown) => {
      s.pendingErrors.push(`error scope: ${e instanceof Error ? e.message : String(e)}`);
    }));
  }
  return ACLNN_SUCCESS;
}
