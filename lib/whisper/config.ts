/**
 * Whisper model configurations: the Hugging Face `config.json` fields the graphs need, the
 * named sizes (tiny to large-v3-turbo, multilingual and English-only), and validation.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";

/** The shape of a Whisper model, read from (and written to) a Hugging Face config.json. */
export interface WhisperConfig {
  /** Width of every layer. */
  readonly dModel: number;
  /** Transformer blocks in the encoder. */
  readonly encoderLayers: number;
  /** Transformer blocks in the decoder. */
  readonly decoderLayers: number;
  /** Attention heads in the encoder. */
  readonly encoderHeads: number;
  /** Attention heads in the decoder. */
  readonly decoderHeads: number;
  /** Hidden width of the encoder MLPs (4 dModel in every released model). */
  readonly encoderFfn: number;
  /** Hidden width of the decoder MLPs. */
  readonly decoderFfn: number;
  /** Mel bins of the input spectrogram (80, or 128 for large-v3). */
  readonly nMels: number;
  /** Token vocabulary (51865 multilingual, 51866 v3, 51864 English-only). */
  readonly vocabSize: number;
  /** Encoder positions: 1500 frames for 30 s. */
  readonly maxSourcePositions: number;
  /** Decoder positions (448). */
  readonly maxTargetPositions: number;
  /** <|endoftext|>. */
  readonly eosTokenId: number;
  /** <|startoftranscript|>. */
  readonly decoderStartTokenId: number;
}

/** Why a configuration was rejected; the message names the field or size. */
export interface ConfigError {
  /** Discriminant. */
  readonly _tag: "ConfigError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

const configError = (message: string): ConfigError => ({ _tag: "ConfigError", message });

type Dims = [d: number, layers: number, heads: number];
const SIZE_DIMS: Readonly<Record<string, Dims>> = {
  tiny: [384, 4, 6],
  base: [512, 6, 8],
  small: [768, 12, 12],
  medium: [1024, 24, 16],
  large: [1280, 32, 20],
};

function released(dims: Dims, o: { vocab: number; mels?: number; decoderLayers?: number }) {
  const [d, layers, heads] = dims;
  const english = o.vocab === 51864;
  return {
    dModel: d,
    encoderLayers: layers,
    decoderLayers: o.decoderLayers ?? layers,
    encoderHeads: heads,
    decoderHeads: heads,
    encoderFfn: 4 * d,
    decoderFfn: 4 * d,
    nMels: o.mels ?? 80,
    vocabSize: o.vocab,
    maxSourcePositions: 1500,
    maxTargetPositions: 448,
    eosTokenId: english ? 50256 : 50257,
    decoderStartTokenId: english ? 50257 : 50258,
  };
}

/**
 * Every released Whisper size by its Hugging Face name (without "openai/whisper-").
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { WHISPER_SIZES } from "./config.ts";
 * assert.equal(WHISPER_SIZES["large-v3-turbo"].decoderLayers, 4);
 * assert.equal(WHISPER_SIZES["tiny.en"].decoderStartTokenId, 50257);
 * ```
 */
export const WHISPER_SIZES: Readonly<Record<string, WhisperConfig>> = {
  ...Object.fromEntries(
    ["tiny", "base", "small", "medium"].flatMap((s) => [
      [s, released(SIZE_DIMS[s], { vocab: 51865 })],
      [`${s}.en`, released(SIZE_DIMS[s], { vocab: 51864 })],
    ]),
  ),
  "large": released(SIZE_DIMS.large, { vocab: 51865 }),
  "large-v1": released(SIZE_DIMS.large, { vocab: 51865 }),
  "large-v2": released(SIZE_DIMS.large, { vocab: 51865 }),
  "large-v3": released(SIZE_DIMS.large, { vocab: 51866, mels: 128 }),
  "large-v3-turbo": released(SIZE_DIMS.large, { vocab: 51866, mels: 128, decoderLayers: 4 }),
};

/**
 * The configuration of a released size ("tiny", "base.en", "large-v3-turbo", or with the
 * "openai/whisper-" prefix); an unknown size is an error listing the known ones.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { sizeConfig } from "./config.ts";
 * const tiny = sizeConfig("openai/whisper-tiny");
 * assert.ok(tiny._tag === "Right" && tiny.right.dModel === 384);
 * const bad = sizeConfig("huge");
 * assert.ok(bad._tag === "Left" && bad.left.message.includes("large-v3-turbo"));
 * ```
 */
export function sizeConfig(size: string): Either<ConfigError, WhisperConfig> {
  const name = size.replace(/^openai\/whisper-/, "").replace(/^whisper-/, "");
  const config = WHISPER_SIZES[name];
  return config ? E.right(config) : E.left(configError(
    `unknown Whisper size '${size}'; known sizes: ${Object.keys(WHISPER_SIZES).join(", ")}`,
  ));
}

/**
 * True for models whose vocabulary has language tokens (51865 tokens or more).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { isMultilingual, sizeConfig } from "./config.ts";
 * const tiny = sizeConfig("tiny"), tinyEn = sizeConfig("tiny.en");
 * assert.ok(tiny._tag === "Right" && isMultilingual(tiny.right));
 * assert.ok(tinyEn._tag === "Right" && !isMultilingual(tinyEn.right));
 * ```
 */
export const isMultilingual = (config: WhisperConfig): boolean => config.vocabSize >= 51865;

/** The config.json key of each field. */
const JSON_KEYS: Readonly<Record<keyof WhisperConfig, string>> = {
  dModel: "d_model",
  encoderLayers: "encoder_layers",
  decoderLayers: "decoder_layers",
  encoderHeads: "encoder_attention_heads",
  decoderHeads: "decoder_attention_heads",
  encoderFfn: "encoder_ffn_dim",
  decoderFfn: "decoder_ffn_dim",
  nMels: "num_mel_bins",
  vocabSize: "vocab_size",
  maxSourcePositions: "max_source_positions",
  maxTargetPositions: "max_target_positions",
  eosTokenId: "eos_token_id",
  decoderStartTokenId: "decoder_start_token_id",
};

/**
 * Reads and validates the fields of a parsed Hugging Face config.json; `source` (a path)
 * goes into error messages.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { configFromJson, configToJson, WHISPER_SIZES } from "./config.ts";
 * const json = configToJson(WHISPER_SIZES.base);
 * assert.equal(json.d_model, 512);
 * const back = configFromJson(json);
 * assert.ok(back._tag === "Right" && back.right.decoderLayers === 6);
 * const bad = configFromJson({ ...json, d_model: 500 }, { source: "m/config.json" });
 * assert.ok(bad._tag === "Left" && /m\/config.json.*d_model 500.*8 heads/.test(bad.left.message));
 * ```
 */
export function configFromJson(
  json: unknown,
  options: { source?: string } = {},
): Either<ConfigError, WhisperConfig> {
  const where = options.source ?? "config.json";
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return E.left(configError(`${where}: expected a JSON object`));
  }
  const record = json as Record<string, unknown>;
  if (record.model_type !== undefined && record.model_type !== "whisper") {
    return E.left(configError(`${where}: model_type is '${record.model_type}', not 'whisper'`));
  }
  const out: Record<string, number> = {};
  for (const [field, key] of Object.entries(JSON_KEYS)) {
    // Older configs omit the position limits; Whisper has always used 1500 and 448.
    const value = record[key] ?? { max_source_positions: 1500, max_target_positions: 448 }[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      return E.left(configError(
        `${where}: '${key}' must be a non-negative integer, got ${JSON.stringify(value)}`,
      ));
    }
    out[field] = value;
  }
  const c = out as unknown as WhisperConfig;
  for (const [heads, side] of [[c.encoderHeads, "encoder"], [c.decoderHeads, "decoder"]] as const) {
    if (heads < 1 || c.dModel % heads !== 0) {
      return E.left(configError(
        `${where}: d_model ${c.dModel} is not divisible by the ${side}'s ${heads} heads`,
      ));
    }
  }
  for (const id of [c.eosTokenId, c.decoderStartTokenId]) {
    if (id >= c.vocabSize) {
      return E.left(configError(`${where}: token id ${id} is outside vocab_size ${c.vocabSize}`));
    }
  }
  return E.right(c);
}

/**
 * A Hugging Face config.json object for `config` (loadable by transformers'
 * WhisperForConditionalGeneration).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { configToJson, WHISPER_SIZES } from "./config.ts";
 * const json = configToJson(WHISPER_SIZES["tiny.en"]);
 * assert.equal(json.model_type, "whisper");
 * assert.equal(json.vocab_size, 51864);
 * ```
 */
export function configToJson(config: WhisperConfig): Record<string, unknown> {
  const fields = Object.fromEntries(
    Object.entries(JSON_KEYS).map(([field, key]) => [key, config[field as keyof WhisperConfig]]),
  );
  return {
    architectures: ["WhisperForConditionalGeneration"],
    model_type: "whisper",
    activation_function: "gelu",
    scale_embedding: false,
    tie_word_embeddings: true,
    pad_token_id: config.eosTokenId,
    bos_token_id: config.eosTokenId,
    torch_dtype: "float32",
    ...fields,
  };
}
