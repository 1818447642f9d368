// Tolerances for kernel tests (STYLE §8): error ≤ max(floor, factor × the error the storage dtype
// itself causes), measured as |refLow - ref| with refLow = attentionReference(…, { roundTo }).
import type { DataType } from '../codec/dtype.js';

/**
 * A default absolute floor per output dtype, for outputs of magnitude ≲ 1 (inputs in [-1, 1]):
 * about 4 ulp at 1 for the float types (FLOAT32 2^-21, FLOAT16 2^-9, BFLOAT16 2^-6) and ±1 for INT8
 * (§9: hardware rounding differs by kernel). Kernel tests may pass their own.
 */
export function toleranceFloor(dtype: DataType): number {
  switch (dtype) {
    case 'FLOAT32': return 2 ** -21;
    case 'FLOAT16': return 2 ** -9;
    case 'BFLOAT16': return 2 ** -6;
    case 'INT8': return 1;
    default: throw new RangeError(`toleranceFloor(${dtype}): only output dtypes FLOAT32, FLOAT16, BFLOAT16, INT8 have a floor`);
  }
}

/** |a - b| with equal infinities and NaN-vs-NaN counting as 0, any other non-finite mismatch as +Inf. */
export function elementError(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  return Math.abs(a - b);
}

/** max over i of elementError(a[i], b[i]), with the index where it occurs (-1 for empty arrays). */
export function maxError(a: ArrayLike<number>, b: ArrayLike<number>): { error: number; index: number } {
  let error = 0;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const e = elementError(a[i]!, b[i]!);
    if (index < 0 || e > error) { error = e; index = i; }
  }
  return { error, index };
}

/** max(floor, factor · max|refLow - ref|); refLow null → floor. */
export function toleranceFor(ref: ArrayLike<number>, refLow: ArrayLike<number> | null, floor: number, factor = 2): number {
  if (!refLow) return floor;
  return Math.max(floor, factor * maxError(refLow, ref).error);
}

export interface Comparison {
  ok: boolean;
  /** max |actual - ref| and the tolerance it was held to. */
  maxError: number;
  tolerance: number;
  /** The worst element (index -1 when the arrays are empty). */
  worst: { index: number; actual: number; expected: number; lowPrecision: number | null };
  /** One line for the failure message, e.g. `max err 3.1e-3 at [17] (actual 0.5, ref 0.4969, refLow 0.4971) > tol 2.0e-3 (floor 1e-3)`. */
  message: string;
}

/**
 * compareOutputs: actual (the kernel's output, decoded) vs. ref (exact float64 reference) with
 * tolerance toleranceFor(ref, refLow, floor, factor). Lengths must match.
 */
export function compareOutputs(
  actual: ArrayLike<number>, ref: ArrayLike<number>, refLow: ArrayLike<number> | null, floor: number, factor = 2,
): Comparison {
  if (actual.length !== ref.length) {
    const worst = { index: -1, actual: NaN, expected: NaN, lowPrecision: null };
    return { ok: false, maxError: Infinity, tolerance: floor, worst, message: `length mismatch: actual ${actual.length}, ref ${ref.length}` };
  }
  const tolerance = toleranceFor(ref, refLow, floor, factor);
  const { error, index } = maxError(actual, ref);
  const worst = {
    index,
    actual: index >= 0 ? actual[index]! : NaN,
    expected: index >= 0 ? ref[index]! : NaN,
    lowPrecision: refLow && index >= 0 ? refLow[index]! : null,
  };
  const ok = error <= tolerance;
  const low = worst.lowPrecision === null ? '' : `, refLow ${worst.lowPrecision}`;
  const message = `max err ${error.toExponential(2)} at [${index}] (actual ${worst.actual}, ref ${worst.expected}${low}) `
    + `${ok ? '<=' : '>'} tol ${tolerance.toExponential(2)} (floor ${floor}, ${factor}x storage-dtype error)`;
  return { ok, maxError: error, tolerance, worst, message };
}
