/**
 * Fixed sinusoidal position tables as plain Float32Arrays, for graphs to take in as
 * constants or initializers: Whisper's encoder stores them, and the T2S network adds them.
 * @module
 */

/**
 * Sinusoidal positions [length, channels] as Whisper's encoder uses them (and the T2S network
 * in lib/model): sines over the first half of the channels, cosines over the second,
 * timescales from 1 to 10000.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { sinusoids } from "./positional.ts";
 * const p = sinusoids(3, 4);
 * assert.deepEqual([...p.slice(0, 4)], [0, 0, 1, 1]); // position 0: sin 0, cos 0
 * assert.ok(Math.abs(p[4] - Math.sin(1)) < 1e-7); // position 1, fastest timescale
 * ```
 */
export function sinusoids(length: number, channels: number): Float32Array {
  if (channels % 2 !== 0 || channels < 4) {
    throw new RangeError(`sinusoids needs an even channel count >= 4, got ${channels}`);
  }
  const half = channels / 2, increment = Math.log(10000) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.exp(-increment * i);
      out[t * channels + i] = Math.sin(angle);
      out[t * channels + half + i] = Math.cos(angle);
    }
  }
  return out;
}
