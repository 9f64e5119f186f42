/**
 * The condition term of C2OT (Cheng et al. 2025, condition-aware optimal transport for
 * conditional flow matching). Minibatch OT (Tong et al. 2024) pairs noise with data by
 * distance alone, so in a conditional model the noise a text is trained from is chosen by the
 * other texts in the batch: OT across different texts pairs noise across conditions blindly,
 * and the learned conditional paths are biased toward whatever the batch held. Adding
 * `weight * condCost(i, j)` (0 for the same condition and large for different ones, or a
 * distance between condition embeddings) keeps pairs within a condition, or near it.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { checkCosts, type CostMatrix, type OtError, otError } from "./types.ts";

/** A condition cost matrix (rows x0, columns x1) and its weight lambda. */
export interface ConditionTerm {
  /** Condition costs, rows x0 by columns x1 (0 for the same condition). */
  readonly costs: CostMatrix;
  /** lambda, the weight of the condition costs added to the transport costs. */
  readonly weight: number;
}

/**
 * Adds `weight * condition costs` when a condition term is given, then checks that every
 * cost is finite (NaN or Inf in the inputs shows up here, naming the pair).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { labelCosts, withCondition } from "./condition.ts";
 * const base = { rows: 2, cols: 2, data: new Float64Array([1, 0, 0, 1]) };
 * const out = withCondition(base, { costs: labelCosts(["a", "b"], ["a", "b"]), weight: 10 });
 * assert.ok(E.isRight(out) && out.right.data[1] === 10);
 * ```
 */
export function withCondition(
  costs: CostMatrix,
  condition?: ConditionTerm,
): Either<OtError, CostMatrix> {
  if (!condition) return checkCosts(costs);
  const { costs: cond, weight } = condition;
  if (!(Number.isFinite(weight) && weight >= 0)) {
    return E.left(
      otError("invalid-option", `condition weight must be finite and >= 0, got ${weight}`),
    );
  }
  if (cond.rows !== costs.rows || cond.cols !== costs.cols) {
    return E.left(otError(
      "shape-mismatch",
      `condition costs are ${cond.rows}x${cond.cols} but transport costs ${costs.rows}x${costs.cols}`,
    ));
  }
  const checked = checkCosts(cond, { what: "condition costs" });
  if (E.isLeft(checked)) return checked;
  const data = costs.data.map((c, k) => c + weight * cond.data[k]);
  return checkCosts({ rows: costs.rows, cols: costs.cols, data });
}

/**
 * Condition costs from labels (e.g. text ids): 0 where labels agree, `mismatch` (default 1)
 * where they differ. With a large weight, pairs stay within a text whenever the batch allows.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { labelCosts } from "./condition.ts";
 * const c = labelCosts([7, 8], [8, 8], { mismatch: 5 });
 * assert.ok(c.data.join() === "5,5,0,0");
 * ```
 */
export function labelCosts(
  labels0: ArrayLike<number | string>,
  labels1: ArrayLike<number | string>,
  options: { mismatch?: number } = {},
): CostMatrix {
  const mismatch = options.mismatch ?? 1;
  const rows = labels0.length, cols = labels1.length;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = labels0[i] === labels1[j] ? 0 : mismatch;
  }
  return { rows, cols, data };
}

/**
 * Condition costs from condition embeddings [rows, dim] and [cols, dim] (e.g. pooled text
 * encodings): squared Euclidean distances, so similar texts may still share noise.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { embeddingCosts } from "./condition.ts";
 * const c = embeddingCosts(new Float32Array([0, 0]), new Float32Array([1, 2, 0, 0]), { dim: 2 });
 * assert.ok(E.isRight(c) && c.right.data.join() === "5,0");
 * ```
 */
export function embeddingCosts(
  embeddings0: Float32Array | Float64Array,
  embeddings1: Float32Array | Float64Array,
  options: { dim: number },
): Either<OtError, CostMatrix> {
  const { dim } = options;
  const rows = embeddings0.length / dim, cols = embeddings1.length / dim;
  if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(rows) || !Number.isInteger(cols)) {
    return E.left(otError(
      "shape-mismatch",
      `embeddings of ${embeddings0.length} and ${embeddings1.length} values do not split into ` +
        `rows of dim ${dim}`,
    ));
  }
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let d = 0; d < dim; d++) {
        const diff = embeddings0[i * dim + d] - embeddings1[j * dim + d];
        acc += diff * diff;
      }
      data[i * cols + j] = acc;
    }
  }
  return checkCosts({ rows, cols, data }, { what: "embedding condition costs" });
}
