/**
 * Minibatch coupling for conditional flow matching: which noise sample x0_i is paired with
 * which data sample x1_perm[i]. OT-CFM (Tong et al. 2024, "Improving and generalizing
 * flow-based generative models with minibatch optimal transport") replaces independent pairs
 * with the optimal transport plan inside each batch, which straightens the learned paths:
 *
 * - `exact`: the optimal permutation (Jonker-Volgenant, assignment.ts);
 * - `sinkhorn`: a permutation drawn without replacement from the entropic plan (sinkhorn.ts,
 *   sample.ts), a softer coupling whose randomness is set by epsilon;
 * - `independent`: a uniformly random permutation, the plain CFM baseline.
 *
 * With condition costs (C2OT, condition.ts) the same functions give condition-aware couplings.
 * {@link coupleInBuckets} couples inside length buckets, so that noise is only paired across
 * samples of similar length.
 *
 * SB-CFM (Tong et al. 2024) samples from the entropic plan at epsilon = 2 sigma^2 over
 * *unnormalised* squared distances. The costs in costs.ts are divided by each data sample's
 * length, which amounts to a different epsilon per column, so `sinkhorn` here is not exactly
 * SB-CFM's coupling unless all lengths are equal (then scale epsilon by 1 / length).
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { type Rng, shuffle } from "../random.ts";
import { exactAssignment } from "./assignment.ts";
import { samplePairs } from "./sample.ts";
import { sinkhorn, type SinkhornOptions } from "./sinkhorn.ts";
import { checkCosts, type CostMatrix, type OtError, otError } from "./types.ts";

/**
 * Marginal tolerance for `sinkhorn` couplings unless given: a sampled permutation does not
 * need sinkhorn()'s default of 1e-6, and at 256 x 256 it takes about 10x fewer iterations.
 */
export const SINKHORN_TOLERANCE = 1e-4;

/** How to couple; methods that draw randomness require an rng. */
export type CoupleOptions =
  | { readonly method: "exact" }
  | { readonly method: "sinkhorn"; readonly rng: Rng; readonly sinkhorn?: SinkhornOptions }
  | { readonly method: "independent"; readonly rng: Rng };

/** A coupling of a batch with itself. */
export interface Coupling {
  /** `perm[i]` is the x1 index paired with x0 index i. */
  readonly perm: Int32Array;
  /** Mean cost over the pairs (i, perm[i]). */
  readonly meanCost: number;
}

/**
 * Couples x0 with x1 given a square cost matrix (rows x0, columns x1).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { createRng } from "../random.ts";
 * import { couple } from "./couple.ts";
 * const costs = { rows: 2, cols: 2, data: new Float64Array([9, 1, 1, 9]) };
 * const exact = couple(costs, { method: "exact" });
 * const soft = couple(costs, { method: "sinkhorn", rng: createRng(0) });
 * assert.ok(E.isRight(exact) && exact.right.perm.join() === "1,0");
 * assert.ok(E.isRight(soft) && soft.right.meanCost === 1);
 * ```
 */
export function couple(costs: CostMatrix, options: CoupleOptions): Either<OtError, Coupling> {
  const checked = checkCosts(costs, { square: true, what: "couple() costs" });
  if (E.isLeft(checked)) return checked;
  const n = costs.rows;
  let perm: Either<OtError, Int32Array>;
  switch (options.method) {
    case "exact":
      perm = E.map((a: { perm: Int32Array }) => a.perm)(exactAssignment(costs));
      break;
    case "independent":
      perm = E.right(Int32Array.from(shuffle([...Array(n).keys()], options.rng)));
      break;
    case "sinkhorn": {
      const plan = sinkhorn(costs, { tolerance: SINKHORN_TOLERANCE, ...options.sinkhorn });
      if (E.isLeft(plan)) return plan;
      const pairs = samplePairs(
        { rows: n, cols: n, data: plan.right.plan },
        { rng: options.rng, count: n },
      );
      if (E.isLeft(pairs)) return pairs;
      const out = new Int32Array(n);
      pairs.right.rows.forEach((i, k) => (out[i] = pairs.right.cols[k]));
      perm = E.right(out);
      break;
    }
    default:
      return E.left(otError(
        "invalid-option",
        `couple(): unknown method '${(options as { method: string }).method}'; use 'exact', ` +
          `'sinkhorn' or 'independent'`,
      ));
  }
  return E.map((p: Int32Array) => ({ perm: p, meanCost: meanCost(costs, p) }))(perm);
}

/**
 * Bucket ids from lengths: `floor((length - 1) / width)`, so lengths 1..width share bucket 0.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { lengthBuckets } from "./couple.ts";
 * const ids = lengthBuckets([10, 50, 51, 150], { width: 50 });
 * assert.ok(E.isRight(ids) && ids.right.join() === "0,0,1,2");
 * ```
 */
export function lengthBuckets(
  lengths: ArrayLike<number>,
  options: { width: number },
): Either<OtError, Int32Array> {
  const { width } = options;
  if (!(Number.isInteger(width) && width >= 1)) {
    return E.left(
      otError("invalid-option", `lengthBuckets(): width must be an integer >= 1, got ${width}`),
    );
  }
  const ids = new Int32Array(lengths.length);
  for (let k = 0; k < lengths.length; k++) {
    if (!(Number.isInteger(lengths[k]) && lengths[k] >= 1)) {
      return E.left(otError(
        "invalid-lengths",
        `lengthBuckets(): lengths[${k}] is ${lengths[k]}; lengths must be integers >= 1`,
      ));
    }
    ids[k] = Math.floor((lengths[k] - 1) / width);
  }
  return E.right(ids);
}

/**
 * Couples inside buckets: slot i (x0_i, drawn for data sample i) and x1_j may pair only when
 * `buckets[i] === buckets[j]`. Each bucket is coupled by {@link couple} on its sub-matrix, in
 * increasing bucket order (so one rng gives reproducible results).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { coupleInBuckets } from "./couple.ts";
 * const costs = { rows: 3, cols: 3, data: new Float64Array([5, 0, 5, 0, 5, 5, 5, 5, 9]) };
 * const c = coupleInBuckets(costs, { method: "exact", buckets: [0, 0, 1] });
 * assert.ok(E.isRight(c) && c.right.perm.join() === "1,0,2");
 * ```
 */
export function coupleInBuckets(
  costs: CostMatrix,
  options: CoupleOptions & { readonly buckets: ArrayLike<number> },
): Either<OtError, Coupling> {
  const checked = checkCosts(costs, { square: true, what: "coupleInBuckets() costs" });
  if (E.isLeft(checked)) return checked;
  const n = costs.rows, { buckets } = options;
  if (buckets.length !== n) {
    return E.left(otError(
      "shape-mismatch",
      `${buckets.length} bucket ids for a batch of ${n}; pass one per sample`,
    ));
  }
  const groups = new Map<number, number[]>();
  for (let k = 0; k < n; k++) {
    const group = groups.get(buckets[k]);
    if (group) group.push(k);
    else groups.set(buckets[k], [k]);
  }
  const perm = new Int32Array(n);
  for (const id of [...groups.keys()].sort((p, q) => p - q)) {
    const members = groups.get(id)!;
    const size = members.length;
    const sub = new Float64Array(size * size);
    members.forEach((i, r) =>
      members.forEach((j, c) => (sub[r * size + c] = costs.data[i * n + j]))
    );
    const inner = couple({ rows: size, cols: size, data: sub }, options);
    if (E.isLeft(inner)) return inner;
    inner.right.perm.forEach((c, r) => (perm[members[r]] = members[c]));
  }
  return E.right({ perm, meanCost: meanCost(costs, perm) });
}

/**
 * The inverse permutation: with `perm` from {@link couple}, x1 sample j pairs with x0 index
 * `inverse[j]`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { invertPermutation } from "./couple.ts";
 * assert.ok(invertPermutation(Int32Array.from([2, 0, 1])).join() === "1,2,0");
 * ```
 */
export function invertPermutation(perm: Int32Array): Int32Array {
  const out = new Int32Array(perm.length);
  perm.forEach((j, i) => (out[j] = i));
  return out;
}

function meanCost(costs: CostMatrix, perm: Int32Array): number {
  let acc = 0;
  for (let i = 0; i < perm.length; i++) acc += costs.data[i * costs.cols + perm[i]];
  return acc / perm.length;
}
