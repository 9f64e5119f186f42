/** Edge cases found in review: each would have given NaN, a broken model or a vague error. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { Graph } from "../lib/graph/builder.ts";
import { GraphError } from "../lib/graph/errors.ts";
import { grad } from "../lib/graph/grad.ts";
import { add, exp, mul, pow, reduceSum, slice } from "../lib/graph/ops.ts";
import { mlpProblem } from "../lib/graph/toy.ts";
import { initParams, loadParams } from "../lib/graph/params.ts";
import { encodeSafetensors } from "../lib/graph/safetensors.ts";
import { openSession, orThrow, runSession } from "../lib/graph/session.ts";
import { buildTrainStep, initTrainState, openTrainer, trainCall } from "../lib/graph/train.ts";
import { createRng } from "../lib/random.ts";
import { evaluate } from "./harness.ts";

Deno.test("grad() of pow(x, 2) is finite at x = 0", async () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [3] });
  g.output(grad(reduceSum(pow(x, 2)), [x])[0], "dx");
  const out = await evaluate(g, { x: new Float32Array([0, 1, -2]) });
  assert.deepEqual(Array.from(out.dx as Float32Array), [0, 2, -4]);
});

Deno.test("Graph.output() renames in place, keeps gradients, and copies a value output twice", async () => {
  const g = new Graph();
  const w = g.input("w", { dtype: "float32", shape: [2] });
  const y = g.output(exp(w), "y");
  const [dw] = grad(reduceSum(y), [w]); // must not be zeros: y is the same value as exp(w)
  g.output(dw, "dw");
  g.output(y); // already an output: no duplicate
  g.output(y, "y2"); // a second name: Identity copy
  const out = await evaluate(g, { w: new Float32Array([0, 1]) });
  assert.deepEqual(Array.from(out.dw as Float32Array), Array.from(out.y as Float32Array));
  assert.deepEqual(Array.from(out.y2 as Float32Array), Array.from(out.y as Float32Array));
  assert.equal(g.outputs.length, 3);
});

Deno.test("slice() with a negative step records the length ONNX Runtime computes", async () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [4] });
  const y = slice(x, { starts: [-5], ends: [-100], steps: [-1] });
  g.output(y, "y");
  const out = await evaluate(g, { x: new Float32Array([1, 2, 3, 4]) });
  assert.equal(y.shape[0], (out.y as Float32Array).length);
  assert.deepEqual(Array.from(out.y as Float32Array), [1]);
});

Deno.test("reduceSum() rejects an explicit empty axes list", () => {
  const g = new Graph();
  assert.throws(
    () => reduceSum(g.input("x", { dtype: "float32", shape: [2] }), { axes: [] }),
    /axes is empty; omit it/,
  );
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
    () =>
      buildTrainStep({ ...spec, batch: { ...spec.batch, w1: { dtype: "float32", shape: [1] } } }),
    /'w1' is both a parameter and a batch input/,
  );
});

Deno.test("runSession() names an input fed with the wrong kind of array", async () => {
  const g = new Graph();
  g.output(add(g.input("x", { dtype: "float32", shape: [2] }), 1), "y");
  const s = await orThrow(openSession(g, { threads: 1 }));
  const r = await runSession(s, { x: new Int32Array(2) as unknown as Float32Array })();
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(r.left.message, /input 'x' must be a float32 typed array, got Int32Array/);
});

Deno.test("loadParams() names an integer tensor and the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ids.safetensors`;
  await Deno.writeFile(
    path,
    encodeSafetensors({ ids: { dtype: "I64", shape: [2], data: new BigInt64Array([1n, 2n]) } }),
  );
  const r = await loadParams(path)();
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(
    r.left.message,
    /ids\.safetensors: tensor 'ids' is I64; parameters must be floating point/,
  );
});
