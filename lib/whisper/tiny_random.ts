/**
 * A tiny random Whisper made by the project: the released layout and tensor names with small
 * dimensions, seeded weights, sinusoidal encoder positions, and a byte-level tokenizer with
 * Whisper's special tokens. Tests and smoke runs use it; they never need real weights.
 * @module
 */
import type { TaskEither } from "../result.ts";
import type { Tensor } from "../graph/params.ts";
import { createRng, fillNormal, type Rng } from "../random.ts";
import { sinusoids } from "../graph/positional.ts";
import {
  type CheckpointError,
  expectedShapes,
  saveCheckpoint,
  type WhisperCheckpoint,
} from "./checkpoint.ts";
import type { WhisperConfig } from "./config.ts";
import { tinyTokenizerJson, tinyVocabSize } from "./tiny_tokenizer.ts";

/**
 * The tiny random model's shape: width 32, 2 heads, 2 + 2 layers, 80 mel bins, the released
 * 1500 encoder and 448 decoder positions, and the byte-level vocabulary (with or without the
 * language tokens).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tinyRandomConfig } from "./tiny_random.ts";
 * const config = tinyRandomConfig();
 * assert.ok(config.dModel === 32 && config.encoderLayers === 2 && config.nMels === 80);
 * assert.equal(config.decoderStartTokenId, config.eosTokenId + 1);
 * assert.ok(tinyRandomConfig({ multilingual: false }).vocabSize < config.vocabSize);
 * ```
 */
export function tinyRandomConfig(options: { multilingual?: boolean } = {}): WhisperConfig {
  const multilingual = options.multilingual ?? true;
  const added: { id: number; content: string }[] = JSON.parse(tinyTokenizerJson({ multilingual }))
    .added_tokens;
  const eot = added.find((t) => t.content === "<|endoftext|>")!.id;
  return {
    dModel: 32,
    encoderLayers: 2,
    decoderLayers: 2,
    encoderHeads: 2,
    decoderHeads: 2,
    encoderFfn: 64,
    decoderFfn: 64,
    nMels: 80,
    vocabSize: tinyVocabSize({ multilingual }),
    maxSourcePositions: 1500,
    maxTargetPositions: 448,
    eosTokenId: eot,
    decoderStartTokenId: eot + 1,
  };
}

function randomTensor(name: string, shape: number[], rng: Rng): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  if (name.endsWith("layer_norm.weight")) {
    return { shape, data: fillNormal(data, rng, { mean: 1, std: 0.1 }) };
  }
  if (name.endsWith(".bias")) return { shape, data: fillNormal(data, rng, { std: 0.1 }) };
  if (name.endsWith("embed_tokens.weight")) {
    return { shape, data: fillNormal(data, rng, { std: 0.05 }) };
  }
  if (name.endsWith("embed_positions.weight")) {
    return { shape, data: fillNormal(data, rng, { std: 0.3 }) };
  }
  // Weights scaled by fan-in keep activations O(1) through the blocks.
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape, data: fillNormal(data, rng, { std: 1 / Math.sqrt(fanIn) }) };
}

/**
 * A tiny random Whisper: config, seeded weights under the released tensor names, and its
 * tokenizer.json. The same seed gives the same bytes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { checkWeights } from "./checkpoint.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * const a = tinyRandomWhisper({ seed: 1 }), b = tinyRandomWhisper({ seed: 1 });
 * assert.equal(checkWeights(a.config, a.weights)._tag, "Right");
 * assert.deepEqual(a.weights["model.encoder.conv1.weight"], b.weights["model.encoder.conv1.weight"]);
 * ```
 */
export function tinyRandomWhisper(
  options: { seed?: number; multilingual?: boolean } = {},
): WhisperCheckpoint & { tokenizerJson: string } {
  const { seed = 0, multilingual = true } = options;
  const config = tinyRandomConfig({ multilingual });
  const rng = createRng(seed);
  const weights: Record<string, Tensor> = {};
  for (const [name, shape] of expectedShapes(config)) {
    weights[name] = name === "model.encoder.embed_positions.weight"
      ? { shape, data: sinusoids(shape[0], shape[1]) }
      : randomTensor(name, shape, rng);
  }
  return {
    config,
    weights,
    tokenizerJson: tinyTokenizerJson({ multilingual }),
    generationConfig: {
      decoder_start_token_id: config.decoderStartTokenId,
      eos_token_id: config.eosTokenId,
      is_multilingual: multilingual,
      max_length: config.maxTargetPositions,
    },
  };
}

/**
 * Writes the tiny random Whisper as a Hugging Face folder (transformers loads it too).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import { writeTinyRandomWhisper } from "./tiny_random.ts";
 * const dir = await Deno.makeTempDir();
 * await orThrow(writeTinyRandomWhisper(dir, { seed: 3 }));
 * const loaded = await orThrow(loadCheckpoint(dir));
 * assert.equal(loaded.config.dModel, 32);
 * assert.ok(loaded.tokenizerJson?.includes("<|startoftranscript|>"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeTinyRandomWhisper(
  dir: string,
  options: { seed?: number; multilingual?: boolean } = {},
): TaskEither<CheckpointError, void> {
  return saveCheckpoint(dir, tinyRandomWhisper(options));
}
