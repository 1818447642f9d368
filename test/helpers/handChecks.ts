// Small helpers for the hand-computed reference tests.
import { expect } from 'vitest';

export const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);
export const LN2 = Math.log(2);
export const LN3 = Math.log(3);
export const LN4 = Math.log(4);

/** Element-wise toBeCloseTo (`digits` decimals); an expected +Inf must be exactly +Inf. */
export function expectClose(actual: ArrayLike<number>, expected: number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] === Infinity) expect(actual[i], `[${i}]`).toBe(Infinity);
    else expect(actual[i], `[${i}]`).toBeCloseTo(expected[i]!, digits);
  }
}
