/**
 * The graph engine: a typed ONNX graph builder (dtypes and static shapes checked at build
 * time), the primitive ops and composed layers, reverse-mode autodiff, global-norm clipping
 * and AdamW emitted into the training graph, parameter stores with safetensors checkpoints,
 * ONNX serialisation, ONNX Runtime sessions, fused training steps and sinusoidal position
 * tables; also seeded randomness (lib/random.ts) and the Either/TaskEither results
 * (lib/result.ts) that the engine and every other part build on. The toy problems of the tests, demo and benchmark (toy.ts) are not part of it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph, grad, mul, openSession, orThrow, reduceSum, runSession } from "./mod.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [3] });
 * const [dx] = grad(reduceSum(mul(x, x)), [x]);
 * g.output(dx, "dx");
 * const s = await orThrow(openSession(g));
 * const out = await orThrow(runSession(s, { x: new Float32Array([1, 2, 3]) }));
 * assert.deepEqual([...out.dx], [2, 4, 6]);
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./builder.ts";
export * from "./ops.ts";
export * from "./nn.ts";
export * from "./grad.ts";
export * from "./optim.ts";
export * from "./params.ts";
export * from "./safetensors.ts";
export * from "./serialize.ts";
export * from "./session.ts";
export * from "./train.ts";
export * from "./positional.ts";
export * from "../random.ts";
export * from "../result.ts";
