/**
 * flowt2s: train text-to-semantic models for speech LLMs from text alone, by conditional
 * flow matching scored through a frozen Whisper decoder.
 *
 * This entry point re-exports the public API: the graph engine (a typed ONNX graph builder,
 * reverse-mode autodiff, in-graph AdamW, safetensors checkpoints, ONNX Runtime sessions),
 * flow-matching paths, losses and samplers, optimal-transport couplings, Whisper's language
 * table, speaking-rate length heuristics, Whisper (checkpoints, tokenizer, log-mel, encoder,
 * frozen decoder, decoding), speech priors, text data, the T2S model, seeded randomness,
 * atomic file writes and SVG charts. Each area is also its own entry point:
 * `@flowt2s/flowt2s/graph`, `/flow`, `/ot`, `/text`, `/length`, `/whisper`, `/speech`,
 * `/data` and `/model`.
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
export * from "./lib/graph/mod.ts";
export * from "./lib/random.ts";
export * from "./lib/io.ts";
export * from "./lib/result.ts";
export * from "./lib/plot.ts";
export * from "./lib/flow/mod.ts";
export * from "./lib/text/mod.ts";
export * from "./lib/length/mod.ts";
export * from "./lib/ot/mod.ts";
export * from "./lib/whisper/mod.ts";
export * from "./lib/speech/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/model/mod.ts";
