/**
 * Text as the model and the decoder see it. The CFM network reads UTF-8 bytes, not Whisper
 * tokens: bytes need no tokenizer, cover every script with 256 symbols, and grow with the
 * spoken length roughly as characters do, which is what a filler-padded, frame-aligned text
 * input (F5-TTS) wants; Whisper's BPE tokens would tie the model to one vocabulary and make
 * rare scripts into long runs of byte fallbacks anyway. The decoder reads Whisper tokens:
 * prompt, " " + text, <|endoftext|>.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { WhisperTokenizer } from "../whisper/tokenizer.ts";
import { FILLER } from "./network.ts";

/** Why a text cannot be used; names the text and the fix. */
export interface TextError {
  /** Discriminant. */
  readonly _tag: "TextError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

const textError = (message: string): TextError => ({ _tag: "TextError", message });
const short = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * Byte ids (byte + 1) of `text`, padded with the filler to `frames`; an empty text, or one
 * with more bytes than frames, is an error.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { textIds } from "./text.ts";
 * const ids = textIds("hé", { frames: 5 });
 * assert.ok(ids._tag === "Right" && ids.right.join() === "105,196,170,0,0"); // h, é (2 bytes), filler
 * assert.ok(textIds("", { frames: 5 })._tag === "Left");
 * ```
 */
export function textIds(
  text: string,
  options: { frames: number },
): Either<TextError, Int32Array> {
  const bytes = new TextEncoder().encode(text.normalize("NFC"));
  if (bytes.length === 0 || text.trim() === "") {
    return E.left(textError("empty text: nothing to say"));
  }
  if (bytes.length > options.frames) {
    return E.left(textError(
      `'${short(text)}' has ${bytes.length} UTF-8 bytes but only ${options.frames} frames; ` +
        `a longer length estimate (or a shorter text) is needed`,
    ));
  }
  const ids = new Int32Array(options.frames).fill(FILLER);
  bytes.forEach((b, i) => (ids[i] = b + 1));
  return E.right(ids);
}

/** A teacher-forced decoder sequence: inputs, next-token targets, and which targets count. */
export interface DecoderSequence {
  /** Decoder input tokens (prompt, text). */
  readonly tokens: number[];
  /** Next tokens (text, <|endoftext|>). */
  readonly targets: number[];
  /** 1 where the target is text or <|endoftext|>, 0 on the prompt. */
  readonly mask: number[];
}

/**
 * The decoder sequence that reads `text` in `language` back: Whisper's prompt (start of
 * transcript, language, transcribe, no timestamps), " " + text, <|endoftext|>.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { WhisperTokenizer } from "../whisper/tokenizer.ts";
 * import { tinyTokenizerJson } from "../whisper/tiny_tokenizer.ts";
 * import { decoderSequence } from "./text.ts";
 * const tok = WhisperTokenizer.fromJson(tinyTokenizerJson());
 * if (E.isLeft(tok)) throw new Error(tok.left.message);
 * const seq = decoderSequence("hi", { tokenizer: tok.right, language: "en" });
 * if (seq._tag === "Left") throw new Error(seq.left.message);
 * assert.equal(seq.right.targets.at(-1), tok.right.specials.eot);
 * assert.deepEqual(seq.right.mask.slice(0, 3), [0, 0, 0]); // prompt positions are not scored
 * ```
 */
export function decoderSequence(
  text: string,
  options: { tokenizer: WhisperTokenizer; language: string; maxTokens?: number },
): Either<TextError, DecoderSequence> {
  const { tokenizer, language } = options;
  const prompt = tokenizer.sotSequence({ language, task: "transcribe", timestamps: false });
  if (E.isLeft(prompt)) return E.left(textError(prompt.left.message));
  const full = [...prompt.right, ...tokenizer.encode(` ${text.trim()}`), tokenizer.specials.eot];
  const limit = options.maxTokens ?? 224;
  if (full.length - 1 > limit) {
    return E.left(textError(
      `'${short(text)}' is ${full.length - 1} decoder tokens, over the limit of ${limit}; split it`,
    ));
  }
  const scored = prompt.right.length - 1;
  return E.right({
    tokens: full.slice(0, -1),
    targets: full.slice(1),
    mask: full.slice(1).map((_, i) => (i >= scored ? 1 : 0)),
  });
}
