/**
 * Drawing training examples from a probability path: x_t and the target velocity u_t, eagerly
 * and as graph ops; and seeded time samplers. All randomness is passed in.
 * @module
 */
import type { Value } from "../graph/builder.ts";
import { GraphError } from "../graph/errors.ts";
import { add, mul, reshape } from "../graph/ops.ts";
import type { Rng } from "../random.ts";
import type { ProbabilityPath } from "./paths.ts";
import { graphScalars, numbers } from "./scalar.ts";

/** Endpoints, per-sample times and optional noise; arrays are [batch, ...] flattened. */
export interface PathSample<A> {
  /** Source (noise) samples, [batch, ...]. */
  readonly x0: A;
  /** Data samples, shaped like x0. */
  readonly x1: A;
  /** One time per sample, [batch]. */
  readonly t: A;
  /** Standard normal noise like x0 (needed when the path's sigma is not zero). */
  readonly eps?: A;
}

/**
 * x_t and u_t for each sample: x_t = alpha x1 + beta x0 + sigma eps and
 * u_t = alpha' x1 + beta' x0 + sigma' eps, with the coefficients at that sample's t.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { independentPath } from "./paths.ts";
 * import { sampleXtUt } from "./sample.ts";
 * const { xt, ut } = sampleXtUt(independentPath(), {
 *   x0: new Float32Array([0, 0]), x1: new Float32Array([2, 4]), t: new Float32Array([0.5]),
 * });
 * assert.ok(xt[1] === 2 && ut[0] === 2);
 * ```
 */
export function sampleXtUt(
  path: ProbabilityPath,
  sample: PathSample<Float32Array>,
): { xt: Float32Array; ut: Float32Array } {
  const { x0, x1, t, eps } = sample;
  if (x0.length !== x1.length || (eps && eps.length !== x0.length)) {
    throw new RangeError(`sampleXtUt: x0 (${x0.length}), x1 (${x1.length}) and eps must match`);
  }
  if (x0.length % t.length !== 0) {
    throw new RangeError(`sampleXtUt: ${x0.length} values do not split into ${t.length} samples`);
  }
  if (needsNoise(path) && !eps) throw new RangeError(`sampleXtUt: path ${path.name} needs eps`);
  const per = x0.length / t.length;
  const xt = new Float32Array(x0.length), ut = new Float32Array(x0.length);
  for (let b = 0; b < t.length; b++) {
    const tb = t[b];
    const a = path.alpha(tb, numbers), be = path.beta(tb, numbers), s = path.sigma(tb, numbers);
    const da = path.dAlpha(tb, numbers), db = path.dBeta(tb, numbers);
    const ds = path.dSigma(tb, numbers);
    if (![a, be, s, da, db, ds].every(Number.isFinite)) {
      throw new RangeError(
        `sampleXtUt: path ${path.name} is singular at t = ${tb}; keep t inside (0, 1)`,
      );
    }
    for (let i = b * per; i < (b + 1) * per; i++) {
      const e = eps ? eps[i] : 0;
      xt[i] = a * x1[i] + be * x0[i] + s * e;
      ut[i] = da * x1[i] + db * x0[i] + ds * e;
    }
  }
  return { xt, ut };
}

/**
 * The graph form of {@link sampleXtUt}: x0, x1 (and eps) [B, ...], t [B].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { otPath } from "./paths.ts";
 * import { sampleXtUtGraph } from "./sample.ts";
 * const g = new Graph();
 * const x0 = g.input("x0", { dtype: "float32", shape: [2, 3, 4] });
 * const x1 = g.input("x1", { dtype: "float32", shape: [2, 3, 4] });
 * const t = g.input("t", { dtype: "float32", shape: [2] });
 * const { xt } = sampleXtUtGraph(otPath(), { x0, x1, t });
 * assert.ok(xt.shape.join() === "2,3,4");
 * ```
 */
export function sampleXtUtGraph(
  path: ProbabilityPath,
  sample: PathSample<Value>,
): { xt: Value; ut: Value } {
  const { x0, x1, t, eps } = sample;
  if (needsNoise(path) && !eps) {
    throw new GraphError("sampleXtUtGraph", `path ${path.name} needs eps`);
  }
  const s = graphScalars(t);
  // Coefficients of t are [B] and broadcast over each sample; constant ones stay scalars.
  const perSample = (c: Value) =>
    c.shape.length ? reshape(c, [t.shape[0], ...x0.shape.slice(1).map(() => 1)]) : c;
  const combine = (a: Value, b: Value, c: Value) => {
    const mean = add(mul(perSample(a), x1), mul(perSample(b), x0));
    return eps ? add(mean, mul(perSample(c), eps)) : mean;
  };
  return {
    xt: combine(path.alpha(t, s), path.beta(t, s), path.sigma(t, s)),
    ut: combine(path.dAlpha(t, s), path.dBeta(t, s), path.dSigma(t, s)),
  };
}

/** Whether a path has a noise term (sigma or its derivative non-zero somewhere inside (0, 1)). */
function needsNoise(path: ProbabilityPath): boolean {
  return [0.1, 0.3, 0.5, 0.7, 0.9].some((t) =>
    path.sigma(t, numbers) !== 0 || path.dSigma(t, numbers) !== 0
  );
}

/** Keeps times away from the ends, where some paths' velocities are singular. */
export interface TimeSamplerOptions {
  /** Margin kept from t = 0 and t = 1 (default 1e-5). */
  readonly eps?: number;
}

/**
 * n times uniform on [eps, 1 - eps].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { uniformTimes } from "./sample.ts";
 * const t = uniformTimes(4, { rng: createRng(0), eps: 1e-3 });
 * assert.ok(t.every((v) => v >= 1e-3 && v <= 1 - 1e-3));
 * ```
 */
export function uniformTimes(n: number, options: TimeSamplerOptions & { rng: Rng }): Float32Array {
  const eps = options.eps ?? 1e-5;
  return Float32Array.from({ length: n }, () => eps + (1 - 2 * eps) * options.rng.nextFloat());
}

/**
 * n logit-normal times: sigmoid(N(mean, std)), as in Esser et al. 2024 (SD3, sec. 3.1),
 * clamped to [eps, 1 - eps]. Puts more training weight on the middle of the path.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { logitNormalTimes } from "./sample.ts";
 * const t = logitNormalTimes(1000, { rng: createRng(1) });
 * assert.ok(Math.abs(t.reduce((a, b) => a + b) / 1000 - 0.5) < 0.05);
 * ```
 */
export function logitNormalTimes(
  n: number,
  options: TimeSamplerOptions & { rng: Rng; mean?: number; std?: number },
): Float32Array {
  const { eps = 1e-5, mean = 0, std = 1 } = options;
  return Float32Array.from({ length: n }, () => {
    const z = mean + std * options.rng.normal();
    return Math.min(1 - eps, Math.max(eps, 1 / (1 + Math.exp(-z))));
  });
}
