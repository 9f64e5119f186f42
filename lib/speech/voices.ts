/**
 * Whisper languages and the eSpeak NG voices that speak them. Every Whisper language is either
 * mapped to a voice of the npm build (`espeak-ng` 1.0.2, eSpeak NG 1.52-dev) or listed as
 * unsupported with the reason: a language is never silently spoken with another's voice.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { LANGUAGE_CODES, LANGUAGE_NAMES } from "../text/languages.ts";

/** Why text could not be spoken; the message names the input and the fix. */
export interface SpeechError {
  /** Discriminant. */
  readonly _tag: "SpeechError";
  /** What went wrong. */
  readonly kind: "unsupported-language" | "unknown-voice" | "empty-text" | "no-speech" | "espeak";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** A {@link SpeechError}. */
export const speechError = (kind: SpeechError["kind"], message: string): SpeechError => ({
  _tag: "SpeechError",
  kind,
  message,
});

/** A voice for a Whisper language, with what to know about it. */
export interface VoiceEntry {
  /** The eSpeak NG voice name (`-v`). */
  readonly voice: string;
  /** A caveat, where the voice is an approximation. */
  readonly note?: string;
}

const NO_VOICE = "eSpeak NG 1.52 has no voice for it";

/** Whisper language code -> eSpeak NG voice, or the reason there is none. */
export const ESPEAK_VOICES: Readonly<
  Record<string, VoiceEntry | { readonly unsupported: string }>
> = {
  en: { voice: "en-us" },
  zh: { voice: "cmn", note: "Mandarin; text in Han characters" },
  de: { voice: "de" },
  es: { voice: "es" },
  ru: { voice: "ru" },
  ko: { voice: "ko" },
  fr: { voice: "fr-fr" },
  ja: {
    voice: "ja",
    note: "reads kana; kanji are spelled out as 'Chinese letter' (measured: unusable)",
  },
  pt: { voice: "pt-br", note: "Brazilian Portuguese" },
  tr: { voice: "tr" },
  pl: { voice: "pl" },
  ca: { voice: "ca" },
  nl: { voice: "nl" },
  ar: { voice: "ar", note: "unvowelled text is read without short vowels" },
  sv: { voice: "sv" },
  it: { voice: "it" },
  id: { voice: "id" },
  hi: { voice: "hi" },
  fi: { voice: "fi" },
  vi: { voice: "vi" },
  he: { voice: "he" },
  uk: { voice: "uk" },
  el: { voice: "el" },
  ms: { voice: "ms" },
  cs: { voice: "cs" },
  ro: { voice: "ro" },
  da: { voice: "da" },
  hu: { voice: "hu" },
  ta: { voice: "ta" },
  no: { voice: "nb" },
  th: { voice: "th" },
  ur: { voice: "ur" },
  hr: { voice: "hr" },
  bg: { voice: "bg" },
  lt: { voice: "lt" },
  la: { voice: "la" },
  mi: { voice: "mi" },
  ml: { voice: "ml" },
  cy: { voice: "cy" },
  sk: { voice: "sk" },
  te: { voice: "te" },
  fa: { voice: "fa" },
  lv: { voice: "lv" },
  bn: { voice: "bn" },
  sr: { voice: "sr" },
  az: { voice: "az" },
  sl: { voice: "sl" },
  kn: { voice: "kn" },
  et: { voice: "et" },
  mk: { voice: "mk" },
  br: { unsupported: NO_VOICE },
  eu: { voice: "eu" },
  is: { voice: "is" },
  hy: { voice: "hy" },
  ne: { voice: "ne" },
  mn: { unsupported: NO_VOICE },
  bs: { voice: "bs" },
  kk: { voice: "kk" },
  sq: { voice: "sq" },
  sw: { voice: "sw" },
  gl: { unsupported: NO_VOICE },
  mr: { voice: "mr" },
  pa: { voice: "pa" },
  si: { voice: "si" },
  km: { unsupported: NO_VOICE },
  sn: { unsupported: NO_VOICE },
  yo: { unsupported: NO_VOICE },
  so: { unsupported: NO_VOICE },
  af: { voice: "af" },
  oc: { unsupported: NO_VOICE },
  ka: { voice: "ka" },
  be: { voice: "be" },
  tg: { unsupported: NO_VOICE },
  sd: { voice: "sd" },
  gu: { voice: "gu" },
  am: { voice: "am" },
  yi: { unsupported: NO_VOICE },
  lo: { unsupported: NO_VOICE },
  uz: { voice: "uz" },
  fo: { unsupported: NO_VOICE },
  ht: { voice: "ht" },
  ps: { unsupported: NO_VOICE },
  tk: { voice: "tk" },
  nn: { voice: "nb", note: "Bokmål voice reading Nynorsk (eSpeak NG has no Nynorsk voice)" },
  mt: { voice: "mt" },
  sa: { unsupported: NO_VOICE },
  lb: { voice: "lb" },
  my: { voice: "my" },
  bo: { unsupported: NO_VOICE },
  tl: { unsupported: NO_VOICE },
  mg: { unsupported: NO_VOICE },
  as: { voice: "as" },
  tt: { voice: "tt" },
  haw: { voice: "haw" },
  ln: { unsupported: NO_VOICE },
  ha: { unsupported: NO_VOICE },
  ba: { voice: "ba" },
  jw: { unsupported: NO_VOICE },
  su: { unsupported: NO_VOICE },
  yue: { voice: "yue" },
};

/**
 * The eSpeak NG voice of a Whisper language code; a named error where there is none.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { espeakVoice } from "./voices.ts";
 * assert.deepEqual(espeakVoice("de"), { _tag: "Right", right: "de" });
 * const none = espeakVoice("br");
 * assert.ok(none._tag === "Left" && /breton/.test(none.left.message));
 * ```
 */
export function espeakVoice(lang: string): Either<SpeechError, string> {
  const entry = ESPEAK_VOICES[lang];
  if (!entry) {
    return E.left(speechError(
      "unsupported-language",
      `'${lang}' is not a Whisper language code; use one of ${LANGUAGE_CODES.join(", ")}`,
    ));
  }
  if ("unsupported" in entry) {
    return E.left(speechError(
      "unsupported-language",
      `no eSpeak NG voice speaks ${LANGUAGE_NAMES[lang]} (${lang}): ${entry.unsupported}; ` +
        `leave its sentences out of prior-based runs`,
    ));
  }
  return E.right(entry.voice);
}

/**
 * The Whisper languages eSpeak NG speaks, in Whisper's order.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { spokenLanguages } from "./voices.ts";
 * assert.ok(spokenLanguages().includes("en") && !spokenLanguages().includes("br"));
 * ```
 */
export function spokenLanguages(): string[] {
  return LANGUAGE_CODES.filter((c) => {
    const e = ESPEAK_VOICES[c];
    return e !== undefined && !("unsupported" in e);
  });
}
