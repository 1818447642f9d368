// The lane states' merge of the decode variants whose invocations keep their own online softmax
// states ('lanes': common/decode_lanes.wgsl, 'quick': common/decode_quick.wgsl). MERGE_LANES
// states j each publish, for every head g of the block, in wmem at j·RED (RED = 3·GB + GB·D):
// m_g at + g, l_g at + GB + g, f32(cls_g) at + 2·GB + g, a_g_d at + 3·GB + g·D + d. They are
// merged by their max (the §11 rule), and split 0 folds in the learnable sink (withSink).

// Merged output and lse bits of flat element e ∈ [0, GB·D) of the head block starting at query
// head n0.
struct Merged {
  o: f32,
  lseBits: u32,
}

fn mergeLanes(e: u32, n0: u32, split: u32) -> Merged {
  let g = e / D;
  var m = NEG_MAX;
  var cls = 0u;
  for (var j = 0u; j < rolled(MERGE_LANES); j++) {
    m = max(m, wmem[j * RED + g]);
    cls |= u32(wmem[j * RED + 2u * GB + g]);
  }
  var l = 0.0;
  var a = 0.0;
  for (var j = 0u; j < rolled(MERGE_LANES); j++) {
    // m_j, m are finite; a lane without kept columns has l_j = a_j = 0.
    let w = exp(wmem[j * RED + g] - m);
    l += w * wmem[j * RED + GB + g];
    a += w * wmem[j * RED + 3u * GB + e];
  }
  let st = withSink(n0 + g, split, m, l, cls);
  return Merged(finalOut(a * st.scale, st.l, st.cls), bitcast<u32>(finalLse(st.m, st.l, st.cls)));
}
