/**
 * Edit distance between sequences: shared by transcript scoring (lib/whisper's error rates),
 * "did you mean" suggestions for language names, and lib/length's nearest-name errors.
 * @module
 */

/**
 * Levenshtein distance between two sequences (insertions, deletions and substitutions each
 * cost 1), in O(|a|·|b|) time and O(|b|) memory.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { levenshtein } from "./edit_distance.ts";
 * assert.equal(levenshtein([..."kitten"], [..."sitting"]), 3);
 * assert.equal(levenshtein(["a", "b"], []), 2);
 * ```
 */
export function levenshtein<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
