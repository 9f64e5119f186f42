/**
 * The closed set of primitive ops. Each is a plain function of {@link Value}s that checks
 * dtypes and shapes, computes the output shape, and appends one ONNX node (opset 18).
 * Gradient rules for these ops live in one table in grad.ts; composed ops live in nn.ts.
 * @module
 */
import { type Attr, attr, type Value } from "./builder.ts";
import { GraphError } from "./errors.ts";
import { type DType, isFloat, type Shape, showShape, sizeOf } from "./types.ts";

/** A value, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

// ---------------------------------------------------------------- shapes and broadcasting

/** Normalises a possibly negative axis against a rank, or throws naming the op. */
export function normAxis(op: string, axis: number, rank: number): number {
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
  const x = typeof a === "number" ? (b as Value).graph.constant(a, (b as Value).dtype) : a;
  const y = typeof b === "number" ? x.graph.constant(b, x.dtype) : b;
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
  return first.graph.node(op, inputs, [spec], attrs)[0];
}

function int64s(x: Value, values: readonly number[]): Value {
  return x.graph.constant(values, "int64", [values.length]);
}

// ---------------------------------------------------------------- elementwise

function binary(op: string, a: Operand, b: Operand, out?: DType): Value {
  const [x, y] = lift(op, a, b);
  return one(op, [x, y], { dtype: out ?? x.dtype, shape: broadcastShapes(op, [x.shape, y.shape]) });
}

/** Elementwise a + b with broadcasting. */
export const add = (a: Operand, b: Operand): Value => binary("Add", a, b);
/** Elementwise a - b with broadcasting. */
export const sub = (a: Operand, b: Operand): Value => binary("Sub", a, b);
/** Elementwise a * b with broadcasting. */
export const mul = (a: Operand, b: Operand): Value => binary("Mul", a, b);
/** Elementwise a / b with broadcasting. */
export const div = (a: Operand, b: Operand): Value => binary("Div", a, b);
/** Elementwise a ** b with broadcasting. */
export const pow = (a: Operand, b: Operand): Value => binary("Pow", a, b);
/** Elementwise a == b, bool. */
export const equal = (a: Operand, b: Operand): Value => binary("Equal", a, b, "bool");
/** Elementwise a < b, bool. */
export const less = (a: Operand, b: Operand): Value => binary("Less", a, b, "bool");
/** Elementwise a > b, bool. */
export const greater = (a: Operand, b: Operand): Value => binary("Greater", a, b, "bool");
/** Elementwise logical and of bools. */
export const and = (a: Value, b: Value): Value => binary("And", a, b, "bool");

function unary(op: string, x: Value, float = true): Value {
  if (float) requireFloat(op, x);
  return one(op, [x], { dtype: x.dtype, shape: x.shape });
}

/** -x */
export const neg = (x: Value): Value => unary("Neg", x);
/** e^x */
export const exp = (x: Value): Value => unary("Exp", x);
/** Natural logarithm. */
export const log = (x: Value): Value => unary("Log", x);
/** Square root. */
export const sqrt = (x: Value): Value => unary("Sqrt", x);
/** Hyperbolic tangent. */
export const tanh = (x: Value): Value => unary("Tanh", x);
/** Gauss error function. */
export const erf = (x: Value): Value => unary("Erf", x);
/** Logistic sigmoid. */
export const sigmoid = (x: Value): Value => unary("Sigmoid", x);
/** Sine. */
export const sin = (x: Value): Value => unary("Sin", x);
/** Cosine. */
export const cos = (x: Value): Value => unary("Cos", x);
/** max(x, 0). */
export const relu = (x: Value): Value => unary("Relu", x);
/** Logical not of a bool tensor. */
export const not = (x: Value): Value => unary("Not", x, false);
/** A named copy. */
export const identity = (x: Value): Value => unary("Identity", x, false);

/** Elementwise choice: cond ? a : b, all three broadcast together. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  if (cond.dtype !== "bool") throw new GraphError("Where", `condition '${cond.name}' must be bool`);
  const [x, y] = lift("Where", a, b);
  const shape = broadcastShapes("Where", [cond.shape, x.shape, y.shape]);
  return one("Where", [cond, x, y], { dtype: x.dtype, shape });
}

/** Converts dtype. */
export function cast(x: Value, to: DType): Value {
  const codes: Record<DType, number> = { float32: 1, bool: 9, int64: 7, float64: 11 };
  return one("Cast", [x], { dtype: to, shape: x.shape }, { to: attr.int(codes[to]) });
}

// ---------------------------------------------------------------- linear algebra

/** Batched matrix product of rank >= 2 tensors; batch dimensions broadcast. */
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

/** Gemm: op(a) @ op(b) (+ c) for 2-D a, b, where op transposes when asked. */
export function gemm(
  a: Value,
  b: Value,
  c?: Value,
  options: { transA?: boolean; transB?: boolean } = {},
): Value {
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

/** Softmax along one axis (default last). */
export function softmax(x: Value, axis = -1): Value {
  requireFloat("Softmax", x);
  const a = normAxis("Softmax", axis, x.shape.length);
  return one("Softmax", [x], { dtype: x.dtype, shape: x.shape }, { axis: attr.int(a) });
}

/** Log-softmax along one axis (default last). */
export function logSoftmax(x: Value, axis = -1): Value {
  requireFloat("LogSoftmax", x);
  const a = normAxis("LogSoftmax", axis, x.shape.length);
  return one("LogSoftmax", [x], { dtype: x.dtype, shape: x.shape }, { axis: attr.int(a) });
}

/**
 * ONNX LayerNormalization over the last axis. Also returns the saved mean and inverse
 * standard deviation (float32: ONNX Runtime's CPU kernels only stash in float32), which the
 * gradient rule reuses instead of recomputing them.
 */
export function layerNormalization(
  x: Value,
  scale: Value,
  bias: Value,
  epsilon = 1e-5,
): { y: Value; mean: Value; invStd: Value } {
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
  const [y, mean, invStd] = x.graph.node(op, [x, scale, bias], [
    { dtype: x.dtype, shape: x.shape },
    { dtype: "float32", shape: stats },
    { dtype: "float32", shape: stats },
  ], { axis: attr.int(-1), epsilon: attr.float(epsilon), stash_type: attr.int(1) });
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

/** Sum over axes (all axes when omitted). */
export const reduceSum = (x: Value, axes?: readonly number[], keepDims = false): Value =>
  reduce("ReduceSum", x, axes ?? x.shape.map((_, i) => i), keepDims);
/** Mean over axes (all axes when omitted). */
export const reduceMean = (x: Value, axes?: readonly number[], keepDims = false): Value =>
  reduce("ReduceMean", x, axes ?? x.shape.map((_, i) => i), keepDims);
/** Maximum over axes (all axes when omitted). */
export const reduceMax = (x: Value, axes?: readonly number[], keepDims = false): Value =>
  reduce("ReduceMax", x, axes ?? x.shape.map((_, i) => i), keepDims);

// ---------------------------------------------------------------- shape ops

/** Reshape to a static shape; one dimension may be -1. */
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

/** Permutes axes (reverses them when perm is omitted). */
export function transpose(x: Value, perm?: readonly number[]): Value {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (p.length !== x.shape.length || [...p].sort().some((v, i) => v !== i)) {
    throw new GraphError("Transpose", `perm [${p}] is not a permutation of rank ${x.shape.length}`);
  }
  return one("Transpose", [x], { dtype: x.dtype, shape: p.map((i) => x.shape[i]) }, {
    perm: attr.ints(p),
  });
}

/** Joins values along an axis. */
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

/** Static slice with ONNX semantics (negative and out-of-range bounds are clamped). */
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

/** Splits along an axis into pieces of the given sizes. */
export function split(x: Value, sizes: readonly number[], axis = 0): Value[] {
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
  return x.graph.node(op, [x, int64s(x, sizes)], specs, { axis: attr.int(a) });
}

/** Inserts size-1 axes (positions in the output). */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis("Unsqueeze", a, rank));
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
  return one("Unsqueeze", [x, int64s(x, norm)], { dtype: x.dtype, shape });
}

/** Removes size-1 axes. */
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

/** Broadcasts to a shape. */
export function expand(x: Value, shape: readonly number[]): Value {
  const out = broadcastShapes("Expand", [x.shape, shape]);
  return one("Expand", [x, int64s(x, shape)], { dtype: x.dtype, shape: out });
}

/** Gathers slices along an axis by int64 indices (embedding lookup for axis 0). */
export function gather(data: Value, indices: Value, axis = 0): Value {
  if (indices.dtype !== "int64") {
    throw new GraphError("Gather", `indices '${indices.name}' must be int64`);
  }
  const a = normAxis("Gather", axis, data.shape.length);
  const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return one("Gather", [data, indices], { dtype: data.dtype, shape }, { axis: attr.int(a) });
}

/** Scatters updates into data at index tuples; `reduction` add accumulates duplicates. */
export function scatterND(
  data: Value,
  indices: Value,
  updates: Value,
  reduction: "none" | "add" = "none",
): Value {
  return one("ScatterND", [data, indices, updates], { dtype: data.dtype, shape: data.shape }, {
    reduction: attr.string(reduction),
  });
}

/** Constant zero padding: pads = [begin_0, ..., begin_n, end_0, ..., end_n]. */
export function pad(x: Value, pads: readonly number[]): Value {
  const r = x.shape.length;
  if (pads.length !== 2 * r) throw new GraphError("Pad", `needs ${2 * r} pads, got ${pads.length}`);
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
  return one("Pad", [x, int64s(x, pads)], { dtype: x.dtype, shape }, {
    mode: attr.string("constant"),
  });
}

/** 1-D convolution: x [N, C, L], w [M, C/group, K], optional bias [M]. Forward only. */
export function conv1d(
  x: Value,
  w: Value,
  bias?: Value,
  options: { stride?: number; padding?: number; dilation?: number; groups?: number } = {},
): Value {
  const op = "Conv";
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
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
