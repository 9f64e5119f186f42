/**
 * Errors of the dataset readers. A {@link DataError} carries every problem found in a file (not
 * just the first), so that one run lists all the lines to fix; each issue's message starts with
 * `file:line:` and ends with the fix. `orThrow` (lib/result.ts) unwraps at the edge.
 * @module
 */

/** What went wrong, for code that branches on it. */
export type DataErrorKind =
  | "missing-language"
  | "unknown-language"
  | "empty-text"
  | "invalid-json"
  | "invalid-record"
  | "too-long"
  | "duplicate-id"
  | "unknown-format"
  | "read-failed"
  | "invalid-encoding";

/** One problem at one place. */
export interface DataIssue {
  /** What went wrong. */
  readonly kind: DataErrorKind;
  /** The file (as given to the reader), if the problem is in one. */
  readonly file?: string;
  /** 1-based line number, if the problem is on one line. */
  readonly line?: number;
  /** `file:line: what is wrong; the fix`. */
  readonly message: string;
}

/** A failure to read a dataset: all its issues, and a message listing them. */
export interface DataError {
  /** Discriminant for telling DataError apart from other errors. */
  readonly _tag: "DataError";
  /** The first issue's kind. */
  readonly kind: DataErrorKind;
  /** Every issue's message, one per line (the first 20 in full, the rest counted). */
  readonly message: string;
  /** Every issue found, in file order. */
  readonly issues: readonly DataIssue[];
}

/** Issues listed in full in a message; the rest are counted (they stay in `issues`). */
const SHOWN = 20;

/**
 * One issue: the message is prefixed with `file:line: ` (or `file: `, or nothing).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { dataIssue } from "./errors.ts";
 * const i = dataIssue("empty-text", "empty text; remove the line", { file: "a.jsonl", line: 3 });
 * assert.equal(i.message, "a.jsonl:3: empty text; remove the line");
 * ```
 */
export function dataIssue(
  kind: DataErrorKind,
  what: string,
  where: { readonly file?: string; readonly line?: number } = {},
): DataIssue {
  const place = where.file === undefined
    ? ""
    : `${where.file}${where.line === undefined ? "" : `:${where.line}`}: `;
  return { kind, file: where.file, line: where.line, message: place + what };
}

/**
 * A {@link DataError} from one or more issues (at least one).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { dataError, dataIssue } from "./errors.ts";
 * const e = dataError([
 *   dataIssue("empty-text", "empty text", { file: "a.jsonl", line: 3 }),
 *   dataIssue("invalid-json", "invalid JSON", { file: "a.jsonl", line: 9 }),
 * ]);
 * assert.equal(e.kind, "empty-text");
 * assert.match(e.message, /2 problems[\s\S]*a\.jsonl:3[\s\S]*a\.jsonl:9/);
 * ```
 */
export function dataError(issues: readonly DataIssue[]): DataError {
  if (issues.length === 0) throw new RangeError("dataError: needs at least one issue");
  const shown = issues.slice(0, SHOWN).map((i) => i.message);
  const more = issues.length > SHOWN ? [`... and ${issues.length - SHOWN} more`] : [];
  const message = issues.length === 1
    ? issues[0].message
    : [`${issues.length} problems:`, ...shown, ...more].join("\n  ");
  return { _tag: "DataError", kind: issues[0].kind, message, issues };
}
