/**
 * AdamW and global-norm gradient clipping emitted into the training graph. The learning rate
 * and step are graph inputs, so schedules live in TypeScript. The AdamW rule is written once,
 * over an arithmetic that is either graph values ({@link adamw}, the train step) or numbers
 * ({@link adamwInPlace}, updates of arrays outside a graph, such as decoder inversion).
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

/** The arithmetic the AdamW rule is written against: graph values, or plain numbers. */
interface Arithmetic<S> {
  readonly add: (a: S | number, b: S | number) => S;
  readonly sub: (a: S | number, b: S | number) => S;
  readonly mul: (a: S | number, b: S | number) => S;
  readonly div: (a: S | number, b: S | number) => S;
  readonly pow: (a: S | number, b: S | number) => S;
  readonly sqrt: (a: S) => S;
}

const VALUES: Arithmetic<Value> = { add, sub, mul, div, pow, sqrt };
const NUMBERS: Arithmetic<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  sqrt: Math.sqrt,
};

/** The step's constants of the rule: bias-corrected step size, 1 / sqrt(1 - b2^t), decay factor. */
interface StepConstants<S> {
  readonly stepSize: S;
  readonly invSqrtBc2: S;
  readonly decayFactor: S;
}

/** The constants of step `step` (counting from 1); `finish` maps each as it is made. */
function stepConstants<S>(
  a: Arithmetic<S>,
  options: { lr: S | number; step: S | number; config: AdamWConfig; finish?: (x: S) => S },
): StepConstants<S> {
  const { lr, step, config: { beta1, beta2, weightDecay } } = options;
  const finish = options.finish ?? ((x: S) => x);
  const stepSize = finish(a.div(lr, a.sub(1, a.pow(beta1, step))));
  const invSqrtBc2 = finish(a.div(1, a.sqrt(a.sub(1, a.pow(beta2, step)))));
  const decayFactor = finish(a.sub(1, a.mul(lr, weightDecay)));
  return { stepSize, invSqrtBc2, decayFactor };
}

/**
 * The AdamW rule for one parameter (a tensor, or one element): `k1` and `k2` are (1 - b1) and
 * (1 - b2), times the gradient scale and its square when there is one.
 */
function adamwRule<S>(
  a: Arithmetic<S>,
  slot: { param: S; grad: S; m: S; v: S; decay: boolean },
  constants: StepConstants<S> & { k1: S | number; k2: S | number; config: AdamWConfig },
): { param: S; m: S; v: S } {
  const { param, grad, m, v, decay } = slot;
  const { stepSize, invSqrtBc2, decayFactor, k1, k2 } = constants;
  const { beta1, beta2, eps, weightDecay } = constants.config;
  const m2 = a.add(a.mul(m, beta1), a.mul(grad, k1));
  const v2 = a.add(a.mul(v, beta2), a.mul(a.mul(grad, grad), k2));
  const base = decay && weightDecay !== 0 ? a.mul(param, decayFactor) : param;
  const update = a.div(a.mul(m2, stepSize), a.add(a.mul(a.sqrt(v2), invSqrtBc2), eps));
  return { param: a.sub(base, update), m: m2, v: v2 };
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
  const { beta1, beta2 } = config;
  const dtype = slots[0]?.param.dtype ?? "float32";
  const finish = (x: Value) => (x.dtype === dtype ? x : cast(x, dtype));
  const constants = stepConstants(VALUES, { lr, step, config, finish });
  const s = options.gradScale;
  const k1 = s ? mul(s, 1 - beta1) : 1 - beta1, k2 = s ? mul(mul(s, s), 1 - beta2) : 1 - beta2;
  return slots.map((slot) => adamwRule(VALUES, slot, { ...constants, k1, k2, config }));
}

/**
 * One AdamW step applied in place to arrays, by the rule {@link adamw} emits into graphs: for
 * parameters updated outside a graph (decoder inversion's states). `step` counts from 1; the
 * arithmetic is float64, each result stored at the arrays' precision. `decay` (default true)
 * says whether weight decay applies; with `config.weightDecay` 0 this is Adam.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ADAMW_DEFAULTS, adamwInPlace } from "./optim.ts";
 * const param = new Float32Array([1, -1]), m = new Float32Array(2), v = new Float32Array(2);
 * const config = { ...ADAMW_DEFAULTS, weightDecay: 0 };
 * adamwInPlace({ param, grad: new Float32Array([2, -0.5]), m, v }, { lr: 0.1, step: 1, config });
 * // The first bias-corrected Adam step moves each element by lr against its gradient's sign.
 * assert.ok(Math.abs(param[0] - 0.9) < 1e-6 && Math.abs(param[1] + 0.9) < 1e-6);
 * ```
 */
export function adamwInPlace(
  arrays: {
    readonly param: Float32Array;
    readonly grad: ArrayLike<number>;
    readonly m: Float32Array;
    readonly v: Float32Array;
  },
  options: { lr: number; step: number; config: AdamWConfig; decay?: boolean },
): void {
  const { param, grad, m, v } = arrays, { config } = options, decay = options.decay ?? true;
  const constants = {
    ...stepConstants(NUMBERS, options),
    k1: 1 - config.beta1,
    k2: 1 - config.beta2,
    config,
  };
  for (let i = 0; i < param.length; i++) {
    const slot = { param: param[i], grad: grad[i], m: m[i], v: v[i], decay };
    const next = adamwRule(NUMBERS, slot, constants);
    param[i] = next.param;
    m[i] = next.m;
    v[i] = next.v;
  }
}
