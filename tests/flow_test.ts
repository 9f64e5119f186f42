/** lib/flow against closed forms, finite differences and its own graph forms. */
import assert from "@std/assert";
import { Graph } from "../lib/graph/builder.ts";
import { grad } from "../lib/graph/grad.ts";
import { runSession } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { fromGuidanceScale, guidedVelocity, perSampleNoise } from "../lib/flow/guidance.ts";
import {
  oneStepEstimate,
  oneStepEstimateGraph,
  vectorFieldLoss,
  vectorFieldLossGraph,
} from "../lib/flow/loss.ts";
import { integrate, SOLVER_ORDER, timeGrid } from "../lib/flow/ode.ts";
import {
  independentPath,
  otPath,
  type ProbabilityPath,
  schrodingerBridgePath,
  vpTrigPath,
} from "../lib/flow/paths.ts";
import { logitNormalTimes, sampleXtUt, sampleXtUtGraph, uniformTimes } from "../lib/flow/sample.ts";
import { numbers } from "../lib/flow/scalar.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { assertClose, evaluate, open } from "./harness.ts";

const PATHS: ProbabilityPath[] = [
  otPath({ sigmaMin: 1e-2 }),
  independentPath({ sigma: 0.1 }),
  schrodingerBridgePath({ sigma: 0.5 }),
  vpTrigPath({ sigma: 0.05 }),
];
const normal = (n: number, seed: number) => fillNormal(new Float32Array(n), createRng(seed), {});

for (const path of PATHS) {
  Deno.test(`${path.name}: each derivative equals the finite difference of its coefficient`, () => {
    for (const t of [0.1, 0.3, 0.5, 0.77, 0.9]) {
      const h = 1e-6;
      for (
        const [f, df] of [[path.alpha, path.dAlpha], [path.beta, path.dBeta], [
          path.sigma,
          path.dSigma,
        ]] as const
      ) {
        const fd = (f(t + h, numbers) - f(t - h, numbers)) / (2 * h);
        assertClose([df(t, numbers)], [fd], {
          atol: 1e-7,
          rtol: 1e-6,
          what: `${path.name} at t=${t}`,
        });
      }
    }
  });

  Deno.test(`${path.name}: sampleXtUt() gives u_t = d x_t / dt at fixed endpoints and noise`, () => {
    const x0 = normal(12, 1), x1 = normal(12, 2), eps = normal(12, 3), h = 1e-3;
    const t = new Float32Array([0.2, 0.45, 0.8]);
    const at = (dt: number) => sampleXtUt(path, { x0, x1, eps, t: t.map((v) => v + dt) }).xt;
    const fd = at(h).map((v, i) => (v - at(-h)[i]) / (2 * h));
    assertClose(sampleXtUt(path, { x0, x1, eps, t }).ut, fd, { atol: 5e-3, rtol: 5e-3 });
  });

  Deno.test(`${path.name}: sampleXtUtGraph() equals sampleXtUt()`, async () => {
    const x0 = normal(24, 4),
      x1 = normal(24, 5),
      eps = normal(24, 6),
      t = new Float32Array([0.1, 0.6]);
    const g = new Graph();
    const inputs = {
      x0: g.input("x0", { dtype: "float32", shape: [2, 3, 4] }),
      x1: g.input("x1", { dtype: "float32", shape: [2, 3, 4] }),
      eps: g.input("eps", { dtype: "float32", shape: [2, 3, 4] }),
      t: g.input("t", { dtype: "float32", shape: [2] }),
    };
    const { xt, ut } = sampleXtUtGraph(path, inputs);
    g.output(xt, "xt");
    g.output(ut, "ut");
    const out = await evaluate(g, { x0, x1, eps, t });
    const ref = sampleXtUt(path, { x0, x1, eps, t });
    assertClose(out.xt as Float32Array, ref.xt, { atol: 1e-6 });
    assertClose(out.ut as Float32Array, ref.ut, { atol: 1e-5 });
  });
}

Deno.test("paths hit their endpoints: x_0 = x0 and x_1 = x1 (+ sigmaMin x0 for the OT path)", () => {
  const x0 = normal(6, 7), x1 = normal(6, 8), eps = normal(6, 9);
  for (
    const path of [
      otPath({ sigmaMin: 0.01 }),
      independentPath(),
      schrodingerBridgePath({ sigma: 0 }),
      vpTrigPath(),
    ]
  ) {
    const start = sampleXtUt(path, { x0, x1, eps, t: new Float32Array([0]) }).xt;
    const end = sampleXtUt(path, { x0, x1, eps, t: new Float32Array([1]) }).xt;
    assertClose(start, x0, { atol: 1e-6, what: `${path.name} at 0` });
    const sigmaMin = path.name.startsWith("ot") ? 0.01 : 0;
    assertClose(end, x1.map((v, i) => v + sigmaMin * x0[i]), {
      atol: 1e-6,
      what: `${path.name} at 1`,
    });
  }
});

Deno.test("sampleXtUt() names mismatched arrays and missing noise", () => {
  const a = new Float32Array(4), t = new Float32Array([0.5]);
  assert.throws(
    () => sampleXtUt(otPath(), { x0: a, x1: new Float32Array(3), t }),
    /x0 \(4\), x1 \(3\)/,
  );
  assert.throws(() => sampleXtUt(schrodingerBridgePath(), { x0: a, x1: a, t }), /needs eps/);
});

Deno.test("uniformTimes() and logitNormalTimes() are seeded and stay inside [eps, 1 - eps]", () => {
  const a = uniformTimes(500, { rng: createRng(3), eps: 0.01 });
  assert.deepEqual(a, uniformTimes(500, { rng: createRng(3), eps: 0.01 }));
  assert.ok(a.every((t) => t >= 0.01 && t <= 0.99));
  const l = logitNormalTimes(2000, { rng: createRng(4), eps: 0.001 });
  assert.ok(l.every((t) => t >= 0.001 && t <= 0.999));
  // Median of sigmoid(N(0, 1)) is 0.5; 2000 draws put the sample median within 0.05 (> 4 sigma).
  const sorted = [...l].sort((x, y) => x - y);
  assert.ok(Math.abs(sorted[1000] - 0.5) < 0.05);
});

function lossData() {
  const shape = { batch: 3, frames: 4, dim: 2 };
  const p = normal(24, 10), u = normal(24, 11);
  const mask = new Float32Array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]); // lengths 3, 1 and 0
  return { shape, p, u, mask };
}

Deno.test("vectorFieldLossGraph() equals vectorFieldLoss(); padding (even NaN) and empty samples do not count", async () => {
  const { shape, p, u, mask } = lossData();
  const g = new Graph();
  const loss = vectorFieldLossGraph(
    g.input("p", { dtype: "float32", shape: [3, 4, 2] }),
    g.input("u", { dtype: "float32", shape: [3, 4, 2] }),
    { mask: g.input("m", { dtype: "float32", shape: [3, 4] }) },
  );
  g.output(loss, "loss");
  const withNanPadding = p.map((v, i) => (mask[Math.floor(i / 2)] > 0 ? v : NaN));
  const out = await evaluate(g, { p: withNanPadding, u, m: mask });
  const ref = vectorFieldLoss(withNanPadding, u, { mask, shape });
  assertClose(out.loss as Float32Array, [ref], { rtol: 1e-6 });
  // Independent check of the per-sample normalisation on sample 1 (one valid frame).
  const s1 = ((p[8] - u[8]) ** 2 + (p[9] - u[9]) ** 2) / 2;
  let s0 = 0;
  for (let i = 0; i < 6; i++) s0 += (p[i] - u[i]) ** 2;
  assertClose([ref], [(s0 / 6 + s1) / 2], { rtol: 1e-6 }); // the empty sample does not count
});

Deno.test("vectorFieldLossGraph() gradient matches finite differences", async () => {
  const { p, u, mask } = lossData();
  const g = new Graph();
  const pv = g.input("p", { dtype: "float64", shape: [3, 4, 2] });
  const loss = vectorFieldLossGraph(pv, g.input("u", { dtype: "float64", shape: [3, 4, 2] }), {
    mask: g.input("m", { dtype: "float64", shape: [3, 4] }),
  });
  g.output(loss, "loss");
  g.output(grad(loss, [pv])[0], "dp");
  const session = await open(g);
  const feeds = (pp: Float64Array) => ({
    p: pp,
    u: Float64Array.from(u),
    m: Float64Array.from(mask),
  });
  const p64 = Float64Array.from(p);
  const { dp } = await orThrow(runSession(session, feeds(p64)));
  const h = 1e-6, fd = new Float64Array(p64.length);
  for (let i = 0; i < p64.length; i++) {
    const a = p64.slice(), b = p64.slice();
    a[i] += h;
    b[i] -= h;
    const la = (await orThrow(runSession(session, feeds(a), { fetches: ["loss"] })))
      .loss[0] as number;
    const lb = (await orThrow(runSession(session, feeds(b), { fetches: ["loss"] })))
      .loss[0] as number;
    fd[i] = (la - lb) / (2 * h);
  }
  assertClose(dp as Float64Array, fd, { atol: 1e-8, rtol: 1e-6 });
});

Deno.test("oneStepEstimate() lands on x1 for the exact OT velocity, and its graph form agrees", async () => {
  const x0 = normal(8, 12), x1 = normal(8, 13), t = new Float32Array([0.25, 0.7]);
  const { xt, ut } = sampleXtUt(otPath(), { x0, x1, t });
  assertClose(oneStepEstimate(xt, ut, { t }), x1, { atol: 1e-5 });
  const g = new Graph();
  const est = oneStepEstimateGraph(
    g.input("x", { dtype: "float32", shape: [2, 4] }),
    g.input("v", { dtype: "float32", shape: [2, 4] }),
    { t: g.input("t", { dtype: "float32", shape: [2] }) },
  );
  g.output(est, "y");
  const out = await evaluate(g, { x: xt, v: ut, t });
  assertClose(out.y as Float32Array, oneStepEstimate(xt, ut, { t }), { atol: 1e-6 });
});

Deno.test("integrate() shows each solver's order of accuracy on a linear ODE", async () => {
  // dx/dt = -2x + t, x(0) = 1: x(1) = 1/4 + (5/4) e^-2.
  const exact = 0.25 + 1.25 * Math.exp(-2);
  const v = (x: Float32Array, t: number) => Promise.resolve(x.map((xi) => -2 * xi + t));
  for (const [solver, order] of Object.entries(SOLVER_ORDER)) {
    const n = order === 4 ? 4 : 16;
    const err = async (steps: number) =>
      Math.abs(
        (await integrate(v, new Float32Array([1]), {
          solver: solver as keyof typeof SOLVER_ORDER,
          steps,
        }))[0] - exact,
      );
    const ratio = (await err(n)) / (await err(2 * n));
    const expected = 2 ** order;
    assert.ok(
      ratio > 0.8 * expected && ratio < 1.25 * expected,
      `${solver}: error ratio ${ratio}, expected ~${expected}`,
    );
  }
});

Deno.test("integrate() carries noise to the target along the OT velocity field of a point", async () => {
  const target = new Float32Array([3, -1]);
  // Marginal velocity of the OT path towards a single point: (x1 - x) / (1 - t).
  const v = (x: Float32Array, t: number) =>
    Promise.resolve(x.map((xi, i) => (target[i] - xi) / (1 - t)));
  const x = await integrate(v, normal(2, 14), { solver: "euler", steps: 5, sway: -1 });
  assertClose(x, target, { atol: 1e-5 });
});

Deno.test("timeGrid() with sway keeps its endpoints and increases for s in [-1, 1]", async () => {
  for (const sway of [-1, -0.5, 0, 0.5, 1]) {
    const t = timeGrid(32, { sway });
    assert.equal(t[0], 0);
    assert.equal(t[32], 1);
    for (let i = 1; i < t.length; i++) assert.ok(t[i] > t[i - 1], `sway ${sway}: t[${i}]`);
  }
  // F5-TTS: t + s (cos(pi t / 2) - 1 + t); at s = -1 that is 1 - cos(pi t / 2).
  const grid = timeGrid(32, { sway: -1 });
  for (const k of [1, 7, 16, 31]) {
    assertClose([grid[k]], [1 - Math.cos((Math.PI * k) / 64)], { atol: 1e-12 });
  }
  const half = timeGrid(4, { sway: 0.5 });
  assertClose([half[1]], [0.25 + 0.5 * (Math.cos(Math.PI / 8) - 1 + 0.25)], { atol: 1e-12 });
  assert.throws(() => timeGrid(8, { sway: 1.5 }), /sway coefficient must lie in \[-1, 1\]/);
  await assert.rejects(
    () => integrate((x) => Promise.resolve(x), new Float32Array(1), { grid: [0, 0.5, 0.5, 1] }),
    /grid must increase/,
  );
});

Deno.test("guidedVelocity() is Ho & Salimans eq. 6, and diffusers' guidance_scale converts", () => {
  const c = normal(5, 15), u = normal(5, 16);
  assert.deepEqual(guidedVelocity(c, u, { weight: 0 }), c); // w = 0: no guidance
  const w = 0.7; // Voicebox's strength
  assertClose(guidedVelocity(c, u, { weight: w }), c.map((ci, i) => (1 + w) * ci - w * u[i]), {
    atol: 1e-6,
  });
  const scale = 3; // GLIDE / diffusers: u + s (c - u)
  assertClose(
    guidedVelocity(c, u, { weight: fromGuidanceScale(scale) }),
    u.map((ui, i) => ui + scale * (c[i] - ui)),
    {
      atol: 1e-5,
    },
  );
});

Deno.test("sampleXtUt() and its graph form refuse a noisy path without eps, and singular ends", () => {
  const x = new Float32Array(4), t = new Float32Array([0.5]);
  const g = new Graph();
  const v = g.input("x", { dtype: "float32", shape: [1, 4] });
  for (const path of [schrodingerBridgePath(), independentPath({ sigma: 0.2 })]) {
    assert.throws(() => sampleXtUt(path, { x0: x, x1: x, t }), /needs eps/);
    assert.throws(
      () =>
        sampleXtUtGraph(path, {
          x0: v,
          x1: v,
          t: g.input(`t${path.name}`, { dtype: "float32", shape: [1] }),
        }),
      /needs eps/,
    );
  }
  const sb = schrodingerBridgePath({ sigma: 0.5 });
  assert.throws(
    () => sampleXtUt(sb, { x0: x, x1: x, eps: x, t: new Float32Array([1]) }),
    /singular at t = 1/,
  );
  // With sigma = 0 the bridge is the straight path, finite everywhere.
  const { ut } = sampleXtUt(schrodingerBridgePath({ sigma: 0 }), {
    x0: x,
    x1: x.map(() => 1),
    t: new Float32Array([1]),
  });
  assert.ok(ut.every((v) => v === 1));
});

Deno.test("perSampleNoise() does not depend on the rest of the batch", () => {
  const alone = perSampleNoise([{ seed: 42, size: 6 }]);
  const batch = perSampleNoise([{ seed: 1, size: 4 }, { seed: 42, size: 6 }, { seed: 2, size: 3 }]);
  assert.deepEqual(alone, batch.slice(4, 10));
  assert.notDeepEqual(batch.slice(0, 4), alone.slice(0, 4));
});
