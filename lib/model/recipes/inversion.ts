/**
 * "inversion": targets are decoder inversions of noise, made once; loss = OT-CFM alone. A
 * baseline: its targets read back only on the noise they came from (EXPERIMENTS.md).
 * @module
 */
import type { RecipeSpec } from "./types.ts";

/** The inversion recipe. */
export const inversion: RecipeSpec = {
  name: "inversion",
  summary: "decoder inversions of noise as targets; CFM only (baseline)",
  inputs: { pair: true, decoder: false },
  loss: ({ flow }) => flow().loss,
  targets: {
    source: "noise",
    invert: true,
    start: "noise",
    refresh: false,
    normalised: false,
    pull: false,
    keepNoise: false,
  },
  lossLabel: "CFM loss",
};
