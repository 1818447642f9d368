// Prefill K/V read directly (dense, tensor-list, paged float K/V): loadTileElem for
// shaders/prefill.wgsl. Needs loadK/loadV (K/V dtype), loadBlockId (paged; a stub otherwise),
// the PAGED switch and the prefill uniforms.

// Element index of (d = 0) of logical KV column c in K (x) and V (y), and whether the column
// exists (z). Dense / list: physical row kvStart + c. Paged (SEMANTICS §6): block
// blockTable[b][c / blockSize], slot c % blockSize, with the cache's block stride in kStrideB; an
// id outside [0, numBlocks) is never dereferenced and its column is absent.
fn kvRowBases(b: u32, h: u32, c: u32, kvStart: u32) -> vec3<u32> {
  if (PAGED) {
    let block = loadBlockId(u.btOffset + b * u.btStrideB + (c / u.blockSize) * u.btStrideE);
    if (block < 0i || u32(block) >= u.numBlocks) { return vec3<u32>(0u); }
    let slot = c % u.blockSize;
    return vec3<u32>(u.kOffset + u32(block) * u.kStrideB + h * u.kStrideN + slot * u.kStrideS,
                     u.vOffset + u32(block) * u.vStrideB + h * u.vStrideN + slot * u.vStrideS, 1u);
  }
  let phys = kvStart + c;
  return vec3<u32>(u.kOffset + b * u.kStrideB + h * u.kStrideN + phys * u.kStrideS,
                   u.vOffset + b * u.vStrideB + h * u.vStrideN + phys * u.vStrideS, 1u);
}

fn loadTileElem(b: u32, h: u32, c: u32, kvStart: u32, d: u32) -> TileElem {
  let rows = kvRowBases(b, h, c, kvStart);
  if (rows.z == 0u) { return TileElem(0.0, 0.0, false); }
  return TileElem(loadK(rows.x + d * u.kStrideD), loadV(rows.y + d * u.vStrideD), true);
}
