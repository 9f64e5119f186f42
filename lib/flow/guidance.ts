/**
 * Classifier-free guidance and per-sample seeded noise for sampling.
 *
 * Two conventions for the guidance weight are in use:
 * - Ho & Salimans 2022 ("Classifier-Free Diffusion Guidance", eq. 6), also Voicebox, E2-TTS and
 *   F5-TTS: v = (1 + w) v_cond - w v_uncond = v_cond + w (v_cond - v_uncond); w = 0 is no
 *   guidance. This is flowt2s's canonical form.
 * - GLIDE, Imagen and diffusers' `guidance_scale`: v = v_uncond + s (v_cond - v_uncond);
 *   s = 1 is no guidance. They agree when s = 1 + w; {@link fromGuidanceScale} converts.
 * @module
 */
import { createRng, fillNormal, forkRng } from "../random.ts";

/**
 * Guided velocity (1 + w) v_cond - w v_uncond (Ho & Salimans 2022, eq. 6; w = 0: none).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { guidedVelocity } from "./guidance.ts";
 * const v = guidedVelocity(new Float32Array([2]), new Float32Array([1]), { weight: 2 });
 * assert.equal(v[0], 4); // 3 * 2 - 2 * 1
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
  return conditional.map((c, i) => c + w * (c - unconditional[i]));
}

/**
 * Converts a GLIDE/diffusers guidance scale s (s = 1: no guidance) to the canonical weight
 * w = s - 1.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { fromGuidanceScale } from "./guidance.ts";
 * assert.equal(fromGuidanceScale(3), 2);
 * ```
 */
export function fromGuidanceScale(scale: number): number {
  return scale - 1;
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
