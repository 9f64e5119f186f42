/**
 * "bridge-ce": the bridge recipe (from each text's eSpeak NG prior states to its anchored
 * target) plus lambda times the frozen decoder's t-weighted cross-entropy on the one-step
 * estimate (read_term.ts). Bridge regresses onto one target per training sentence, which it
 * memorises; the read term asks for what is wanted of any sentence, readable states, so the
 * correction it teaches may carry better to unseen text.
 * @module
 */
import { ANCHORED_TARGETS } from "./anchored.ts";
import { cfmWithReadTerm } from "./read_term.ts";
import type { RecipeSpec } from "./types.ts";

/** The bridge recipe with the decoder's reading of the one-step estimate. */
export const bridgeCe: RecipeSpec = {
  name: "bridge-ce",
  summary:
    "as bridge; CFM (normalised, from the prior) + λ · t-weighted decoder cross-entropy of x̂1",
  inputs: { pair: true, decoder: true },
  loss: cfmWithReadTerm,
  targets: { ...ANCHORED_TARGETS, source: "prior" },
  lossLabel: "CFM (normalised, from the prior) + λ · decoder cross-entropy",
};
