// webgpu-fia: aclnnFusedInferAttentionScoreV2 on WebGPU. The CANN host surface (src/acl), the
// operator's two-phase API and named-options wrapper (src/fia).
export * from './acl/index.js';
export * from './fia/index.js';
