/**
 * A training run's read-back probe: every N steps, sample a few training and held-out sentences
 * with the EMA weights and greedy-decode them with the frozen Whisper, so a run shows whether
 * its samples become readable while it trains (the loss alone does not say so).
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { ParamStore } from "../graph/params.ts";
import { charErrorRate } from "../whisper/normalize.ts";
import { generate } from "./generate.ts";
import { recipeSpec } from "./recipes/mod.ts";
import type { RunContext } from "./training.ts";
import type { VelocitySessions } from "./states.ts";

/** A probe sentence: text, language and the frames it is sampled with. */
export interface ProbeSentence {
  /** The sentence. */
  readonly text: string;
  /** Its Whisper language code. */
  readonly lang: string;
  /** Frames (50 per second). */
  readonly frames: number;
  /** Its prior states [frames, width], which a bridge samples from (Whisper space). */
  readonly start?: Float32Array;
}

/** One probe of one split (a line of probes.jsonl). */
export interface ProbeRecord {
  /** Optimizer steps taken when probed. */
  readonly step: number;
  /** "train" or "held-out". */
  readonly split: string;
  /** Corpus character error rate of the read-backs. */
  readonly cer: number;
  /** Fraction of read-backs that tripped the loop guards (token limit, compression ratio). */
  readonly loops: number;
  /** Each sentence's text and what the decoder read. */
  readonly samples: readonly { readonly text: string; readonly decoded: string }[];
}

/**
 * Samples `sentences` with `params` (seed 0, 16 Euler steps, the run's normalisation and
 * decoder interface) and scores the read-backs.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { initRun, prepareSentences, RUN_DEFAULTS } from "./training.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * import { probeReadBack } from "./probe.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper), config = t2sConfig("tiny", { width: 32 });
 * if (E.isLeft(tokenizer) || E.isLeft(config)) throw new Error("setup");
 * const one = [{ id: "a", text: "Hi there.", lang: "en", frames: 40 }];
 * const prepared = prepareSentences(one, { tokenizer: tokenizer.right });
 * if (E.isLeft(prepared)) throw new Error(prepared.left.message);
 * const context = { settings: RUN_DEFAULTS, config: config.right, whisper,
 *   whisperName: "tiny-random", tokenizer: tokenizer.right, sentences: prepared.right };
 * const probe = await probeReadBack(context, initRun(context).ema,
 *   { step: 0, split: "train", sentences: one, nfe: 2 });
 * assert.ok(E.isRight(probe) && probe.right.samples.length === 1 && probe.right.cer >= 0);
 * ```
 */
export async function probeReadBack(
  context: RunContext,
  params: ParamStore,
  options: {
    step: number;
    split: string;
    sentences: readonly ProbeSentence[];
    nfe?: number;
    sessions?: VelocitySessions;
  },
): Promise<Either<{ message: string }, ProbeRecord>> {
  const { settings } = context;
  const normalised = recipeSpec(settings.recipe).targets?.normalised ?? false;
  const fromPrior = recipeSpec(settings.recipe).targets?.source === "prior";
  const missing = options.sentences.findIndex((x) => !x.start);
  if (fromPrior && missing >= 0) {
    return E.left({ message: `probe sentence ${missing + 1} has no prior states to start from` });
  }
  const out = await generate(options.sentences, {
    starts: fromPrior ? options.sentences.map((x) => x.start!) : undefined,
    config: context.config,
    params,
    whisper: context.whisper,
    tokenizer: context.tokenizer,
    seed: 0,
    steps: options.nfe ?? 16,
    norm: normalised ? context.prior?.stats : undefined,
    decoderInterface: settings.decoderInterface,
    sessionOptions: { threads: context.threads },
    sessions: options.sessions,
  });
  if (E.isLeft(out)) return out;
  const got = out.right;
  return E.right({
    step: options.step,
    split: options.split,
    cer: charErrorRate(got.map((g) => g.text), got.map((g) => g.decoded)),
    loops: got.filter((g) => g.looped).length / Math.max(1, got.length),
    samples: got.map((g) => ({ text: g.text, decoded: g.decoded })),
  });
}
