// INT8 attentionOut (SEMANTICS §9): out8 = sat[-128,127](rint(o·quantScale2[c] + quantOffset2[c])),
// round() being ties-to-even; c = n·D + d per-channel (u.quantPerChannel = 1), else 0.
// Needs from the including shader: loadQs2(i) -> f32, quantOffset2(c) -> f32 (0 without an offset),
// uniforms u.quantPerChannel and u.qs2Offset (element offset of quantScale2 in its buffer).
// Returns the int8 in the low byte (two's complement), to be shifted into its lane of a u32 word.
fn quant8(x: f32, ch: u32) -> u32 {
  let c = u.quantPerChannel * ch;
  let t = x * loadQs2(u.qs2Offset + c) + quantOffset2(c);
  // NaN saturates to 0 (tested on the bits: compilers may fold NaN compares).
  let y = select(clamp(round(t), -128.0, 127.0), 0.0, (bitcast<u32>(t) & 0x7fffffffu) > 0x7f800000u);
  return u32(i32(y)) & 0xffu;
}
