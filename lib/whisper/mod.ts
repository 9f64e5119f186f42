/**
 * Whisper on the graph engine: Hugging Face checkpoints (download, importers), tokenizer,
 * log-mel front end, encoder and frozen decoder graphs, greedy and beam decoding, and
 * transcription. The decoder's teacher-forced loss differentiates with respect to the
 * encoder states, which is what training a text-to-semantic model through it needs.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { openWhisper, transcribe } from "./mod.ts";
 * const model = await orThrow(openWhisper("tiny-random", { threads: 1 }));
 * const silence = new Float32Array(16000);
 * const [out] = await orThrow(transcribe(model, [silence], { language: "en", maxTokens: 2 }));
 * assert.equal(out.language, "en");
 * ```
 * @module
 */
export * from "./config.ts";
export * from "./checkpoint.ts";
export * from "./hub.ts";
export * from "./tokenizer.ts";
export * from "./normalize.ts";
export * from "./tiny_tokenizer.ts";
export * from "./audio.ts";
export * from "./model.ts";
export * from "./runtime.ts";
export * from "./silence.ts";
export * from "./decode.ts";
export * from "./transcribe.ts";
export * from "./tiny_random.ts";
export * from "./open.ts";
export * from "./import_common.ts";
export * from "./import_ct2.ts";
export * from "./import_ggml.ts";
export * from "./import_pt.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
export type { Attr, Graph, Initializer, Node, Value, ValueSpec } from "../graph/builder.ts";
export type { Tensor } from "../graph/params.ts";
export type {
  OpenCache,
  OrtSession,
  Provider,
  Session,
  SessionError,
  SessionOptions,
  Tensors,
} from "../graph/session.ts";
export type { DType, Shape, TensorData } from "../graph/types.ts";
