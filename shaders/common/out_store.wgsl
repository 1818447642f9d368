// Stores into an output bound as `outBuf: array<atomic<u32>>`, element by element: a store never
// changes a bit outside the elements it writes, so outputs that share a u32 word with other data
// (a FLOAT16/BFLOAT16 tensor with an odd offset or element count, an INT8 one not covering whole
// words) or with another invocation's elements are merged, not overwritten. A word whose elements
// all belong to one store is written whole (atomicStore); an edge word is merged with atomicAnd
// then atomicOr on the store's own bits only, which commutes with the other writers' merges.
// OUT_EPW elements of OUT_EBITS bits per word, lowest element in the lowest bits.
const OUT_EPW: u32 = {{EPW}}u;
const OUT_EBITS: u32 = {{EBITS}}u;
const OUT_EMASK: u32 = {{EMASK}}u;

// Word w gets `bits` under `mask`; its other bits are left as they are.
fn outMerge(w: u32, mask: u32, bits: u32) {
  if (mask == 0xffffffffu) {
    atomicStore(&outBuf[w], bits);
  } else if (mask != 0u) {
    atomicAnd(&outBuf[w], ~mask);
    atomicOr(&outBuf[w], bits & mask);
  }
}

// Elements [i, i + n) of outBuf (absolute element indices, n ≤ 4); element i + j's bits in v[j].
// One merge per word the run touches, through a single outMerge site: CPU compilers emit per-lane
// code for every atomic site (lavapipe compiled the combine pass in 0.18 s with two sites, 0.12 s
// with one).
fn outStoreRun(i: u32, n: u32, v: vec4<u32>) {
  if (n == 0u) { return; }
  for (var w = i / OUT_EPW; w <= (i + n - 1u) / OUT_EPW; w++) {
    var mask = 0u;
    var bits = 0u;
    for (var j = 0u; j < 4u; j++) {
      let e = i + j;
      if (j < n && e / OUT_EPW == w) {
        let sh = (e % OUT_EPW) * OUT_EBITS;
        mask |= OUT_EMASK << sh;
        bits |= (v[j] & OUT_EMASK) << sh;
      }
    }
    outMerge(w, mask, bits);
  }
}
