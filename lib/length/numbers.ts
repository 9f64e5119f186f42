/**
 * How many words a written number takes to say, estimated by digit groups the way English reads
 * them ("1984" -> "nineteen eighty-four" = 3 words). Other languages differ in detail (German
 * writes number words as one word, Chinese reads years digit by digit), but the spoken length
 * grows the same way: about one or two words per nonzero digit group, plus scale words. The
 * count is converted into each language's units by `measure()`.
 * @module
 */

/**
 * The value (0-9) of a Unicode decimal digit (`\p{Nd}`) of any script: ASCII, Arabic-Indic,
 * Devanagari, Thai, full-width, ... Unicode encodes each digit set as ten consecutive code
 * points starting with zero, so the value is the distance from the run's start, modulo 10.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { digitValue } from "./numbers.ts";
 * assert.equal(digitValue("7"), 7);
 * assert.equal(digitValue("\u0967"), 1); // Devanagari one
 * assert.equal(digitValue("\uFF19"), 9); // full-width nine
 * ```
 */
export function digitValue(digit: string): number {
  const isDigit = (cp: number) => /\p{Nd}/u.test(String.fromCodePoint(cp));
  const cp = digit.codePointAt(0) ?? 0;
  if (!isDigit(cp)) throw new RangeError(`digitValue: '${digit}' is not a decimal digit`);
  let start = cp;
  while (cp - start < 60 && isDigit(start - 1)) start--;
  return (cp - start) % 10;
}

/** Words for 0-999 said as a cardinal: "five hundred", "forty two", "eleven". */
const groupWords = (n: number): number => {
  const hundreds = Math.floor(n / 100), rest = n % 100;
  const restWords = rest === 0 ? 0 : rest < 20 || rest % 10 === 0 ? 1 : 2;
  return (hundreds > 0 ? 2 : 0) + restWords;
};

/** Cardinal reading of a digit string: nonzero groups of three, each with its scale word. */
const cardinalWords = (digits: readonly number[]): number => {
  if (digits.every((d) => d === 0)) return 1; // "zero"
  let words = 0;
  for (let end = digits.length, scale = 0; end > 0; end -= 3, scale++) {
    const group = digits.slice(Math.max(0, end - 3), end).reduce((a, d) => a * 10 + d, 0);
    if (group > 0) words += groupWords(group) + (scale > 0 ? 1 : 0);
  }
  return words;
};

/** A year such as 1984 or 1066 read as two pairs ("nineteen eighty-four"). */
const yearWords = (digits: readonly number[]): number => {
  const hi = digits[0] * 10 + digits[1], lo = digits[2] * 10 + digits[3];
  if (hi % 10 === 0 && lo < 10) return cardinalWords(digits); // "two thousand (five)"
  if (lo === 0) return groupWords(hi) + 1; // "nineteen hundred"
  return groupWords(hi) + (lo < 10 ? 2 : groupWords(lo)); // "nineteen oh five"
};

/**
 * Estimated spoken words for a number token: digits in any script, optionally grouped by `,`
 * or `.` in threes ("1,234,567"), with a decimal part ("3.14": "three point one four"). Long
 * strings (more than 12 digits) and strings with a leading zero ("007", phone numbers) are read
 * digit by digit; four-digit numbers from 1100 to 2099 without separators are read as years.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { numberWords } from "./numbers.ts";
 * assert.equal(numberWords("1984"), 3); // nineteen eighty four
 * assert.equal(numberWords("1,000,000"), 2); // one million
 * assert.equal(numberWords("3.14"), 4); // three point one four
 * assert.equal(numberWords("0123"), 4); // zero one two three
 * ```
 */
export function numberWords(token: string): number {
  const parts = token.split(/[.,\u066B\u066C\u060C]/u).filter((p) => p.length > 0);
  if (parts.length === 0) return 0;
  const seps = token.match(/[.,\u066B\u066C\u060C]/gu) ?? [];
  const toDigits = (s: string) => [...s].map(digitValue);
  // Separators followed by exactly three digits each are thousands grouping; otherwise the last
  // separator is a decimal mark and any earlier ones group thousands.
  const grouped = parts.length > 1 && parts.slice(1).every((p) => [...p].length === 3) &&
    [...parts[0]].length <= 3 && new Set(seps).size === 1;
  const intParts = grouped || parts.length === 1 ? parts : parts.slice(0, -1);
  const fraction = grouped || parts.length === 1 ? [] : toDigits(parts[parts.length - 1]);
  const intDigits = toDigits(intParts.join(""));
  let words: number;
  if (intDigits.length > 12 || (intDigits.length > 1 && intDigits[0] === 0)) {
    words = intDigits.length;
  } else if (!grouped && parts.length === 1 && intDigits.length === 4) {
    const value = intDigits.reduce((a, d) => a * 10 + d, 0);
    words = value >= 1100 && value <= 2099 ? yearWords(intDigits) : cardinalWords(intDigits);
  } else {
    words = cardinalWords(intDigits);
  }
  return words + (fraction.length > 0 ? 1 + fraction.length : 0);
}
