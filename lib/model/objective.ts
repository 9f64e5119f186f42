/**
 * Training objectives of the text-to-semantic model as train-step specs (lib/graph/train.ts):
 * each is one ONNX graph with the CFM parameters as inputs and the frozen Whisper decoder's
 * weights as shared tensors (the checkpoint's own arrays, one copy for every batch shape). No
 * audio anywhere: the decoder reading the text back is the signal.
 *
 * Each recipe's loss lives in its own module (lib/model/recipes); this one supplies the parts
 * they share: the velocity network, the OT-CFM loss (Lipman et al. 2023, eq. 22) on the batch's
 * (x0, x1, t), and the frozen decoder's cross-entropy through the chosen interface.
 * @module
 */
import type { Value } from "../graph/builder.ts";
import type { TrainSpec } from "../graph/train.ts";
import type { Shape } from "../graph/types.ts";
import { otPath } from "../flow/paths.ts";
import { sampleXtUtGraph } from "../flow/sample.ts";
import { vectorFieldLossGraph } from "../flow/loss.ts";
import type { WhisperCheckpoint } from "../whisper/checkpoint.ts";
import { decoder, maskedCrossEntropy, weightAccess } from "../whisper/model.ts";
import { add, mul, reshape } from "../graph/ops.ts";
import type { ChannelStats } from "../speech/prior.ts";
import type { T2SConfig } from "./config.ts";
import { t2sParamDefs, velocity } from "./network.ts";
import { type Recipe, recipeSpec } from "./recipes/mod.ts";

/** The training recipes. */
export {
  type LossParts,
  type Recipe,
  RECIPES,
  type RecipeSpec,
  recipeSpec,
  type TargetPlan,
} from "./recipes/mod.ts";

/** Static shapes of one batch. */
export interface BatchShape {
  /** Sentences per batch. */
  readonly batch: number;
  /** Frames (padded). */
  readonly frames: number;
  /** Decoder tokens (padded): prompt, text and <|endoftext|>. */
  readonly tokens: number;
}

/** Settings of an objective. */
export interface ObjectiveOptions {
  /** The recipe. */
  readonly recipe: Recipe;
  /** The CFM network. */
  readonly config: T2SConfig;
  /** The frozen Whisper (its decoder scores the states). */
  readonly whisper: WhisperCheckpoint;
  /** Static batch shape. */
  readonly shape: BatchShape;
  /** Weight of the anchor cross-entropy in "distill" (default 0.1). */
  readonly lambda?: number;
  /** Euler steps of "unrolled" (default 4). */
  readonly unrollSteps?: number;
  /** sigma_min of the OT path (default 0). */
  readonly sigmaMin?: number;
  /** Silence states [1500 x dModel]: the decoder reads [states; silence tail] (default: key mask). */
  readonly silence?: Float32Array;
  /**
   * The silence states' cross-attention keys and values (`silenceCrossCache` in
   * lib/whisper/runtime.ts): the tail's are then read, not projected at every step.
   */
  readonly silenceCross?: Readonly<Record<string, Float32Array>>;
  /** Per-channel statistics when the recipe's flow works in normalised space (lib/speech). */
  readonly norm?: ChannelStats;
}

/**
 * The inputs each recipe's step takes per batch, by name.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { batchInputs } from "./objective.ts";
 * const inputs = batchInputs("unrolled", { batch: 2, frames: 10, tokens: 6 }, { width: 32 });
 * assert.deepEqual(Object.keys(inputs), ["x0", "text", "mask", "tokens", "targets", "tmask"]);
 * ```
 */
export function batchInputs(
  recipe: Recipe,
  shape: BatchShape,
  options: { width: number },
): Record<string, { dtype: "float32" | "int64"; shape: Shape }> {
  const { batch: b, frames: f, tokens: l } = shape, w = options.width;
  const { inputs } = recipeSpec(recipe);
  const states = { dtype: "float32" as const, shape: [b, f, w] };
  const text = {
    text: { dtype: "int64" as const, shape: [b, f] },
    mask: { dtype: "float32" as const, shape: [b, f] },
  };
  const decoderInputs = {
    tokens: { dtype: "int64" as const, shape: [b, l] },
    targets: { dtype: "int64" as const, shape: [b, l] },
    tmask: { dtype: "float32" as const, shape: [b, l] },
  };
  type Inputs = Record<string, { dtype: "float32" | "int64"; shape: Shape }>;
  const noise: Inputs = inputs.pair
    ? { x0: states, x1: states, t: { dtype: "float32", shape: [b] } }
    : { x0: states };
  return { ...noise, ...text, ...(inputs.decoder ? decoderInputs : {}) };
}

/**
 * The train-step spec of a recipe: parameter shapes, batch inputs and the loss.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { buildTrainStep } from "../graph/train.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { t2sConfig } from "./config.ts";
 * import { objective } from "./objective.ts";
 * const whisper = tinyRandomWhisper();
 * const config = t2sConfig("tiny", { width: whisper.config.dModel });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const spec = objective({ recipe: "distill", config: config.right, whisper,
 *   shape: { batch: 2, frames: 10, tokens: 6 } });
 * const g = buildTrainStep(spec);
 * assert.ok(g.outputs.some((v) => g.serialName(v) === "loss"));
 * ```
 */
export function objective(options: ObjectiveOptions): TrainSpec {
  const { config, whisper, shape } = options;
  const spec = recipeSpec(options.recipe);
  const defs = t2sParamDefs(config);
  const lambda = options.lambda ?? 0.1, unrollSteps = options.unrollSteps ?? 4;
  const path = otPath({ sigmaMin: options.sigmaMin ?? 0 });
  const d = whisper.config.dModel;
  if (spec.targets?.normalised && spec.inputs.decoder && !options.norm) {
    throw new Error(`recipe "${spec.name}" reads normalised states: pass the prior's { norm }`);
  }
  // x * std + mean, the statistics as graph constants broadcast over [batch, frames, width].
  const toWhisper = (x: Value) => {
    const norm = options.norm;
    if (!spec.targets?.normalised || !norm) return x;
    const channel = (name: string, data: Float32Array) =>
      x.graph.initializer(name, { data, shape: [1, 1, data.length] });
    return add(mul(x, channel("norm_std", norm.std)), channel("norm_mean", norm.mean));
  };
  const rowWeighted = (tmask: Value, rows?: Value) =>
    rows ? mul(tmask, reshape(rows, [shape.batch, 1])) : tmask;
  const decoderLoss = (
    states: Value,
    b: Readonly<Record<string, Value>>,
    rowWeights?: Value,
  ) =>
    maskedCrossEntropy(
      decoder(b.tokens, {
        weights: weightAccess(states.graph, whisper.weights),
        config: whisper.config,
        states,
        statesMask: b.mask,
        silence: options.silence &&
          states.graph.shared("silence", {
            data: options.silence,
            shape: [options.silence.length / d, d],
          }),
        silenceCross: options.silenceCross,
      }),
      { targets: b.targets, mask: rowWeighted(b.tmask, rowWeights) },
    );
  return {
    params: Object.fromEntries(Object.entries(defs).map(([n, d]) => [n, d.shape])),
    batch: batchInputs(options.recipe, shape, { width: config.width }),
    loss: (params, b) => {
      const net = (xt: Value, t: Value) =>
        velocity({ xt, t, text: b.text, mask: b.mask }, { params, config });
      return spec.loss({
        batch: b,
        net,
        flow: () => {
          const { xt, ut } = sampleXtUtGraph(path, { x0: b.x0, x1: b.x1, t: b.t });
          const v = net(xt, b.t);
          return { loss: vectorFieldLossGraph(v, ut, { mask: b.mask }), xt, v };
        },
        decoderLoss: (states, o) => decoderLoss(states, b, o?.rowWeights),
        toWhisper,
        lambda,
        unrollSteps,
        rows: shape.batch,
      });
    },
  };
}
