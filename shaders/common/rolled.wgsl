// n as a trip count the compiler cannot see through (u.rolled is 0 at run time; needs a uniform
// block `u` with a u32 field `rolled`). CPU compilers (llvmpipe) unroll loops with a constant trip
// count, and every per-invocation memory access in an unrolled body becomes per-lane code: loops
// around such accesses that run rarely, or whose body is large, run rolled(n) trips.
fn rolled(n: u32) -> u32 { return n + u.rolled; }
