/**
 * Loading a calibrated rate table from JSON (for example the `entries` that
 * `scripts/length_calibrate.ts` writes to `calibration.json`): the entries are checked one by
 * one and applied to a base table with `withRates`.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { type LengthError, lengthError } from "./errors.ts";
import { withRates } from "./language.ts";
import { type RateEntry, type RateTable, type Unit, WHISPER_RATES } from "./rates.ts";

const UNITS: readonly Unit[] = ["word", "char", "syllable"];
const CODE = /^[a-z]{2,3}$/;

const shown = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined || typeof v === "function") return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
};
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks entry `i`, filling the fields it leaves out from `base`; a list of problems if bad. */
const checkEntry = (
  raw: unknown,
  i: number,
  base: RateTable,
): Either<string[], RateEntry> => {
  const at = `entries[${i}]`;
  if (!isRecord(raw)) return E.left([`${at} must be an object, got ${shown(raw)}`]);
  const code = raw.code;
  if (typeof code !== "string" || !CODE.test(code)) {
    return E.left([
      `${at}.code must be a lower-case Whisper language code ("en", "haw"), got ${shown(code)}`,
    ]);
  }
  const known = base[code];
  const problems: string[] = [];
  const field = (
    key: "name" | "unit" | "unitsPerEnglishWord",
    ok: (v: unknown) => boolean,
    what: string,
  ) => {
    const v = raw[key];
    if (v === undefined && known !== undefined) return known[key];
    if (!ok(v)) {
      problems.push(
        v === undefined
          ? `${at}.${key} is missing: '${code}' is not in the base table, so every field is ` +
            "required (code, name, unit, rate, unitsPerEnglishWord)"
          : `${at}.${key} (${code}) must be ${what}, got ${shown(v)}`,
      );
    }
    return v;
  };
  const positive = (v: unknown): v is number =>
    typeof v === "number" && Number.isFinite(v) && v > 0;
  const text = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";
  const unit = (v: unknown): v is Unit => UNITS.includes(v as Unit);
  const rate = raw.rate;
  if (!positive(rate)) {
    problems.push(
      `${at}.rate (${code}) must be a finite number > 0 (units per second), got ` +
        shown(rate),
    );
  }
  const name = field("name", text, "a non-empty string");
  const u = field("unit", unit, `one of ${UNITS.map((x) => `"${x}"`).join(", ")}`);
  const k = field("unitsPerEnglishWord", positive, "a finite number > 0");
  const source = raw.source === undefined
    ? `rate ${rate} loaded from JSON by rateTableFromJson()`
    : raw.source;
  if (!text(source)) problems.push(`${at}.source (${code}) must be a non-empty string`);
  if (problems.length > 0) return E.left(problems);
  return E.right(Object.freeze({
    code,
    name: name as string,
    unit: u as Unit,
    rate: rate as number,
    unitsPerEnglishWord: k as number,
    source: source as string,
  }));
};

/**
 * A rate table from JSON: a list of rate entries, or an object with such a list under
 * `entries` (the shape of `calibration.json`), given parsed or as JSON text. Each entry needs a
 * `code` and a `rate` (units per second, > 0); the other fields (`name`, `unit`,
 * `unitsPerEnglishWord`, `source`) default to those of the same code in `options.table`
 * (default `WHISPER_RATES`), and are all required for a code that table lacks. The entries
 * replace or extend that table (`withRates`); pass the result to `frames()` as `table`. Fails
 * with a `LengthError` of kind "invalid-option" that names each bad entry and field, on
 * invalid JSON, an empty list, or a code given twice.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { frames } from "./frames.ts";
 * import { rateTableFromJson } from "./table_json.ts";
 * const json = '{"entries": [{"code": "de", "rate": 3.1, "source": "fitted"}]}';
 * const table = orThrow(rateTableFromJson(json));
 * assert.equal(table.de.rate, 3.1);
 * assert.equal(table.de.unit, "word"); // from WHISPER_RATES
 * assert.equal(orThrow(frames("Guten Morgen.", "de", { table })).rate, 3.1);
 * const bad = rateTableFromJson([{ code: "de", rate: -1 }]);
 * assert.ok(E.isLeft(bad) && /entries\[0\]\.rate \(de\) must be .* > 0/.test(bad.left.message));
 * ```
 */
export function rateTableFromJson(
  json: unknown,
  options: { readonly table?: RateTable } = {},
): Either<LengthError, RateTable> {
  const base = options.table ?? WHISPER_RATES;
  const fail = (message: string) =>
    E.left(lengthError("invalid-option", `rateTableFromJson(): ${message}`));
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (e) {
      return fail(`not valid JSON (${e instanceof Error ? e.message : e})`);
    }
  }
  const list = Array.isArray(value) ? value : isRecord(value) ? value.entries : undefined;
  if (!Array.isArray(list)) {
    return fail(
      "expected a list of rate entries or an object with one under 'entries' (as in " +
        `calibration.json), got ${shown(value)}`,
    );
  }
  if (list.length === 0) return fail("the list of rate entries is empty");
  const problems: string[] = [], entries: RateEntry[] = [], seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const checked = checkEntry(raw, i, base);
    if (E.isLeft(checked)) return void problems.push(...checked.left);
    const first = seen.get(checked.right.code);
    if (first !== undefined) {
      problems.push(`entries[${i}].code '${checked.right.code}' repeats entries[${first}]`);
    } else seen.set(checked.right.code, i);
    entries.push(checked.right);
  });
  if (problems.length > 0) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
    return fail(`${problems.slice(0, 5).join("; ")}${more}`);
  }
  return E.right(withRates(base, entries));
}
