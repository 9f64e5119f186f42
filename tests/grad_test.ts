/**
 * Every gradient rule against central finite differences. Ops with float64 kernels in ONNX
 * Runtime are checked in float64 against the graph's own forward pass; float32-only ops (Erf,
 * LayerNormalization) run as float32 graphs against a float64 TypeScript reference.
 */
import assert from "@std/assert";
import { Graph, type Value } from "../lib/graph/builder.ts";
import { GraphError } from "../lib/graph/errors.ts";
import { grad, GRAD_RULES } from "../lib/graph/grad.ts";
import * as op from "../lib/graph/ops.ts";
import { exp, pow, reduceSum } from "../lib/graph/ops.ts";
import { attention, causalMask, crossEntropy, gelu, splitHeads } from "../lib/graph/nn.ts";
import { runSession } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { sizeOf } from "../lib/graph/types.ts";
import * as ref from "./reference.ts";
import { assertClose, evaluate, open } from "./harness.ts";

interface InputSpec {
  shape: number[];
  /** int64 inputs hold fixed values and get no gradient. */
  ints?: number[];
  /** Keeps values in [0.5, 1.5] (logs, roots, divisors, pow bases). */
  positive?: boolean;
  /** Keeps values away from 0 by at least 0.2 (kinks of Relu/Where conditions). */
  awayFromZero?: boolean;
}

interface Case {
  name: string;
  inputs: InputSpec[];
  build: (xs: Value[]) => Value;
  /** float64 reference of build(); when given, the graph runs in float32. */
  reference?: (xs: ref.Arr[]) => ref.Arr;
}

function inputData(spec: InputSpec, seed: number): Float64Array {
  const v = ref.testValues(sizeOf(spec.shape), seed);
  if (spec.positive) return v.map((x) => 1 + 0.5 * x);
  if (spec.awayFromZero) return v.map((x) => (x >= 0 ? 0.2 + x : -0.2 + x));
  return v;
}

async function checkGrad(c: Case): Promise<void> {
  const dtype = c.reference ? "float32" : "float64";
  const g = new Graph(c.name);
  const xs = c.inputs.map((s, i) =>
    g.input(`x${i}`, { dtype: s.ints ? "int64" : dtype, shape: s.shape })
  );
  const y = c.build(xs);
  const weights = ref.testValues(sizeOf(y.shape), 991);
  const loss = op.reduceSum(op.mul(y, g.constant([...weights], { dtype, shape: y.shape })));
  const floats = c.inputs.flatMap((s, i) => (s.ints ? [] : [i]));
  const grads = grad(loss, floats.map((i) => xs[i]));
  g.output(loss, "loss");
  grads.forEach((v, j) => g.output(v, `g${j}`));
  const session = await open(g);
  const data = c.inputs.map((s, i) => (s.ints ? Float64Array.from(s.ints) : inputData(s, 17 + i)));
  const feeds = (arrays: Float64Array[]) =>
    Object.fromEntries(arrays.map((a, i) => [
      `x${i}`,
      c.inputs[i].ints
        ? BigInt64Array.from(a, BigInt)
        : dtype === "float32"
        ? Float32Array.from(a)
        : a,
    ]));
  const lossAt = async (arrays: Float64Array[]): Promise<number> => {
    if (c.reference) {
      const out = c.reference(arrays.map((a, i) => ref.arr(c.inputs[i].shape, a)));
      return out.data.reduce((s, v, i) => s + v * weights[i], 0);
    }
    const out = await orThrow(runSession(session, feeds(arrays), { fetches: ["loss"] }));
    return out.loss[0] as number;
  };
  const analytic = await orThrow(runSession(session, feeds(data)));
  const h = 1e-5;
  for (const [j, i] of floats.entries()) {
    const numeric = new Float64Array(data[i].length);
    for (let e = 0; e < numeric.length; e++) {
      const plus = data.map((a) => a.slice()), minus = data.map((a) => a.slice());
      plus[i][e] += h;
      minus[i][e] -= h;
      numeric[e] = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * h);
    }
    const tol = c.reference ? { atol: 2e-4, rtol: 2e-3 } : { atol: 1e-7, rtol: 1e-6 };
    assertClose(Array.from(analytic[`g${j}`] as Float64Array), numeric, {
      ...tol,
      what: `${c.name} d/dx${i}`,
    });
  }
}

const id = (xs: ref.Arr[]) => xs[0];

const CASES: Case[] = [
  {
    name: "add broadcast",
    inputs: [{ shape: [2, 1, 3] }, { shape: [4, 1] }],
    build: ([a, b]) => op.add(a, b),
  },
  {
    name: "sub broadcast",
    inputs: [{ shape: [2, 3] }, { shape: [2, 1] }],
    build: ([a, b]) => op.sub(a, b),
  },
  {
    name: "mul broadcast",
    inputs: [{ shape: [3, 1] }, { shape: [1, 4] }],
    build: ([a, b]) => op.mul(a, b),
  },
  {
    name: "div broadcast",
    inputs: [{ shape: [2, 3] }, { shape: [3], positive: true }],
    build: ([a, b]) => op.div(a, b),
  },
  {
    name: "pow",
    inputs: [{ shape: [2, 3], positive: true }, { shape: [3] }],
    build: ([a, b]) => op.pow(a, b),
  },
  { name: "neg", inputs: [{ shape: [5] }], build: ([a]) => op.neg(a) },
  { name: "exp", inputs: [{ shape: [5] }], build: ([a]) => op.exp(a) },
  {
    name: "log",
    inputs: [{ shape: [5], positive: true }],
    build: ([a]) => op.log(a),
  },
  {
    name: "sqrt",
    inputs: [{ shape: [5], positive: true }],
    build: ([a]) => op.sqrt(a),
  },
  { name: "tanh", inputs: [{ shape: [5] }], build: ([a]) => op.tanh(a) },
  { name: "sigmoid", inputs: [{ shape: [5] }], build: ([a]) => op.sigmoid(a) },
  { name: "sin", inputs: [{ shape: [5] }], build: ([a]) => op.sin(a) },
  { name: "cos", inputs: [{ shape: [5] }], build: ([a]) => op.cos(a) },
  {
    name: "relu",
    inputs: [{ shape: [6], awayFromZero: true }],
    build: ([a]) => op.relu(a),
  },
  {
    name: "identity",
    inputs: [{ shape: [3] }],
    build: ([a]) => op.identity(a),
  },
  {
    name: "erf (float32 vs reference)",
    inputs: [{ shape: [6] }],
    build: ([a]) => op.erf(a),
    reference: ([a]) => ref.map(a, ref.erf),
  },
  {
    name: "cast float32 -> float64 -> float32",
    inputs: [{ shape: [4] }],
    build: ([a]) => op.cast(op.cast(a, "float64"), "float32"),
    reference: id,
  },
  {
    name: "where with a float condition source (no gradient through comparisons)",
    inputs: [{ shape: [2, 3], awayFromZero: true }, { shape: [2, 3] }, { shape: [3] }],
    build: ([c, a, b]) => op.where(op.greater(c, 0), { ifTrue: a, ifFalse: b }),
  },
  {
    name: "matmul 2-D",
    inputs: [{ shape: [2, 3] }, { shape: [3, 4] }],
    build: ([a, b]) => op.matmul(a, b),
  },
  {
    name: "matmul batch x shared weight",
    inputs: [{ shape: [2, 2, 3] }, { shape: [3, 2] }],
    build: ([a, b]) => op.matmul(a, b),
  },
  {
    name: "matmul broadcast batches",
    inputs: [{ shape: [2, 1, 2, 3] }, { shape: [3, 3, 2] }],
    build: ([a, b]) => op.matmul(a, b),
  },
  ...[false, true].flatMap((transA) =>
    [false, true].map((transB): Case => ({
      name: `gemm transA=${transA} transB=${transB}`,
      inputs: [{ shape: transA ? [3, 2] : [2, 3] }, { shape: transB ? [4, 3] : [3, 4] }, {
        shape: [4],
      }],
      build: ([a, b, c]) => op.gemm(a, b, { c, transA, transB }),
    }))
  ),
  {
    name: "softmax last axis",
    inputs: [{ shape: [2, 4] }],
    build: ([a]) => op.softmax(a),
  },
  {
    name: "softmax axis 0",
    inputs: [{ shape: [3, 2] }],
    build: ([a]) => op.softmax(a, { axis: 0 }),
  },
  {
    name: "log-softmax",
    inputs: [{ shape: [2, 4] }],
    build: ([a]) => op.logSoftmax(a),
  },
  {
    name: "layer normalization (float32 vs reference)",
    inputs: [{ shape: [2, 2, 4] }, { shape: [4] }, { shape: [4] }],
    build: ([x, s, b]) => op.layerNormalization(x, { scale: s, bias: b }).y,
    reference: ([x, s, b]) => ref.layerNorm(x, s, b),
  },
  {
    name: "reduce sum",
    inputs: [{ shape: [2, 3, 2] }],
    build: ([a]) => op.reduceSum(a, { axes: [1] }),
  },
  {
    name: "reduce mean keepdims",
    inputs: [{ shape: [2, 3, 2] }],
    build: ([a]) => op.reduceMean(a, { axes: [0, 2], keepDims: true }),
  },
  {
    name: "reduce max",
    inputs: [{ shape: [2, 4] }],
    build: ([a]) => op.reduceMax(a, { axes: [1] }),
  },
  {
    name: "reshape",
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => op.reshape(a, [3, -1]),
  },
  {
    name: "squeeze",
    inputs: [{ shape: [2, 1, 3] }],
    build: ([a]) => op.squeeze(a, [1]),
  },
  {
    name: "unsqueeze",
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => op.unsqueeze(a, [0, 2]),
  },
  {
    name: "expand",
    inputs: [{ shape: [3, 1] }],
    build: ([a]) => op.expand(a, [2, 3, 4]),
  },
  {
    name: "transpose",
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => op.transpose(a, [2, 0, 1]),
  },
  {
    name: "concat",
    inputs: [{ shape: [2, 1] }, { shape: [2, 3] }],
    build: ([a, b]) => op.concat([a, b], 1),
  },
  {
    name: "split with an unused output",
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => op.mul(op.split(a, [1, 2], { axis: 1 })[1], 2),
  },
  {
    name: "slice with a negative start",
    inputs: [{ shape: [3, 5] }],
    build: ([a]) => op.slice(a, { starts: [-4, 1], ends: [4, 3], axes: [1, 0] }),
  },
  {
    name: "pad",
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => op.pad(a, [1, 0, 0, 2]),
  },
  // Conv runs in float32 only in ONNX Runtime: checked against the float64 reference.
  // Every case has C != M and N > 1, so a gradient with batch, channel or group axes
  // swapped, or a kernel not flipped, fails.
  {
    name: "conv1d group 1, padding 1, bias (float32 vs reference)",
    inputs: [{ shape: [2, 3, 7] }, { shape: [4, 3, 3] }, { shape: [4] }],
    build: ([x, w, b]) => op.conv1d(x, w, { bias: b, padding: 1 }),
    reference: ([x, w, b]) => ref.conv1d(x, w, b, 1, 1),
  },
  {
    name: "conv1d depthwise, kernel 7, padding 3, bias (float32 vs reference)",
    inputs: [{ shape: [2, 4, 9] }, { shape: [4, 1, 7] }, { shape: [4] }],
    build: ([x, w, b]) => op.conv1d(x, w, { bias: b, padding: 3, groups: 4 }),
    reference: ([x, w, b]) => ref.conv1d(x, w, b, 1, 3, 1, 4),
  },
  {
    name: "conv1d depthwise with multiplier 2, no padding (float32 vs reference)",
    inputs: [{ shape: [2, 3, 6] }, { shape: [6, 1, 3] }],
    build: ([x, w]) => op.conv1d(x, w, { groups: 3 }),
    reference: ([x, w]) => ref.conv1d(x, w, undefined, 1, 0, 1, 3),
  },
  {
    name:
      "conv1d stride 2, dilation 2, 2 groups, a frame past the last window (float32 vs reference)",
    inputs: [{ shape: [2, 4, 12] }, { shape: [6, 2, 3] }, { shape: [6] }],
    build: ([x, w, b]) =>
      op.conv1d(x, w, { bias: b, stride: 2, padding: 2, dilation: 2, groups: 2 }),
    reference: ([x, w, b]) => ref.conv1d(x, w, b, 2, 2, 2, 2),
  },
  {
    name: "conv1d stride 3, padding larger than the kernel's reach (float32 vs reference)",
    inputs: [{ shape: [2, 2, 5] }, { shape: [3, 2, 2] }],
    build: ([x, w]) => op.conv1d(x, w, { stride: 3, padding: 2 }),
    reference: ([x, w]) => ref.conv1d(x, w, undefined, 3, 2),
  },
  {
    // One input is both the signal and the kernel: its gradient is dx + dw, so a wrong
    // input gradient or a wrong weight gradient (or a lost sum of the two) fails.
    name: "conv1d of a signal with itself as the kernel (float32 vs reference)",
    inputs: [{ shape: [2, 2, 6] }],
    build: ([a]) => op.conv1d(a, op.reshape(a, [4, 2, 3]), { padding: 1 }),
    reference: ([a]) => ref.conv1d(a, { shape: [4, 2, 3], data: a.data }, undefined, 1, 1),
  },
  {
    name: "gather with repeated indices",
    inputs: [{ shape: [5, 3] }, { shape: [2, 2], ints: [1, 3, 1, 0] }],
    build: ([t, i]) => op.gather(t, i),
  },
  {
    name: "gelu (composed, float32 vs reference)",
    inputs: [{ shape: [7] }],
    build: ([a]) => gelu(a),
    reference: ([a]) => ref.gelu(a),
  },
  {
    name: "cross-entropy with ignored positions",
    inputs: [{ shape: [2, 3, 5] }, { shape: [2, 3], ints: [4, -100, 0, 2, 2, -100] }],
    build: ([logits, t]) => crossEntropy(logits, t),
  },
  {
    name: "causal multi-head attention",
    inputs: [{ shape: [1, 3, 4] }, { shape: [1, 3, 4] }, { shape: [1, 3, 4] }],
    build: ([q, k, v]) =>
      attention(splitHeads(q, 2), {
        k: splitHeads(k, 2),
        v: splitHeads(v, 2),
        mask: causalMask(q, 3),
      }),
  },
];

for (const c of CASES) {
  Deno.test(`grad() matches finite differences: ${c.name}`, () => checkGrad(c));
}

Deno.test("grad() has a finite-difference case for every rule in GRAD_RULES", () => {
  // Collect the ops the cases really build, not what they claim to cover.
  const built = new Set<string>();
  for (const c of CASES) {
    const g = new Graph();
    const xs = c.inputs.map((s, i) =>
      g.input(`x${i}`, { dtype: s.ints ? "int64" : "float32", shape: s.shape })
    );
    c.build(xs);
    for (const n of g.nodes) built.add(n.op);
  }
  const missing = Object.keys(GRAD_RULES).filter((r) => !built.has(r));
  assert.deepEqual(missing, []);
});

Deno.test("grad() names the op when a gradient rule is missing", () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [2] });
  const at = g.constant([1, 3], { dtype: "int64", shape: [2, 1] });
  const y = op.scatterND(g.constant(0, { dtype: "float32", shape: [4] }), {
    indices: at,
    updates: x,
  });
  assert.throws(
    () => grad(op.reduceSum(y), [x]),
    (e: unknown) =>
      e instanceof GraphError && /no gradient rule for op 'ScatterND'/.test(e.message),
  );
});

Deno.test("grad() emits nothing for branches that do not lead from wrt to the loss", () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [3] });
  const y = g.input("y", { dtype: "float32", shape: [3] });
  const e = op.exp(y);
  const loss = op.add(op.reduceSum(op.mul(x, x)), op.reduceSum(e));
  const before = g.nodes.length;
  grad(loss, [x]);
  const emitted = g.nodes.slice(before);
  assert.ok(emitted.length > 0);
  assert.ok(emitted.every((n) => n.inputs.every((v) => v?.name !== e.name && v?.name !== y.name)));
});

Deno.test("grad() reaches plain inputs through frozen initializer weights", async () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [1, 2] });
  const w = g.initializer("w", { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  const [dx] = grad(op.reduceSum(op.matmul(x, w)), [x]);
  g.output(dx, "dx");
  assert.ok(
    !g.nodes.some((n) => n.outputs.some((o) => o.shape.join() === "2,3" && o.name !== "w")),
  );
  const { dx: out } = await orThrow(runSession(await open(g), { x: new Float32Array([0, 0]) }));
  assert.deepEqual(Array.from(out as Float32Array), [6, 15]);
});

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
