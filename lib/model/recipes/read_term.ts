/**
 * The decoder's cross-entropy on the one-step estimate x̂1 = x_t + (1 - t) v (the anchor loss
 * of flowseq-style training), shared by the recipes that add it to plain CFM. x̂1 is mapped to
 * Whisper's space before the decoder reads it, and each sentence's tokens are weighted by its t:
 * near t = 0 the estimate is the blurred mean of all targets, which no decoder can read, and
 * the term should shape the end of the path, where sampling lands.
 * @module
 */
import type { Value } from "../../graph/builder.ts";
import { add, mul } from "../../graph/ops.ts";
import { oneStepEstimateGraph } from "../../flow/loss.ts";
import type { LossParts } from "./types.ts";

/** CFM + lambda times the t-weighted decoder cross-entropy of x̂1. */
export function cfmWithReadTerm(parts: LossParts): Value {
  const { flow, decoderLoss, toWhisper, batch, lambda } = parts;
  const { loss, xt, v } = flow();
  const estimate = toWhisper(oneStepEstimateGraph(xt, v, { t: batch.t }));
  return add(loss, mul(decoderLoss(estimate, { rowWeights: batch.t }), lambda));
}
