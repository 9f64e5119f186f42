/**
 * Text -> spoken units of a language, plus the pauses that punctuation adds. Words, characters
 * or syllables of the language's own script count one unit each; numbers, spelled-out acronyms,
 * symbols and runs of other scripts are converted through English-word equivalents and the
 * language's `unitsPerEnglishWord`.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { type LengthError, lengthError } from "./errors.ts";
import { resolveLanguage } from "./language.ts";
import { type RateEntry, type RateTable, type Unit, WHISPER_RATES } from "./rates.ts";
import { type Token, tokenize, type TokenKind } from "./tokens.ts";

/** English words one spelled letter takes (a letter name is about one syllable; a word ~1.4). */
export const LETTER_WORDS = 0.75;
/**
 * Japanese morae per kanji, estimated (most on'yomi readings have one or two morae: ki, ten,
 * kou); uncalibrated. Japanese is counted in morae so that kanji-dense and kana-rich text of the
 * same content get about the same count.
 */
export const MORAE_PER_KANJI = 1.8;

/** Units of a language, split by where they came from. */
export interface UnitParts {
  /** Words, characters or syllables of the language's own script. */
  readonly native: number;
  /** Numbers read out (estimated by digit groups). */
  readonly numbers: number;
  /** Acronyms and dotted abbreviations, spelled letter by letter. */
  readonly acronyms: number;
  /** Symbols said as words: & + = % and currency signs. */
  readonly symbols: number;
  /** Runs of other scripts (a Latin word in Chinese text, kanji in Korean text, ...). */
  readonly other: number;
}

/** What {@link measure} counted in a text. */
export interface Measurement {
  /** The resolved Whisper code. */
  readonly language: string;
  /** The unit the language is counted in: words, characters or syllables. */
  readonly unit: Unit;
  /** Total units: the sum of `parts`. */
  readonly units: number;
  /** The units, split by where they came from. */
  readonly parts: UnitParts;
  /** Clause pauses (commas, semicolons, colons, dashes, ...) between spoken parts. */
  readonly clauses: number;
  /** Sentence pauses (. ! ? and their equivalents in other scripts) between spoken parts. */
  readonly sentences: number;
}

/** Which languages count a script's runs natively; "word" is native to every word language. */
const NATIVE: Partial<Record<TokenKind, readonly string[]>> = {
  han: ["zh", "yue", "ja"],
  kana: ["ja"],
  hangul: ["ko"],
  thai: ["th"],
  lao: ["lo"],
  khmer: ["km"],
  myanmar: ["my"],
  tibetan: ["bo"],
};
/** The language whose k converts a script's native count into English-word equivalents. */
const SCRIPT_LANGUAGE: Partial<Record<TokenKind, string>> = {
  han: "zh",
  kana: "ja",
  hangul: "ko",
  thai: "th",
  lao: "lo",
  khmer: "km",
  myanmar: "my",
  tibetan: "bo",
};
const SPOKEN: ReadonlySet<TokenKind> = new Set<TokenKind>([
  "word",
  "acronym",
  "number",
  "symbol",
  ...Object.keys(NATIVE) as TokenKind[],
]);

/** Pause counts: the strongest punctuation between two spoken tokens counts once. */
const countPauses = (text: string, tokens: readonly Token[]) => {
  let clauses = 0, sentences = 0, pending = 0, prev: Token | undefined;
  for (const t of tokens) {
    if (!SPOKEN.has(t.kind)) {
      pending = Math.max(pending, t.kind === "sentence" ? 2 : 1);
      continue;
    }
    // Thai and Lao separate phrases and sentences with spaces, not punctuation.
    const gap = prev ? text.slice(prev.start + prev.text.length, t.start) : "";
    if (
      prev && prev.kind === t.kind && (t.kind === "thai" || t.kind === "lao") && /\s/u.test(gap)
    ) {
      pending = Math.max(pending, 1);
    }
    if (prev && pending === 1) clauses++;
    if (prev && pending === 2) sentences++;
    pending = 0;
    prev = t;
  }
  return { clauses, sentences };
};

/**
 * Counts the spoken units of `text` in `language` (a Whisper code or name) and its pauses.
 * Fails on empty text, text with nothing to say, or an unknown language.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { measure } from "./measure.ts";
 * const m = orThrow(measure("In 1984, NASA had ten probes.", "en"));
 * assert.equal(m.parts.native, 4); // In, had, ten, probes
 * assert.equal(m.parts.numbers, 3); // nineteen eighty four
 * assert.equal(m.parts.acronyms, 3); // N-A-S-A: 4 letters x 0.75 word
 * assert.equal(m.clauses, 1);
 * ```
 */
export function measure(
  text: string,
  language: string,
  options: { readonly table?: RateTable } = {},
): Either<LengthError, Measurement> {
  const table = options.table ?? WHISPER_RATES;
  if (typeof text !== "string" || text.trim() === "") {
    return E.left(lengthError(
      "empty-text",
      "text is empty: pass a sentence with at least one word, character or number to say.",
    ));
  }
  return E.chain((entry: RateEntry): Either<LengthError, Measurement> => {
    const k = entry.unitsPerEnglishWord;
    const scriptK = (kind: TokenKind) =>
      (table[SCRIPT_LANGUAGE[kind] ?? ""] ?? WHISPER_RATES[SCRIPT_LANGUAGE[kind] ?? "en"])
        .unitsPerEnglishWord;
    const tokens = tokenize(text);
    const parts = { native: 0, numbers: 0, acronyms: 0, symbols: 0, other: 0 };
    for (const t of tokens) {
      if (t.kind === "number") parts.numbers += t.count * k;
      else if (t.kind === "acronym") parts.acronyms += t.count * LETTER_WORDS * k;
      else if (t.kind === "symbol") parts.symbols += k;
      else if (t.kind === "word") {
        if (entry.unit === "word") parts.native += 1;
        else parts.other += k;
      } else if (SPOKEN.has(t.kind)) {
        const weight = t.kind === "han" && entry.code === "ja" ? MORAE_PER_KANJI : 1;
        if (NATIVE[t.kind]?.includes(entry.code)) parts.native += t.count * weight;
        else parts.other += (t.count / scriptK(t.kind)) * k;
      }
    }
    const units = parts.native + parts.numbers + parts.acronyms + parts.symbols + parts.other;
    if (!(units > 0)) {
      const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
      return E.left(lengthError(
        "empty-text",
        `text '${shown}' has nothing to say (only punctuation, symbols or spaces): pass text ` +
          "with at least one word, character or number.",
      ));
    }
    return E.right({
      language: entry.code,
      unit: entry.unit,
      units,
      parts,
      ...countPauses(text, tokens),
    });
  })(resolveLanguage(language, { table }));
}
