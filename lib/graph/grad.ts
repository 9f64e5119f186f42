/**
 * Reverse-mode autodiff over the graph builder. Every primitive's gradient rule sits in
 * {@link GRAD_RULES}, one table, each rule emitting ordinary ops through the same builder;
 * broadcasting is undone in exactly one place ({@link sumToShape}). `grad(loss, wrt)` emits
 * only the nodes on paths from `wrt` to `loss`.
 * @module
 */
import type { Node, Value } from "./builder.ts";
import { GraphError } from "./errors.ts";
import {
  add,
  cast,
  concat,
  conv1d,
  cos,
  div,
  equal,
  exp,
  expand,
  gemm,
  greater,
  log,
  matmul,
  mul,
  neg,
  pad,
  pow,
  reduceSum,
  reshape,
  scatterND,
  sin,
  slice,
  sub,
  transpose,
  unsqueeze,
  where,
} from "./ops.ts";
import { isFloat, type Shape, sizeOf } from "./types.ts";

/** What a gradient rule sees: the forward node, output gradients, and which inputs need one. */
export interface GradContext {
  /** The forward node whose inputs need gradients. */
  readonly node: Node;
  /** Gradient of the loss with respect to each output; undefined means zero. */
  readonly gy: readonly (Value | undefined)[];
  /** Whether each input needs a gradient; rules may skip the others. */
  readonly needs: readonly boolean[];
}

/** A gradient rule returns one gradient per input (undefined where none is needed). */
export type GradRule = (ctx: GradContext) => readonly (Value | undefined)[];

const attrNumber = (node: Node, key: string): number => {
  const a = node.attrs[key];
  return a && (a.kind === "int" || a.kind === "float") ? a.value : 0;
};
const attrInts = (node: Node, key: string): readonly number[] => {
  const a = node.attrs[key];
  return a && a.kind === "ints" ? a.value : [];
};
const staticInts = (v: Value | undefined, op: string): number[] => {
  const data = v ? v.graph.constantData(v) : undefined;
  if (!(data instanceof BigInt64Array)) {
    throw new GraphError(op, "gradient needs static int64 arguments");
  }
  return Array.from(data, Number);
};
const swapLast = (x: Value): Value => {
  const r = x.shape.length;
  return transpose(x, [...Array(r - 2).keys(), r - 1, r - 2]);
};
const zerosOf = (x: { graph: Value["graph"]; dtype: Value["dtype"]; shape: Shape }): Value =>
  expand(x.graph.constant(0, { dtype: x.dtype }), [...x.shape]);
/** Keeps reduced axes as size-1 so a reduced gradient broadcasts back over them. */
const keepShape = (x: Value, axes: readonly number[]): number[] =>
  x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
const reducedAxes = (node: Node): number[] => staticInts(node.inputs[1], node.op);

/**
 * The gradient rules, one per primitive op. A missing entry is a build-time error.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { GRAD_RULES } from "./grad.ts";
 * import { mul } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const [a, b, gy] = ["a", "b", "gy"].map((n) => g.input(n, { dtype: "float32", shape: [2] }));
 * const node = g.producer(mul(a, b))!;
 * const [da, db] = GRAD_RULES.Mul({ node, gy: [gy], needs: [true, false] });
 * assert.ok(db === undefined && !("Equal" in GRAD_RULES)); // skipped input; comparisons have none
 * g.output(da!, "da");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const f = (...v: number[]) => new Float32Array(v);
 * const out = await orThrow(runSession(s, { a: f(1, 2), b: f(3, 4), gy: f(1, 10) }));
 * assert.deepEqual([...out.da], [3, 40]); // gy * b
 * ```
 */
export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  Identity: ({ gy }) => [gy[0]],
  Add: ({ gy }) => [gy[0], gy[0]],
  Sub: ({ gy: [g], needs }) => [needs[0] ? g : undefined, needs[1] ? neg(g!) : undefined],
  Mul: ({ node: { inputs: [a, b] }, gy: [g], needs }) => [
    needs[0] ? mul(g!, b!) : undefined,
    needs[1] ? mul(g!, a!) : undefined,
  ],
  Div: ({ node: { inputs: [, b], outputs: [y] }, gy: [g], needs }) => [
    needs[0] ? div(g!, b!) : undefined,
    needs[1] ? neg(mul(g!, div(y, b!))) : undefined,
  ],
  // b a^(b-1), not b y / a, which is 0/0 at a = 0.
  Pow: ({ node: { inputs: [a, b], outputs: [y] }, gy: [g], needs }) => [
    needs[0] ? mul(g!, mul(b!, pow(a!, sub(b!, 1)))) : undefined,
    needs[1] ? mul(g!, mul(y, log(a!))) : undefined,
  ],
  Neg: ({ gy: [g] }) => [neg(g!)],
  Exp: ({ node: { outputs: [y] }, gy: [g] }) => [mul(g!, y)],
  Log: ({ node: { inputs: [x] }, gy: [g] }) => [div(g!, x!)],
  Sqrt: ({ node: { outputs: [y] }, gy: [g] }) => [div(mul(g!, 0.5), y)],
  Tanh: ({ node: { outputs: [y] }, gy: [g] }) => [mul(g!, sub(1, mul(y, y)))],
  // d/dx erf(x) = 2/sqrt(pi) exp(-x^2) = exp(ln(2/sqrt(pi)) - x^2): one pass fewer.
  Erf: ({ node: { inputs: [x] }, gy: [g] }) => [
    mul(g!, exp(sub(Math.log(2 / Math.sqrt(Math.PI)), mul(x!, x!)))),
  ],
  Sigmoid: ({ node: { outputs: [y] }, gy: [g] }) => [mul(g!, mul(y, sub(1, y)))],
  Sin: ({ node: { inputs: [x] }, gy: [g] }) => [mul(g!, cos(x!))],
  Cos: ({ node: { inputs: [x] }, gy: [g] }) => [neg(mul(g!, sin(x!)))],
  Relu: ({ node: { inputs: [x] }, gy: [g] }) => [where(greater(x!, 0), { ifTrue: g!, ifFalse: 0 })],
  Where: ({ node: { inputs: [c] }, gy: [g], needs }) => [
    undefined,
    needs[1] ? where(c!, { ifTrue: g!, ifFalse: 0 }) : undefined,
    needs[2] ? where(c!, { ifTrue: 0, ifFalse: g! }) : undefined,
  ],
  Cast: (
    { node: { inputs: [x] }, gy: [g] },
  ) => [isFloat(x!.dtype) ? cast(g!, x!.dtype) : undefined],
  MatMul: ({ node: { inputs: [a, b] }, gy: [g], needs }) => [
    needs[0] ? matmul(g!, swapLast(b!)) : undefined,
    needs[1] ? matmulGradB(a!, b!, g!) : undefined,
  ],
  Gemm: ({ node, gy: [g], needs }) => {
    const [a, b] = node.inputs;
    const tA = attrNumber(node, "transA") === 1, tB = attrNumber(node, "transB") === 1;
    return [
      needs[0]
        ? (tA ? gemm(b!, g!, { transA: tB, transB: true }) : gemm(g!, b!, { transB: !tB }))
        : undefined,
      needs[1]
        ? (tB ? gemm(g!, a!, { transA: true, transB: tA }) : gemm(a!, g!, { transA: !tA }))
        : undefined,
      needs[2] ? g : undefined,
    ];
  },
  Softmax: ({ node, gy: [g] }) => {
    const y = node.outputs[0], axis = attrNumber(node, "axis");
    return [mul(y, sub(g!, reduceSum(mul(g!, y), { axes: [axis], keepDims: true })))];
  },
  LogSoftmax: ({ node, gy: [g] }) => {
    const y = node.outputs[0], axis = attrNumber(node, "axis");
    return [sub(g!, mul(exp(y), reduceSum(g!, { axes: [axis], keepDims: true })))];
  },
  // Uses the saved Mean and InvStdDev outputs: x_hat = (x - mean) * invStd,
  // dx = invStd * (g - mean(g) - x_hat * mean(g * x_hat)) with g = dy * scale.
  LayerNormalization: ({ node, gy, needs }) => {
    if (gy[1] || gy[2]) {
      throw new GraphError(node.op, "gradients through Mean/InvStdDev are not supported");
    }
    const [x, scale] = node.inputs, g = gy[0]!;
    const [mean, invStd] = node.outputs.slice(1).map((s) =>
      s.dtype === x!.dtype ? s : cast(s, x!.dtype)
    );
    const xHat = needs[0] || needs[1] ? mul(sub(x!, mean), invStd) : undefined;
    const last = x!.shape.length - 1;
    let gx: Value | undefined;
    if (needs[0]) {
      const gs = mul(g, scale!);
      const centered = sub(gs, meanKeepDims(gs, last));
      gx = mul(invStd, sub(centered, mul(xHat!, meanKeepDims(mul(gs, xHat!), last))));
    }
    return [gx, needs[1] ? mul(g, xHat!) : undefined, needs[2] ? g : undefined];
  },
  ReduceSum: ({ node, gy: [g] }) => {
    const x = node.inputs[0]!;
    return [expand(reshape(g!, keepShape(x, reducedAxes(node))), [...x.shape])];
  },
  ReduceMean: ({ node, gy: [g] }) => {
    const x = node.inputs[0]!, y = node.outputs[0];
    const scaled = mul(g!, sizeOf(y.shape) / sizeOf(x.shape));
    return [expand(reshape(scaled, keepShape(x, reducedAxes(node))), [...x.shape])];
  },
  // Ties share the gradient equally, like the subgradient PyTorch uses for amax.
  ReduceMax: ({ node, gy: [g] }) => {
    const x = node.inputs[0]!, axes = reducedAxes(node), kept = keepShape(x, axes);
    const mask = cast(equal(x, reshape(node.outputs[0], kept)), x.dtype);
    return [div(mul(mask, reshape(g!, kept)), reduceSum(mask, { axes, keepDims: true }))];
  },
  Reshape: ({ node: { inputs: [x] }, gy: [g] }) => [reshape(g!, x!.shape)],
  Squeeze: ({ node: { inputs: [x] }, gy: [g] }) => [reshape(g!, x!.shape)],
  Unsqueeze: ({ node: { inputs: [x] }, gy: [g] }) => [reshape(g!, x!.shape)],
  Expand: ({ gy: [g] }) => [g],
  Transpose: ({ node, gy: [g] }) => {
    const perm = attrInts(node, "perm"), inverse = [...perm];
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(g!, inverse)];
  },
  Concat: ({ node, gy: [g], needs }) => {
    const axis = attrNumber(node, "axis");
    let offset = 0;
    return node.inputs.map((x, i) => {
      const start = offset;
      offset += x!.shape[axis];
      return needs[i] ? slice(g!, { starts: [start], ends: [offset], axes: [axis] }) : undefined;
    });
  },
  Split: ({ node, gy }) => {
    const axis = attrNumber(node, "axis");
    return [concat(node.outputs.map((y, i) => gy[i] ?? zerosOf(y)), axis)];
  },
  Slice: ({ node, gy: [g] }) => {
    const x = node.inputs[0]!, y = node.outputs[0];
    const starts = staticInts(node.inputs[1], node.op), axes = staticInts(node.inputs[3], node.op);
    const steps = staticInts(node.inputs[4], node.op);
    if (steps.some((s) => s !== 1)) throw new GraphError("Slice", "gradient supports step 1 only");
    const r = x.shape.length, pads = new Array(2 * r).fill(0);
    axes.forEach((a, i) => {
      const d = x.shape[a];
      const begin = Math.min(Math.max(starts[i] < 0 ? starts[i] + d : starts[i], 0), d);
      pads[a] = begin;
      pads[a + r] = d - begin - y.shape[a];
    });
    return [pad(g!, pads)];
  },
  Pad: ({ node, gy: [g] }) => {
    const x = node.inputs[0]!, pads = staticInts(node.inputs[1], node.op), r = x.shape.length;
    return [slice(g!, { starts: pads.slice(0, r), ends: x.shape.map((d, i) => pads[i] + d) })];
  },
  Conv: ({ node, gy: [g], needs }) => convGrad(node, g!, needs),
  // Embedding lookups: repeated indices accumulate through ScatterND's add reduction.
  Gather: ({ node, gy: [g] }) => {
    const [data, indices] = node.inputs;
    if (attrNumber(node, "axis") !== 0) {
      throw new GraphError("Gather", "gradient supports axis 0 only");
    }
    return [
      scatterND(zerosOf(data!), {
        indices: unsqueeze(indices!, [-1]),
        updates: g!,
        reduction: "add",
      }),
      undefined,
    ];
  },
};

/**
 * Gradients of a 1-D Conv (x [N, C, L], w [M, C/G, K], optional bias [M]; any stride,
 * padding, dilation and group count), composed of Conv, Pad, Slice, Reshape and Transpose.
 * With xp the padded input and g = floor(m / (M/G)) the group of output channel m,
 * y[n, m, t] = b[m] + sum_{i < C/G, j < K} w[m, i, j] xp[n, g C/G + i, t s + j d].
 *
 * - dx is the transposed convolution: gy dilated by the stride (s - 1 zeros between frames),
 *   padded by the kernel's reach d(K - 1) less the forward padding, correlated (dilation d,
 *   G groups) with the kernel flipped in time and regrouped to [C, M/G, K].
 * - dw correlates xp with gy as the kernel, batch and channels swapping roles: input
 *   [C/G, G N, Lp], kernel [M, N, T], dilation s, stride d, G groups; the first K outputs.
 * - db sums gy over batch and frames.
 */
function convGrad(node: Node, g: Value, needs: readonly boolean[]): (Value | undefined)[] {
  const [x, w] = node.inputs as [Value, Value];
  if (x.shape.length !== 3) {
    throw new GraphError("Conv", `gradient supports 1-D convolutions only, x is [${x.shape}]`);
  }
  const [n, c, l] = x.shape, [m, cg, k] = w.shape, t = g.shape[2];
  const stride = attrInts(node, "strides")[0] ?? 1, dilation = attrInts(node, "dilations")[0] ?? 1;
  const [padBegin = 0, padEnd = 0] = attrInts(node, "pads");
  const groups = attrNumber(node, "group") || 1, mg = m / groups;
  const reach = dilation * (k - 1), padded = l + padBegin + padEnd;
  // Padded frames past the last window (stride leftovers) get no gradient.
  const unused = padded - ((t - 1) * stride + reach + 1);
  // conv1d pads symmetrically; other padding goes through Pad (negative pads are cropped).
  const convPadded = (
    v: Value,
    kernel: Value,
    pads: [number, number],
    options: { stride: number; dilation: number },
  ): Value => {
    const [a, b] = pads.map((p) => Math.max(0, p));
    const input = a === b ? v : pad(v, [0, 0, a, 0, 0, b]);
    return conv1d(input, kernel, { ...options, padding: a === b ? a : 0, groups });
  };
  let gx: Value | undefined, gw: Value | undefined;
  if (needs[0]) {
    let gd = g;
    if (stride > 1) {
      const spread = pad(unsqueeze(g, [3]), [0, 0, 0, 0, 0, 0, 0, stride - 1]);
      gd = slice(reshape(spread, [n, m, t * stride]), {
        starts: [0],
        ends: [(t - 1) * stride + 1],
        axes: [2],
      });
    }
    // wt[g C/G + i, o, j] = w[g M/G + o, i, K - 1 - j], shape [C, M/G, K].
    let wt = groups === 1
      ? transpose(w, [1, 0, 2])
      : cg === 1
      ? reshape(w, [c, mg, k])
      : reshape(transpose(reshape(w, [groups, mg, cg, k]), [0, 2, 1, 3]), [c, mg, k]);
    if (k > 1) wt = slice(wt, { starts: [k - 1], ends: [-(k + 1)], axes: [2], steps: [-1] });
    const before = reach - padBegin, after = reach + unused - padEnd;
    const full = convPadded(gd, wt, [before, after], { stride: 1, dilation });
    const start = Math.max(0, before) - before;
    gx = start === 0 && full.shape[2] === l
      ? full
      : slice(full, { starts: [start], ends: [start + l], axes: [2] });
  }
  if (needs[1]) {
    // xs[i, g N + n', :] = x[n', g C/G + i, :], shape [C/G, G N, L].
    const xs = groups === 1
      ? transpose(x, [1, 0, 2])
      : reshape(transpose(reshape(x, [n, groups, cg, l]), [2, 1, 0, 3]), [cg, groups * n, l]);
    const full = convPadded(xs, transpose(g, [1, 0, 2]), [padBegin, padEnd], {
      stride: dilation,
      dilation: stride,
    });
    const taps = full.shape[2] === k ? full : slice(full, { starts: [0], ends: [k], axes: [2] });
    gw = cg === 1 ? reshape(taps, [m, 1, k]) : transpose(taps, [1, 0, 2]);
  }
  return [gx, gw, needs[2] ? reduceSum(g, { axes: [0, 2] }) : undefined];
}

function meanKeepDims(x: Value, axis: number): Value {
  return mul(reduceSum(x, { axes: [axis], keepDims: true }), 1 / x.shape[axis]);
}

/**
 * dB of A @ B = A^T G. Folds A's batch dims into one GEMM when B is a shared 2-D weight, and
 * computes (G^T A)^T instead when transposing G and the result moves fewer bytes than
 * transposing A (ONNX Runtime's transposed-operand GEMMs are slower than a copy + GEMM).
 */
function matmulGradB(a: Value, b: Value, g: Value): Value {
  let a2 = a, g2 = g;
  if (b.shape.length === 2 && a.shape.length > 2) {
    a2 = reshape(a, [-1, a.shape[a.shape.length - 1]]);
    g2 = reshape(g, [-1, g.shape[g.shape.length - 1]]);
  }
  const out = sizeOf(b.shape);
  return sizeOf(g2.shape) + out < sizeOf(a2.shape)
    ? swapLast(matmul(swapLast(g2), a2))
    : matmul(swapLast(a2), g2);
}

/**
 * Sums a broadcast gradient back to an input's shape: the one place broadcasting is undone.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sumToShape } from "./grad.ts";
 * const g = new Graph();
 * const gy = g.input("gy", { dtype: "float32", shape: [4, 2, 3] });
 * assert.ok(sumToShape(gy, [2, 1]).shape.join() === "2,1");
 * ```
 */
export function sumToShape(g: Value, shape: Shape): Value {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return reshape(axes.length ? reduceSum(g, { axes }) : g, [...shape]);
}

/** Options for {@link grad}. */
export interface GradOptions {
  /** Gradient of the final objective with respect to `loss` (default: ones, loss scalar). */
  readonly seed?: Value;
}

/**
 * Emits the gradient of `loss` with respect to each of `wrt` (graph inputs, initializers or
 * intermediate values). Only nodes between `wrt` and `loss` get backward ops; values that do
 * not influence the loss get zeros. Frozen weights simply are not listed in `wrt`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { mul, reduceSum } from "./ops.ts";
 * import { grad } from "./grad.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [3] });
 * const [dx] = grad(reduceSum(mul(x, x)), [x]); // d/dx sum(x^2) = 2x
 * assert.ok(dx.shape.join() === "3");
 * ```
 */
export function grad(loss: Value, wrt: readonly Value[], options: GradOptions = {}): Value[] {
  const graph = loss.graph;
  if (!options.seed && loss.shape.length !== 0) {
    throw new GraphError(
      "grad",
      `loss '${loss.name}' must be a scalar (shape [${loss.shape}]) or a seed given`,
    );
  }
  const seed = options.seed ?? graph.constant(1, { dtype: loss.dtype });
  const forward = [...graph.nodes];
  const depends = new Set(wrt.map((w) => w.name));
  for (const node of forward) {
    if (node.inputs.some((v) => v && isFloat(v.dtype) && depends.has(v.name))) {
      for (const y of node.outputs) if (isFloat(y.dtype)) depends.add(y.name);
    }
  }
  const grads = new Map<string, Value>([[loss.name, seed]]);
  graph.scope("grad", () => {
    for (let n = forward.length - 1; n >= 0; n--) {
      const node = forward[n];
      const gy = node.outputs.map((y) => grads.get(y.name));
      if (gy.every((g) => g === undefined)) continue;
      const needs = node.inputs.map((v) => !!v && isFloat(v.dtype) && depends.has(v.name));
      if (!needs.some(Boolean)) continue;
      const rule = GRAD_RULES[node.op];
      if (!rule) {
        throw new GraphError(node.op, `no gradient rule for op '${node.op}' (node '${node.name}')`);
      }
      const gx = rule({ node, gy, needs });
      node.inputs.forEach((x, i) => {
        const g = gx[i];
        if (!x || !needs[i] || !g) return;
        const reduced = sumToShape(g, x.shape);
        const prev = grads.get(x.name);
        grads.set(x.name, prev ? add(prev, reduced) : reduced);
      });
    }
  });
  return wrt.map((w) => grads.get(w.name) ?? zerosOf(w));
}
