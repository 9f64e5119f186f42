/**
 * "bridge": the flow starts at each sentence's own eSpeak NG prior states (normalised), not at
 * noise, and carries them to the anchored target (the prior refined by decoder inversion with a
 * pull back to it). The network only learns the correction that makes a rendering readable; at
 * sampling time every text is rendered and encoded first (text alone still: eSpeak NG and the
 * frozen encoder), so an unseen sentence starts from its own speech-shaped states. Deterministic:
 * one output per text.
 * @module
 */
import { ANCHORED_TARGETS } from "./anchored.ts";
import type { RecipeSpec } from "./types.ts";

/** The bridge recipe. */
export const bridge: RecipeSpec = {
  name: "bridge",
  summary: "from each text's eSpeak NG prior states to its anchored target; CFM (normalised)",
  inputs: { pair: true, decoder: false },
  loss: ({ flow }) => flow().loss,
  targets: { ...ANCHORED_TARGETS, source: "prior" },
  lossLabel: "CFM loss (normalised states, from the prior)",
};
