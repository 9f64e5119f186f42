/**
 * Plan-to-pairs sampling: turns a transport plan (e.g. from sinkhorn()) into concrete
 * (x0, x1) index pairs, as minibatch OT-CFM does (Tong et al. 2024): with replacement, pairs
 * are i.i.d. draws from the plan; without replacement, no row and no column repeats, so
 * `count = rows = cols` gives a permutation.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { Rng } from "../random.ts";
import { type CostMatrix, type OtError, otError } from "./types.ts";

/** Sampled pairs: `rows[k]` (x0 index) goes with `cols[k]` (x1 index). */
export interface Pairs {
  /** x0 index of each pair. */
  readonly rows: Int32Array;
  /** x1 index of each pair. */
  readonly cols: Int32Array;
}

/** Options for {@link samplePairs}. */
export interface SampleOptions {
  /** The source of randomness for the draws. */
  readonly rng: Rng;
  /** Pairs to draw (default: rows; without replacement at most min(rows, cols)). */
  readonly count?: number;
  /** Draw i.i.d. from the plan (default false: rows and columns are used at most once). */
  readonly replace?: boolean;
}

/**
 * Draws index pairs from a plan (row-major, non-negative, positive total; it need not be
 * normalised). Without replacement each pair is drawn from the plan restricted to unused rows
 * and columns and renormalised; if those carry no mass (an underflowed, near-deterministic
 * plan) the result is an `empty-plan` error rather than an arbitrary pairing.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { createRng } from "../random.ts";
 * import { samplePairs } from "./sample.ts";
 * const plan = { rows: 2, cols: 2, data: new Float64Array([0, 0.5, 0.5, 0]) };
 * const pairs = samplePairs(plan, { rng: createRng(1) });
 * if (E.isLeft(pairs)) throw new Error(pairs.left.message);
 * assert.ok(pairs.right.cols[pairs.right.rows.indexOf(0)] === 1);
 * ```
 */
export function samplePairs(plan: CostMatrix, options: SampleOptions): Either<OtError, Pairs> {
  const { rows: n, cols: m, data: p } = plan;
  const replace = options.replace ?? false;
  const count = options.count ?? n;
  if (n === 0 || m === 0) return E.left(otError("empty-batch", "samplePairs(): the plan is empty"));
  if (p.length !== n * m) {
    return E.left(otError("shape-mismatch", `plan says ${n}x${m} but holds ${p.length} entries`));
  }
  const k = p.findIndex((x) => !(x >= 0 && Number.isFinite(x)));
  if (k >= 0) {
    return E.left(otError(
      "non-finite-cost",
      `plan[${Math.floor(k / m)}, ${k % m}] is ${p[k]}; plan entries must be finite and >= 0`,
    ));
  }
  const most = replace ? Infinity : Math.min(n, m);
  if (!Number.isInteger(count) || count < 0 || count > most) {
    return E.left(otError(
      "invalid-option",
      `samplePairs(): count ${count} must be an integer in [0, ${most}]` +
        (replace ? "" : " without replacement (pass replace: true for more)"),
    ));
  }
  return replace ? withReplacement(n, m, p, count, options.rng) : withoutReplacement(
    n,
    m,
    p,
    count,
    options.rng,
  );
}

function withReplacement(n: number, m: number, p: Float64Array, count: number, rng: Rng) {
  const cumulative = new Float64Array(n * m);
  let total = 0;
  for (let k = 0; k < p.length; k++) {
    total += p[k];
    cumulative[k] = total;
  }
  if (!(total > 0)) return E.left(emptyPlan());
  const rows = new Int32Array(count), cols = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const u = rng.nextFloat() * total;
    let lo = 0, hi = p.length - 1; // first k with cumulative[k] > u
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    rows[s] = Math.floor(lo / m);
    cols[s] = lo % m;
  }
  return E.right({ rows, cols });
}

function withoutReplacement(n: number, m: number, p: Float64Array, count: number, rng: Rng) {
  const rowUsed = new Uint8Array(n), colUsed = new Uint8Array(m);
  const rowMass = new Float64Array(n);
  const exactMass = (i: number): number => {
    let acc = 0;
    for (let j = 0; j < m; j++) if (!colUsed[j]) acc += p[i * m + j];
    return acc;
  };
  for (let i = 0; i < n; i++) rowMass[i] = exactMass(i);
  const rows = new Int32Array(count), cols = new Int32Array(count);
  for (let s = 0; s < count;) {
    let total = 0;
    for (let i = 0; i < n; i++) total += rowMass[i];
    if (!(total > 0)) return E.left(emptyPlan());
    let i = pick(rowMass, rng.nextFloat() * total, n);
    const mass = exactMass(i);
    if (!(mass > 0)) { // the running row mass drifted from an all-zero remainder: redraw
      rowMass[i] = 0;
      continue;
    }
    let u = rng.nextFloat() * mass, j = -1;
    for (let c = 0; c < m && u >= 0; c++) {
      if (colUsed[c] || p[i * m + c] === 0) continue;
      j = c;
      u -= p[i * m + c];
    }
    rows[s] = i;
    cols[s++] = j;
    rowUsed[i] = 1;
    colUsed[j] = 1;
    rowMass[i] = 0;
    for (i = 0; i < n; i++) {
      if (rowUsed[i]) continue;
      const before = rowMass[i];
      if (before <= 0) continue;
      const after = before - p[i * m + j];
      // Subtraction loses the remainder when most of a row's mass was in column j.
      rowMass[i] = after > 1e-9 * before ? after : exactMass(i);
    }
  }
  return E.right({ rows, cols });
}

/** The first index whose running sum of weights exceeds u (skipping zero weights). */
function pick(weights: Float64Array, u: number, size: number): number {
  let last = -1;
  for (let i = 0; i < size; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    u -= weights[i];
    if (u < 0) return i;
  }
  return last; // rounding left u >= 0: the last positive weight
}

const emptyPlan = (): OtError =>
  otError(
    "empty-plan",
    "the plan has no mass left on the remaining rows and columns (entries underflowed to 0); " +
      "raise the Sinkhorn epsilon, or couple with method 'exact'",
  );
