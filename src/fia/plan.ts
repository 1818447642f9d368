// Planning: which kernel family computes a Problem, its plan for the device's caps, and the
// workspace layout. The same layout call sizes the workspace (GetWorkspaceSize) and places the
// regions the executor binds, so the two agree by construction (STYLE §4).
import { AclnnError, ACLNN_ERR_INNER_NOT_SUPPORTED } from '../acl/status.js';
import type { DeviceCaps } from '../kernels/caps.js';
import { type DecodePlan, type DecodeRegions, decodeUnsupported, layoutDecodeWorkspace, planDecode } from '../kernels/decode.js';
import {
  layoutPrefillWorkspace, type PrefillPlan, type PrefillRegions, planPrefill, prefillUnsupported,
} from '../kernels/prefill.js';
import { WorkspaceAllocator } from '../kernels/workspace.js';
import type { FiaInputs, Problem } from './problem.js';

/** A kernel family's plan and its placement in the caller's workspace (`workspaceBytes` in all). */
export type FiaPlan =
  | { kernel: 'prefill'; plan: PrefillPlan; regions: PrefillRegions; workspaceBytes: number }
  | { kernel: 'decode'; plan: DecodePlan; regions: DecodeRegions; workspaceBytes: number };

/** The kernel family for a problem: decode when Q_S == 1 (the IncreFlashAttention branch), else prefill. */
export function kernelFor(problem: Problem): FiaPlan['kernel'] {
  return problem.isDecode ? 'decode' : 'prefill';
}

/** null when the chosen kernel computes `problem` exactly on a device with `caps`; else what it lacks. */
export function unsupportedReason(problem: Problem, caps?: DeviceCaps): string | null {
  return kernelFor(problem) === 'decode' ? decodeUnsupported(problem) : prefillUnsupported(problem, caps);
}

/**
 * Plans `problem` for a device with `caps` (`inputs`: the operator inputs, which the kernel layouts
 * need for the KV source's copies: paged KV, shared prefix, antiquant). Throws AclnnError 561101 (ACLNN_ERR_INNER_NOT_SUPPORTED)
 * when the kernel family does not cover the problem's features yet.
 */
export function planFia(problem: Problem, caps: DeviceCaps, inputs?: FiaInputs): FiaPlan {
  const reason = unsupportedReason(problem, caps);
  if (reason !== null) {
    throw new AclnnError(ACLNN_ERR_INNER_NOT_SUPPORTED, `not supported on the WebGPU path yet: ${reason}`);
  }
  const ws = new WorkspaceAllocator();
  if (problem.isDecode) {
    const plan = planDecode(problem, caps);
    const regions = layoutDecodeWorkspace(problem, plan, ws, inputs);
    return { kernel: 'decode', plan, regions, workspaceBytes: ws.bytes };
  }
  const plan = planPrefill(problem, caps);
  const regions = layoutPrefillWorkspace(problem, plan, ws, inputs);
  return { kernel: 'prefill', plan, regions, workspaceBytes: ws.bytes };
}
