import assert from "@std/assert";
import { either as E } from "fp-ts";
import { createRng, randint, type Rng } from "../lib/random.ts";
import {
  calibrate,
  type CalibrationPair,
  frames,
  measure,
  splitSegments,
  WHISPER_RATES,
} from "../lib/length/mod.ts";
import { orThrow } from "../lib/result.ts";

/** The error of a result that must have failed. */
const leftOf = <A>(r: E.Either<{ kind: string; message: string }, A>) => {
  if (E.isRight(r)) throw new Error("expected an error, got a result");
  return r.left;
};

const VOCAB: Record<string, readonly string[]> = {
  en: ["the", "river", "quiet", "morning", "walked", "slowly", "bright", "garden", "we", "sang"],
  de: ["der", "Fluss", "ruhig", "Morgen", "gingen", "langsam", "hell", "Garten", "wir", "sangen"],
  zh: ["我", "们", "今", "天", "去", "公", "园", "散", "步", "吧", "河", "边"],
  ja: ["きょう", "は", "こうえん", "に", "いきます", "天気", "散歩", "とても"],
};
const SPACED = new Set(["en", "de"]);

/** A random sentence: 3-40 vocabulary items, with a comma or a full stop after some of them. */
const sentence = (lang: string, rng: Rng): string => {
  const words = VOCAB[lang], n = 3 + randint(38, rng);
  const sep = SPACED.has(lang) ? " " : "";
  const [comma, stop] = SPACED.has(lang) ? [",", "."] : ["，", "。"];
  let out = "";
  for (let i = 0; i < n; i++) {
    out += words[randint(words.length, rng)];
    const p = rng.nextFloat();
    if (i < n - 1) out += (p < 0.12 ? comma : p < 0.2 ? stop : "") + sep;
  }
  return out + stop;
};

/** Synthetic measured pairs from planted rates and pauses, plus seeded Gaussian noise. */
const synth = (
  planted: Record<string, number>,
  pauses: { clause: number; sentence: number; edge: number },
  options: { rng: Rng; perLanguage: number; noise: number },
): CalibrationPair[] =>
  Object.entries(planted).flatMap(([language, rate]) =>
    Array.from({ length: options.perLanguage }, () => {
      const text = sentence(language, options.rng);
      const m = orThrow(measure(text, language));
      const seconds = m.units / rate + m.clauses * pauses.clause + m.sentences * pauses.sentence +
        pauses.edge + options.noise * options.rng.normal();
      return { text, seconds, language };
    })
  );

Deno.test("calibrate() recovers planted rates and pauses from noisy synthetic pairs", () => {
  const planted = { en: 3.1, de: 2.0, zh: 4.6, ja: 7.0 };
  const pauses = { clause: 0.2, sentence: 0.45, edge: 0.3 };
  const pairs = synth(planted, pauses, { rng: createRng(1), perLanguage: 150, noise: 0.05 });
  const fit = orThrow(
    calibrate(pairs, { fit: { clause: true, sentence: true, edge: true } }),
  );
  for (const [code, rate] of Object.entries(planted)) {
    const got = fit.table[code].rate;
    assert.ok(Math.abs(got / rate - 1) < 0.02, `${code}: fitted ${got}, planted ${rate}`);
    assert.match(fit.table[code].source, /fitted by calibrate\(\) from 150 measured pairs/);
  }
  assert.ok(Math.abs(fit.pauses.clause - 0.2) < 0.03, `clause ${fit.pauses.clause}`);
  assert.ok(Math.abs(fit.pauses.sentence - 0.45) < 0.03, `sentence ${fit.pauses.sentence}`);
  assert.ok(Math.abs(fit.pauses.edge - 0.3) < 0.03, `edge ${fit.pauses.edge}`);
  // The residual is the planted noise: RMSE close to 0.05 s.
  assert.ok(fit.rmse > 0.04 && fit.rmse < 0.06, `rmse ${fit.rmse}`);
  assert.equal(fit.entries.length, 4);
  assert.equal(fit.table.fr, WHISPER_RATES.fr); // languages without pairs are left alone
  // The fitted table plugs into frames().
  const r = orThrow(frames("the river", "en", { table: fit.table, pauses: fit.pauses }));
  assert.equal(r.rate, fit.table.en.rate);
});

Deno.test("calibrate() with fixed pauses and exact pairs recovers rates exactly", () => {
  const planted = { en: 2.5, zh: 3.9 };
  const pauses = { clause: 0.15, sentence: 0.35, edge: 0 }; // the defaults
  const pairs = synth(planted, pauses, { rng: createRng(2), perLanguage: 20, noise: 0 });
  const fit = orThrow(calibrate(pairs));
  assert.ok(Math.abs(fit.table.en.rate - 2.5) < 1e-9);
  assert.ok(Math.abs(fit.table.zh.rate - 3.9) < 1e-9);
  assert.ok(fit.rmse < 1e-9 && fit.meanRelativeError < 1e-9);
  assert.deepEqual(fit.languages.map((l) => [l.code, l.pairs, l.previousRate]), [
    ["en", 20, 2.7],
    ["zh", 20, 3.48],
  ]);
});

Deno.test("calibrate() names invalid pairs and terms the data cannot determine", () => {
  const bad = leftOf(calibrate([
    { text: "fine words here", seconds: 1, language: "en" },
    { text: "", seconds: 1, language: "en" },
    { text: "words", seconds: -2, language: "en" },
    { text: "words", seconds: 1, language: "klingon" },
  ]));
  assert.equal(bad.kind, "invalid-pairs");
  assert.match(bad.message, /pair 1: text is empty.*pair 2: seconds.*pair 3: unknown language/);
  assert.equal(leftOf(calibrate([])).kind, "invalid-pairs");
  // No pair has a comma, so a clause pause cannot be fitted.
  const noCommas = [
    { text: "one two three", seconds: 1.2, language: "en" },
    { text: "one two three four five six", seconds: 2.3, language: "en" },
  ];
  const collinear = leftOf(calibrate(noCommas, { fit: { clause: true } }));
  assert.equal(collinear.kind, "fit-failed");
  assert.match(collinear.message, /pause 'clause'.*fix that pause/);
  const neg = leftOf(calibrate([{ text: "one two", seconds: 0.1, language: "en" }], {
    pauses: { edge: 1 },
  }));
  assert.match(neg.message, /rate of 'en' is not positive/);
});

const LONG: Record<string, string> = {
  en: "The committee met on Tuesday, and after a long discussion it agreed to postpone the vote. "
    .repeat(30),
  zh: "委员会周二开会，经过长时间讨论，同意推迟投票。".repeat(60),
  th: "คณะกรรมการประชุมกันในวันอังคารและหลังจากหารือกันนานก็ตกลงเลื่อนการลงคะแนน".repeat(30),
  // One endless sentence without punctuation: only word boundaries are left to cut at.
  de: Array.from({ length: 400 }, (_, i) => ["und", "dann", "noch", "etwas"][i % 4]).join(" "),
};

Deno.test("splitSegments() keeps every piece within 1500 frames and reassembles the input", () => {
  for (const [lang, text] of Object.entries(LONG)) {
    assert.ok(orThrow(frames(text, lang)).seconds > 30, `${lang} sample is not long`);
    for (const options of [{}, { maxFrames: 500 }, { rng: createRng(4), sigma: 0.3 }]) {
      const pieces = orThrow(splitSegments(text, lang, options));
      const max = (options as { maxFrames?: number }).maxFrames ?? 1500;
      assert.ok(pieces.length >= 2, lang);
      assert.equal(pieces.map((p) => p.text).join(""), text, `${lang}: pieces do not reassemble`);
      for (const p of pieces) {
        // frames() clamps to max, so without jitter check that no piece was clamped (cut
        // short); jitter may push a piece past the limit, and frames() then clamps it.
        if (!("rng" in options)) {
          assert.notEqual(
            p.clamped,
            "max",
            `${lang}: piece of ${p.seconds.toFixed(2)} s clamped to ${max}`,
          );
        }
        assert.ok(p.frames <= max, `${lang}: piece of ${p.frames} frames`);
        assert.equal(text.slice(p.start, p.start + p.text.length), p.text);
        assert.ok(p.units > 0, `${lang}: empty piece`);
      }
    }
  }
});

Deno.test("splitSegments() cuts at sentence ends before clauses and words", () => {
  const en = orThrow(splitSegments(LONG.en, "en"));
  for (const p of en.slice(0, -1)) assert.match(p.text, /\. $/);
  const zh = orThrow(splitSegments(LONG.zh, "zh"));
  for (const p of zh.slice(0, -1)) assert.match(p.text, /。$/);
  // A single sentence too long for one piece is cut at its commas.
  const oneSentence = Array.from({ length: 40 }, (_, i) => `clause number ${i} goes on a while`)
    .join(", ") + ".";
  const pieces = orThrow(splitSegments(oneSentence, "en", { maxFrames: 400 }));
  for (const p of pieces.slice(0, -1)) assert.match(p.text, /, $/);
  // Short text is one piece, equal to frames().
  const short = orThrow(splitSegments("Just this.", "en"));
  assert.equal(short.length, 1);
  assert.equal(short[0].frames, orThrow(frames("Just this.", "en")).frames);
  assert.ok(E.isLeft(splitSegments("", "en")));
  assert.ok(E.isLeft(splitSegments("text", "xx")));
});
