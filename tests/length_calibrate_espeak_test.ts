import assert from "@std/assert";
import { either as E } from "fp-ts";
import { orThrow } from "../lib/result.ts";
import {
  calibrate,
  type CalibrationPair,
  frames,
  FRAMES_PER_SECOND,
  type RateTable,
  rateTableFromJson,
  WHISPER_RATES,
} from "../lib/length/mod.ts";
import { speak } from "../lib/speech/espeak.ts";

const SENTENCES: readonly (readonly [string, string])[] = [
  ["en", "We walked home."],
  ["en", "The bakery opens early, before the first bus."],
  ["en", "She reads a book every night."],
  ["en", "My brother fixed the old red bicycle in the garden yesterday."],
  ["de", "Wir gehen heim."],
  ["de", "Die Kinder spielen im Garten, bis es dunkel wird."],
  ["de", "Der Zug kommt heute später."],
  ["de", "Meine Schwester hat gestern einen langen Brief an ihre Freundin geschrieben."],
];

/** Mean absolute and root-mean-square error of `predict` on `pairs`, seconds. */
const errors = (pairs: readonly CalibrationPair[], predict: (p: CalibrationPair) => number) => {
  const es = pairs.map((p) => predict(p) - p.seconds);
  return {
    mae: es.reduce((a, e) => a + Math.abs(e), 0) / es.length,
    rmse: Math.sqrt(es.reduce((a, e) => a + e * e, 0) / es.length),
  };
};
/** The linear model calibrate() fits (no ceil to frames, no clamp): frames().seconds. */
const seconds = (table: RateTable) => (p: CalibrationPair) =>
  orThrow(frames(p.text, p.language, { table })).seconds;
/** The frame estimate, in seconds. */
const frameSeconds = (table: RateTable) => (p: CalibrationPair) =>
  orThrow(frames(p.text, p.language, { table })).frames / FRAMES_PER_SECOND;

Deno.test("calibrate() on eSpeak NG durations lowers the error of English and German estimates", async () => {
  const pairs: CalibrationPair[] = [];
  for (const [language, text] of SENTENCES) {
    const speech = await orThrow(speak(text, { lang: language }));
    pairs.push({ text, seconds: speech.seconds, language });
  }
  const fit = orThrow(calibrate(pairs));
  assert.deepEqual(fit.languages.map((l) => [l.code, l.pairs]), [["en", 4], ["de", 4]]);
  for (const l of fit.languages) assert.ok(l.rate > 0.5 && l.rate < 10, `${l.code}: ${l.rate}`);

  // Least squares: the fitted rates minimise the squared error of the linear model, so no other
  // rates (WHISPER_RATES, or the fitted ones nudged by 5%) do better.
  const before = errors(pairs, seconds(WHISPER_RATES));
  const after = errors(pairs, seconds(fit.table));
  assert.ok(Math.abs(after.rmse - fit.rmse) < 1e-9, `${after.rmse} vs ${fit.rmse}`);
  assert.ok(after.rmse <= before.rmse + 1e-12, `RMSE ${after.rmse} vs ${before.rmse}`);
  for (const e of fit.entries) {
    for (const factor of [0.95, 1.05]) {
      const nudged = { ...fit.table, [e.code]: { ...e, rate: e.rate * factor } };
      assert.ok(errors(pairs, seconds(nudged)).rmse > after.rmse, `${e.code} x ${factor}`);
    }
  }
  // And the frame estimates themselves get closer to the eSpeak NG durations on average.
  const framesBefore = errors(pairs, frameSeconds(WHISPER_RATES));
  const framesAfter = errors(pairs, frameSeconds(fit.table));
  assert.ok(after.mae < before.mae, `MAE ${after.mae} vs ${before.mae}`);
  assert.ok(framesAfter.mae < framesBefore.mae, `MAE ${framesAfter.mae} vs ${framesBefore.mae}`);

  // The fitted entries survive a JSON round trip through rateTableFromJson().
  const loaded = orThrow(rateTableFromJson(JSON.stringify({ entries: fit.entries })));
  assert.deepEqual(loaded, fit.table);
});

Deno.test("rateTableFromJson() applies partial entries over WHISPER_RATES and names bad input", () => {
  const table = orThrow(rateTableFromJson([{ code: "de", rate: 3 }]));
  assert.equal(table.de.rate, 3);
  assert.equal(table.de.unitsPerEnglishWord, WHISPER_RATES.de.unitsPerEnglishWord);
  assert.match(table.de.source, /loaded from JSON/);
  assert.equal(table.en, WHISPER_RATES.en);
  assert.equal(WHISPER_RATES.de.rate, 2.18);

  const message = (json: unknown) => {
    const r = rateTableFromJson(json);
    if (E.isRight(r)) throw new Error(`expected an error for ${JSON.stringify(json)}`);
    assert.equal(r.left.kind, "invalid-option");
    assert.match(r.left.message, /^rateTableFromJson\(\): /);
    return r.left.message;
  };
  assert.match(message("{not json"), /not valid JSON/);
  assert.match(
    message({ rates: [] }),
    /list of rate entries or an object with one under 'entries'/,
  );
  assert.match(message([]), /empty/);
  assert.match(
    message([{ code: "de", rate: 0 }]),
    /entries\[0\]\.rate \(de\) must be .*> 0.*got 0/,
  );
  assert.match(message([{ code: "de", rate: "3" }]), /entries\[0\]\.rate \(de\).*got "3"/);
  assert.match(message([{ code: "German", rate: 3 }]), /entries\[0\]\.code must be a lower-case/);
  assert.match(message([{ code: "de", rate: 3, unit: "mora" }]), /unit \(de\) must be one of/);
  assert.match(message([{ code: "xx", rate: 3 }]), /entries\[0\]\.name is missing: 'xx' is not/);
  assert.match(
    message([{ code: "de", rate: 3 }, { code: "de", rate: 4 }]),
    /entries\[1\]\.code 'de' repeats entries\[0\]/,
  );
  assert.match(message([null, { code: "en", rate: -1 }]), /entries\[0\].*; entries\[1\]\.rate/);

  // A code the base table lacks is accepted with every field given.
  const added = orThrow(rateTableFromJson({
    entries: [{
      code: "xx",
      name: "Test",
      unit: "word",
      rate: 2,
      unitsPerEnglishWord: 1,
      source: "test",
    }],
  }));
  assert.equal(orThrow(frames("one two three four", "xx", { table: added })).seconds, 2);
});
