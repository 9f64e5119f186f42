/**
 * "unrolled": K Euler steps from noise with gradients through every step; loss = the frozen
 * decoder's cross-entropy on the final states. No targets.
 * @module
 */
import { add, mul } from "../../graph/ops.ts";
import type { RecipeSpec } from "./types.ts";

/** The unrolled recipe. */
export const unrolled: RecipeSpec = {
  name: "unrolled",
  summary: "K Euler steps from noise, decoder cross-entropy on the result",
  inputs: { pair: false, decoder: true },
  loss: ({ batch, net, decoderLoss, unrollSteps, rows }) => {
    let x = batch.x0;
    for (let k = 0; k < unrollSteps; k++) {
      const t = x.graph.constant(k / unrollSteps, { dtype: "float32", shape: [rows] });
      x = add(x, mul(net(x, t), 1 / unrollSteps));
    }
    return decoderLoss(x);
  },
  lossLabel: "decoder cross-entropy",
};
