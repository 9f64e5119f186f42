/**
 * Speech-shaped priors without recorded audio: eSpeak NG renders text in about 90 Whisper
 * languages, Whisper's encoder turns the rendering into states, and a cache keeps them.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { espeakVoice, speechFrames } from "./mod.ts";
 * assert.deepEqual(espeakVoice("fr"), { _tag: "Right", right: "fr-fr" });
 * assert.equal(speechFrames(2), 100);
 * ```
 * @module
 */
export * from "./voices.ts";
export * from "./espeak.ts";
export * from "./prior.ts";
export * from "./cache.ts";
export * from "./frechet.ts";

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
} from "../graph/session.ts";
export type { DType, Shape, TensorData } from "../graph/types.ts";
export type { WhisperCheckpoint, WhisperWeights } from "../whisper/checkpoint.ts";
export type { WhisperConfig } from "../whisper/config.ts";
export type { WhisperModel } from "../whisper/runtime.ts";
