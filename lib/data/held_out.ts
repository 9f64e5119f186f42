/**
 * Deterministic train / held-out split. Membership depends on a seeded hash of each text, never
 * on the order of the input, so reordering or re-reading a dataset keeps the split, and a
 * sentence repeated in a dataset never lands on both sides. The split is stratified by language.
 * @module
 */

/** A train / held-out split; each part keeps the input order. */
export interface HeldOutSplit<T> {
  /** The items kept for training. */
  readonly train: T[];
  /** The held-out items (about `fraction` of each language). */
  readonly heldOut: T[];
}

const utf8 = new TextEncoder();

/** murmur3 finaliser: full avalanche, so nearby FNV states give unrelated hashes. */
const fmix32 = (h0: number): number => {
  let h = h0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * A 32-bit hash of the UTF-8 bytes of `text` under `seed` (FNV-1a from a seed-derived start,
 * then a murmur3 finaliser). Any safe integer seed; different seeds give unrelated orders.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { hashText } from "./held_out.ts";
 * assert.equal(hashText("Hallo.", { seed: 1 }), hashText("Hallo.", { seed: 1 }));
 * assert.notEqual(hashText("Hallo.", { seed: 1 }), hashText("Hallo.", { seed: 2 }));
 * ```
 */
export function hashText(text: string, options: { readonly seed: number }): number {
  const { seed } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  let h = fmix32(fmix32(seed >>> 0) ^ Math.floor(seed / 0x100000000) ^ 0x811c9dc5);
  for (const b of utf8.encode(text)) h = Math.imul(h ^ b, 0x01000193);
  return fmix32(h);
}

/**
 * Splits `sentences` into train and held-out parts. Within each language the sentences are
 * ranked by {@link hashText} of their text and the first `round(fraction * n)` are held out,
 * at least 1 for every language with 2 or more sentences and at most n - 1 (a language with one
 * sentence keeps it for training). Identical texts of a language stay together, even if that
 * holds out one more. Throws a RangeError unless 0 < fraction < 1 and seed is a safe integer.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { splitHeldOut } from "./held_out.ts";
 * const xs = ["a", "b", "c", "d"].map((text) => ({ text, lang: "en" }));
 * const { train, heldOut } = splitHeldOut(xs, { fraction: 0.25, seed: 0 });
 * assert.equal(heldOut.length, 1);
 * assert.equal(train.length, 3);
 * assert.deepEqual(splitHeldOut([...xs].reverse(), { fraction: 0.25, seed: 0 }).heldOut, heldOut);
 * ```
 */
export function splitHeldOut<T extends { readonly text: string; readonly lang: string }>(
  sentences: readonly T[],
  options: { readonly fraction: number; readonly seed: number },
): HeldOutSplit<T> {
  const { fraction, seed } = options;
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(`splitHeldOut: fraction must be in (0, 1), got ${fraction}`);
  }
  const byLang = new Map<string, { i: number; h: number; text: string }[]>();
  sentences.forEach((s, i) => {
    const group = byLang.get(s.lang) ?? [];
    group.push({ i, h: hashText(s.text, { seed }), text: s.text });
    byLang.set(s.lang, group);
  });
  const held = new Set<number>();
  for (const group of byLang.values()) {
    const n = group.length;
    if (n < 2) continue;
    // Text breaks hash ties, so the ranking of distinct texts never depends on input order.
    group.sort((a, b) => a.h - b.h || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    let k = Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
    while (k < n && group[k].text === group[k - 1].text) k++;
    for (const { i } of group.slice(0, k)) held.add(i);
  }
  const train: T[] = [], heldOut: T[] = [];
  sentences.forEach((s, i) => (held.has(i) ? heldOut : train).push(s));
  return { train, heldOut };
}
