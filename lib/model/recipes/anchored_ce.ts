/**
 * "anchored-ce": the anchored recipe's targets (eSpeak NG prior states refined by decoder
 * inversion with a pull to them, made once), and its loss plus lambda times the frozen
 * decoder's t-weighted cross-entropy on the one-step estimate (read_term.ts), so samples are
 * pushed toward readable states directly and not only through the targets.
 * @module
 */
import { ANCHORED_TARGETS } from "./anchored.ts";
import { cfmWithReadTerm } from "./read_term.ts";
import type { RecipeSpec } from "./types.ts";

/** The anchored recipe with the decoder's reading of the one-step estimate. */
export const anchoredCe: RecipeSpec = {
  name: "anchored-ce",
  summary: "anchored targets; CFM (normalised) + λ · t-weighted decoder cross-entropy of x̂1",
  inputs: { pair: true, decoder: true },
  loss: cfmWithReadTerm,
  targets: ANCHORED_TARGETS,
  lossLabel: "CFM (normalised) + λ · decoder cross-entropy",
};
