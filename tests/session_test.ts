/** Sessions: feeds checked against the graph signature, providers, serialisation. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { Graph } from "../lib/graph/builder.ts";
import { add, mul } from "../lib/graph/ops.ts";
import { toOnnx } from "../lib/graph/serialize.ts";
import { cudaProviderPath, openSession, orThrow, runSession } from "../lib/graph/session.ts";

function small(): Graph {
  const g = new Graph("small");
  const x = g.input("x", { dtype: "float32", shape: [2, 2] });
  const y = g.input("y", { dtype: "float32", shape: [2] });
  g.output(add(mul(x, 2), y), "z");
  return g;
}

async function errorOf<A>(task: () => Promise<E.Either<{ message: string }, A>>): Promise<string> {
  const r = await task();
  if (E.isRight(r)) throw new Error("expected an error");
  return r.left.message;
}

Deno.test("runSession() returns named outputs", async () => {
  const s = await orThrow(openSession(small(), { threads: 1 }));
  const { z } = await orThrow(
    runSession(s, { x: new Float32Array([1, 2, 3, 4]), y: new Float32Array([10, 20]) }),
  );
  assert.deepEqual(Array.from(z as Float32Array), [12, 24, 16, 28]);
});

Deno.test("runSession() names a missing, unknown or misshapen input", async () => {
  const s = await orThrow(openSession(small(), { threads: 1 }));
  const x = new Float32Array(4), y = new Float32Array(2);
  assert.match(await errorOf(runSession(s, { x })), /input 'y' \[2\] was not fed/);
  assert.match(
    await errorOf(runSession(s, { x, y, w: y })),
    /'w' is not an input; inputs are x, y/,
  );
  assert.match(
    await errorOf(runSession(s, { x: new Float32Array(3), y })),
    /input 'x' expects float32 \[2, 2\] \(4 elements\), got float32 with 3 elements/,
  );
  assert.match(await errorOf(runSession(s, { x: new Float64Array(4), y })), /got float64/);
  assert.match(
    await errorOf(runSession(s, { x, y }, { fetches: ["nope"] })),
    /'nope' is not an output/,
  );
});

function cudaInstalled(): boolean {
  try {
    Deno.statSync(cudaProviderPath());
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "openSession() explains how to install the CUDA provider when it is missing",
  ignore: cudaInstalled(), // with the provider present there is nothing to explain
  fn: async () => {
    const message = await errorOf(openSession(small(), { provider: "cuda" }));
    assert.match(message, /CUDA execution provider is not installed/);
    assert.match(message, /ONNXRUNTIME_NODE_INSTALL=cuda12 node .*script\/install\.js/);
    assert.match(message, /or use provider 'cpu'/);
  },
});

Deno.test("toOnnx() is deterministic for the same build", () => {
  assert.deepEqual(toOnnx(small()), toOnnx(small()));
});
