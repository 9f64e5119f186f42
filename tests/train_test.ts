/** The training step: AdamW and clipping against a TypeScript reference, accumulation, fusion, learning. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { GraphError } from "../lib/graph/errors.ts";
import { add, mul, reduceSum, sub } from "../lib/graph/ops.ts";
import { initParams, type ParamStore } from "../lib/graph/params.ts";
import { orThrow } from "../lib/result.ts";
import { blockProblem, mlpProblem, runningMeanBatch, type ToyProblem } from "../lib/graph/toy.ts";
import {
  buildTrainStep,
  initTrainState,
  openTrainer,
  trainCall,
  type TrainState,
  type TrainStepOptions,
} from "../lib/graph/train.ts";
import { createRng, fillNormal, type Rng } from "../lib/random.ts";
import { assertClose } from "./harness.ts";

Deno.test("trainCall() matches a float64 AdamW reference with clipping, decay and a schedule", async () => {
  // loss = 0.5 |p - t|^2 + <b, c>: gradients p - t and c are known in closed form.
  const target = [3, -2, 1, 0.5, -1, 2], c = [0.7, -0.3];
  const trainer = await orThrow(openTrainer({
    params: { p: [3, 2], b: [2] },
    batch: { t: { dtype: "float32", shape: [3, 2] }, c: { dtype: "float32", shape: [2] } },
    loss: (p, b) => {
      const d = sub(p.p, b.t);
      return add(mul(reduceSum(mul(d, d)), 0.5), reduceSum(mul(p.b, b.c)));
    },
  }, { maxGradNorm: 1, adamw: { weightDecay: 0.1 }, threads: 1 }));
  const schedule = (step: number) => 0.2 / Math.sqrt(step);
  let state = initTrainState({
    p: { shape: [3, 2], data: new Float32Array(6) },
    b: { shape: [2], data: new Float32Array([0.5, -0.5]) },
  });
  // Reference in float64.
  const P = new Float64Array(6), B = Float64Array.from([0.5, -0.5]);
  const [m, v] = [[new Float64Array(6), new Float64Array(2)], [
    new Float64Array(6),
    new Float64Array(2),
  ]];
  for (let step = 1; step <= 6; step++) {
    const grads = [P.map((x, i) => x - target[i]), Float64Array.from(c)];
    const norm = Math.sqrt(grads.flatMap((g) => Array.from(g)).reduce((s, x) => s + x * x, 0));
    const coef = Math.min(1, 1 / (norm + 1e-6));
    const lr = schedule(step);
    [P, B].forEach((param, k) => {
      const decay = k === 0; // rank >= 2 by default
      for (let i = 0; i < param.length; i++) {
        const g = grads[k][i] * coef;
        m[k][i] = 0.9 * m[k][i] + 0.1 * g;
        v[k][i] = 0.999 * v[k][i] + 0.001 * g * g;
        const mHat = m[k][i] / (1 - 0.9 ** step), vHat = v[k][i] / (1 - 0.999 ** step);
        if (decay) param[i] *= 1 - lr * 0.1;
        param[i] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
    });
    const out = await orThrow(trainCall(trainer, state, {
      batch: {
        t: Float32Array.from(target),
        c: Float32Array.from(c),
      },
      lr: schedule,
    }));
    state = out.state;
    assertClose(out.gradNorms, [norm], { rtol: 1e-5, what: `grad norm at step ${step}` });
    assertClose(Array.from(state.params.p.data), P, {
      atol: 1e-6,
      rtol: 1e-5,
      what: `p at step ${step}`,
    });
    assertClose(Array.from(state.params.b.data), B, {
      atol: 1e-6,
      rtol: 1e-5,
      what: `b at step ${step}`,
    });
    assertClose(Array.from(state.m.p.data), m[0], { atol: 1e-6, what: `m at step ${step}` });
  }
  assert.equal(state.step, 6);
});

function batchOf(problem: ToyProblem, rng: Rng, copies = 1): Record<string, Float32Array> {
  return Object.fromEntries(
    Object.entries(problem.spec.batch).map(([k, s]) => {
      const data = new Float32Array(copies * s.shape.reduce((a, b) => a * b, 1));
      return [k, fillNormal(data, rng, {})];
    }),
  );
}

async function run(
  problem: ToyProblem,
  params: ParamStore,
  options: TrainStepOptions,
  batches: Record<string, Float32Array>[],
): Promise<{ state: TrainState; losses: number[] }> {
  const trainer = await orThrow(openTrainer(problem.spec, { ...options, threads: 1 }));
  let state = initTrainState(params);
  const losses: number[] = [];
  for (const b of batches) {
    const out = await orThrow(trainCall(trainer, state, { batch: b, lr: 1e-2 }));
    state = out.state;
    losses.push(...out.losses);
  }
  return { state, losses };
}

function assertSameParams(actual: TrainState, expected: TrainState): void {
  for (const k of Object.keys(expected.params)) {
    assertClose(actual.params[k].data, expected.params[k].data, { atol: 1e-6, what: k });
  }
}

Deno.test("trainCall() with two micro-batches equals one step on the whole batch", async () => {
  const whole = mlpProblem({ batch: 8, din: 5, hidden: 16, dout: 3 });
  const half = mlpProblem({ batch: 4, din: 5, hidden: 16, dout: 3 });
  const params = initParams(whole.defs, { rng: createRng(1) });
  const data = [batchOf(whole, createRng(2)), batchOf(whole, createRng(3))];
  const a = await run(whole, params, {}, data);
  // The same rows split into [1 step, 2 micro-batches, 4 rows].
  const b = await run(half, params, { microBatches: 2 }, data);
  assertClose(b.losses, a.losses, { rtol: 1e-5 });
  assertSameParams(b.state, a.state);
});

Deno.test("trainCall() with three fused steps equals three separate calls", async () => {
  const problem = mlpProblem({ batch: 4, din: 3, hidden: 8, dout: 2 });
  const params = initParams(problem.defs, { rng: createRng(4) });
  const batches = [0, 1, 2].map((i) => batchOf(problem, createRng(10 + i)));
  const separate = await run(problem, params, {}, batches);
  const stacked = Object.fromEntries(
    Object.keys(batches[0]).map((k) => {
      const parts = batches.map((b) => b[k]);
      const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
      return [k, out];
    }),
  );
  const fused = await run(problem, params, { stepsPerCall: 3 }, [stacked]);
  assert.equal(fused.state.step, 3);
  assertClose(fused.losses, separate.losses, { rtol: 1e-5 });
  assertSameParams(fused.state, separate.state);
});

/** The JavaScript EMA the run used before it moved into the graph (float64 math, float32 store). */
function jsEma(ema: ParamStore, params: ParamStore, decay: number): ParamStore {
  return Object.fromEntries(
    Object.entries(params).map(([k, p]) => {
      const old = ema[k].data;
      return [k, { shape: p.shape, data: p.data.map((v, i) => decay * old[i] + (1 - decay) * v) }];
    }),
  );
}

const warmedDecay = (step: number) => Math.min(0.999, (1 + step) / (10 + step));

Deno.test("trainCall() with ema matches the JavaScript EMA over six steps and leaves the update alone", async () => {
  const problem = mlpProblem({ batch: 4, din: 3, hidden: 8, dout: 2 });
  const params = initParams(problem.defs, { rng: createRng(5) });
  const batches = [0, 1, 2, 3, 4, 5].map((i) => batchOf(problem, createRng(20 + i)));
  const plain = await orThrow(openTrainer(problem.spec, { threads: 1 }));
  const averaging = await orThrow(openTrainer(problem.spec, { threads: 1, ema: true }));
  let a = initTrainState(params), b: TrainState = { ...initTrainState(params), ema: params };
  let reference = params;
  for (const [i, batch] of batches.entries()) {
    a = (await orThrow(trainCall(plain, a, { batch, lr: 1e-2 }))).state;
    b = (await orThrow(trainCall(averaging, b, { batch, lr: 1e-2, emaDecay: warmedDecay })))
      .state;
    reference = jsEma(reference, a.params, warmedDecay(i + 1));
    for (const k of Object.keys(params)) {
      assert.deepEqual(b.params[k].data, a.params[k].data, `${k}: the update is unchanged`);
      assertClose(b.ema![k].data, reference[k].data, {
        atol: 1e-7,
        rtol: 1e-6,
        what: `ema ${k} at step ${i + 1}`,
      });
    }
  }
  assert.ok(a.ema === undefined && b.step === 6);
});

Deno.test("trainCall() with ema and three fused steps equals three separate calls", async () => {
  const problem = mlpProblem({ batch: 4, din: 3, hidden: 8, dout: 2 });
  const params = initParams(problem.defs, { rng: createRng(6) });
  const batches = [0, 1, 2].map((i) => batchOf(problem, createRng(30 + i)));
  const single = await orThrow(openTrainer(problem.spec, { threads: 1, ema: true }));
  let separate: TrainState = { ...initTrainState(params), ema: params };
  for (const batch of batches) {
    separate = (await orThrow(trainCall(single, separate, { batch, lr: 1e-2, emaDecay: 0.9 })))
      .state;
  }
  const stacked = Object.fromEntries(
    Object.keys(batches[0]).map((k) => {
      const out = new Float32Array(batches.length * batches[0][k].length);
      batches.forEach((b, i) => out.set(b[k], i * b[k].length));
      return [k, out];
    }),
  );
  const fusedTrainer = await orThrow(
    openTrainer(problem.spec, { threads: 1, ema: true, stepsPerCall: 3 }),
  );
  const fused = (await orThrow(trainCall(fusedTrainer, { ...initTrainState(params), ema: params }, {
    batch: stacked,
    lr: 1e-2,
    emaDecay: 0.9,
  }))).state;
  for (const k of Object.keys(params)) {
    assertClose(fused.ema![k].data, separate.ema![k].data, { atol: 1e-6, what: `ema ${k}` });
  }
});

Deno.test("trainCall() with ema names the missing average or decay", async () => {
  const problem = mlpProblem({ batch: 2, din: 2, hidden: 2, dout: 1 });
  const trainer = await orThrow(openTrainer(problem.spec, { threads: 1, ema: true }));
  const state = initTrainState(initParams(problem.defs, { rng: createRng(7) }));
  const batch = batchOf(problem, createRng(8));
  await assert.rejects(
    orThrow(trainCall(trainer, state, { batch, lr: 1e-2, emaDecay: 0.9 })),
    /pass state\.ema/,
  );
  const withEma = { ...state, ema: state.params };
  await assert.rejects(orThrow(trainCall(trainer, withEma, { batch, lr: 1e-2 })), /emaDecay/);
});

Deno.test("trainCall() trains an MLP: the loss falls 20x in 300 steps (seed 0)", async () => {
  const problem = mlpProblem({ batch: 32, din: 4, hidden: 32, dout: 1 });
  const rng = createRng(0);
  const params = initParams(problem.defs, { rng });
  // Target: a fixed smooth function of x, y = sin(x0) + x1 * x2.
  const x = fillNormal(new Float32Array(32 * 4), rng, {});
  const target = Float32Array.from(
    { length: 32 },
    (_, i) => Math.sin(x[4 * i]) + x[4 * i + 1] * x[4 * i + 2],
  );
  const trainer = await orThrow(
    openTrainer(problem.spec, { threads: 1, adamw: { weightDecay: 0 }, stepsPerCall: 10 }),
  );
  let state = initTrainState(params);
  const stack = (a: Float32Array) => {
    const out = new Float32Array(a.length * 10);
    for (let i = 0; i < 10; i++) out.set(a, i * a.length);
    return out;
  };
  const losses: number[] = [];
  for (let call = 0; call < 30; call++) {
    const out = await orThrow(
      trainCall(trainer, state, { batch: { x: stack(x), target: stack(target) }, lr: 1e-2 }),
    );
    state = out.state;
    losses.push(...out.losses);
  }
  assert.ok(losses[299] < losses[0] / 20, `loss ${losses[0]} -> ${losses[299]}`);
});

Deno.test("trainCall() trains a transformer block: a causal running mean, loss falls 3x in 200 steps (seed 0; measured 4.1x)", async () => {
  const size = { batch: 8, seq: 6, d: 16, heads: 2 };
  const problem = blockProblem(size);
  const rng = createRng(0);
  const params = initParams(problem.defs, { rng });
  const trainer = await orThrow(openTrainer(problem.spec, { threads: 1, stepsPerCall: 10 }));
  let state = initTrainState(params);
  const losses: number[] = [];
  for (let call = 0; call < 20; call++) {
    const { x, target } = runningMeanBatch({ ...size, copies: 10 }, { rng });
    const out = await orThrow(trainCall(trainer, state, { batch: { x, target }, lr: 1e-2 }));
    state = out.state;
    losses.push(...out.losses);
  }
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < first / 3, `loss ${first} -> ${last}`);
});

Deno.test("trainCall() names the step when the loss is NaN and keeps the old state", async () => {
  const problem = mlpProblem({ batch: 2, din: 2, hidden: 4, dout: 1 });
  const trainer = await orThrow(openTrainer(problem.spec, { threads: 1 }));
  const state = initTrainState(initParams(problem.defs, { rng: createRng(0) }));
  const result = await trainCall(trainer, state, {
    batch: {
      x: new Float32Array([1, NaN, 0, 0]),
      target: new Float32Array(2),
    },
    lr: 1e-3,
  })();
  if (E.isRight(result)) throw new Error("a NaN loss must be an error");
  assert.match(result.left.message, /loss is NaN at step 1/);
  const next = await orThrow(trainCall(trainer, state, {
    batch: {
      x: new Float32Array([1, 0, 0, 0]),
      target: new Float32Array(2),
    },
    lr: 1e-3,
  }));
  assert.equal(next.state.step, 1);
});

Deno.test("trainCall() at lr = 0 leaves parameters unchanged, including unused ones", async () => {
  const problem = mlpProblem({ batch: 2, din: 3, hidden: 4, dout: 1 });
  const spec = { ...problem.spec, params: { ...problem.spec.params, unused: [2] } };
  const params = {
    ...initParams(problem.defs, { rng: createRng(0) }),
    unused: { shape: [2], data: new Float32Array([1, 2]) },
  };
  const trainer = await orThrow(openTrainer(spec, { threads: 1 }));
  const out = await orThrow(trainCall(trainer, initTrainState(params), {
    batch: {
      x: new Float32Array([1, 2, 3, 4, 5, 6]),
      target: new Float32Array([1, 0]),
    },
    lr: 0,
  }));
  for (const k of Object.keys(params)) {
    assert.deepEqual(out.state.params[k].data, params[k as keyof typeof params].data, k);
  }
});

Deno.test("trainCall() reports a non-finite gradient norm even when the loss is finite", async () => {
  // loss = sum(w * x) is finite for x = [1e30, 1e30] in float32 while |grad|^2 overflows.
  const trainer = await orThrow(openTrainer({
    params: { w: [2] },
    batch: { x: { dtype: "float32", shape: [2] } },
    loss: (p, b) => reduceSum(mul(p.w, b.x)),
  }, { threads: 1 }));
  const state = initTrainState({ w: { shape: [2], data: new Float32Array([1e-30, -1e-30]) } });
  const r = await trainCall(trainer, state, {
    batch: { x: new Float32Array([1e30, 1e30]) },
    lr: 1e-3,
  })();
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(r.left.message, /gradient norm is (Infinity|NaN) at step 1/);
  // The old state still trains.
  const ok = await orThrow(
    trainCall(trainer, state, { batch: { x: new Float32Array([1, 1]) }, lr: 1e-3 }),
  );
  assert.equal(ok.state.step, 1);
});

Deno.test("buildTrainStep() names invalid options and reserved names", () => {
  const spec = mlpProblem({ batch: 2, din: 2, hidden: 2, dout: 1 }).spec;
  const expectError = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof GraphError && pattern.test(e.message));
  expectError(
    () => buildTrainStep(spec, { stepsPerCall: 0 }),
    /stepsPerCall must be an integer >= 1/,
  );
  expectError(
    () => buildTrainStep(spec, { microBatches: 1.5 }),
    /microBatches must be an integer >= 1/,
  );
  expectError(() => buildTrainStep(spec, { maxGradNorm: 0 }), /maxGradNorm must be > 0/);
  expectError(
    () => buildTrainStep({ ...spec, params: { ...spec.params, lr: [1] } }),
    /'lr' is reserved/,
  );
  expectError(
    () => buildTrainStep({ ...spec, params: { ...spec.params, "ema/w1": [1] } }),
    /'ema\/w1' is reserved/,
  );
  expectError(
    () =>
      buildTrainStep({ ...spec, batch: { ...spec.batch, w1: { dtype: "float32", shape: [1] } } }),
    /'w1' is both a parameter and a batch input/,
  );
});
