/**
 * The decoder's real interface. Whisper's decoder was trained on 1500 encoder frames: the
 * speech, then the encoder's states of the silence padding the 30-s window. Short sequences
 * under a key mask are off that distribution (measured: the decoder loops or stops), so states
 * are presented as [states; silence tail] by default. The silence states are the encoder's
 * output for a zero waveform, computed once per model.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { SessionError } from "../graph/session.ts";
import { whisperInput } from "./mel.ts";
import { encode, type WhisperModel } from "./runtime.ts";

/** How states are shown to the frozen decoder. */
export type DecoderInterface = "silence" | "mask";

/** The interfaces, default first. */
export const DECODER_INTERFACES: readonly DecoderInterface[] = ["silence", "mask"];

const cache = new WeakMap<WhisperModel, Promise<E.Either<SessionError, Float32Array>>>();

/**
 * The encoder's states of 30 s of silence (a zero waveform, log-mel as Whisper computes it):
 * [maxSourcePositions, dModel]. Computed once per model and kept.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { whisperModel } from "./runtime.ts";
 * import { silenceStates } from "./silence.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const silence = await orThrow(silenceStates(model));
 * assert.equal(silence.length, 1500 * model.config.dModel);
 * assert.equal(await orThrow(silenceStates(model)), silence); // computed once
 * ```
 */
export function silenceStates(model: WhisperModel): TaskEither<SessionError, Float32Array> {
  return () => {
    let made = cache.get(model);
    if (!made) {
      const mel = whisperInput(new Float32Array(0), { nMels: model.config.nMels });
      made = E.isLeft(mel)
        ? Promise.resolve(E.left({ _tag: "SessionError" as const, message: mel.left.message }))
        : encode(model, mel.right.data, { batch: 1 })();
      made.then((r) => E.isLeft(r) && cache.delete(model));
      cache.set(model, made);
    }
    return made;
  };
}

/**
 * States [batch, frames, D] as the decoder reads them through the silence interface: each row's
 * real frames (`mask`, default all) then the silence states of the following positions, up to
 * the silence's length (1500 frames): [batch, 1500, D].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { withSilenceTail } from "./silence.ts";
 * const silence = Float32Array.from({ length: 4 * 2 }, (_, i) => -1 - i); // 4 frames x 2
 * const states = new Float32Array([1, 1, 2, 2, 3, 3]); // 1 row, 3 frames
 * const out = withSilenceTail(states, { batch: 1, silence, width: 2, mask: new Float32Array([1, 1, 0]) });
 * assert.deepEqual([...out], [1, 1, 2, 2, -5, -6, -7, -8]);
 * ```
 */
export function withSilenceTail(
  states: Float32Array,
  options: { batch: number; silence: Float32Array; width: number; mask?: Float32Array },
): Float32Array {
  const { batch, silence, width: d, mask } = options;
  const frames = states.length / (batch * d), total = silence.length / d;
  if (!Number.isInteger(frames) || frames > total) {
    throw new RangeError(
      `withSilenceTail: states of ${states.length} values are not [${batch}, frames <= ${total}, ${d}]`,
    );
  }
  const out = new Float32Array(batch * total * d);
  for (let b = 0; b < batch; b++) {
    const row = out.subarray(b * total * d, (b + 1) * total * d);
    row.set(silence);
    for (let f = 0; f < frames; f++) {
      if (mask && mask[b * frames + f] === 0) continue;
      row.set(states.subarray((b * frames + f) * d, (b * frames + f + 1) * d), f * d);
    }
  }
  return out;
}

/**
 * Parses a decoder interface name; the error names the choices.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { decoderInterface } from "./silence.ts";
 * assert.deepEqual(decoderInterface("mask"), { _tag: "Right", right: "mask" });
 * assert.ok(decoderInterface("tail")._tag === "Left");
 * ```
 */
export function decoderInterface(
  name: string,
): Either<{ message: string }, DecoderInterface> {
  return (DECODER_INTERFACES as readonly string[]).includes(name)
    ? E.right(name as DecoderInterface)
    : E.left({
      message: `unknown decoder interface '${name}'; use one of ${DECODER_INTERFACES.join(", ")}`,
    });
}
