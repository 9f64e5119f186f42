/**
 * The text-to-semantic velocity network v(x_t, t, text) as graph functions. Text is UTF-8
 * bytes padded to the frame count with a filler token (F5-TTS's scheme), encoded by ConvNeXt
 * blocks; the backbone is a transformer whose blocks are modulated by the time embedding
 * with adaLN-zero (DiT: Peebles & Xie 2023), so each block starts as the identity. Padding
 * frames are masked out of attention and zeroed in the text features.
 * @module
 */
import type { Value } from "../graph/builder.ts";
import {
  attention,
  gelu,
  keyPaddingMask,
  layerNorm,
  linear,
  mergeHeads,
  splitHeads,
} from "../graph/nn.ts";
import {
  add,
  concat,
  conv1d,
  cos,
  gather,
  layerNormalization,
  mul,
  reshape,
  sigmoid,
  sin,
  split,
  transpose,
  unsqueeze,
} from "../graph/ops.ts";
import { init, type ParamDef } from "../graph/params.ts";
import { sinusoids } from "../graph/positional.ts";
import type { T2SConfig } from "./config.ts";

/** Text ids: 0 is the filler (padding, and the dropped condition of guidance); 1..256 bytes. */
export const FILLER = 0, TEXT_VOCAB = 257;

/**
 * Parameter shapes and initialisers for `config` producing states `config.width` wide.
 * Modulation and output layers start at zero (adaLN-zero), so v = 0 at initialisation.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { t2sParamDefs } from "./network.ts";
 * const defs = t2sParamDefs({ width: 32, depth: 2, heads: 2, mlpRatio: 2, textWidth: 16,
 *   textBlocks: 1, kernel: 7, timeChannels: 64 });
 * assert.deepEqual(defs["in.w"].shape, [48, 32]);
 * assert.equal(defs["out.w"].init.kind, "zeros");
 * ```
 */
export function t2sParamDefs(config: T2SConfig): Record<string, ParamDef> {
  const { width: w, textWidth: c, kernel, timeChannels, mlpRatio } = config;
  const dense = (i: number, o: number): ParamDef => ({ shape: [i, o], init: init.xavier(i, o) });
  const zeros = (...shape: number[]): ParamDef => ({ shape, init: init.zeros() });
  const ones = (n: number): ParamDef => ({ shape: [n], init: init.ones() });
  const defs: Record<string, ParamDef> = {
    "text.embed": { shape: [TEXT_VOCAB, c], init: init.normal(0.02) },
    "time.fc1.w": dense(timeChannels, w),
    "time.fc1.b": zeros(w),
    "time.fc2.w": dense(w, w),
    "time.fc2.b": zeros(w),
    "in.w": dense(w + c, w),
    "in.b": zeros(w),
    "out.mod.w": zeros(w, 2 * w),
    "out.mod.b": zeros(2 * w),
    "out.w": zeros(w, w),
    "out.b": zeros(w),
  };
  for (let i = 0; i < config.textBlocks; i++) {
    Object.assign(defs, {
      [`text.${i}.dw.w`]: { shape: [kernel, c], init: init.normal(1 / Math.sqrt(kernel)) },
      [`text.${i}.dw.b`]: zeros(c),
      [`text.${i}.ln.s`]: ones(c),
      [`text.${i}.ln.b`]: zeros(c),
      [`text.${i}.fc1.w`]: dense(c, 2 * c),
      [`text.${i}.fc1.b`]: zeros(2 * c),
      [`text.${i}.fc2.w`]: dense(2 * c, c),
      [`text.${i}.fc2.b`]: zeros(c),
    });
  }
  for (let i = 0; i < config.depth; i++) {
    Object.assign(defs, {
      [`b${i}.mod.w`]: zeros(w, 6 * w),
      [`b${i}.mod.b`]: zeros(6 * w),
      [`b${i}.qkv.w`]: dense(w, 3 * w),
      [`b${i}.qkv.b`]: zeros(3 * w),
      [`b${i}.o.w`]: dense(w, w),
      [`b${i}.o.b`]: zeros(w),
      [`b${i}.fc1.w`]: dense(w, mlpRatio * w),
      [`b${i}.fc1.b`]: zeros(mlpRatio * w),
      [`b${i}.fc2.w`]: dense(mlpRatio * w, w),
      [`b${i}.fc2.b`]: zeros(w),
    });
  }
  return defs;
}

type Params = Readonly<Record<string, Value>>;
const silu = (x: Value) => mul(x, sigmoid(x));
const dense = (x: Value, p: Params, name: string) =>
  linear(x, { weight: p[`${name}.w`], bias: p[`${name}.b`] });

/** LayerNorm without affine parameters (adaLN supplies scale and shift). */
function plainNorm(x: Value): Value {
  const d = x.shape[x.shape.length - 1];
  const scale = x.graph.constant(1, { dtype: x.dtype, shape: [d] });
  const bias = x.graph.constant(0, { dtype: x.dtype, shape: [d] });
  return layerNormalization(x, { scale, bias, epsilon: 1e-6 }).y;
}

/** x * (1 + scale) + shift with [B, W] modulations broadcast over frames. */
const modulate = (x: Value, shift: Value, scale: Value) =>
  add(mul(x, add(unsqueeze(scale, [1]), 1)), unsqueeze(shift, [1]));

/**
 * Depthwise 1-D convolution over frames of [B, F, C] with "same" padding: one Conv with
 * group = C. The kernel parameter is stored [K, C] (tap-major), as checkpoints hold it.
 */
function depthwiseConv(x: Value, weight: Value, bias: Value): Value {
  const [, , channels] = x.shape, k = weight.shape[0];
  const kernel = reshape(transpose(weight, [1, 0]), [channels, 1, k]);
  const y = conv1d(transpose(x, [0, 2, 1]), kernel, {
    bias,
    padding: (k - 1) / 2,
    groups: channels,
  });
  return transpose(y, [0, 2, 1]);
}

/**
 * Text features [B, F, textWidth] from byte ids [B, F] (filler-padded) and the frame mask.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { initParams } from "../graph/params.ts";
 * import { createRng } from "../random.ts";
 * import { t2sConfig } from "./config.ts";
 * import { graphParams, t2sParamDefs, textEncoder } from "./network.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const g = new Graph();
 * const p = graphParams(g, t2sParamDefs(config.right));
 * const text = g.input("text", { dtype: "int64", shape: [2, 9] });
 * const mask = g.input("mask", { dtype: "float32", shape: [2, 9] });
 * assert.deepEqual(textEncoder(text, { params: p, config: config.right, mask }).shape, [2, 9, 16]);
 * ```
 */
export function textEncoder(
  text: Value,
  options: { params: Readonly<Record<string, Value>>; config: T2SConfig; mask: Value },
): Value {
  const { params: p, config, mask } = options;
  const keep = unsqueeze(mask, [2]);
  let x = mul(gather(p["text.embed"], text), keep);
  for (let i = 0; i < config.textBlocks; i++) {
    const n = `text.${i}`;
    const h = depthwiseConv(x, p[`${n}.dw.w`], p[`${n}.dw.b`]);
    const normed = layerNorm(h, { scale: p[`${n}.ln.s`], bias: p[`${n}.ln.b`], epsilon: 1e-6 });
    x = mul(add(x, dense(gelu(dense(normed, p, `${n}.fc1`)), p, `${n}.fc2`)), keep);
  }
  return x;
}

/** Sinusoidal embedding [B, channels] of times t [B] (scaled by 1000, as in DiT and F5-TTS). */
function timeEmbedding(t: Value, channels: number): Value {
  const half = channels / 2;
  const freqs = Array.from(
    { length: half },
    (_, i) => 1000 * Math.exp(-Math.log(10000) * i / half),
  );
  const angles = mul(
    unsqueeze(t, [1]),
    t.graph.constant(freqs, { dtype: "float32", shape: [1, half] }),
  );
  return concat([sin(angles), cos(angles)], 1);
}

/** The network's graph inputs. */
export interface VelocityInputs {
  /** Noisy states x_t [B, F, width]. */
  readonly xt: Value;
  /** Times [B] in [0, 1]. */
  readonly t: Value;
  /** Byte ids [B, F] int64, filler-padded (all filler: the unconditional branch). */
  readonly text: Value;
  /** 0/1 float mask [B, F] of real frames. */
  readonly mask: Value;
}

/**
 * The velocity v(x_t, t, text) [B, F, width].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { t2sConfig } from "./config.ts";
 * import { graphParams, t2sParamDefs, velocity } from "./network.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const g = new Graph();
 * const params = graphParams(g, t2sParamDefs(config.right));
 * const xt = g.input("xt", { dtype: "float32", shape: [2, 9, 32] });
 * const t = g.input("t", { dtype: "float32", shape: [2] });
 * const text = g.input("text", { dtype: "int64", shape: [2, 9] });
 * const mask = g.input("mask", { dtype: "float32", shape: [2, 9] });
 * const v = velocity({ xt, t, text, mask }, { params, config: config.right });
 * assert.deepEqual(v.shape, [2, 9, 32]);
 * ```
 */
export function velocity(
  inputs: VelocityInputs,
  options: { params: Readonly<Record<string, Value>>; config: T2SConfig },
): Value {
  const { xt, t, text, mask } = inputs, { params: p, config } = options;
  const [, frames, w] = xt.shape;
  const c = silu(
    dense(silu(dense(timeEmbedding(t, config.timeChannels), p, "time.fc1")), p, "time.fc2"),
  );
  const features = textEncoder(text, { params: p, config, mask });
  const positions = xt.graph.constant([...sinusoids(frames, w)], {
    dtype: "float32",
    shape: [frames, w],
  });
  let x = add(dense(concat([xt, features], 2), p, "in"), positions);
  const keys = keyPaddingMask(mask);
  const h = (y: Value) => splitHeads(y, config.heads);
  for (let i = 0; i < config.depth; i++) {
    const [sa, ca, ga, sm, cm, gm] = split(dense(c, p, `b${i}.mod`), Array(6).fill(w), { axis: 1 });
    const [q, k, v] = split(dense(modulate(plainNorm(x), sa, ca), p, `b${i}.qkv`), [w, w, w], {
      axis: 2,
    });
    const a = dense(mergeHeads(attention(h(q), { k: h(k), v: h(v), mask: keys })), p, `b${i}.o`);
    x = add(x, mul(unsqueeze(ga, [1]), a));
    const m = dense(gelu(dense(modulate(plainNorm(x), sm, cm), p, `b${i}.fc1`)), p, `b${i}.fc2`);
    x = add(x, mul(unsqueeze(gm, [1]), m));
  }
  const [shift, scale] = split(dense(c, p, "out.mod"), [w, w], { axis: 1 });
  return dense(modulate(plainNorm(x), shift, scale), p, "out");
}

/**
 * Declares every parameter of `defs` as a float32 graph input named after it, shaped as its
 * definition says (for inference graphs; training steps declare them through buildTrainStep).
 * Returns the inputs by parameter name.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { init } from "../graph/params.ts";
 * import { graphParams } from "./network.ts";
 * const g = new Graph();
 * const p = graphParams(g, { "in.w": { shape: [4, 8], init: init.normal(0.02) } });
 * assert.deepEqual(p["in.w"].shape, [4, 8]);
 * assert.deepEqual(g.inputs.map((v) => g.serialName(v)), ["in.w"]);
 * ```
 */
export function graphParams(
  g: Value["graph"],
  defs: Readonly<Record<string, ParamDef>>,
): Record<string, Value> {
  return Object.fromEntries(
    Object.entries(defs).map(([n, d]) => [n, g.input(n, { dtype: "float32", shape: d.shape })]),
  );
}
