/**
 * Whisper's audio front end: WAV files in ({@link ./wav.ts}), log-mel encoder input out
 * ({@link ./mel.ts}). Both modules are re-exported here.
 * @module
 */

import type { TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { type AudioError, loadWav } from "./wav.ts";
import { type LogMel, SAMPLE_RATE, whisperInput } from "./mel.ts";

export * from "./wav.ts";
export * from "./mel.ts";

/**
 * Reads a WAV file of at most 30 s and returns Whisper's [nMels, 3000] encoder input: the file
 * is mixed to mono, resampled to 16 kHz and passed to {@link whisperInput}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { encodeWav, loadWhisperInput } from "./audio.ts";
 * const path = await Deno.makeTempFile({ suffix: ".wav" });
 * await Deno.writeFile(path, encodeWav(new Float32Array(44100), { sampleRate: 44100, format: "pcm16" }));
 * const input = await loadWhisperInput(path, { nMels: 128 })();
 * assert.ok(E.isRight(input) && input.right.data.length === 128 * 3000);
 * await Deno.remove(path);
 * ```
 */
export function loadWhisperInput(
  path: string,
  options: { nMels: number },
): TaskEither<AudioError, LogMel> {
  return F.pipe(
    loadWav(path, { sampleRate: SAMPLE_RATE }),
    TE.chainEitherK((samples) =>
      F.pipe(
        whisperInput(samples, options),
        E.mapLeft((e) => ({ ...e, message: `${path}: ${e.message}` })),
      )
    ),
  );
}
