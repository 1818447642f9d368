// A single-node ONNX model, encoded by hand (the protobuf wire format of onnx.proto: ModelProto,
// GraphProto, NodeProto, AttributeProto, ValueInfoProto), so no protobuf package is needed.
const enc = new TextEncoder();

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => [...key(field, 0), ...varint(n)];
const bytes = (field, b) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field, s) => bytes(field, [...enc.encode(s)]);
const msg = (field, parts) => bytes(field, parts.flat());

const ELEM = { float32: 1, int32: 6 };

/** dims: numbers or names (symbolic). */
function valueInfo(field, name, type, dims) {
  const dim = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, ELEM[type]), msg(2, dim)])])]);
}

/**
 * op: { type, domain, attrs: {name: int} }, inputs/outputs: [{ name, type, dims }] ('' input names
 * skip an optional input).
 */
export function singleNodeModel(op, inputs, outputs, opset = 21) {
  const node = msg(1, [
    ...inputs.map((i) => str(1, i.name)), ...outputs.map((o) => str(2, o.name)), str(3, 'n0'), str(4, op.type),
    ...Object.entries(op.attrs ?? {}).map(([n, v]) => msg(5, [str(1, n), int(3, v), int(20, 2)])),
    ...(op.domain ? [str(7, op.domain)] : []),
  ]);
  const graph = msg(7, [node, str(2, 'g'),
    ...inputs.filter((i) => i.name).map((i) => valueInfo(11, i.name, i.type, i.dims)),
    ...outputs.map((o) => valueInfo(12, o.name, o.type, o.dims))]);
  const opsets = [msg(8, [str(1, ''), int(2, opset)]), msg(8, [str(1, 'com.microsoft'), int(2, 1)])];
  return new Uint8Array([...int(1, 8), ...opsets.flat(), ...graph]);
}
