/**
 * How a training batch pairs fresh noise with its targets (the coupling q(x0, x1) of CFM):
 * - "independent": each target keeps the noise drawn for it (I-CFM, Tong et al. 2024, eq. 14);
 * - "ot": exact minibatch OT over the batch (OT-CFM, Tong et al. 2024, Alg. 1), which for a
 *   conditional model pairs a text with noise chosen by the other texts of the batch;
 * - "c2ot": minibatch OT plus a condition term (Cheng et al. 2025): noise row i is drawn for
 *   sentence i, and re-pairing it with another sentence costs `conditionWeight` more, so a large
 *   weight keeps every pair within its text.
 *
 * Noise is full-length, so any row can serve any target; costs count each target's own frames.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { couple, invertPermutation, labelCosts, type OtError, sequenceCosts } from "../ot/mod.ts";

/** A coupling of noise and targets. */
export type NoiseCoupling = "ot" | "independent" | "c2ot";

/** Every coupling, the default first. */
export const COUPLINGS: readonly NoiseCoupling[] = ["ot", "independent", "c2ot"];

/** The batch layout and coupling settings of {@link pairNoise}. */
export interface PairOptions {
  /** The coupling. */
  readonly coupling: NoiseCoupling;
  /** Padded frames per row. */
  readonly frames: number;
  /** Channels per frame. */
  readonly width: number;
  /** Each real row's sentence id (rows past them are padding and keep their noise). */
  readonly ids: readonly string[];
  /** Each real row's valid frames. */
  readonly lengths: readonly number[];
  /** "c2ot": the extra cost of pairing noise drawn for one sentence with another (default 1e9). */
  readonly conditionWeight?: number;
}

/**
 * The noise rows re-ordered so that row j is the noise paired with target row j.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { pairNoise } from "./coupling.ts";
 * // Noise row 0 sits on target 1 and row 1 on target 0: OT swaps them, C2OT keeps each text's.
 * const noise = new Float32Array([5, 0]), targets = new Float32Array([0, 5]);
 * const base = { frames: 1, width: 1, ids: ["a", "b"], lengths: [1, 1] };
 * const ot = pairNoise(noise, targets, { ...base, coupling: "ot" });
 * const c2ot = pairNoise(noise, targets, { ...base, coupling: "c2ot" });
 * assert.ok(E.isRight(ot) && ot.right.join() === "0,5");
 * assert.ok(E.isRight(c2ot) && c2ot.right.join() === "5,0");
 * ```
 */
export function pairNoise(
  noise: Float32Array,
  targets: Float32Array,
  options: PairOptions,
): Either<OtError, Float32Array> {
  const { coupling, frames: f, width: w, ids, lengths } = options;
  if (coupling === "independent") return E.right(noise);
  const n = ids.length, stride = f * w;
  const rows = (x: Float32Array, valid?: readonly number[]) => ({
    data: x.subarray(0, n * stride),
    count: n,
    frames: f,
    dim: w,
    lengths: valid,
  });
  const condition = coupling === "c2ot"
    ? { costs: labelCosts(ids, ids), weight: options.conditionWeight ?? 1e9 }
    : undefined;
  const costs = sequenceCosts(rows(noise), rows(targets, lengths), { condition });
  if (E.isLeft(costs)) return costs;
  const plan = couple(costs.right, { method: "exact" });
  if (E.isLeft(plan)) return plan;
  // perm[i] is the target row of noise row i; each target row j takes noise row inverse[j].
  const inverse = invertPermutation(plan.right.perm);
  const out = Float32Array.from(noise);
  for (let j = 0; j < n; j++) {
    out.set(noise.subarray(inverse[j] * stride, (inverse[j] + 1) * stride), j * stride);
  }
  return E.right(out);
}
