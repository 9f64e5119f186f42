/**
 * The masked vector-field (conditional flow matching) loss and the one-step estimate of the
 * data point, as TypeScript references and as graph ops that give the same numbers.
 * @module
 */
import type { Value } from "../graph/builder.ts";
import { GraphError } from "../graph/errors.ts";
import {
  add,
  cast,
  div,
  equal,
  greater,
  mul,
  not,
  reduceSum,
  reshape,
  sub,
  where,
} from "../graph/ops.ts";

/** Shape of a batch of state sequences: [batch, frames, dim]. */
export interface SequenceShape {
  /** Sequences in the batch. */
  readonly batch: number;
  /** Frames per sequence (padded length). */
  readonly frames: number;
  /** Values per frame. */
  readonly dim: number;
}

/**
 * Mean squared error between predicted and target velocities over each sample's valid
 * frames (mask[b, t] = 1 for valid, 0 for padding), averaged per sample over frames and
 * dims, then over the samples that have a valid frame (so long and short samples weigh the
 * same, and empty ones do not dilute the loss). Padding never enters, even when it is NaN.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { vectorFieldLoss } from "./loss.ts";
 * const loss = vectorFieldLoss(new Float32Array([1, 1, 9, 9]), new Float32Array([0, 0, 0, 0]), {
 *   mask: new Float32Array([1, 0]),
 *   shape: { batch: 1, frames: 2, dim: 2 },
 * });
 * assert.ok(loss === 1); // the padded frame (9, 9) is ignored
 * ```
 */
export function vectorFieldLoss(
  prediction: Float32Array,
  target: Float32Array,
  options: { mask: Float32Array; shape: SequenceShape },
): number {
  const { mask, shape } = options;
  const { batch, frames, dim } = shape;
  if (prediction.length !== batch * frames * dim || target.length !== prediction.length) {
    throw new RangeError(`vectorFieldLoss: arrays must have ${batch}x${frames}x${dim} values`);
  }
  if (mask.length !== batch * frames) {
    throw new RangeError(`vectorFieldLoss: mask must be ${batch}x${frames}`);
  }
  let total = 0, samples = 0;
  for (let b = 0; b < batch; b++) {
    let sum = 0, valid = 0;
    for (let t = 0; t < frames; t++) {
      if (!(mask[b * frames + t] > 0)) continue; // padding never enters, even if NaN
      valid++;
      for (let d = 0; d < dim; d++) {
        const i = (b * frames + t) * dim + d;
        sum += (prediction[i] - target[i]) ** 2;
      }
    }
    if (valid > 0) {
      total += sum / (valid * dim);
      samples++;
    }
  }
  return samples > 0 ? total / samples : 0;
}

/**
 * The graph form of {@link vectorFieldLoss}: prediction and target [B, T, D], mask [B, T].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { vectorFieldLossGraph } from "./loss.ts";
 * const g = new Graph();
 * const p = g.input("p", { dtype: "float32", shape: [2, 3, 4] });
 * const u = g.input("u", { dtype: "float32", shape: [2, 3, 4] });
 * const mask = g.input("m", { dtype: "float32", shape: [2, 3] });
 * assert.ok(vectorFieldLossGraph(p, u, { mask }).shape.length === 0);
 * ```
 */
export function vectorFieldLossGraph(
  prediction: Value,
  target: Value,
  options: { mask: Value },
): Value {
  const { mask } = options;
  const [b, t, d] = prediction.shape;
  if (prediction.shape.length !== 3 || mask.shape.join() !== `${b},${t}`) {
    throw new GraphError(
      "vectorFieldLoss",
      `needs prediction [B, T, D] and mask [B, T], got [${prediction.shape}] and [${mask.shape}]`,
    );
  }
  const diff = sub(prediction, target);
  const kept = greater(mask, 0); // [B, T]
  // Padding is dropped, not scaled.
  const perFrame = where(kept, { ifTrue: reduceSum(mul(diff, diff), { axes: [2] }), ifFalse: 0 });
  const sums = reduceSum(perFrame, { axes: [1] }); // [B]
  const valid = mul(reduceSum(cast(kept, prediction.dtype), { axes: [1] }), d); // [B]
  const empty = equal(valid, 0);
  const perSample = where(empty, {
    ifTrue: 0,
    ifFalse: div(sums, where(empty, { ifTrue: 1, ifFalse: valid })),
  });
  const samples = reduceSum(cast(not(empty), prediction.dtype));
  return div(reduceSum(perSample), where(equal(samples, 0), { ifTrue: 1, ifFalse: samples }));
}

/**
 * The one-step estimate of the endpoint, x1_hat = x_t + (1 - t) v: where a straight path
 * with velocity v lands (flowseq's anchor; the round-trip loss decodes it). t is per sample.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { oneStepEstimate } from "./loss.ts";
 * const t = new Float32Array([0.5]);
 * const x1 = oneStepEstimate(new Float32Array([1, 1]), new Float32Array([2, 4]), { t });
 * assert.ok(x1[0] === 2 && x1[1] === 3);
 * ```
 */
export function oneStepEstimate(
  xt: Float32Array,
  velocity: Float32Array,
  options: { t: Float32Array },
): Float32Array {
  const { t } = options;
  if (xt.length !== velocity.length || xt.length % t.length !== 0) {
    throw new RangeError(
      `oneStepEstimate: x_t (${xt.length}), v (${velocity.length}) and t (${t.length}) disagree`,
    );
  }
  const per = xt.length / t.length;
  return xt.map((x, i) => x + (1 - t[Math.floor(i / per)]) * velocity[i]);
}

/**
 * The graph form of {@link oneStepEstimate}: x_t and v [B, ...], t [B].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { oneStepEstimateGraph } from "./loss.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2, 3] });
 * const v = g.input("v", { dtype: "float32", shape: [2, 3] });
 * const t = g.input("t", { dtype: "float32", shape: [2] });
 * assert.ok(oneStepEstimateGraph(x, v, { t }).shape.join() === "2,3");
 * ```
 */
export function oneStepEstimateGraph(xt: Value, velocity: Value, options: { t: Value }): Value {
  const { t } = options;
  const remaining = reshape(sub(1, t), [t.shape[0], ...xt.shape.slice(1).map(() => 1)]);
  return add(xt, mul(remaining, velocity));
}
