// webgpu-fia: aclnnFusedInferAttentionScoreV2 on WebGPU. The CANN host surface (src/acl), the
// operator's two-phase API and named-options wrapper (src/fia), and mergeAttentionStates for
// combining partial results by their log-sum-exp (SEMANTICS §11).
export * from './acl/index.js';
export * from './fia/index.js';
export { mergeAttentionStates, type MergeOptions } from './kernels/merge.js';
