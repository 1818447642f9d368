// The cooperative prefill body's softmax step without subgroups (prefill_coop.wgsl): invocation t
// takes slots t, t + WORKGROUP_SIZE, ... and walks each slot's columns alone (slotSoftmax).

struct CoopInvocation {
  @builtin(local_invocation_index) lid: u32,
}

// Teams that share out the slots: every invocation is one.
fn softmaxTeams(inv: CoopInvocation) -> u32 { return WORKGROUP_SIZE; }

fn softmaxStep(inv: CoopInvocation, teams: u32, span: Span, c0: i32, present: u32, p8: bool) {
  for (var slot = inv.lid; slot < SLOT_ROWS; slot += teams) { slotSoftmax(slot, slotKeep(slot, span, c0, present), p8); }
}
