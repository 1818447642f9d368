// The port of aclOpExecutor: what GetWorkspaceSize decided (inputs, Problem, plan, workspace map)
// and the second phase that records it on a stream.
//
// Re-use: unlike CANN's default (single-use unless aclSetAclOpExecutorRepeatable), an executor may
// run any number of times; each run reads the tensors' current contents. The inputs object is
// copied at GetWorkspaceSize time, the Tensor objects themselves are immutable.
//
// Host cost of a re-run: the first run on a workspace buffer records the plan's commands (bind
// groups and uniform buffers are created then); every later run on the same buffer replays them.
// Decode executors read actualSeqLengthsKv on the device from a buffer the executor owns
// (setActualSeqLengthsKv updates it), so a decode step is: update lengths, record, submit.
import {
  checkStream, createStream, deviceLoss, isCommandEncoder, popScopes, pushScopes, recordWork, type Stream, type WorkErrors,
} from '../acl/stream.js';
import {
  AclnnError, ACLNN_ERR_INNER_NOT_SUPPORTED, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_ERR_RUNTIME_ERROR, ACLNN_SUCCESS,
  type AclnnStatus, invalid, statusOf,
} from '../acl/status.js';
import { type IntArray, isGpuBuffer, type Tensor } from '../acl/tensor.js';
import { encodeKernel, kernelPipelineSources } from '../kernels/family.js';
import { kvLensBuffer } from '../kernels/decode.js';
import { type PipelineSource, pipelineState, type PipelineTier, preparePipelines } from '../kernels/shader.js';
import { USAGE } from '../acl/usage.js';
import type { FiaPlan } from './plan.js';
import type { FiaInputs, Problem } from '../problem/problem.js';
import { kernelTensors } from '../problem/tensors.js';

// The usage the workspace needs: kernels bind it as storage, copy into it (aux scalars, lengths)
// and may copy out of it.
export const WORKSPACE_USAGE = USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC;

/** The recorded-commands key of runs without a workspace. */
const NO_WORKSPACE = {};
/** Decode: each executor's device copy of its lengths (COPY_SRC | COPY_DST), created by its first run. */
const lensBuffers = new WeakMap<FiaExecutor, GPUBuffer>();
/**
 * A run's recorded commands. `waiting`: the steady pipelines that were still compiling when it was
 * recorded (the commands use a compile tier's quick kernel); once they are all ready the recording
 * is stale and the next run records again, on the steady kernel.
 */
interface Recording { commands: Command[]; device: GPUDevice; waiting: PipelineSource[] }
/** The plan's recorded commands per executor and workspace buffer (NO_WORKSPACE: a null workspace). */
const recordedRuns = new WeakMap<FiaExecutor, WeakMap<object, Recording>>();

function lensBufferOf(device: GPUDevice, ex: FiaExecutor): GPUBuffer {
  let buffer = lensBuffers.get(ex);
  if (buffer === undefined) {
    buffer = kvLensBuffer(device, ex['kvLens'] ?? []);
    lensBuffers.set(ex, buffer);
  }
  return buffer;
}

function recordedFor(ex: FiaExecutor, workspace: GPUBuffer | null): Command[] | undefined {
  const runs = recordedRuns.get(ex);
  const r = runs?.get(workspace ?? NO_WORKSPACE);
  if (r === undefined) return undefined;
  if (r.waiting.length > 0) {
    r.waiting = r.waiting.filter((p) => pipelineState(r.device, p) !== 'ready');
    if (r.waiting.length === 0) {
      runs!.delete(workspace ?? NO_WORKSPACE); // stale: the next run records on the steady kernel
      return undefined;
    }
  }
  return r.commands;
}

/** The pipelines of the commands a run on `workspace` replays now (tests: which tier a recording uses). */
export function recordedPipelines(ex: FiaExecutor, workspace: GPUBuffer | null): GPUComputePipeline[] {
  return (recordedFor(ex, workspace) ?? []).filter((c) => c.method === 'setPipeline').map((c) => c.args[0] as GPUComputePipeline);
}

function keepRecorded(device: GPUDevice, ex: FiaExecutor, workspace: GPUBuffer | null, commands: Command[]): void {
  let runs = recordedRuns.get(ex);
  if (!runs) recordedRuns.set(ex, (runs = new WeakMap()));
  const waiting = pipelineSourcesOf(ex, 'steady').filter((p) => pipelineState(device, p) !== 'ready');
  runs.set(workspace ?? NO_WORKSPACE, { commands, device, waiting });
}

export class FiaExecutor {
  /** Decode: the u32 actualSeqLengthsKv[B] the next runs read (setActualSeqLengthsKv). */
  private kvLens: Uint32Array<ArrayBuffer> | null = null;

  constructor(
    /** The device GetWorkspaceSize planned for (null only for an empty output: nothing to run). */
    readonly device: GPUDevice | null,
    readonly inputs: Readonly<FiaInputs>,
    /** null: attentionOut has 0 elements, the run succeeds with nothing written. */
    readonly problem: Problem | null,
    readonly plan: FiaPlan | null,
    /** Bytes the caller must pass (GetWorkspaceSize's answer). */
    readonly workspaceSize: number,
  ) {
    if (problem?.isDecode) this.kvLens = Uint32Array.from(problem.kvLens);
  }

  /**
   * Port extension (decode re-run): the actualSeqLengthsKv that runs of this executor read from
   * now on, without a new GetWorkspaceSize. `lengths` follows the operator's rule (one value for
   * every batch, or at least B values); each must lie in [0, the planned maximum]: KV_S (dense
   * key), the entry's S (tensor list), blockTable dim 1 · blockSize (paged, whose cache must also
   * hold the blocks all batches need). For a paged cache, update the blockTable tensor's buffer
   * yourself (queue.writeBuffer): each run reads its current contents. The lengths are read when the
   * work executes, like any input tensor: set them, record the runs that use them, submit, before
   * setting them again. Statuses: 161001 null lengths, 161002 a value outside its range (the
   * executor keeps its previous lengths), 561101 a prefill executor (Q_S > 1: plan a new call).
   */
  setActualSeqLengthsKv(lengths: readonly number[] | IntArray | null): AclnnStatus {
    try {
      this.updateKvLens(lengths);
      return ACLNN_SUCCESS;
    } catch (e) {
      return statusOf(e);
    }
  }

  /** The current actualSeqLengthsKv of a decode executor (one per batch); null for prefill or an empty output. */
  actualSeqLengthsKv(): number[] | null {
    return this.kvLens ? [...this.kvLens] : null;
  }

  private updateKvLens(lengths: readonly number[] | IntArray | null): void {
    if (lengths == null) throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, 'actualSeqLengthsKv=null: pass the lengths, one per batch');
    const values = Array.isArray(lengths) ? lengths as readonly number[] : (lengths as IntArray).values;
    if (!Array.isArray(values)) throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'actualSeqLengthsKv: not an array or IntArray');
    const problem = this.problem;
    if (problem === null) return; // empty output: nothing runs
    if (!problem.isDecode) {
      throw new AclnnError(ACLNN_ERR_INNER_NOT_SUPPORTED,
        `actualSeqLengthsKv: (port) re-running with new lengths is supported for decode executors (Q_S == 1); Q_S=${problem.qSeqLen}: call GetWorkspaceSize again`);
    }
    const B = problem.batch;
    const n = values.length;
    if (n !== 1 && n < B) throw invalid(`actualSeqLengthsKv=[${values.join(',')}]: length ${n} is neither 1 nor ≥ B=${B}`);
    if (problem.kvLeftPadding !== (this.inputs.kvPaddingSize != null && this.inputs.actualSeqLengthsKv != null)) {
      throw invalid('actualSeqLengthsKv: kvPaddingSize is given but the planned call had no actualSeqLengthsKv (left padding off); plan with actualSeqLengthsKv to re-run with new lengths');
    }
    const kv = problem.kv;
    const bound = (b: number): [number, string] => kv.kind === 'dense' ? [kv.seqLen, 'KV_S']
      : kv.kind === 'list' ? [kv.seqLens[b]!, `key[${b}] S`]
      : [kv.maxBlocksPerSeq * kv.blockSize, 'blockTable dim 1 · blockSize'];
    const next = new Uint32Array(B);
    for (let b = 0; b < B; b++) {
      const i = n === 1 ? 0 : b;
      const v = values[i];
      const [max, name] = bound(b);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
        throw invalid(`actualSeqLengthsKv[${i}]=${String(v)}: outside [0, ${name}=${max}] (the planned maximum)`);
      }
      next[b] = v;
    }
    if (kv.kind === 'paged') {
      const need = next.reduce((a, l) => a + Math.ceil(l / kv.blockSize), 0);
      if (need > kv.numBlocks) {
        throw invalid(`actualSeqLengthsKv=[${values.join(',')}]: the batches need ${need} blocks, more than the cache's blockNum ${kv.numBlocks}`);
      }
    } else if (problem.mask) {
      const m = this.inputs.attenMask!;
      const need = Math.max(...next) + (problem.prefix?.len ?? 0);
      if (m.shape[m.shape.length - 1]! < need) {
        throw invalid(`actualSeqLengthsKv=[${values.join(',')}]: attenMask columns ${m.shape[m.shape.length - 1]} < max Skv_b + prefix = ${need}`);
      }
    }
    this.kvLens = next;
    const buffer = lensBuffers.get(this);
    if (buffer !== undefined && this.device !== null) this.device.queue.writeBuffer(buffer, 0, next);
  }

  /**
   * Port extension (warm-up): compiles the pipelines this executor's runs use, off the calling
   * thread (createComputePipelineAsync), and resolves when they are ready. Pipelines are cached
   * per device by what their shader depends on, so preparing one executor also readies every later
   * call with the same shapes, dtypes and features. Resolves to 0, or to 361001
   * (aclGetRecentErrMsg says why) when the device is lost or a pipeline fails to compile.
   *
   * `level` 'steady' (default): the pipelines of the steady state; after it no run compiles and
   * every run takes the fastest kernel. 'first-call': only what a run needs so it does not block on
   * a compiler, which for a tiered kernel is its quick tier (runs before the steady pipeline is
   * ready use the quick tier and compile the steady one in the background; see docs/design.md,
   * "Compile tiers"). Without any prepare, a run compiles what it needs synchronously, inside
   * aclnnFusedInferAttentionScoreV2.
   */
  async prepare(level: PipelineTier = 'steady'): Promise<AclnnStatus> {
    try {
      if (level !== 'steady' && level !== 'first-call') {
        throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `prepare: level=${JSON.stringify(level)}: must be 'steady' or 'first-call'`);
      }
      if (this.device === null || this.problem === null || this.plan === null) return ACLNN_SUCCESS;
      const loss = deviceLoss(this.device);
      if (loss !== null) throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, `prepare: ${loss}`);
      await preparePipelines(this.device, pipelineSourcesOf(this, level));
      return ACLNN_SUCCESS;
    } catch (e) {
      const err = e instanceof AclnnError ? e
        : new AclnnError(ACLNN_ERR_RUNTIME_ERROR, `prepare: a pipeline failed to compile: ${e instanceof Error ? e.message : String(e)}`);
      return statusOf(err);
    }
  }

  /** Every caller tensor (inputs and outputs), for aliasing checks. */
  tensors(): Tensor[] {
    const out: Tensor[] = [];
    for (const v of Object.values(this.inputs)) {
      if (v && typeof v === 'object' && (v as Tensor).kind === 'tensor') out.push(v as Tensor);
    }
    for (const list of [this.inputs.key, this.inputs.value]) for (const t of list?.tensors ?? []) if (t) out.push(t);
    const sink = this.inputs.extensions?.learnableSink;
    if (sink) out.push(sink);
    return out;
  }
}

function hex(v: unknown): string {
  return typeof v === 'number' ? `0x${v.toString(16)}` : String(v);
}

/**
 * Checks the second phase's arguments, all before anything is recorded; returns the stream to run
 * on. Throws AclnnError: 161001 null executor (or a null workspace where bytes are needed), 161002
 * something that is not an executor, buffer, stream or encoder, a workspace that is too small,
 * lacks usage or aliases a caller tensor, 361001 a stream on another device or a lost device.
 */
function checkRun(
  executor: FiaExecutor | null, workspace: GPUBuffer | null, workspaceSize: number, stream: Stream | null,
  encoder: GPUCommandEncoder | undefined,
): { ex: FiaExecutor; stream: Stream | null } {
  if (executor == null) throw new AclnnError(ACLNN_ERR_PARAM_NULLPTR, 'executor=null: pass the executor GetWorkspaceSize returned');
  if (!(executor instanceof FiaExecutor)) {
    throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'executor: not an executor; pass the one GetWorkspaceSize returned');
  }
  const need = executor.workspaceSize;
  if (typeof workspaceSize !== 'number' || !Number.isSafeInteger(workspaceSize) || workspaceSize < 0) {
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
    if (!isGpuBuffer(workspace)) throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'workspace: not a GPUBuffer');
    if (workspace.size < workspaceSize) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspaceSize=${workspaceSize}: the workspace buffer holds only ${String(workspace.size)} bytes`);
    }
    if ((workspace.usage & WORKSPACE_USAGE) !== WORKSPACE_USAGE) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, `workspace.usage=${hex(workspace.usage)}: the workspace needs STORAGE | COPY_DST | COPY_SRC usage`);
    }
    if (executor.tensors().some((t) => t.buffer === workspace)) {
      throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'workspace: shares its buffer with an input or output tensor');
    }
  }
  if (encoder != null && !isCommandEncoder(encoder)) throw new AclnnError(ACLNN_ERR_PARAM_INVALID, 'encoder: not a GPUCommandEncoder');
  if (stream != null) checkStream(stream);
  if (executor.device === null) return { ex: executor, stream };
  const s = stream ?? createStream(executor.device);
  if (s.device !== executor.device) {
    throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, 'stream: its device is not the device GetWorkspaceSize planned for (aclrtSetDevice)');
  }
  const loss = deviceLoss(s.device);
  if (loss !== null) throw new AclnnError(ACLNN_ERR_RUNTIME_ERROR, `stream: ${loss}`);
  return { ex: executor, stream: s };
}

/** The pipelines the executor's runs use at `level` (what prepare compiles ahead). */
export function pipelineSourcesOf(ex: FiaExecutor, level: PipelineTier = 'steady'): PipelineSource[] {
  if (ex.problem === null || ex.plan === null) return [];
  return kernelPipelineSources(ex.problem, ex.plan, level);
}

/** Records the planned kernels into `encoder` (no submit; a run records once per workspace, later runs replay). */
function encodePlan(device: GPUDevice, encoder: GPUCommandEncoder, ex: FiaExecutor, workspace: GPUBuffer | null): void {
  const problem = ex.problem!;
  const kvLens = ex.plan!.kernel === 'decode' ? lensBufferOf(device, ex) : undefined;
  encodeKernel(ex.plan!, { device, encoder, problem, tensors: kernelTensors(problem, ex.inputs), workspace, kvLens, tiered: true });
}

type Command = { pass: boolean; method: string; args: unknown[] };

/**
 * An encoder that only writes down what the kernels record (encoder and compute-pass calls), and
 * `replay`, which records it into `target`. A caller's encoder is touched only after the whole plan
 * was encoded without a throw, and a replayed pass is always ended: a failure never leaves the
 * caller's encoder with an open pass or half a plan.
 */
function deferredEncoder(): { encoder: GPUCommandEncoder; commands: Command[] } {
  const commands: Command[] = [];
  const recorder = (pass: boolean): object => new Proxy({}, {
    get: (_t, method) => (...args: unknown[]): unknown => {
      if (typeof method !== 'string') return undefined;
      commands.push({ pass, method, args });
      return method === 'beginComputePass' ? recorder(true) : undefined;
    },
  });
  return { encoder: recorder(false) as GPUCommandEncoder, commands };
}

/** Records `commands` (deferredEncoder's) into `target`; a replayed pass is always ended. */
function replay(commands: readonly Command[], target: GPUCommandEncoder): void {
  let pass: GPUComputePassEncoder | null = null;
  try {
    for (const c of commands) {
      const self = (c.pass ? pass : target) as unknown as Record<string, (...a: unknown[]) => unknown>;
      const result = self[c.method]!(...c.args);
      if (c.method === 'beginComputePass') pass = result as GPUComputePassEncoder;
      if (c.pass && c.method === 'end') pass = null;
    }
  } finally {
    pass?.end();
  }
}

/** The plan's commands for `workspace`: recorded by the first run on it, reused by later runs. */
function commandsFor(device: GPUDevice, ex: FiaExecutor, workspace: GPUBuffer | null): Command[] {
  let commands = recordedFor(ex, workspace);
  if (commands === undefined) {
    const deferred = deferredEncoder();
    encodePlan(device, deferred.encoder, ex, workspace);
    commands = deferred.commands;
    keepRecorded(device, ex, workspace, commands);
  }
  return commands;
}

/** One run's outcome: its status (non-zero only for rejected arguments) and its device errors. */
export interface RunResult {
  stream: Stream | null;
  /** The run's own error scopes (device object creation, recording, submit). */
  errors: WorkErrors;
}

const NO_ERRORS: WorkErrors = Promise.resolve([]);

/**
 * The second phase, reporting its device errors to the caller instead of the stream (the named
 * wrapper awaits them itself). Own encoder (default): one command encoder, one submit, inside the
 * run's own validation and out-of-memory error scopes. With a caller `encoder`, the plan is
 * recorded there (see deferredEncoder) and nothing is submitted; errors of the caller's command
 * buffer then surface where the caller submits it. Throws AclnnError for rejected arguments (see
 * checkRun); a kernel that throws while encoding records and submits nothing, so caller buffers
 * and the caller's encoder stay untouched.
 */
export function runExecutorOwn(
  executor: FiaExecutor | null, workspace: GPUBuffer | null, workspaceSize: number, stream: Stream | null,
  encoder?: GPUCommandEncoder,
): RunResult {
  const { ex, stream: s } = checkRun(executor, workspace, workspaceSize, stream, encoder);
  if (ex.problem === null || ex.plan === null || s === null) return { stream: s, errors: NO_ERRORS };
  const device = s.device;
  const recorded = recordedFor(ex, workspace);
  if (recorded !== undefined && encoder != null) {
    // A replay into the caller's encoder creates nothing: its errors are the caller's command buffer's.
    replay(recorded, encoder);
    return { stream: s, errors: NO_ERRORS };
  }
  pushScopes(device);
  let errors: WorkErrors;
  try {
    const commands = recorded ?? commandsFor(device, ex, workspace);
    if (encoder != null) {
      replay(commands, encoder);
    } else {
      const own = device.createCommandEncoder({ label: `fia.${ex.plan.kernel}` });
      replay(commands, own);
      s.queue.submit([own.finish()]);
    }
  } finally {
    errors = popScopes(device);
  }
  return { stream: s, errors };
}

/**
 * aclnnFusedInferAttentionScoreV2's body: runs and records the run's device errors on its stream
 * (aclrtSynchronizeStream reports them, and only them).
 */
export function runExecutor(
  executor: FiaExecutor | null, workspace: GPUBuffer | null, workspaceSize: number, stream: Stream | null,
  encoder?: GPUCommandEncoder,
): AclnnStatus {
  const r = runExecutorOwn(executor, workspace, workspaceSize, stream, encoder);
  if (r.stream !== null && r.errors !== NO_ERRORS) recordWork(r.stream, r.errors);
  return ACLNN_SUCCESS;
}
