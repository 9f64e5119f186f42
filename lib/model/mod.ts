/**
 * The text-to-semantic CFM model: configurations, the velocity network, text input, batches,
 * training objectives (distill, unrolled, inversion), decoder inversion and ODE sampling,
 * checkpoints, the training run and its target store, generation and the shards of generated
 * data.
 * @module
 */
export * from "./config.ts";
export * from "./network.ts";
export * from "./text.ts";
export * from "./batch.ts";
export * from "./objective.ts";
export * from "./states.ts";
export * from "./checkpoint.ts";
export * from "./coupling.ts";
export * from "./training.ts";
export * from "./generate.ts";
export * from "./differences.ts";
export * from "./shards.ts";
export * from "./target_store.ts";
export * from "./probe.ts";
export * from "./report.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Rng, RngState } from "../random.ts";
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
export type { Solver, SOLVER_ORDER } from "../flow/ode.ts";
export type { Attr, Graph, Initializer, Node, Value, ValueSpec } from "../graph/builder.ts";
export type { Init, ParamDef, ParamStore, Tensor } from "../graph/params.ts";
export type {
  OpenCache,
  OrtSession,
  Provider,
  Session,
  SessionError,
  SessionOptions,
} from "../graph/session.ts";
export type { LossFn, Trainer, TrainSpec, TrainState } from "../graph/train.ts";
export type { DType, Shape, TensorData } from "../graph/types.ts";
export type { OtError, OtErrorKind } from "../ot/types.ts";
export type { ChannelStats } from "../speech/prior.ts";
export type { TokenizerError } from "../text/languages.ts";
export type { WhisperCheckpoint, WhisperWeights } from "../whisper/checkpoint.ts";
export type { WhisperConfig } from "../whisper/config.ts";
export type { WhisperModel } from "../whisper/runtime.ts";
export type { DecoderInterface } from "../whisper/silence.ts";
export type { SotOptions, SpecialTokens, WhisperTokenizer } from "../whisper/tokenizer.ts";
