// TEMPORARY: stands in for the kernels' prefillPipelineSources / decodePipelineSources until they land.
import type { FiaInputs, Problem } from '../fia/problem.js';
import type { DecodePlan } from './decode.js';
import type { PipelineSource } from './shader.js';

export { prefillPipelineSources } from './prefill.js';

export function decodePipelineSources(_problem: Problem, _plan: DecodePlan, _inputs: FiaInputs): PipelineSource[] {
  return [];
}
