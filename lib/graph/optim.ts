/**
 * AdamW and global-norm gradient clipping emitted into the training graph. The learning rate
 * and step are graph inputs, so schedules live in TypeScript.
 * @module
 */
import type { Value } from "./builder.ts";
import { add, cast, div, greater, mul, pow, sqrt, sub, where } from "./ops.ts";
import { sumOfSquares } from "./nn.ts";

/** AdamW hyperparameters (Loshchilov & Hutter 2019, decoupled weight decay). */
export interface AdamWConfig {
  /** Decay rate of the first-moment (mean) estimate. */
  readonly beta1: number;
  /** Decay rate of the second-moment (uncentred variance) estimate. */
  readonly beta2: number;
  /** Added to the denominator for numerical stability. */
  readonly eps: number;
  /** Decoupled weight decay, applied as p (1 - lr weightDecay). */
  readonly weightDecay: number;
}

/**
 * PyTorch's AdamW defaults.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ADAMW_DEFAULTS, type AdamWConfig } from "./optim.ts";
 * const noDecay: AdamWConfig = { ...ADAMW_DEFAULTS, weightDecay: 0 };
 * assert.deepEqual([ADAMW_DEFAULTS.beta1, ADAMW_DEFAULTS.beta2], [0.9, 0.999]);
 * assert.ok(noDecay.eps === 1e-8 && ADAMW_DEFAULTS.weightDecay === 0.01);
 * ```
 */
export const ADAMW_DEFAULTS: AdamWConfig = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
};

/** One parameter's tensors in an update. */
export interface AdamWSlot {
  /** The parameter before the update. */
  readonly param: Value;
  /** Its gradient (before the clip coefficient is applied). */
  readonly grad: Value;
  /** Its first-moment estimate. */
  readonly m: Value;
  /** Its second-moment estimate. */
  readonly v: Value;
  /** Whether weight decay applies (usually not to biases and norms). */
  readonly decay: boolean;
}

/**
 * The global-norm clipping coefficient min(1, maxNorm / (norm + 1e-6)), as
 * torch.nn.utils.clip_grad_norm_, and the norm before clipping. The coefficient is a scalar
 * so that AdamW can fold it into its constants instead of rescaling every gradient.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { clipCoefficient } from "./optim.ts";
 * const g = new Graph();
 * const { scale, norm } = clipCoefficient([g.input("g", { dtype: "float32", shape: [3] })], 1);
 * assert.ok(scale.shape.length === 0 && norm.shape.length === 0);
 * ```
 */
export function clipCoefficient(
  grads: readonly Value[],
  maxNorm: number,
): { scale: Value; norm: Value } {
  const norm = sqrt(sumOfSquares(grads));
  const coef = div(maxNorm, add(norm, 1e-6));
  return { scale: where(greater(coef, 1), { ifTrue: 1, ifFalse: coef }), norm };
}

/**
 * Emits one AdamW update for each slot, on gradients multiplied by `gradScale` (the clip
 * coefficient, default 1). `lr` and `step` are scalars; step counts from 1 and drives the
 * bias corrections 1 - beta^step. Give them as float64: the corrections are computed in their
 * dtype, and 1 - 0.999^t loses five digits to cancellation in float32.
 *
 * m' = b1 m + (1 - b1) s g;  v' = b2 v + (1 - b2) s^2 g^2;
 * p' = p (1 - lr wd) - (lr / (1 - b1^t)) m' / (sqrt(v') / sqrt(1 - b2^t) + eps)
 *
 * The clip coefficient folds into the moment constants (14 passes per element, none extra
 * for clipping), and lr = 0 leaves parameters unchanged, as in PyTorch.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { ADAMW_DEFAULTS, adamw } from "./optim.ts";
 * const g = new Graph();
 * const [param, grad, m, v] = ["p", "g", "m", "v"].map((n) =>
 *   g.input(n, { dtype: "float32", shape: [2] })
 * );
 * const lr = g.input("lr", { dtype: "float64", shape: [] });
 * const step = g.input("step", { dtype: "float64", shape: [] });
 * const [next] = adamw([{ param, grad, m, v, decay: true }], { lr, step, config: ADAMW_DEFAULTS });
 * assert.ok(next.param.shape.join() === "2");
 * ```
 */
export function adamw(
  slots: readonly AdamWSlot[],
  options: { lr: Value; step: Value; config: AdamWConfig; gradScale?: Value },
): { param: Value; m: Value; v: Value }[] {
  const { lr, step, config } = options;
  const { beta1, beta2, eps, weightDecay } = config;
  const dtype = slots[0]?.param.dtype ?? "float32";
  const scalar = (x: Value) => (x.dtype === dtype ? x : cast(x, dtype));
  const stepSize = scalar(div(lr, sub(1, pow(beta1, step))));
  const invSqrtBc2 = scalar(div(1, sqrt(sub(1, pow(beta2, step)))));
  const decayFactor = scalar(sub(1, mul(lr, weightDecay)));
  const s = options.gradScale;
  const k1 = s ? mul(s, 1 - beta1) : 1 - beta1, k2 = s ? mul(mul(s, s), 1 - beta2) : 1 - beta2;
  return slots.map(({ param, grad, m, v, decay }) => {
    const m2 = add(mul(m, beta1), mul(grad, k1));
    const v2 = add(mul(v, beta2), mul(mul(grad, grad), k2));
    const base = decay && weightDecay !== 0 ? mul(param, decayFactor) : param;
    const update = div(mul(m2, stepSize), add(mul(sqrt(v2), invSqrtBc2), eps));
    return { param: sub(base, update), m: m2, v: v2 };
  });
}
