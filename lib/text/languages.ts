/**
 * Whisper's language table: the codes in the order of their tokens (`<|en|>` follows
 * `<|startoftranscript|>`, then `<|zh|>`, ...), their English names, Whisper's alias names,
 * and a lookup with "did you mean" errors. It is plain data with no Whisper model behind it,
 * so lib/whisper's tokenizer, lib/data, lib/speech and lib/length all take it from here.
 * (lib/length has its own lookup for speaking rates.)
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { levenshtein } from "./edit_distance.ts";

/**
 * Why a tokenizer could not be built or asked for something; names the token or language.
 * {@link languageCode} returns it for an unknown language, and lib/whisper's tokenizer for
 * everything else.
 */
export interface TokenizerError {
  /** Discriminant. */
  readonly _tag: "TokenizerError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/**
 * Builds a {@link TokenizerError}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tokenizerError } from "./languages.ts";
 * assert.equal(tokenizerError("bad").message, "bad");
 * ```
 */
export function tokenizerError(message: string): TokenizerError {
  return { _tag: "TokenizerError", message };
}

// Token order is the order of this list; large-v3 appended Cantonese as the 100th.
const TABLE = `en english|zh chinese|de german|es spanish|ru russian|ko korean|fr french|
ja japanese|pt portuguese|tr turkish|pl polish|ca catalan|nl dutch|ar arabic|sv swedish|
it italian|id indonesian|hi hindi|fi finnish|vi vietnamese|he hebrew|uk ukrainian|el greek|
ms malay|cs czech|ro romanian|da danish|hu hungarian|ta tamil|no norwegian|th thai|ur urdu|
hr croatian|bg bulgarian|lt lithuanian|la latin|mi maori|ml malayalam|cy welsh|sk slovak|
te telugu|fa persian|lv latvian|bn bengali|sr serbian|az azerbaijani|sl slovenian|kn kannada|
et estonian|mk macedonian|br breton|eu basque|is icelandic|hy armenian|ne nepali|mn mongolian|
bs bosnian|kk kazakh|sq albanian|sw swahili|gl galician|mr marathi|pa punjabi|si sinhala|
km khmer|sn shona|yo yoruba|so somali|af afrikaans|oc occitan|ka georgian|be belarusian|
tg tajik|sd sindhi|gu gujarati|am amharic|yi yiddish|lo lao|uz uzbek|fo faroese|
ht haitian creole|ps pashto|tk turkmen|nn nynorsk|mt maltese|sa sanskrit|lb luxembourgish|
my myanmar|bo tibetan|tl tagalog|mg malagasy|as assamese|tt tatar|haw hawaiian|ln lingala|
ha hausa|ba bashkir|jw javanese|su sundanese|yue cantonese`
  .split("|")
  .map((entry) => entry.trim().match(/^(\S+) (.+)$/)!.slice(1) as [string, string]);

/**
 * Every Whisper language code in token order: 99 for the multilingual vocabulary (51865
 * tokens), then "yue", the 100th, which only large-v3's vocabulary (51866) has.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { LANGUAGE_CODES } from "./languages.ts";
 * assert.equal(LANGUAGE_CODES.length, 100);
 * assert.deepEqual(LANGUAGE_CODES.slice(0, 3), ["en", "zh", "de"]);
 * assert.equal(LANGUAGE_CODES[99], "yue");
 * ```
 */
export const LANGUAGE_CODES: readonly string[] = TABLE.map(([code]) => code);

/**
 * Whisper's English name (lower case, as Whisper spells it) of each code.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { LANGUAGE_NAMES } from "./languages.ts";
 * assert.equal(LANGUAGE_NAMES.jw, "javanese");
 * assert.equal(LANGUAGE_NAMES.ht, "haitian creole");
 * ```
 */
export const LANGUAGE_NAMES: Readonly<Record<string, string>> = Object.fromEntries(TABLE);

/**
 * Whisper's other names for some languages, each to its code.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { LANGUAGE_ALIASES } from "./languages.ts";
 * assert.equal(LANGUAGE_ALIASES.castilian, "es");
 * ```
 */
export const LANGUAGE_ALIASES: Readonly<Record<string, string>> = {
  burmese: "my",
  valencian: "ca",
  flemish: "nl",
  haitian: "ht",
  letzeburgesch: "lb",
  pushto: "ps",
  panjabi: "pa",
  moldavian: "ro",
  moldovan: "ro",
  sinhalese: "si",
  castilian: "es",
  mandarin: "zh",
};

const BY_NAME: Readonly<Record<string, string>> = {
  ...Object.fromEntries(TABLE.map(([code, name]) => [name, code])),
  ...LANGUAGE_ALIASES,
};

/**
 * The Whisper code of `language`: a code ("de"), an English name ("German") or an alias
 * ("Castilian"), in any case. `options.codes` limits the answer to a model's languages (the
 * default is all 100). An unknown language is an error listing the nearest codes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { languageCode } from "./languages.ts";
 * assert.deepEqual(languageCode("German"), E.right("de"));
 * assert.deepEqual(languageCode("mandarin"), E.right("zh"));
 * const bad = languageCode("jv"); // Whisper calls Javanese "jw"
 * assert.ok(E.isLeft(bad) && bad.left.message.includes("'jw' (javanese)"));
 * ```
 */
export function languageCode(
  language: string,
  options: { readonly codes?: readonly string[] } = {},
): Either<TokenizerError, string> {
  const codes = options.codes ?? LANGUAGE_CODES;
  const key = String(language).trim().toLowerCase();
  const code = LANGUAGE_NAMES[key] !== undefined ? key : BY_NAME[key];
  if (code !== undefined && codes.includes(code)) return E.right(code);
  if (code !== undefined) {
    return E.left(tokenizerError(
      `language '${language}' (${code}) is not in this model's vocabulary of ${codes.length} ` +
        `languages` + (code === "yue" ? "; Cantonese needs large-v3's (vocab 51866)" : ""),
    ));
  }
  const nearest = codes
    .map((c) => ({ c, d: Math.min(distance(key, c), distance(key, LANGUAGE_NAMES[c])) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, 5)
    .map(({ c }) => `'${c}' (${LANGUAGE_NAMES[c]})`);
  return E.left(tokenizerError(
    `unknown language '${language}': not a Whisper language code, name or alias. Nearest: ` +
      `${nearest.join(", ")}. The full list is LANGUAGE_CODES in lib/text/languages.ts.`,
  ));
}

const distance = (a: string, b: string) => levenshtein([...a], [...b]);
