/**
 * Reading a corpus one line at a time, for corpora too large to hold: the same formats, checks
 * and ids as {@link loadSentences} (.txt with a language, .jsonl, .tsv, `udhr:` specs), but a bad
 * line is yielded as an issue with its line number and the lines after it go on, and only one
 * line's bytes are held at a time. Each record (a non-blank line; a .tsv's header line is none)
 * has a 0-based index in file order that does not depend on what the checks say, so a corpus can
 * be cut into shards of records before any line is checked.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { basename } from "node:path";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
import { type DataError, dataError, type DataIssue, dataIssue } from "./errors.ts";
import { formatOf, parseSentences, type Sentence, type TextFormat } from "./sentences.ts";
import { loadUdhr, UDHR_PREFIX } from "./udhr.ts";

/** One record of a streamed corpus: its sentence, or why the line was refused. */
export type StreamedRecord =
  & {
    /** 0-based index among the corpus's records (non-blank lines, header excluded). */
    readonly record: number;
    /** 1-based line of the file (for a `udhr:` spec, the sentence's place in its list). */
    readonly line: number;
  }
  & ({ readonly sentence: Sentence } | { readonly issue: DataIssue });

/** Options of {@link streamSentences} and {@link countRecords}. */
export interface StreamOptions {
  /** The language of a .txt file (required there); the default for lines that give none. */
  readonly lang?: string;
  /** The layout (default: from the extension). */
  readonly format?: TextFormat;
  /** How messages name the lang option (see `ParseOptions.langOption`). */
  readonly langOption?: string | null;
}

const NEWLINE = 0x0a;

/** The lines of a file as bytes (without "\n"), read in chunks; a last line without "\n" too. */
async function* byteLines(path: string): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  let carry = new Uint8Array(0);
  for await (const chunk of file.readable) {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, at);
      if (carry.length === 0) yield piece;
      else {
        const joined = new Uint8Array(carry.length + piece.length);
        joined.set(carry);
        joined.set(piece, carry.length);
        carry = new Uint8Array(0);
        yield joined;
      }
      from = at + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      const joined = new Uint8Array(carry.length + rest.length);
      joined.set(carry);
      joined.set(rest, carry.length);
      carry = joined;
    }
  }
  if (carry.length > 0) yield carry;
}

const isBlank = (text: string) => text.trim() === "";
const isTsvHeader = (text: string) =>
  text.split("\t").map((c) => c.trim().toLowerCase()).join("\t") === "text\tlang";

/** Checks what a stream needs before reading a line: a format, a language for .txt. */
const checked = (
  path: string,
  options: StreamOptions,
): E.Either<DataError, TextFormat> => {
  const format = options.format === undefined ? formatOf(path) : E.right(options.format);
  if (E.isLeft(format)) return format;
  // An empty text checks the options alone (a .txt without lang, an unknown default language).
  const probe = parseSentences("", { ...options, format: format.right, source: path });
  return E.isLeft(probe) ? probe : format;
};

/**
 * The records of a corpus, one at a time, each a sentence or an issue naming its line (the
 * checks and ids of `parseSentences`: `<basename>:<line>`, or a .jsonl record's `id`). A `udhr:`
 * spec gives its sentences through the same checks (a sentence too long to say in 30 s is an
 * issue). Fails before reading any line for an unknown format, a .txt without `lang`, an unknown
 * default language, or a file that cannot be opened; ids are not checked for repeats (that would
 * hold them all). Invalid UTF-8 is an issue of its line.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { streamSentences } from "./stream.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/c.jsonl`,
 *   '{"text": "Hallo.", "lang": "de"}\n\n{"text": 1}\n{"text": "Salut.", "lang": "fr", "id": "s"}\n');
 * const got = [];
 * for await (const r of orThrow(await streamSentences(`${dir}/c.jsonl`)())) got.push(r);
 * assert.deepEqual(got.map((r) => [r.record, r.line, "sentence" in r ? r.sentence.id : "bad"]),
 *   [[0, 1, "c.jsonl:1"], [1, 3, "bad"], [2, 4, "s"]]);
 * assert.ok("issue" in got[1] && got[1].issue.message.startsWith(`${dir}/c.jsonl:3: `));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function streamSentences(
  path: string,
  options: StreamOptions = {},
): TaskEither<DataError, AsyncIterable<StreamedRecord>> {
  if (path.startsWith(UDHR_PREFIX)) {
    return TE.map((sentences: Sentence[]) => udhrRecords(path, sentences))(loadUdhr(path));
  }
  const format = checked(path, options);
  if (E.isLeft(format)) return TE.fromEither(format);
  return TE.tryCatch(
    async () => {
      (await Deno.open(path, { read: true })).close(); // fail now, not at the first line
      return fileRecords(path, format.right, options);
    },
    (e) =>
      dataError([dataIssue(
        "read-failed",
        `cannot read the file (${(e as Error).message}); check the path and permissions`,
        { file: path },
      )]),
  );
}

async function* udhrRecords(spec: string, sentences: Sentence[]): AsyncGenerator<StreamedRecord> {
  for (const [i, s] of sentences.entries()) {
    const parsed = parseSentences(JSON.stringify(s), { format: "jsonl", source: spec });
    const at = { record: i, line: i + 1 };
    yield E.isLeft(parsed)
      ? { ...at, issue: moved(parsed.left.issues[0], spec, i + 1) }
      : { ...at, sentence: parsed.right[0] };
  }
}

/** An issue found on a line checked alone (as line 1), moved to its real line. */
const moved = (issue: DataIssue, file: string, line: number): DataIssue => {
  const prefix = `${file}:1: `;
  const what = issue.message.startsWith(prefix)
    ? issue.message.slice(prefix.length)
    : issue.message;
  return dataIssue(issue.kind, what, { file, line });
};

/** A record's line: its text, or undefined when it is not valid UTF-8; `header`: a .tsv header. */
interface RecordLine {
  readonly line: number;
  readonly text: string | undefined;
  readonly header: boolean;
}

/** The non-blank lines of a file, a .tsv's first-line header skipped, with their numbers. */
async function* recordLines(path: string, format: TextFormat): AsyncGenerator<RecordLine> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 0, seenFilled = false;
  for await (const bytes of byteLines(path)) {
    line++;
    let text: string | undefined;
    try {
      text = decoder.decode(bytes).replace(/\r$/, "");
      if (line === 1) text = text.replace(/^\uFEFF/, "");
      if (isBlank(text)) continue;
    } catch {
      text = undefined;
    }
    const first = !seenFilled;
    seenFilled = true;
    const header = text !== undefined && format === "tsv" && isTsvHeader(text);
    if (header && first) continue;
    yield { line, text, header };
  }
}

async function* fileRecords(
  path: string,
  format: TextFormat,
  options: StreamOptions,
): AsyncGenerator<StreamedRecord> {
  const parse = { ...options, format, source: path };
  const name = basename(path);
  let record = 0;
  for await (const { line, text, header } of recordLines(path, format)) {
    const at = { record: record++, line };
    if (text === undefined) {
      const what = "not valid UTF-8; re-save the file with UTF-8 encoding";
      yield { ...at, issue: dataIssue("invalid-encoding", what, { file: path, line }) };
      continue;
    }
    if (header) {
      const what = "a header line (text, lang) after the first line; remove it";
      yield { ...at, issue: dataIssue("invalid-record", what, { file: path, line }) };
      continue;
    }
    const parsed = parseSentences(text, parse);
    if (E.isLeft(parsed)) {
      yield { ...at, issue: moved(parsed.left.issues[0], path, line) };
      continue;
    }
    const s = parsed.right[0];
    // Checked alone, the line was line 1: a default id names it so; give it its own line.
    const defaulted = s.id === `${name}:1` &&
      (format !== "jsonl" || (JSON.parse(text) as { id?: unknown }).id === undefined);
    yield { ...at, sentence: defaulted ? { ...s, id: `${name}:${line}` } : s };
  }
}

/**
 * How many records {@link streamSentences} will yield for `path` (non-blank lines, a .tsv's
 * header excluded; a `udhr:` spec's sentences), counted without checking any line: a quick pass
 * for progress and shard counts.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { countRecords } from "./stream.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/c.tsv`, "text\tlang\nHallo.\tde\n\nnot valid\n");
 * assert.equal(orThrow(await countRecords(`${dir}/c.tsv`)()), 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function countRecords(
  path: string,
  options: StreamOptions = {},
): TaskEither<DataError, number> {
  if (path.startsWith(UDHR_PREFIX)) return TE.map((s: Sentence[]) => s.length)(loadUdhr(path));
  const format = options.format === undefined ? formatOf(path) : E.right(options.format);
  if (E.isLeft(format)) return TE.fromEither(format);
  return TE.tryCatch(
    async () => {
      let count = 0;
      for await (const _ of recordLines(path, format.right)) count++;
      return count;
    },
    (e) =>
      dataError([dataIssue(
        "read-failed",
        `cannot read the file (${(e as Error).message}); check the path and permissions`,
        { file: path },
      )]),
  );
}
