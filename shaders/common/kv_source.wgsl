// The KV source (src/kernels/kvSource.ts): (batch b, KV head h, logical column c, dim d) → the
// dequantized f32 K or V element, for every K/V storage (SEMANTICS §6-8).
//
// Needs, declared by the kernel: `kBuf`, `vBuf` (K/V storage, u32-packed), `aux: array<u32>` (the
// workspace meta region holding the copies kvSource.ts places there) and the uniform `u` with the
// `kvs*` fields of kvSourceUniformFields. Everything below is specialized by `const`s, so a dense
// float problem compiles down to one strided load per element.
//
// Logical columns: c < P is prefix row c (aux copy of keySharedPrefix/valueSharedPrefix), else KV
// position j = c - P at physical row kvStart + j (dense / list) or, paged, block
// blockTable[b][j / blockSize] slot j % blockSize. A block id outside [0, numBlocks), or a table
// entry past maxBlocksPerSeq, makes the column absent: kvPresent false, loads return 0, nothing is
// read outside the cache.
//
// Dequant: x = (q + offset) · scale, parameter element base + qb·batch + h·head + qt·token + d·dim
// (ParamIndex in src/problem/problem.ts) with (qb, qt) = (b, kvStart + c) [the physical row of the
// scale row, prefix first], or (block id, slot) for the paged per-token modes 4 and 5.

const KVS_PAGED: bool = {{PAGED}};
const KVS_PREFIX: bool = {{PREFIX}};
const KVS_K_DEQ: bool = {{K_DEQ}};
const KVS_K_PAGED_TOKEN: bool = {{K_PAGED_TOKEN}};
const KVS_K_OFFSET: bool = {{K_OFFSET}};
const KVS_V_DEQ: bool = {{V_DEQ}};
const KVS_V_PAGED_TOKEN: bool = {{V_PAGED_TOKEN}};
const KVS_V_OFFSET: bool = {{V_OFFSET}};

// Element loaders: kvsRawK/kvsRawV over kBuf/vBuf, kvsRawPrefix over aux (KV dtype, element
// units; INT4 counts nibbles), kvsKParam/kvsVParam over aux (scale/offset dtype).
{{LOADERS}}

// Where column c of (b, h) lives. `base`: element index of d = 0, relative to the K/V tensor's
// first element (kvsKOffset/kvsVOffset added on load) or, inPrefix, relative to the prefix copy.
struct KvRow {
  base: u32,
  h: u32,
  present: bool,
  inPrefix: bool,
  // Dequant position: batch and physical row (non-paged per-token modes) ...
  qb: u32,
  qt: u32,
  // ... or block id and slot (paged per-token modes 4, 5).
  block: u32,
  slot: u32,
}

// The block id of KV position j of batch b, or -1 past the table row.
fn kvsBlockId(b: u32, j: u32) -> i32 {
  let entry = j / u.kvsBlockSize;
  if (entry >= u.kvsMaxBlocks) { return -1; }
  return bitcast<i32>(aux[u.kvsBtBase + b * u.kvsBtRowStride + entry]);
}

fn kvsValidBlock(id: i32) -> bool {
  return id >= 0 && u32(id) < u.kvsNumBlocks;
}

fn kvsPrefixLen() -> u32 {
  return select(0u, u.kvsPrefixLen, KVS_PREFIX);
}

// Column c of batch b can be read (paged: its block id is inside the cache). Columns past
// P + Skv_b are the kernel's business (its kept rule), not this predicate's.
fn kvPresent(b: u32, c: u32) -> bool {
  if (!KVS_PAGED) { return true; }
  let P = kvsPrefixLen();
  if (c < P) { return true; }
  return kvsValidBlock(kvsBlockId(b, c - P));
}

// Resolve column c once; loadKeyAt/loadValueAt then read any d of it.
fn kvRow(b: u32, h: u32, c: u32, kvStart: u32) -> KvRow {
  var r: KvRow;
  r.h = h;
  r.present = true;
  r.inPrefix = false;
  r.qb = b;
  r.qt = kvStart + c;
  r.block = 0u;
  r.slot = 0u;
  let P = kvsPrefixLen();
  if (KVS_PREFIX && c < P) {
    r.inPrefix = true;
    r.base = h * u.kvsPHeadStride + c * u.kvsPSeqStride;
    return r;
  }
  let j = c - P;
  if (KVS_PAGED) {
    let id = kvsBlockId(b, j);
    r.present = kvsValidBlock(id);
    r.block = select(0u, u32(id), r.present);
    r.slot = j % u.kvsBlockSize;
    // Strides: block, head, slot (both cache layouts).
    r.base = r.block * u.kvsBatchStride + h * u.kvsHeadStride + r.slot * u.kvsSeqStride;
    return r;
  }
  r.base = b * u.kvsBatchStride + h * u.kvsHeadStride + (kvStart + j) * u.kvsSeqStride;
  return r;
}

fn kvsDeqK(r: KvRow, d: u32, x: f32) -> f32 {
  if (!KVS_K_DEQ) { return x; }
  let qb = select(r.qb, r.block, KVS_K_PAGED_TOKEN);
  let qt = select(r.qt, r.slot, KVS_K_PAGED_TOKEN);
  let i = qb * u.kvsKqBatch + r.h * u.kvsKqHead + qt * u.kvsKqToken + d * u.kvsKqDim;
  var off = 0.0;
  if (KVS_K_OFFSET) { off = kvsKParam(u.kvsKoBase + i); }
  return (x + off) * kvsKParam(u.kvsKsBase + i);
}

fn kvsDeqV(r: KvRow, d: u32, x: f32) -> f32 {
  if (!KVS_V_DEQ) { return x; }
  let qb = select(r.qb, r.block, KVS_V_PAGED_TOKEN);
  let qt = select(r.qt, r.slot, KVS_V_PAGED_TOKEN);
  let i = qb * u.kvsVqBatch + r.h * u.kvsVqHead + qt * u.kvsVqToken + d * u.kvsVqDim;
  var off = 0.0;
  if (KVS_V_OFFSET) { off = kvsVParam(u.kvsVoBase + i); }
  return (x + off) * kvsVParam(u.kvsVsBase + i);
}

fn loadKeyAt(r: KvRow, d: u32) -> f32 {
  if (KVS_PAGED && !r.present) { return 0.0; }
  var x: f32;
  if (KVS_PREFIX && r.inPrefix) { x = kvsRawPrefix(u.kvsPkBase + r.base + d); }
  else { x = kvsRawK(u.kvsKOffset + r.base + d); }
  return kvsDeqK(r, d, x);
}

fn loadValueAt(r: KvRow, d: u32) -> f32 {
  if (KVS_PAGED && !r.present) { return 0.0; }
  var x: f32;
  if (KVS_PREFIX && r.inPrefix) { x = kvsRawPrefix(u.kvsPvBase + r.base + d); }
  else { x = kvsRawV(u.kvsVOffset + r.base + d); }
  return kvsDeqV(r, d, x);
}

fn loadKey(b: u32, h: u32, c: u32, kvStart: u32, d: u32) -> f32 {
  return loadKeyAt(kvRow(b, h, c, kvStart), d);
}

fn loadValue(b: u32, h: u32, c: u32, kvStart: u32, d: u32) -> f32 {
  return loadValueAt(kvRow(b, h, c, kvStart), d);
}
