/**
 * Speech-shaped priors without recorded audio: eSpeak NG renders text in about 90 Whisper
 * languages, Whisper's encoder turns the rendering into states, and a cache keeps them.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { espeakVoice, speechFrames } from "./mod.ts";
 * assert.deepEqual(espeakVoice("fr"), { _tag: "Right", right: "fr-fr" });
 * assert.equal(speechFrames(2), 100);
 * ```
 * @module
 */
export * from "./voices.ts";
export * from "./espeak.ts";
export * from "./prior.ts";
export * from "./cache.ts";
export * from "./frechet.ts";
