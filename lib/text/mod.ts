/**
 * Small text tables and helpers with no model behind them, shared by lib/whisper, lib/length,
 * lib/data and lib/speech: Whisper's language table (codes in token order, English names,
 * aliases) with a "did you mean" lookup, and Levenshtein edit distance.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { LANGUAGE_CODES, languageCode, levenshtein } from "./mod.ts";
 * assert.deepEqual(languageCode("Castilian"), E.right("es"));
 * assert.equal(LANGUAGE_CODES.length, 100);
 * assert.equal(levenshtein([..."flow"], [..."flaw"]), 1);
 * ```
 * @module
 */
export { levenshtein } from "./edit_distance.ts";
export {
  LANGUAGE_ALIASES,
  LANGUAGE_CODES,
  LANGUAGE_NAMES,
  languageCode,
  type TokenizerError,
  tokenizerError,
} from "./languages.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
