/**
 * Fitting speaking rates from measured (text, seconds, language) pairs by least squares:
 * `seconds = units * (1 / rate[language]) + clauses * clause + sentences * sentence + edge`,
 * with one rate per language present and, optionally, the pause terms shared by all.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { type LengthError, lengthError } from "./errors.ts";
import { DEFAULT_PAUSES, type Pauses } from "./frames.ts";
import { withRates } from "./language.ts";
import { measure, type Measurement } from "./measure.ts";
import { type RateEntry, type RateTable, WHISPER_RATES } from "./rates.ts";

/** A text with the measured duration of its speech, in seconds. */
export interface CalibrationPair {
  /** The text that was spoken. */
  readonly text: string;
  /** Duration of its speech, seconds (> 0). */
  readonly seconds: number;
  /** Its language: a Whisper code, name or alias. */
  readonly language: string;
}

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  /** The table whose entries are refitted (default `WHISPER_RATES`). */
  readonly table?: RateTable;
  /** Pause seconds held fixed (default `DEFAULT_PAUSES`) for the terms not fitted. */
  readonly pauses?: Partial<Pauses>;
  /** Pause terms to fit together with the rates (default: none, rates only). */
  readonly fit?: {
    readonly clause?: boolean;
    readonly sentence?: boolean;
    readonly edge?: boolean;
  };
}

/** The fit for one language. */
export interface LanguageFit {
  /** The language's Whisper code. */
  readonly code: string;
  /** Pairs of this language used in the fit. */
  readonly pairs: number;
  /** Fitted rate, units per second. */
  readonly rate: number;
  /** The table's rate before fitting. */
  readonly previousRate: number;
  /** Root-mean-square error of this language's pairs, seconds. */
  readonly rmse: number;
}

/** The result of {@link calibrate}. */
export interface Calibration {
  /** Fitted entries, one per language present, with a `source` saying how they were fitted. */
  readonly entries: RateEntry[];
  /** The input table with the fitted entries replaced: pass it to `frames()` as `table`. */
  readonly table: RateTable;
  /** The pause seconds used: fitted where asked, fixed otherwise. */
  readonly pauses: Pauses;
  /** Root-mean-square error over all pairs, seconds. */
  readonly rmse: number;
  /** Mean of |predicted - measured| / measured over all pairs. */
  readonly meanRelativeError: number;
  /** Per-language fits, one per language present. */
  readonly languages: LanguageFit[];
}

const PAUSE_TERMS = ["clause", "sentence", "edge"] as const;

/** Solves the symmetric positive definite system `a x = b` (Cholesky), or gives the index of
 * the first pivot that is not clearly positive (a term the data cannot determine). */
const solveSpd = (a: number[][], b: number[]): number[] | number => {
  const n = b.length, l = a.map((row) => row.map(() => 0));
  for (let j = 0; j < n; j++) {
    let d = a[j][j];
    for (let k = 0; k < j; k++) d -= l[j][k] ** 2;
    if (!(d > 1e-10 * Math.max(1, a[j][j]))) return j;
    l[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
  const y = [...b];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) y[i] -= l[i][k] * y[k];
    y[i] /= l[i][i];
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) y[i] -= l[k][i] * y[k];
    y[i] /= l[i][i];
  }
  return y;
};

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Fits the rates of the languages in `pairs` (and the pause terms named in `options.fit`) by
 * least squares on seconds. Fails with a `LengthError` naming the pairs that are invalid
 * (empty text, unknown language, seconds not > 0), or the term that the data cannot determine.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { calibrate } from "./calibrate.ts";
 * import { orThrow } from "../result.ts";
 * const pairs = [
 *   { text: "one two three four five six", seconds: 2, language: "en" },
 *   { text: "one two three", seconds: 1, language: "en" },
 * ];
 * const fit = orThrow(calibrate(pairs, { pauses: { clause: 0, sentence: 0, edge: 0 } }));
 * assert.ok(Math.abs(fit.entries[0].rate - 3) < 1e-9); // 9 words in 3 s
 * assert.ok(fit.rmse < 1e-9);
 * ```
 */
export function calibrate(
  pairs: readonly CalibrationPair[],
  options: CalibrateOptions = {},
): Either<LengthError, Calibration> {
  const table = options.table ?? WHISPER_RATES;
  const fixed: Pauses = { ...DEFAULT_PAUSES, ...options.pauses };
  const fitted = PAUSE_TERMS.filter((t) => options.fit?.[t] === true);
  for (const [k, v] of Object.entries(options.pauses ?? {})) {
    if (!(v >= 0 && Number.isFinite(v))) {
      return E.left(
        lengthError("invalid-option", `calibrate(): pauses.${k} must be >= 0, got ${v}`),
      );
    }
  }
  if (!Array.isArray(pairs) || pairs.length === 0) {
    return E.left(lengthError("invalid-pairs", "calibrate(): pass at least one pair"));
  }
  const problems: string[] = [], ms: Measurement[] = [];
  pairs.forEach((p, i) => {
    if (!(p.seconds > 0 && Number.isFinite(p.seconds))) {
      problems.push(`pair ${i}: seconds must be finite and > 0, got ${p.seconds}`);
    }
    const m = measure(p.text, p.language, { table });
    if (E.isLeft(m)) problems.push(`pair ${i}: ${m.left.message}`);
    else ms.push(m.right);
  });
  if (problems.length > 0) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
    return E.left(
      lengthError("invalid-pairs", `calibrate(): ${problems.slice(0, 5).join("; ")}${more}`),
    );
  }
  const codes = [...new Set(ms.map((m) => m.language))];
  const names = [...codes.map((c) => `rate of '${c}'`), ...fitted.map((t) => `pause '${t}'`)];
  const row = (m: Measurement): number[] => [
    ...codes.map((c) => (c === m.language ? m.units : 0)),
    ...fitted.map((t) => (t === "clause" ? m.clauses : t === "sentence" ? m.sentences : 1)),
  ];
  const fixedPart = (m: Measurement) =>
    PAUSE_TERMS.filter((t) => !fitted.includes(t)).reduce(
      (a, t) => a + fixed[t] * (t === "clause" ? m.clauses : t === "sentence" ? m.sentences : 1),
      0,
    );
  const n = names.length;
  const ata = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const aty = new Array<number>(n).fill(0);
  ms.forEach((m, i) => {
    const x = row(m), y = pairs[i].seconds - fixedPart(m);
    for (let a = 0; a < n; a++) {
      aty[a] += x[a] * y;
      for (let b = 0; b < n; b++) ata[a][b] += x[a] * x[b];
    }
  });
  const beta = solveSpd(ata, aty);
  if (typeof beta === "number") {
    return E.left(lengthError(
      "fit-failed",
      `calibrate(): the pairs cannot determine the ${names[beta]} separately from the other ` +
        "terms: add pairs whose pause counts vary independently of their length, or fix that " +
        "pause (options.pauses) instead of fitting it.",
    ));
  }
  const bad = beta.findIndex((v, i) => (i < codes.length ? !(v > 0) : v < 0));
  if (bad >= 0) {
    const what = bad < codes.length
      ? `${names[bad]} is not positive (${beta[bad].toFixed(4)} s per unit)`
      : `${names[bad]} is negative (${beta[bad].toFixed(4)} s)`;
    return E.left(lengthError(
      "fit-failed",
      `calibrate(): the fitted ${what}: check the pairs' seconds, or fix the pause terms ` +
        "(options.pauses) instead of fitting them.",
    ));
  }
  const pauses: Pauses = {
    ...fixed,
    ...Object.fromEntries(fitted.map((t, j) => [t, beta[codes.length + j]])),
  };
  const errs = ms.map((m, i) => {
    const x = row(m);
    return x.reduce((a, v, j) => a + v * beta[j], fixedPart(m)) - pairs[i].seconds;
  });
  const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, e) => a + e * e, 0) / xs.length);
  const languages: LanguageFit[] = codes.map((code, j) => ({
    code,
    pairs: ms.filter((m) => m.language === code).length,
    rate: 1 / beta[j],
    previousRate: table[code].rate,
    rmse: rms(errs.filter((_, i) => ms[i].language === code)),
  }));
  const entries = languages.map((f): RateEntry => ({
    ...table[f.code],
    rate: f.rate,
    source: `fitted by calibrate() from ${f.pairs} measured pairs (RMSE ${round(f.rmse, 3)} s); ` +
      `the table said ${f.previousRate}`,
  }));
  return E.right({
    entries,
    table: withRates(table, entries),
    pauses,
    rmse: rms(errs),
    meanRelativeError: errs.reduce((a, e, i) => a + Math.abs(e) / pairs[i].seconds, 0) /
      errs.length,
    languages,
  });
}
