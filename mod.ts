/**
 * flowt2s: train text-to-semantic models for speech LLMs from text alone, by conditional
 * flow matching scored through a frozen Whisper decoder.
 *
 * This entry point re-exports the public API: the graph engine (a typed ONNX graph builder,
 * reverse-mode autodiff, in-graph AdamW, safetensors checkpoints, ONNX Runtime sessions),
 * flow-matching paths, losses and samplers, optimal-transport couplings, speaking-rate length
 * heuristics, Whisper (checkpoints, tokenizer, log-mel, encoder, frozen decoder, decoding),
 * seeded randomness and atomic file writes.
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
 * assert.ok(out.dx[2] === 6);
 * ```
 * @module
 */
export * from "./lib/graph/types.ts";
export * from "./lib/graph/errors.ts";
export * from "./lib/graph/builder.ts";
export * from "./lib/graph/ops.ts";
export * from "./lib/graph/nn.ts";
export * from "./lib/graph/grad.ts";
export * from "./lib/graph/optim.ts";
export * from "./lib/graph/params.ts";
export * from "./lib/graph/safetensors.ts";
export * from "./lib/graph/serialize.ts";
export * from "./lib/graph/session.ts";
export * from "./lib/graph/train.ts";
export * from "./lib/graph/positional.ts";
export * from "./lib/graph/toy.ts";
export * from "./lib/random.ts";
export * from "./lib/io.ts";
export * from "./lib/result.ts";
export * from "./lib/plot.ts";
export * from "./lib/flow/scalar.ts";
export * from "./lib/flow/paths.ts";
export * from "./lib/flow/sample.ts";
export * from "./lib/flow/loss.ts";
export * from "./lib/flow/ode.ts";
export * from "./lib/flow/guidance.ts";
export * from "./lib/text/mod.ts";
export * from "./lib/length/mod.ts";
export * from "./lib/ot/mod.ts";
export * from "./lib/whisper/mod.ts";
export * from "./lib/speech/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/model/mod.ts";
