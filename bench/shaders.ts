// The benchmark's own WGSL (shaders/bench/: the naive baseline and the roofline probes), embedded in
// bench/wgsl.generated.ts by scripts/embed-shaders.mjs, apart from the library's kernels.
import { BENCH_WGSL_SOURCES } from './wgsl.generated.js';

/** The text of shaders/<path> for a path under bench/. */
export function benchWgsl(path: string): string {
  const src = BENCH_WGSL_SOURCES[path];
  if (src === undefined) throw new Error(`shader not found: shaders/${path}`);
  return src;
}
