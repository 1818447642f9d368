// Stand-ins for the KV source (shaders/common/kv_source.wgsl) when the decode kernel reads plain
// dense / tensor-list float K/V itself: no prefix, every column present, KV_SRC false.
const KV_SRC: bool = false;
const KVS_K_OFFSET: bool = false;
const KVS_V_OFFSET: bool = false;
struct KvRow { base: u32 }
fn kvsPrefixLen() -> u32 { return 0u; }
fn kvPresent(b: u32, c: u32) -> bool { return true; }
fn kvRow(b: u32, h: u32, c: u32, kvStart: u32) -> KvRow { return KvRow(0u); }
fn loadKeyAt(r: KvRow, d: u32) -> f32 { return 0.0; }
fn loadValueAt(r: KvRow, d: u32) -> f32 { return 0.0; }
fn kvRawK(r: KvRow, d: u32) -> f32 { return 0.0; }
fn kvRawV(r: KvRow, d: u32) -> f32 { return 0.0; }
fn kvVChannelParam(h: u32, base: u32, d: u32) -> f32 { return 0.0; }
fn kvKChannelParam(h: u32, base: u32, d: u32) -> f32 { return 0.0; }
fn kvKTokenParam(r: KvRow, base: u32) -> f32 { return 0.0; }
fn kvVTokenParam(r: KvRow, base: u32) -> f32 { return 0.0; }
