// Low-precision emulation for test tolerances (STYLE §8, FlashAttention's `upcast=False` reference).
import { DTYPES, type DataType } from '../codec/dtype.js';

/** x ↦ x rounded to a storage dtype (ties to even); identity when no dtype is given. */
export type Rounder = (x: number) => number;

export const exact: Rounder = (x) => x;

/** The rounding of `dtype` (FLOAT16, BFLOAT16, FLOAT32), or the identity for undefined. */
export function rounderFor(dtype: DataType | undefined): Rounder {
  if (dtype === undefined) return exact;
  const round = DTYPES[dtype].round;
  if (!round) throw new RangeError(`roundTo=${dtype}: the emulation rounds to FLOAT16, BFLOAT16 or FLOAT32 only`);
  return round;
}
