/**
 * "anchored": targets start at the eSpeak NG prior states (lib/speech) and are refined by
 * decoder inversion with a pull back to them, so they read back while staying speech-shaped;
 * made once (they do not depend on the model). Loss = plain CFM in per-channel normalised space.
 * @module
 */
import type { RecipeSpec, TargetPlan } from "./types.ts";

/** Anchored targets: the prior states refined by inversion with a pull back, made once. */
export const ANCHORED_TARGETS: TargetPlan = {
  source: "noise",
  invert: true,
  start: "prior",
  refresh: false,
  normalised: true,
  pull: true,
  keepNoise: false,
};

/** The anchored recipe. */
export const anchored: RecipeSpec = {
  name: "anchored",
  summary: "eSpeak NG prior states refined by inversion with a pull to them; CFM (normalised)",
  inputs: { pair: true, decoder: false },
  loss: ({ flow }) => flow().loss,
  targets: ANCHORED_TARGETS,
  lossLabel: "CFM loss (normalised states)",
};
