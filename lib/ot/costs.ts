/**
 * Transport costs between a batch of noise sequences x0 [n, T, D] and a batch of data
 * sequences x1 [m, T, D] of variable length: the squared Euclidean distance over the frames
 * the data sample actually has, divided by that length,
 *
 *   cost(i, j) = sum_{t < len_j} |x0_i[t] - x1_j[t]|^2 / len_j,
 *
 * so that a long sample does not dominate a short one. Frames at or beyond `len_j` are
 * padding and never count. This file holds the plain TypeScript reference; costs_graph.ts
 * computes the same matrix through ONNX Runtime's MatMul, and condition.ts adds the C2OT
 * condition term.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { type ConditionTerm, withCondition } from "./condition.ts";
import { type CostMatrix, type OtError, otError } from "./types.ts";

/** A batch of sequences, row-major [count, frames, dim], with valid frames per sample. */
export interface Sequences {
  /** The values, row-major [count, frames, dim]. */
  readonly data: Float32Array;
  /** Sequences in the batch. */
  readonly count: number;
  /** Frames per sequence (padded length). */
  readonly frames: number;
  /** Values per frame. */
  readonly dim: number;
  /**
   * Valid frames per sample, integers in [1, frames] (default: all frames). Costs are masked
   * by the data sample's length, so only x1's lengths are read; x0's are ignored.
   */
  readonly lengths?: ArrayLike<number>;
}

/** Options shared by the cost functions. */
export interface CostOptions {
  /** Adds `weight * costs` (C2OT). */
  readonly condition?: ConditionTerm;
}

/** The checked shape of a cost problem; `lengths` are x1's valid frames. */
export interface CostShape {
  /** x0 sequences (cost matrix rows). */
  readonly rows: number;
  /** x1 sequences (cost matrix columns). */
  readonly cols: number;
  /** Frames per sequence (padded length). */
  readonly frames: number;
  /** Values per frame. */
  readonly dim: number;
  /** x1's valid frames per sample, [cols]. */
  readonly lengths: Int32Array;
}

/**
 * Checks two batches: non-empty, data sized count * frames * dim, equal frames and dim, and
 * x1 lengths in [1, frames]. Only x1's lengths matter (costs are masked by the data sample).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { checkSequences } from "./costs.ts";
 * const x = { data: new Float32Array(12), count: 2, frames: 3, dim: 2, lengths: [3, 1] };
 * const shape = checkSequences(x, x);
 * assert.ok(E.isRight(shape) && shape.right.lengths[1] === 1);
 * ```
 */
export function checkSequences(x0: Sequences, x1: Sequences): Either<OtError, CostShape> {
  for (const [name, x] of [["x0", x0], ["x1", x1]] as const) {
    if (x.count === 0) {
      return E.left(otError("empty-batch", `${name} has no samples; skip coupling empty batches`));
    }
    const size = x.count * x.frames * x.dim;
    if (![x.count, x.frames, x.dim].every((d) => Number.isInteger(d) && d > 0)) {
      return E.left(otError(
        "shape-mismatch",
        `${name} count, frames and dim must be positive integers, got ${x.count}, ${x.frames}, ${x.dim}`,
      ));
    }
    if (x.data.length !== size) {
      return E.left(otError(
        "shape-mismatch",
        `${name} data holds ${x.data.length} floats but [${x.count}, ${x.frames}, ${x.dim}] ` +
          `needs ${size}`,
      ));
    }
  }
  if (x0.frames !== x1.frames || x0.dim !== x1.dim) {
    return E.left(otError(
      "shape-mismatch",
      `x0 is [${x0.count}, ${x0.frames}, ${x0.dim}] but x1 is [${x1.count}, ${x1.frames}, ` +
        `${x1.dim}]; pad both batches to the same frames and dim`,
    ));
  }
  const lengths = new Int32Array(x1.count).fill(x1.frames);
  if (x1.lengths) {
    if (x1.lengths.length !== x1.count) {
      return E.left(otError(
        "invalid-lengths",
        `x1 has ${x1.count} samples but ${x1.lengths.length} lengths; pass one per sample`,
      ));
    }
    for (let j = 0; j < x1.count; j++) {
      const len = x1.lengths[j];
      if (!Number.isInteger(len) || len < 1 || len > x1.frames) {
        return E.left(otError(
          "invalid-lengths",
          `x1 lengths[${j}] is ${len}; lengths must be integers in [1, ${x1.frames}] ` +
            `(drop empty samples before coupling)`,
        ));
      }
      lengths[j] = len;
    }
  }
  return E.right({ rows: x0.count, cols: x1.count, frames: x0.frames, dim: x0.dim, lengths });
}

/**
 * Reference costs in plain TypeScript (float64 accumulation): O(n m T D), for tests and
 * small batches; use openCostSession() (costs_graph.ts) for real batch sizes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { sequenceCosts } from "./costs.ts";
 * const x0 = { data: new Float32Array([0, 0, 5, 5]), count: 1, frames: 2, dim: 2 };
 * const x1 = { data: new Float32Array([3, 4, 9, 9]), count: 1, frames: 2, dim: 2, lengths: [1] };
 * const costs = sequenceCosts(x0, x1);
 * assert.ok(E.isRight(costs) && costs.right.data[0] === 25); // frame 1 is padding
 * ```
 */
export function sequenceCosts(
  x0: Sequences,
  x1: Sequences,
  options: CostOptions = {},
): Either<OtError, CostMatrix> {
  const shape = checkSequences(x0, x1);
  if (E.isLeft(shape)) return shape;
  const { rows, cols, frames, dim, lengths } = shape.right;
  const out = new Float64Array(rows * cols);
  const a = x0.data, b = x1.data, stride = frames * dim;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      const end = lengths[j] * dim;
      for (let k = 0, p = i * stride, q = j * stride; k < end; k++) {
        const d = a[p + k] - b[q + k];
        acc += d * d;
      }
      out[i * cols + j] = acc / lengths[j];
    }
  }
  return withCondition({ rows, cols, data: out }, options.condition);
}
