// The shared cases (ids and seeded inputs from the repository's bench/cases.ts, built to dist/) and
// the helpers both peers use. Layout of makeInputs: q [B,N,Sq,D], k/v [B,KV_N,Skv,D] (BNSD).
import { writeFileSync } from 'node:fs';
import { CASES, makeInputs, maxAbsError, sdpaReference, tolerance } from '../../dist/bench/cases.js';

export const PEER_CASES = ['prefill_noncausal', 'prefill_causal', 'decode_gqa', 'decode_mha'];

export function pickCases(list) {
  return list.split(',').map((id) => {
    const c = CASES.find((x) => x.id === id);
    if (!c || !PEER_CASES.includes(id)) throw new Error(`--cases: ${id} is not one of ${PEER_CASES.join(', ')}`);
    return c;
  });
}

/** Inputs and the float64 reference of a case. */
export function caseData(c) {
  const x = makeInputs(c);
  return { ...x, ref: sdpaReference(c, x) };
}

/** [B,H,S,D] → [B,S,H·D] (BNSD to BSH). */
export function toBsh(a, B, H, S, D) {
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) {
    out[((b * S + s) * H + h) * D + d] = a[((b * H + h) * S + s) * D + d];
  }
  return out;
}

/** [B,S,H·D] → [B,H,S,D]. */
export function fromBsh(a, B, H, S, D) {
  const out = new Float64Array(a.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) {
    out[((b * H + h) * S + s) * D + d] = a[((b * S + s) * H + h) * D + d];
  }
  return out;
}

export function check(c, got, ref) {
  const maxAbsErr = maxAbsError(got, ref);
  return { maxAbsErr, ok: maxAbsErr <= tolerance(c, true) };
}

export function writeResults(file, peer, results) {
  const text = JSON.stringify({ peer, date: new Date().toISOString(), runtime: `node ${process.version}`, results }, null, 2);
  if (file) writeFileSync(file, text);
  else console.log(text);
}
