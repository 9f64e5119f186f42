/**
 * Serialises a {@link Graph} to ONNX ModelProto bytes (opset 18) with the onnx-proto encoder,
 * so a model opens as an InferenceSession without touching disk.
 * @module
 */
import onnxProto from "onnx-proto";
import type { Attr, Graph, Value } from "./builder.ts";
import { ONNX_ELEM_TYPE } from "./types.ts";

const { onnx } = onnxProto;

/**
 * The single ONNX opset every graph targets.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import onnxProto from "onnx-proto";
 * import { Graph } from "./builder.ts";
 * import { exp } from "./ops.ts";
 * import { OPSET, toOnnx } from "./serialize.ts";
 * const g = new Graph();
 * g.output(exp(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const model = onnxProto.onnx.ModelProto.decode(toOnnx(g));
 * assert.equal(OPSET, 18);
 * assert.equal(Number(model.opsetImport[0].version), OPSET);
 * ```
 */
export const OPSET = 18;
/**
 * IR version 8 is the first that covers opset 18.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import onnxProto from "onnx-proto";
 * import { Graph } from "./builder.ts";
 * import { exp } from "./ops.ts";
 * import { IR_VERSION, toOnnx } from "./serialize.ts";
 * const g = new Graph();
 * g.output(exp(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const model = onnxProto.onnx.ModelProto.decode(toOnnx(g));
 * assert.equal(Number(model.irVersion), IR_VERSION);
 * ```
 */
export const IR_VERSION = 8;

function valueInfo(v: Value) {
  return {
    name: v.graph.serialName(v),
    type: {
      tensorType: {
        elemType: ONNX_ELEM_TYPE[v.dtype],
        shape: { dim: v.shape.map((d) => ({ dimValue: d })) },
      },
    },
  };
}

function attribute(name: string, a: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return { name, type: T.INT, i: a.value };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "ints":
      return { name, type: T.INTS, ints: [...a.value] };
    case "floats":
      return { name, type: T.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

/**
 * Encodes a graph as ONNX model bytes. Inputs, outputs, initializers and nodes keep their
 * build order, so the same build gives the same bytes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { exp } from "./ops.ts";
 * import { toOnnx } from "./serialize.ts";
 * const g = new Graph();
 * g.output(exp(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * assert.ok(toOnnx(g).length > 0);
 * ```
 */
export function toOnnx(graph: Graph): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "flowt2s",
    opsetImport: [{ domain: "", version: OPSET }],
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.map(({ value, data }) => ({
        name: value.name,
        dims: [...value.shape],
        dataType: ONNX_ELEM_TYPE[value.dtype],
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      })),
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: n.inputs.map((v) => (v ? graph.serialName(v) : "")),
        output: n.outputs.map((v) => graph.serialName(v)),
        attribute: Object.entries(n.attrs).map(([k, a]) => attribute(k, a)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
