import assert from "@std/assert";
import {
  createRng,
  fillNormal,
  fillUniform,
  forkRng,
  randint,
  type Rng,
  rngFromState,
  shuffle,
} from "../lib/random.ts";

// Statistical checks use fixed seeds, so they are deterministic; tolerances are still set at
// 5 standard errors (two-sided false-failure rate < 1e-6 per check for a fresh seed) or at the
// chi-square p = 0.001 critical value, so that changing a seed does not make a test flaky.

const draws = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.nextUint32());

const moments = (x: ArrayLike<number>) => {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i] / n;
  let m2 = 0, m3 = 0, m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    m2 += d * d / n;
    m3 += d * d * d / n;
    m4 += d * d * d * d / n;
  }
  return { mean, variance: m2, skew: m3 / m2 ** 1.5, exKurt: m4 / (m2 * m2) - 3 };
};

const chiSquare = (counts: readonly number[], expected: number): number =>
  counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);

/** A copy, so drawing from it leaves the original's state alone. */
const copyOf = (r: Rng): Rng => rngFromState(r.state());

const correlation = (x: Float64Array, y: Float64Array): number => {
  const mx = moments(x).mean, my = moments(y).mean;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
};

Deno.test("createRng() is deterministic for the same seed", () => {
  assert.deepEqual(draws(createRng(42), 1000), draws(createRng(42), 1000));
  const a = createRng(9), b = createRng(9);
  assert.deepEqual([a.nextFloat(), a.normal()], [b.nextFloat(), b.normal()]);
});

Deno.test("createRng() gives different streams for different seeds, high bits included", () => {
  const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
  const firsts = seeds.map((s) => draws(createRng(s), 4).join());
  assert.equal(new Set(firsts).size, seeds.length);
});

Deno.test("createRng() rejects non-integer seeds", () => {
  assert.throws(() => createRng(1.5), /seed must be a safe integer/);
  assert.throws(() => createRng(NaN), /seed must be a safe integer/);
});

Deno.test("rngFromState() follows the published xoshiro128** sequence", () => {
  // Reference values: Vigna's xoshiro128starstar.c from state {1, 2, 3, 4}.
  const expected = [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849];
  assert.deepEqual(draws(rngFromState([1, 2, 3, 4, 0, 0]), 8), expected);
});

Deno.test("rngFromState() continues the identical sequence, including a cached normal", () => {
  const a = createRng(123);
  draws(a, 17);
  a.normal(); // the second Box-Muller value is now pending
  const saved: number[] = JSON.parse(JSON.stringify(a.state()));
  assert.equal(saved[4], 1);
  const b = rngFromState(saved);
  const take = (r: Rng) => [r.normal(), r.normal(), r.normal(), r.nextFloat(), ...draws(r, 50)];
  assert.deepEqual(take(b), take(a));
});

Deno.test("rngFromState() names the invalid field", () => {
  assert.throws(() => rngFromState([1, 2, 3]), /array of 6 numbers/);
  assert.throws(() => rngFromState([1, 2, -3, 4, 0, 0]), /word 2 must be an integer/);
  assert.throws(() => rngFromState([1, 2, 3, 2 ** 32, 0, 0]), /word 3/);
  assert.throws(() => rngFromState([0, 0, 0, 0, 0, 0]), /must not all be zero/);
  assert.throws(() => rngFromState([1, 2, 3, 4, 2, 0]), /hasSpare flag/);
  assert.throws(() => rngFromState([1, 2, 3, 4, 1, NaN]), /spare normal/);
});

Deno.test("forkRng() gives deterministic, independent streams and leaves its parent alone", () => {
  const parent = createRng(5);
  const before = parent.state();
  assert.deepEqual(draws(forkRng(parent, 7), 100), draws(forkRng(parent, 7), 100));
  assert.deepEqual(parent.state(), before);

  // Pearson correlation of n paired floats has standard error 1/sqrt(n) under independence.
  const n = 20000;
  const floats = (r: Rng) => Float64Array.from({ length: n }, () => r.nextFloat());
  const streams = [parent, forkRng(parent, 0), forkRng(parent, 1), forkRng(parent, 2 ** 40)]
    .map((r) => floats(copyOf(r)));
  for (let i = 0; i < streams.length; i++) {
    for (let j = i + 1; j < streams.length; j++) {
      assert.ok(Math.abs(correlation(streams[i], streams[j])) < 5 / Math.sqrt(n), `${i} vs ${j}`);
    }
  }
  // A fork of a fork with the same key differs from the fork itself.
  const child = forkRng(parent, 1);
  assert.notDeepEqual(draws(forkRng(child, 1), 4), draws(forkRng(parent, 1), 4));
});

Deno.test("Rng.nextFloat() stays in [0, 1)", () => {
  const rng = createRng(11);
  for (let i = 0; i < 100000; i++) {
    const u = rng.nextFloat();
    assert.ok(u >= 0 && u < 1, `${u}`);
  }
});

Deno.test("fillUniform() matches the moments of U(low, high)", () => {
  const [low, high, n] = [-2, 3, 100000];
  const x = fillUniform(new Float64Array(n), createRng(21), { low, high });
  assert.ok(x.every((v) => v >= low && v < high));
  const m = moments(x);
  // Mean: SE = sqrt(var / n), var = (b-a)^2/12. Variance: SE = (b-a)^2 sqrt((1/80 - 1/144) / n).
  const w = high - low;
  assert.ok(Math.abs(m.mean - (low + high) / 2) < 5 * Math.sqrt(w * w / 12 / n));
  assert.ok(Math.abs(m.variance - w * w / 12) < 5 * w * w * Math.sqrt((1 / 80 - 1 / 144) / n));
  assert.throws(() => fillUniform(new Float32Array(1), createRng(0), { low: 1, high: 0 }));
});

Deno.test("fillNormal() matches the moments of N(mean, std^2)", () => {
  const [mean, std, n] = [1, 2, 100000];
  const x = fillNormal(new Float64Array(n), createRng(22), { mean, std });
  const m = moments(x);
  // Standard errors for a normal sample: mean std/sqrt(n), variance std^2 sqrt(2/n),
  // skewness sqrt(6/n), excess kurtosis sqrt(24/n).
  assert.ok(Math.abs(m.mean - mean) < 5 * std / Math.sqrt(n));
  assert.ok(Math.abs(m.variance - std * std) < 5 * std * std * Math.sqrt(2 / n));
  assert.ok(Math.abs(m.skew) < 5 * Math.sqrt(6 / n));
  assert.ok(Math.abs(m.exKurt) < 5 * Math.sqrt(24 / n));
  // Tail mass beyond 1.96 sigma is 0.05 with binomial SE sqrt(0.05 * 0.95 / n).
  const tail = x.filter((v) => Math.abs(v - mean) > 1.96 * std).length / n;
  assert.ok(Math.abs(tail - 0.05) < 5 * Math.sqrt(0.05 * 0.95 / n));
  assert.throws(() => fillNormal(new Float32Array(1), createRng(0), { std: -1 }), /std >= 0/);
});

Deno.test("randint() buckets pass a chi-square test", () => {
  const rng = createRng(33);
  const k = 7, n = 70000;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) counts[randint(k, rng)]++;
  assert.ok(chiSquare(counts, n / k) < 22.46); // chi2(df = 6) at p = 0.001
});

Deno.test("randint() is unbiased where a plain modulo would not be", () => {
  // n = 3 * 2^30: `x % n` would put half of all draws in the first third of [0, n).
  const rng = createRng(34);
  const n = 3 * 2 ** 30, draws = 30000;
  const counts = [0, 0, 0];
  for (let i = 0; i < draws; i++) counts[Math.floor(randint(n, rng) / 2 ** 30)]++;
  assert.ok(chiSquare(counts, draws / 3) < 13.82); // chi2(df = 2) at p = 0.001
  assert.equal(randint(1, rng), 0);
  assert.throws(() => randint(0, rng), /n must be an integer/);
  assert.throws(() => randint(2.5, rng), /n must be an integer/);
});

Deno.test("shuffle() returns a uniformly random permutation and leaves its input alone", () => {
  const rng = createRng(44);
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const ys = shuffle(xs, rng);
  assert.deepEqual([...ys].sort((a, b) => a - b), xs);
  assert.notDeepEqual(ys, xs);
  assert.deepEqual(xs, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(shuffle([], rng), []);

  const counts = new Map<string, number>();
  const n = 60000;
  for (let i = 0; i < n; i++) {
    const key = shuffle(["a", "b", "c"], rng).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  assert.ok(chiSquare([...counts.values()], n / 6) < 20.52); // chi2(df = 5) at p = 0.001
});
