/**
 * Entropic optimal transport by Sinkhorn's matrix scaling (Cuturi 2013, "Sinkhorn distances:
 * lightspeed computation of optimal transport"), stabilised in the log domain with epsilon
 * scaling after Schmitzer (2019), "Stabilized sparse scaling algorithms for entropy
 * regularized transport problems".
 *
 * The plan is P_ij = exp((f_i + g_j - C_ij) / eps) for dual potentials f, g. Naive Sinkhorn
 * scales K = exp(-C / eps), which underflows once eps is small next to the costs. Here the
 * potentials are kept in the log domain and the scaling runs on the stabilised kernel
 * exp((f_i + g_j - C_ij) / eps) with scalings u, v; whenever u or v leave [1e-30, 1e30] they
 * are absorbed into f and g (Schmitzer's absorption), and whenever a row or column of the
 * kernel underflows to zero an exact log-sum-exp update restores it. Epsilon starts at the
 * cost spread and shrinks geometrically to the target, each stage warm-started from the last,
 * which needs far fewer iterations than starting at the target.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { checkCosts, type CostMatrix, type OtError, otError } from "./types.ts";

/** Options for {@link sinkhorn}. Costs and epsilons share units. */
export interface SinkhornOptions {
  /** Target regularisation (default 1% of the cost spread max - min; 1 if all costs equal). */
  readonly epsilon?: number;
  /** First epsilon of the scaling schedule (default: the cost spread, at least `epsilon`). */
  readonly epsilonStart?: number;
  /** Factor in (0, 1) between successive epsilons (default 0.5). */
  readonly epsilonDecay?: number;
  /** Stop when the L1 marginal error over the total mass is below this (default 1e-6). */
  readonly tolerance?: number;
  /** Budget of scaling iterations over all stages (default 10000). */
  readonly maxIterations?: number;
  /** Row (x0) masses, positive (default uniform 1/rows). */
  readonly rowMarginals?: Float64Array;
  /** Column (x1) masses, positive, same total as the rows (default uniform 1/cols). */
  readonly colMarginals?: Float64Array;
}

/** An entropic transport plan with its certificate. */
export interface SinkhornResult {
  /** Rows of the plan (x0 samples). */
  readonly rows: number;
  /** Columns of the plan (x1 samples). */
  readonly cols: number;
  /** Row-major plan, rows x cols; its row and column sums match the marginals. */
  readonly plan: Float64Array;
  /** Row potential f (plan = exp((f_i + g_j - C_ij) / epsilon)). */
  readonly f: Float64Array;
  /** Column potential g. */
  readonly g: Float64Array;
  /** Scaling iterations over all stages. */
  readonly iterations: number;
  /** Final L1 marginal error over the total mass (column sums are exact after each sweep). */
  readonly marginalError: number;
  /** The epsilon the plan was solved at. */
  readonly epsilon: number;
  /** Transport cost sum_ij P_ij C_ij (without the entropy term). */
  readonly cost: number;
}

const BIG = 1e30, SMALL = 1e-30;
/** Intermediate epsilon stages only need a rough warm start. */
const STAGE_TOLERANCE = 1e-3;

/**
 * Log-stabilised Sinkhorn with epsilon scaling. Errors: non-finite or empty costs, bad
 * marginals or options, and `not-converged` (with the last marginal error) when the iteration
 * budget runs out.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { sinkhorn } from "./sinkhorn.ts";
 * const costs = { rows: 2, cols: 2, data: new Float64Array([0, 1, 1, 0]) };
 * const result = sinkhorn(costs, { epsilon: 0.05 });
 * if (E.isLeft(result)) throw new Error(result.left.message);
 * const { plan, marginalError } = result.right;
 * assert.ok(plan[0] > 0.49 && plan[1] < 0.01 && marginalError < 1e-6);
 * ```
 */
export function sinkhorn(
  costs: CostMatrix,
  options: SinkhornOptions = {},
): Either<OtError, SinkhornResult> {
  const checked = checkCosts(costs, { what: "sinkhorn() costs" });
  if (E.isLeft(checked)) return checked;
  const { rows: n, cols: m, data: c } = costs;
  const a = marginals(options.rowMarginals, n, "rowMarginals");
  if (E.isLeft(a)) return a;
  const b = marginals(options.colMarginals, m, "colMarginals");
  if (E.isLeft(b)) return b;
  const mass = sum(a.right), massB = sum(b.right);
  if (Math.abs(mass - massB) > 1e-9 * mass) {
    return E.left(otError(
      "invalid-marginals",
      `row marginals sum to ${mass} but column marginals to ${massB}; balanced OT needs ` +
        `equal totals (normalise both to 1)`,
    ));
  }
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < c.length; k++) {
    lo = Math.min(lo, c[k]);
    hi = Math.max(hi, c[k]);
  }
  const spread = hi - lo;
  const eps = options.epsilon ?? (spread > 0 ? 0.01 * spread : 1);
  const start = Math.max(options.epsilonStart ?? spread, eps);
  const decay = options.epsilonDecay ?? 0.5;
  const tol = options.tolerance ?? 1e-6;
  const budget = options.maxIterations ?? 10_000;
  const bad = [
    !(eps > 0 && Number.isFinite(eps)) && `epsilon must be a positive number, got ${eps}`,
    !(Number.isFinite(start)) && `epsilonStart must be finite, got ${start}`,
    !(decay > 0 && decay < 1) && `epsilonDecay must lie in (0, 1), got ${decay}`,
    !(tol > 0) && `tolerance must be positive, got ${tol}`,
    !(Number.isInteger(budget) && budget >= 1) && `maxIterations must be >= 1, got ${budget}`,
  ].find((s) => s);
  if (bad) return E.left(otError("invalid-option", `sinkhorn(): ${bad}`));

  const schedule: number[] = [];
  for (let e = start; e > eps; e *= decay) schedule.push(e);
  schedule.push(eps);

  const f = new Float64Array(n), g = new Float64Array(m);
  const u = new Float64Array(n), v = new Float64Array(m);
  const t = new Float64Array(n), s = new Float64Array(m);
  const kernel = new Float64Array(n * m);
  let iterations = 0, err = Infinity;
  for (const [stage, e] of schedule.entries()) {
    const last = stage === schedule.length - 1;
    const stageTol = last ? tol : Math.max(tol, STAGE_TOLERANCE);
    // Warm start from the previous stage. Its plan (left in `kernel`, with the scalings
    // absorbed into f, g) raised to the power e_prev / e is the new stabilised kernel: a
    // square when epsilon halves, which saves rows * cols exponentials per stage.
    if (stage === 0) logUpdate(c, a.right, b.right, f, g, e);
    if (stage > 0 && schedule[stage - 1] === 2 * e) {
      for (let k = 0; k < kernel.length; k++) kernel[k] *= kernel[k];
    } else fillKernel(c, f, g, e, kernel);
    u.fill(1);
    v.fill(1);
    // Columns are exact after a v update (or the first stage's log update), not right after
    // a stage change: only then does the row error alone measure convergence.
    let swept = stage === 0;
    for (;;) {
      mulKernel(kernel, v, n, m, t);
      err = 0;
      for (let i = 0; i < n; i++) err += Math.abs(u[i] * t[i] - a.right[i]);
      err /= mass;
      if (err <= stageTol && swept) break;
      if (iterations >= budget) {
        return E.left(otError(
          "not-converged",
          `sinkhorn() did not converge in ${budget} iterations: marginal error ${
            err.toExponential(3)
          } > ${stageTol} at epsilon ${e}; raise maxIterations, raise epsilon, or loosen ` +
            `tolerance`,
          { marginalError: err, iterations },
        ));
      }
      iterations++;
      for (let i = 0; i < n; i++) u[i] = a.right[i] / t[i];
      mulKernelT(kernel, u, n, m, s);
      for (let j = 0; j < m; j++) v[j] = b.right[j] / s[j];
      swept = true;
      if (!(inRange(u) && inRange(v))) {
        // Absorb finite scalings into the potentials; an underflowed row or column (u or v
        // infinite) instead gets an exact log-domain update from the last finite potentials.
        if (allFinite(u) && allFinite(v)) absorb(f, g, u, v, e);
        else logUpdate(c, a.right, b.right, f, g, e);
        fillKernel(c, f, g, e, kernel);
        u.fill(1);
        v.fill(1);
      }
    }
    const plan = kernel; // the kernel becomes the plan diag(u) K diag(v) in place
    let cost = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0, o = i * m; j < m; j++) {
        plan[o + j] *= u[i] * v[j];
        cost += plan[o + j] * c[o + j];
      }
    }
    absorb(f, g, u, v, e);
    if (!last) continue;
    const result = { rows: n, cols: m, plan, f, g, iterations, epsilon: e, cost };
    return E.right({ ...result, marginalError: err });
  }
  throw new Error("unreachable: the schedule ends with the target epsilon");
}

function marginals(
  given: Float64Array | undefined,
  size: number,
  name: string,
): Either<OtError, Float64Array> {
  if (!given) return E.right(new Float64Array(size).fill(1 / size));
  if (given.length !== size) {
    return E.left(otError(
      "shape-mismatch",
      `${name} has ${given.length} entries but the cost matrix has ${size}; pass one per sample`,
    ));
  }
  const k = given.findIndex((x) => !(x > 0 && Number.isFinite(x)));
  if (k >= 0) {
    return E.left(otError(
      "invalid-marginals",
      `${name}[${k}] is ${given[k]}; masses must be positive and finite (drop empty samples)`,
    ));
  }
  return E.right(given);
}

const sum = (x: Float64Array): number => x.reduce((p, q) => p + q, 0);
const allFinite = (x: Float64Array): boolean => x.every((y) => Number.isFinite(y));
const inRange = (x: Float64Array): boolean => x.every((y) => y >= SMALL && y <= BIG);

/** Exact half-steps f <- eps log a - eps LSE_j((g_j - C_ij)/eps), then the same for g. */
function logUpdate(
  c: Float64Array,
  a: Float64Array,
  b: Float64Array,
  f: Float64Array,
  g: Float64Array,
  eps: number,
): void {
  const n = a.length, m = b.length;
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < m; j++) mx = Math.max(mx, g[j] - c[i * m + j]);
    let acc = 0;
    for (let j = 0; j < m; j++) acc += Math.exp((g[j] - c[i * m + j] - mx) / eps);
    f[i] = eps * Math.log(a[i]) - mx - eps * Math.log(acc);
  }
  const mx = new Float64Array(m).fill(-Infinity), acc = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) mx[j] = Math.max(mx[j], f[i] - c[i * m + j]);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) acc[j] += Math.exp((f[i] - c[i * m + j] - mx[j]) / eps);
  }
  for (let j = 0; j < m; j++) g[j] = eps * Math.log(b[j]) - mx[j] - eps * Math.log(acc[j]);
}

function absorb(f: Float64Array, g: Float64Array, u: Float64Array, v: Float64Array, e: number) {
  for (let i = 0; i < f.length; i++) f[i] += e * Math.log(u[i]);
  for (let j = 0; j < g.length; j++) g[j] += e * Math.log(v[j]);
  u.fill(1);
  v.fill(1);
}

function fillKernel(c: Float64Array, f: Float64Array, g: Float64Array, e: number, k: Float64Array) {
  const m = g.length;
  for (let i = 0; i < f.length; i++) {
    for (let j = 0; j < m; j++) k[i * m + j] = Math.exp((f[i] + g[j] - c[i * m + j]) / e);
  }
}

/** out = K v (row sums of the scaled kernel); four accumulators break the add latency chain. */
function mulKernel(k: Float64Array, v: Float64Array, n: number, m: number, out: Float64Array) {
  for (let i = 0; i < n; i++) {
    const o = i * m;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, j = 0;
    for (; j + 3 < m; j += 4) {
      a0 += k[o + j] * v[j];
      a1 += k[o + j + 1] * v[j + 1];
      a2 += k[o + j + 2] * v[j + 2];
      a3 += k[o + j + 3] * v[j + 3];
    }
    for (; j < m; j++) a0 += k[o + j] * v[j];
    out[i] = a0 + a1 + a2 + a3;
  }
}

/** out = K^T u, two rows per sweep so that K is read in memory order and out half as often. */
function mulKernelT(k: Float64Array, u: Float64Array, n: number, m: number, out: Float64Array) {
  out.fill(0);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const u0 = u[i], u1 = u[i + 1], o = i * m, p = o + m;
    for (let j = 0; j < m; j++) out[j] += k[o + j] * u0 + k[p + j] * u1;
  }
  for (; i < n; i++) {
    const ui = u[i], o = i * m;
    for (let j = 0; j < m; j++) out[j] += k[o + j] * ui;
  }
}
