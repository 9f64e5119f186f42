import assert from "@std/assert";
import { either as E } from "fp-ts";
import { createRng } from "../lib/random.ts";
import {
  frames,
  jitterFactor,
  measure,
  numberWords,
  resolveLanguage,
  WHISPER_RATES,
} from "../lib/length/mod.ts";
import { orThrow } from "../lib/result.ts";

// Expected values below are bands, not exact figures: the rate table is an uncalibrated estimate
// (see lib/length/rates.ts), so the tests pin down behaviour and orders of magnitude, and leave
// exact rates to calibrate().

const est = (text: string, language: string, options = {}) =>
  orThrow(frames(text, language, options));

/** Whisper's 99 multilingual language codes (tokenizer order) plus "yue" (large-v3). */
const WHISPER_CODES = (
  "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th " +
  "ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa " +
  "si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln " +
  "ha ba jw su yue"
).split(" ");

/** One sentence per script type, without digits (digit prefixes are not monotone: 198 > 1984). */
const SAMPLES: Record<string, string> = {
  en: "The weather is very nice today, so let's go for a walk in the park.",
  ru: "Сегодня очень хорошая погода, давайте погуляем в парке.",
  hi: "आज मौसम बहुत अच्छा है, चलो पार्क में टहलने चलते हैं।",
  ar: "الطقس جميل جدا اليوم، لنذهب للتنزه في الحديقة.",
  zh: "今天天气很好，我们一起去公园散步吧。",
  yue: "今日天氣好好，我哋一齊去公園行下啦。",
  ja: "今日はとても良い天気なので、公園に散歩に行きましょう。",
  ko: "오늘 날씨가 정말 좋네요, 공원에 산책하러 갑시다.",
  th: "วันนี้อากาศดีมาก เราไปเดินเล่นที่สวนสาธารณะกันเถอะ",
  lo: "ມື້ນີ້ອາກາດດີຫຼາຍ ພວກເຮົາໄປຍ່າງຫຼິ້ນຢູ່ສວນສາທາລະນະກັນເທາະ",
  km: "ថ្ងៃនេះអាកាសធាតុល្អណាស់ តោះទៅដើរលេងនៅសួនច្បារ។",
  my: "ဒီနေ့ ရာသီဥတု အရမ်းကောင်းတယ်၊ ပန်းခြံထဲ လမ်းလျှောက်ကြရအောင်။",
  bo: "དེ་རིང་གནམ་གཤིས་ཡག་པོ་འདུག །ང་ཚོ་གླིང་ག་ལ་འགྲོ།",
};

Deno.test("frames() is monotone in text length for each script type", () => {
  // Prefixes at word boundaries (Intl.Segmenter also cuts Chinese, Thai, Khmer, ... into words).
  // Monotone means never shorter; the whole sentence must also be clearly longer than its first
  // word. (Strictly longer at every step is not promised: the Khmer estimate pairs up bare
  // consonants, so one more bare letter can complete a syllable without adding one.)
  for (const [lang, text] of Object.entries(SAMPLES)) {
    const seg = new Intl.Segmenter(lang, { granularity: "word" });
    const cuts = [...seg.segment(text)].filter((s) => s.isWordLike).map((s) => s.index);
    const ends = [...cuts.slice(1), text.length];
    const runs = ends.map((end) => est(text.slice(0, end), lang, { minFrames: 1 }));
    runs.slice(1).forEach((r, i) => {
      const at = `${lang}: '${text.slice(0, ends[i + 1])}'`;
      assert.ok(r.seconds >= runs[i].seconds, `${at} is shorter than its prefix`);
      assert.ok(r.frames >= runs[i].frames, `${at} has fewer frames than its prefix`);
    });
    assert.ok(runs.length >= 3 && runs[runs.length - 1].seconds > 2 * runs[0].seconds, lang);
  }
  // Repeating a sentence grows the estimate step by step in every script, up to the cap.
  for (const [lang, text] of Object.entries(SAMPLES)) {
    const counts = [1, 2, 3, 4, 8].map((n) => est(text.repeat(n), lang).frames);
    counts.slice(1).forEach((c, i) => assert.ok(c > counts[i] || c === 1500, `${lang}: ${counts}`));
  }
});

Deno.test("frames() gives sensible absolute values", () => {
  // Ten English words at the anchor rate of 2.7 words/s: 3.7 s, i.e. 150-200 frames.
  const en = est("The quick brown fox jumps over the lazy sleeping dog.", "en");
  assert.ok(en.frames >= 150 && en.frames <= 200, `English 10 words: ${en.frames} frames`);
  // Twenty Han characters and one comma. One character carries about 1 / 1.49 English word
  // (UDHR ratio), so this is the content of ~13 English words (4.9 s), and read Mandarin takes
  // ~16% longer for the same content (Pellegrino et al. 2011): ~5.9 s. Band: 4.5-6.5 s.
  const zhText = "我们明天早上八点在学校门口见面，然后一起去。";
  assert.equal(orThrow(measure(zhText, "zh")).units, 20);
  const zh = est(zhText, "zh");
  assert.ok(zh.seconds >= 4.5 && zh.seconds <= 6.5, `Chinese 20 characters: ${zh.seconds} s`);
  // The same content (the SAMPLES are translations of the English sentence) lands within a
  // factor of 2 in every script: a coarse check that catches unit mistakes (characters counted
  // as words would be off by 3-5x). Measured: 0.56 (bo) to 1.04 (ja) times English.
  const base = est(SAMPLES.en, "en").seconds;
  for (const lang of Object.keys(SAMPLES)) {
    const ratio = est(SAMPLES[lang], lang).seconds / base;
    assert.ok(ratio > 0.5 && ratio < 2, `${lang}: ${ratio.toFixed(2)} x English`);
  }
  // A one-word text is raised to the minimum of 25 frames (0.5 s).
  const hi = est("Hi.", "en");
  assert.deepEqual([hi.frames, hi.clamped], [25, "min"]);
});

Deno.test("every Whisper language has an entry with a unit, a rate and a source", () => {
  assert.deepEqual(Object.keys(WHISPER_RATES).sort(), [...WHISPER_CODES].sort());
  for (const code of WHISPER_CODES) {
    const e = WHISPER_RATES[code];
    assert.equal(e.code, code);
    assert.ok(e.rate > 0.5 && e.rate < 12, `${code}: rate ${e.rate}`);
    assert.ok(e.unitsPerEnglishWord > 0.3 && e.unitsPerEnglishWord < 5, code);
    assert.ok(e.name.length > 0 && e.source.length > 40, code);
  }
  // Scripts without spaces (or with syllable blocks) are not counted in words.
  const nonWord = ["zh", "yue", "ja", "ko", "th", "lo", "km", "my", "bo"];
  for (const code of nonWord) assert.notEqual(WHISPER_RATES[code].unit, "word", code);
  for (const code of ["en", "ru", "ar", "hi", "he", "el", "ka", "am", "vi"]) {
    assert.equal(WHISPER_RATES[code].unit, "word", code);
  }
  assert.match(WHISPER_RATES.en.source, /WhisperSpeech's default 15/);
});

Deno.test("measure() counts syllables, morae and letters in scripts without spaces", () => {
  const units = (text: string, lang: string) => orThrow(measure(text, lang)).parts.native;
  assert.equal(units("កម្ពុជា", "km"), 3); // kam-pu-chea
  assert.equal(units("ច្រើន", "km"), 1); // final consonant is not a syllable
  assert.equal(units("မြန်မာ", "my"), 2); // myan-ma (asat kills the final)
  assert.equal(units("བོད་ཀྱི་སྐད་ཡིག", "bo"), 4); // tsheg-separated
  assert.equal(units("안녕하세요", "ko"), 5);
  assert.equal(units("きょう", "ja"), 2); // kyo-u: small yo joins ki
  assert.equal(units("天気", "ja"), 3.6); // 1.8 morae per kanji (estimate)
  assert.equal(units("สวัสดี", "th"), 4); // letters, combining vowels not counted
});

Deno.test("numbers and acronyms count more than their character length suggests", () => {
  const units = (text: string, lang: string) => orThrow(measure(text, lang)).units;
  assert.ok(units("in 1984", "en") > units("in abcd", "en"));
  assert.ok(units("the NASA probe", "en") > units("the nasa probe", "en"));
  assert.ok(units("the U.S. army", "en") > units("the us army", "en"));
  assert.ok(units("我有1234567个", "zh") > units("我有abcdefg个", "zh") + 5);
  assert.ok(units("我有1234567个", "zh") > units("我有一二三四五六七个", "zh"));
  // Digit groups: years in pairs, cardinals by groups of three, decimals digit by digit.
  assert.deepEqual(
    ["1984", "2000", "2024", "1,000,000", "3.14", "007", "12", "1234567890123"].map(numberWords),
    [3, 2, 3, 2, 4, 3, 1, 13],
  );
  // Text that is all capitals is shouting, not acronyms.
  assert.equal(units("STOP THAT NOW", "en"), 3);
});

Deno.test("frames() jitter is reproducible under a seed and centred on the estimate", () => {
  const text = "A sentence of moderate length, jittered for training.";
  const run = (seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: 50 }, () => est(text, "en", { rng, sigma: 0.2 }).frames);
  };
  assert.deepEqual(run(11), run(11));
  assert.notDeepEqual(run(11), run(12));
  const base = est(text, "en");
  assert.ok(run(11).some((f) => f !== base.frames));
  // Mean of the factor is 1 (log-normal with mu = -sigma^2 / 2); tolerance 5 standard errors.
  const rng = createRng(3), n = 20000, sigma = 0.1;
  const xs = Array.from({ length: n }, () => jitterFactor({ rng, sigma }));
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  assert.ok(Math.abs(mean - 1) < (5 * sd) / Math.sqrt(n), `mean factor ${mean}`);
  assert.ok(Math.abs(sd - 0.1) < 0.005, `sd ${sd}`);
  assert.equal(est(text, "en", { rng: createRng(1), sigma: 0 }).frames, base.frames);
  // Jitter never leaves [minFrames, maxFrames].
  const rng2 = createRng(5);
  for (let i = 0; i < 200; i++) {
    const f = est("Go.", "en", { rng: rng2, sigma: 1, maxFrames: 40 }).frames;
    assert.ok(f >= 25 && f <= 40);
  }
});

Deno.test("frames() rejects empty text, unknown languages, bad options and (on request) long text", () => {
  const fail = (
    r: E.Either<{ kind: string; message: string }, unknown>,
    kind: string,
    re: RegExp,
  ) => {
    if (E.isRight(r)) throw new Error(`expected a ${kind} error`);
    assert.equal(r.left.kind, kind);
    assert.match(r.left.message, re);
  };
  fail(frames("", "en"), "empty-text", /empty/);
  fail(frames("   \n", "en"), "empty-text", /empty/);
  fail(frames("... !!", "en"), "empty-text", /nothing to say/);
  fail(frames("hello", "xx"), "unknown-language", /unknown language 'xx'.*Nearest codes: /);
  fail(frames("hello", "jv"), "unknown-language", /'jw' \(Javanese\)/);
  fail(frames("hello", "en", { maxFrames: 2000 }), "invalid-option", /maxFrames.*1500/);
  fail(frames("hello", "en", { minFrames: 0 }), "invalid-option", /minFrames/);
  fail(frames("hello", "en", { sigma: -1 }), "invalid-option", /sigma/);
  const long = "This sentence is one of many in a very long text. ".repeat(40);
  fail(
    frames(long, "en", { overflow: "error" }),
    "too-long",
    /limit of 1500 frames.*splitSegments/,
  );
  const clamped = est(long, "en");
  assert.deepEqual([clamped.frames, clamped.clamped], [1500, "max"]);
  assert.ok(clamped.seconds > 30);
  assert.throws(() => orThrow(frames("", "en")), /empty/);
});

Deno.test("resolveLanguage() accepts codes, names, Whisper aliases and BCP 47 tags", () => {
  const code = (s: string) => {
    const r = resolveLanguage(s);
    return E.isRight(r) ? r.right.code : r.left.message;
  };
  assert.deepEqual(
    ["EN", "German", "mandarin", "Cantonese", "pt-BR", "zh_TW", "haitian creole", "burmese"].map(
      code,
    ),
    ["en", "de", "zh", "yue", "pt", "zh", "ht", "my"],
  );
});

Deno.test("measure() counts pauses around clock times and sentence-final abbreviations", () => {
  const dotted = orThrow(measure("Meet at 10:30 in the U.S. Then go.", "en"));
  const plain = orThrow(measure("Meet at ten thirty in the US. Then go.", "en"));
  assert.equal(dotted.clauses, 0); // "10:30" is a time, not a clause break
  assert.equal(dotted.sentences, plain.sentences); // "U.S." also ends its sentence
  assert.equal(dotted.sentences, 1);
});
