/**
 * Classifier-free guidance and per-sample seeded noise for sampling.
 *
 * Two conventions for the guidance weight are in use:
 * - Ho & Salimans 2022 ("Classifier-Free Diffusion Guidance"), also Voicebox:
 *   v = v_uncond + w (v_cond - v_uncond); w = 1 is no guidance.
 * - F5-TTS and E2-TTS code: v = v_cond + w' (v_cond - v_uncond); w' = 0 is no guidance.
 * They agree when w = 1 + w'. flowt2s's canonical form is the first; {@link fromF5Weight}
 * converts.
 * @module
 */
import { createRng, fillNormal, forkRng } from "../random.ts";

/**
 * Guided velocity v_uncond + w (v_cond - v_uncond) (Ho & Salimans convention).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { guidedVelocity } from "./guidance.ts";
 * const v = guidedVelocity(new Float32Array([2]), new Float32Array([1]), { weight: 3 });
 * assert.ok(v[0] === 4);
 * ```
 */
export function guidedVelocity(
  conditional: Float32Array,
  unconditional: Float32Array,
  options: { weight: number },
): Float32Array {
  if (conditional.length !== unconditional.length) {
    throw new RangeError(
      `guidedVelocity: ${conditional.length} conditional vs ${unconditional.length} unconditional values`,
    );
  }
  const w = options.weight;
  return conditional.map((c, i) => unconditional[i] + w * (c - unconditional[i]));
}

/**
 * Converts an F5-TTS guidance strength w' to the canonical weight w = 1 + w'.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { fromF5Weight } from "./guidance.ts";
 * assert.ok(fromF5Weight(2) === 3);
 * ```
 */
export function fromF5Weight(f5Weight: number): number {
  return 1 + f5Weight;
}

/**
 * Initial noise for a batch where each sample's noise depends only on its own seed and
 * size, so a sample is the same whatever else is in the batch. Returns [sum of sizes].
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { perSampleNoise } from "./guidance.ts";
 * const a = perSampleNoise([{ seed: 7, size: 3 }]);
 * const b = perSampleNoise([{ seed: 1, size: 2 }, { seed: 7, size: 3 }]);
 * assert.ok(a.every((v, i) => v === b[2 + i]));
 * ```
 */
export function perSampleNoise(samples: readonly { seed: number; size: number }[]): Float32Array {
  const out = new Float32Array(samples.reduce((n, s) => n + s.size, 0));
  let offset = 0;
  for (const { seed, size } of samples) {
    // A fixed fork key separates sampling noise from other uses of the same seed.
    fillNormal(out.subarray(offset, offset + size), forkRng(createRng(seed), 0x5eed), {});
    offset += size;
  }
  return out;
}
