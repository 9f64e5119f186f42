/**
 * The whole training step against PyTorch: three steps of a pre-LN transformer block
 * (forward, backward, clipping, AdamW) recorded by tests/fixtures/make_torch_step_fixture.py.
 */
import type { Tensor } from "../lib/graph/params.ts";
import { orThrow } from "../lib/result.ts";
import { blockProblem } from "../lib/graph/toy.ts";
import { initTrainState, openTrainer, trainCall } from "../lib/graph/train.ts";
import { assertClose } from "./harness.ts";

interface Fixture {
  sizes: { batch: number; seq: number; d: number; heads: number };
  init: {
    params: Record<string, { shape: number[]; data: number[] }>;
    x: { data: number[] };
    target: { data: number[] };
  };
  losses: number[];
  params_after: Record<string, number[]>;
}

Deno.test("trainCall() reproduces three PyTorch AdamW steps of a transformer block", async () => {
  const fx: Fixture = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/torch_block_step.json", import.meta.url)),
  );
  const problem = blockProblem(fx.sizes);
  const trainer = await orThrow(openTrainer(problem.spec, { threads: 1, decay: () => true }));
  const params: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(fx.init.params)) {
    params[k] = { shape: t.shape, data: Float32Array.from(t.data) };
  }
  let state = initTrainState(params);
  const batch = {
    x: Float32Array.from(fx.init.x.data),
    target: Float32Array.from(fx.init.target.data),
  };
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = await orThrow(trainCall(trainer, state, { batch, lr: 1e-3 }));
    state = out.state;
    losses.push(...out.losses);
  }
  assertClose(losses, fx.losses, { rtol: 1e-5, what: "losses" });
  for (const [k, v] of Object.entries(fx.params_after)) {
    assertClose(Array.from(state.params[k].data), v, { atol: 2e-6, rtol: 1e-5, what: k });
  }
});
