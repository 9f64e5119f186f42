/**
 * `deno task length:calibrate`: fits lib/length's per-language speaking rates to eSpeak NG
 * durations and measures what that changes. Every sentence of --data is rendered with eSpeak NG
 * (durations cached in `<out>/durations.jsonl`, keyed by language, text and wpm); `calibrate()`
 * is fitted on the training part (rates only, pauses fixed at their defaults; then a second fit
 * with the pauses fitted too), and the frame estimate `frames(text, lang)` is scored on the
 * held-out part against the eSpeak durations, before (WHISPER_RATES) and after (the fitted
 * table). Writes `<out>/calibration.md` and `<out>/calibration.json` (whose `entries` load with
 * `rateTableFromJson`) and prints the markdown.
 *
 *   deno task length:calibrate [--data FILE] [--held-out X] [--out DIR] [--wpm N] [--quiet]
 */
import { fileURLToPath } from "node:url";
import { either as E } from "fp-ts";
import { type Sentence, splitHeldOut } from "../lib/data/mod.ts";
import { readSentences } from "./data.ts";
import { pathExists, writeFileAtomic } from "../lib/io.ts";
import {
  calibrate,
  type CalibrateOptions,
  type Calibration,
  type CalibrationPair,
  DEFAULT_PAUSES,
  frames,
  FRAMES_PER_SECOND,
  type Pauses,
  type RateEntry,
  type RateTable,
  WHISPER_RATES,
} from "../lib/length/mod.ts";
import { ESPEAK_VERSION, speak } from "../lib/speech/espeak.ts";
import { ESPEAK_VOICES, espeakVoice } from "../lib/speech/voices.ts";
import { commandLine, fail as failWith, plural, progressLine } from "./cli.ts";

const COMMAND = {
  name: "length:calibrate",
  usage: "deno task length:calibrate [options]",
  options: {
    data: {
      type: "string",
      arg: "FILE",
      help: "sentences to render and fit (default data/sentences.jsonl)",
    },
    "held-out": {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMin: true,
      exclusiveMax: true,
      default: 0.25,
      help: "fraction of each language held out for scoring, in (0, 1) (split by\n" +
        "text hash with splitHeldOut, seed 0)",
    },
    out: {
      type: "string",
      arg: "DIR",
      default: ".cache/length",
      help: "where durations.jsonl (the eSpeak NG cache), calibration.md and\n" +
        "calibration.json go",
    },
    wpm: {
      type: "int",
      min: 80,
      max: 450,
      default: 175,
      help: "eSpeak NG speaking rate, words per minute, 80-450",
    },
    quiet: {
      type: "boolean",
      help: "no progress or notes on stderr (the markdown is still printed)",
    },
  },
} as const;

function fail(message: string): never {
  return failWith(COMMAND.name, message);
}

const f = commandLine(COMMAND).values;
const heldOutFraction = f["held-out"], wpm = f.wpm;
const SEED = 0;
const dataPath = f.data ?? fileURLToPath(new URL("../data/sentences.jsonl", import.meta.url));
const dataName = f.data ?? "data/sentences.jsonl";
const outDir = f.out;
const cachePath = `${outDir}/durations.jsonl`;
const note = (message: string) => {
  if (!f.quiet) console.error(message);
};

/** Languages that have a voice whose durations are not usable, with the reason. */
const UNUSABLE: Readonly<Record<string, string>> = {
  ja: "eSpeak NG's ja voice reads kana but spells every kanji out as 'Chinese letter' " +
    "(lib/speech/voices.ts: measured unusable)",
};

const sentences = await readSentences(COMMAND.name, dataPath, { langFlag: null });
const languages = [...new Set(sentences.map((s) => s.lang))].sort();
const skipped = new Map<string, string>();
for (const lang of languages) {
  const voice = espeakVoice(lang);
  if (E.isLeft(voice)) skipped.set(lang, voice.left.message);
  else if (UNUSABLE[lang]) skipped.set(lang, UNUSABLE[lang]);
}
for (const [lang, why] of skipped) note(`skipping ${lang}: ${why}`);

// The duration cache: one JSON object per line; lines of another eSpeak NG build are dropped.
interface Duration {
  readonly lang: string;
  readonly text: string;
  readonly wpm: number;
  readonly voice: string;
  readonly seconds: number;
  readonly espeak: string;
}
const keyOf = (lang: string, text: string, rate: number) => JSON.stringify([lang, text, rate]);
const cache = new Map<string, Duration>();
if (await pathExists(cachePath)) {
  let bad = 0, stale = 0;
  for (const line of (await Deno.readTextFile(cachePath)).split("\n")) {
    if (line.trim() === "") continue;
    let d: Duration;
    try {
      d = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    if (
      typeof d?.lang !== "string" || typeof d.text !== "string" || typeof d.wpm !== "number" ||
      !(typeof d.seconds === "number" && d.seconds > 0)
    ) bad++;
    else if (d.espeak !== ESPEAK_VERSION) stale++;
    else cache.set(keyOf(d.lang, d.text, d.wpm), d);
  }
  if (bad + stale > 0) {
    note(`${cachePath}: ignored ${bad} malformed and ${stale} other-version lines`);
  }
}
const saveCache = () =>
  writeFileAtomic(
    cachePath,
    new TextEncoder().encode([...cache.values()].map((d) => JSON.stringify(d) + "\n").join("")),
  );

const usable = sentences.filter((s) => !skipped.has(s.lang));
const missing = [
  ...new Map(
    usable.filter((s) => !cache.has(keyOf(s.lang, s.text, wpm)))
      .map((s) => [keyOf(s.lang, s.text, wpm), s]),
  ).values(),
];
const failed: { lang: string; text: string; reason: string }[] = [];
if (missing.length > 0) {
  note(
    `rendering ${plural(missing.length, "sentence")} with eSpeak NG at ${wpm} wpm ` +
      `(${usable.length - missing.length} cached in ${cachePath})`,
  );
  const tty = Deno.stderr.isTerminal(), started = performance.now();
  const progress = progressLine({ quiet: f.quiet });
  let unsaved = 0;
  for (const [i, s] of missing.entries()) {
    const speech = await speak(s.text, { lang: s.lang, wpm })();
    if (E.isLeft(speech)) {
      failed.push({ lang: s.lang, text: s.text, reason: speech.left.message });
      note(`${tty ? "\n" : ""}${s.id}: ${speech.left.message}; left out`);
    } else {
      const { voice, seconds } = speech.right;
      cache.set(keyOf(s.lang, s.text, wpm), {
        lang: s.lang,
        text: s.text,
        wpm,
        voice,
        seconds,
        espeak: ESPEAK_VERSION,
      });
      if (++unsaved >= 50) {
        await saveCache();
        unsaved = 0;
      }
    }
    const done = i + 1, elapsed = (performance.now() - started) / 1000;
    progress.update(
      `rendered ${done}/${missing.length}, ${elapsed.toFixed(0)} s, about ` +
        `${(elapsed / done * (missing.length - done)).toFixed(0)} s left`,
      done === missing.length,
    );
  }
  progress.done();
  await saveCache();
}

// Pairs: sentences of the usable languages that have a duration.
interface Timed extends Sentence {
  readonly seconds: number;
}
const timed: Timed[] = usable.flatMap((s) => {
  const d = cache.get(keyOf(s.lang, s.text, wpm));
  return d ? [{ ...s, seconds: d.seconds }] : [];
});
const allSplit = splitHeldOut(sentences, { fraction: heldOutFraction, seed: SEED });
const heldOutIds = new Set(allSplit.heldOut.map((s) => s.id));
const train = timed.filter((s) => !heldOutIds.has(s.id));
const heldOut = timed.filter((s) => heldOutIds.has(s.id));
if (train.length === 0) fail("no training sentences with an eSpeak NG duration");
const pairs: CalibrationPair[] = train.map((s) => ({
  text: s.text,
  seconds: s.seconds,
  language: s.lang,
}));

const provenance = (e: RateEntry): RateEntry => ({
  ...e,
  source: `eSpeak NG durations (${ESPEAK_VERSION}, ${wpm} wpm) of the training sentences of ` +
    `${dataName} (held-out ${heldOutFraction}, seed ${SEED}); ${e.source}`,
});
const ratesOnly = calibrate(pairs);
if (E.isLeft(ratesOnly)) fail(ratesOnly.left.message);
const fit = ratesOnly.right;
const entries = fit.entries.map(provenance);

// Second fit: the pauses too, dropping terms the data cannot determine (single-sentence data
// has no sentence pauses between spoken parts), last to first.
const TERMS = ["clause", "sentence", "edge"] as const;
type Term = typeof TERMS[number];
const tries: Term[][] = [["clause", "sentence", "edge"], ["clause", "edge"], ["edge"]];
let withPauses: { fitted: Term[]; calibration: Calibration } | undefined;
const pauseErrors: string[] = [];
for (const terms of tries) {
  const options: CalibrateOptions = {
    fit: Object.fromEntries(terms.map((t) => [t, true])) as CalibrateOptions["fit"],
  };
  const r = calibrate(pairs, options);
  if (E.isRight(r)) {
    withPauses = { fitted: terms, calibration: r.right };
    break;
  }
  pauseErrors.push(`fitting ${terms.join(", ")}: ${r.left.message}`);
}
for (const e of pauseErrors) note(e);

// Scoring on the held-out part: frames(text, lang) / 50 against the eSpeak NG duration.
const estimate = (s: Timed, table: RateTable, pauses?: Pauses): number => {
  const est = frames(s.text, s.lang, { table, pauses });
  if (E.isLeft(est)) fail(`${s.id}: ${est.left.message}`);
  return est.right.frames / FRAMES_PER_SECOND;
};
interface Score {
  readonly mae: number;
  readonly rel: number;
}
const score = (xs: readonly Timed[], table: RateTable, pauses?: Pauses): Score => {
  if (xs.length === 0) return { mae: NaN, rel: NaN };
  let abs = 0, rel = 0;
  for (const s of xs) {
    const err = Math.abs(estimate(s, table, pauses) - s.seconds);
    abs += err;
    rel += err / s.seconds;
  }
  return { mae: abs / xs.length, rel: rel / xs.length };
};
const tableSource = (e: RateEntry): string =>
  e.code === "en"
    ? "anchor"
    : /Pellegrino/.test(e.source)
    ? "Pellegrino 2011"
    : /no UDHR text/.test(e.source)
    ? "related language"
    : "UDHR, d = 1.15";
const englishFit = fit.languages.find((l) => l.code === "en");
const rows = languages.map((lang) => {
  const before = WHISPER_RATES[lang];
  const n = (xs: readonly Sentence[]) => xs.filter((s) => s.lang === lang).length;
  const fitted = fit.languages.find((l) => l.code === lang);
  const held = heldOut.filter((s) => s.lang === lang);
  const pauseFit = withPauses?.calibration.languages.find((l) => l.code === lang);
  return {
    lang,
    unit: before.unit,
    tableSource: tableSource(before),
    skipped: skipped.get(lang),
    train: n(train),
    heldOut: n(heldOut),
    rateBefore: before.rate,
    rateAfter: fitted?.rate,
    // The fitted rate scaled so that English keeps the table's 2.7 words/s: eSpeak NG's
    // duration relative to English, in place of the table's assumed d.
    rateAfterAnchored: fitted && englishFit
      ? fitted.rate * WHISPER_RATES.en.rate / englishFit.rate
      : undefined,
    fitRmse: fitted?.rmse,
    before: score(held, WHISPER_RATES),
    after: score(held, fit.table),
    rateWithPauses: pauseFit?.rate,
    withPauses: withPauses
      ? score(held, withPauses.calibration.table, withPauses.calibration.pauses)
      : undefined,
  };
});
const scored = rows.filter((r) => r.skipped === undefined);
const overall = {
  train: train.length,
  heldOut: heldOut.length,
  before: score(heldOut, WHISPER_RATES),
  after: score(heldOut, fit.table),
  withPauses: withPauses
    ? score(heldOut, withPauses.calibration.table, withPauses.calibration.pauses)
    : undefined,
};

const fixedTerms = TERMS.filter((t) => !withPauses?.fitted.includes(t));
const fixedNote = fixedTerms.length === 0
  ? ""
  : ` (${fixedTerms.join(", ")} fixed at the default: the training pairs cannot determine ` +
    `${fixedTerms.length > 1 ? "them" : "it"})`;
const num = (x: number | undefined, digits: number) =>
  x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "-" : `${(100 * x).toFixed(1)}%`;
const secs = (p: Pauses) =>
  `clause ${p.clause.toFixed(3)} s, sentence ${p.sentence.toFixed(3)} s, edge ` +
  `${p.edge.toFixed(3)} s`;
const md = [
  `# lib/length rates calibrated to eSpeak NG`,
  ``,
  `Durations: ${ESPEAK_VERSION} at ${wpm} wpm, ${
    plural(timed.length, "sentence")
  } of \`${dataName}\` in ` +
  `${
    plural(scored.length, "language")
  }. Fit: \`calibrate()\` (least squares on seconds) on the training ` +
  `part (${
    plural(train.length, "sentence")
  }; held-out fraction ${heldOutFraction}, \`splitHeldOut\` seed ` +
  `${SEED}), rates only, pauses fixed at the defaults (${secs(DEFAULT_PAUSES)}). Scored on the ` +
  `${plural(heldOut.length, "held-out sentence")}: the estimate is \`frames(text, lang)\` / ` +
  `${FRAMES_PER_SECOND} (ceil to a frame, at least 25 frames), before with \`WHISPER_RATES\`, ` +
  `after with the fitted table; MAE is the mean absolute error in seconds against the eSpeak NG ` +
  `duration, rel. error the mean of |error| / duration. "table source" is where the rate ` +
  `before comes from.`,
  ``,
  `| lang | n train | n held-out | rate before | rate after | unit | MAE before (s) | ` +
  `MAE after (s) | rel. error before | rel. error after | table source |`,
  `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ...rows.map((r) =>
    `| ${r.lang} | ${r.train} | ${r.heldOut} | ${num(r.rateBefore, 2)} | ` +
    `${r.skipped ? "skipped" : num(r.rateAfter, 2)} | ${r.unit} | ${num(r.before.mae, 3)} | ` +
    `${num(r.after.mae, 3)} | ${pct(r.before.rel)} | ${pct(r.after.rel)} | ${r.tableSource} |`
  ),
  `| all | ${overall.train} | ${overall.heldOut} | | | | ${num(overall.before.mae, 3)} | ` +
  `${num(overall.after.mae, 3)} | ${pct(overall.before.rel)} | ${pct(overall.after.rel)} | |`,
  ``,
  `Training fit: RMSE ${fit.rmse.toFixed(3)} s, mean relative error ` +
  `${pct(fit.meanRelativeError)}.` +
  (englishFit
    ? ` eSpeak NG's English at ${wpm} wpm is ${englishFit.rate.toFixed(2)} words/s (the ` +
      `table's anchor: ${WHISPER_RATES.en.rate}); calibration.json also gives each fitted rate ` +
      `scaled so that English keeps ${WHISPER_RATES.en.rate} (\`rateAfterAnchored\`).`
    : ""),
  ``,
  ...(withPauses
    ? [
      `## Second fit: rates and pauses`,
      ``,
      `Fitted ${withPauses.fitted.join(", ")}${fixedNote}: ${
        secs(withPauses.calibration.pauses)
      }; ` +
      `training RMSE ` +
      `${withPauses.calibration.rmse.toFixed(3)} s. Held-out scores with these rates and pauses ` +
      `passed to \`frames()\`:`,
      ``,
      `| lang | rate | MAE (s) | rel. error |`,
      `| --- | --- | --- | --- |`,
      ...scored.map((r) =>
        `| ${r.lang} | ${num(r.rateWithPauses, 2)} | ${num(r.withPauses?.mae, 3)} | ` +
        `${pct(r.withPauses?.rel)} |`
      ),
      `| all | | ${num(overall.withPauses?.mae, 3)} | ${pct(overall.withPauses?.rel)} |`,
      ``,
    ]
    : [`Second fit (pauses too) failed: ${pauseErrors.join("; ")}`, ``]),
  ...(skipped.size > 0
    ? [`Skipped: ${[...skipped].map(([l, why]) => `${l} (${why})`).join("; ")}.`, ``]
    : []),
  ...(failed.length > 0
    ? [
      `Left out (eSpeak NG gave no duration): ${
        plural(failed.length, "sentence")
      }; see calibration.json.`,
    ]
    : []),
  `Caveat: these rates describe eSpeak NG at ${wpm} wpm, a synthetic speaker, not human speech.` +
  ` Voice notes: ${
    scored.flatMap((r) => {
      const v = ESPEAK_VOICES[r.lang];
      return v && "note" in v && v.note ? [`${r.lang}: ${v.note}`] : [];
    }).join("; ") || "none"
  }.`,
  ``,
].join("\n");

const report = {
  data: dataName,
  espeak: ESPEAK_VERSION,
  wpm,
  heldOut: heldOutFraction,
  seed: SEED,
  sentences: sentences.length,
  timed: timed.length,
  rendered: missing.length - failed.length,
  skipped: [...skipped].map(([lang, reason]) => ({ lang, reason })),
  failed,
  pauses: DEFAULT_PAUSES,
  /** The rates-only fit; load it with `rateTableFromJson` (lib/length/table_json.ts). */
  entries,
  fit: {
    rmse: fit.rmse,
    meanRelativeError: fit.meanRelativeError,
    languages: fit.languages,
  },
  withPauses: withPauses
    ? {
      fitted: withPauses.fitted,
      pauses: withPauses.calibration.pauses,
      rmse: withPauses.calibration.rmse,
      meanRelativeError: withPauses.calibration.meanRelativeError,
      entries: withPauses.calibration.entries.map(provenance),
    }
    : { error: pauseErrors.join("; ") },
  languages: rows,
  overall,
};
await writeFileAtomic(`${outDir}/calibration.md`, new TextEncoder().encode(md));
await writeFileAtomic(
  `${outDir}/calibration.json`,
  new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n"),
);
console.log(md);
note(`wrote ${outDir}/calibration.md and ${outDir}/calibration.json`);
