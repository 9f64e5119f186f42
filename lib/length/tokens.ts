/**
 * Splits text into spoken pieces and pauses: words of space-separated scripts, runs of the
 * scripts written without spaces or counted by syllable (Han, kana, Hangul, Thai, Lao, Khmer,
 * Burmese, Tibetan), numbers, acronyms, symbols said as words, and clause or sentence
 * punctuation. Each token carries its count in its own unit: 1 per word, letters per acronym,
 * estimated words per number, characters per Han/Thai/Lao run, morae per kana run, syllables
 * per Hangul run, estimated syllables per Khmer/Burmese/Tibetan run.
 * @module
 */
import { numberWords } from "./numbers.ts";

/** What a token is; the scripts without spaces each have their own kind. */
export type TokenKind =
  | "word"
  | "acronym"
  | "number"
  | "symbol"
  | "han"
  | "kana"
  | "hangul"
  | "thai"
  | "lao"
  | "khmer"
  | "myanmar"
  | "tibetan"
  | "clause"
  | "sentence";

/** A piece of text with its kind and its count in its own unit (0 for punctuation). */
export interface Token {
  /** What the token is. */
  readonly kind: TokenKind;
  /** The token's text as it appears in the input. */
  readonly text: string;
  /** Offset of the token in the input, in UTF-16 code units. */
  readonly start: number;
  /** Its count in its own unit (words, letters, characters, morae or syllables; 0 for punctuation). */
  readonly count: number;
}

const NOSPACE = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}` +
  String.raw`\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}\p{sc=Tibetan}`;
// Zero-width (non-)joiners belong to words only between letters (Persian, Indic scripts);
// in emoji sequences they must not make a "word".
const LETTER = String
  .raw`(?:[[\p{L}\p{M}]--[${NOSPACE}]](?:[\u200C\u200D][[\p{L}\p{M}]--[${NOSPACE}]])*)`;
const SENTENCE = String.raw`[.!?\u2026\u3002\uFF01\uFF1F\uFF61\u0964\u0965\u061F\u06D4\u1362` +
  String.raw`\u104B\u0F0E\u17D4\u17D5\u0589\u037E\u0E5A\u0E5B\u203C\u2047-\u2049]+`;
// ASCII , ; : pause only before a space or the end: "10:30" and "1,5" are not clauses.
const CLAUSE = String.raw`[,;:]+(?=\s|$)|[\u060C\u061B\u3001\uFF0C\uFF1B\uFF1A\u1363-\u1366\u104A` +
  String.raw`\u0F0D\u17D6\u2013\u2014]+|(?<=\s)-(?=\s)`;

/** One alternation; group order decides the kind. Tried left to right at each position. */
const TOKEN = new RegExp(
  [
    String.raw`(?<![\p{L}\p{M}])((?:\p{L}\.){2,})`, // dotted abbreviations: U.S., e.g.
    String.raw`(\p{Nd}+(?:[.,\u066B\u066C]\p{Nd}+)*)`,
    String.raw`(\p{sc=Han}+)`,
    String.raw`([\p{sc=Hiragana}\p{sc=Katakana}\u30FC\uFF70]+)`,
    String.raw`([\p{sc=Hangul}&&[\p{L}\p{M}]]+)`,
    String.raw`([\p{sc=Thai}&&[\p{L}\p{M}]]+)`,
    String.raw`([\p{sc=Lao}&&[\p{L}\p{M}]]+)`,
    String.raw`([\p{sc=Khmer}&&[\p{L}\p{M}]]+)`,
    String.raw`([\p{sc=Myanmar}&&[\p{L}\p{M}]]+)`,
    String.raw`([\p{sc=Tibetan}&&[\p{L}\p{M}\u0F0B\u0F0C]]+)`,
    String.raw`(${LETTER}+(?:['\u2019]${LETTER}+)*)`,
    String.raw`([&+=%\u2030\p{Sc}])`,
    `(${SENTENCE})`,
    `(${CLAUSE})`,
  ].join("|"),
  "gv",
);
const KINDS: readonly (TokenKind | "dotted")[] = [
  "dotted",
  "number",
  "han",
  "kana",
  "hangul",
  "thai",
  "lao",
  "khmer",
  "myanmar",
  "tibetan",
  "word",
  "symbol",
  "sentence",
  "clause",
];

const countLetters = (s: string): number => (s.match(/\p{L}/gu) ?? []).length;

/**
 * Khmer syllables, estimated from clusters (a base letter with its subscripts after COENG and its
 * signs). A cluster with a vowel sign is a syllable. A bare cluster right after one is its final
 * consonant, unless it has a subscript. Other bare clusters come in runs that pair up into
 * consonant + final (sa-kal: three bare letters, two syllables), so a run of n counts ceil(n / 2).
 */
const khmerSyllables = (run: string): number => {
  const clusters = run.match(/[\u1780-\u17B3](?:\u17D2[\u1780-\u17B3]|[\u17B4-\u17D1\u17DD])*/gu);
  let count = 0, bare = 0, prevVowel = false;
  for (const c of clusters ?? []) {
    const vowel = /^[\u17A3-\u17B3]|[\u17B6-\u17C8]/u.test(c);
    if (vowel) {
      count += Math.ceil(bare / 2) + 1;
      bare = 0;
    } else if (!(prevVowel && !c.includes("\u17D2"))) bare++;
    prevVowel = vowel;
  }
  return count + Math.ceil(bare / 2);
};

/** Japanese morae of a kana run: one per kana (small tsu and the long-vowel mark included),
 * except the small ya, yu, yo and vowels, which join the kana before them (kya, fa). */
const kanaMorae = (run: string): number =>
  [...run].filter((c) => !/[ぁぃぅぇぉゃゅょゎゕゖァィゥェォャュョヮヵヶｧｨｩｪｫｬｭｮ]/u.test(c)).length;

/** Korean syllables: precomposed Hangul blocks, plus leading jamo of decomposed or bare jamo. */
const hangulSyllables = (run: string): number =>
  (run.match(/[\uAC00-\uD7A3\u1100-\u115F\uA960-\uA97F\u3131-\u318E]/gu) ?? []).length;

/** Burmese syllables: base letters not killed by ASAT (U+103A) or stacked by VIRAMA (U+1039). */
const myanmarSyllables = (run: string): number =>
  (run.match(/[\u1000-\u102A][\u102B-\u103E]*/gu) ?? [])
    .filter((c) => !/[\u1039\u103A]/u.test(c)).length;

/** Tibetan syllables: letter groups between TSHEG marks. */
const tibetanSyllables = (run: string): number =>
  run.split(/[\u0F0B\u0F0C]/u).filter((s) => /[\u0F00\u0F40-\u0F6C\u0F88-\u0F8C]/u.test(s)).length;

const COUNT: Partial<Record<TokenKind, (s: string) => number>> = {
  number: numberWords,
  han: (s) => [...s].length,
  kana: kanaMorae,
  hangul: hangulSyllables,
  thai: countLetters,
  lao: countLetters,
  khmer: khmerSyllables,
  myanmar: myanmarSyllables,
  tibetan: tibetanSyllables,
  word: () => 1,
  symbol: () => 1,
};

/** An all-capital word of 2 to 5 letters is spelled out, unless most of the text is capitals. */
const acronymTest = (words: readonly string[]): (w: string) => boolean => {
  const cased = words.filter((w) => countLetters(w) >= 2 && /[\p{Lu}\p{Ll}]/u.test(w));
  const caps = cased.filter((w) => !/\p{Ll}/u.test(w));
  const shouting = cased.length >= 3 && caps.length * 2 > cased.length;
  return (w) => !shouting && /^\p{Lu}{2,5}$/u.test(w);
};

/**
 * Tokens of `text` in order; whitespace, quotes, brackets, emoji and other symbols are left out.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tokenize } from "./tokens.ts";
 * const t = tokenize("NASA launched 3 probes, in 1977.");
 * assert.deepEqual(t.map((x) => x.kind), ["acronym", "word", "number", "word", "clause", "word", "number", "sentence"]);
 * assert.equal(t[0].count, 4); // N-A-S-A
 * assert.equal(t[6].count, 3); // nineteen seventy seven
 * ```
 */
export function tokenize(text: string): Token[] {
  const raw: { kind: TokenKind | "dotted"; text: string; start: number }[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const g = m.slice(1).findIndex((x) => x !== undefined);
    raw.push({ kind: KINDS[g], text: m[0], start: m.index });
  }
  const isAcronym = acronymTest(raw.filter((t) => t.kind === "word").map((t) => t.text));
  return raw.flatMap(({ kind, text: t, start }): Token[] => {
    if (kind === "dotted") {
      const acronym: Token = { kind: "acronym", text: t, start, count: countLetters(t) };
      // "the U.S. Then": the abbreviation's last period also ends the sentence.
      const end = start + t.length;
      const ends = /^\s+\p{Lu}/u.test(text.slice(end)) || /^\s*$/u.test(text.slice(end));
      return ends
        ? [acronym, { kind: "sentence", text: ".", start: end - 1, count: 0 }]
        : [acronym];
    }
    if (kind === "word" && isAcronym(t)) {
      return [{ kind: "acronym", text: t, start, count: countLetters(t) }];
    }
    return [{ kind, text: t, start, count: COUNT[kind]?.(t) ?? 0 }];
  });
}
