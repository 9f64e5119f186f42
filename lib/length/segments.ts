/**
 * Splitting text longer than Whisper's 30 s window into pieces that each fit: at sentence ends
 * first, then at clause punctuation, then at word boundaries (`Intl.Segmenter`, which also
 * segments Chinese, Japanese, Thai, Lao, Khmer and Burmese), and at grapheme boundaries only
 * as a last resort. Consecutive parts are packed greedily, so pieces are as long as fits.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { LengthError } from "./errors.ts";
import {
  type FrameEstimate,
  frames,
  type FramesOptions,
  MAX_FRAMES,
  secondsToFrames,
} from "./frames.ts";

/** One piece of a split text: its slice of the input and its frame estimate. */
export interface Segment extends FrameEstimate {
  /** The piece's text, an exact slice of the input (whitespace kept). */
  readonly text: string;
  /** Index of the piece's first UTF-16 code unit in the input. */
  readonly start: number;
}

// ASCII marks end a sentence or clause only before whitespace or the end ("3.14", "1,000" and
// "10:30" stay whole); the marks of other scripts end one anywhere.
const CLOSERS = String.raw`["'\u2019\u201D\u00BB)\]]*`;
const SENTENCE_END = new RegExp(
  String.raw`(?:[.!?\u2026]+${CLOSERS}(?:\s+|$)|[\u3002\uFF01\uFF1F\uFF61\u0964\u0965\u061F` +
    String.raw`\u06D4\u1362\u104B\u0F0E\u17D4\u17D5\u0589\u037E\u0E5A\u0E5B]+${CLOSERS}\s*)`,
  "gu",
);
const CLAUSE_END = new RegExp(
  String.raw`(?:[,;:]${CLOSERS}\s+|\s+[-\u2013\u2014]\s+|[\u2013\u2014]|[\u060C\u061B\u3001` +
    String.raw`\uFF0C\uFF1B\uFF1A\u1363-\u1366\u104A\u0F0D\u17D6]\s*)`,
  "gu",
);

/** Cuts `text` after each match of `re`: slices that concatenate back to `text`. */
const cutAfter = (text: string, re: RegExp): string[] => {
  const out: string[] = [];
  let from = 0;
  for (const m of text.matchAll(re)) {
    const end = m.index + m[0].length;
    if (end > from && end < text.length) {
      out.push(text.slice(from, end));
      from = end;
    }
  }
  out.push(text.slice(from));
  return out;
};

/** Word atoms: each word-like segment with the spaces and punctuation that follow it. */
const cutWords = (text: string, language: string): string[] => {
  const out: string[] = [];
  let locale: string;
  try {
    locale = Intl.getCanonicalLocales(language)[0];
  } catch {
    locale = "en";
  }
  for (const s of new Intl.Segmenter(locale, { granularity: "word" }).segment(text)) {
    if (s.isWordLike && out.length > 0 && /\S/u.test(out[out.length - 1])) out.push(s.segment);
    else if (out.length === 0) out.push(s.segment);
    else out[out.length - 1] += s.segment;
  }
  return out;
};

const cutGraphemes = (text: string): string[] =>
  [...new Intl.Segmenter("en", { granularity: "grapheme" }).segment(text)].map((s) => s.segment);

/**
 * Splits `text` into pieces of at most `options.maxFrames` frames each (default 1500, before
 * jitter), cutting at sentence ends, then clauses, then words, then graphemes; the pieces'
 * texts concatenate to the input exactly. Each piece comes with its {@link FrameEstimate},
 * computed with the same options (an `rng` jitters the pieces in order; jittered counts are
 * still clamped to maxFrames). Text that fits is returned as one piece. Fails like `frames()`
 * on empty text, an unknown language or invalid options.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { splitSegments } from "./segments.ts";
 * const text = "This sentence has exactly eight words in it. ".repeat(20);
 * const pieces = orThrow(splitSegments(text, "en"));
 * assert.ok(pieces.length > 1);
 * assert.ok(pieces.every((s) => s.frames <= 1500));
 * assert.equal(pieces.map((s) => s.text).join(""), text);
 * ```
 */
export function splitSegments(
  text: string,
  language: string,
  options: Omit<FramesOptions, "overflow"> = {},
): Either<LengthError, Segment[]> {
  const base = { ...options, rng: undefined, overflow: "clamp" } as const;
  const whole = frames(text, language, base);
  if (E.isLeft(whole)) return whole;
  const code = whole.right.language;
  const maxFrames = options.maxFrames ?? MAX_FRAMES;
  /** Unjittered, unclamped frames; 0 for pieces with nothing to say. */
  const need = (s: string): number => {
    const r = frames(s, code, { ...base, minFrames: 1, maxFrames: MAX_FRAMES });
    return E.isRight(r) ? secondsToFrames(r.right.seconds) : 0;
  };
  const levels: ((s: string) => string[])[] = [
    (s) => cutAfter(s, SENTENCE_END),
    (s) => cutAfter(s, CLAUSE_END),
    (s) => cutWords(s, code),
    cutGraphemes,
  ];
  const split = (s: string, level: number): string[] => {
    if (need(s) <= maxFrames || level >= levels.length) return [s];
    const pieces: string[] = [];
    let cur = "";
    for (const atom of levels[level](s)) {
      if (need(cur + atom) <= maxFrames) cur += atom;
      else {
        if (cur !== "") pieces.push(cur);
        cur = "";
        if (need(atom) <= maxFrames) cur = atom;
        else pieces.push(...split(atom, level + 1));
      }
    }
    if (cur !== "") pieces.push(cur);
    return pieces;
  };
  // Pieces with nothing to say (stray punctuation or spaces) join a neighbour.
  const merged: string[] = [];
  for (const piece of split(text, 0)) {
    if (merged.length > 0 && need(piece) === 0) merged[merged.length - 1] += piece;
    else if (merged.length === 1 && need(merged[0]) === 0) merged[0] += piece;
    else merged.push(piece);
  }
  const out: Segment[] = [];
  let start = 0;
  for (const piece of merged) {
    const r = frames(piece, code, { ...options, overflow: "clamp" });
    if (E.isLeft(r)) return r;
    out.push({ ...r.right, text: piece, start });
    start += piece.length;
  }
  return E.right(out);
}
