/**
 * Reading text datasets into {@link Sentence} records: `.txt` (one sentence per line, one
 * language for the file), `.jsonl` (`{"text": ..., "lang": ...}` per line) and `.tsv`
 * (`text<TAB>lang`, optional header line `text<TAB>lang`, no quoting). Every line is checked:
 * text present, language known to Whisper (names such as "German" become codes), valid JSON,
 * spoken length within Whisper's 30 s window (lib/length), ids unique. All problems of a file
 * are reported together, each as `file:line: problem; fix`.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { basename, extname } from "node:path";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
import { frames, FRAMES_PER_SECOND, MAX_FRAMES } from "../length/mod.ts";
import { languageCode } from "../text/languages.ts";
import {
  type DataError,
  dataError,
  type DataErrorKind,
  type DataIssue,
  dataIssue,
} from "./errors.ts";
import { loadUdhr, UDHR_PREFIX } from "./udhr.ts";

/** One sentence of a dataset. */
export interface Sentence {
  /** Trimmed, Unicode NFC. */
  readonly text: string;
  /** Whisper language code ("de", never "German"). */
  readonly lang: string;
  /** `"<basename>:<line>"`, or the `id` field of a .jsonl record. */
  readonly id: string;
}

/** The file formats {@link parseSentences} reads. */
export type TextFormat = "txt" | "jsonl" | "tsv";

/** The formats, as listed in error messages. */
export const TEXT_FORMATS: readonly TextFormat[] = ["txt", "jsonl", "tsv"];

/** Options of {@link parseSentences}. */
export interface ParseOptions {
  /** How the text is laid out: one sentence per line (txt), JSON lines or tab-separated. */
  readonly format: TextFormat;
  /** The language of a .txt file (required there); the default for lines that give none. */
  readonly lang?: string;
  /** The file name, for ids (its basename) and error messages. */
  readonly source: string;
  /**
   * How the caller's users give `lang`, as messages name it: `{ lang }` (this API, the default),
   * a command line's flag such as `"--lang"`, or `null` where they cannot give one.
   */
  readonly langOption?: string | null;
}

/** A line's fields before checking. */
interface Raw {
  readonly line: number;
  readonly text: string;
  readonly lang?: string;
  readonly id?: string;
}

type Parsed = Raw | DataIssue | undefined; // undefined: a blank line, skipped

const isIssue = <A extends object>(p: A | DataIssue): p is DataIssue => "kind" in p;

const parseJsonl = (line: string, n: number, file: string): Parsed => {
  if (line.trim() === "") return undefined;
  const at = { file, line: n };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return dataIssue(
      "invalid-json",
      `invalid JSON (${(e as Error).message}); write one object per line, such as ` +
        '{"text": "Hello.", "lang": "en"}, with quotes inside the text escaped as \\"',
      at,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return dataIssue("invalid-record", 'expected an object such as {"text": ..., "lang": ...}', at);
  }
  const { text, lang, id } = value as Record<string, unknown>;
  const wrong = (field: string, v: unknown) =>
    dataIssue("invalid-record", `"${field}" must be a string, got ${JSON.stringify(v)}`, at);
  if (typeof text !== "string") return wrong("text", text);
  if (lang !== undefined && typeof lang !== "string") return wrong("lang", lang);
  if (id !== undefined && typeof id !== "string") return wrong("id", id);
  return { line: n, text, lang, id };
};

const parseTsv = (line: string, n: number, file: string): Parsed => {
  if (line.trim() === "") return undefined;
  const cols = line.split("\t");
  if (cols.length !== 2) {
    return dataIssue(
      "invalid-record",
      `expected 2 tab-separated columns (text, lang), found ${cols.length}; ` +
        "replace tabs inside the text with spaces",
      { file, line: n },
    );
  }
  const lang = cols[1].trim();
  return { line: n, text: cols[0], lang: lang === "" ? undefined : lang };
};

const isTsvHeader = (line: string): boolean =>
  line.split("\t").map((c) => c.trim().toLowerCase()).join("\t") === "text\tlang";

/** Splits content into records or issues; the header and blank lines give none. */
const parseLines = (content: string, format: TextFormat, file: string): (Raw | DataIssue)[] => {
  const lines = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  const firstFilled = lines.findIndex((l) => l.trim() !== "");
  const out: (Raw | DataIssue)[] = [];
  lines.forEach((line, i) => {
    if (format === "tsv" && i === firstFilled && isTsvHeader(line)) return;
    const p = format === "txt"
      ? (line.trim() === "" ? undefined : { line: i + 1, text: line })
      : format === "jsonl"
      ? parseJsonl(line, i + 1, file)
      : parseTsv(line, i + 1, file);
    if (p !== undefined) out.push(p);
  });
  return out;
};

/** Checks one record: text, language, length. */
const check = (
  raw: Raw,
  file: string,
  code: (lang: string) => Either<string, string>,
  defaultLang: string | undefined,
  langOption: string | null,
): Sentence | DataIssue => {
  const at = { file, line: raw.line };
  const text = raw.text.normalize("NFC").trim();
  if (text === "") {
    return dataIssue("empty-text", "the text is empty; write the sentence or remove the line", at);
  }
  const given = raw.lang ?? defaultLang;
  if (given === undefined) {
    return dataIssue(
      "missing-language",
      'no language; add a "lang" (a Whisper code such as "en")' +
        (langOption === null ? "" : ` or pass ${langOption} as a default`),
      at,
    );
  }
  const lang = code(given);
  if (E.isLeft(lang)) return dataIssue("unknown-language", lang.left, at);
  const est = frames(text, lang.right);
  if (E.isLeft(est)) {
    const kind: DataErrorKind = est.left.kind === "empty-text" ? "empty-text" : "invalid-record";
    return dataIssue(kind, `${est.left.message}; write words to be spoken or remove the line`, at);
  }
  if (est.right.clamped === "max") {
    return dataIssue(
      "too-long",
      `the text takes about ${est.right.seconds.toFixed(1)} s to say, more than Whisper's ` +
        `${MAX_FRAMES / FRAMES_PER_SECOND} s window; split it into shorter lines, for example ` +
        `with splitSegments(text, "${lang.right}") from lib/length`,
      at,
    );
  }
  return { text, lang: lang.right, id: raw.id ?? `${basename(file)}:${raw.line}` };
};

/**
 * Parses the content of a text dataset (pure: no file access). Blank lines are skipped; text is
 * trimmed and normalised to NFC; languages become Whisper codes. Fails with a {@link DataError}
 * listing every bad line as `source:line: problem; fix`: a .txt without `lang`, an unknown
 * language, invalid JSON or fields, an empty "text", text longer than 30 s, a duplicated id.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { parseSentences } from "./sentences.ts";
 * const jsonl = '{"text": "Guten Morgen!", "lang": "German"}\n{"text": "Bonjour."}\n';
 * const r = parseSentences(jsonl, { format: "jsonl", lang: "fr", source: "data/a.jsonl" });
 * assert.deepEqual(r, E.right([
 *   { text: "Guten Morgen!", lang: "de", id: "a.jsonl:1" },
 *   { text: "Bonjour.", lang: "fr", id: "a.jsonl:2" },
 * ]));
 * const bad = parseSentences("Hello.\n", { format: "txt", source: "b.txt" });
 * assert.ok(E.isLeft(bad) && bad.left.message.startsWith("b.txt: "));
 * ```
 */
export function parseSentences(
  content: string,
  options: ParseOptions,
): Either<DataError, Sentence[]> {
  const file = options.source;
  if (!TEXT_FORMATS.includes(options.format)) {
    return E.left(dataError([dataIssue(
      "unknown-format",
      `unknown format ${JSON.stringify(options.format)}; use one of ${TEXT_FORMATS.join(", ")}`,
      { file },
    )]));
  }
  const cache = new Map<string, Either<string, string>>();
  const code = (lang: string): Either<string, string> => {
    if (!cache.has(lang)) {
      cache.set(
        lang,
        E.mapLeft((e: { message: string }) => e.message)(languageCode(lang)),
      );
    }
    return cache.get(lang)!;
  };
  const defaultLang = options.lang;
  const langOption = options.langOption === undefined ? "{ lang }" : options.langOption;
  if (defaultLang !== undefined) {
    const c = code(defaultLang);
    if (E.isLeft(c)) {
      const option = langOption === "{ lang }" || langOption === null ? "option lang" : langOption;
      return E.left(dataError([dataIssue("unknown-language", `${option}: ${c.left}`, { file })]));
    }
  } else if (options.format === "txt") {
    const how = langOption === "{ lang }"
      ? 'pass { lang: "en" } (a Whisper code or a name such as "German"), or write'
      : langOption === null
      ? "this command takes no language, so write"
      : `pass ${langOption} (a Whisper code such as en, or a name such as German), or write`;
    return E.left(dataError([dataIssue(
      "missing-language",
      `.txt files carry no language; ${how} the file as .jsonl or .tsv with a language per line`,
      { file },
    )]));
  }
  const issues: DataIssue[] = [];
  const out: Sentence[] = [];
  const seen = new Map<string, number>();
  for (const p of parseLines(content, options.format, file)) {
    const s = isIssue(p) ? p : check(p, file, code, defaultLang, langOption);
    if (isIssue(s)) {
      issues.push(s);
      continue;
    }
    const line = (p as Raw).line;
    const first = seen.get(s.id);
    if (first !== undefined) {
      issues.push(dataIssue(
        "duplicate-id",
        `id "${s.id}" was already used on line ${first}; give each record its own "id"`,
        { file, line },
      ));
      continue;
    }
    seen.set(s.id, line);
    out.push(s);
  }
  return issues.length > 0 ? E.left(dataError(issues)) : E.right(out);
}

/**
 * The format of a path from its extension (case-insensitive): .txt, .jsonl or .tsv.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { formatOf } from "./sentences.ts";
 * assert.deepEqual(formatOf("data/sentences.JSONL"), E.right("jsonl"));
 * assert.ok(E.isLeft(formatOf("data/sentences.csv")));
 * ```
 */
export function formatOf(path: string): Either<DataError, TextFormat> {
  const ext = extname(path).slice(1).toLowerCase();
  return (TEXT_FORMATS as readonly string[]).includes(ext)
    ? E.right(ext as TextFormat)
    : E.left(dataError([dataIssue(
      "unknown-format",
      `unknown extension "${
        extname(path)
      }"; name the file .txt, .jsonl or .tsv, or pass { format }`,
      { file: path },
    )]));
}

/** Decodes UTF-8 strictly; on failure names the first line holding an invalid byte sequence. */
const decode = (bytes: Uint8Array, file: string): Either<DataError, string> => {
  try {
    return E.right(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    const lines = new TextDecoder("utf-8").decode(bytes).split(/\r?\n/);
    const line = lines.findIndex((l) => l.includes("\uFFFD")) + 1;
    return E.left(dataError([dataIssue(
      "invalid-encoding",
      "not valid UTF-8; re-save the file with UTF-8 encoding",
      { file, line: line > 0 ? line : undefined },
    )]));
  }
};

/**
 * Reads and parses a dataset file; the format comes from the extension unless `options.format`
 * is given. Fails like {@link parseSentences}, or when the file cannot be read or is not UTF-8.
 * A path `udhr:de,fr` or `udhr:all` is no file: it gives those languages' sentences of the
 * Universal Declaration of Human Rights (`loadUdhr` in lib/data/udhr.ts; options are ignored).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { loadSentences } from "./sentences.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/s.tsv`, "text\tlang\nHallo Welt.\tde\n");
 * const r = await loadSentences(`${dir}/s.tsv`)();
 * assert.deepEqual(r, E.right([{ text: "Hallo Welt.", lang: "de", id: "s.tsv:2" }]));
 * assert.ok(E.isLeft(await loadSentences(`${dir}/missing.tsv`)()));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function loadSentences(
  path: string,
  options: {
    readonly lang?: string;
    readonly format?: TextFormat;
    /** How messages name the lang option (see {@link ParseOptions}). */
    readonly langOption?: string | null;
  } = {},
): TaskEither<DataError, Sentence[]> {
  if (path.startsWith(UDHR_PREFIX)) return loadUdhr(path);
  const format = options.format === undefined ? formatOf(path) : E.right(options.format);
  if (E.isLeft(format)) return TE.fromEither(format);
  const read = TE.tryCatch(
    () => Deno.readFile(path),
    (e) =>
      dataError([dataIssue(
        "read-failed",
        `cannot read the file (${(e as Error).message}); check the path and permissions`,
        { file: path },
      )]),
  );
  return TE.chainEitherK((bytes: Uint8Array) =>
    E.chain((content: string) =>
      parseSentences(content, {
        format: format.right,
        lang: options.lang,
        langOption: options.langOption,
        source: path,
      })
    )(decode(bytes, path))
  )(read);
}

/**
 * Concatenates sentence lists (several files), failing if two sentences share an id, as happens
 * when two files of the same basename are read without explicit ids.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { concatSentences } from "./sentences.ts";
 * const a = [{ text: "Hi.", lang: "en", id: "x.txt:1" }];
 * assert.ok(E.isRight(concatSentences([a, [{ ...a[0], id: "y.txt:1" }]])));
 * assert.ok(E.isLeft(concatSentences([a, a])));
 * ```
 */
export function concatSentences(
  lists: readonly (readonly Sentence[])[],
): Either<DataError, Sentence[]> {
  const all = lists.flat();
  const seen = new Set<string>();
  const issues: DataIssue[] = [];
  for (const s of all) {
    if (seen.has(s.id)) {
      issues.push(dataIssue(
        "duplicate-id",
        `id "${s.id}" occurs in more than one list; rename one of the files with that ` +
          'basename, or give the records explicit "id" fields in .jsonl',
      ));
    }
    seen.add(s.id);
  }
  return issues.length > 0 ? E.left(dataError(issues)) : E.right(all);
}
