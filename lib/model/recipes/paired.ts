/**
 * "paired": targets are decoder inversions of noise (as in "inversion"), but each keeps the
 * noise it came from and is always trained from it, so the flow learns the inversion's own
 * coupling instead of pairing a target with fresh noise. An inverted target is its noise plus
 * a small change that reads as the text only on that noise; with fresh noise the loss has a
 * floor near the noise's own energy, with its own noise it has none. The pure-text baseline:
 * whether samples from fresh noise then read back is what EXPERIMENTS.md measures.
 * @module
 */
import { inversion } from "./inversion.ts";
import type { RecipeSpec } from "./types.ts";

/** The paired recipe: inversion's targets and loss, each target trained from its own noise. */
export const paired: RecipeSpec = {
  ...inversion,
  name: "paired",
  summary: "decoder inversions of noise, each trained from its own noise; CFM only (baseline)",
  targets: { ...inversion.targets!, keepNoise: true },
  lossLabel: "CFM loss (each target from its own noise)",
};
