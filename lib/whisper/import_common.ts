/**
 * What the Whisper importers (CTranslate2, whisper.cpp ggml, openai .pt) share: their error
 * type, a bounds-checked little-endian reader, Whisper's special-token layout, the openai
 * tensor names, and the config / generation_config built from a source's own numbers.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E, function as F } from "../deps/fp_ts.ts";
import { halfToFloat, toFloat32 } from "../graph/safetensors.ts";
import { checkWeights, type WhisperCheckpoint, type WhisperWeights } from "./checkpoint.ts";
import { configFromJson, configToJson, isMultilingual, type WhisperConfig } from "./config.ts";
import { LANGUAGE_CODES } from "../text/languages.ts";

/** Why a source model could not be imported; names the file or tensor and the fix. */
export interface ImportError {
  /** Discriminant. */
  readonly _tag: "ImportError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/**
 * An {@link ImportError} with `message`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { importError } from "./import_common.ts";
 * assert.deepEqual(importError("bad magic"), { _tag: "ImportError", message: "bad magic" });
 * ```
 */
export const importError = (message: string): ImportError => ({ _tag: "ImportError", message });

/** Thrown by {@link ByteReader} past the end; the parsers turn it into an ImportError. */
export class TruncatedError extends Error {
  /** The error name, `TruncatedError`. */
  override name = "TruncatedError";
}

/**
 * Reads little-endian numbers and byte runs from a file image, throwing
 * {@link TruncatedError} (with `what` and the offset) instead of reading past the end.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ByteReader } from "./import_common.ts";
 * const r = new ByteReader(new Uint8Array([1, 0, 0, 0, 7]));
 * assert.equal(r.u32("count"), 1);
 * assert.equal(r.u8("flag"), 7);
 * assert.throws(() => r.u32("next"), /next at byte 5/);
 * ```
 */
export class ByteReader {
  /** Next byte to read. */
  offset = 0;
  readonly #view: DataView;

  /** Reads `bytes` from its start. */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  #take(n: number, what: string): number {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new TruncatedError(
        `file ends before ${what} at byte ${this.offset} (needs ${n} bytes, ` +
          `${this.remaining} left)`,
      );
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  /** An unsigned byte. */
  u8(what: string): number {
    return this.#view.getUint8(this.#take(1, what));
  }
  /** An unsigned 16-bit integer. */
  u16(what: string): number {
    return this.#view.getUint16(this.#take(2, what), true);
  }
  /** An unsigned 32-bit integer. */
  u32(what: string): number {
    return this.#view.getUint32(this.#take(4, what), true);
  }
  /** A signed 32-bit integer. */
  i32(what: string): number {
    return this.#view.getInt32(this.#take(4, what), true);
  }
  /** `n` bytes, as a view into the file (no copy). */
  take(n: number, what: string): Uint8Array {
    const at = this.#take(n, what);
    return this.bytes.subarray(at, at + n);
  }
}

/**
 * Float32 values of little-endian float32 bytes (copied, so any alignment works).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { f32FromBytes } from "./import_common.ts";
 * const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
 * const unaligned = new Uint8Array([0, ...bytes]).subarray(1);
 * assert.deepEqual([...f32FromBytes(unaligned)], [1.5, -2]);
 * ```
 */
export const f32FromBytes = (bytes: Uint8Array): Float32Array =>
  new Float32Array(bytes.slice().buffer);

/**
 * Float32 values of little-endian IEEE half-precision bytes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { f16FromBytes } from "./import_common.ts";
 * assert.deepEqual([...f16FromBytes(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]))], [1, -2]);
 * ```
 */
export function f16FromBytes(bytes: Uint8Array): Float32Array {
  const bits = new Uint16Array(bytes.slice().buffer), out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]);
  return out;
}

/**
 * Float32 values of little-endian bfloat16 bytes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { bf16FromBytes } from "./import_common.ts";
 * assert.deepEqual([...bf16FromBytes(new Uint8Array([0x80, 0x3f, 0x00, 0xc0]))], [1, -2]);
 * ```
 */
export const bf16FromBytes = (bytes: Uint8Array): Float32Array =>
  toFloat32({
    dtype: "BF16",
    shape: [bytes.length / 2],
    data: new Uint16Array(bytes.slice().buffer),
  });

/** The ids of Whisper's special tokens, which follow from the vocabulary size alone. */
export interface SpecialTokenIds {
  /** `<|endoftext|>`. */
  readonly eot: number;
  /** `<|startoftranscript|>`. */
  readonly sot: number;
  /** `<|en|>` and the other language tokens, in LANGUAGE_CODES order. */
  readonly languages: readonly number[];
  /** `<|translate|>`. */
  readonly translate: number;
  /** `<|transcribe|>`. */
  readonly transcribe: number;
  /** `<|startofprev|>`. */
  readonly prev: number;
  /** `<|notimestamps|>`. */
  readonly noTimestamps: number;
  /** `<|0.00|>`, the first of 1501 timestamp tokens that end the vocabulary. */
  readonly timestampBegin: number;
}

/** Vocabulary sizes of the released models: English-only, multilingual, large-v3. */
export const RELEASED_VOCAB_SIZES: readonly number[] = [51864, 51865, 51866];

/**
 * Special-token ids for a vocabulary of `vocabSize`, counted back from its end as every
 * Whisper lays them out: 1501 timestamps last, six task tokens before them, then the
 * languages after eot and sot. The language count is 100 for large-v3's 51866 tokens and 99
 * otherwise, unless `eot` (the id of `<|endoftext|>`, from a tokenizer) pins it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { specialTokens } from "./import_common.ts";
 * const ml = specialTokens(51865);
 * assert.deepEqual([ml.eot, ml.sot, ml.transcribe, ml.noTimestamps], [50257, 50258, 50359, 50363]);
 * assert.equal(ml.languages.length, 99);
 * assert.equal(specialTokens(51864).eot, 50256);
 * assert.equal(specialTokens(51866).languages.length, 100);
 * assert.equal(specialTokens(1873, { eot: 264 }).languages.length, 100);
 * ```
 */
export function specialTokens(vocabSize: number, options: { eot?: number } = {}): SpecialTokenIds {
  const timestampBegin = vocabSize - 1501;
  const translate = timestampBegin - 6;
  const eot = options.eot ?? translate - (vocabSize >= 51866 ? 100 : 99) - 2;
  return {
    eot,
    sot: eot + 1,
    languages: Array.from({ length: Math.max(0, translate - eot - 2) }, (_, i) => eot + 2 + i),
    translate,
    transcribe: translate + 1,
    prev: translate + 3,
    noTimestamps: translate + 5,
    timestampBegin,
  };
}

/**
 * The id of `<|endoftext|>` in tokenizer.json text, or undefined (also for invalid JSON).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tokenizerEot } from "./import_common.ts";
 * assert.equal(tokenizerEot('{"added_tokens":[{"id":7,"content":"<|endoftext|>"}]}'), 7);
 * assert.equal(tokenizerEot("{}"), undefined);
 * ```
 */
export function tokenizerEot(tokenizerJson: string): number | undefined {
  try {
    const parsed = JSON.parse(tokenizerJson) as {
      added_tokens?: { id: number; content: string }[];
    };
    return parsed.added_tokens?.find((t) => t.content === "<|endoftext|>")?.id;
  } catch {
    return undefined;
  }
}

/**
 * The id of `<|endoftext|>` for a model of `vocabSize` tokens: undefined for the released
 * sizes (their layout fixes it, so a mismatched tokenizer is caught, not believed), else the
 * tokenizer's, if any.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { eotFromTokenizer } from "./import_common.ts";
 * const json = JSON.stringify({ added_tokens: [{ id: 90, content: "<|endoftext|>" }] });
 * assert.equal(eotFromTokenizer(120, json), 90);
 * assert.equal(eotFromTokenizer(51865, json), undefined); // released size: fixed layout
 * assert.equal(eotFromTokenizer(120), undefined);
 * ```
 */
export const eotFromTokenizer = (vocabSize: number, tokenizerJson?: string): number | undefined =>
  RELEASED_VOCAB_SIZES.includes(vocabSize) || tokenizerJson === undefined
    ? undefined
    : tokenizerEot(tokenizerJson);

const OPENAI_BLOCK: Readonly<Record<string, string>> = {
  "attn.query": "self_attn.q_proj",
  "attn.key": "self_attn.k_proj",
  "attn.value": "self_attn.v_proj",
  "attn.out": "self_attn.out_proj",
  "attn_ln": "self_attn_layer_norm",
  "cross_attn.query": "encoder_attn.q_proj",
  "cross_attn.key": "encoder_attn.k_proj",
  "cross_attn.value": "encoder_attn.v_proj",
  "cross_attn.out": "encoder_attn.out_proj",
  "cross_attn_ln": "encoder_attn_layer_norm",
  "mlp.0": "fc1",
  "mlp.2": "fc2",
  "mlp_ln": "final_layer_norm",
};

const OPENAI_TOP: Readonly<Record<string, string>> = {
  "encoder.positional_embedding": "model.encoder.embed_positions.weight",
  "encoder.ln_post.weight": "model.encoder.layer_norm.weight",
  "encoder.ln_post.bias": "model.encoder.layer_norm.bias",
  "decoder.positional_embedding": "model.decoder.embed_positions.weight",
  "decoder.token_embedding.weight": "model.decoder.embed_tokens.weight",
  "decoder.ln.weight": "model.decoder.layer_norm.weight",
  "decoder.ln.bias": "model.decoder.layer_norm.bias",
};

/**
 * The Hugging Face name of an openai-whisper tensor name (also whisper.cpp's), or undefined
 * for a name Whisper does not have.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { hfNameOfOpenai } from "./import_common.ts";
 * assert.equal(
 *   hfNameOfOpenai("decoder.blocks.3.cross_attn.key.weight"),
 *   "model.decoder.layers.3.encoder_attn.k_proj.weight",
 * );
 * assert.equal(hfNameOfOpenai("encoder.conv1.bias"), "model.encoder.conv1.bias");
 * assert.equal(hfNameOfOpenai("encoder.extra"), undefined);
 * ```
 */
export function hfNameOfOpenai(name: string): string | undefined {
  if (OPENAI_TOP[name]) return OPENAI_TOP[name];
  if (/^encoder\.conv[12]\.(weight|bias)$/.test(name)) return `model.${name}`;
  const m = /^(encoder|decoder)\.blocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  const part = m && OPENAI_BLOCK[m[3]];
  return m && part ? `model.${m[1]}.layers.${m[2]}.${part}.${m[4]}` : undefined;
}

/**
 * Largest N+1 over names `model.<side>.layers.N.`; layer counts of formats that omit them.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { countLayers } from "./import_common.ts";
 * const names = ["model.encoder.layers.3.fc1.weight", "model.decoder.layers.1.fc1.weight"];
 * assert.equal(countLayers(names, "encoder"), 4);
 * assert.equal(countLayers(names, "decoder"), 2);
 * ```
 */
export const countLayers = (names: Iterable<string>, side: "encoder" | "decoder"): number => {
  let n = 0;
  const re = new RegExp(`^model\\.${side}\\.layers\\.(\\d+)\\.`);
  for (const name of names) {
    const m = re.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
};

/**
 * A config for HF-named `weights`, sizes read from tensor shapes (width and n_mels from
 * conv1, layers from names, MLP width from fc1, vocabulary and positions from embeddings);
 * the head counts come from the source, which the shapes cannot tell, and so may the id of
 * `<|endoftext|>` (see {@link specialTokens}). Every tensor is then
 * checked against the config; errors name `source`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { configFromWeights } from "./import_common.ts";
 * const r = configFromWeights({}, { encoderHeads: 2, decoderHeads: 2, source: "m.bin" });
 * assert.ok(r._tag === "Left" && r.left.message.includes("m.bin"));
 * ```
 */
export function configFromWeights(
  weights: WhisperWeights,
  options: { encoderHeads: number; decoderHeads: number; source: string; eot?: number },
): Either<ImportError, WhisperConfig> {
  const { source } = options;
  const shape = (name: string) => weights[name]?.shape;
  const conv1 = shape("model.encoder.conv1.weight");
  const embed = shape("model.decoder.embed_tokens.weight");
  if (!conv1 || conv1.length !== 3 || !embed || embed.length !== 2) {
    return E.left(importError(
      `${source}: missing or misshapen tensors model.encoder.conv1.weight ` +
        `(${conv1 ?? "absent"}) / model.decoder.embed_tokens.weight (${embed ?? "absent"}); ` +
        `is this a Whisper model?`,
    ));
  }
  const vocabSize = embed[0];
  const special = specialTokens(vocabSize, { eot: options.eot });
  const json = configToJson({
    dModel: conv1[0],
    nMels: conv1[1],
    encoderLayers: countLayers(Object.keys(weights), "encoder"),
    decoderLayers: countLayers(Object.keys(weights), "decoder"),
    encoderHeads: options.encoderHeads,
    decoderHeads: options.decoderHeads,
    encoderFfn: shape("model.encoder.layers.0.fc1.weight")?.[0] ?? 4 * conv1[0],
    decoderFfn: shape("model.decoder.layers.0.fc1.weight")?.[0] ?? 4 * conv1[0],
    vocabSize,
    maxSourcePositions: shape("model.encoder.embed_positions.weight")?.[0] ?? 1500,
    maxTargetPositions: shape("model.decoder.embed_positions.weight")?.[0] ?? 448,
    eosTokenId: special.eot,
    decoderStartTokenId: special.sot,
  });
  const toImport = E.mapLeft((e: { message: string }) => importError(e.message));
  return F.pipe(
    toImport(configFromJson(json, { source: `${source} (inferred config)` })),
    E.chainFirst((config) => toImport(checkWeights(config, weights, { source }))),
  );
}

/** What a source says about decoding, beyond the weights. */
export interface DecodingHints {
  /** Tokens never to generate (CTranslate2's suppress_ids). */
  readonly suppressTokens?: readonly number[];
  /** Tokens not to generate first (CTranslate2's suppress_ids_begin). */
  readonly beginSuppressTokens?: readonly number[];
  /** Language token ids (CTranslate2's lang_ids); the size's own layout otherwise. */
  readonly langIds?: readonly number[];
  /** [decoder layer, head] pairs for word timestamps. */
  readonly alignmentHeads?: readonly (readonly number[])[];
  /** The token string of an id, from the source's vocabulary, to name the languages. */
  readonly tokenAt?: (id: number) => string | undefined;
}

/**
 * A Hugging Face generation_config.json for `config`: start / end / no-timestamps tokens,
 * task and language ids, and the suppress lists and alignment heads when the source has them.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { generationConfig } from "./import_common.ts";
 * import { WHISPER_SIZES } from "./config.ts";
 * const g = generationConfig(WHISPER_SIZES.tiny, { suppressTokens: [1, 2] });
 * assert.equal(g.is_multilingual, true);
 * assert.equal((g.lang_to_id as Record<string, number>)["<|de|>"], 50261);
 * assert.deepEqual(g.suppress_tokens, [1, 2]);
 * assert.equal(generationConfig(WHISPER_SIZES["tiny.en"], {}).no_timestamps_token_id, 50362);
 * ```
 */
export function generationConfig(
  config: WhisperConfig,
  hints: DecodingHints,
): Record<string, unknown> {
  const special = specialTokens(config.vocabSize, { eot: config.eosTokenId });
  const multilingual = isMultilingual(config);
  const out: Record<string, unknown> = {
    bos_token_id: special.eot,
    eos_token_id: config.eosTokenId,
    pad_token_id: special.eot,
    decoder_start_token_id: config.decoderStartTokenId,
    no_timestamps_token_id: special.noTimestamps,
    prev_sot_token_id: special.prev,
    max_initial_timestamp_index: 50,
    max_length: config.maxTargetPositions,
    is_multilingual: multilingual,
    task_to_id: { transcribe: special.transcribe, translate: special.translate },
  };
  if (multilingual) {
    const ids = hints.langIds?.length ? hints.langIds : special.languages;
    out.lang_to_id = Object.fromEntries(ids.map((id) => {
      const token = hints.tokenAt?.(id);
      const code = LANGUAGE_CODES[id - special.sot - 1];
      return [token && /^<\|[a-z]+\|>$/.test(token) ? token : `<|${code}|>`, id];
    }));
  }
  if (hints.suppressTokens) out.suppress_tokens = [...hints.suppressTokens];
  if (hints.beginSuppressTokens) out.begin_suppress_tokens = [...hints.beginSuppressTokens];
  if (hints.alignmentHeads) out.alignment_heads = hints.alignmentHeads.map((p) => [...p]);
  return out;
}

/**
 * Checks that tokenizer.json text fits `config` (its `<|endoftext|>` is the model's eos, so
 * an English-only tokenizer is not paired with a multilingual model or the reverse).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { checkTokenizer } from "./import_common.ts";
 * import { WHISPER_SIZES } from "./config.ts";
 * const json = JSON.stringify({ added_tokens: [{ id: 50256, content: "<|endoftext|>" }] });
 * assert.equal(checkTokenizer(json, WHISPER_SIZES["tiny.en"], { source: "t.json" })._tag, "Right");
 * const bad = checkTokenizer(json, WHISPER_SIZES.tiny, { source: "t.json" });
 * assert.ok(bad._tag === "Left" && bad.left.message.includes("t.json"));
 * ```
 */
export function checkTokenizer(
  tokenizerJson: string,
  config: WhisperConfig,
  options: { source: string },
): Either<ImportError, string> {
  if (tokenizerJson.trimStart()[0] !== "{") {
    return E.left(importError(`${options.source}: not a tokenizer.json (expected a JSON object)`));
  }
  const eot = tokenizerEot(tokenizerJson);
  if (eot !== config.eosTokenId) {
    const kind = isMultilingual(config) ? "multilingual" : "English-only";
    return E.left(importError(
      `${options.source}: <|endoftext|> is ${eot ?? "absent"} but the ${kind} model's is ` +
        `${config.eosTokenId}; pass the tokenizer.json of a ${kind} Whisper model`,
    ));
  }
  return E.right(tokenizerJson);
}

/**
 * An imported model as a checkpoint: the tokenizer (checked against the config, when given)
 * and the default generation settings. For formats that carry nothing but weights.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { WHISPER_SIZES } from "./config.ts";
 * import { finishImport } from "./import_common.ts";
 * const done = finishImport(WHISPER_SIZES.tiny, { weights: {}, source: "x.bin" });
 * assert.ok(done._tag === "Right" && done.right.tokenizerJson === undefined);
 * ```
 */
export function finishImport(
  config: WhisperConfig,
  options: { weights: WhisperWeights; tokenizerJson?: string; source: string },
): Either<ImportError, WhisperCheckpoint> {
  const { weights, tokenizerJson, source } = options;
  const checked: Either<ImportError, string | undefined> = tokenizerJson === undefined
    ? E.right(undefined)
    : checkTokenizer(tokenizerJson, config, { source: `tokenizer for ${source}` });
  return F.pipe(
    checked,
    E.map((tokenizerJson) => ({
      config,
      weights,
      tokenizerJson,
      generationConfig: generationConfig(config, {}),
    })),
  );
}
