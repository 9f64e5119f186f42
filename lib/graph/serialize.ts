/**
 * Serialises a {@link Graph} to ONNX ModelProto bytes (opset 18) with the onnx-proto encoder,
 * so a model opens as an InferenceSession without touching disk, or to a model folder whose
 * large initializers live in an external data file (protobuf caps a message at 2 GiB).
 * @module
 */
import type { TaskEither } from "../result.ts";
// deno-lint-ignore no-import-prefix -- explicit, so mod.ts loads without this repository's deno.json (tests/library_test.ts)
import onnxProto from "npm:onnx-proto@8.0.1";
import { either as E } from "../deps/fp_ts.ts";
import type { Attr, Graph, Initializer, Value } from "./builder.ts";
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

/** Where an external initializer's bytes lie in the data file. */
interface Placement {
  readonly offset: number;
  readonly length: number;
}

const bytesOf = (data: Initializer["data"]) =>
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function tensor(
  { value, data }: Initializer,
  placement: Placement | undefined,
) {
  const head = { name: value.name, dims: [...value.shape], dataType: ONNX_ELEM_TYPE[value.dtype] };
  if (!placement) return { ...head, rawData: bytesOf(data) };
  return {
    ...head,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: DATA_FILE },
      { key: "offset", value: String(placement.offset) },
      { key: "length", value: String(placement.length) },
    ],
  };
}

function encode(graph: Graph, external: ReadonlyMap<Initializer, Placement>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "flowt2s",
    opsetImport: [{ domain: "", version: OPSET }],
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.map((init) => tensor(init, external.get(init))),
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
  return encode(graph, new Map());
}

/**
 * Byte alignment of every tensor in an external data file: one page, so ONNX Runtime can map
 * a tensor straight from the file.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { EXTERNAL_DATA_ALIGNMENT } from "./serialize.ts";
 * assert.equal(EXTERNAL_DATA_ALIGNMENT % 64, 0); // enough for any SIMD load
 * ```
 */
export const EXTERNAL_DATA_ALIGNMENT = 4096;

/** Largest protobuf message: a model's inline part (graph and small tensors) must stay under. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
const MODEL_FILE = "model.onnx";
const DATA_FILE = "model.onnx.data";
/** Writes go out in slices of this size: huge single writes gain nothing. */
const WRITE_CHUNK = 64 * 2 ** 20;

/** How {@link writeOnnx} splits a graph between the model and its data file. */
export interface WriteOnnxOptions {
  /**
   * Initializers of at least this many bytes go to the data file; smaller ones stay inline in
   * model.onnx (default 1024, as onnx's own converter). Empty tensors always stay inline.
   */
  readonly externalThreshold?: number;
}

/** The files of a model folder written by {@link writeOnnx}. */
export interface OnnxFiles {
  /** Path of the model (graph and inline tensors); open it by path so ORT finds the data. */
  readonly model: string;
  /** Path of the external data file, next to the model (empty when no tensor qualified). */
  readonly data: string;
  /** How many initializers went to the data file. */
  readonly externalTensors: number;
  /** Size of the data file in bytes, alignment padding included. */
  readonly dataBytes: number;
}

/** Why a model folder could not be written; the message names the path at fault. */
export interface OnnxWriteError {
  /** Discriminant for telling OnnxWriteError apart from other errors. */
  readonly _tag: "OnnxWriteError";
  /** What went wrong, naming the file or folder. */
  readonly message: string;
}

const writeError = (message: string): OnnxWriteError => ({ _tag: "OnnxWriteError", message });
const messageOf = (e: unknown): string => e instanceof Error ? e.message : String(e);
const isDiskFull = (e: unknown) =>
  (e as { code?: string })?.code === "ENOSPC" || /os error 28\b|no space left/i.test(messageOf(e));

/** Assigns aligned offsets to the initializers that go external, in build order. */
function layout(graph: Graph, threshold: number) {
  const external = new Map<Initializer, Placement>();
  let end = 0, inline = 0;
  for (const init of graph.initializers) {
    const length = init.data.byteLength;
    if (length === 0 || length < threshold) {
      inline += length;
      continue;
    }
    const offset = Math.ceil(end / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT;
    external.set(init, { offset, length });
    end = offset + length;
  }
  return { external, dataBytes: end, inline };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await file.write(bytes.subarray(at, at + WRITE_CHUNK));
  }
}

/** Streams each external tensor from its own array to the file: no buffer holds them all. */
async function writeData(path: string, external: ReadonlyMap<Initializer, Placement>) {
  const zeros = new Uint8Array(EXTERNAL_DATA_ALIGNMENT);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  let end = 0;
  for (const [{ data }, { offset }] of external) {
    await writeAll(file, zeros.subarray(0, offset - end));
    await writeAll(file, bytesOf(data));
    end = offset + data.byteLength;
  }
}

/**
 * Writes a graph as a model folder: `dir/model.onnx` holds the graph and the small
 * initializers, `dir/model.onnx.data` every initializer of at least `externalThreshold` bytes
 * (TensorProto data_location EXTERNAL, offsets aligned to {@link EXTERNAL_DATA_ALIGNMENT}).
 * This is how a model over protobuf's 2 GiB limit is stored; open it by the model's path.
 * Creates `dir` if needed. Nothing runs until the task does.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { matmul } from "./ops.ts";
 * import { writeOnnx } from "./serialize.ts";
 * const g = new Graph();
 * const w = g.initializer("w", { data: new Float32Array(64 * 64).fill(1), shape: [64, 64] });
 * g.output(matmul(g.input("x", { dtype: "float32", shape: [1, 64] }), w), "y");
 * const dir = await Deno.makeTempDir();
 * const written = await writeOnnx(g, `${dir}/m`)();
 * if (written._tag === "Left") throw new Error(written.left.message);
 * const { model, data, externalTensors } = written.right;
 * assert.equal(externalTensors, 1);
 * assert.equal((await Deno.stat(data)).size, 64 * 64 * 4); // w's bytes, in the data file
 * assert.ok((await Deno.stat(model)).size < 1024); // the model holds only the graph
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeOnnx(
  graph: Graph,
  dir: string,
  options: WriteOnnxOptions = {},
): TaskEither<OnnxWriteError, OnnxFiles> {
  return async () => {
    const { external, dataBytes, inline } = layout(graph, options.externalThreshold ?? 1024);
    if (inline >= PROTOBUF_LIMIT) {
      return E.left(writeError(
        `cannot write graph '${graph.name}' to ${dir}: its inline initializers total ${inline} ` +
          `bytes, over protobuf's 2 GiB limit; lower externalThreshold`,
      ));
    }
    const model = `${dir}/${MODEL_FILE}`, data = `${dir}/${DATA_FILE}`;
    let at = dir;
    try {
      await Deno.mkdir(dir, { recursive: true });
      at = data;
      await writeData(data, external);
      at = model;
      await Deno.writeFile(model, encode(graph, external));
    } catch (e) {
      const full = isDiskFull(e)
        ? `: the disk is full (the data file alone needs ${dataBytes} bytes)`
        : "";
      return E.left(writeError(`cannot write ${at}: ${messageOf(e)}${full}`));
    }
    return E.right({ model, data, externalTensors: external.size, dataBytes });
  };
}
