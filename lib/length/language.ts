/**
 * Looking up a language in a rate table: by Whisper code, by English name, by one of Whisper's
 * alias names, or by a BCP 47 tag whose primary subtag is a Whisper code ("pt-BR"). An unknown
 * language is an error that lists the nearest codes.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { LANGUAGE_ALIASES } from "../text/languages.ts";
import { editDistance, type LengthError, lengthError } from "./errors.ts";
import { type RateEntry, type RateTable, WHISPER_RATES } from "./rates.ts";

/**
 * Finds the rate entry for `language` in `options.table` (default {@link WHISPER_RATES}).
 * Matching ignores case. Unknown languages give a `LengthError` of kind "unknown-language" that
 * lists the five nearest codes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { resolveLanguage } from "./language.ts";
 * const de = resolveLanguage("German");
 * assert.ok(E.isRight(de) && de.right.code === "de");
 * assert.ok(E.isRight(resolveLanguage("pt-BR")));
 * const bad = resolveLanguage("jv"); // Whisper calls Javanese "jw"
 * assert.ok(E.isLeft(bad) && bad.left.message.includes("jw"));
 * ```
 */
export function resolveLanguage(
  language: string,
  options: { readonly table?: RateTable } = {},
): Either<LengthError, RateEntry> {
  const table = options.table ?? WHISPER_RATES;
  const key = String(language).trim().toLowerCase();
  const byName = (name: string) => Object.values(table).find((e) => e.name.toLowerCase() === name);
  const found = table[key] ?? byName(key) ?? table[LANGUAGE_ALIASES[key] ?? ""] ??
    table[key.split(/[-_]/)[0]];
  if (found) return E.right(found);
  const nearest = Object.values(table)
    .map((e) => ({
      e,
      d: Math.min(editDistance(key, e.code), editDistance(key, e.name.toLowerCase())),
    }))
    .sort((a, b) => a.d - b.d || a.e.code.localeCompare(b.e.code))
    .slice(0, 5)
    .map(({ e }) => `'${e.code}' (${e.name})`);
  return E.left(lengthError(
    "unknown-language",
    `unknown language '${language}': not a Whisper language code or name. Nearest codes: ` +
      `${nearest.join(", ")}. Pass one of the ${Object.keys(table).length} codes of the rate ` +
      "table (WHISPER_RATES), or add an entry for it to options.table.",
  ));
}

/**
 * A copy of `table` with `entries` added or replaced (for example the fitted entries of
 * `calibrate()`), keyed by code.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { withRates } from "./language.ts";
 * import { WHISPER_RATES } from "./rates.ts";
 * const t = withRates(WHISPER_RATES, [{ ...WHISPER_RATES.en, rate: 3 }]);
 * assert.equal(t.en.rate, 3);
 * assert.equal(WHISPER_RATES.en.rate, 2.7);
 * ```
 */
export function withRates(table: RateTable, entries: readonly RateEntry[]): RateTable {
  return Object.freeze({ ...table, ...Object.fromEntries(entries.map((e) => [e.code, e])) });
}
