/** Each primitive's forward pass against the float64 TypeScript reference. */
import assert from "@std/assert";
import { Graph, type Value } from "../lib/graph/builder.ts";
import { GraphError } from "../lib/graph/errors.ts";
import * as op from "../lib/graph/ops.ts";
import { reduceSum, slice } from "../lib/graph/ops.ts";
import { crossEntropy, gelu } from "../lib/graph/nn.ts";
import { sizeOf } from "../lib/graph/types.ts";
import * as ref from "./reference.ts";
import { assertClose, evaluate } from "./harness.ts";

/** Builds op(inputs) in float32, runs it, and compares with the reference. */
async function checkForward(
  shapes: number[][],
  build: (xs: Value[]) => Value,
  reference: (xs: ref.Arr[]) => ref.Arr,
  options: { positive?: boolean; atol?: number } = {},
): Promise<void> {
  const g = new Graph();
  const xs = shapes.map((s, i) => g.input(`x${i}`, { dtype: "float32", shape: s }));
  const y = build(xs);
  g.output(y, "y");
  const data = shapes.map((s, i) => {
    const v = ref.testValues(sizeOf(s), 5 + i, 2);
    return options.positive ? v.map((x) => 0.5 + Math.abs(x)) : v;
  });
  const out = await evaluate(
    g,
    Object.fromEntries(data.map((d, i) => [`x${i}`, Float32Array.from(d)])),
  );
  // The reference sees the same float32-rounded inputs the graph sees.
  const expected = reference(data.map((d, i) => ref.arr(shapes[i], Float32Array.from(d))));
  assert.deepEqual(y.shape, expected.shape);
  assertClose(Array.from(out.y as Float32Array), expected.data, {
    atol: options.atol ?? 2e-5,
    rtol: 2e-5,
  });
}

const unaries: [string, (x: Value) => Value, (v: number) => number, boolean?][] = [
  ["neg", op.neg, (v) => -v],
  ["exp", op.exp, Math.exp],
  ["log", op.log, Math.log, true],
  ["sqrt", op.sqrt, Math.sqrt, true],
  ["tanh", op.tanh, Math.tanh],
  ["erf", op.erf, ref.erf],
  ["sigmoid", op.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
  ["sin", op.sin, Math.sin],
  ["cos", op.cos, Math.cos],
  ["relu", op.relu, (v) => Math.max(v, 0)],
];
for (const [name, f, r, positive] of unaries) {
  Deno.test(`${name}() matches the reference`, () =>
    checkForward([[3, 4]], ([x]) => f(x), ([x]) => ref.map(x, r), { positive }));
}

const binaries: [string, (a: Value, b: Value) => Value, (a: number, b: number) => number][] = [
  ["add", op.add, (a, b) => a + b],
  ["sub", op.sub, (a, b) => a - b],
  ["mul", op.mul, (a, b) => a * b],
  ["div", op.div, (a, b) => a / b],
  ["pow", op.pow, (a, b) => a ** b],
];
for (const [name, f, r] of binaries) {
  Deno.test(`${name}() broadcasts like numpy`, () =>
    checkForward([[2, 1, 3], [4, 1]], ([a, b]) => f(a, b), ([a, b]) => ref.zip([a, b], r), {
      positive: name === "pow" || name === "div",
    }));
}

Deno.test("where() selects elementwise with broadcasting", () =>
  checkForward(
    [[2, 3], [2, 3], [3]],
    ([c, a, b]) => op.where(op.greater(c, 0), { ifTrue: a, ifFalse: b }),
    ([c, a, b]) => ref.zip([c, a, b], (cv, av, bv) => (cv > 0 ? av : bv)),
  ));

Deno.test("matmul() multiplies broadcast batches", () =>
  checkForward(
    [[2, 1, 2, 3], [3, 3, 4]],
    ([a, b]) => op.matmul(a, b),
    ([a, b]) => ref.matmul(a, b),
  ));

Deno.test("gemm() honours transA and transB", () =>
  checkForward(
    [[3, 2], [4, 3], [4]],
    ([a, b, c]) => op.gemm(a, b, { c, transA: true, transB: true }),
    ([a, b, c]) =>
      ref.zip([ref.matmul(ref.transpose(a, [1, 0]), ref.transpose(b, [1, 0])), c], (x, y) => x + y),
  ));

Deno.test("softmax() and logSoftmax() normalise the last axis", async () => {
  await checkForward([[2, 5]], ([x]) => op.softmax(x), ([x]) => ref.softmax(x));
  await checkForward([[2, 5]], ([x]) => op.logSoftmax(x), ([x]) => ref.logSoftmax(x));
});

Deno.test("layerNormalization() matches the reference", () =>
  checkForward(
    [[2, 3, 6], [6], [6]],
    ([x, s, b]) => op.layerNormalization(x, { scale: s, bias: b }).y,
    ([x, s, b]) => ref.layerNorm(x, s, b),
  ));

Deno.test("reduceSum(), reduceMean() and reduceMax() reduce the given axes", async () => {
  await checkForward(
    [[2, 3, 4]],
    ([x]) => op.reduceSum(x, { axes: [0, 2], keepDims: true }),
    ([x]) => ref.sum(x, [0, 2]),
  );
  await checkForward(
    [[2, 3, 4]],
    ([x]) => op.reduceMean(x, { axes: [1], keepDims: true }),
    ([x]) => ref.mean(x, [1]),
  );
  await checkForward(
    [[2, 3, 4]],
    ([x]) => op.reduceMax(x, { axes: [2], keepDims: true }),
    ([x]) => ref.max(x, [2]),
  );
  const g = new Graph();
  assert.deepEqual(
    op.reduceSum(g.input("x", { dtype: "float32", shape: [2, 3, 4] }), { axes: [1] }).shape,
    [2, 4],
  );
});

Deno.test("transpose(), reshape(), squeeze() and unsqueeze() move data correctly", async () => {
  await checkForward(
    [[2, 3, 4]],
    ([x]) => op.transpose(x, [2, 0, 1]),
    ([x]) => ref.transpose(x, [2, 0, 1]),
  );
  await checkForward(
    [[2, 3, 4]],
    ([x]) => op.reshape(x, [4, -1]),
    ([x]) => ({ shape: [4, 6], data: x.data }),
  );
  await checkForward(
    [[2, 1, 3]],
    ([x]) => op.unsqueeze(op.squeeze(x, [1]), [0]),
    ([x]) => ({ shape: [1, 2, 3], data: x.data }),
  );
});

Deno.test("concat(), slice(), split() and pad() agree with the reference", async () => {
  await checkForward(
    [[2, 1], [2, 3]],
    ([a, b]) => op.concat([a, b], 1),
    ([a, b]) => ref.concat([a, b], 1),
  );
  await checkForward(
    [[3, 5]],
    ([x]) => op.slice(x, { starts: [-4], ends: [100], axes: [1] }),
    ([x]) => ref.slice(x, [1], [5], [1]),
  );
  await checkForward(
    [[2, 5]],
    ([x]) => op.split(x, [2, 3], { axis: 1 })[1],
    ([x]) => ref.slice(x, [2], [5], [1]),
  );
  await checkForward(
    [[2, 3]],
    ([x]) => op.slice(op.pad(x, [1, 0, 0, 2]), { starts: [1], ends: [3], axes: [0] }),
    ([x]) => ref.concat([x, ref.arr([2, 2], [0, 0, 0, 0])], 1),
  );
});

Deno.test("expand() broadcasts to a target shape", () =>
  checkForward(
    [[3, 1]],
    ([x]) => op.expand(x, [2, 3, 4]),
    ([x]) => ref.zip([x, ref.arr([2, 3, 4], new Float64Array(24))], (a) => a),
  ));

Deno.test("gather() looks up embedding rows", async () => {
  const g = new Graph();
  const table = g.input("t", { dtype: "float32", shape: [5, 2] });
  const ids = g.input("i", { dtype: "int64", shape: [3] });
  g.output(op.gather(table, ids), "y");
  const t = Float32Array.from({ length: 10 }, (_, i) => i);
  const out = await evaluate(g, { t, i: new BigInt64Array([4n, 0n, 4n]) });
  assert.deepEqual(
    Array.from(out.y as Float32Array),
    Array.from(ref.gather0(ref.arr([5, 2], t), [4, 0, 4]).data),
  );
});

Deno.test("conv1d() matches a direct convolution", () =>
  checkForward(
    [[2, 3, 9], [4, 3, 3], [4]],
    ([x, w, b]) => op.conv1d(x, w, { bias: b, stride: 2, padding: 1 }),
    ([x, w, b]) => ref.conv1d(x, w, b, 2, 1),
  ));

Deno.test("conv1d() with groups and dilation matches a direct convolution", () =>
  checkForward(
    [[2, 4, 11], [6, 2, 3], [6]],
    ([x, w, b]) => op.conv1d(x, w, { bias: b, stride: 2, padding: 2, dilation: 2, groups: 2 }),
    ([x, w, b]) => ref.conv1d(x, w, b, 2, 2, 2, 2),
  ));

Deno.test("conv1d() depthwise (groups = channels) matches a direct convolution", () =>
  checkForward(
    [[2, 5, 8], [5, 1, 7], [5]],
    ([x, w, b]) => op.conv1d(x, w, { bias: b, padding: 3, groups: 5 }),
    ([x, w, b]) => ref.conv1d(x, w, b, 1, 3, 1, 5),
  ));

Deno.test("cast() converts float to int64 and bool", async () => {
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [3] });
  g.output(op.cast(x, "int64"), "i");
  g.output(op.cast(x, "bool"), "b");
  const out = await evaluate(g, { x: new Float32Array([2.7, 0, -1.5]) });
  assert.deepEqual(Array.from(out.i as BigInt64Array), [2n, 0n, -1n]);
  assert.deepEqual(Array.from(out.b as Uint8Array), [1, 0, 1]);
});

Deno.test("gelu() is the exact erf GELU", () =>
  checkForward([[8]], ([x]) => gelu(x), ([x]) => ref.gelu(x)));

Deno.test("crossEntropy() averages over kept positions and ignores -100", async () => {
  const g = new Graph();
  const logits = g.input("l", { dtype: "float32", shape: [2, 3, 4] });
  const targets = g.input("t", { dtype: "int64", shape: [2, 3] });
  g.output(crossEntropy(logits, targets), "mean");
  g.output(crossEntropy(logits, targets, { reduction: "none" }), "each");
  const l = Float32Array.from(ref.testValues(24, 3, 2));
  const t = [1, -100, 3, 0, 0, -100];
  const out = await evaluate(g, { l, t: BigInt64Array.from(t, BigInt) });
  const lsm = ref.logSoftmax(ref.arr([2, 3, 4], l));
  const each = t.map((c, i) => (c < 0 ? 0 : -lsm.data[i * 4 + c]));
  assertClose(Array.from(out.each as Float32Array), each);
  assertClose(Array.from(out.mean as Float32Array), [each.reduce((a, b) => a + b) / 4]);
});

Deno.test("crossEntropy() of an all-ignored batch is 0, not NaN", async () => {
  const g = new Graph();
  const logits = g.input("l", { dtype: "float32", shape: [1, 2, 3] });
  g.output(crossEntropy(logits, g.constant([-100, -100], { dtype: "int64", shape: [1, 2] })), "y");
  const out = await evaluate(g, { l: new Float32Array(6) });
  assert.equal((out.y as Float32Array)[0], 0);
});

Deno.test("ops name the op and the shapes when shapes do not fit", () => {
  const g = new Graph();
  const a = g.input("a", { dtype: "float32", shape: [2, 3] });
  const b = g.input("b", { dtype: "float32", shape: [4] });
  const expectError = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof GraphError && pattern.test(e.message));
  expectError(() => op.add(a, b), /^Add: shapes \[2, 3\] and \[4\] do not broadcast/);
  expectError(
    () => op.matmul(a, g.input("c", { dtype: "float32", shape: [4, 5] })),
    /^MatMul: inner dimensions differ: \[2, 3\] @ \[4, 5\]/,
  );
  expectError(() => op.reshape(a, [4, 2]), /^Reshape: cannot reshape \[2, 3\] to \[4, 2\]/);
  expectError(
    () => op.add(a, g.input("i", { dtype: "int64", shape: [2, 3] })),
    /^Add: dtype mismatch/,
  );
  expectError(() => op.softmax(a, { axis: 2 }), /^Softmax: axis 2 is out of range for rank 2/);
  expectError(() => g.input("a", { dtype: "float32", shape: [1] }), /name 'a' is already used/);
  expectError(
    () => op.add(a, new Graph("other").input("z", { dtype: "float32", shape: [3] })),
    /belongs to graph 'other'/,
  );
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
