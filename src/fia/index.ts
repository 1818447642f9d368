// The operator layer: the public API, plus the pieces tests and the benchmark reach for.
export {
  aclnnFusedInferAttentionScoreV2, aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fiaGetWorkspaceSize,
  fusedInferAttentionScore, inputsFromOptions, FiaExecutor,
  type FusedInferAttentionScoreOptions, type FusedInferAttentionScoreResult, type GetWorkspaceSizeResult,
} from './api.js';
export { readHostInputs } from './hostInputs.js';
export { normalize } from './normalize.js';
export { type FiaPlan, kernelFor, planFia, unsupportedReason } from './plan.js';
export { isEmptyOutput, validate } from './validate.js';
export { WORKSPACE_USAGE } from './executor.js';
export type {
  FiaExtensions, FiaInputs, HostInputs, Layout, Problem, ReferenceResult, StorageLayout,
} from '../problem/problem.js';
