/** Coupling: OT lowers transport cost, plan-to-pairs sampling, buckets, errors. */
import assert from "@std/assert";
import type { either as E } from "fp-ts";
import { exactAssignment } from "../lib/ot/assignment.ts";
import { sequenceCosts, type Sequences } from "../lib/ot/costs.ts";
import {
  couple,
  coupleInBuckets,
  type CoupleOptions,
  invertPermutation,
  lengthBuckets,
} from "../lib/ot/couple.ts";
import { samplePairs } from "../lib/ot/sample.ts";
import { sinkhorn } from "../lib/ot/sinkhorn.ts";
import type { CostMatrix, OtError } from "../lib/ot/types.ts";
import { leftOf } from "./harness.ts";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal, randint, type Rng } from "../lib/random.ts";

const right = orThrow;
const left = <A>(r: E.Either<OtError, A>): OtError => leftOf(r);
const isPermutation = (p: Int32Array): boolean =>
  [...p].sort((a, b) => a - b).every((x, k) => x === k);

function randomBatchCosts(n: number, rng: Rng): CostMatrix {
  const frames = 12, dim = 8;
  const x0: Sequences = {
    data: fillNormal(new Float32Array(n * frames * dim), rng),
    count: n,
    frames,
    dim,
  };
  // Data away from the noise: a per-sample offset, as real encoder states are not N(0, I).
  const x1data = fillNormal(new Float32Array(n * frames * dim), rng);
  for (let j = 0; j < n; j++) {
    const shift = 2 * rng.normal();
    for (let k = 0; k < frames * dim; k++) x1data[j * frames * dim + k] += shift;
  }
  const lengths = Array.from({ length: n }, () => 4 + randint(frames - 3, rng));
  return right(sequenceCosts(x0, { data: x1data, count: n, frames, dim, lengths }));
}

Deno.test("couple() lowers the mean transport cost compared with independent pairing", () => {
  for (const seed of [1, 2, 3]) {
    const rng = createRng(seed), costs = randomBatchCosts(64, rng);
    const independent = right(couple(costs, { method: "independent", rng }));
    const exact = right(couple(costs, { method: "exact" }));
    const soft = right(couple(costs, { method: "sinkhorn", rng }));
    for (const c of [independent, exact, soft]) assert.ok(isPermutation(c.perm));
    assert.ok(exact.meanCost < 0.9 * independent.meanCost, `seed ${seed}: exact`);
    assert.ok(soft.meanCost < 0.95 * independent.meanCost, `seed ${seed}: sinkhorn`);
    assert.ok(exact.meanCost <= soft.meanCost + 1e-9, `seed ${seed}: exact is optimal`);
    assert.equal(exact.meanCost, right(exactAssignment(costs)).cost / 64);
  }
});

Deno.test("couple() is reproducible from the seed and differs across seeds", () => {
  const costs = randomBatchCosts(32, createRng(4));
  for (const method of ["independent", "sinkhorn"] as const) {
    const run = (
      seed: number,
    ) => [...right(couple(costs, { method, rng: createRng(seed) } as CoupleOptions)).perm];
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  }
});

Deno.test("samplePairs() with replacement draws pairs at the plan's frequencies", () => {
  const plan = { rows: 2, cols: 3, data: new Float64Array([0.1, 0.2, 0, 0.3, 0.15, 0.25]) };
  const draws = 60_000;
  const { rows, cols } = right(
    samplePairs(plan, { rng: createRng(1), count: draws, replace: true }),
  );
  const counts = new Float64Array(6);
  rows.forEach((i, k) => counts[i * 3 + cols[k]]++);
  for (let k = 0; k < 6; k++) {
    const p = plan.data[k], sd = Math.sqrt(draws * p * (1 - p));
    assert.ok(Math.abs(counts[k] - draws * p) <= 5 * sd + 1e-9, `cell ${k}: ${counts[k]}`);
  }
});

Deno.test("samplePairs() without replacement never repeats a row or a column", () => {
  const rng = createRng(2);
  const costs = { rows: 9, cols: 6, data: new Float64Array(54).map(() => rng.nextFloat()) };
  const plan = { rows: 9, cols: 6, data: right(sinkhorn(costs, { epsilon: 0.1 })).plan };
  const { rows, cols } = right(samplePairs(plan, { rng, count: 6 }));
  assert.equal(new Set(rows).size, 6);
  assert.equal(new Set(cols).size, 6);
  // A permutation plan is followed exactly.
  const perm = [2, 0, 3, 1];
  const onehot = new Float64Array(16);
  perm.forEach((j, i) => (onehot[i * 4 + j] = 0.25));
  const pairs = right(samplePairs({ rows: 4, cols: 4, data: onehot }, { rng }));
  pairs.rows.forEach((i, k) => assert.equal(pairs.cols[k], perm[i]));
  assert.equal(
    left(samplePairs({ rows: 4, cols: 4, data: onehot }, { rng, count: 5 })).kind,
    "invalid-option",
  );
});

Deno.test("samplePairs() reports a plan with no mass left instead of pairing arbitrarily", () => {
  const rng = createRng(3);
  // Row 0 can only go to column 0, but so can row 1: after one draw nothing is left.
  const plan = { rows: 2, cols: 2, data: new Float64Array([0.5, 0, 0.5, 0]) };
  const e = left(samplePairs(plan, { rng }));
  assert.equal(e.kind, "empty-plan");
  assert.match(e.message, /raise the Sinkhorn epsilon/);
  assert.equal(
    left(samplePairs({ rows: 1, cols: 1, data: new Float64Array([0]) }, { rng })).kind,
    "empty-plan",
  );
  assert.equal(
    left(samplePairs({ rows: 1, cols: 1, data: new Float64Array([NaN]) }, { rng })).kind,
    "non-finite-cost",
  );
});

Deno.test("coupleInBuckets() couples within length buckets only", () => {
  const rng = createRng(5), n = 48;
  const costs = randomBatchCosts(n, rng);
  const lengths = Array.from({ length: n }, () => 1 + randint(150, rng));
  const buckets = right(lengthBuckets(lengths, { width: 50 }));
  assert.equal(left(lengthBuckets([3, 0], { width: 50 })).kind, "invalid-lengths");
  assert.equal(left(lengthBuckets([3], { width: 0 })).kind, "invalid-option");
  for (const options of [{ method: "exact" }, { method: "sinkhorn", rng }] as CoupleOptions[]) {
    const c = right(coupleInBuckets(costs, { ...options, buckets }));
    assert.ok(isPermutation(c.perm));
    c.perm.forEach((j, i) => assert.equal(buckets[i], buckets[j], `pair ${i} -> ${j}`));
  }
  // One bucket is plain coupling.
  const single = right(coupleInBuckets(costs, { method: "exact", buckets: new Int32Array(n) }));
  assert.deepEqual(single.perm, right(couple(costs, { method: "exact" })).perm);
  assert.equal(
    left(coupleInBuckets(costs, { method: "exact", buckets: [0] })).kind,
    "shape-mismatch",
  );
});

Deno.test("invertPermutation() undoes perm", () => {
  const perm = Int32Array.from([3, 0, 2, 1]);
  const inv = invertPermutation(perm);
  perm.forEach((j, i) => assert.equal(inv[j], i));
});

Deno.test("couple() gives typed errors for NaN, Inf, empty and non-square costs and non-convergence", () => {
  const rng = createRng(6);
  const nan = { rows: 2, cols: 2, data: new Float64Array([0, NaN, 1, 0]) };
  for (
    const o of [{ method: "exact" }, { method: "sinkhorn", rng }, {
      method: "independent",
      rng,
    }] as CoupleOptions[]
  ) {
    assert.equal(left(couple(nan, o)).kind, "non-finite-cost");
    assert.equal(
      left(couple({ rows: 2, cols: 2, data: new Float64Array([0, 1, -Infinity, 0]) }, o)).kind,
      "non-finite-cost",
    );
    assert.equal(
      left(couple({ rows: 0, cols: 0, data: new Float64Array() }, o)).kind,
      "empty-batch",
    );
    assert.equal(
      left(couple({ rows: 2, cols: 3, data: new Float64Array(6) }, o)).kind,
      "non-square",
    );
  }
  const costs = randomBatchCosts(16, rng);
  const e = left(
    couple(costs, { method: "sinkhorn", rng, sinkhorn: { epsilon: 1e-3, maxIterations: 2 } }),
  );
  assert.equal(e.kind, "not-converged");
  assert.ok(e.marginalError! > 0);
});
