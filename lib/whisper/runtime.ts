/**
 * A loaded Whisper model and the ONNX Runtime sessions built from it: the encoder, the
 * cross-attention cache, the cached decoder step and the teacher-forced loss with its gradient
 * with respect to the encoder states. Graphs have static shapes, so each (graph, shape) opens
 * one session, kept for reuse.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { Graph } from "../graph/builder.ts";
import { grad } from "../graph/grad.ts";
import {
  cachedOpen,
  type OpenCache,
  openSession,
  runSession,
  type Session,
  type SessionError,
  type SessionOptions,
  type Tensors,
} from "../graph/session.ts";
import { type CheckpointError, loadCheckpoint, type WhisperCheckpoint } from "./checkpoint.ts";
import type { WhisperConfig } from "./config.ts";
import {
  crossCacheGraph,
  decoder,
  decoderStepGraph,
  encoder,
  maskedCrossEntropy,
  weightAccess,
} from "./model.ts";

/** A Whisper checkpoint ready to run, with its sessions. */
export interface WhisperModel extends WhisperCheckpoint {
  /** How sessions are opened (threads, provider). */
  readonly sessionOptions: SessionOptions;
  /** Open sessions by graph and shape. */
  readonly sessions: OpenCache<Session>;
}

/**
 * Wraps a checkpoint for running; sessions open lazily on first use.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * assert.equal(model.sessions.size, 0);
 * ```
 */
export function whisperModel(
  checkpoint: WhisperCheckpoint,
  options: SessionOptions = {},
): WhisperModel {
  return { ...checkpoint, sessionOptions: options, sessions: new Map() };
}

/**
 * Loads a Hugging Face Whisper folder for running.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadWhisper } from "./runtime.ts";
 * const result = await loadWhisper("missing/model")();
 * assert.ok(result._tag === "Left" && result.left.message.includes("missing/model"));
 * ```
 */
export function loadWhisper(
  dir: string,
  options: SessionOptions = {},
): TaskEither<CheckpointError, WhisperModel> {
  return F.pipe(loadCheckpoint(dir), TE.map((c) => whisperModel(c, options)));
}

const cachedSession = (model: WhisperModel, key: string, build: () => Graph) =>
  cachedOpen(model.sessions, key, () => openSession(build(), model.sessionOptions));

/**
 * Runs the encoder on log-mel input [batch, nMels, frames] (frames = 3000 for released
 * models) and returns states [batch, frames / 2, dModel].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { encode, whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const states = await orThrow(encode(model, new Float32Array(80 * 20), { batch: 1 }));
 * assert.equal(states.length, 10 * model.config.dModel);
 * ```
 */
export function encode(
  model: WhisperModel,
  mel: Float32Array,
  options: { batch: number },
): TaskEither<SessionError, Float32Array> {
  const { batch } = options, { config } = model;
  const frames = mel.length / (batch * config.nMels);
  if (!Number.isInteger(frames)) {
    return TE.left({
      _tag: "SessionError",
      message:
        `mel input has ${mel.length} values, not a multiple of batch ${batch} x ${config.nMels} mel bins`,
    });
  }
  const session = cachedSession(model, `encoder/${batch}x${frames}`, () => {
    const g = new Graph("whisper_encoder");
    const x = g.input("mel", { dtype: "float32", shape: [batch, config.nMels, frames] });
    g.output(encoder(x, { weights: weightAccess(g, model.weights), config }), "states");
    return g;
  });
  return F.pipe(
    session,
    TE.flatMap((s) => runSession(s, { mel })),
    TE.map((out) => out.states as Float32Array),
  );
}

/**
 * Every decoder layer's cross-attention keys and values for states [batch, frames, dModel],
 * keyed `cross_k.i` / `cross_v.i` ([batch, heads, frames, dModel / heads] each), ready to feed
 * the decoder step. The session is built once per shape and kept in the model.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { crossCache, whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const states = new Float32Array(5 * model.config.dModel);
 * const cache = await orThrow(crossCache(model, states, { batch: 1, frames: 5 }));
 * assert.deepEqual(Object.keys(cache).sort(), ["cross_k.0", "cross_k.1", "cross_v.0", "cross_v.1"]);
 * assert.equal(cache["cross_k.0"].length, 5 * model.config.dModel);
 * ```
 */
export function crossCache(
  model: WhisperModel,
  states: Float32Array,
  options: { batch: number; frames: number },
): TaskEither<SessionError, Tensors> {
  const { batch, frames } = options;
  const session = cachedSession(
    model,
    `cross/${batch}x${frames}`,
    () =>
      crossCacheGraph(new Graph("whisper_cross_cache"), {
        weights: model.weights,
        config: model.config,
        batch,
        frames,
      }),
  );
  return F.pipe(session, TE.flatMap((s) => runSession(s, { states })));
}

const silenceCrosses = new WeakMap<Float32Array, Promise<Either<SessionError, Tensors>>>();

/**
 * The decoder's cross-attention keys and values of the silence states (`cross_k.<i>`,
 * `cross_v.<i>`, [1, heads, frames, dModel / heads]): computed once per silence array and kept,
 * so graphs that read [states; silence tail] take the tail's keys and values as shared tensors
 * instead of projecting 1500 constant frames at every run.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { silenceStates } from "./silence.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { silenceCrossCache, whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const silence = await orThrow(silenceStates(model));
 * const cross = await orThrow(silenceCrossCache(model, silence));
 * assert.equal(cross["cross_k.0"].length, silence.length);
 * assert.equal(await orThrow(silenceCrossCache(model, silence)), cross); // computed once
 * ```
 */
export function silenceCrossCache(
  model: WhisperModel,
  silence: Float32Array,
): TaskEither<SessionError, Readonly<Record<string, Float32Array>>> {
  return () => {
    let made = silenceCrosses.get(silence);
    if (!made) {
      const frames = silence.length / model.config.dModel;
      made = crossCache(model, silence, { batch: 1, frames })();
      made.then((r) => E.isLeft(r) && silenceCrosses.delete(silence));
      silenceCrosses.set(silence, made);
    }
    return made as Promise<Either<SessionError, Readonly<Record<string, Float32Array>>>>;
  };
}

/**
 * The session of one cached decoder step (see {@link decoderStepGraph}) for `batch` rows,
 * `frames` encoder frames and a self-attention cache of `capacity` positions; built once per
 * shape and kept in the model.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { stepSession, whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const { decoderHeads: heads, dModel, vocabSize } = model.config;
 * const step = await orThrow(stepSession(model, { batch: 2, frames: 5, capacity: 8 }));
 * assert.deepEqual(step.outputs.get("logits")?.shape, [2, vocabSize]);
 * assert.deepEqual(step.inputs.get("self_k.0")?.shape, [2, heads, 8, dModel / heads]);
 * assert.equal(await orThrow(stepSession(model, { batch: 2, frames: 5, capacity: 8 })), step);
 * ```
 */
export function stepSession(
  model: WhisperModel,
  options: { batch: number; frames: number; capacity: number },
): TaskEither<SessionError, Session> {
  const { batch, frames, capacity } = options;
  return cachedSession(
    model,
    `step/${batch}x${frames}x${capacity}`,
    () =>
      decoderStepGraph(new Graph("whisper_decoder_step"), {
        weights: model.weights,
        config: model.config,
        batch,
        frames,
        capacity,
      }),
  );
}

/** Inputs of {@link teacherForcedLoss}. */
export interface TeacherForcedInputs {
  /** Encoder states [batch, frames, dModel]. */
  readonly states: Float32Array;
  /** 0/1 mask [batch, frames] of real frames (default all ones). */
  readonly statesMask?: Float32Array;
  /** Decoder input tokens [batch, length]. */
  readonly tokens: BigInt64Array;
  /** The next token at each position [batch, length]. */
  readonly targets: BigInt64Array;
  /** 0/1 weights [batch, length] of the scored positions. */
  readonly mask: Float32Array;
  /** Rows. */
  readonly batch: number;
  /**
   * Silence states [maxSourcePositions, dModel] (`silenceStates`): when given, rows are read as
   * [real frames; silence tail] (the decoder's training interface) instead of under a key mask.
   */
  readonly silence?: Float32Array;
  /**
   * A restricted vocabulary: token ids int64 [K] that include every scored target (e.g.
   * {@link inversionVocab}). The cross-entropy is then a log-softmax over these ids only, with
   * the logits of the gathered output-embedding rows ([B, L, K] instead of [B, L, V]); with
   * all V ids it equals the full cross-entropy. Default: the whole vocabulary.
   */
  readonly vocab?: BigInt64Array;
}

/**
 * A restricted vocabulary for decoder inversion, sorted ascending: the scored targets (`mask`
 * 1), end-of-text and start-of-transcript, then the lowest ids not yet in it (byte-level BPE
 * numbers merges in the order they were learned, so low ids are bytes and frequent pieces) up
 * to `extra` more ids than the batch's B x L target positions plus those two, capped at the
 * vocabulary. The size depends only on the batch's shape, so one session serves every batch of
 * it, and with `extra` >= V it is the whole vocabulary.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { inversionVocab } from "./runtime.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * const { config } = tinyRandomWhisper();
 * const vocab = inversionVocab(config, {
 *   targets: new BigInt64Array([72n, 264n]), mask: new Float32Array([1, 1]), extra: 3 });
 * assert.equal(vocab.length, 2 + 2 + 3);
 * assert.ok(vocab.includes(72n) && vocab.includes(264n) && vocab.includes(0n));
 * assert.equal(inversionVocab(config, { targets: new BigInt64Array(2), extra: 1e9 }).length,
 *   config.vocabSize);
 * ```
 */
export function inversionVocab(
  config: WhisperConfig,
  options: { targets: BigInt64Array; mask?: Float32Array; extra: number },
): BigInt64Array {
  const { targets, mask, extra } = options, v = config.vocabSize;
  if (!Number.isInteger(extra) || extra < 0) {
    throw new RangeError(`inversionVocab: extra must be a whole number >= 0, got ${extra}`);
  }
  const size = Math.min(v, targets.length + 2 + extra);
  const chosen = new Set<number>();
  targets.forEach((t, i) => {
    if (!mask || mask[i] !== 0) chosen.add(Number(t));
  });
  chosen.add(config.eosTokenId);
  chosen.add(config.decoderStartTokenId);
  for (let id = 0; chosen.size < size && id < v; id++) chosen.add(id);
  return BigInt64Array.from([...chosen].sort((a, b) => a - b), BigInt);
}

/** Targets as positions in `vocab` (unscored positions not in it read 0), or the first missing id. */
function targetsIn(
  vocab: BigInt64Array,
  options: { targets: BigInt64Array; mask: Float32Array },
): Either<SessionError, BigInt64Array> {
  const at = new Map<bigint, number>();
  vocab.forEach((id, i) => at.set(id, i));
  const out = new BigInt64Array(options.targets.length);
  for (const [i, t] of options.targets.entries()) {
    const k = at.get(t);
    if (k !== undefined) out[i] = BigInt(k);
    else if (options.mask[i] !== 0) {
      return E.left({
        _tag: "SessionError",
        message: `teacherForcedLoss: target token ${t} (position ${i}) is not in the restricted ` +
          `vocabulary of ${vocab.length} ids; build it with inversionVocab from these targets`,
      });
    }
  }
  return E.right(out);
}

/**
 * The decoder's teacher-forced cross-entropy (mean over masked positions) and its gradient
 * with respect to the encoder states, from one graph.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { teacherForcedLoss, whisperModel } from "./runtime.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const d = model.config.dModel;
 * const { loss, gradStates } = await orThrow(teacherForcedLoss(model, {
 *   states: new Float32Array(4 * d).fill(0.1),
 *   tokens: new BigInt64Array([265n, 72n]),
 *   targets: new BigInt64Array([72n, 264n]),
 *   mask: new Float32Array([1, 1]),
 *   batch: 1,
 * }));
 * assert.ok(loss > 0 && gradStates.length === 4 * d);
 * ```
 */
export function teacherForcedLoss(
  model: WhisperModel,
  inputs: TeacherForcedInputs,
): TaskEither<SessionError, { loss: number; gradStates: Float32Array }> {
  const { config } = model, { batch } = inputs;
  const frames = inputs.states.length / (batch * config.dModel);
  const length = inputs.tokens.length / batch;
  const { silence } = inputs;
  const { vocab } = inputs;
  const key = `loss/${batch}x${frames}x${length}${silence ? "/silence" : ""}` +
    (vocab ? `/vocab${vocab.length}` : "");
  const targets = vocab ? targetsIn(vocab, inputs) : E.right(inputs.targets);
  if (E.isLeft(targets)) return TE.left(targets.left);
  const cross: TaskEither<SessionError, Readonly<Record<string, Float32Array>> | undefined> =
    silence ? silenceCrossCache(model, silence) : TE.right(undefined);
  const session = (silenceCross?: Readonly<Record<string, Float32Array>>) =>
    cachedSession(model, key, () => {
      const g = new Graph("whisper_teacher_forced");
      const states = g.input("states", { dtype: "float32", shape: [batch, frames, config.dModel] });
      const statesMask = g.input("states_mask", { dtype: "float32", shape: [batch, frames] });
      const tokens = g.input("tokens", { dtype: "int64", shape: [batch, length] });
      const targets = g.input("targets", { dtype: "int64", shape: [batch, length] });
      const mask = g.input("mask", { dtype: "float32", shape: [batch, length] });
      const ids = vocab && g.input("vocab", { dtype: "int64", shape: [vocab.length] });
      const w = weightAccess(g, model.weights);
      const tail = silence &&
        g.shared("silence", {
          data: silence,
          shape: [silence.length / config.dModel, config.dModel],
        });
      const logits = decoder(tokens, {
        weights: w,
        config,
        states,
        statesMask,
        silence: tail,
        silenceCross,
        vocab: ids,
      });
      const loss = g.output(maskedCrossEntropy(logits, { targets, mask }), "loss");
      g.output(grad(loss, [states])[0], "grad_states");
      return g;
    });
  const feeds = {
    states: inputs.states,
    states_mask: inputs.statesMask ?? new Float32Array(batch * frames).fill(1),
    tokens: inputs.tokens,
    targets: targets.right,
    mask: inputs.mask,
    ...(vocab ? { vocab } : {}),
  };
  return F.pipe(
    cross,
    TE.flatMap(session),
    TE.flatMap((s) => runSession(s, feeds)),
    TE.map((out) => ({
      loss: Number(out.loss[0]),
      gradStates: out.grad_states as Float32Array,
    })),
  );
}
