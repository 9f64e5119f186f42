/**
 * Two small training problems for tests, the demo and the benchmark: a GELU MLP and a
 * Whisper-style pre-LN transformer block (causal self-attention, GELU MLP), both regressing
 * a target with mean squared error. The block mirrors scripts/bench_torch.py exactly.
 * @module
 */
import type { Value } from "./builder.ts";
import { gelu, layerNorm, linear, mseLoss, multiHeadAttention } from "./nn.ts";
import { add } from "./ops.ts";
import { init, type ParamDef } from "./params.ts";
import type { TrainSpec } from "./train.ts";
import { fillNormal, type Rng } from "../random.ts";

/** A toy problem: parameter declarations, the train spec, and matmul FLOPs of one step. */
export interface ToyProblem {
  /** Parameter declarations (shapes and initialisers). */
  readonly defs: Readonly<Record<string, ParamDef>>;
  /** What a training step trains: parameters, batch inputs, loss. */
  readonly spec: TrainSpec;
  /** Matmul FLOPs of forward + backward (3x forward), the convention BENCHMARKS.md uses. */
  readonly flopsPerStep: number;
}

const shapes = (defs: Record<string, ParamDef>) =>
  Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, d.shape]));

/**
 * MLP x [batch, din] -> GELU(x W1 + b1) W2 + b2 -> MSE against a target [batch, dout].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { mlpProblem } from "./toy.ts";
 * const p = mlpProblem({ batch: 8, din: 4, hidden: 16, dout: 2 });
 * assert.ok(p.flopsPerStep === 3 * 2 * 8 * (4 * 16 + 16 * 2));
 * ```
 */
export function mlpProblem(
  size: { batch: number; din: number; hidden: number; dout: number },
): ToyProblem {
  const { batch, din, hidden, dout } = size;
  const defs: Record<string, ParamDef> = {
    w1: { shape: [din, hidden], init: init.normal(0.02) },
    b1: { shape: [hidden], init: init.zeros() },
    w2: { shape: [hidden, dout], init: init.normal(0.02) },
    b2: { shape: [dout], init: init.zeros() },
  };
  return {
    defs,
    spec: {
      params: shapes(defs),
      batch: {
        x: { dtype: "float32", shape: [batch, din] },
        target: { dtype: "float32", shape: [batch, dout] },
      },
      loss: (p, b) =>
        mseLoss(
          linear(gelu(linear(b.x, { weight: p.w1, bias: p.b1 })), { weight: p.w2, bias: p.b2 }),
          b.target,
        ),
    },
    flopsPerStep: 3 * 2 * batch * (din * hidden + hidden * dout),
  };
}

/** Sizes of the transformer-block problem. */
export interface BlockSize {
  /** Sequences per batch. */
  readonly batch: number;
  /** Sequence length. */
  readonly seq: number;
  /** Model width. */
  readonly d: number;
  /** Attention heads (must divide d). */
  readonly heads: number;
}

/**
 * Parameter declarations of one pre-LN block, names matching scripts/bench_torch.py.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { blockParams } from "./toy.ts";
 * const defs = blockParams(8);
 * assert.equal(Object.keys(defs).length, 15);
 * assert.deepEqual(defs["mlp.fc1.w"].shape, [8, 32]);
 * assert.equal(defs["ln1.scale"].init.kind, "ones");
 * ```
 */
export function blockParams(d: number): Record<string, ParamDef> {
  const w = (i: number, o: number): ParamDef => ({ shape: [i, o], init: init.normal(0.02) });
  const zeros = (n: number): ParamDef => ({ shape: [n], init: init.zeros() });
  const ones = (n: number): ParamDef => ({ shape: [n], init: init.ones() });
  return {
    "ln1.scale": ones(d),
    "ln1.bias": zeros(d),
    "attn.q.w": w(d, d),
    "attn.q.b": zeros(d),
    "attn.k.w": w(d, d),
    "attn.v.w": w(d, d),
    "attn.v.b": zeros(d),
    "attn.o.w": w(d, d),
    "attn.o.b": zeros(d),
    "ln2.scale": ones(d),
    "ln2.bias": zeros(d),
    "mlp.fc1.w": w(d, 4 * d),
    "mlp.fc1.b": zeros(4 * d),
    "mlp.fc2.w": w(4 * d, d),
    "mlp.fc2.b": zeros(d),
  };
}

/**
 * x + attn(LN1 x); then + MLP(LN2 x): Whisper's residual block without cross-attention.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { blockParams, transformerBlock } from "./toy.ts";
 * const g = new Graph();
 * const entries = Object.entries(blockParams(8));
 * const p = Object.fromEntries(
 *   entries.map(([k, d]) => [k, g.input(k, { dtype: "float32", shape: d.shape })]),
 * );
 * const x = g.input("x", { dtype: "float32", shape: [2, 5, 8] });
 * const y = transformerBlock(x, p, { heads: 2, causal: true });
 * assert.ok(y.shape.join() === "2,5,8");
 * ```
 */
export function transformerBlock(
  x: Value,
  p: Readonly<Record<string, Value>>,
  options: { heads: number; causal: boolean },
): Value {
  const a = layerNorm(x, { scale: p["ln1.scale"], bias: p["ln1.bias"] });
  const attn = multiHeadAttention(a, {
    q: { w: p["attn.q.w"], b: p["attn.q.b"] },
    k: { w: p["attn.k.w"] },
    v: { w: p["attn.v.w"], b: p["attn.v.b"] },
    o: { w: p["attn.o.w"], b: p["attn.o.b"] },
  }, options);
  const x1 = add(x, attn);
  const h = gelu(
    linear(layerNorm(x1, { scale: p["ln2.scale"], bias: p["ln2.bias"] }), {
      weight: p["mlp.fc1.w"],
      bias: p["mlp.fc1.b"],
    }),
  );
  return add(x1, linear(h, { weight: p["mlp.fc2.w"], bias: p["mlp.fc2.b"] }));
}

/**
 * One causal pre-LN block regressing a target [batch, seq, d] with MSE.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { blockProblem } from "./toy.ts";
 * const p = blockProblem({ batch: 2, seq: 4, d: 8, heads: 2 });
 * assert.ok(Object.keys(p.defs).length === 15);
 * ```
 */
export function blockProblem(size: BlockSize): ToyProblem {
  const { batch, seq, d, heads } = size;
  const defs = blockParams(d);
  const tokens = batch * seq;
  const forward = 2 * tokens * d * d * 4 + 2 * tokens * d * 4 * d * 2 +
    2 * 2 * batch * seq * seq * d;
  return {
    defs,
    spec: {
      params: shapes(defs),
      batch: {
        x: { dtype: "float32", shape: [batch, seq, d] },
        target: { dtype: "float32", shape: [batch, seq, d] },
      },
      loss: (p, b) => mseLoss(transformerBlock(b.x, p, { heads, causal: true }), b.target),
    },
    flopsPerStep: 3 * forward,
  };
}

/**
 * A batch for the block problem's toy task: x ~ N(0, 1) of [copies * batch, seq, d] and its
 * causal running mean, target[t] = mean(x[0..t]), which only attention to the past can
 * compute. `copies` stacks batches for fused steps.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { runningMeanBatch } from "./toy.ts";
 * const { x, target } = runningMeanBatch({ batch: 1, seq: 2, d: 1 }, { rng: createRng(0) });
 * assert.ok(target[0] === x[0] && Math.abs(target[1] - (x[0] + x[1]) / 2) < 1e-6);
 * ```
 */
export function runningMeanBatch(
  size: { batch: number; seq: number; d: number; copies?: number },
  options: { rng: Rng },
): { x: Float32Array; target: Float32Array } {
  const { batch, seq, d, copies = 1 } = size;
  const x = fillNormal(new Float32Array(copies * batch * seq * d), options.rng, {});
  const target = new Float32Array(x.length);
  for (let s = 0; s < copies * batch; s++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let t = 0; t < seq; t++) {
        const i = (s * seq + t) * d + j;
        acc += x[i];
        target[i] = acc / (t + 1);
      }
    }
  }
  return { x, target };
}
