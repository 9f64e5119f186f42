/**
 * Reading states back: greedy decoding of generated (or prior) encoder states of one language
 * through either decoder interface, with a token limit from the number of frames so that a
 * looping decode stops early and is counted as a loop, not scored as a 224-token sentence.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { SessionError } from "../graph/session.ts";
import { decode } from "./decode.ts";
import type { WhisperModel } from "./runtime.ts";
import { type DecoderInterface, silenceStates, withSilenceTail } from "./silence.ts";
import type { WhisperTokenizer } from "./tokenizer.ts";
import { suppression } from "./transcribe.ts";
import { deflateSync } from "node:zlib";

/** One read-back. */
export interface ReadBack {
  /** The decoded text. */
  readonly text: string;
  /** Text tokens decoded (at most {@link tokenLimit} of the frames). */
  readonly tokens: number;
  /** False when decoding hit the token limit without <|endoftext|> (a loop, usually). */
  readonly finished: boolean;
  /** The text's zlib compression ratio (see {@link compressionRatio}). */
  readonly compressionRatio: number;
  /** Whisper's loop guards: unfinished, or compression ratio above {@link COMPRESSION_RATIO_LIMIT}. */
  readonly looped: boolean;
}

/** Whisper's compression_ratio_threshold: a text that compresses better than this repeats itself. */
export const COMPRESSION_RATIO_LIMIT = 2.4;

/**
 * UTF-8 bytes over zlib-compressed bytes of `text`, as Whisper measures repetition (a fluent
 * sentence is near 1; "la la la ..." far above {@link COMPRESSION_RATIO_LIMIT}); 0 for "".
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { compressionRatio } from "./readback.ts";
 * assert.ok(compressionRatio("The quick brown fox jumps over the lazy dog.") < 2.4);
 * assert.ok(compressionRatio("de la rivière ".repeat(20)) > 2.4);
 * ```
 */
export function compressionRatio(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

/**
 * Most tokens a read-back may take for `frames` encoder frames: 10 per second of speech plus 8
 * (speech runs at 2-5 tokens per second), at most 224 as in Whisper.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tokenLimit } from "./readback.ts";
 * assert.equal(tokenLimit(100), 28);
 * assert.equal(tokenLimit(1500), 224);
 * ```
 */
export function tokenLimit(frames: number): number {
  return Math.min(224, Math.ceil((frames / 50) * 10) + 8);
}

/**
 * Greedy read-back of states ([frames, dModel] each, one language) through the chosen decoder
 * interface (default "silence": real frames then the encoder's silence up to 1500 frames).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { readBack } from "./readback.ts";
 * import { whisperModel } from "./runtime.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { modelTokenizer } from "./tokenizer.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(model);
 * if (tokenizer._tag === "Left") throw new Error(tokenizer.left.message);
 * const states = [new Float32Array(10 * 32), new Float32Array(20 * 32)];
 * const out = await orThrow(readBack(model, states, { tokenizer: tokenizer.right, lang: "en" }));
 * assert.equal(out.length, 2);
 * ```
 */
export function readBack(
  model: WhisperModel,
  states: readonly Float32Array[],
  options: { tokenizer: WhisperTokenizer; lang: string; interface?: DecoderInterface },
): TaskEither<SessionError, ReadBack[]> {
  return async () => {
    const { tokenizer, lang } = options, d = model.config.dModel;
    const fail = (message: string) => E.left<SessionError>({ _tag: "SessionError", message });
    if (states.length === 0) return E.right([]);
    const prefix = tokenizer.sotSequence({ language: lang, task: "transcribe", timestamps: false });
    if (E.isLeft(prefix)) return fail(prefix.left.message);
    const lengths = states.map((s) => s.length / d);
    // Shapes are bucketed (frames to 100s, token limits to 32s): every distinct shape opens
    // sessions holding a copy of the decoder, so unbucketed shapes exhaust memory on a corpus.
    const f = Math.min(1500, Math.ceil(Math.max(...lengths) / 100) * 100), b = states.length;
    const padded = new Float32Array(b * f * d), mask = new Float32Array(b * f);
    states.forEach((s, i) => {
      padded.set(s, i * f * d);
      mask.fill(1, i * f, i * f + lengths[i]);
    });
    let input: Float32Array = padded, statesMask: Float32Array | undefined = mask;
    if ((options.interface ?? "silence") === "silence") {
      const silence = await silenceStates(model)();
      if (E.isLeft(silence)) return silence;
      input = withSilenceTail(padded, { batch: b, silence: silence.right, width: d, mask });
      statesMask = undefined;
    }
    const decoded = await decode(model, input, {
      batch: b,
      prefix: prefix.right,
      eot: tokenizer.specials.eot,
      statesMask,
      maxTokens: Math.min(224, Math.ceil(tokenLimit(Math.max(...lengths)) / 32) * 32),
      ...suppression(tokenizer, { generationConfig: model.generationConfig }),
    })();
    if (E.isLeft(decoded)) return decoded;
    // Rows shorter than the longest share its limit; hold each to its own.
    return E.right(decoded.right.map((r, i) => {
      const limit = tokenLimit(lengths[i]), cut = r.tokens.slice(0, limit);
      const text = tokenizer.decode(cut, { skipSpecial: true }).trim();
      const finished = r.finished && r.tokens.length <= limit, ratio = compressionRatio(text);
      return {
        text,
        tokens: cut.length,
        finished,
        compressionRatio: ratio,
        looped: !finished || ratio > COMPRESSION_RATIO_LIMIT,
      };
    }));
  };
}
