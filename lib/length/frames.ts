/**
 * Text -> number of Whisper-encoder frames (50 per second, at most 1500 = 30 s):
 * `frames = clamp(ceil(seconds * jitter * 50), minFrames, maxFrames)` with
 * `seconds = units / rate + clauses * clause + sentences * sentence + edge`.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { Rng } from "../random.ts";
import { type LengthError, lengthError } from "./errors.ts";
import { measure, type Measurement } from "./measure.ts";
import { type RateTable, WHISPER_RATES } from "./rates.ts";

/** Whisper encoder frames per second of audio. */
export const FRAMES_PER_SECOND = 50;
/** Frames in Whisper's 30 s window: the most one sequence may have. */
export const MAX_FRAMES = 1500;
/** Default fewest frames (0.5 s), so that one-word texts still get room. */
export const DEFAULT_MIN_FRAMES = 25;

/** Seconds added per pause, plus once per text (`edge`: leading and trailing silence). */
export interface Pauses {
  /** Seconds per clause pause (comma, semicolon, ...). */
  readonly clause: number;
  /** Seconds per sentence pause (. ! ? ...). */
  readonly sentence: number;
  /** Seconds added once per text: leading and trailing silence. */
  readonly edge: number;
}

/**
 * Default pauses: small, because the table's rates already include the short pauses of read
 * speech; `calibrate()` can fit them from data.
 */
export const DEFAULT_PAUSES: Pauses = Object.freeze({ clause: 0.15, sentence: 0.35, edge: 0 });

/** Options of {@link frames}. */
export interface FramesOptions {
  /** Rate table (default `WHISPER_RATES`); pass a calibrated one from `calibrate()`. */
  readonly table?: RateTable;
  /** Overrides the language's rate, in its units per second. */
  readonly rate?: number;
  /** Overrides some or all of {@link DEFAULT_PAUSES}. */
  readonly pauses?: Partial<Pauses>;
  /** Fewest frames (default {@link DEFAULT_MIN_FRAMES}). */
  readonly minFrames?: number;
  /** Most frames (default and upper bound {@link MAX_FRAMES}). */
  readonly maxFrames?: number;
  /** Longer text: "clamp" to maxFrames (default) or "error" (then use `splitSegments()`). */
  readonly overflow?: "clamp" | "error";
  /** Jitter for training: with an rng, seconds are multiplied by a log-normal factor. */
  readonly rng?: Rng;
  /** Log-space standard deviation of the jitter (default 0.1, about +-10%). */
  readonly sigma?: number;
}

/** A frame count and everything that went into it. */
export interface FrameEstimate extends Measurement {
  /** The frame count to generate. */
  readonly frames: number;
  /** Estimated seconds before jitter: units / rate + pauseSeconds. */
  readonly seconds: number;
  /** The language's rate used, units per second. */
  readonly rate: number;
  /** Seconds of pauses included in `seconds`. */
  readonly pauseSeconds: number;
  /** The jitter factor applied (1 without an rng). */
  readonly jitter: number;
  /** Whether `frames` was raised to minFrames or cut to maxFrames. */
  readonly clamped: "none" | "min" | "max";
}

/**
 * A multiplicative jitter factor `exp(sigma * z - sigma^2 / 2)`, z standard normal: log-normal
 * with mean exactly 1, so jittered lengths are centred on the estimate. Draws one normal from
 * `rng`. Throws a RangeError for a negative or non-finite sigma.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { jitterFactor } from "./frames.ts";
 * const a = jitterFactor({ rng: createRng(1), sigma: 0.1 });
 * assert.equal(jitterFactor({ rng: createRng(1), sigma: 0.1 }), a);
 * assert.equal(jitterFactor({ rng: createRng(1), sigma: 0 }), 1);
 * ```
 */
export function jitterFactor(options: { readonly rng: Rng; readonly sigma?: number }): number {
  const sigma = options.sigma ?? 0.1;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`jitterFactor: sigma must be a finite number >= 0, got ${sigma}`);
  }
  return Math.exp(sigma * options.rng.normal() - (sigma * sigma) / 2);
}

/**
 * Seconds -> frames at 50 per second, rounding up; a tiny epsilon keeps float noise from adding
 * a frame (3 s is 150 frames, not 151).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { secondsToFrames } from "./frames.ts";
 * assert.equal(secondsToFrames(3), 150);
 * assert.equal(secondsToFrames(0.1 + 0.2), 15);
 * assert.equal(secondsToFrames(3.001), 151);
 * ```
 */
export function secondsToFrames(seconds: number): number {
  return Math.ceil(seconds * FRAMES_PER_SECOND - 1e-9);
}

const checkOptions = (o: FramesOptions): string | undefined => {
  const max = o.maxFrames ?? MAX_FRAMES, min = o.minFrames ?? DEFAULT_MIN_FRAMES;
  if (!Number.isInteger(max) || max < 1 || max > MAX_FRAMES) {
    return `maxFrames must be an integer in [1, ${MAX_FRAMES}] (Whisper's encoder holds 30 s), ` +
      `got ${max}`;
  }
  if (!Number.isInteger(min) || min < 1 || min > max) {
    return `minFrames must be an integer in [1, maxFrames = ${max}], got ${min}`;
  }
  if (o.rate !== undefined && !(o.rate > 0 && Number.isFinite(o.rate))) {
    return `rate must be a finite number > 0 (units per second), got ${o.rate}`;
  }
  for (const [k, v] of Object.entries(o.pauses ?? {})) {
    if (!(v >= 0 && Number.isFinite(v))) return `pauses.${k} must be finite seconds >= 0, got ${v}`;
  }
  if (o.overflow !== undefined && o.overflow !== "clamp" && o.overflow !== "error") {
    return `overflow must be "clamp" or "error", got ${JSON.stringify(o.overflow)}`;
  }
  const sigma = o.sigma ?? 0.1;
  if (!(sigma >= 0 && Number.isFinite(sigma))) {
    return `sigma must be a finite number >= 0, got ${sigma}`;
  }
  return undefined;
};

/**
 * Estimates the frames for `text` spoken in `language` (a Whisper code or name). Fails with a
 * `LengthError` on empty text, an unknown language, invalid options, or (with
 * `overflow: "error"`) text longer than `maxFrames` before jitter. The overflow check uses the
 * unjittered estimate, so whether a text fails does not depend on the rng; the rng is advanced
 * (one normal draw) only when an estimate is returned.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { frames } from "./frames.ts";
 * const r = orThrow(frames("The quick brown fox jumps over the lazy sleeping dog.", "en"));
 * assert.equal(r.units, 10);
 * assert.equal(r.frames, Math.ceil((10 / 2.7) * 50)); // 186: 3.7 s
 * assert.ok(E.isLeft(frames("word ".repeat(200), "en", { overflow: "error" })));
 * ```
 */
export function frames(
  text: string,
  language: string,
  options: FramesOptions = {},
): Either<LengthError, FrameEstimate> {
  const problem = checkOptions(options);
  if (problem !== undefined) return E.left(lengthError("invalid-option", `frames(): ${problem}`));
  const table = options.table ?? WHISPER_RATES;
  const maxFrames = options.maxFrames ?? MAX_FRAMES;
  const minFrames = options.minFrames ?? DEFAULT_MIN_FRAMES;
  const p = { ...DEFAULT_PAUSES, ...options.pauses };
  return E.chain((m: Measurement): Either<LengthError, FrameEstimate> => {
    const rate = options.rate ?? table[m.language].rate;
    const pauseSeconds = m.clauses * p.clause + m.sentences * p.sentence + p.edge;
    const seconds = m.units / rate + pauseSeconds;
    const base = secondsToFrames(seconds);
    if (base > maxFrames && options.overflow === "error") {
      return E.left(lengthError(
        "too-long",
        `text takes about ${seconds.toFixed(1)} s (${base} frames at ${FRAMES_PER_SECOND}/s), ` +
          `more than the limit of ${maxFrames} frames (${maxFrames / FRAMES_PER_SECOND} s): ` +
          'split it with splitSegments(text, language), or pass overflow: "clamp".',
      ));
    }
    const jitter = options.rng ? jitterFactor({ rng: options.rng, sigma: options.sigma }) : 1;
    const raw = secondsToFrames(seconds * jitter);
    const clamped = raw < minFrames ? "min" : raw > maxFrames ? "max" : "none";
    const count = Math.min(maxFrames, Math.max(minFrames, raw));
    return E.right({ ...m, frames: count, seconds, rate, pauseSeconds, jitter, clamped });
  })(measure(text, language, { table }));
}
