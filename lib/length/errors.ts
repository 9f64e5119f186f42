/**
 * Errors of the length heuristics. Every function of `lib/length` that can fail returns an
 * `E.Either<LengthError, A>`; each message names the problem and the fix.
 * `orThrow` (lib/result.ts) unwraps at the edge (scripts, tests, notebooks).
 * @module
 */
import { levenshtein } from "../text/edit_distance.ts";

/** What went wrong, for code that branches on it. */
export type LengthErrorKind =
  | "empty-text"
  | "unknown-language"
  | "too-long"
  | "invalid-option"
  | "invalid-pairs"
  | "fit-failed";

/** A failure of the length heuristics, naming the problem and the fix. */
export interface LengthError {
  /** Discriminant for telling LengthError apart from other errors. */
  readonly _tag: "LengthError";
  /** What went wrong. */
  readonly kind: LengthErrorKind;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/**
 * Builds a {@link LengthError}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { lengthError } from "./errors.ts";
 * const e = lengthError("invalid-option", "sigma must be >= 0, got -1");
 * assert.equal(e.kind, "invalid-option");
 * assert.match(e.message, /sigma/);
 * ```
 */
export function lengthError(kind: LengthErrorKind, message: string): LengthError {
  return { _tag: "LengthError", kind, message };
}

/**
 * Levenshtein distance (insertions, deletions, substitutions), for "did you mean" lists.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { editDistance } from "./errors.ts";
 * assert.equal(editDistance("jv", "jw"), 1);
 * assert.equal(editDistance("german", "germen"), 1);
 * ```
 */
export function editDistance(a: string, b: string): number {
  return levenshtein([...a], [...b]);
}
