// The runners a benchmark run can measure. "ours" is the operator (bench/ours.ts); "naive" the
// three-pass baseline (bench/naive.ts). Device-free: the CLI and the page share this list.
import type { Runner } from './core.js';
import { naiveRunner } from './naive.js';
import { oursRunner } from './ours.js';

export const RUNNERS: readonly Runner[] = [oursRunner, naiveRunner];

/** Runners named in a comma list ('all' or empty = every runner); unknown names are an error. */
export function selectRunners(list: string | undefined): Runner[] {
  const names = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0 || names.includes('all')) return [...RUNNERS];
  return names.map((n) => {
    const r = RUNNERS.find((x) => x.id === n);
    if (!r) throw new Error(`--runners: unknown runner "${n}" (have: ${RUNNERS.map((x) => x.id).join(', ')})`);
    return r;
  });
}
