// webgpu-fia/reference: the float64 CPU implementation of aclnnFusedInferAttentionScoreV2
// (SEMANTICS.md), usable on its own. One function per concept; see each file's docstrings.
export { attentionReference, splitKvReference, type ReferenceOptions } from './attention.js';
export { gatherKv, loadQueryRow, type GatheredKv } from './gather.js';
export { batchWindow, padCount, type BatchWindow } from './lengths.js';
export { anchorOffset, bandKeeps, keptColumns, maskKeeps, pseValue, windowKeeps } from './mask.js';
export {
  denseAttentionRow, emptyRow, int8AttentionRow, mergeStatesReference, splitKvPartials, type RowState,
} from './softmax.js';
export { dequant, maskedDeqScale, paramIndex, quantizeOutput, type DequantAt } from './quant.js';
export { elementIndex, shapeOf, type Dims } from './layout.js';
export { exact, rounderFor, type Rounder } from './emulate.js';
export { compareOutputs, elementError, maxError, toleranceFloor, toleranceFor, type Comparison } from './compare.js';
export type { HostInputs, Problem, ReferenceResult } from '../problem/problem.js';
export { mulberry32 } from './random.js';
