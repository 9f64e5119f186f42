/**
 * Length-bucketed batching. A batch is padded to its longest item, so mixing a 1 s and a 10 s
 * sentence wastes 90% of the short one's row; grouping items of similar frame counts keeps the
 * padding small while the rng still varies batch contents and order from epoch to epoch.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { frames, type RateTable } from "../length/mod.ts";
import { type Rng, shuffle } from "../random.ts";
import { type DataError, dataError, type DataIssue, dataIssue } from "./errors.ts";

/** Default bucket width in frames: 0.2 s at 50 frames per second (about 3% padding on data/). */
export const DEFAULT_BUCKET_WIDTH = 10;

/** Options of {@link lengthBatches}. */
export interface LengthBatchOptions {
  /** Items per batch (the last batch may be smaller). */
  readonly batchSize: number;
  /** Shuffles items within buckets and the order of the batches. */
  readonly rng: Rng;
  /** Frames per bucket (default {@link DEFAULT_BUCKET_WIDTH}); smaller pads less, varies less. */
  readonly bucketWidth?: number;
}

/** One epoch of batches. */
export interface LengthBatches<T> {
  /** Every item exactly once. */
  readonly batches: T[][];
  /** {@link paddingFraction} of `batches`. */
  readonly paddingFraction: number;
}

/**
 * The share of a padded batch tensor that is padding: sum over batches of
 * `size * max - sum(frames)`, divided by the sum of `size * max` (0 for no items).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { paddingFraction } from "./length_batches.ts";
 * assert.equal(paddingFraction([[{ frames: 100 }, { frames: 50 }]]), 0.25);
 * assert.equal(paddingFraction([[{ frames: 80 }], [{ frames: 40 }]]), 0);
 * ```
 */
export function paddingFraction(
  batches: readonly (readonly { readonly frames: number }[])[],
): number {
  let padded = 0, used = 0;
  for (const b of batches) {
    const max = b.reduce((m, x) => Math.max(m, x.frames), 0);
    padded += max * b.length;
    used += b.reduce((s, x) => s + x.frames, 0);
  }
  return padded === 0 ? 0 : (padded - used) / padded;
}

/**
 * One epoch of batches of items of similar length: items go into buckets of `bucketWidth`
 * frames, each bucket is shuffled, the buckets are laid end to end from short to long and cut
 * into batches of `batchSize` (so only the last batch is partial), and the batch order is
 * shuffled. The same rng state gives the same epoch. Throws a RangeError for a batchSize that
 * is not a positive integer, a bucketWidth that is not > 0, or an item whose `frames` is not a
 * finite number >= 0.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { lengthBatches } from "./length_batches.ts";
 * const items = [30, 400, 35, 410, 32, 390].map((frames) => ({ frames }));
 * const { batches, paddingFraction } = lengthBatches(items, { batchSize: 3, rng: createRng(0) });
 * assert.equal(batches.flat().length, 6);
 * const short = (b: { frames: number }[]) => b.every((x) => x.frames < 100);
 * assert.ok(batches.every((b) => short(b) || b.every((x) => x.frames > 300)));
 * assert.ok(paddingFraction < 0.05);
 * ```
 */
export function lengthBatches<T extends { readonly frames: number }>(
  items: readonly T[],
  options: LengthBatchOptions,
): LengthBatches<T> {
  const { batchSize, rng, bucketWidth = DEFAULT_BUCKET_WIDTH } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`lengthBatches: batchSize must be an integer >= 1, got ${batchSize}`);
  }
  if (!(bucketWidth > 0 && Number.isFinite(bucketWidth))) {
    throw new RangeError(
      `lengthBatches: bucketWidth must be a finite number > 0, got ${bucketWidth}`,
    );
  }
  const buckets = new Map<number, T[]>();
  items.forEach((item, i) => {
    if (!(item.frames >= 0 && Number.isFinite(item.frames))) {
      throw new RangeError(
        `lengthBatches: item ${i} has frames ${item.frames}; need a number >= 0`,
      );
    }
    const key = Math.floor(item.frames / bucketWidth);
    const bucket = buckets.get(key) ?? [];
    bucket.push(item);
    buckets.set(key, bucket);
  });
  const ordered = [...buckets.keys()].sort((a, b) => a - b)
    .flatMap((key) => shuffle(buckets.get(key)!, rng));
  const batches: T[][] = [];
  for (let i = 0; i < ordered.length; i += batchSize) batches.push(ordered.slice(i, i + batchSize));
  const shuffled = shuffle(batches, rng);
  return { batches: shuffled, paddingFraction: paddingFraction(shuffled) };
}

/**
 * Adds each sentence's frame count from lib/length `frames()` (clamped to Whisper's 1500).
 * With an rng the counts are jittered (one draw per sentence, in order), for training; without
 * one they are the deterministic estimates. `table` passes a calibrated rate table. Fails with a
 * {@link DataError} naming each sentence (by id, else index) whose length cannot be estimated.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { withFrames } from "./length_batches.ts";
 * const text = "The quick brown fox jumps over the lazy sleeping dog.";
 * const r = withFrames([{ text, lang: "en" }]);
 * assert.ok(E.isRight(r) && r.right[0].frames === 186);
 * assert.ok(E.isLeft(withFrames([{ text: "Hallo.", lang: "xx", id: "a.txt:1" }])));
 * ```
 */
export function withFrames<
  T extends { readonly text: string; readonly lang: string; readonly id?: string },
>(
  sentences: readonly T[],
  options: { readonly rng?: Rng; readonly table?: RateTable } = {},
): Either<DataError, (T & { readonly frames: number })[]> {
  const issues: DataIssue[] = [];
  const out: (T & { readonly frames: number })[] = [];
  sentences.forEach((s, i) => {
    const est = frames(s.text, s.lang, { rng: options.rng, table: options.table });
    if (E.isRight(est)) out.push({ ...s, frames: est.right.frames });
    else {
      const k = est.left.kind;
      const kind = k === "unknown-language" || k === "empty-text" ? k : "invalid-record";
      issues.push(dataIssue(kind, `sentence ${s.id ?? i}: ${est.left.message}`));
    }
  });
  return issues.length > 0 ? E.left(dataError(issues)) : E.right(out);
}
