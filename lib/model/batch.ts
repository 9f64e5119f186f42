/**
 * Batches for the model's static-shape graphs: sentences padded to a few fixed frame and
 * token sizes (each size is one compiled session, so few sizes keep compile time and memory
 * down), with frame masks, filler-padded byte ids and teacher-forced decoder sequences.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { BatchShape } from "./objective.ts";
import { type DecoderSequence, type TextError, textIds } from "./text.ts";

/** A sentence ready for batching. */
export interface Prepared {
  /** Stable id (targets are cached under it). */
  readonly id: string;
  /** The sentence. */
  readonly text: string;
  /** Its Whisper language code. */
  readonly lang: string;
  /** Frames it takes (50 per second). */
  readonly frames: number;
  /** The decoder sequence that reads it back. */
  readonly sequence: DecoderSequence;
}

/** Padded sizes: frames up to 30 s, tokens up to Whisper's 224-token sample limit. */
export const FRAME_SIZES: readonly number[] = [100, 200, 300, 500, 750, 1000, 1500];
/** Padded decoder lengths. */
export const TOKEN_SIZES: readonly number[] = [32, 64, 128, 224];

/**
 * The smallest padded shape holding `items` (at most `batch` of them).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { shapeFor } from "./batch.ts";
 * const seq = { tokens: [1, 2, 3], targets: [2, 3, 4], mask: [0, 1, 1] };
 * const items = [{ id: "a", text: "x", lang: "en", frames: 130, sequence: seq }];
 * assert.deepEqual(shapeFor(items, { batch: 4 }), { batch: 4, frames: 200, tokens: 32 });
 * ```
 */
export function shapeFor(items: readonly Prepared[], options: { batch: number }): BatchShape {
  const frames = Math.max(...items.map((i) => i.frames));
  const tokens = Math.max(...items.map((i) => i.sequence.tokens.length));
  const fit = (sizes: readonly number[], n: number) => sizes.find((s) => s >= n) ?? n;
  return {
    batch: options.batch,
    frames: fit(FRAME_SIZES, frames),
    tokens: fit(TOKEN_SIZES, tokens),
  };
}

/** One padded batch, flat row-major arrays. */
export interface Batch {
  /** Its static shape. */
  readonly shape: BatchShape;
  /** The sentences, in row order (fewer than shape.batch for a last, partial batch). */
  readonly items: readonly Prepared[];
  /** Byte ids [B, F], filler-padded (rows past the items: all filler). */
  readonly text: BigInt64Array;
  /** 1 on each sentence's frames [B, F]. */
  readonly mask: Float32Array;
  /** Decoder inputs [B, L]. */
  readonly tokens: BigInt64Array;
  /** Decoder targets [B, L]. */
  readonly targets: BigInt64Array;
  /** 1 on scored targets [B, L]. */
  readonly tmask: Float32Array;
}

/**
 * Pads `items` into a batch of `shape`. `dropText` marks rows whose text is replaced by the
 * filler (the unconditional branch of classifier-free guidance): their frames stay, and the
 * decoder does not score them (their `tmask` is 0), since nothing asks them to say the text.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { assembleBatch } from "./batch.ts";
 * const seq = { tokens: [7, 8], targets: [8, 9], mask: [0, 1] };
 * const items = [{ id: "a", text: "hi", lang: "en", frames: 3, sequence: seq }];
 * const b = assembleBatch(items, { shape: { batch: 2, frames: 4, tokens: 3 } });
 * if (b._tag === "Left") throw new Error(b.left.message);
 * assert.deepEqual([...b.right.mask], [1, 1, 1, 0, 0, 0, 0, 0]);
 * assert.deepEqual([...b.right.text].slice(0, 4), [105n, 106n, 0n, 0n]);
 * assert.deepEqual([...b.right.tmask], [0, 1, 0, 0, 0, 0]);
 * ```
 */
export function assembleBatch(
  items: readonly Prepared[],
  options: { shape: BatchShape; dropText?: readonly boolean[] },
): Either<TextError, Batch> {
  const { shape } = options, { batch: b, frames: f, tokens: l } = shape;
  if (items.length === 0 || items.length > b) {
    return E.left({
      _tag: "TextError",
      message: `a batch holds 1 to ${b} sentences, got ${items.length}`,
    });
  }
  const text = new BigInt64Array(b * f), mask = new Float32Array(b * f);
  const tokens = new BigInt64Array(b * l), targets = new BigInt64Array(b * l);
  const tmask = new Float32Array(b * l);
  for (const [row, item] of items.entries()) {
    if (item.frames > f || item.sequence.tokens.length > l) {
      return E.left({
        _tag: "TextError",
        message: `sentence ${item.id} does not fit shape [${f}, ${l}]`,
      });
    }
    mask.fill(1, row * f, row * f + item.frames);
    if (!options.dropText?.[row]) {
      const ids = textIds(item.text, { frames: item.frames });
      if (E.isLeft(ids)) {
        return E.left({ ...ids.left, message: `sentence ${item.id}: ${ids.left.message}` });
      }
      ids.right.forEach((id, i) => (text[row * f + i] = BigInt(id)));
    }
    item.sequence.tokens.forEach((t, i) => (tokens[row * l + i] = BigInt(t)));
    item.sequence.targets.forEach((t, i) => (targets[row * l + i] = BigInt(t)));
    if (!options.dropText?.[row]) item.sequence.mask.forEach((m, i) => (tmask[row * l + i] = m));
  }
  return E.right({ shape, items, text, mask, tokens, targets, tmask });
}

/**
 * Zeroes the padding frames of row-major [B, F, width] states in place (and returns them), by
 * the batch's 0/1 frame mask [B, F].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { maskFrames } from "./batch.ts";
 * const x = maskFrames(new Float32Array([1, 2, 3, 4]), { mask: new Float32Array([1, 0]), width: 2 });
 * assert.deepEqual([...x], [1, 2, 0, 0]);
 * ```
 */
export function maskFrames(
  x: Float32Array,
  options: { mask: Float32Array; width: number },
): Float32Array {
  const { mask, width } = options;
  for (let i = 0; i < x.length; i++) if (mask[Math.floor(i / width)] === 0) x[i] = 0;
  return x;
}
