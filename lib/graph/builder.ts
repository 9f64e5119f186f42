/**
 * The typed graph builder. A {@link Graph} records ONNX nodes in the order they are built
 * (which is a topological order); values carry dtype and static shape so that every op can
 * check its inputs and compute its output shape at build time.
 * @module
 */
import { GraphError } from "./errors.ts";
import {
  allocate,
  type DType,
  dtypeOfArray,
  type Shape,
  showShape,
  sizeOf,
  type TensorData,
} from "./types.ts";

/** A typed ONNX attribute. Explicit kinds because ONNX tells ints from floats. */
export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "string"; readonly value: string };

/**
 * Attribute constructors: `attr.int(1)`, `attr.ints([0, 2, 1])`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { attr } from "./builder.ts";
 * assert.deepEqual(attr.ints([0, 2, 1]), { kind: "ints", value: [0, 2, 1] });
 * assert.deepEqual(attr.float(1), { kind: "float", value: 1 }); // not an int, though 1 is integral
 * ```
 */
export const attr = {
  int: (value: number): Attr => ({ kind: "int", value }),
  float: (value: number): Attr => ({ kind: "float", value }),
  ints: (value: readonly number[]): Attr => ({ kind: "ints", value }),
  floats: (value: readonly number[]): Attr => ({ kind: "floats", value }),
  string: (value: string): Attr => ({ kind: "string", value }),
} as const;

/** A symbolic tensor in a graph: a name with a dtype and a static shape. */
export interface Value {
  /** Unique name within its graph (see {@link Graph.serialName} for the serialised name). */
  readonly name: string;
  /** Element type. */
  readonly dtype: DType;
  /** Static shape. */
  readonly shape: Shape;
  /** The graph that built this value. */
  readonly graph: Graph;
}

/** One ONNX node. Optional inputs that are absent are `undefined`. */
export interface Node {
  /** ONNX op type, e.g. "MatMul". */
  readonly op: string;
  /** Unique node name. */
  readonly name: string;
  /** Inputs in ONNX order; `undefined` marks an absent optional input. */
  readonly inputs: readonly (Value | undefined)[];
  /** Output values in ONNX order. */
  readonly outputs: readonly Value[];
  /** ONNX attributes by name. */
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** A frozen tensor stored inside the model (weights that never change, constants). */
export interface Initializer {
  /** The value that names the tensor in the graph. */
  readonly value: Value;
  /** Its contents, laid out row-major. */
  readonly data: TensorData;
}

/** Output type of a node, as computed by the op that builds it. */
export interface ValueSpec {
  /** Element type of the output. */
  readonly dtype: DType;
  /** Static shape of the output. */
  readonly shape: Shape;
}

/**
 * A graph under construction. Ops are plain functions of values (see ops.ts); the graph only
 * stores nodes, names them deterministically and checks that values belong to it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { add } from "./ops.ts";
 * const g = new Graph("demo");
 * const x = g.input("x", { dtype: "float32", shape: [2] });
 * g.output(add(x, x), "y");
 * assert.ok(g.nodes.length === 1 && g.serialName(g.outputs[0]) === "y"); // renamed, not copied
 * ```
 */
export class Graph {
  /** The graph's name in the model and in error messages. */
  readonly name: string;
  /** Nodes in build order (a topological order). */
  readonly nodes: Node[] = [];
  /** Graph inputs in declaration order. */
  readonly inputs: Value[] = [];
  /** Graph outputs in the order they were marked. */
  readonly outputs: Value[] = [];
  /** Frozen tensors stored in the model, constants included. */
  readonly initializers: Initializer[] = [];
  /**
   * Frozen tensors fed from the caller's arrays at every run instead of stored in the model
   * (see {@link Graph.shared}); each is also one of {@link Graph.inputs}.
   */
  readonly sharedTensors: Initializer[] = [];
  readonly #names = new Set<string>();
  readonly #producers = new Map<string, Node>();
  readonly #constants = new Map<string, Value>();
  readonly #initData = new Map<string, TensorData>();
  readonly #aliases = new Map<string, string>();
  readonly #scopes: string[] = [];
  #counter = 0;

  /** An empty graph named `name`. */
  constructor(name = "graph") {
    this.name = name;
  }

  /** Declares a graph input (fed at run time) with the given dtype and static shape. */
  input(name: string, options: { dtype: DType; shape: Shape }): Value {
    const { dtype, shape } = options;
    const value = this.#declare(name, dtype, shape, "input");
    this.inputs.push(value);
    return value;
  }

  /**
   * Stores a frozen tensor in the model; gradients never flow into it. `data` is laid out
   * row-major and must have `sizeOf(shape)` elements.
   */
  initializer(name: string, options: { data: TensorData; shape: Shape }): Value {
    const { data, shape } = options;
    const dtype = dtypeOfArray(data);
    if (data.length !== sizeOf(shape)) {
      throw new GraphError(
        "initializer",
        `'${name}' has ${data.length} elements but shape ${showShape(shape)} needs ${
          sizeOf(shape)
        }`,
      );
    }
    const value = this.#declare(name, dtype, shape, "initializer");
    this.initializers.push({ value, data });
    this.#initData.set(name, data);
    return value;
  }

  /**
   * A frozen tensor that the model does not store: a graph input that every session opened
   * from this graph feeds from `data` itself at each run (lib/graph/session.ts). ONNX Runtime
   * reads a CPU feed in place, so sessions built from the same arrays (one per batch shape,
   * say) share one copy of them, where an {@link initializer} is copied into each session.
   * Gradients never flow into it unless it is listed in `grad`'s `wrt`, as for an initializer.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { Graph } from "./builder.ts";
   * const weight = new Float32Array(6);
   * const g = new Graph();
   * const w = g.shared("w", { data: weight, shape: [2, 3] });
   * assert.ok(g.inputs.includes(w) && g.initializers.length === 0);
   * assert.equal(g.sharedTensors[0].data, weight); // the caller's array itself, not a copy
   * ```
   */
  shared(name: string, options: { data: TensorData; shape: Shape }): Value {
    const { data, shape } = options;
    if (data.length !== sizeOf(shape)) {
      throw new GraphError(
        "shared",
        `'${name}' has ${data.length} elements but shape ${showShape(shape)} needs ${
          sizeOf(shape)
        }`,
      );
    }
    const value = this.#declare(name, dtypeOfArray(data), shape, "shared");
    this.inputs.push(value);
    this.sharedTensors.push({ value, data });
    return value;
  }

  /**
   * A constant tensor (deduplicated when small). `values` is a scalar broadcast to `shape`
   * (default `[]`, a scalar) or a flat list of `sizeOf(shape)` numbers.
   */
  constant(values: number | readonly number[], options: { dtype: DType; shape?: Shape }): Value {
    const { dtype, shape = [] } = options;
    const n = sizeOf(shape);
    const list = typeof values === "number" ? null : values;
    if (list && list.length !== n) {
      throw new GraphError("constant", `${list.length} values for shape ${showShape(shape)}`);
    }
    const key = n <= 64 ? `${dtype}|${shape.join(",")}|${list ?? values}` : undefined;
    const cached = key ? this.#constants.get(key) : undefined;
    if (cached) return cached;
    const data = allocate(dtype, n);
    for (let i = 0; i < n; i++) {
      const v = list ? list[i] : (values as number);
      if (data instanceof BigInt64Array) data[i] = BigInt(v);
      else data[i] = v;
    }
    const value = this.initializer(this.freshName("const"), { data, shape });
    if (key) this.#constants.set(key, value);
    return value;
  }

  /**
   * Marks a value as a graph output, named `name` in the model (default: its own name), and
   * returns it. A computed value is renamed in place (no copy; {@link serialName} gives the
   * name); inputs, initializers and values already output go through Identity.
   */
  output(value: Value, name?: string): Value {
    this.owns("output", value);
    const current = this.serialName(value);
    const isOutput = this.outputs.some((v) => this.serialName(v) === current);
    if (!name || name === current) {
      if (!isOutput) this.outputs.push(value);
      return value;
    }
    if (this.#producers.has(value.name) && !isOutput && !this.#aliases.has(value.name)) {
      if (this.#names.has(name)) throw new GraphError("output", `name '${name}' is already used`);
      this.#names.add(name);
      this.#aliases.set(value.name, name);
      this.outputs.push(value);
      return value;
    }
    const copy = this.node("Identity", { inputs: [value], outputs: [value], outputName: name })[0];
    this.outputs.push(copy);
    return copy;
  }

  /** The name a value has in the serialised model (its output name when renamed). */
  serialName(value: Value): string {
    return this.#aliases.get(value.name) ?? value.name;
  }

  /**
   * Appends a node and returns its output values. Ops call this after checking their
   * inputs; `outputs` gives the output types, `attrs` the ONNX attributes (default none) and
   * `outputName` names a single-output node's output explicitly.
   */
  node(
    op: string,
    options: {
      inputs: readonly (Value | undefined)[];
      outputs: readonly ValueSpec[];
      attrs?: Readonly<Record<string, Attr>>;
      outputName?: string;
    },
  ): Value[] {
    const { inputs, outputs, attrs = {}, outputName } = options;
    for (const v of inputs) if (v) this.owns(op, v);
    const base = this.freshName(op.toLowerCase());
    const outs = outputs.map((spec, k) =>
      this.#declare(
        outputName && outputs.length === 1 ? outputName : k === 0 ? base : `${base}_${k}`,
        spec.dtype,
        spec.shape,
        op,
      )
    );
    const node: Node = { op, name: base, inputs, outputs: outs, attrs };
    this.nodes.push(node);
    for (const v of outs) this.#producers.set(v.name, node);
    return outs;
  }

  /** The node that produced a value, or undefined for inputs and initializers. */
  producer(value: Value): Node | undefined {
    return this.#producers.get(value.name);
  }

  /** The data of an initializer or constant, or undefined for computed values. */
  constantData(value: Value): TensorData | undefined {
    return this.#initData.get(value.name);
  }

  /** Runs `build` with names prefixed by `scope/`, for readable graphs. */
  scope<T>(scope: string, build: () => T): T {
    this.#scopes.push(scope);
    try {
      return build();
    } finally {
      this.#scopes.pop();
    }
  }

  /** A new unique name with the current scope prefix. */
  freshName(stem: string): string {
    const prefix = this.#scopes.length ? this.#scopes.join("/") + "/" : "";
    let name: string;
    do name = `${prefix}${stem}_${this.#counter++}`; while (this.#names.has(name));
    return name;
  }

  /** Throws unless the value was built in this graph. */
  owns(op: string, value: Value): void {
    if (value.graph !== this) {
      throw new GraphError(op, `value '${value.name}' belongs to graph '${value.graph.name}'`);
    }
  }

  #declare(name: string, dtype: DType, shape: Shape, op: string): Value {
    if (this.#names.has(name)) throw new GraphError(op, `name '${name}' is already used`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) {
        throw new GraphError(op, `'${name}' has an invalid shape ${showShape(shape)}`);
      }
    }
    this.#names.add(name);
    return { name, dtype, shape: [...shape], graph: this };
  }
}
