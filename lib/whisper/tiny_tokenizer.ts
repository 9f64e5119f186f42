/**
 * A tiny byte-level BPE tokenizer.json with Whisper's special-token layout, for tiny random
 * Whisper models in tests: 256 byte tokens and a few merges instead of 50k, then the same
 * specials in the same order as Whisper's, so every id is Whisper's shifted down.
 * @module
 */
import { LANGUAGE_CODES } from "../text/languages.ts";

/** Options of {@link tinyTokenizerJson}. */
export interface TinyTokenizerOptions {
  /**
   * Multilingual layout (default true). English-only (false) has one merge fewer, so its ids
   * sit one below, as GPT-2's 50256 `<|endoftext|>` sits below the multilingual 50257.
   */
  readonly multilingual?: boolean;
  /** Add large-v3's 100th language, Cantonese (default false). */
  readonly cantonese?: boolean;
}

// Enough to exercise BPE ("Ġthe" needs three merges); English-only drops the last.
const MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s"];

/** Whisper's timestamp tokens <|0.00|> .. <|30.00|>, every 20 ms. */
const TIMESTAMPS = 1501;

/**
 * GPT-2's byte ↔ character table: printable Latin-1 bytes map to themselves, the others to
 * code points from U+0100 up, so that every token is visible text.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { byteToUnicode } from "./tiny_tokenizer.ts";
 * assert.equal(byteToUnicode()[0x20], "Ġ");
 * assert.equal(byteToUnicode()[0x41], "A");
 * ```
 */
export function byteToUnicode(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/** Whisper's specials in token order, after the BPE vocabulary. */
function specialTokens(cantonese: boolean): string[] {
  const languages = LANGUAGE_CODES.slice(0, cantonese ? 100 : 99).map((c) => `<|${c}|>`);
  const tasks = ["translate", "transcribe", "startoflm", "startofprev", "nospeech", "notimestamps"];
  const times = Array.from({ length: TIMESTAMPS }, (_, i) => `<|${(i * 0.02).toFixed(2)}|>`);
  return [
    "<|endoftext|>",
    "<|startoftranscript|>",
    ...languages,
    ...tasks.map((t) => `<|${t}|>`),
    ...times,
  ];
}

/**
 * The number of tokens of the tokenizer {@link tinyTokenizerJson} builds with `options` (the
 * vocab_size of a model using it): 256 bytes + merges + 2 + languages + 6 + 1501 timestamps.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tinyVocabSize } from "./tiny_tokenizer.ts";
 * assert.equal(tinyVocabSize(), 1872);
 * assert.equal(tinyVocabSize({ multilingual: false }), 1871);
 * assert.equal(tinyVocabSize({ cantonese: true }), 1873);
 * ```
 */
export function tinyVocabSize(options: TinyTokenizerOptions = {}): number {
  const merges = MERGES.length - (options.multilingual === false ? 1 : 0);
  return 256 + merges + specialTokens(options.cantonese ?? false).length;
}

/**
 * The text of a small tokenizer.json (loadable by @huggingface/tokenizers and by
 * `WhisperTokenizer`): byte-level BPE over GPT-2's byte table with a handful of merges, then
 * Whisper's special tokens in Whisper's order, `<|endoftext|>` first at 256 + merges.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tinyTokenizerJson, tinyVocabSize } from "./tiny_tokenizer.ts";
 * const json = JSON.parse(tinyTokenizerJson());
 * assert.equal(json.added_tokens[0].content, "<|endoftext|>");
 * assert.equal(json.added_tokens[0].id, 264);
 * assert.equal(json.added_tokens.at(-1).content, "<|30.00|>");
 * assert.equal(json.added_tokens.at(-1).id, tinyVocabSize() - 1);
 * ```
 */
export function tinyTokenizerJson(options: TinyTokenizerOptions = {}): string {
  const merges = MERGES.slice(0, MERGES.length - (options.multilingual === false ? 1 : 0));
  // GPT-2 numbers the byte tokens in the order of their characters (so "!" is 0, "Ġ" is 220).
  const bytes = byteToUnicode().sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = Object.fromEntries(
    [...bytes, ...merges.map((m) => m.replace(" ", ""))].map((t, i) => [t, i]),
  );
  const added = specialTokens(options.cantonese ?? false).map((content, i) => ({
    id: bytes.length + merges.length + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: null,
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  });
}
