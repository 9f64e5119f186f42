/**
 * Exact linear assignment: the permutation that minimises the total cost of a square cost
 * matrix. This is minibatch OT with uniform marginals and equal batch sizes, whose optimal plan
 * is a permutation (Birkhoff-von Neumann), as used by OT-CFM (Tong et al. 2024).
 *
 * The solver follows Jonker & Volgenant (1987), "A shortest augmenting path algorithm for dense
 * and sparse linear assignment problems": column reduction with reduction transfer gives a
 * partial assignment and feasible dual prices, then every row left free is assigned by a
 * Dijkstra search for the shortest augmenting path over reduced costs, after which the prices
 * of the scanned columns are updated so that reduced costs stay non-negative. O(n^3) worst
 * case, much less on random costs.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { checkCosts, type CostMatrix, type OtError } from "./types.ts";

/** The optimal assignment of a square cost matrix. */
export interface Assignment {
  /** `perm[i]` is the column (x1 index) assigned to row i (x0 index). */
  readonly perm: Int32Array;
  /** The sum of `costs[i, perm[i]]` over rows. */
  readonly cost: number;
  /**
   * Dual column prices v; with u_i = costs[i, perm[i]] - v[perm[i]], every reduced cost
   * costs[i, j] - u_i - v[j] is >= 0 (up to rounding), which certifies optimality.
   */
  readonly prices: Float64Array;
}

/**
 * The exact minimum-cost permutation of a square, finite cost matrix (Jonker-Volgenant).
 * Non-square, empty or non-finite costs give a typed {@link OtError}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { exactAssignment } from "./assignment.ts";
 * const costs = { rows: 3, cols: 3, data: new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]) };
 * const result = exactAssignment(costs);
 * if (E.isLeft(result)) throw new Error(result.left.message);
 * assert.ok(result.right.perm.join() === "1,0,2" && result.right.cost === 5);
 * ```
 */
export function exactAssignment(costs: CostMatrix): Either<OtError, Assignment> {
  return E.map((c: CostMatrix) => solve(c.rows, c.data))(
    checkCosts(costs, { square: true, what: "exactAssignment() costs" }),
  );
}

/** Jonker-Volgenant on an n x n row-major cost array known to be finite. */
function solve(n: number, original: Float64Array): Assignment {
  // Row reduction first: subtracting each row's minimum changes no permutation's rank (every
  // row is used once) and leaves the column prices valid for the original costs, but the
  // column reduction below then spreads columns over rows better: 256 x 256 OT costs solve
  // 1.5-3x faster.
  const c = new Float64Array(original);
  for (let i = 0; i < n; i++) {
    let min = Infinity;
    for (let j = 0; j < n; j++) min = Math.min(min, c[i * n + j]);
    for (let j = 0; j < n; j++) c[i * n + j] -= min;
  }
  const rowToCol = new Int32Array(n).fill(-1);
  const colToRow = new Int32Array(n).fill(-1);
  const v = new Float64Array(n);

  // Column reduction: each column's price is its minimum; the column goes to its argmin row
  // if that row has no column yet. Reduced costs c[i, j] - v[j] are then >= 0.
  const wins = new Int32Array(n);
  for (let j = n - 1; j >= 0; j--) {
    let best = 0, min = c[j];
    for (let i = 1; i < n; i++) {
      if (c[i * n + j] < min) {
        min = c[i * n + j];
        best = i;
      }
    }
    v[j] = min;
    if (++wins[best] === 1) {
      rowToCol[best] = j;
      colToRow[j] = best;
    }
  }

  // Reduction transfer: a row that won exactly one column j1 lowers j1's price by its second
  // smallest reduced cost, raising its own dual without breaking feasibility.
  const free: number[] = [];
  for (let i = 0; i < n; i++) {
    if (wins[i] === 0) free.push(i);
    else if (wins[i] === 1) {
      const j1 = rowToCol[i];
      let mu = Infinity;
      for (let j = 0; j < n; j++) {
        if (j !== j1) mu = Math.min(mu, c[i * n + j] - v[j]);
      }
      if (Number.isFinite(mu)) v[j1] -= mu;
    }
  }

  // Shortest augmenting paths (Dijkstra over reduced costs), one per free row.
  const dist = new Float64Array(n);
  const pred = new Int32Array(n);
  const done = new Uint8Array(n);
  const scanned = new Int32Array(n);
  for (const f of free) {
    for (let j = 0; j < n; j++) {
      dist[j] = c[f * n + j] - v[j];
      pred[j] = f;
      done[j] = 0;
    }
    let count = 0, end = -1, least = 0;
    while (end < 0) {
      let jmin = -1;
      least = Infinity;
      for (let j = 0; j < n; j++) {
        // On ties prefer an unassigned column: it ends the search at once.
        if (!done[j] && (dist[j] < least || (dist[j] === least && colToRow[j] < 0))) {
          least = dist[j];
          jmin = j;
        }
      }
      if (colToRow[jmin] < 0) {
        end = jmin;
        break;
      }
      done[jmin] = 1;
      scanned[count++] = jmin;
      const i = colToRow[jmin], row = i * n;
      // Path length through row i to column k: least + reduced cost of (i, k), where row i's
      // dual is c[i, jmin] - v[jmin] (its assigned column has reduced cost 0).
      const base = c[row + jmin] - v[jmin] - least;
      for (let k = 0; k < n; k++) {
        if (done[k]) continue;
        const h = c[row + k] - v[k] - base;
        if (h < dist[k]) {
          dist[k] = h;
          pred[k] = i;
        }
      }
    }
    // Price update keeps reduced costs >= 0 and zero along the new assignment.
    for (let s = 0; s < count; s++) v[scanned[s]] += dist[scanned[s]] - least;
    // Augment: flip the alternating path from the free column back to row f.
    for (let j = end;;) {
      const i = pred[j];
      colToRow[j] = i;
      const next = rowToCol[i];
      rowToCol[i] = j;
      if (i === f) break;
      j = next;
    }
  }

  let cost = 0;
  for (let i = 0; i < n; i++) cost += original[i * n + rowToCol[i]];
  return { perm: rowToCol, cost, prices: v };
}
