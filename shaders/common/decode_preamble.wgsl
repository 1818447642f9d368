// What the three decode split-pass variants share (shaders/decode.wgsl 'tiles',
// common/decode_lanes.wgsl 'lanes', common/decode_quick.wgsl 'quick'), filled in by the host once
// for all of them (PREAMBLE): the uniforms, the 8 bindings, the element loaders, the KV source,
// the feature switches, the softmax rules, the output stores and the split pass's I/O helpers.

{{UNIFORMS}}

{{BINDINGS}}

{{AUX}}
{{PACK}}

{{LOADERS}}

// The KV source (shaders/common/kv_source.wgsl: paged, shared prefix, antiquant) when KV_SRC, else
// stubs; dense/list float K/V are read directly through the k*/v* strides.
{{KV_SOURCE}}

const LENS_SLOT: u32 = {{LENS_SLOT}}u;
const KV_PAD_SLOT: u32 = {{KV_PAD_SLOT}}u;
const HAS_MASK: bool = {{HAS_MASK}};
const HAS_PSE: bool = {{HAS_PSE}};
const HAS_SOFTCAP: bool = {{HAS_SOFTCAP}};
const HAS_SINK: bool = {{HAS_SINK}};
const DIRECT: bool = {{DIRECT}};
// Split mode: the states are partials of the KV splits (softmax_rules.wgsl).
const PARTIAL: bool = !DIRECT;
// Whole words ('tiles', 'quick'): K/V rows read as u32 words of KW elements (KW > 1, KW divides
// D), unpacked by kvWordElem: dense 16-bit K/V with dim stride 1 and even row bases, or K/V
// through the KV source whose rows all start on a word (paged / antiquant, no prefix:
// KvAccess.sourceWords), dequantized by the kernel with the parameters below. KW == 1: element
// reads (loadK / loadV, or the KV source's loadKeyAt / loadValueAt, which dequantize themselves).
// Only kept columns reach a score or acc, and a kept column's block is valid.
const KW: u32 = {{KW}}u;
const KV_WORDS: bool = KW > 1u;
// Antiquant through the KV source read by the kernel itself, per side: one (scale, offset) per
// column (per-token modes 1, 3, 4, 5) or per (KV head, dim) (modes 0, 2). Whether a side has
// offsets is the KV source's KVS_K_OFFSET / KVS_V_OFFSET (false in the stub).
const K_TOKEN: bool = {{K_TOKEN}};
const K_CHANNEL: bool = {{K_CHANNEL}};
const V_TOKEN: bool = {{V_TOKEN}};
const V_CHANNEL: bool = {{V_CHANNEL}};

{{SOFTMAX_RULES}}

fn outBits(x: f32) -> u32 {
  {{OUT_PACK}}
}
{{OUT_STORE}}

{{DECODE_IO}}

{{ROLLED}}
