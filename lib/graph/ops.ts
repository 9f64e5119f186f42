/**
 * The closed set of primitive ops. Each is a plain function of {@link Value}s that checks
 * dtypes and shapes, computes the output shape, and appends one ONNX node (opset 18).
 * Gradient rules for these ops live in one table in grad.ts; composed ops live in nn.ts.
 * @module
 */
import { type Attr, attr, type Value } from "./builder.ts";
import { GraphError } from "./errors.ts";
import { type DType, isFloat, ONNX_ELEM_TYPE, type Shape, showShape, sizeOf } from "./types.ts";

/** A value, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

// ---------------------------------------------------------------- shapes and broadcasting

/** Normalises a possibly negative axis against a rank, or throws naming the op. */
function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new GraphError(op, `axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/**
 * Numpy-style broadcast of shapes: the single place broadcasting rules live.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { broadcastShapes } from "./ops.ts";
 * assert.ok(broadcastShapes("Add", [[4, 1, 3], [2, 1]]).join() === "4,2,3");
 * ```
 */
export function broadcastShapes(op: string, shapes: readonly Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d !== 1 && d !== e) {
        throw new GraphError(
          op,
          `shapes ${shapes.map(showShape).join(" and ")} do not broadcast`,
        );
      }
      d = e;
    }
    out.push(d);
  }
  return out;
}

function lift(op: string, a: Operand, b: Operand): [Value, Value] {
  if (typeof a === "number" && typeof b === "number") {
    throw new GraphError(op, "needs at least one Value operand");
  }
  const x = typeof a === "number"
    ? (b as Value).graph.constant(a, { dtype: (b as Value).dtype })
    : a;
  const y = typeof b === "number" ? x.graph.constant(b, { dtype: x.dtype }) : b;
  if (x.dtype !== y.dtype) {
    throw new GraphError(
      op,
      `dtype mismatch: '${x.name}' is ${x.dtype}, '${y.name}' is ${y.dtype}`,
    );
  }
  return [x, y];
}

function requireFloat(op: string, x: Value): void {
  if (!isFloat(x.dtype)) throw new GraphError(op, `'${x.name}' must be float, got ${x.dtype}`);
}

function one(
  op: string,
  inputs: readonly (Value | undefined)[],
  spec: { dtype: DType; shape: Shape },
  attrs: Record<string, Attr> = {},
): Value {
  const first = inputs.find((v) => v !== undefined)!;
  return first.graph.node(op, { inputs, outputs: [spec], attrs })[0];
}

function int64s(x: Value, values: readonly number[]): Value {
  return x.graph.constant(values, { dtype: "int64", shape: [values.length] });
}

// ---------------------------------------------------------------- elementwise

function binary(op: string, a: Operand, b: Operand, out?: DType): Value {
  const [x, y] = lift(op, a, b);
  return one(op, [x, y], { dtype: out ?? x.dtype, shape: broadcastShapes(op, [x.shape, y.shape]) });
}

/**
 * Elementwise a + b with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { add } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [2] });
 * const b = g.input("b", { dtype: "float32", shape: [2] });
 * g.output(add(a, b), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1, 2]), b: new Float32Array([10, 20]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [11, 22]);
 * ```
 */
export const add = (a: Operand, b: Operand): Value => binary("Add", a, b);
/**
 * Elementwise a - b with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sub } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(sub(g.input("x", { dtype: "float32", shape: [2] }), 2), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([5, 7]) }));
 * assert.deepEqual([...y], [3, 5]); // the number 2 becomes a float32 scalar
 * ```
 */
export const sub = (a: Operand, b: Operand): Value => binary("Sub", a, b);
/**
 * Elementwise a * b with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { mul } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [2, 1] });
 * const b = g.input("b", { dtype: "float32", shape: [2] });
 * g.output(mul(a, b), "y"); // broadcasts to [2, 2]
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1, 2]), b: new Float32Array([3, 4]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [3, 4, 6, 8]);
 * ```
 */
export const mul = (a: Operand, b: Operand): Value => binary("Mul", a, b);
/**
 * Elementwise a / b with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { div } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(div(g.input("x", { dtype: "float32", shape: [2] }), 2), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 3]) }));
 * assert.deepEqual([...y], [0.5, 1.5]);
 * ```
 */
export const div = (a: Operand, b: Operand): Value => binary("Div", a, b);
/**
 * Elementwise a ** b with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { pow } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(pow(g.input("x", { dtype: "float32", shape: [2] }), 2), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([2, 3]) }));
 * assert.deepEqual([...y], [4, 9]);
 * ```
 */
export const pow = (a: Operand, b: Operand): Value => binary("Pow", a, b);
/**
 * Elementwise a == b, bool.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { equal } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(equal(g.input("x", { dtype: "float32", shape: [2] }), 2), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.deepEqual([...y], [0, 1]); // bool comes back as a Uint8Array
 * ```
 */
export const equal = (a: Operand, b: Operand): Value => binary("Equal", a, b, "bool");
/**
 * Elementwise a < b, bool.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { less } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(less(g.input("x", { dtype: "float32", shape: [2] }), 3), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 5]) }));
 * assert.deepEqual([...y], [1, 0]);
 * ```
 */
export const less = (a: Operand, b: Operand): Value => binary("Less", a, b, "bool");
/**
 * Elementwise a > b, bool.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { greater } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(greater(g.input("x", { dtype: "float32", shape: [2] }), 3), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 5]) }));
 * assert.deepEqual([...y], [0, 1]);
 * ```
 */
export const greater = (a: Operand, b: Operand): Value => binary("Greater", a, b, "bool");
/**
 * Elementwise logical and of bools.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { and } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "bool", shape: [3] });
 * const b = g.input("b", { dtype: "bool", shape: [3] });
 * g.output(and(a, b), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Uint8Array([1, 1, 0]), b: new Uint8Array([1, 0, 0]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [1, 0, 0]);
 * ```
 */
export const and = (a: Value, b: Value): Value => binary("And", a, b, "bool");

function unary(op: string, x: Value, float = true): Value {
  if (float) requireFloat(op, x);
  return one(op, [x], { dtype: x.dtype, shape: x.shape });
}

/**
 * -x
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { neg } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(neg(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, -2]) }));
 * assert.deepEqual([...y], [-1, 2]);
 * ```
 */
export const neg = (x: Value): Value => unary("Neg", x);
/**
 * e^x
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { exp } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(exp(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 1]) }));
 * assert.ok(y[0] === 1 && Math.abs(Number(y[1]) - Math.E) < 1e-6);
 * ```
 */
export const exp = (x: Value): Value => unary("Exp", x);
/**
 * Natural logarithm.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { log } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(log(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, Math.E]) }));
 * assert.ok(y[0] === 0 && Math.abs(Number(y[1]) - 1) < 1e-6);
 * ```
 */
export const log = (x: Value): Value => unary("Log", x);
/**
 * Square root.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sqrt } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(sqrt(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([4, 9]) }));
 * assert.deepEqual([...y], [2, 3]);
 * ```
 */
export const sqrt = (x: Value): Value => unary("Sqrt", x);
/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { tanh } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(tanh(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 1]) }));
 * assert.ok(y[0] === 0 && Math.abs(Number(y[1]) - Math.tanh(1)) < 1e-6);
 * ```
 */
export const tanh = (x: Value): Value => unary("Tanh", x);
/**
 * Gauss error function.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { erf } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(erf(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 1]) }));
 * assert.ok(y[0] === 0 && Math.abs(Number(y[1]) - 0.8427008) < 1e-6);
 * ```
 */
export const erf = (x: Value): Value => unary("Erf", x);
/**
 * Logistic sigmoid.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sigmoid } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(sigmoid(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 2]) }));
 * assert.ok(y[0] === 0.5 && Math.abs(Number(y[1]) - 1 / (1 + Math.exp(-2))) < 1e-6);
 * ```
 */
export const sigmoid = (x: Value): Value => unary("Sigmoid", x);
/**
 * Sine.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sin } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(sin(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, Math.PI / 2]) }));
 * assert.ok(y[0] === 0 && Math.abs(Number(y[1]) - 1) < 1e-6);
 * ```
 */
export const sin = (x: Value): Value => unary("Sin", x);
/**
 * Cosine.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { cos } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(cos(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, Math.PI]) }));
 * assert.ok(y[0] === 1 && Math.abs(Number(y[1]) + 1) < 1e-6);
 * ```
 */
export const cos = (x: Value): Value => unary("Cos", x);
/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { relu } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(relu(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([-1, 2]) }));
 * assert.deepEqual([...y], [0, 2]);
 * ```
 */
export const relu = (x: Value): Value => unary("Relu", x);
/**
 * Logical not of a bool tensor.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { not } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(not(g.input("x", { dtype: "bool", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Uint8Array([1, 0]) }));
 * assert.deepEqual([...y], [0, 1]);
 * ```
 */
export const not = (x: Value): Value => unary("Not", x, false);
/**
 * A named copy.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { identity } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(identity(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.deepEqual([...y], [1, 2]);
 * ```
 */
export const identity = (x: Value): Value => unary("Identity", x, false);

/**
 * Elementwise choice: cond ? ifTrue : ifFalse, all three broadcast together.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { greater, where } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [3] });
 * // The number 0 becomes a scalar of x's dtype.
 * g.output(where(greater(x, 0), { ifTrue: x, ifFalse: 0 }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([-1, 2, -3]) }));
 * assert.deepEqual([...y], [0, 2, 0]);
 * ```
 */
export function where(cond: Value, options: { ifTrue: Operand; ifFalse: Operand }): Value {
  if (cond.dtype !== "bool") throw new GraphError("Where", `condition '${cond.name}' must be bool`);
  const [x, y] = lift("Where", options.ifTrue, options.ifFalse);
  const shape = broadcastShapes("Where", [cond.shape, x.shape, y.shape]);
  return one("Where", [cond, x, y], { dtype: x.dtype, shape });
}

/**
 * Converts dtype.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { cast } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(cast(g.input("x", { dtype: "float32", shape: [2] }), "int64"), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([3, -4]) }));
 * assert.deepEqual([...y], [3n, -4n]);
 * ```
 */
export function cast(x: Value, to: DType): Value {
  return one("Cast", [x], { dtype: to, shape: x.shape }, { to: attr.int(ONNX_ELEM_TYPE[to]) });
}

// ---------------------------------------------------------------- linear algebra

/**
 * Batched matrix product of rank >= 2 tensors; batch dimensions broadcast.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { matmul } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [1, 2] });
 * const b = g.input("b", { dtype: "float32", shape: [2, 2] });
 * g.output(matmul(a, b), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1, 2]), b: new Float32Array([3, 4, 5, 6]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [13, 16]); // [1 * 3 + 2 * 5, 1 * 4 + 2 * 6]
 * ```
 */
export function matmul(a: Value, b: Value): Value {
  const op = "MatMul";
  lift(op, a, b);
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new GraphError(
      op,
      `needs rank >= 2, got ${showShape(a.shape)} and ${showShape(b.shape)}`,
    );
  }
  const [m, k] = a.shape.slice(-2), [k2, n] = b.shape.slice(-2);
  if (k !== k2) {
    throw new GraphError(
      op,
      `inner dimensions differ: ${showShape(a.shape)} @ ${showShape(b.shape)}`,
    );
  }
  const batch = broadcastShapes(op, [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
  return one(op, [a, b], { dtype: a.dtype, shape: [...batch, m, n] });
}

/**
 * Gemm: op(a) @ op(b) (+ c) for 2-D a, b, where op transposes when asked.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { gemm } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [1, 2] });
 * const b = g.input("b", { dtype: "float32", shape: [1, 2] });
 * const c = g.constant(1, { dtype: "float32", shape: [1] });
 * g.output(gemm(a, b, { c, transB: true }), "y"); // a b^T + 1
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1, 2]), b: new Float32Array([3, 4]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [12]);
 * ```
 */
export function gemm(
  a: Value,
  b: Value,
  options: { c?: Value; transA?: boolean; transB?: boolean } = {},
): Value {
  const { c } = options;
  const op = "Gemm";
  lift(op, a, b);
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new GraphError(
      op,
      `needs 2-D inputs, got ${showShape(a.shape)} and ${showShape(b.shape)}`,
    );
  }
  const [m, k] = options.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = options.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) throw new GraphError(op, `inner dimensions differ: ${k} and ${k2}`);
  if (c) broadcastShapes(op, [c.shape, [m, n]]);
  return one(op, [a, b, c], { dtype: a.dtype, shape: [m, n] }, {
    transA: attr.int(options.transA ? 1 : 0),
    transB: attr.int(options.transB ? 1 : 0),
  });
}

// ---------------------------------------------------------------- normalisation

/**
 * Softmax along one axis (default last).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { softmax } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(softmax(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, Math.log(3)]) }));
 * assert.ok(Math.abs(Number(y[0]) - 0.25) < 1e-6 && Math.abs(Number(y[1]) - 0.75) < 1e-6);
 * ```
 */
export function softmax(x: Value, options: { axis?: number } = {}): Value {
  const { axis = -1 } = options;
  requireFloat("Softmax", x);
  const a = normAxis("Softmax", axis, x.shape.length);
  return one("Softmax", [x], { dtype: x.dtype, shape: x.shape }, { axis: attr.int(a) });
}

/**
 * Log-softmax along one axis (default last).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { logSoftmax } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(logSoftmax(g.input("x", { dtype: "float32", shape: [2] })), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 0]) }));
 * assert.ok([...y].every((v) => Math.abs(Number(v) + Math.LN2) < 1e-6));
 * ```
 */
export function logSoftmax(x: Value, options: { axis?: number } = {}): Value {
  const { axis = -1 } = options;
  requireFloat("LogSoftmax", x);
  const a = normAxis("LogSoftmax", axis, x.shape.length);
  return one("LogSoftmax", [x], { dtype: x.dtype, shape: x.shape }, { axis: attr.int(a) });
}

/**
 * ONNX LayerNormalization over the last axis. Also returns the saved mean and inverse
 * standard deviation (float32: ONNX Runtime's CPU kernels only stash in float32), which the
 * gradient rule reuses instead of recomputing them.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { layerNormalization } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [1, 2] });
 * const [one, zero] = [1, 0].map((v) => g.constant(v, { dtype: "float32", shape: [2] }));
 * const { y, mean } = layerNormalization(x, { scale: one, bias: zero });
 * assert.deepEqual(mean.shape, [1, 1]); // saved for the gradient
 * g.output(y, "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const out = await orThrow(runSession(s, { x: new Float32Array([1, 3]) }));
 * assert.ok(Math.abs(Number(out.y[0]) + 1) < 1e-4 && Math.abs(Number(out.y[1]) - 1) < 1e-4);
 * ```
 */
export function layerNormalization(
  x: Value,
  options: { scale: Value; bias: Value; epsilon?: number },
): { y: Value; mean: Value; invStd: Value } {
  const { scale, bias, epsilon = 1e-5 } = options;
  const op = "LayerNormalization";
  requireFloat(op, x);
  const d = x.shape[x.shape.length - 1];
  for (const p of [scale, bias]) {
    lift(op, x, p);
    if (p.shape.length !== 1 || p.shape[0] !== d) {
      throw new GraphError(op, `'${p.name}' has shape ${showShape(p.shape)}, expected [${d}]`);
    }
  }
  const stats = [...x.shape.slice(0, -1), 1];
  const [y, mean, invStd] = x.graph.node(op, {
    inputs: [x, scale, bias],
    outputs: [
      { dtype: x.dtype, shape: x.shape },
      { dtype: "float32", shape: stats },
      { dtype: "float32", shape: stats },
    ],
    attrs: { axis: attr.int(-1), epsilon: attr.float(epsilon), stash_type: attr.int(1) },
  });
  return { y, mean, invStd };
}

// ---------------------------------------------------------------- reductions

function reduce(op: string, x: Value, axes: readonly number[], keepDims: boolean): Value {
  const rank = x.shape.length;
  // ONNX reads empty axes as "all axes"; an explicit empty list is almost surely a mistake.
  if (axes.length === 0 && rank > 0) {
    throw new GraphError(op, "axes is empty; omit it to reduce every axis");
  }
  const norm = [...new Set(axes.map((a) => normAxis(op, a, rank)))].sort((p, q) => p - q);
  const shape = keepDims
    ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !norm.includes(i));
  return one(op, [x, int64s(x, norm)], { dtype: x.dtype, shape }, {
    keepdims: attr.int(keepDims ? 1 : 0),
  });
}

/**
 * Sum over axes (all axes when omitted).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { reduceSum } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(reduceSum(g.input("x", { dtype: "float32", shape: [2, 2] }), { axes: [1] }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3, 4]) }));
 * assert.deepEqual([...y], [3, 7]); // row sums
 * ```
 */
export const reduceSum = (
  x: Value,
  options: { axes?: readonly number[]; keepDims?: boolean } = {},
): Value =>
  reduce("ReduceSum", x, options.axes ?? x.shape.map((_, i) => i), options.keepDims ?? false);
/**
 * Mean over axes (all axes when omitted).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { reduceMean } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(reduceMean(g.input("x", { dtype: "float32", shape: [2, 2] })), "y"); // scalar
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3, 4]) }));
 * assert.deepEqual([...y], [2.5]);
 * ```
 */
export const reduceMean = (
  x: Value,
  options: { axes?: readonly number[]; keepDims?: boolean } = {},
): Value =>
  reduce("ReduceMean", x, options.axes ?? x.shape.map((_, i) => i), options.keepDims ?? false);
/**
 * Maximum over axes (all axes when omitted).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { reduceMax } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2, 2] });
 * g.output(reduceMax(x, { axes: [0], keepDims: true }), "y"); // [1, 2]
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 4, 3, 2]) }));
 * assert.deepEqual([...y], [3, 4]); // column maxima
 * ```
 */
export const reduceMax = (
  x: Value,
  options: { axes?: readonly number[]; keepDims?: boolean } = {},
): Value =>
  reduce("ReduceMax", x, options.axes ?? x.shape.map((_, i) => i), options.keepDims ?? false);

// ---------------------------------------------------------------- shape ops

/**
 * Reshape to a static shape; one dimension may be -1.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { reshape } from "./ops.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2, 3] });
 * assert.deepEqual(reshape(x, [3, -1]).shape, [3, 2]);
 * assert.throws(() => reshape(x, [4, -1]), /cannot reshape \[2, 3\] to \[4, -1\]/);
 * ```
 */
export function reshape(x: Value, shape: readonly number[]): Value {
  const op = "Reshape";
  const known = shape.filter((d) => d !== -1);
  const size = sizeOf(x.shape);
  const out = shape.map((d) => (d === -1 ? size / Math.max(1, sizeOf(known)) : d));
  if (
    shape.filter((d) => d === -1).length > 1 || sizeOf(out) !== size || !out.every(Number.isInteger)
  ) {
    throw new GraphError(op, `cannot reshape ${showShape(x.shape)} to ${showShape(shape)}`);
  }
  return one(op, [x, int64s(x, out)], { dtype: x.dtype, shape: out });
}

/**
 * Permutes axes (reverses them when perm is omitted).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { transpose } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(transpose(g.input("x", { dtype: "float32", shape: [2, 3] })), "y"); // [3, 2]
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3, 4, 5, 6]) }));
 * assert.deepEqual([...y], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function transpose(x: Value, perm?: readonly number[]): Value {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (p.length !== x.shape.length || [...p].sort().some((v, i) => v !== i)) {
    throw new GraphError("Transpose", `perm [${p}] is not a permutation of rank ${x.shape.length}`);
  }
  return one("Transpose", [x], { dtype: x.dtype, shape: p.map((i) => x.shape[i]) }, {
    perm: attr.ints(p),
  });
}

/**
 * Joins values along an axis.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { concat } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [1] });
 * const b = g.input("b", { dtype: "float32", shape: [2] });
 * g.output(concat([a, b], 0), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1]), b: new Float32Array([2, 3]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [1, 2, 3]);
 * ```
 */
export function concat(values: readonly Value[], axis: number): Value {
  const op = "Concat";
  if (values.length === 0) throw new GraphError(op, "needs at least one value");
  const first = values[0];
  const a = normAxis(op, axis, first.shape.length);
  let total = 0;
  for (const v of values) {
    lift(op, first, v);
    const ok = v.shape.length === first.shape.length &&
      v.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) {
      throw new GraphError(
        op,
        `shapes ${values.map((u) => showShape(u.shape)).join(", ")} differ off axis ${a}`,
      );
    }
    total += v.shape[a];
  }
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return one(op, values, { dtype: first.dtype, shape }, { axis: attr.int(a) });
}

/**
 * Static slice with ONNX semantics (negative and out-of-range bounds are clamped).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { slice } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [5] });
 * g.output(slice(x, { starts: [1], ends: [-1] }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([0, 1, 2, 3, 4]) }));
 * assert.deepEqual([...y], [1, 2, 3]);
 * ```
 */
export function slice(
  x: Value,
  options: {
    starts: readonly number[];
    ends: readonly number[];
    axes?: readonly number[];
    steps?: readonly number[];
  },
): Value {
  const op = "Slice";
  const axes = (options.axes ?? options.starts.map((_, i) => i)).map((a) =>
    normAxis(op, a, x.shape.length)
  );
  const steps = options.steps ?? axes.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const d = x.shape[a], step = steps[i];
    if (step === 0) throw new GraphError(op, "step 0");
    const clampIdx = (v: number, lo: number, hi: number) =>
      Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = step > 0 ? clampIdx(options.starts[i], 0, d) : clampIdx(options.starts[i], 0, d - 1);
    const e = step > 0 ? clampIdx(options.ends[i], 0, d) : clampIdx(options.ends[i], -1, d - 1);
    shape[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return one(op, [
    x,
    int64s(x, options.starts),
    int64s(x, options.ends),
    int64s(x, axes),
    int64s(x, steps),
  ], {
    dtype: x.dtype,
    shape,
  });
}

/**
 * Splits along an axis into pieces of the given sizes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { split } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const [a, b] = split(g.input("x", { dtype: "float32", shape: [3] }), [1, 2]);
 * g.output(a, "head");
 * g.output(b, "tail");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { head, tail } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3]) }));
 * assert.deepEqual([[...head], [...tail]], [[1], [2, 3]]);
 * ```
 */
export function split(
  x: Value,
  sizes: readonly number[],
  options: { axis?: number } = {},
): Value[] {
  const { axis = 0 } = options;
  const op = "Split";
  const a = normAxis(op, axis, x.shape.length);
  if (sizes.reduce((s, v) => s + v, 0) !== x.shape[a]) {
    throw new GraphError(
      op,
      `sizes [${sizes}] do not sum to dimension ${x.shape[a]} of ${showShape(x.shape)}`,
    );
  }
  const specs = sizes.map((n) => ({
    dtype: x.dtype,
    shape: x.shape.map((d, i) => (i === a ? n : d)),
  }));
  return x.graph.node(op, {
    inputs: [x, int64s(x, sizes)],
    outputs: specs,
    attrs: { axis: attr.int(a) },
  });
}

/**
 * Inserts size-1 axes (positions in the output).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { unsqueeze } from "./ops.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2, 3] });
 * assert.deepEqual(unsqueeze(x, [0, -1]).shape, [1, 2, 3, 1]);
 * ```
 */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis("Unsqueeze", a, rank));
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
  return one("Unsqueeze", [x, int64s(x, norm)], { dtype: x.dtype, shape });
}

/**
 * Removes size-1 axes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { squeeze } from "./ops.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [1, 3, 1] });
 * assert.deepEqual(squeeze(x, [0, -1]).shape, [3]);
 * assert.throws(() => squeeze(x, [1]), /axis 1 of \[1, 3, 1\] is not 1/);
 * ```
 */
export function squeeze(x: Value, axes: readonly number[]): Value {
  const norm = axes.map((a) => normAxis("Squeeze", a, x.shape.length));
  for (const a of norm) {
    if (x.shape[a] !== 1) {
      throw new GraphError("Squeeze", `axis ${a} of ${showShape(x.shape)} is not 1`);
    }
  }
  const shape = x.shape.filter((_, i) => !norm.includes(i));
  return one("Squeeze", [x, int64s(x, norm)], { dtype: x.dtype, shape });
}

/**
 * Broadcasts to a shape.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { expand } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(expand(g.input("x", { dtype: "float32", shape: [2, 1] }), [2, 3]), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.deepEqual([...y], [1, 1, 1, 2, 2, 2]);
 * ```
 */
export function expand(x: Value, shape: readonly number[]): Value {
  const out = broadcastShapes("Expand", [x.shape, shape]);
  return one("Expand", [x, int64s(x, shape)], { dtype: x.dtype, shape: out });
}

/**
 * Gathers slices along an axis by int64 indices (embedding lookup for axis 0).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { gather } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const table = g.input("table", { dtype: "float32", shape: [3, 2] });
 * const ids = g.input("ids", { dtype: "int64", shape: [2] });
 * g.output(gather(table, ids), "y"); // rows 2 and 0: [2, 2]
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { table: new Float32Array([1, 2, 3, 4, 5, 6]), ids: new BigInt64Array([2n, 0n]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [5, 6, 1, 2]);
 * ```
 */
export function gather(data: Value, indices: Value, options: { axis?: number } = {}): Value {
  const { axis = 0 } = options;
  if (indices.dtype !== "int64") {
    throw new GraphError("Gather", `indices '${indices.name}' must be int64`);
  }
  const a = normAxis("Gather", axis, data.shape.length);
  const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return one("Gather", [data, indices], { dtype: data.dtype, shape }, { axis: attr.int(a) });
}

/**
 * Scatters updates into data at index tuples; `reduction` add accumulates duplicates.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { scatterND } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const data = g.constant(0, { dtype: "float32", shape: [4] });
 * const at = g.constant([1, 1], { dtype: "int64", shape: [2, 1] });
 * const updates = g.input("u", { dtype: "float32", shape: [2] });
 * g.output(scatterND(data, { indices: at, updates, reduction: "add" }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { u: new Float32Array([5, 7]) }));
 * assert.deepEqual([...y], [0, 12, 0, 0]); // both updates land on index 1
 * ```
 */
export function scatterND(
  data: Value,
  options: { indices: Value; updates: Value; reduction?: "none" | "add" },
): Value {
  const { indices, updates, reduction = "none" } = options;
  return one("ScatterND", [data, indices, updates], { dtype: data.dtype, shape: data.shape }, {
    reduction: attr.string(reduction),
  });
}

/**
 * Constant zero padding: pads = [begin_0, ..., begin_n, end_0, ..., end_n].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { pad } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(pad(g.input("x", { dtype: "float32", shape: [2] }), [1, 2]), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.deepEqual([...y], [0, 1, 2, 0, 0]);
 * ```
 */
export function pad(x: Value, pads: readonly number[]): Value {
  const r = x.shape.length;
  if (pads.length !== 2 * r) throw new GraphError("Pad", `needs ${2 * r} pads, got ${pads.length}`);
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
  return one("Pad", [x, int64s(x, pads)], { dtype: x.dtype, shape }, {
    mode: attr.string("constant"),
  });
}

/**
 * 1-D convolution: x [N, C, L], w [M, C/group, K], optional bias [M]. Differentiable
 * (grad.ts) for every stride, padding, dilation and group count.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { conv1d } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const w = g.constant([1, 1], { dtype: "float32", shape: [1, 1, 2] }); // a moving sum of width 2
 * g.output(conv1d(g.input("x", { dtype: "float32", shape: [1, 1, 4] }), w), "y"); // [1, 1, 3]
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3, 4]) }));
 * assert.deepEqual([...y], [3, 5, 7]);
 * ```
 */
export function conv1d(
  x: Value,
  w: Value,
  options: {
    bias?: Value;
    stride?: number;
    padding?: number;
    dilation?: number;
    groups?: number;
  } = {},
): Value {
  const op = "Conv";
  const { bias, stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  if (x.shape.length !== 3 || w.shape.length !== 3) {
    throw new GraphError(
      op,
      `conv1d needs x [N, C, L] and w [M, C, K], got ${showShape(x.shape)} and ${
        showShape(w.shape)
      }`,
    );
  }
  const [n, c, l] = x.shape, [m, cg, k] = w.shape;
  if (cg * groups !== c) {
    throw new GraphError(op, `weight expects ${cg * groups} input channels, x has ${c}`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== m)) {
    throw new GraphError(op, `bias shape ${showShape(bias.shape)}, expected [${m}]`);
  }
  const outLen = Math.floor((l + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
  return one(op, [x, w, bias], { dtype: x.dtype, shape: [n, m, outLen] }, {
    strides: attr.ints([stride]),
    pads: attr.ints([padding, padding]),
    dilations: attr.ints([dilation]),
    group: attr.int(groups),
    kernel_shape: attr.ints([k]),
  });
}
