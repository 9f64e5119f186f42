/**
 * Prior states: eSpeak NG renderings through Whisper's encoder, exactly as Whisper reads audio
 * (the 30-s window, 1500 frames), cut to the frames that cover the speech. Speech-shaped
 * targets without recorded audio. Plus the per-channel normalisation the flow model works in.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { SessionError } from "../graph/session.ts";
import { MAX_FRAMES, secondsToFrames } from "../length/frames.ts";
import { whisperInput } from "../whisper/mel.ts";
import { encode, type WhisperModel } from "../whisper/runtime.ts";
import type { Speech } from "./espeak.ts";

/**
 * Encoder frames that cover `seconds` of speech (lib/length's `secondsToFrames`: 50 per second,
 * rounded up), at least 1 and at most 1500.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { speechFrames } from "./prior.ts";
 * assert.equal(speechFrames(1.001), 51);
 * assert.equal(speechFrames(40), 1500);
 * ```
 */
export function speechFrames(seconds: number): number {
  return Math.min(MAX_FRAMES, Math.max(1, secondsToFrames(seconds)));
}

/**
 * Runs Whisper's encoder on renderings (one batch) and keeps each one's speech frames:
 * [frames, dModel] per rendering.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { encodeSpeech } from "./prior.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const speech = { samples: new Float32Array(8000).map((_, i) => Math.sin(i / 5)), seconds: 0.5, voice: "x" };
 * const [states] = await orThrow(encodeSpeech(model, [speech]));
 * assert.equal(states.length, 25 * model.config.dModel);
 * ```
 */
export function encodeSpeech(
  model: WhisperModel,
  speeches: readonly Speech[],
): TaskEither<SessionError, Float32Array[]> {
  return async () => {
    const { nMels, dModel: d } = model.config;
    const mel = new Float32Array(speeches.length * nMels * 3000);
    for (const [i, s] of speeches.entries()) {
      const input = whisperInput(s.samples, { nMels });
      if (E.isLeft(input)) return E.left({ _tag: "SessionError", message: input.left.message });
      mel.set(input.right.data, i * nMels * 3000);
    }
    const out = await encode(model, mel, { batch: speeches.length })();
    if (E.isLeft(out)) return out;
    return E.right(speeches.map((s, i) => {
      const frames = speechFrames(s.seconds);
      return out.right.slice(i * 1500 * d, (i * 1500 + frames) * d);
    }));
  };
}

/** Per-channel statistics of states. */
export interface ChannelStats {
  /** Mean per channel. */
  readonly mean: Float32Array;
  /** Standard deviation per channel (floored at 1e-6). */
  readonly std: Float32Array;
}

/**
 * Per-channel mean and standard deviation over every frame of `states` ([frames, width] each).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { channelStats } from "./prior.ts";
 * const s = channelStats([new Float32Array([1, 10, 3, 10])], { width: 2 });
 * assert.deepEqual([...s.mean], [2, 10]);
 * assert.equal(s.std[0], 1);
 * ```
 */
export function channelStats(
  states: readonly Float32Array[],
  options: { width: number },
): ChannelStats {
  const d = options.width, sum = new Float64Array(d), sq = new Float64Array(d);
  let n = 0;
  for (const x of states) {
    for (let i = 0; i < x.length; i += d) {
      for (let c = 0; c < d; c++) {
        sum[c] += x[i + c];
        sq[c] += x[i + c] * x[i + c];
      }
      n++;
    }
  }
  if (n === 0) throw new RangeError("channelStats: no frames");
  const mean = new Float32Array(d), std = new Float32Array(d);
  for (let c = 0; c < d; c++) {
    mean[c] = sum[c] / n;
    std[c] = Math.max(1e-6, Math.sqrt(Math.max(0, sq[c] / n - (sum[c] / n) ** 2)));
  }
  return { mean, std };
}

/**
 * (x - mean) / std per channel, for states [.., width]; {@link denormalizeStates} undoes it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { denormalizeStates, normalizeStates } from "./prior.ts";
 * const stats = { mean: new Float32Array([1, 2]), std: new Float32Array([2, 4]) };
 * const z = normalizeStates(new Float32Array([3, 2, 1, 6]), stats);
 * assert.deepEqual([...z], [1, 0, 0, 1]);
 * assert.deepEqual([...denormalizeStates(z, stats)], [3, 2, 1, 6]);
 * ```
 */
export function normalizeStates(x: Float32Array, stats: ChannelStats): Float32Array {
  const d = stats.mean.length, out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - stats.mean[i % d]) / stats.std[i % d];
  return out;
}

/** x * std + mean per channel: the inverse of {@link normalizeStates}. */
export function denormalizeStates(x: Float32Array, stats: ChannelStats): Float32Array {
  const d = stats.mean.length, out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * stats.std[i % d] + stats.mean[i % d];
  return out;
}
