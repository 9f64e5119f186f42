/**
 * The fast path for the sequence costs of costs.ts: one ONNX graph per batch shape, built once
 * and run in one ONNX Runtime call per batch. It expands the masked, length-normalised
 * squared distance as
 *
 *   cost(i, j) = (A_ij + B_j - 2 G_ij) / len_j,   G = x0 @ x1z^T,
 *   A_ij = sum_{t < len_j} |x0_i[t]|^2 = (per-frame norms of x0) @ mask^T,
 *   B_j = sum_{t < len_j} |x1_j[t]|^2,
 *
 * where x1z is x1 times its frame mask (finite padding zeroed, whatever it held). G is one
 * [n, T*D] @ [T*D, m] Gemm with transB, so x1 is never transposed or copied; at n = m = 256,
 * T = 150, D = 384 it is 7.5 GFLOP and dominates everything else. The norms are one pass over
 * each input. When every x1 length is T a second graph skips the mask (A_ij = |x0_i|^2).
 *
 * `terms: "pairing"` drops A and B when every x1 length is T: both are then constant
 * along a row or a column, and adding a constant to a row or a column of a cost matrix changes
 * neither the optimal permutation (every row and column is used once) nor the Sinkhorn plan
 * (it rescales the dual scalings only) at a fixed epsilon. Sinkhorn's default epsilon is
 * relative to the cost spread, which dropping A and B changes: pass an explicit epsilon to
 * get the same plan. The matrix is then only -2 G / T, which skips the norm passes, but its
 * entries are not distances.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
import { attr, Graph, type Value } from "../graph/builder.ts";
import { add, gemm, mul, reduceSum, reshape, sub } from "../graph/ops.ts";
import {
  openSession,
  runSession,
  type Session,
  type SessionOptions,
  type Tensors,
} from "../graph/session.ts";
import { withCondition } from "./condition.ts";
import { checkSequences, type CostOptions, type Sequences } from "./costs.ts";
import { type CostMatrix, type OtError, otError } from "./types.ts";

/** Which terms the graph computes: true distances, or a pairing-equivalent matrix. */
export type CostTerms = "full" | "pairing";

/**
 * The graph variants: `full` (every x1 length is `frames`, no masking), `masked` (variable
 * lengths; x1 is multiplied by its frame mask, so its padding may hold anything) and `pairing`
 * (full lengths, -2 G / frames only).
 */
export type CostGraphVariant = "full" | "masked" | "pairing";

/** The static shape a cost session is built for. */
export interface CostSessionShape {
  /** x0 sequences (cost matrix rows). */
  readonly rows: number;
  /** x1 sequences (cost matrix columns). */
  readonly cols: number;
  /** Frames per sequence (padded length). */
  readonly frames: number;
  /** Values per frame. */
  readonly dim: number;
}

/** Open cost graphs for one shape: `masked` is absent for terms 'pairing'. */
export interface CostSession {
  /** The static shape the graphs were built for. */
  readonly shape: CostSessionShape;
  /** Which terms the graphs compute. */
  readonly terms: CostTerms;
  /** The graph for batches whose x1 lengths are all `frames` (the `pairing` graph for terms 'pairing'). */
  readonly full: Session;
  /** The graph for variable x1 lengths (terms 'full' only). */
  readonly masked?: Session;
}

/** Sum of squares over the last axis of a 2-D value (ONNX ReduceSumSquare). */
function sumSquares(x: Value): Value {
  const axes = x.graph.constant([1], { dtype: "int64", shape: [1] });
  const spec = { dtype: x.dtype, shape: [x.shape[0]] };
  return x.graph.node("ReduceSumSquare", {
    inputs: [x, axes],
    outputs: [spec],
    attrs: { keepdims: attr.int(0) },
  })[0];
}

/**
 * Squared norm of every frame of x [rows, T*D], as [rows, T]. ReduceSumSquare over rows of D
 * measured faster than over rows of T*D (6.4 against 7.3 ms at [256, 57600], in isolation).
 */
function frameNorms(x: Value, t: number, d: number): Value {
  const rows = x.shape[0];
  return reshape(sumSquares(reshape(x, [rows * t, d])), [rows, t]);
}

/**
 * Builds one cost graph. Inputs: x0 [n, T*D] and x1 [m, T*D]; the masked variant also takes
 * mask [m, T] (1 for t < len_j, else 0) and scale [1, m] (1 / len_j). Output: costs [n, m].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { costGraph } from "./costs_graph.ts";
 * const g = costGraph({ rows: 4, cols: 3, frames: 5, dim: 2 }, "masked");
 * assert.deepEqual(g.inputs.map((v) => v.name), ["x0", "x1", "mask", "scale"]);
 * assert.deepEqual(g.outputs[0].shape, [4, 3]);
 * ```
 */
export function costGraph(shape: CostSessionShape, variant: CostGraphVariant): Graph {
  const { rows: n, cols: m, frames: t, dim: d } = shape;
  const g = new Graph(`ot_costs_${variant}_${n}x${m}x${t}x${d}`);
  const x0 = g.input("x0", { dtype: "float32", shape: [n, t * d] });
  const x1 = g.input("x1", { dtype: "float32", shape: [m, t * d] });
  if (variant === "pairing") {
    g.output(mul(gemm(x0, x1, { transB: true }), -2 / t), "costs");
  } else if (variant === "full") {
    const a = reduceSum(frameNorms(x0, t, d), { axes: [1], keepDims: true });
    const b = reshape(reduceSum(frameNorms(x1, t, d), { axes: [1] }), [1, m]);
    const gram = gemm(x0, x1, { transB: true });
    g.output(mul(add(sub(a, mul(gram, 2)), b), 1 / t), "costs");
  } else {
    const mask = g.input("mask", { dtype: "float32", shape: [m, t] });
    const scale = g.input("scale", { dtype: "float32", shape: [1, m] });
    // A multiply, not Where, which took 14.5 ms against 4.3 at [256, 150, 384] with its
    // broadcast condition. The price: NaN or Inf padding survives (NaN * 0) and surfaces as a
    // non-finite-cost error instead of being ignored.
    const x1z = reshape(mul(reshape(x1, [m, t, d]), reshape(mask, [m, t, 1])), [m, t * d]);
    const gram = gemm(x0, x1z, { transB: true });
    const a = gemm(frameNorms(x0, t, d), mask, { transB: true });
    const b = reshape(reduceSum(frameNorms(x1z, t, d), { axes: [1] }), [1, m]);
    g.output(mul(add(sub(a, mul(gram, 2)), b), scale), "costs");
  }
  return g;
}

/**
 * Opens the cost graph for one batch shape. Open once, then call {@link sessionCosts} per
 * batch.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { openCostSession, sessionCosts } from "./costs_graph.ts";
 * const shape = { rows: 1, cols: 2, frames: 2, dim: 1 };
 * const session = await openCostSession(shape, { threads: 1 })();
 * if (E.isLeft(session)) throw new Error(session.left.message);
 * const x0 = { data: new Float32Array([1, 1]), count: 1, frames: 2, dim: 1 };
 * const x1 = { data: new Float32Array([3, 3, 0, 7]), count: 2, frames: 2, dim: 1, lengths: [2, 1] };
 * const costs = await sessionCosts(session.right, { x0, x1 })();
 * if (E.isLeft(costs)) throw new Error(costs.left.message);
 * assert.ok(costs.right.data.join() === "4,1");
 * ```
 */
export function openCostSession(
  shape: CostSessionShape,
  options: Pick<SessionOptions, "threads" | "provider"> & { terms?: CostTerms } = {},
): TaskEither<OtError, CostSession> {
  const { rows, cols, frames, dim } = shape;
  if (![rows, cols, frames, dim].every((x) => Number.isInteger(x) && x > 0)) {
    return TE.left(otError(
      rows === 0 || cols === 0 ? "empty-batch" : "shape-mismatch",
      `openCostSession() needs positive integer sizes, got [${rows}, ${cols}, ${frames}, ${dim}]`,
    ));
  }
  const terms = options.terms ?? "full";
  const open = (variant: CostGraphVariant) =>
    TE.mapLeft((e: { message: string }) => otError("session", e.message))(
      openSession(costGraph(shape, variant), {
        threads: options.threads,
        provider: options.provider,
      }),
    );
  if (terms === "pairing") {
    return TE.map((full: Session) => ({ shape, terms, full }))(open("pairing"));
  }
  return TE.flatMap(
    open("full"),
    (full) => TE.map((masked: Session) => ({ shape, terms, full, masked }))(open("masked")),
  );
}

/**
 * Costs of a batch pair through the session: the same matrix as sequenceCosts() up to
 * float32 rounding (or its pairing-equivalent form, see the module notes). Batches whose x1
 * lengths are all `frames` run the unmasked graph; others the masked one, which ignores any
 * finite values in x1's padding. NaN or Inf anywhere in x0, or in x1's padding, gives a
 * `non-finite-cost` error (the TS reference reads neither, so it would not).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { sequenceCosts } from "./costs.ts";
 * import { openCostSession, sessionCosts } from "./costs_graph.ts";
 * const x0 = { data: Float32Array.from({ length: 12 }, (_, k) => k % 5), count: 2, frames: 3, dim: 2 };
 * const x1 = { ...x0, data: x0.data.map((v) => 2 - v), lengths: [3, 1] };
 * const session = await orThrow(openCostSession({ rows: 2, cols: 2, frames: 3, dim: 2 }));
 * const fast = await orThrow(sessionCosts(session, { x0, x1 }));
 * const reference = orThrow(sequenceCosts(x0, x1));
 * assert.ok(fast.data.every((c, k) => Math.abs(c - reference.data[k]) < 1e-4));
 * ```
 */
export function sessionCosts(
  cost: CostSession,
  batches: { readonly x0: Sequences; readonly x1: Sequences },
  options: CostOptions = {},
): TaskEither<OtError, CostMatrix> {
  const { x0, x1 } = batches;
  const checked = checkSequences(x0, x1);
  if (E.isLeft(checked)) return TE.left(checked.left);
  const { rows, cols, frames, dim, lengths } = checked.right;
  const s = cost.shape;
  if (rows !== s.rows || cols !== s.cols || frames !== s.frames || dim !== s.dim) {
    return TE.left(otError(
      "shape-mismatch",
      `the session was built for x0 [${s.rows}, ${s.frames}, ${s.dim}] and x1 [${s.cols}, ` +
        `${s.frames}, ${s.dim}], got [${rows}, ${frames}, ${dim}] and [${cols}, ${frames}, ` +
        `${dim}]; open a session per shape`,
    ));
  }
  const full = lengths.every((len) => len === frames);
  let run: TaskEither<{ message: string }, Tensors>;
  if (full) run = runSession(cost.full, { x0: x0.data, x1: x1.data });
  else if (!cost.masked) {
    return TE.left(otError(
      "invalid-option",
      `terms 'pairing' drops norm terms that are only constant when every x1 length is ` +
        `${frames}, but lengths range from ${Math.min(...lengths)} to ${Math.max(...lengths)}; ` +
        `open the session with terms 'full'`,
    ));
  } else {
    const scale = new Float32Array(cols), mask = new Float32Array(cols * frames);
    for (let j = 0; j < cols; j++) {
      scale[j] = 1 / lengths[j];
      mask.fill(1, j * frames, j * frames + lengths[j]);
    }
    run = runSession(cost.masked, { x0: x0.data, x1: x1.data, mask, scale });
  }
  return TE.flatMap(
    TE.mapLeft((e: { message: string }) => otError("session", e.message))(run),
    (out) =>
      TE.fromEither(withCondition(
        { rows, cols, data: Float64Array.from(out.costs as Float32Array) },
        options.condition,
      )),
  );
}
