// Prefill K/V read directly (dense, tensor-list, paged float K/V): loadTileElem(s) for
// shaders/prefill.wgsl. Needs loadK/loadV (K/V dtype), loadBlockId (paged; a stub otherwise),
// the PAGED switch and the prefill uniforms.

fn loadK4(base: u32) -> vec4<f32> {
  let s = u.kStrideD;
  return vec4<f32>(loadK(base), loadK(base + s), loadK(base + 2u * s), loadK(base + 3u * s));
}
fn loadV4(base: u32) -> vec4<f32> {
  let s = u.vStrideD;
  return vec4<f32>(loadV(base), loadV(base + s), loadV(base + 2u * s), loadV(base + 3u * s));
}

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
fn loadTileElems(b: u32, h: u32, c: u32, kvStart: u32, d4: u32) -> TileElems {
  let rows = kvRowBases(b, h, c, kvStart);
  if (rows.z == 0u) { return TileElems(vec4<f32>(0.0), vec4<f32>(0.0), false); }
  return TileElems(loadK4(rows.x + 4u * d4 * u.kStrideD), loadV4(rows.y + 4u * d4 * u.vStrideD), true);
}
