/**
 * "distill": targets are the EMA model's own samples refined by decoder inversion, remade every
 * `refreshEvery` steps; loss = OT-CFM (Lipman et al. 2023, eq. 22) + lambda times the decoder's
 * cross-entropy on the one-step estimate x1_hat = x_t + (1 - t) v (flowseq's anchor loss).
 * @module
 */
import { add, mul } from "../../graph/ops.ts";
import { oneStepEstimateGraph } from "../../flow/loss.ts";
import type { RecipeSpec } from "./types.ts";

/** The distill recipe. */
export const distill: RecipeSpec = {
  name: "distill",
  summary: "the model's own samples, refined by inversion; CFM + decoder anchor loss",
  inputs: { pair: true, decoder: true },
  loss: ({ flow, decoderLoss, batch, lambda }) => {
    const { loss, xt, v } = flow();
    return add(loss, mul(decoderLoss(oneStepEstimateGraph(xt, v, { t: batch.t })), lambda));
  },
  targets: {
    source: "noise",
    invert: true,
    start: "samples",
    refresh: true,
    normalised: false,
    pull: false,
    keepNoise: false,
  },
  lossLabel: "CFM + λ · decoder cross-entropy",
};
