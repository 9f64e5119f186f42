/**
 * Scoring transcripts: a language-neutral text normaliser (in the spirit of Whisper's basic
 * normaliser) and corpus-level word and character error rates.
 *
 * WER counts words split on whitespace, so it is only meaningful for languages that put spaces
 * between words; for Chinese, Japanese, Thai, Lao, Khmer, Burmese, Tibetan and the like, where a
 * sentence is one "word", use CER.
 * @module
 */
import { levenshtein } from "../text/edit_distance.ts";

/** Options of {@link normalizeText} and the error rates. */
export interface NormalizeOptions {
  /** Also drop diacritics ("é" → "e"); default false, since they tell words apart. */
  readonly stripDiacritics?: boolean;
}

// Asides a transcript writes for non-speech: "[music]", "<noise>", "(laughs)", "（笑）".
const ASIDES = /\[[^\]]*\]|<[^>]*>|\([^)]*\)|（[^）]*）/gu;
// Punctuation and symbols; a point or comma inside a number ("3.5", "1,000") is kept.
const SYMBOLS = /(?<=(\p{Nd})?)[\p{P}\p{S}](?=(\p{Nd})?)/gu;
const unlessInNumber = (c: string, before?: string, after?: string) =>
  before && after && (c === "." || c === ",") ? c : " ";

/**
 * Normalises `text` for scoring: NFKC, lower case, bracketed and parenthesised asides removed,
 * punctuation and symbols (Unicode categories P and S) turned into spaces, whitespace
 * collapsed. Numbers stay as written (no "twenty" → "20"), and combining marks stay, so
 * Devanagari or Thai words are not split. `stripDiacritics` also removes accents.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { normalizeText } from "./normalize.ts";
 * assert.equal(normalizeText("Hello, World! [Music] (laughs)"), "hello world");
 * assert.equal(normalizeText("It costs $3.50, twenty"), "it costs 3.50 twenty");
 * assert.equal(normalizeText("Ça va?", { stripDiacritics: true }), "ca va");
 * ```
 */
export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  let out = text.normalize("NFKC").toLowerCase().replace(ASIDES, " ");
  if (options.stripDiacritics) out = out.normalize("NFKD").replace(/\p{Mn}/gu, "").normalize("NFC");
  return out.replace(SYMBOLS, unlessInNumber).replace(/\s+/gu, " ").trim();
}

/** Options of the error rates. */
export interface ErrorRateOptions extends NormalizeOptions {
  /** Apply {@link normalizeText} to both sides first (default true). */
  readonly normalize?: boolean;
}

type Texts = string | readonly string[];

function corpusRate(
  refs: Texts,
  hyps: Texts,
  options: ErrorRateOptions,
  units: (text: string) => string[],
): number {
  const r = typeof refs === "string" ? [refs] : refs;
  const h = typeof hyps === "string" ? [hyps] : hyps;
  if (r.length !== h.length) {
    throw new RangeError(
      `${r.length} references but ${h.length} hypotheses: pass one hypothesis per reference`,
    );
  }
  const prep = (t: string) => units(options.normalize === false ? t : normalizeText(t, options));
  let edits = 0, total = 0;
  r.forEach((ref, i) => {
    const refUnits = prep(ref);
    edits += levenshtein(refUnits, prep(h[i]));
    total += refUnits.length;
  });
  // Empty references: any hypothesis text is all insertions, so the rate is unbounded.
  return total === 0 ? (edits === 0 ? 0 : Infinity) : edits / total;
}

/**
 * Corpus word error rate: the word edits of every pair summed, over the reference words
 * summed (not a mean of per-sentence rates). Texts are normalised first unless
 * `normalize: false`. Meaningful only for space-separated languages (see the module notes).
 * Throws a RangeError when the two lists differ in length. Empty references with a non-empty
 * hypothesis give Infinity.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { wordErrorRate } from "./normalize.ts";
 * // "sat" → "sit" (1 substitution) and "the" deleted, over 6 reference words.
 * assert.equal(wordErrorRate(["The cat sat.", "On the mat"], ["the cat sit", "on mat"]), 2 / 6);
 * ```
 */
export function wordErrorRate(
  refs: string | readonly string[],
  hyps: string | readonly string[],
  options: ErrorRateOptions = {},
): number {
  return corpusRate(refs, hyps, options, (t) => t.split(" ").filter(Boolean));
}

/**
 * Corpus character error rate over Unicode code points, spaces ignored: text that is not
 * split into words (Chinese, Thai, ...) scores the same whether or not a system inserts
 * spaces, and a word boundary error alone costs nothing. Summed like {@link wordErrorRate}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { charErrorRate } from "./normalize.ts";
 * assert.equal(charErrorRate("今天天气很好", "今天 天气 很 好"), 0);
 * assert.equal(charErrorRate("abcd", "abed"), 1 / 4);
 * ```
 */
export function charErrorRate(
  refs: string | readonly string[],
  hyps: string | readonly string[],
  options: ErrorRateOptions = {},
): number {
  return corpusRate(refs, hyps, options, (t) => [...t.replace(/\s/gu, "")]);
}
