/**
 * The training run of the text-to-semantic model: data, targets (as the recipe plans them, kept
 * in a target store beside the checkpoint, lib/model/target_store.ts), minibatch OT pairing, one
 * compiled train step per batch shape, EMA weights, and checkpoints that resume exactly. Scripts drive it; the numeric parts live in lib/flow,
 * lib/ot, lib/graph and lib/whisper.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { lengthBatches } from "../data/length_batches.ts";
import { hashText } from "../data/held_out.ts";
import { uniformTimes } from "../flow/sample.ts";
import { initParams, type ParamStore, zerosLike } from "../graph/params.ts";
import { cachedOpen, type OpenCache, type Provider } from "../graph/session.ts";
import {
  openTrainer,
  trainCall,
  type Trainer,
  type TrainSpec,
  type TrainState,
  type TrainStepOptions,
} from "../graph/train.ts";
import { createRng, fillNormal, forkRng, type Rng, rngFromState } from "../random.ts";
import { silenceCrossCache, type WhisperModel } from "../whisper/runtime.ts";
import type { WhisperTokenizer } from "../whisper/tokenizer.ts";
import { assembleBatch, type Batch, maskFrames, type Prepared, shapeFor } from "./batch.ts";
import { EXPORT_FORMAT, loadT2S, saveT2S, type T2SCheckpoint } from "./checkpoint.ts";
import type { T2SConfig } from "./config.ts";
import { type NoiseCoupling, pairNoise } from "./coupling.ts";
import { settingDifferences } from "./differences.ts";
import { t2sParamDefs } from "./network.ts";
import { type BatchShape, objective, type Recipe, recipeSpec } from "./objective.ts";
import { invertStates, sampleStates, velocitySession, type VelocitySessions } from "./states.ts";
import { decoderSequence } from "./text.ts";
import { type ChannelStats, normalizeStates } from "../speech/prior.ts";
import { type DecoderInterface, silenceStates } from "../whisper/silence.ts";
import { weightsDigest, type WhisperCheckpoint } from "../whisper/checkpoint.ts";
import {
  appendTargets,
  collectTargets,
  hasTargets,
  type NewTarget,
  openTargetStore,
  readTargets,
  type TargetStore,
} from "./target_store.ts";
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

/**
 * A failure of a training run: a step (its batch, targets, pairing or train call), or writing or
 * reading its checkpoint. The message names the cause.
 */
export interface RunError {
  /** Discriminant for telling RunError apart from other errors. */
  readonly _tag: "RunError";
  /** What went wrong. */
  readonly message: string;
}

/** A RunError carrying another error's message unchanged. */
const runError = (e: { readonly message: string }): RunError => ({
  _tag: "RunError",
  message: e.message,
});
const fail = (message: string) => E.left(runError({ message }));

/** The silence states a run's decoder passes use (once per model), or undefined under the key mask. */
async function runSilence(
  context: RunContext,
): Promise<Either<RunError, Float32Array | undefined>> {
  if (context.settings.decoderInterface !== "silence") return E.right(undefined);
  return E.mapLeft(runError)(await silenceStates(context.whisper)());
}

/** What a run trains, and how: everything that must match for --resume. */
export interface RunSettings {
  /** Training recipe. */
  readonly recipe: Recipe;
  /** Optimizer steps in all. */
  readonly steps: number;
  /** Sentences per batch. */
  readonly batch: number;
  /** Peak learning rate (linear warmup, then cosine to a tenth). */
  readonly lr: number;
  /** Warmup steps. */
  readonly warmup: number;
  /** Seed of every random choice. */
  readonly seed: number;
  /** Weight of the decoder term on the one-step estimate ("distill", "anchored-ce", "prior"). */
  readonly lambda: number;
  /** Euler steps of "unrolled". */
  readonly unrollSteps: number;
  /** Decoder-inversion Adam steps per target. */
  readonly invertSteps: number;
  /** Decoder-inversion learning rate. */
  readonly invertLr: number;
  /**
   * Decoder inversion through a restricted softmax: the batch's targets, end-of-text,
   * start-of-transcript and this many more ids (`inversionVocab`). Unset: the full vocabulary.
   */
  readonly invertVocab?: number;
  /** "distill": a target older than this many steps is made again from the current model. */
  readonly refreshEvery: number;
  /** ODE steps used to sample "distill" targets. */
  readonly targetNfe: number;
  /** EMA decay of the weights used for sampling (reached after a warmup: min(decay, (1 + step) / (10 + step))). */
  readonly emaDecay: number;
  /** Probability of dropping a sentence's text (classifier-free guidance). */
  readonly cfgDrop: number;
  /** Global gradient-norm clip. */
  readonly maxGradNorm: number;
  /** "anchored", "anchored-ce": weight of the pull back to the prior states during inversion. */
  readonly pullWeight: number;
  /** How the frozen decoder reads states: [states; silence tail] (default) or a key mask. */
  readonly decoderInterface: DecoderInterface;
  /**
   * How noise is paired with targets in a batch (lib/model/coupling.ts): exact minibatch OT
   * (Tong et al. 2024), independent draws (I-CFM), or OT with a condition term (C2OT).
   */
  readonly coupling: NoiseCoupling;
  /** "c2ot": the extra cost of pairing one sentence's noise with another sentence. */
  readonly conditionWeight: number;
}

/** Defaults of {@link RunSettings}. */
export const RUN_DEFAULTS: RunSettings = {
  recipe: "distill",
  steps: 1000,
  batch: 16,
  lr: 5e-4,
  warmup: 50,
  seed: 0,
  lambda: 0.1,
  unrollSteps: 4,
  invertSteps: 20,
  invertLr: 0.05,
  refreshEvery: 200,
  targetNfe: 8,
  emaDecay: 0.999,
  cfgDrop: 0.1,
  maxGradNorm: 1,
  pullWeight: 10,
  decoderInterface: "silence",
  coupling: "ot",
  conditionWeight: 1e9,
};

/** Where a target's kept noise is stored in a checkpoint's target store (beside the target). */
const NOISE_PREFIX = "noise/";

/** Settings added after runs were made: left out of a run's identity at their default, so those runs resume. */
const LATER_SETTINGS: Partial<RunSettings> = { coupling: "ot", conditionWeight: 1e9 };

/** A cached target. */
export interface CachedTarget {
  /** States [frames, width]. */
  readonly states: Float32Array;
  /** The step it was made at. */
  readonly step: number;
  /** The noise [frames, width] it was inverted from, when the recipe keeps it. */
  readonly noise?: Float32Array;
}

/** A sentence of the run: text, language, id. */
export interface RunSentence {
  /** Stable id (targets are cached under it). */
  readonly id: string;
  /** The sentence. */
  readonly text: string;
  /** Its Whisper language code. */
  readonly lang: string;
  /** Frames it takes (from lib/length, 50 per second). */
  readonly frames: number;
}

/** One step's record (also a line of metrics.jsonl). */
export interface StepMetrics {
  /** Optimizer steps taken, this one included. */
  readonly step: number;
  /** The step's training loss. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Learning rate used. */
  readonly lr: number;
  /** Frames x batch of the step's padded shape. */
  readonly shape: string;
  /** Mean final decoder cross-entropy of targets made this step (inversion, distill). */
  readonly targetCe?: number;
  /** Wall time of the step, targets included. */
  readonly ms: number;
}

/** The evolving state of a run. */
export interface RunState {
  /** Parameters, AdamW moments and step. */
  readonly train: TrainState;
  /** Exponential moving average of the parameters (used for sampling). */
  readonly ema: ParamStore;
  /** The run's generator; each step forks it by step number. */
  readonly rng: Rng;
  /** This epoch's batches (sentence ids) and the next one to take. */
  readonly order: string[][];
  /** Index of the next batch in `order`. */
  readonly cursor: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Cached targets [frames, width], the step each was made at, and ("paired") its noise. */
  readonly targets: Map<string, CachedTarget>;
}

/** Everything fixed for a run. */
export interface RunContext {
  /** The run's settings. */
  readonly settings: RunSettings;
  /** The network's shape. */
  readonly config: T2SConfig;
  /** The frozen Whisper that scores the states. */
  readonly whisper: WhisperModel;
  /** How the Whisper model was named (recorded in checkpoints). */
  readonly whisperName: string;
  /** Its tokenizer. */
  readonly tokenizer: WhisperTokenizer;
  /** Training sentences by id. */
  readonly sentences: ReadonlyMap<string, Prepared>;
  /** ONNX Runtime threads. */
  readonly threads?: number;
  /** Execution provider. */
  readonly provider?: Provider;
  /** Where the sentences came from and the held-out fraction kept out (for eval's defaults). */
  readonly data?: { readonly path: string; readonly heldOut: number };
  /**
   * "anchored": each sentence's prior states [frames, width] by id (its frame count is the
   * sentence's), and the per-channel statistics the flow model is normalised with.
   */
  readonly prior?: {
    readonly states: ReadonlyMap<string, Float32Array>;
    readonly stats: ChannelStats;
  };
  /**
   * Where the run's targets go as they are made, and where targets that do not depend on the
   * model are looked up before making them (a store shared by runs with the same
   * {@link targetIdentity}). Without one, targets stay in memory until {@link saveRun} appends
   * them to the store beside the checkpoint, `<checkpoint's folder>/targets`.
   */
  readonly store?: TargetStore;
}

/**
 * Prepares sentences (decoder sequences; at least one frame per UTF-8 byte); errors name the
 * sentence.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { WhisperTokenizer } from "../whisper/tokenizer.ts";
 * import { tinyTokenizerJson } from "../whisper/tiny_tokenizer.ts";
 * import { prepareSentences } from "./training.ts";
 * const tokenizer = WhisperTokenizer.fromJson(tinyTokenizerJson());
 * if (E.isLeft(tokenizer)) throw new Error(tokenizer.left.message);
 * const ok = prepareSentences([{ id: "a", text: "Hi.", lang: "en", frames: 1 }], { tokenizer: tokenizer.right });
 * assert.ok(E.isRight(ok) && ok.right.get("a")?.frames === 3); // raised to the 3 bytes
 * const bad = prepareSentences([{ id: "b", text: "Hi.", lang: "xx", frames: 50 }], { tokenizer: tokenizer.right });
 * assert.ok(E.isLeft(bad) && bad.left.message.includes("sentence b"));
 * ```
 */
export function prepareSentences(
  sentences: readonly RunSentence[],
  options: { tokenizer: WhisperTokenizer },
): Either<{ message: string }, Map<string, Prepared>> {
  const out = new Map<string, Prepared>();
  for (const s of sentences) {
    const seq = decoderSequence(s.text, { tokenizer: options.tokenizer, language: s.lang });
    if (E.isLeft(seq)) return E.left({ message: `sentence ${s.id}: ${seq.left.message}` });
    // The byte input needs a frame per byte; dense scripts can estimate fewer frames.
    const frames = Math.max(s.frames, new TextEncoder().encode(s.text.normalize("NFC")).length);
    out.set(s.id, { ...s, frames, sequence: seq.right });
  }
  return E.right(out);
}

/**
 * Learning rate at a step: linear warmup, then cosine from lr to lr / 10.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { learningRate, RUN_DEFAULTS } from "./training.ts";
 * const s = { ...RUN_DEFAULTS, lr: 1, warmup: 10, steps: 110 };
 * assert.equal(learningRate(5, s), 0.5);
 * assert.equal(learningRate(10, s), 1);
 * assert.ok(Math.abs(learningRate(110, s) - 0.1) < 1e-12);
 * ```
 */
export function learningRate(step: number, settings: RunSettings): number {
  const { lr, warmup, steps } = settings;
  if (step <= warmup) return (lr * step) / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, steps - warmup);
  return lr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/**
 * EMA decay after the update that makes `step` (counting from 1): min(emaDecay, (1 + step) /
 * (10 + step)). The warmup (as in timm and diffusers) lets the average follow the weights
 * closely early on, so a short run's EMA is not mostly its random initialisation.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { emaDecay, RUN_DEFAULTS } from "./training.ts";
 * assert.equal(emaDecay(1, RUN_DEFAULTS), 2 / 11);
 * assert.equal(emaDecay(100_000, RUN_DEFAULTS), RUN_DEFAULTS.emaDecay);
 * ```
 */
export function emaDecay(step: number, settings: RunSettings): number {
  return Math.min(settings.emaDecay, (1 + step) / (10 + step));
}

/** Batches of one epoch (sentence ids), bucketed by length and shuffled with the run's rng. */
function epochOrder(context: RunContext, rng: Rng): string[][] {
  const items = [...context.sentences.values()];
  return lengthBatches(items, { batchSize: context.settings.batch, rng }).batches
    .map((batch) => batch.map((s) => s.id));
}

/**
 * A fresh run: initial parameters, zero moments, the first epoch's order.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initRun, prepareSentences, RUN_DEFAULTS } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: { ...RUN_DEFAULTS, batch: 1, invertSteps: 1 }, config: config.right,
 *   whisper, whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const state = initRun(context);
 * assert.equal(state.train.step, 0);
 * assert.deepEqual(state.order, [["a"]]);
 * ```
 */
export function initRun(context: RunContext): RunState {
  const rng = createRng(context.settings.seed);
  const params = initParams(t2sParamDefs(context.config), { rng: forkRng(rng, 1) });
  return {
    train: { params, m: zerosLike(params), v: zerosLike(params), step: 0 },
    ema: params,
    rng,
    order: epochOrder(context, rng),
    cursor: 0,
    epoch: 0,
    targets: new Map(),
  };
}

const noise = (n: number, rng: Rng) => fillNormal(new Float32Array(n), rng);

/** Sessions and compiled steps of a run, reused across steps. */
export interface RunSessions {
  /** Compiled train steps by batch shape. */
  readonly trainers: OpenCache<Trainer>;
  /** Velocity-network sessions by batch shape (for sampling targets). */
  readonly velocity: VelocitySessions;
}

async function trainerFor(
  context: RunContext,
  sessions: RunSessions,
  batch: Batch,
): Promise<Either<RunError, Trainer>> {
  const silence = await runSilence(context);
  if (E.isLeft(silence)) return silence;
  const silenceCross = silence.right && recipeSpec(context.settings.recipe).inputs.decoder
    ? await silenceCrossCache(context.whisper, silence.right)()
    : E.right(undefined);
  if (E.isLeft(silenceCross)) return E.left(runError(silenceCross.left));
  const s = context.settings,
    key = `${batch.shape.batch}x${batch.shape.frames}x${batch.shape.tokens}`;
  const step = runTrainStep(s, {
    config: context.config,
    whisper: context.whisper,
    shape: batch.shape,
    silence: silence.right,
    silenceCross: silenceCross.right,
    norm: context.prior?.stats,
  });
  const trainer = await cachedOpen(sessions.trainers, key, () =>
    openTrainer(step.spec, {
      ...step.options,
      threads: context.threads,
      provider: context.provider,
    }))();
  return E.mapLeft(runError)(trainer);
}

/** What {@link runTrainStep} builds a run's train step from, besides its settings. */
export interface RunStepParts {
  /** The CFM network. */
  readonly config: T2SConfig;
  /** The frozen Whisper (only its config when the recipe has no decoder term). */
  readonly whisper: WhisperCheckpoint;
  /** The batch shape the step is compiled for. */
  readonly shape: BatchShape;
  /** Silence states of the "silence" decoder interface (absent: a key mask). */
  readonly silence?: Float32Array;
  /** Their cross-attention keys and values (`silenceCrossCache`). */
  readonly silenceCross?: Readonly<Record<string, Float32Array>>;
  /** The prior's per-channel statistics (used when the recipe's flow is normalised). */
  readonly norm?: ChannelStats;
}

/**
 * The train step a run compiles for one batch shape: the recipe's objective and the step's
 * options (gradient clip, in-graph EMA). `deno task bench:t2s` times this same step.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { buildTrainStep } from "../graph/train.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { t2sConfig } from "./config.ts";
 * import { RUN_DEFAULTS, runTrainStep } from "./training.ts";
 * const whisper = tinyRandomWhisper();
 * const config = t2sConfig("tiny", { width: whisper.config.dModel });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const shape = { batch: 2, frames: 10, tokens: 6 };
 * const step = runTrainStep({ ...RUN_DEFAULTS, recipe: "bridge" }, { config: config.right, whisper, shape });
 * assert.deepEqual(Object.keys(step.spec.batch), ["x0", "x1", "t", "text", "mask"]);
 * assert.ok(step.options.ema && step.options.maxGradNorm === RUN_DEFAULTS.maxGradNorm);
 * const g = buildTrainStep(step.spec, step.options);
 * assert.ok(g.inputs.some((v) => g.serialName(v) === "ema_decay"));
 * ```
 */
export function runTrainStep(
  settings: RunSettings,
  parts: RunStepParts,
): { spec: TrainSpec; options: TrainStepOptions } {
  const s = settings;
  return {
    spec: objective({
      recipe: s.recipe,
      config: parts.config,
      whisper: parts.whisper,
      shape: parts.shape,
      lambda: s.lambda,
      unrollSteps: s.unrollSteps,
      silence: parts.silence,
      silenceCross: parts.silenceCross,
      norm: recipeSpec(s.recipe).targets?.normalised ? parts.norm : undefined,
    }),
    options: { maxGradNorm: s.maxGradNorm, ema: true },
  };
}

/**
 * Makes (or remakes) the targets of the batch's stale sentences (the inversion runs on the
 * whole batch shape, but only stale rows are stored); returns the final decoder cross-entropy
 * and the ids made. Targets that do not depend on the model are first looked up in the run's
 * store; the random draws are the same whether they are found or made, so a run that finds the
 * targets it made before a kill goes on as the uninterrupted run.
 * `batch` must carry every row's text: targets are never made from a guidance-dropped row.
 */
async function refreshTargets(
  context: RunContext,
  sessions: RunSessions,
  options: { state: RunState; batch: Batch; rng: Rng },
): Promise<Either<RunError, { ce?: number; made: string[] }>> {
  const { state, batch, rng } = options, s = context.settings, w = context.config.width;
  const plan = recipeSpec(s.recipe).targets;
  if (!plan) return E.right({ made: [] });
  const stale = batch.items.map((item) => {
    const t = state.targets.get(item.id);
    return !t || (plan.refresh && state.train.step - t.step >= s.refreshEvery);
  });
  if (!stale.includes(true)) return E.right({ made: [] });
  const { batch: b, frames: f } = batch.shape;
  let start = maskFrames(noise(b * f * w, rng), { mask: batch.mask, width: w });
  let needed = stale;
  if (context.store && !plan.refresh) {
    const keys = batch.items.map((item) => targetKey(context, item.id));
    const found = await readTargets(context.store, keys.filter((_, row) => stale[row]))();
    if (E.isLeft(found)) return E.left(runError(found.left));
    needed = stale.map((isStale, row) => {
      const t = isStale ? found.right.get(keys[row]) : undefined;
      if (t) state.targets.set(batch.items[row].id, { ...t, step: state.train.step });
      return isStale && !t;
    });
    if (!needed.includes(true)) return E.right({ made: [] });
  }
  const made = batch.items.flatMap((item, row) => (needed[row] ? [item.id] : []));
  let pull;
  if (plan.start === "prior") {
    if (!context.prior) return fail(`recipe "${s.recipe}" needs the prior states (context.prior)`);
    start = new Float32Array(b * f * w);
    for (const [row, item] of batch.items.entries()) {
      const p = context.prior.states.get(item.id);
      if (!p || p.length !== item.frames * w) {
        return fail(`sentence ${item.id}: no prior states of ${item.frames} frames`);
      }
      start.set(p, row * f * w);
    }
    if (plan.pull) pull = { anchor: start, weight: s.pullWeight, std: context.prior.stats.std };
  }
  if (!plan.invert) {
    batch.items.forEach((item, row) => {
      if (!needed[row]) return;
      const states = start.slice(row * f * w, (row * f + item.frames) * w);
      state.targets.set(item.id, { states, step: state.train.step });
    });
    return E.right({ made });
  }
  if (plan.start === "samples" && state.train.step > 0) {
    const session = await velocitySession(context.config, {
      shape: batch.shape,
      sessions: sessions.velocity,
      sessionOptions: { threads: context.threads, provider: context.provider },
    })();
    if (E.isLeft(session)) return E.left(runError(session.left));
    const sampled = await sampleStates(session.right, {
      batch,
      params: state.ema,
      x0: start,
      steps: s.targetNfe,
    })();
    if (E.isLeft(sampled)) return E.left(runError(sampled.left));
    start = sampled.right;
  }
  const silence = await runSilence(context);
  if (E.isLeft(silence)) return silence;
  const result = await invertStates(context.whisper, start, {
    batch,
    steps: s.invertSteps,
    lr: s.invertLr,
    silence: silence.right,
    pull,
    vocab: s.invertVocab,
  })();
  if (E.isLeft(result)) return E.left(runError(result.left));
  const inverted = result.right;
  batch.items.forEach((item, row) => {
    if (!needed[row]) return;
    const rows = [row * f * w, (row * f + item.frames) * w] as const;
    const noise = plan.keepNoise ? start.slice(...rows) : undefined;
    state.targets.set(item.id, {
      states: inverted.states.slice(...rows),
      step: state.train.step,
      noise,
    });
  });
  return E.right({ ce: inverted.losses[inverted.losses.length - 1], made });
}

/** The targets of `ids` in `state`, as the store takes them. */
const newTargets = (context: RunContext, state: RunState, ids: readonly string[]): NewTarget[] =>
  ids.map((id) => {
    const t = state.targets.get(id)!;
    return { id, key: targetKey(context, id), step: t.step, states: t.states, noise: t.noise };
  });

/**
 * Takes one optimizer step (making targets first when the recipe needs them): the new state and
 * its metrics, or a {@link RunError} naming what failed.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initRun, prepareSentences, RUN_DEFAULTS, trainStep } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: { ...RUN_DEFAULTS, batch: 1, invertSteps: 1 }, config: config.right,
 *   whisper, whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const sessions = { trainers: new Map(), velocity: new Map() };
 * const step = await trainStep(context, sessions, initRun(context))();
 * if (step._tag === "Left") throw new Error(step.left.message);
 * const { state, metrics } = step.right;
 * assert.equal(state.train.step, 1);
 * assert.ok(Number.isFinite(metrics.loss) && state.targets.has("a"));
 * ```
 */
export function trainStep(
  context: RunContext,
  sessions: RunSessions,
  state: RunState,
): TaskEither<RunError, { state: RunState; metrics: StepMetrics }> {
  return () => takeStep(context, sessions, state);
}

async function takeStep(
  context: RunContext,
  sessions: RunSessions,
  state: RunState,
): Promise<Either<RunError, { state: RunState; metrics: StepMetrics }>> {
  const started = performance.now();
  const s = context.settings, w = context.config.width;
  let { order, cursor, epoch } = state;
  if (cursor >= order.length) {
    order = epochOrder(context, state.rng);
    cursor = 0;
    epoch += 1;
  }
  const items = order[cursor].map((id) => context.sentences.get(id)!);
  const rng = forkRng(state.rng, state.train.step);
  const dropText = items.map(() => rng.nextFloat() < s.cfgDrop);
  const shape = shapeFor(items, { batch: s.batch });
  // Guidance-dropped rows train without their text (and unscored by the decoder); their
  // targets are still made from the text, in an undropped copy of the batch.
  const assembled = assembleBatch(items, { shape, dropText });
  if (E.isLeft(assembled)) return E.left(runError(assembled.left));
  const batch = assembled.right;
  const { batch: b, frames: f } = shape;
  const next: RunState = { ...state, order, cursor: cursor + 1, epoch };
  let targetCe: number | undefined, made: string[] = [];
  const feeds: Record<string, Float32Array | BigInt64Array> = {
    text: batch.text,
    mask: batch.mask,
  };
  const spec = recipeSpec(s.recipe);
  if (spec.inputs.decoder) {
    Object.assign(feeds, { tokens: batch.tokens, targets: batch.targets, tmask: batch.tmask });
  }
  const masked = { mask: batch.mask, width: w };
  if (!spec.inputs.pair) {
    feeds.x0 = maskFrames(noise(b * f * w, rng), masked);
  } else {
    const full = assembleBatch(items, { shape });
    if (E.isLeft(full)) return E.left(runError(full.left));
    const refreshed = await refreshTargets(context, sessions, {
      state: next,
      batch: full.right,
      rng,
    });
    if (E.isLeft(refreshed)) return refreshed;
    targetCe = refreshed.right.ce;
    made = refreshed.right.made;
    const x1 = new Float32Array(b * f * w);
    const stats = spec.targets?.normalised ? context.prior?.stats : undefined;
    items.forEach((item, row) => {
      const target = next.targets.get(item.id)!.states;
      x1.set(stats ? normalizeStates(target, stats) : target, row * f * w);
    });
    // Pair full-length noise, then cut it to each target's frames.
    const fresh = noise(b * f * w, rng);
    if (spec.targets?.keepNoise) {
      items.forEach((item, row) => fresh.set(next.targets.get(item.id)!.noise!, row * f * w));
    }
    if (spec.targets?.source === "prior") {
      // A bridge starts at each sentence's own prior states: no noise to pair. (The noise above
      // is still drawn, so the random stream, and with it resumed runs, stay as they were.)
      const x0 = new Float32Array(b * f * w);
      for (const [row, item] of items.entries()) {
        const p = context.prior?.states.get(item.id);
        if (!p || !stats) return fail(`sentence ${item.id}: no prior states to start from`);
        x0.set(normalizeStates(p, stats), row * f * w);
      }
      feeds.x0 = x0;
    } else {
      const paired = pairNoise(fresh, x1, {
        // A recipe that keeps each target's noise brings its own coupling.
        coupling: spec.targets?.keepNoise ? "independent" : s.coupling,
        conditionWeight: s.conditionWeight,
        frames: f,
        width: w,
        ids: items.map((i) => i.id),
        lengths: items.map((i) => i.frames),
      });
      if (E.isLeft(paired)) return E.left(runError(paired.left));
      feeds.x0 = maskFrames(paired.right, masked);
    }
    feeds.x1 = x1;
    feeds.t = uniformTimes(b, { rng });
  }
  const trainer = await trainerFor(context, sessions, batch);
  if (E.isLeft(trainer)) return trainer;
  const lr = (step: number) => learningRate(step, s);
  const called = await trainCall(trainer.right, { ...next.train, ema: next.ema }, {
    batch: feeds,
    lr,
    emaDecay: (step) => emaDecay(step, s),
  })();
  if (E.isLeft(called)) return E.left(runError(called.left));
  const result = called.right;
  if (context.store && made.length > 0) {
    // Written once the step has succeeded (a failed step leaves them to the next save).
    const appended = await appendTargets(context.store, newTargets(context, next, made), {
      width: w,
    })();
    if (E.isLeft(appended)) return E.left(runError(appended.left));
  }
  const { ema, ...train } = result.state;
  return E.right({
    state: { ...next, train, ema: ema! },
    metrics: {
      step: train.step,
      loss: result.losses[0],
      gradNorm: result.gradNorms[0],
      lr: lr(train.step),
      shape: `${b}x${f}x${batch.shape.tokens}`,
      targetCe,
      ms: Math.round(performance.now() - started),
    },
  });
}

/**
 * Metadata that must match for a checkpoint to resume this run.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { prepareSentences, RUN_DEFAULTS, runIdentity } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: { ...RUN_DEFAULTS, batch: 1, invertSteps: 1 }, config: config.right,
 *   whisper, whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * assert.ok(runIdentity(context).includes("tiny-random"));
 * assert.notEqual(runIdentity(context), runIdentity({ ...context, whisperName: "other" }));
 * ```
 */
export function runIdentity(context: RunContext): string {
  return JSON.stringify({
    settings: Object.fromEntries(
      Object.entries(context.settings).filter(([k, v]) =>
        !(k in LATER_SETTINGS) || LATER_SETTINGS[k as keyof RunSettings] !== v
      ),
    ),
    config: context.config,
    whisper: context.whisperName,
    // The data itself, not just its size: ids, texts and frame counts, hashed.
    sentences: context.sentences.size,
    data: hashText(
      [...context.sentences.values()].map((p) => `${p.id}\t${p.text}\t${p.frames}`).sort().join(
        "\n",
      ),
      { seed: 0 },
    ),
  });
}

/** Settings a resumed run may change: more steps extend a run (the schedule stretches). */
export const RESUMABLE_SETTINGS: readonly (keyof RunSettings)[] = ["steps"];

/**
 * What differs between a checkpoint's run identity and this run's, as "name: old → new" lines
 * (settings a resume may change left out); empty when the run may resume.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { identityDifferences } from "./training.ts";
 * const a = JSON.stringify({ settings: { lr: 0.001, steps: 100 }, whisper: "base" });
 * const b = JSON.stringify({ settings: { lr: 0.002, steps: 300 }, whisper: "base" });
 * assert.deepEqual(identityDifferences(a, b), ["lr: 0.001 → 0.002"]);
 * assert.deepEqual(identityDifferences(a, a), []);
 * ```
 */
export function identityDifferences(saved: string, current: string): string[] {
  let old: Record<string, unknown>, now: Record<string, unknown>;
  try {
    old = JSON.parse(saved);
    now = JSON.parse(current);
  } catch {
    return saved === current ? [] : ["the checkpoint's run record is not readable"];
  }
  const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));
  const out: string[] = [];
  const settingsOld = (old.settings ?? {}) as Record<string, unknown>;
  const settingsNow = (now.settings ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(settingsOld), ...Object.keys(settingsNow)])) {
    if ((RESUMABLE_SETTINGS as readonly string[]).includes(k)) continue;
    const a = show(settingsOld[k]), b = show(settingsNow[k]);
    if (a !== b) out.push(`${k}: ${a} → ${b}`);
  }
  for (const k of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (k === "settings") continue;
    const a = show(old[k]), b = show(now[k]);
    if (a !== b) out.push(`${k === "data" ? "data (sentences' text and frames)" : k}: ${a} → ${b}`);
  }
  return out;
}

const sha256 = (...parts: (string | Uint8Array)[]) => {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
};
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const startDigests = new WeakMap<Float32Array, string>();

/**
 * What a recipe's targets depend on among a run's settings: the plan (but not where the flow
 * starts, which the targets do not see), and the settings of the plan's parts.
 */
function targetSettings(settings: RunSettings): Record<string, unknown> {
  const plan = recipeSpec(settings.recipe).targets;
  if (!plan) return {};
  const { start, invert, refresh, normalised, pull, keepNoise } = plan;
  return {
    start,
    invert,
    refresh,
    normalised,
    pull,
    keepNoise,
    ...(invert
      ? {
        invertSteps: settings.invertSteps,
        invertLr: settings.invertLr,
        decoderInterface: settings.decoderInterface,
        // Absent for the full vocabulary, so stores made before the option keep their identity.
        ...(settings.invertVocab !== undefined ? { invertVocab: settings.invertVocab } : {}),
      }
      : {}),
    ...(pull ? { pullWeight: settings.pullWeight } : {}),
    // Noise comes from the run's seed; prior states are the same whatever it is.
    ...(start !== "prior" ? { seed: settings.seed } : {}),
    ...(refresh ? { refreshEvery: settings.refreshEvery, targetNfe: settings.targetNfe } : {}),
  };
}

/** A digest of per-channel statistics (what a pull toward the prior is measured in). */
const statsDigest = (stats: { mean: ArrayLike<number>; std: ArrayLike<number> } | undefined) =>
  stats
    ? sha256(bytesOf(Float32Array.from(stats.mean)), bytesOf(Float32Array.from(stats.std)))
    : "none";

/**
 * Everything a run's targets depend on but the sentences themselves: the Whisper model (a
 * digest of its weights), the recipe's target plan and the settings it uses (inversion steps
 * and learning rate, decoder interface, pull weight, and the channel statistics it is measured
 * in; the seed when targets start from noise). Not the loss or the optimiser: `bridge` and
 * `bridge-ce` with the same settings make the same targets, so they can share a store. Targets
 * remade from the model (`distill`) also depend on the run itself (all its identity but the
 * step count). Undefined for a recipe without targets.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { prepareSentences, RUN_DEFAULTS, targetIdentity } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: { ...RUN_DEFAULTS, recipe: "inversion" as const }, config: config.right,
 *   whisper, whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const identity = targetIdentity(context);
 * assert.equal(identity?.invertSteps, 20);
 * // The learning rate of the flow model is not a target setting; the seed of the noise is.
 * const lr = { ...context, settings: { ...context.settings, lr: 1 } };
 * assert.deepEqual(targetIdentity(lr), identity);
 * assert.notDeepEqual(targetIdentity({ ...context, settings: { ...context.settings, seed: 1 } }), identity);
 * // Targets inverted through a restricted vocabulary are never shared with full-vocabulary ones.
 * const restricted = targetIdentity({ ...context, settings: { ...context.settings, invertVocab: 2048 } });
 * assert.equal(restricted?.invertVocab, 2048);
 * assert.equal(identity?.invertVocab, undefined);
 * assert.equal(targetIdentity({ ...context, settings: { ...RUN_DEFAULTS, recipe: "unrolled" } }), undefined);
 * ```
 */
export function targetIdentity(context: RunContext): Record<string, unknown> | undefined {
  const plan = recipeSpec(context.settings.recipe).targets;
  if (!plan) return undefined;
  const run = () => {
    const identity = JSON.parse(runIdentity(context));
    for (const k of RESUMABLE_SETTINGS) delete identity.settings[k];
    return sha256(JSON.stringify(identity));
  };
  return {
    whisper: weightsDigest(context.whisper),
    ...targetSettings(context.settings),
    ...(plan.pull ? { norm: statsDigest(context.prior?.stats) } : {}),
    ...(plan.refresh ? { run: run() } : {}),
  };
}

/**
 * A target's key in a store: the sentence's id, language, text and frames, and for targets
 * that start at the prior, a digest of its prior states (so another prior makes new targets).
 */
function targetKey(context: RunContext, id: string): string {
  const s = context.sentences.get(id)!;
  let start = "";
  const prior = recipeSpec(context.settings.recipe).targets?.start === "prior"
    ? context.prior?.states.get(id)
    : undefined;
  if (prior) {
    start = startDigests.get(prior) ?? sha256(bytesOf(prior));
    startDigests.set(prior, start);
  }
  return sha256(JSON.stringify([s.id, s.lang, s.text, s.frames, start])).slice(0, 32);
}

/** How a checkpoint names its target store: the folder (relative to the checkpoint's inside it) and identity. */
interface StoreReference {
  /** The store's folder: relative to the checkpoint's folder when inside it, else absolute. */
  readonly store: string;
  /** The store's target identity. */
  readonly identity: Readonly<Record<string, unknown>>;
}

/** The folder `ref` names, for a checkpoint at `path`. */
const storeDir = (path: string, ref: StoreReference) =>
  isAbsolute(ref.store) ? ref.store : join(dirname(path), ref.store);

/** `dir` as a checkpoint at `path` names it. */
function storeName(path: string, dir: string): string {
  const rel = relative(resolve(dirname(path)), resolve(dir));
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? resolve(dir) : rel;
}

/** The run's store, or the default one beside the checkpoint at `path`. */
async function storeOf(
  path: string,
  context: RunContext,
  identity: Readonly<Record<string, unknown>>,
): Promise<Either<RunError, TargetStore>> {
  if (context.store) return E.right(context.store);
  const opened = await openTargetStore(join(dirname(path), "targets"), {
    identity,
    notes: { whisper: context.whisperName },
  })();
  return E.mapLeft(runError)(opened);
}

/**
 * Writes the run's checkpoint atomically; {@link loadRun} reads it back. Targets are not in
 * the checkpoint: those the run's store (`context.store`, else `<checkpoint's folder>/targets`)
 * lacks are appended to it first, and the checkpoint names the store, its identity, and the
 * step each target was made at. Targets remade from the model that the checkpoint no longer
 * names are then removed from the store.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initRun, loadRun, prepareSentences, RUN_DEFAULTS, saveRun } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: { ...RUN_DEFAULTS, batch: 1, invertSteps: 1 }, config: config.right,
 *   whisper, whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const dir = await Deno.makeTempDir(), path = `${dir}/ckpt.safetensors`;
 * const state = initRun(context);
 * state.targets.set("a", { states: new Float32Array(40 * 32), step: 0 });
 * const saved = await saveRun(path, { context, state })();
 * assert.ok(saved._tag === "Right");
 * const loaded = await loadRun(path, context)();
 * if (loaded._tag === "Left") throw new Error(loaded.left.message);
 * const back = loaded.right;
 * assert.deepEqual(back.train.params["in.w"].data, state.train.params["in.w"].data);
 * assert.deepEqual(back.rng.state(), state.rng.state());
 * assert.deepEqual(back.targets.get("a"), { states: new Float32Array(40 * 32), step: 0 });
 * assert.ok((await Deno.stat(`${dir}/targets/store.json`)).isFile); // the target went there
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function saveRun(
  path: string,
  run: { context: RunContext; state: RunState },
): TaskEither<RunError, void> {
  return async () => {
    const { context, state } = run;
    const plan = recipeSpec(context.settings.recipe).targets;
    const identity = targetIdentity(context);
    let store: TargetStore | undefined;
    if (plan && identity) {
      const opened = await storeOf(path, context, identity);
      if (E.isLeft(opened)) return opened;
      store = opened.right;
      // What the store lacks: targets of a run without a store, or of an old checkpoint.
      const ids = [...state.targets.keys()].sort();
      const keys = new Map(ids.map((id) => [targetKey(context, id), id]));
      const steps = plan.refresh
        ? new Map(ids.map((id) => [targetKey(context, id), state.targets.get(id)!.step]))
        : undefined;
      const held = await hasTargets(store, [...keys.keys()], { steps })();
      if (E.isLeft(held)) return E.left(runError(held.left));
      const missing = [...keys].flatMap(([key, id]) => held.right.has(key) ? [] : [id]);
      const appended = await appendTargets(store, newTargets(context, state, missing), {
        width: context.config.width,
      })();
      if (E.isLeft(appended)) return E.left(runError(appended.left));
    }
    const reference = store && { store: storeName(path, store.dir), identity: store.identity };
    const saved = await saveT2S(path, runCheckpoint(run, reference))();
    if (E.isLeft(saved)) return E.left(runError(saved.left));
    if (store && plan?.refresh) {
      // Only targets the checkpoint names are kept; the store is this run's alone.
      const kept = new Set(
        [...state.targets].map(([id, t]) => `${targetKey(context, id)}@${t.step}`),
      );
      const cleaned = await collectTargets(store, (r) => kept.has(`${r.key}@${r.step}`))();
      if (E.isLeft(cleaned)) return E.left(runError(cleaned.left));
    }
    return E.right(undefined);
  };
}

/** What {@link saveRun} writes: the run's weights, moments and metadata, and where its targets are. */
function runCheckpoint(
  run: { context: RunContext; state: RunState },
  reference: StoreReference | undefined,
): T2SCheckpoint {
  const { context, state } = run;
  const made: Record<string, number> = {};
  // Sorted, so the bytes do not depend on the order targets were made in (resume).
  for (const [id, t] of [...state.targets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    made[id] = t.step;
  }
  return {
    config: context.config,
    params: state.train.params,
    ema: state.ema,
    m: state.train.m,
    v: state.train.v,
    targets: {},
    metadata: {
      run: runIdentity(context),
      whisper: context.whisperName,
      step: String(state.train.step),
      rng: JSON.stringify(state.rng.state()),
      order: JSON.stringify(state.order),
      cursor: String(state.cursor),
      epoch: String(state.epoch),
      made: JSON.stringify(made),
      ...(reference ? { targets: JSON.stringify(reference) } : {}),
      data: JSON.stringify(context.data ?? null),
      // What sampling needs to read the model's states back: normalisation and interface.
      norm: JSON.stringify(
        context.prior
          ? { mean: [...context.prior.stats.mean], std: [...context.prior.stats.std] }
          : null,
      ),
      interface: context.settings.decoderInterface,
      // Where sampling starts: "prior" means every text is rendered and encoded first.
      source: recipeSpec(context.settings.recipe).targets?.source ?? "noise",
    },
  };
}

/** "key: was there, now here" for each differing entry of two identities. */
const identityLines = (
  was: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
) =>
  settingDifferences(was, now).map((d) =>
    `${d.key}: ${JSON.stringify(d.was) ?? "(unset)"} → ${JSON.stringify(d.now) ?? "(unset)"}`
  );

/**
 * Reads a run's checkpoint (see {@link saveRun}); it must come from a run with the same
 * settings, data and Whisper model, or it is a {@link RunError} saying so. Its targets come from
 * the store it names (`context.store` when given; an error names a store that lacks them), or,
 * from a checkpoint written before target stores, from the checkpoint itself: the next
 * {@link saveRun} moves them into the store.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadRun, prepareSentences, RUN_DEFAULTS } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: RUN_DEFAULTS, config: config.right, whisper,
 *   whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const missing = await loadRun("no/such/checkpoint.safetensors", context)();
 * assert.ok(missing._tag === "Left" && missing.left.message.includes("no/such/checkpoint"));
 * ```
 */
export function loadRun(path: string, context: RunContext): TaskEither<RunError, RunState> {
  return async () => {
    const loaded = await loadT2S(path)();
    if (E.isLeft(loaded)) return E.left(runError(loaded.left));
    const checkpoint = loaded.right, metadata = checkpoint.metadata;
    if (metadata.format === EXPORT_FORMAT) {
      return fail(
        `${path} is an exported model (weights only): training resumes from the run's checkpoint`,
      );
    }
    const differences = identityDifferences(metadata.run, runIdentity(context));
    if (differences.length > 0) {
      return fail(
        `checkpoint ${path} belongs to another run: ${differences.join("; ")}. Resume with the ` +
          `run's settings, data and Whisper model, or start afresh with --force`,
      );
    }
    const made: Record<string, number> = JSON.parse(metadata.made);
    const targets = metadata.targets === undefined
      ? E.right(embeddedTargets(checkpoint.targets, made))
      : await storedTargets(path, context, { made, reference: JSON.parse(metadata.targets) });
    if (E.isLeft(targets)) return targets;
    const { params, ema, m, v } = checkpoint;
    return E.right({
      train: { params, m, v, step: Number(metadata.step) },
      ema,
      rng: rngFromState(JSON.parse(metadata.rng)),
      order: JSON.parse(metadata.order),
      cursor: Number(metadata.cursor),
      epoch: Number(metadata.epoch),
      targets: targets.right,
    });
  };
}

/**
 * The targets a checkpoint's run made for `sentences` (by id; frames as the run prepared them),
 * for reading back beside the model: from inside the checkpoint (the format before target
 * stores) or from the target store it names. A store entry counts when its id and the step the
 * checkpoint records for it match; among several (a store shared by runs whose ids coincide),
 * the oldest with the sentence's frame count, else the oldest (a run raises a sentence's frames
 * to its byte count). Sentences the run made no target for are left out.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, openTargetStore } from "./target_store.ts";
 * import { checkpointTargets } from "./training.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await orThrow(openTargetStore(`${dir}/targets`, { identity: { v: 1 } }));
 * const states = new Float32Array([1, 2, 3, 4]);
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 0, states }], { width: 2 }));
 * const metadata = {
 *   made: JSON.stringify({ a: 0 }),
 *   targets: JSON.stringify({ store: "targets", identity: { v: 1 } }),
 * };
 * const got = await orThrow(checkpointTargets(`${dir}/checkpoint.safetensors`,
 *   { metadata, embedded: {}, sentences: [{ id: "a", frames: 2 }, { id: "b", frames: 3 }] }));
 * assert.deepEqual([...got.keys()], ["a"]);
 * assert.deepEqual(got.get("a"), states);
 * ```
 */
export function checkpointTargets(
  path: string,
  options: {
    metadata: Readonly<Record<string, string>>;
    embedded: T2SCheckpoint["targets"];
    sentences: readonly { readonly id: string; readonly frames: number }[];
  },
): TaskEither<RunError, Map<string, Float32Array>> {
  return async () => {
    const { metadata, embedded, sentences } = options;
    const out = new Map<string, Float32Array>();
    if (metadata.targets === undefined) {
      for (const s of sentences) {
        if (embedded[s.id]) out.set(s.id, embedded[s.id].data as Float32Array);
      }
      return E.right(out);
    }
    const made: Record<string, number> = JSON.parse(metadata.made ?? "{}");
    const reference: StoreReference = JSON.parse(metadata.targets);
    const store = await openTargetStore(storeDir(path, reference), {
      identity: reference.identity,
    })();
    if (E.isLeft(store)) return E.left(runError(store.left));
    const wanted = new Map(sentences.filter((s) => made[s.id] !== undefined).map((s) => [s.id, s]));
    const keys = new Map<string, { key: string; step: number; frames: number }>();
    for (const [key, records] of store.right.index.records) {
      for (const r of records) {
        const s = wanted.get(r.id), had = keys.get(r.id);
        if (!s || r.step !== made[r.id]) continue;
        if (!had || (had.frames !== s.frames && r.frames === s.frames)) {
          keys.set(r.id, { key, step: r.step, frames: r.frames });
        }
      }
    }
    const read = await readTargets(store.right, [...keys.values()].map((k) => k.key), {
      steps: new Map([...keys.values()].map((k) => [k.key, k.step])),
    })();
    if (E.isLeft(read)) return E.left(runError(read.left));
    for (const [id, { key }] of keys) {
      const t = read.right.get(key);
      if (t) out.set(id, t.states);
    }
    return E.right(out);
  };
}

/** Targets kept inside a checkpoint (the format before target stores). */
function embeddedTargets(
  targets: T2SCheckpoint["targets"],
  made: Record<string, number>,
): Map<string, CachedTarget> {
  const cache = new Map<string, CachedTarget>();
  for (const [id, t] of Object.entries(targets)) {
    if (id.startsWith(NOISE_PREFIX)) continue;
    const noise = targets[`${NOISE_PREFIX}${id}`]?.data;
    cache.set(id, { states: t.data, step: made[id] ?? 0, ...(noise ? { noise } : {}) });
  }
  return cache;
}

/** The targets a checkpoint names, from its store. */
async function storedTargets(
  path: string,
  context: RunContext,
  options: { made: Record<string, number>; reference: StoreReference },
): Promise<Either<RunError, Map<string, CachedTarget>>> {
  const { made, reference } = options;
  const identity = targetIdentity(context);
  if (!identity) return E.right(new Map());
  const changed = identityLines(reference.identity, identity);
  if (changed.length > 0) {
    return fail(
      `checkpoint ${path}'s targets were made with other settings (${changed.join("; ")}); ` +
        "resume with the run's settings and Whisper model, or start afresh with --force",
    );
  }
  const dir = context.store?.dir ?? storeDir(path, reference);
  const store = context.store
    ? E.right(context.store)
    : await openTargetStore(dir, { identity, notes: { whisper: context.whisperName } })();
  if (E.isLeft(store)) return E.left(runError(store.left));
  const ids = Object.keys(made);
  const keys = ids.map((id) => targetKey(context, id));
  const refresh = recipeSpec(context.settings.recipe).targets?.refresh;
  const steps = refresh ? new Map(ids.map((id, i) => [keys[i], made[id]])) : undefined;
  const read = await readTargets(store.right, keys, { steps })();
  if (E.isLeft(read)) return E.left(runError(read.left));
  const cache = new Map<string, CachedTarget>();
  const lacking: string[] = [];
  ids.forEach((id, i) => {
    const t = read.right.get(keys[i]);
    if (t) cache.set(id, { ...t, step: made[id] });
    else lacking.push(id);
  });
  if (lacking.length > 0) {
    return fail(
      `checkpoint ${path} needs ${lacking.length} targets that the target store ${dir} lacks ` +
        `(sentence ${lacking[0]}${lacking.length > 1 ? ", ..." : ""}): point --targets at the ` +
        "store the run used (its checkpoint names it), or start afresh with --force",
    );
  }
  return E.right(cache);
}

/**
 * Seeds the run's store (`context.store`) with the targets of an earlier run's checkpoint,
 * inside it (checkpoints written before target stores) or in its store, so a run with the same
 * targets skips making them: e.g. a `bridge-ce` run from a finished `bridge` run. The earlier
 * run must have had the same data, Whisper model and target settings ({@link targetIdentity}),
 * else the error names what differs; targets remade from the model (`distill`) seed nothing.
 * Returns the number of targets added (those the store lacked).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { prepareSentences, RUN_DEFAULTS, seedTargets } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const prepared = prepareSentences([{ id: "a", text: "Hi there.", lang: "en", frames: 40 }],
 *   { tokenizer: tokenizer.right });
 * if (prepared._tag === "Left") throw new Error(prepared.left.message);
 * const context = { settings: RUN_DEFAULTS, config: config.right, whisper,
 *   whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const remade = await seedTargets("runs/old/checkpoint.safetensors", context)();
 * assert.ok(remade._tag === "Left" && /remade from the model/.test(remade.left.message));
 * ```
 */
export function seedTargets(path: string, context: RunContext): TaskEither<RunError, number> {
  return async () => {
    const plan = recipeSpec(context.settings.recipe).targets;
    const identity = targetIdentity(context);
    if (!plan || !identity) return fail(`recipe "${context.settings.recipe}" makes no targets`);
    if (plan.refresh) {
      return fail(
        `recipe "${context.settings.recipe}" makes targets remade from the model: ` +
          `each run makes its own, so ${path} cannot seed them`,
      );
    }
    if (!context.store) return fail(`seeding targets from ${path} needs the run's store`);
    const loaded = await loadT2S(path)();
    if (E.isLeft(loaded)) return E.left(runError(loaded.left));
    const metadata = loaded.right.metadata;
    if (metadata.format === EXPORT_FORMAT) {
      return fail(
        `${path} is an exported model: it holds no targets; seed from a run's checkpoint`,
      );
    }
    let old: Record<string, unknown>;
    try {
      old = JSON.parse(metadata.run);
    } catch {
      return fail(`${path}: its run record is not readable`);
    }
    const now = JSON.parse(runIdentity(context));
    const oldSettings = { ...RUN_DEFAULTS, ...(old.settings as Partial<RunSettings>) };
    const was: Record<string, unknown> = {
      ...targetSettings(oldSettings),
      whisper: old.whisper,
      sentences: old.sentences,
      data: old.data,
    };
    const is: Record<string, unknown> = {
      ...targetSettings(context.settings),
      whisper: now.whisper,
      sentences: now.sentences,
      data: now.data,
    };
    if (plan.pull) {
      was.norm = statsDigest(JSON.parse(metadata.norm ?? "null") ?? undefined);
      is.norm = identity.norm;
    }
    if (metadata.targets !== undefined) {
      was.whisper = (JSON.parse(metadata.targets) as StoreReference).identity.whisper;
      is.whisper = identity.whisper;
    }
    const changed = identityLines(was, is);
    if (changed.length > 0) {
      return fail(
        `${path} made its targets for other data or with other settings ` +
          `(${changed.join("; ")}); seed from a run with the same data, Whisper model and ` +
          "target settings, or leave --targets-from out to make them",
      );
    }
    const made: Record<string, number> = JSON.parse(metadata.made);
    const targets = metadata.targets === undefined
      ? E.right(embeddedTargets(loaded.right.targets, made))
      : await storedTargets(path, { ...context, store: undefined }, {
        made,
        reference: JSON.parse(metadata.targets),
      });
    if (E.isLeft(targets)) return targets;
    const ids = [...targets.right.keys()].filter((id) => context.sentences.has(id)).sort();
    const keys = ids.map((id) => targetKey(context, id));
    const held = await hasTargets(context.store, keys)();
    if (E.isLeft(held)) return E.left(runError(held.left));
    const adding = ids.filter((_, i) => !held.right.has(keys[i]));
    const state = { targets: targets.right } as RunState;
    const appended = await appendTargets(context.store, newTargets(context, state, adding), {
      width: context.config.width,
    })();
    if (E.isLeft(appended)) return E.left(runError(appended.left));
    return E.right(adding.length);
  };
}
