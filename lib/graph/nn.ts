/**
 * Higher ops composed from the primitives in ops.ts, so their gradients come from the
 * primitive rules: GELU, linear layers, LayerNorm, attention, losses.
 * @module
 */
import type { Value } from "./builder.ts";
import { GraphError } from "./errors.ts";
import {
  add,
  cast,
  concat,
  div,
  equal,
  erf,
  layerNormalization,
  logSoftmax,
  matmul,
  mul,
  neg,
  not,
  reduceMean,
  reduceSum,
  reshape,
  softmax,
  split,
  sub,
  transpose,
  unsqueeze,
  where,
} from "./ops.ts";
import { showShape } from "./types.ts";

/**
 * GELU with the exact erf form, 0.5 x (1 + erf(x / sqrt 2)), as Whisper and PyTorch use.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { gelu } from "./nn.ts";
 * const g = new Graph();
 * assert.ok(gelu(g.input("x", { dtype: "float32", shape: [4] })).shape.join() === "4");
 * ```
 */
export function gelu(x: Value): Value {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/**
 * x @ w (+ b): w is [in, out].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { linear } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const w = g.constant([3, 4], { dtype: "float32", shape: [2, 1] });
 * const b = g.constant([1], { dtype: "float32", shape: [1] });
 * g.output(linear(g.input("x", { dtype: "float32", shape: [1, 2] }), { weight: w, bias: b }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.deepEqual([...y], [12]); // 1 * 3 + 2 * 4 + 1
 * ```
 */
export function linear(x: Value, options: { weight: Value; bias?: Value }): Value {
  const y = matmul(x, options.weight);
  return options.bias ? add(y, options.bias) : y;
}

/**
 * LayerNorm over the last axis with affine scale and bias.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { layerNorm } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const scale = g.constant(2, { dtype: "float32", shape: [2] });
 * const bias = g.constant(1, { dtype: "float32", shape: [2] });
 * g.output(layerNorm(g.input("x", { dtype: "float32", shape: [1, 2] }), { scale, bias }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 3]) }));
 * assert.ok(Math.abs(Number(y[0]) + 1) < 1e-4 && Math.abs(Number(y[1]) - 3) < 1e-4); // 2 (+-1) + 1
 * ```
 */
export function layerNorm(
  x: Value,
  options: { scale: Value; bias: Value; epsilon?: number },
): Value {
  const { scale, bias, epsilon = 1e-5 } = options;
  return layerNormalization(x, { scale, bias, epsilon }).y;
}

/**
 * Mean squared error over all elements.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { mseLoss } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const [p, t] = ["p", "t"].map((n) => g.input(n, { dtype: "float32", shape: [2] }));
 * g.output(mseLoss(p, t), "loss");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { p: new Float32Array([1, 3]), t: new Float32Array([1, 1]) };
 * const { loss } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...loss], [2]); // (0^2 + 2^2) / 2
 * ```
 */
export function mseLoss(prediction: Value, target: Value): Value {
  const d = sub(prediction, target);
  return reduceMean(mul(d, d));
}

/** Options for {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Target id whose positions are ignored (default -100, as in PyTorch). */
  readonly ignoreIndex?: number;
  /** 'mean' over kept positions (default), 'sum', or 'none' (per position, zeros where ignored). */
  readonly reduction?: "mean" | "sum" | "none";
}

/**
 * Cross-entropy of logits [..., V] against int64 targets [...], ignoring positions whose
 * target is `ignoreIndex`. Built as log-softmax times a one-hot mask, so it differentiates
 * through the primitive rules; the mean divides by max(kept, 1) so an all-ignored batch is 0.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { crossEntropy } from "./nn.ts";
 * const g = new Graph();
 * const logits = g.input("logits", { dtype: "float32", shape: [2, 5, 10] });
 * const targets = g.input("targets", { dtype: "int64", shape: [2, 5] });
 * assert.ok(crossEntropy(logits, targets).shape.length === 0);
 * ```
 */
export function crossEntropy(
  logits: Value,
  targets: Value,
  options: CrossEntropyOptions = {},
): Value {
  const { ignoreIndex = -100, reduction = "mean" } = options;
  const lead = logits.shape.slice(0, -1), vocab = logits.shape[logits.shape.length - 1];
  if (targets.dtype !== "int64" || lead.join() !== targets.shape.join()) {
    throw new GraphError(
      "crossEntropy",
      `targets must be int64 ${showShape(lead)}, got ${targets.dtype} ${showShape(targets.shape)}`,
    );
  }
  const ids = logits.graph.constant([...Array(vocab).keys()], { dtype: "int64", shape: [vocab] });
  const oneHot = cast(equal(unsqueeze(targets, [-1]), ids), logits.dtype);
  const kept = cast(not(equal(targets, ignoreIndex)), logits.dtype);
  const nll = mul(neg(reduceSum(mul(logSoftmax(logits), oneHot), { axes: [-1] })), kept);
  if (reduction === "none") return nll;
  const total = reduceSum(nll);
  if (reduction === "sum") return total;
  const count = reduceSum(kept);
  return div(total, where(equal(count, 0), { ifTrue: 1, ifFalse: count }));
}

/**
 * An additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. A large finite
 * value (not -inf) keeps fully masked rows finite.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { causalMask } from "./nn.ts";
 * const g = new Graph();
 * const mask = causalMask(g.input("x", { dtype: "float32", shape: [1] }), 2);
 * assert.deepEqual([...g.constantData(mask)!], [0, -1e9, 0, 0]); // row i sees columns <= i
 * ```
 */
export function causalMask(like: Value, length: number): Value {
  const data: number[] = [];
  for (let i = 0; i < length; i++) for (let j = 0; j < length; j++) data.push(j > i ? -1e9 : 0);
  return like.graph.constant(data, { dtype: like.dtype, shape: [length, length] });
}

/**
 * Scaled dot-product attention over [B, H, T, dh] tensors with an optional additive mask.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { attention } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * // A single key and value.
 * const kv = g.constant([7, 8], { dtype: "float32", shape: [1, 1, 1, 2] });
 * const q = g.input("q", { dtype: "float32", shape: [1, 1, 2, 2] });
 * g.output(attention(q, { k: kv, v: kv }), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { q: new Float32Array([1, 2, 3, 4]) }));
 * assert.deepEqual([...y], [7, 8, 7, 8]); // every query attends fully to the one value
 * ```
 */
export function attention(q: Value, options: { k: Value; v: Value; mask?: Value }): Value {
  const { k, v, mask } = options;
  const dh = q.shape[q.shape.length - 1];
  // Scaling q ([.., T, dh]) rather than the scores ([.., T, T]) saves a pass each way.
  const scores = matmul(mul(q, 1 / Math.sqrt(dh)), transpose(k, [0, 1, 3, 2]));
  return matmul(softmax(mask ? add(scores, mask) : scores), v);
}

/**
 * [B, T, D] -> [B, H, T, D/H].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { splitHeads } from "./nn.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2, 5, 8] });
 * assert.deepEqual(splitHeads(x, 2).shape, [2, 2, 5, 4]);
 * assert.throws(() => splitHeads(x, 3), /width 8 is not divisible by 3 heads/);
 * ```
 */
export function splitHeads(x: Value, heads: number): Value {
  const [b, t, d] = x.shape;
  if (d % heads !== 0) {
    throw new GraphError("splitHeads", `width ${d} is not divisible by ${heads} heads`);
  }
  return transpose(reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
}

/**
 * [B, H, T, dh] -> [B, T, H*dh].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { mergeHeads, splitHeads } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * g.output(mergeHeads(splitHeads(g.input("x", { dtype: "float32", shape: [1, 2, 4] }), 2)), "y");
 * assert.deepEqual(g.outputs[0].shape, [1, 2, 4]);
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) }));
 * assert.deepEqual([...y], [1, 2, 3, 4, 5, 6, 7, 8]); // merge undoes split
 * ```
 */
export function mergeHeads(x: Value): Value {
  const [b, h, t, dh] = x.shape;
  return reshape(transpose(x, [0, 2, 1, 3]), [b, t, h * dh]);
}

/**
 * An additive attention mask [B, 1, 1, T] from a 0/1 key mask [B, T] (1 = a real position):
 * 0 where kept, -1e9 where masked, so padding gets no attention.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { keyPaddingMask } from "./nn.ts";
 * const g = new Graph();
 * const m = keyPaddingMask(g.input("m", { dtype: "float32", shape: [2, 5] }));
 * assert.deepEqual(m.shape, [2, 1, 1, 5]);
 * ```
 */
export function keyPaddingMask(mask: Value): Value {
  const [b, t] = mask.shape;
  const keep = mask.dtype === "float32" ? mask : cast(mask, "float32");
  return reshape(mul(sub(1, keep), -1e9), [b, 1, 1, t]);
}

/** Parameters of a Whisper-style attention block (key projection has no bias). */
export interface AttentionParams {
  /** Query projection: w [D, D], b [D]. */
  readonly q: { w: Value; b: Value };
  /** Key projection: w [D, D], no bias. */
  readonly k: { w: Value };
  /** Value projection: w [D, D], b [D]. */
  readonly v: { w: Value; b: Value };
  /** Output projection: w [D, D], b [D]. */
  readonly o: { w: Value; b: Value };
}

/**
 * Multi-head attention: queries from x, keys and values from `source` (x itself for
 * self-attention, encoder states for cross-attention). Projections that read the same input
 * run as one wider GEMM over concatenated weights (faster than three narrow ones); the
 * concatenation's gradient is a slice, so the parameters stay separate, as in Whisper.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { multiHeadAttention } from "./nn.ts";
 * const g = new Graph();
 * const w = (n: string) => g.input(n, { dtype: "float32", shape: [8, 8] });
 * const b = (n: string) => g.input(n, { dtype: "float32", shape: [8] });
 * const p = {
 *   q: { w: w("qw"), b: b("qb") },
 *   k: { w: w("kw") },
 *   v: { w: w("vw"), b: b("vb") },
 *   o: { w: w("ow"), b: b("ob") },
 * };
 * const x = g.input("x", { dtype: "float32", shape: [2, 5, 8] });
 * const y = multiHeadAttention(x, p, { heads: 2, causal: true });
 * assert.ok(y.shape.join() === "2,5,8");
 * ```
 */
export function multiHeadAttention(
  x: Value,
  p: AttentionParams,
  options: { heads: number; source?: Value; causal?: boolean },
): Value {
  if (options.causal && options.source) {
    throw new GraphError(
      "multiHeadAttention",
      "a causal mask applies to self-attention only; drop causal or source",
    );
  }
  const d = p.k.w.shape[1];
  const noBias = x.graph.constant(0, { dtype: x.dtype, shape: [d] });
  let q: Value, k: Value, v: Value;
  if (options.source) {
    q = linear(x, { weight: p.q.w, bias: p.q.b });
    const kv = linear(options.source, {
      weight: concat([p.k.w, p.v.w], 1),
      bias: concat([noBias, p.v.b], 0),
    });
    [k, v] = split(kv, [d, d], { axis: -1 });
  } else {
    const w = concat([p.q.w, p.k.w, p.v.w], 1), b = concat([p.q.b, noBias, p.v.b], 0);
    [q, k, v] = split(linear(x, { weight: w, bias: b }), [d, d, d], { axis: -1 });
  }
  const mask = options.causal ? causalMask(x, x.shape[1]) : undefined;
  const heads = (t: Value) => splitHeads(t, options.heads);
  return linear(mergeHeads(attention(heads(q), { k: heads(k), v: heads(v), mask })), {
    weight: p.o.w,
    bias: p.o.b,
  });
}

/**
 * Sum of squares of several tensors (for global gradient norms).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { sumOfSquares } from "./nn.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [2] });
 * const b = g.input("b", { dtype: "float32", shape: [1, 1] });
 * g.output(sumOfSquares([a, b]), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const feeds = { a: new Float32Array([1, 2]), b: new Float32Array([3]) };
 * const { y } = await orThrow(runSession(s, feeds));
 * assert.deepEqual([...y], [14]); // 1 + 4 + 9
 * ```
 */
export function sumOfSquares(values: readonly Value[]): Value {
  const parts = values.map((v) => reshape(reduceSum(mul(v, v)), [1]));
  return reduceSum(parts.length === 1 ? parts[0] : concat(parts, 0));
}
