/**
 * Speech to text with a loaded model: log-mel, encoder, language detection, decoding with
 * Whisper's suppression rules, detokenisation. Audio up to 30 s per item (one encoder
 * window); longer recordings must be split first.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { runSession, type Tensors } from "../graph/session.ts";
import { decode } from "./decode.ts";
import { whisperInput } from "./mel.ts";
import { STEP_NAMES } from "./model.ts";
import { crossCache, encode, stepSession, type WhisperModel } from "./runtime.ts";
import { languageCode } from "../text/languages.ts";
import { modelTokenizer, type WhisperTokenizer } from "./tokenizer.ts";

/** Why transcription failed; the message names the input or setting at fault. */
export interface TranscribeError {
  /** Discriminant. */
  readonly _tag: "TranscribeError";
  /** What went wrong and how to fix it. */
  readonly message: string;
}

const fail = (message: string): TranscribeError => ({ _tag: "TranscribeError", message });
const lift = <A>(e: Either<{ message: string }, A>) => F.pipe(e, E.mapLeft((l) => fail(l.message)));
const liftTE = <A>(t: TaskEither<{ message: string }, A>) =>
  F.pipe(t, TE.mapLeft((l) => fail(l.message)));

const numbers = (value: unknown): number[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === "number") ? value : undefined;

/**
 * Whisper's suppression rules without timestamps: never sample the non-speech symbols (from
 * generation_config.json's suppress_tokens when present), the task and prompt tokens, or any
 * timestamp; never start with a blank or <|endoftext|>.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { WhisperTokenizer } from "./tokenizer.ts";
 * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
 * import { suppression } from "./transcribe.ts";
 * const tok = WhisperTokenizer.fromJson(tinyTokenizerJson());
 * if (E.isLeft(tok)) throw new Error(tok.left.message);
 * const rules = suppression(tok.right);
 * assert.ok(rules.suppress.includes(tok.right.specials.transcribe));
 * assert.deepEqual(rules.suppressAtBegin, [tok.right.spaceToken, tok.right.specials.eot]);
 * ```
 */
export function suppression(
  tokenizer: WhisperTokenizer,
  options: { generationConfig?: Record<string, unknown> } = {},
): { suppress: number[]; suppressAtBegin: number[] } {
  const s = tokenizer.specials;
  const symbols = numbers(options.generationConfig?.suppress_tokens) ?? tokenizer.nonSpeechTokens();
  const timestamps = Array.from(
    { length: tokenizer.vocabSize - s.timestampBegin },
    (_, i) => s.timestampBegin + i,
  );
  const prompts = [s.transcribe, s.translate, s.sot, s.startofprev, s.startoflm, s.nospeech];
  return {
    suppress: [...new Set([...symbols, ...prompts, ...timestamps])],
    suppressAtBegin: numbers(options.generationConfig?.begin_suppress_tokens) ??
      [tokenizer.spaceToken, s.eot],
  };
}

/**
 * The most likely language of each row of encoder states [batch, frames, dModel]: one decoder
 * step after <|startoftranscript|>, a softmax over the language tokens only. English-only
 * models answer "en" with probability 1.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { encode, whisperModel } from "./runtime.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { modelTokenizer } from "./tokenizer.ts";
 * import { detectLanguage } from "./transcribe.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(model);
 * if (E.isLeft(tokenizer)) throw new Error(tokenizer.left.message);
 * const states = await orThrow(encode(model, new Float32Array(80 * 20), { batch: 1 }));
 * const found = await orThrow(detectLanguage(model, states, { batch: 1, tokenizer: tokenizer.right }));
 * assert.ok(tokenizer.right.languages.includes(found[0].language));
 * assert.ok(found[0].probability > 0 && found[0].probability <= 1);
 * ```
 */
export function detectLanguage(
  model: WhisperModel,
  states: Float32Array,
  options: { batch: number; tokenizer: WhisperTokenizer },
): TaskEither<TranscribeError, { language: string; probability: number }[]> {
  const { batch, tokenizer } = options, { config } = model;
  if (!tokenizer.multilingual) {
    return TE.right(Array.from({ length: batch }, () => ({ language: "en", probability: 1 })));
  }
  const frames = states.length / (batch * config.dModel);
  const heads = config.decoderHeads, dh = config.dModel / heads;
  return F.pipe(
    liftTE(stepSession(model, { batch, frames, capacity: 1 })),
    TE.bindTo("step"),
    TE.bind("cross", () => liftTE(crossCache(model, states, { batch, frames }))),
    TE.flatMap(({ step, cross }) => {
      const feeds: Tensors = {
        ...cross,
        [STEP_NAMES.token]: new BigInt64Array(batch).fill(BigInt(tokenizer.specials.sot)),
        [STEP_NAMES.position]: new BigInt64Array([0n]),
        [STEP_NAMES.reorder]: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i)),
        [STEP_NAMES.crossMask]: new Float32Array(batch * frames).fill(1),
      };
      for (let i = 0; i < config.decoderLayers; i++) {
        feeds[STEP_NAMES.selfKey(i)] = new Float32Array(batch * heads * dh);
        feeds[STEP_NAMES.selfValue(i)] = new Float32Array(batch * heads * dh);
      }
      return liftTE(runSession(step, feeds, { fetches: [STEP_NAMES.logits] }));
    }),
    TE.map((out) => {
      const logits = out[STEP_NAMES.logits] as Float32Array;
      const codes = tokenizer.languages;
      return Array.from({ length: batch }, (_, b) => {
        const row = codes.map((c) =>
          logits[b * config.vocabSize + tokenizer.specials.languages[c]]
        );
        const max = Math.max(...row);
        const weights = row.map((v) => Math.exp(v - max));
        const total = weights.reduce((a, v) => a + v, 0);
        const best = weights.indexOf(Math.max(...weights));
        return { language: codes[best], probability: weights[best] / total };
      });
    }),
  );
}

/** How to transcribe. */
export interface TranscribeOptions {
  /** A language code or name; default: detected per input (English for .en models). */
  readonly language?: string;
  /** "transcribe" (default) or "translate" (to English; multilingual models only). */
  readonly task?: "transcribe" | "translate";
  /** 1 (default) for greedy decoding; Whisper's CLI uses 5. */
  readonly beamSize?: number;
  /** Most tokens per input (default 224). */
  readonly maxTokens?: number;
  /** Called with each stage's wall time in milliseconds (for real-time factors). */
  readonly onTiming?: (stage: "features" | "encode" | "detect" | "decode", ms: number) => void;
}

/** One transcript. */
export interface Transcript {
  /** The decoded text, special tokens removed, trimmed. */
  readonly text: string;
  /** The language decoded in, and its detection probability (1 when given). */
  readonly language: string;
  /** Detection probability of `language` (1 when it was given). */
  readonly languageProbability: number;
  /** Sampled tokens. */
  readonly tokens: number[];
  /** Mean log-probability per sampled token. */
  readonly avgLogprob: number;
}

/**
 * Transcribes 16 kHz mono clips of at most 30 s each, batched through the encoder and the
 * decoder (clips are grouped by language for decoding).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { whisperModel } from "./runtime.ts";
 * import { transcribe } from "./transcribe.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tone = Float32Array.from({ length: 8000 }, (_, i) => Math.sin(i / 5));
 * const [out] = await orThrow(transcribe(model, [tone], { maxTokens: 3 }));
 * assert.ok(out.tokens.length <= 3 && typeof out.text === "string"); // a random model's words
 * ```
 */
export function transcribe(
  model: WhisperModel,
  clips: readonly Float32Array[],
  options: TranscribeOptions = {},
): TaskEither<TranscribeError, Transcript[]> {
  const { config } = model, batch = clips.length;
  const time =
    (stage: Parameters<NonNullable<TranscribeOptions["onTiming"]>>[0]) =>
    <A>(task: TaskEither<TranscribeError, A>): TaskEither<TranscribeError, A> =>
    async () => {
      const start = performance.now();
      const result = await task();
      options.onTiming?.(stage, performance.now() - start);
      return result;
    };
  if (batch === 0) return TE.right([]);
  return F.pipe(
    TE.fromEither(lift(modelTokenizer(model))),
    TE.bindTo("tokenizer"),
    TE.bind("language", ({ tokenizer }) =>
      TE.fromEither(
        options.language === undefined ? E.right(undefined) : F.pipe(
          // A name ("German") becomes its code ("de"), which transcripts then report.
          languageCode(options.language, { codes: tokenizer.languages }),
          E.chainFirstW((code) => tokenizer.sotSequence({ language: code, task: options.task })),
          lift,
        ),
      )),
    TE.bind(
      "mel",
      () => time("features")(() => Promise.resolve(melBatch(clips, { nMels: config.nMels }))),
    ),
    TE.bind("states", ({ mel }) => time("encode")(liftTE(encode(model, mel, { batch })))),
    TE.bind(
      "detected",
      ({ tokenizer, states, language }) =>
        language === undefined
          ? time("detect")(detectLanguage(model, states, { batch, tokenizer }))
          : TE.right(Array.from({ length: batch }, () => ({ language, probability: 1 }))),
    ),
    TE.flatMap(({ tokenizer, states, detected }) =>
      time("decode")(decodeByLanguage(model, states, { tokenizer, detected, options }))
    ),
  );
}

/** Log-mel inputs [clips, nMels, 3000] of every clip, or an error naming the clip. */
function melBatch(
  clips: readonly Float32Array[],
  options: { nMels: number },
): Either<TranscribeError, Float32Array> {
  const size = options.nMels * 3000;
  const mel = new Float32Array(clips.length * size);
  for (const [i, clip] of clips.entries()) {
    const input = whisperInput(clip, options);
    if (E.isLeft(input)) return E.left(fail(`clip ${i}: ${input.left.message}`));
    mel.set(input.right.data, i * size);
  }
  return E.right(mel);
}

function decodeByLanguage(
  model: WhisperModel,
  states: Float32Array,
  plan: {
    tokenizer: WhisperTokenizer;
    detected: { language: string; probability: number }[];
    options: TranscribeOptions;
  },
): TaskEither<TranscribeError, Transcript[]> {
  const { tokenizer, detected, options } = plan;
  const rowSize = states.length / detected.length;
  const languages = [...new Set(detected.map((d) => d.language))];
  const rules = suppression(tokenizer, { generationConfig: model.generationConfig });
  return async () => {
    const out: Transcript[] = Array(detected.length);
    for (const language of languages) {
      const rows = detected.flatMap((d, i) => (d.language === language ? [i] : []));
      const prefix = tokenizer.sotSequence({
        language,
        task: options.task ?? "transcribe",
        timestamps: false,
      });
      if (E.isLeft(prefix)) return E.left(fail(prefix.left.message));
      const group = new Float32Array(rows.length * rowSize);
      rows.forEach((r, j) =>
        group.set(states.subarray(r * rowSize, (r + 1) * rowSize), j * rowSize)
      );
      const decoded = await decode(model, group, {
        batch: rows.length,
        prefix: prefix.right,
        eot: tokenizer.specials.eot,
        beamSize: options.beamSize,
        maxTokens: options.maxTokens,
        ...rules,
      })();
      if (E.isLeft(decoded)) return E.left(fail(decoded.left.message));
      decoded.right.forEach((d, j) => {
        out[rows[j]] = {
          text: tokenizer.decode(d.tokens, { skipSpecial: true }).trim(),
          language,
          languageProbability: detected[rows[j]].probability,
          tokens: d.tokens,
          avgLogprob: d.avgLogprob,
        };
      });
    }
    return E.right(out);
  };
}
