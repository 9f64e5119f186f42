/**
 * Probability paths for conditional flow matching, as records of pure coefficient functions.
 * Every path here is affine in its endpoints and a standard normal eps:
 *
 *   x_t = alpha(t) x1 + beta(t) x0 + sigma(t) eps,
 *   u_t = alpha'(t) x1 + beta'(t) x0 + sigma'(t) eps    (the conditional target velocity),
 *
 * with x0 ~ N(0, I) the source and x1 the data. Coefficients are written against
 * {@link Scalars} so one definition serves eager code and graphs.
 * @module
 */
import type { Scalars } from "./scalar.ts";

/** A coefficient of t: written once, evaluated over numbers or graph values. */
export type Coefficient = <S>(t: S, s: Scalars<S>) => S;

/** A probability path: mean coefficients, noise scale and their time derivatives. */
export interface ProbabilityPath {
  /** Name with its parameters, e.g. `ot(sigmaMin=0)`, for logs and errors. */
  readonly name: string;
  /** Paper and equation the path comes from. */
  readonly citation: string;
  /** alpha(t), the weight of the data x1 in x_t. */
  readonly alpha: Coefficient;
  /** beta(t), the weight of the noise x0 in x_t. */
  readonly beta: Coefficient;
  /** sigma(t), the scale of the extra noise eps in x_t. */
  readonly sigma: Coefficient;
  /** alpha'(t), the time derivative of {@link ProbabilityPath.alpha}. */
  readonly dAlpha: Coefficient;
  /** beta'(t), the time derivative of {@link ProbabilityPath.beta}. */
  readonly dBeta: Coefficient;
  /** sigma'(t), the time derivative of {@link ProbabilityPath.sigma}. */
  readonly dSigma: Coefficient;
}

const zero: Coefficient = (_t, s) => s.c(0);
const one: Coefficient = (_t, s) => s.c(1);

/**
 * The OT (linear) path of Lipman et al. 2023, "Flow Matching for Generative Modeling",
 * eqs. 20-23: mu_t = t x1, sigma_t = 1 - (1 - sigmaMin) t, so with x0 the noise
 * x_t = t x1 + (1 - (1 - sigmaMin) t) x0 and u_t = x1 - (1 - sigmaMin) x0.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { otPath } from "./paths.ts";
 * import { numbers } from "./scalar.ts";
 * const p = otPath({ sigmaMin: 1e-4 });
 * assert.ok(Math.abs(p.beta(1, numbers) - 1e-4) < 1e-12);
 * ```
 */
export function otPath(options: { sigmaMin?: number } = {}): ProbabilityPath {
  const k = 1 - (options.sigmaMin ?? 0);
  return {
    name: `ot(sigmaMin=${options.sigmaMin ?? 0})`,
    citation: "Lipman et al. 2023, Flow Matching for Generative Modeling, eqs. 20-23",
    alpha: (t) => t,
    beta: (t, s) => s.sub(s.c(1), s.mul(s.c(k), t)),
    sigma: zero,
    dAlpha: one,
    dBeta: (_t, s) => s.c(-k),
    dSigma: zero,
  };
}

/**
 * Independent-coupling CFM (I-CFM) of Tong et al. 2024, "Improving and generalizing
 * flow-based generative models with minibatch optimal transport", eqs. 14-15:
 * mu_t = t x1 + (1 - t) x0, constant sigma, u_t = x1 - x0. Also the path of OT-CFM, which
 * differs only in how (x0, x1) are paired.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { independentPath } from "./paths.ts";
 * import { numbers } from "./scalar.ts";
 * assert.ok(independentPath({ sigma: 0.1 }).sigma(0.5, numbers) === 0.1);
 * ```
 */
export function independentPath(options: { sigma?: number } = {}): ProbabilityPath {
  const sigma = options.sigma ?? 0;
  return {
    name: `independent(sigma=${sigma})`,
    citation: "Tong et al. 2024, TMLR, eqs. 14-15 (I-CFM; OT-CFM with minibatch OT pairing)",
    alpha: (t) => t,
    beta: (t, s) => s.sub(s.c(1), t),
    sigma: (_t, s) => s.c(sigma),
    dAlpha: one,
    dBeta: (_t, s) => s.c(-1),
    dSigma: zero,
  };
}

/**
 * Schrodinger-bridge CFM of Tong et al. 2024 (eqs. 18-19): the Brownian-bridge path
 * mu_t = t x1 + (1 - t) x0, sigma_t = sigma sqrt(t (1 - t)), whose target velocity
 * (1 - 2t) / (2 t (1 - t)) (x_t - mu_t) + x1 - x0 equals sigma'(t) eps + x1 - x0.
 * sigma'(t) is singular at t = 0 and 1: sample t away from the ends (sampleXtUt throws there).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { schrodingerBridgePath } from "./paths.ts";
 * import { numbers } from "./scalar.ts";
 * assert.ok(schrodingerBridgePath({ sigma: 1 }).sigma(0.5, numbers) === 0.5);
 * ```
 */
export function schrodingerBridgePath(options: { sigma?: number } = {}): ProbabilityPath {
  const sigma = options.sigma ?? 1;
  if (sigma === 0) return { ...independentPath(), name: "schrodinger-bridge(sigma=0)" }; // no 0/0 at the ends
  const root = <S>(t: S, s: Scalars<S>) => s.sqrt(s.mul(t, s.sub(s.c(1), t)));
  return {
    name: `schrodinger-bridge(sigma=${sigma})`,
    citation: "Tong et al. 2024, TMLR, eqs. 18-19 (SB-CFM)",
    alpha: (t) => t,
    beta: (t, s) => s.sub(s.c(1), t),
    sigma: (t, s) => s.mul(s.c(sigma), root(t, s)),
    dAlpha: one,
    dBeta: (_t, s) => s.c(-1),
    dSigma: (t, s) =>
      s.div(s.mul(s.c(sigma), s.sub(s.c(1), s.mul(s.c(2), t))), s.mul(s.c(2), root(t, s))),
  };
}

/**
 * The variance-preserving trigonometric interpolant of Albergo & Vanden-Eijnden 2023,
 * "Building Normalizing Flows with Stochastic Interpolants" (the VP path of torchcfm):
 * x_t = cos(pi t / 2) x0 + sin(pi t / 2) x1, u_t = pi/2 (cos(pi t / 2) x1 - sin(pi t / 2) x0),
 * plus an optional constant sigma.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { vpTrigPath } from "./paths.ts";
 * import { numbers } from "./scalar.ts";
 * assert.ok(Math.abs(vpTrigPath().alpha(1, numbers) - 1) < 1e-12);
 * ```
 */
export function vpTrigPath(options: { sigma?: number } = {}): ProbabilityPath {
  const sigma = options.sigma ?? 0;
  const h = Math.PI / 2;
  const angle = <S>(t: S, s: Scalars<S>) => s.mul(s.c(h), t);
  return {
    name: `vp-trig(sigma=${sigma})`,
    citation: "Albergo & Vanden-Eijnden 2023, ICLR, trigonometric interpolant",
    alpha: (t, s) => s.sin(angle(t, s)),
    beta: (t, s) => s.cos(angle(t, s)),
    sigma: (_t, s) => s.c(sigma),
    dAlpha: (t, s) => s.mul(s.c(h), s.cos(angle(t, s))),
    dBeta: (t, s) => s.mul(s.c(-h), s.sin(angle(t, s))),
    dSigma: zero,
  };
}
