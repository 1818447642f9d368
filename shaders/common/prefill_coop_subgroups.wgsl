// The cooperative prefill body's softmax step with subgroups (prefill_coop.wgsl): each subgroup
// takes whole slots, its lanes the slot's columns (lane, lane + width, ...), and merges the lanes'
// max, sum and classes with subgroupMax / subgroupAdd / subgroupOr. Correct for any subgroup size
// (the width is the builtin's) and any placement of invocations in subgroups: each subgroup draws
// its index from a workgroup counter, and slots go round-robin over the drawn indices.

struct CoopInvocation {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) width: u32,
}

// This invocation's subgroup: its drawn index in [0, teams).
var<private> team: u32;

// Teams that share out the slots: the workgroup's subgroups, each drawing its index (called once,
// by every invocation, in uniform control flow; the count is workgroup-uniform).
fn softmaxTeams(inv: CoopInvocation) -> u32 {
  var drawn = 0u;
  let first = subgroupElect();
  if (first) { drawn = atomicAdd(&wgTeamCount, 1u); }
  team = subgroupBroadcastFirst(drawn);
  workgroupBarrier();
  if (inv.lid == 0u) { wgTeams = atomicLoad(&wgTeamCount); }
  return workgroupUniformLoad(&wgTeams);
}

// Slots r0 + team for r0 = 0, teams, ...: the loop is uniform, so a subgroup whose slot is past
// SLOT_ROWS runs it on the last slot (its reductions must run) and stores nothing.
fn softmaxStep(inv: CoopInvocation, teams: u32, span: Span, c0: i32, present: u32, p8: bool) {
  for (var r0 = 0u; r0 < SLOT_ROWS; r0 += teams) {
    let live = r0 + team < SLOT_ROWS;
    let slot = min(r0 + team, SLOT_ROWS - 1u);
    let keep = slotKeep(slot, span, c0, present);
    let s0 = slot * BLOCK_KV;
    var cls = 0u;
    var tileMax = NEG_MAX;
    for (var col = inv.lane; col < BLOCK_KV; col += inv.width) {
      let raw = sTile[s0 + col];
      let kept = keptCol(keep, col);
      cls |= select(0u, scoreClass(raw), kept);
      tileMax = max(tileMax, select(NEG_MAX, softmaxScore(raw), kept));
    }
    let st = raiseMax(rowM[slot], subgroupMax(tileMax), p8);
    var sum = 0.0;
    for (var col = inv.lane; col < BLOCK_KV; col += inv.width) {
      let p = select(0.0, weight(softmaxScore(sTile[s0 + col]), st.m, p8), keptCol(keep, col));
      if (live) { sTile[s0 + col] = p; }
      sum += p;
    }
    let total = subgroupAdd(sum);
    let classes = subgroupOr(cls);
    let first = subgroupElect();
    if (live && first) {
      rowL[slot] = select(rowL[slot] * st.alpha + total, rowL[slot], p8);
      rowM[slot] = st.m;
      rowCls[slot] |= classes;
      rowAlpha[slot] = st.alpha;
      rowKept[slot] = keep;
    }
  }
}
