// Low-precision emulation for test tolerances (STYLE §8, FlashAttention's `upcast=False` reference).
import type { DataType } from '../acl/dtype.js';
import { roundToBf16, roundToF16 } from '../codec/float.js';

/** x ↦ x rounded to a storage dtype (ties to even); identity when no dtype is given. */
export type Rounder = (x: number) => number;

export const exact: Rounder = (x) => x;

/** The rounding of `dtype` (FLOAT16, BFLOAT16, FLOAT32), or the identity for undefined. */
export function rounderFor(dtype: DataType | undefined): Rounder {
  switch (dtype) {
    case undefined: return exact;
    case 'FLOAT16': return roundToF16;
    case 'BFLOAT16': return roundToBf16;
    case 'FLOAT32': return Math.fround;
    default: throw new RangeError(`roundTo=${dtype}: the emulation rounds to FLOAT16, BFLOAT16 or FLOAT32 only`);
  }
}
