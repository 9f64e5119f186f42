/**
 * "prior": the targets are the eSpeak NG prior states themselves (lib/speech, no inversion),
 * learned by CFM in per-channel normalised space; the frozen decoder's t-weighted cross-entropy
 * on the one-step estimate (read_term.ts, weight lambda) is what pulls samples from the prior's
 * readability (its L0 ceiling) toward the text.
 * @module
 */
import { cfmWithReadTerm } from "./read_term.ts";
import type { RecipeSpec } from "./types.ts";

/** The prior recipe. */
export const prior: RecipeSpec = {
  name: "prior",
  summary: "eSpeak NG prior states as targets; CFM (normalised) + λ · decoder cross-entropy of x̂1",
  inputs: { pair: true, decoder: true },
  loss: cfmWithReadTerm,
  targets: {
    source: "noise",
    invert: false,
    start: "prior",
    refresh: false,
    normalised: true,
    pull: false,
    keepNoise: false,
  },
  lossLabel: "CFM (normalised) + λ · decoder cross-entropy",
};
