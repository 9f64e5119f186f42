/**
 * Shared types of the OT module: dense matrices (costs and plans), and the typed error that
 * every degenerate input returns instead of a silent fallback.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";

/** What went wrong, so callers can branch on it; the message says the fix. */
export type OtErrorKind =
  | "empty-batch"
  | "shape-mismatch"
  | "non-square"
  | "non-finite-cost"
  | "invalid-lengths"
  | "invalid-marginals"
  | "invalid-option"
  | "not-converged"
  | "empty-plan"
  | "session";

/** A degenerate input or a failed solve. `not-converged` also carries the last error. */
export interface OtError {
  /** Discriminant for telling OtError apart from other errors. */
  readonly _tag: "OtError";
  /** What went wrong. */
  readonly kind: OtErrorKind;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /** Sinkhorn only: the L1 marginal error when the iteration budget ran out. */
  readonly marginalError?: number;
  /** Sinkhorn only: iterations spent. */
  readonly iterations?: number;
}

/**
 * Builds an {@link OtError}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { otError } from "./types.ts";
 * const e = otError("empty-batch", "no samples: pass at least one");
 * assert.ok(e._tag === "OtError" && e.kind === "empty-batch");
 * ```
 */
export function otError(
  kind: OtErrorKind,
  message: string,
  extra: { marginalError?: number; iterations?: number } = {},
): OtError {
  return { _tag: "OtError", kind, message, ...extra };
}

/**
 * A dense row-major matrix in float64: a cost matrix (rows index x0, columns index x1) or a
 * transport plan.
 */
export interface CostMatrix {
  /** Number of rows (x0 samples). */
  readonly rows: number;
  /** Number of columns (x1 samples). */
  readonly cols: number;
  /** The entries, row-major, rows x cols. */
  readonly data: Float64Array;
}

/**
 * Checks that a matrix is non-empty, consistent and finite; `square` also requires
 * rows === cols. Returns the matrix unchanged, or the error naming the first bad entry.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { checkCosts } from "./types.ts";
 * const bad = checkCosts({ rows: 1, cols: 2, data: new Float64Array([0, NaN]) });
 * assert.ok(E.isLeft(bad) && bad.left.kind === "non-finite-cost");
 * ```
 */
export function checkCosts(
  costs: CostMatrix,
  options: { square?: boolean; what?: string } = {},
): Either<OtError, CostMatrix> {
  const what = options.what ?? "cost matrix";
  const { rows, cols, data } = costs;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    return E.left(otError("shape-mismatch", `${what}: rows ${rows} and cols ${cols}`));
  }
  if (rows === 0 || cols === 0) {
    return E.left(otError(
      "empty-batch",
      `${what} is ${rows}x${cols}: an empty batch has nothing to pair; skip the coupling`,
    ));
  }
  if (data.length !== rows * cols) {
    return E.left(otError(
      "shape-mismatch",
      `${what} says ${rows}x${cols} (${rows * cols} entries) but holds ${data.length}`,
    ));
  }
  if (options.square && rows !== cols) {
    return E.left(otError(
      "non-square",
      `${what} is ${rows}x${cols}; a permutation needs as many x0 as x1 (draw one noise ` +
        `sample per data sample, or use sinkhorn() for a rectangular plan)`,
    ));
  }
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      const i = Math.floor(k / cols), j = k % cols;
      return E.left(otError(
        "non-finite-cost",
        `${what}[${i}, ${j}] is ${data[k]}; costs must be finite (check the inputs for ` +
          `NaN/Inf, or use a large finite cost instead of Infinity to forbid a pair)`,
      ));
    }
  }
  return E.right(costs);
}
