// Kernel families: how one class of problems is planned, laid out in the workspace, compiled and
// encoded. Two families cover the operator: prefill (Q_S > 1, prefill.ts) and decode (Q_S == 1,
// the IncreFlashAttention branch, decode.ts). The executor, the tests and the dev scripts drive
// both through this interface and the runner below, so plan → layout → encode is wired once.
//
// The contract of a family:
// - `unsupported(problem, caps)`: null when the family computes the problem exactly on a device
//   with these caps; else the missing feature (the operator then answers 561101).
// - `plan(problem, caps, tensors?, options?)`: everything the shaders and the grid depend on. The
//   plan fixes the pipelines: `pipelineSources` reads nothing but the problem and the plan.
//   `tensors` are the ones the plan will run with (strides and offsets may choose an access
//   path); a run with tensors addressed differently is a programming error the encode reports.
// - `layoutWorkspace(problem, plan, ws, tensors?)`: allocates the plan's workspace regions from
//   `ws`. The same call sizes the workspace (GetWorkspaceSize) and places the regions the encode
//   binds, so the two agree by construction.
// - `pipelineSources(problem, plan, tier)`: the pipelines an encode uses (see PipelineTier).
// - `encode(ctx)`: records the plan's copies and passes into ctx.encoder; no submit, no waiting.
//   Caller tensors are read and written only where the operator says; nothing else is touched.
//
// Kernels see the call's tensors by role (KernelTensors, src/problem/tensors.ts), never the
// operator's 39 parameters: which parameter serves a role is the operator layer's decision.
import type { Problem } from '../problem/problem.js';
import type { KernelTensors } from '../problem/tensors.js';
import type { DeviceCaps } from './caps.js';
import { type DecodePlan, type DecodePlanOptions, type DecodeRegions, decodePipelineSources, decodeUnsupported, encodeDecode, layoutDecodeWorkspace, planDecode } from './decode.js';
import {
  encodePrefill, layoutPrefillWorkspace, type PrefillPlan, prefillPipelineSources, type PrefillRegions, type PrefillTune, planPrefill, prefillUnsupported,
} from './prefill.js';
import type { PipelineSource, PipelineTier } from './shader.js';
import { WorkspaceAllocator } from './workspace.js';

/** What an encode records from: the device objects, the planned call and its workspace. */
export interface EncodeContext<Plan, Regions> {
  device: GPUDevice;
  encoder: GPUCommandEncoder;
  problem: Problem;
  plan: Plan;
  tensors: KernelTensors;
  workspace: GPUBuffer | null;
  regions: Regions;
  /** Decode: u32 actualSeqLengthsKv[B] on the device (kvLensBuffer; the executor's own). */
  kvLens?: GPUBuffer;
  /** Run a plan's quick tier while its steady pipelines compile in the background (the executor's encodes). */
  tiered?: boolean;
}

export interface KernelFamily<Plan, Regions, Options> {
  unsupported(problem: Problem, caps: DeviceCaps): string | null;
  plan(problem: Problem, caps: DeviceCaps, tensors?: KernelTensors, options?: Options): Plan;
  layoutWorkspace(problem: Problem, plan: Plan, ws: WorkspaceAllocator, tensors?: KernelTensors): Regions;
  pipelineSources(problem: Problem, plan: Plan, tier?: PipelineTier): PipelineSource[];
  encode(ctx: EncodeContext<Plan, Regions>): void;
}

const prefill: KernelFamily<PrefillPlan, PrefillRegions, PrefillTune> = {
  unsupported: prefillUnsupported,
  plan: (problem, caps, _tensors, options) => planPrefill(problem, caps, options),
  layoutWorkspace: layoutPrefillWorkspace,
  pipelineSources: prefillPipelineSources,
  encode: encodePrefill,
};

const decode: KernelFamily<DecodePlan, DecodeRegions, DecodePlanOptions> = {
  unsupported: decodeUnsupported,
  plan: (problem, caps, tensors, options) => planDecode(problem, caps, options, tensors),
  layoutWorkspace: layoutDecodeWorkspace,
  pipelineSources: decodePipelineSources,
  encode: encodeDecode,
};

/** The families by name. */
export const KERNELS = { prefill, decode } as const;
export type KernelName = keyof typeof KERNELS;

/** A family's plan and its placement in a workspace of `workspaceBytes`. */
export type PlannedKernel =
  | { kernel: 'prefill'; plan: PrefillPlan; regions: PrefillRegions; workspaceBytes: number }
  | { kernel: 'decode'; plan: DecodePlan; regions: DecodeRegions; workspaceBytes: number };

/** Plan options per family (tests and tuning). */
export interface KernelOptions { prefill?: PrefillTune; decode?: DecodePlanOptions }

/** The family for a problem: decode when Q_S == 1 (the IncreFlashAttention branch), else prefill. */
export function kernelFor(problem: Problem): KernelName {
  return problem.isDecode ? 'decode' : 'prefill';
}

/** null when the problem's family computes it exactly on a device with `caps`; else what it lacks. */
export function kernelUnsupported(problem: Problem, caps: DeviceCaps): string | null {
  return KERNELS[kernelFor(problem)].unsupported(problem, caps);
}

/** Plans `problem` with its family and lays out the workspace (the caller checks kernelUnsupported first). */
export function planKernel(problem: Problem, caps: DeviceCaps, tensors?: KernelTensors, options: KernelOptions = {}): PlannedKernel {
  const ws = new WorkspaceAllocator();
  if (kernelFor(problem) === 'decode') {
    const plan = decode.plan(problem, caps, tensors, options.decode);
    const regions = decode.layoutWorkspace(problem, plan, ws, tensors);
    return { kernel: 'decode', plan, regions, workspaceBytes: ws.bytes };
  }
  const plan = prefill.plan(problem, caps, tensors, options.prefill);
  const regions = prefill.layoutWorkspace(problem, plan, ws, tensors);
  return { kernel: 'prefill', plan, regions, workspaceBytes: ws.bytes };
}

/** The pipelines a planned kernel's encodes use at `tier`. */
export function kernelPipelineSources(problem: Problem, k: PlannedKernel, tier: PipelineTier = 'steady'): PipelineSource[] {
  return k.kernel === 'decode' ? decode.pipelineSources(problem, k.plan, tier) : prefill.pipelineSources(problem, k.plan, tier);
}

/** Records a planned kernel into `ctx.encoder`. */
export function encodeKernel(k: PlannedKernel, ctx: Omit<EncodeContext<unknown, unknown>, 'plan' | 'regions'>): void {
  if (k.kernel === 'decode') decode.encode({ ...ctx, plan: k.plan, regions: k.regions });
  else prefill.encode({ ...ctx, plan: k.plan, regions: k.regions });
}
