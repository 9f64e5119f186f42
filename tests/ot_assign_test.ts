/** Exact assignment (Jonker-Volgenant): optimality against brute force, planted pairs, errors. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { exactAssignment } from "../lib/ot/assignment.ts";
import type { CostMatrix, OtError } from "../lib/ot/types.ts";
import { createRng, fillNormal, type Rng, shuffle } from "../lib/random.ts";

/** Minimum total cost over all n! permutations (Heap-style recursion). */
function bruteForce(costs: CostMatrix): number {
  const n = costs.rows, perm = [...Array(n).keys()];
  let best = Infinity;
  const visit = (k: number, acc: number): void => {
    if (k === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let s = k; s < n; s++) {
      [perm[k], perm[s]] = [perm[s], perm[k]];
      visit(k + 1, acc + costs.data[k * n + perm[k]]);
      [perm[k], perm[s]] = [perm[s], perm[k]];
    }
  };
  visit(0, 0);
  return best;
}

function randomCosts(n: number, rng: Rng, kind: "uniform" | "integer" | "normal"): CostMatrix {
  const data = new Float64Array(n * n).map(() =>
    kind === "uniform" ? rng.nextFloat() : kind === "integer"
      ? Math.floor(rng.nextFloat() * 4) // many ties
      : 100 * rng.normal() // negative costs too
  );
  return { rows: n, cols: n, data };
}

function solved(costs: CostMatrix) {
  const result = exactAssignment(costs);
  if (E.isLeft(result)) throw new Error(result.left.message);
  return result.right;
}

function errorOf(costs: CostMatrix): OtError {
  const result = exactAssignment(costs);
  if (E.isRight(result)) throw new Error("expected an error");
  return result.left;
}

Deno.test("exactAssignment() equals brute force for n <= 7", () => {
  for (let n = 1; n <= 7; n++) {
    for (let seed = 0; seed < 12; seed++) {
      for (const kind of ["uniform", "integer", "normal"] as const) {
        const costs = randomCosts(n, createRng(1000 * n + seed), kind);
        const { perm, cost } = solved(costs);
        assert.deepEqual([...perm].sort(), [...Array(n).keys()], "perm is a permutation");
        let total = 0;
        perm.forEach((j, i) => (total += costs.data[i * n + j]));
        assert.ok(Math.abs(total - cost) < 1e-9, "cost is the sum of the chosen entries");
        const best = bruteForce(costs);
        assert.ok(Math.abs(cost - best) <= 1e-9 * (1 + Math.abs(best)), `n ${n} seed ${seed}`);
      }
    }
  }
});

Deno.test("exactAssignment() prices certify optimality (reduced costs >= 0) at n = 200", () => {
  const n = 200, costs = randomCosts(n, createRng(7), "uniform");
  const { perm, prices } = solved(costs);
  for (let i = 0; i < n; i++) {
    const u = costs.data[i * n + perm[i]] - prices[perm[i]];
    for (let j = 0; j < n; j++) assert.ok(costs.data[i * n + j] - u - prices[j] >= -1e-9);
  }
});

Deno.test("exactAssignment() recovers planted permutations (x0 = permuted x1 + tiny noise)", () => {
  for (const seed of [1, 2, 3]) {
    const rng = createRng(seed), n = 64, dim = 32;
    const x1 = fillNormal(new Float64Array(n * dim), rng);
    const planted = shuffle([...Array(n).keys()], rng);
    const x0 = x1.map((_, k) =>
      x1[planted[Math.floor(k / dim)] * dim + (k % dim)] + 1e-3 * rng.normal()
    );
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        for (let d = 0; d < dim; d++) data[i * n + j] += (x0[i * dim + d] - x1[j * dim + d]) ** 2;
      }
    }
    assert.deepEqual([...solved({ rows: n, cols: n, data }).perm], planted);
  }
});

Deno.test("exactAssignment() gives typed errors for NaN, Inf, empty, non-square and misshapen costs", () => {
  const nan = errorOf({ rows: 2, cols: 2, data: new Float64Array([0, 1, NaN, 0]) });
  assert.equal(nan._tag, "OtError");
  assert.equal(nan.kind, "non-finite-cost");
  assert.match(nan.message, /\[1, 0\] is NaN/);
  const inf = errorOf({ rows: 2, cols: 2, data: new Float64Array([0, Infinity, 1, 0]) });
  assert.equal(inf.kind, "non-finite-cost");
  assert.match(inf.message, /Infinity/);
  assert.equal(errorOf({ rows: 0, cols: 0, data: new Float64Array() }).kind, "empty-batch");
  const rect = errorOf({ rows: 2, cols: 3, data: new Float64Array(6) });
  assert.equal(rect.kind, "non-square");
  assert.match(rect.message, /2x3/);
  assert.equal(errorOf({ rows: 2, cols: 2, data: new Float64Array(3) }).kind, "shape-mismatch");
});
