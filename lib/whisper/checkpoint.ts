/**
 * Whisper checkpoints in the Hugging Face layout: a folder with config.json, model.safetensors
 * (or model.safetensors.index.json and its shards), tokenizer.json and generation_config.json.
 * Tensor names are transformers' (`model.encoder.layers.0.self_attn.q_proj.weight`, ...);
 * linear weights are [out, in] and half-precision files are widened to float32 on load.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import type { Tensor } from "../graph/params.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type StTensor,
  toFloat32,
} from "../graph/safetensors.ts";
import { showShape } from "../graph/types.ts";
import { createHash } from "node:crypto";
import { pathExists, writeFileAtomic } from "../io.ts";
import { configFromJson, configToJson, type WhisperConfig } from "./config.ts";

/** Whisper's weights by Hugging Face tensor name. */
export type WhisperWeights = Readonly<Record<string, Tensor>>;

/** A loaded (or to-be-saved) checkpoint. */
export interface WhisperCheckpoint {
  /** The model's shape. */
  readonly config: WhisperConfig;
  /** Every tensor {@link expectedShapes} lists. */
  readonly weights: WhisperWeights;
  /** tokenizer.json text, when the folder has one. */
  readonly tokenizerJson?: string;
  /** generation_config.json, when the folder has one. */
  readonly generationConfig?: Record<string, unknown>;
}

/** Why a checkpoint could not be read or written; names the folder, file or tensor. */
export interface CheckpointError {
  /** Discriminant. */
  readonly _tag: "CheckpointError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

const ckptError = (message: string): CheckpointError => ({ _tag: "CheckpointError", message });
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

function attentionShapes(prefix: string, d: number): [string, number[]][] {
  return [
    [`${prefix}.q_proj.weight`, [d, d]],
    [`${prefix}.q_proj.bias`, [d]],
    [`${prefix}.k_proj.weight`, [d, d]],
    [`${prefix}.v_proj.weight`, [d, d]],
    [`${prefix}.v_proj.bias`, [d]],
    [`${prefix}.out_proj.weight`, [d, d]],
    [`${prefix}.out_proj.bias`, [d]],
  ];
}

function blockShapes(prefix: string, d: number, ffn: number, cross: boolean): [string, number[]][] {
  const norm = (name: string): [string, number[]][] => [
    [`${prefix}.${name}.weight`, [d]],
    [`${prefix}.${name}.bias`, [d]],
  ];
  return [
    ...attentionShapes(`${prefix}.self_attn`, d),
    ...norm("self_attn_layer_norm"),
    ...(cross
      ? [...attentionShapes(`${prefix}.encoder_attn`, d), ...norm("encoder_attn_layer_norm")]
      : []),
    [`${prefix}.fc1.weight`, [ffn, d]],
    [`${prefix}.fc1.bias`, [ffn]],
    [`${prefix}.fc2.weight`, [d, ffn]],
    [`${prefix}.fc2.bias`, [d]],
    ...norm("final_layer_norm"),
  ];
}

/**
 * The name and shape of every tensor a model of `config` has (the tied output projection
 * `proj_out.weight` is not listed: it is the token embedding).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { WHISPER_SIZES } from "./config.ts";
 * import { expectedShapes } from "./checkpoint.ts";
 * const shapes = expectedShapes(WHISPER_SIZES.tiny);
 * assert.deepEqual(shapes.get("model.encoder.conv1.weight"), [384, 80, 3]);
 * assert.deepEqual(shapes.get("model.decoder.embed_tokens.weight"), [51865, 384]);
 * // 37.8M parameters: openai/whisper-tiny's count.
 * const count = [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
 * assert.equal(count, 37_760_640);
 * ```
 */
export function expectedShapes(config: WhisperConfig): Map<string, number[]> {
  const d = config.dModel;
  const entries: [string, number[]][] = [
    ["model.encoder.conv1.weight", [d, config.nMels, 3]],
    ["model.encoder.conv1.bias", [d]],
    ["model.encoder.conv2.weight", [d, d, 3]],
    ["model.encoder.conv2.bias", [d]],
    ["model.encoder.embed_positions.weight", [config.maxSourcePositions, d]],
    ["model.encoder.layer_norm.weight", [d]],
    ["model.encoder.layer_norm.bias", [d]],
    ["model.decoder.embed_tokens.weight", [config.vocabSize, d]],
    ["model.decoder.embed_positions.weight", [config.maxTargetPositions, d]],
    ["model.decoder.layer_norm.weight", [d]],
    ["model.decoder.layer_norm.bias", [d]],
  ];
  for (let i = 0; i < config.encoderLayers; i++) {
    entries.push(...blockShapes(`model.encoder.layers.${i}`, d, config.encoderFfn, false));
  }
  for (let i = 0; i < config.decoderLayers; i++) {
    entries.push(...blockShapes(`model.decoder.layers.${i}`, d, config.decoderFfn, true));
  }
  return new Map(entries);
}

const digests = new WeakMap<WhisperWeights, string>();

/**
 * A SHA-256 (hex) of a checkpoint's weights: every tensor's name, shape and float32 bytes, in
 * name order. Whatever was made from a model (cached targets) names the model by it, so one
 * model under two names (a hub id, a folder) is the same and two models under one name are not.
 * Computed once per loaded model (about a second for Whisper base).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { weightsDigest } from "./checkpoint.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * const a = weightsDigest(tinyRandomWhisper({ seed: 0 }));
 * assert.match(a, /^[0-9a-f]{64}$/);
 * assert.equal(weightsDigest(tinyRandomWhisper({ seed: 0 })), a);
 * assert.notEqual(weightsDigest(tinyRandomWhisper({ seed: 1 })), a);
 * ```
 */
export function weightsDigest(checkpoint: { readonly weights: WhisperWeights }): string {
  const cached = digests.get(checkpoint.weights);
  if (cached) return cached;
  const hash = createHash("sha256");
  for (const name of Object.keys(checkpoint.weights).sort()) {
    const t = checkpoint.weights[name];
    hash.update(`${name}\t${t.shape.join("x")}\n`);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const digest = hash.digest("hex");
  digests.set(checkpoint.weights, digest);
  return digest;
}

/**
 * Checks that `weights` has every tensor of `config` with the right shape; the error lists
 * the missing and misshapen ones (at most a few of each) and names `source`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { checkWeights } from "./checkpoint.ts";
 * import { WHISPER_SIZES } from "./config.ts";
 * const result = checkWeights(WHISPER_SIZES.tiny, {}, { source: "ckpt" });
 * assert.ok(result._tag === "Left" && result.left.message.includes("conv1.weight"));
 * ```
 */
export function checkWeights(
  config: WhisperConfig,
  weights: Readonly<Record<string, { shape: readonly number[] }>>,
  options: { source?: string } = {},
): Either<CheckpointError, void> {
  const missing: string[] = [], misshapen: string[] = [];
  for (const [name, shape] of expectedShapes(config)) {
    const t = weights[name];
    if (!t) missing.push(name);
    else if (t.shape.join() !== shape.join()) {
      misshapen.push(`${name} is ${showShape(t.shape)}, expected ${showShape(shape)}`);
    }
  }
  if (missing.length === 0 && misshapen.length === 0) return E.right(undefined);
  const list = (xs: string[]) =>
    xs.slice(0, 4).join("; ") + (xs.length > 4 ? ` (+${xs.length - 4} more)` : "");
  const parts = [
    missing.length ? `${missing.length} missing tensors: ${list(missing)}` : "",
    misshapen.length ? `${misshapen.length} misshapen tensors: ${list(misshapen)}` : "",
  ].filter(Boolean);
  return E.left(ckptError(
    `${options.source ?? "checkpoint"} does not match its config.json (d_model ${config.dModel}, ` +
      `${config.encoderLayers}+${config.decoderLayers} layers, vocab ${config.vocabSize}): ` +
      `${parts.join("; ")}`,
  ));
}

const readText = (path: string) =>
  TE.tryCatch(
    () => Deno.readTextFile(path),
    (e) => ckptError(`cannot read ${path}: ${messageOf(e)}`),
  );

const parseJson = (path: string) => (text: string) =>
  E.tryCatch(
    () => JSON.parse(text) as unknown,
    (e) => ckptError(`${path}: invalid JSON: ${messageOf(e)}`),
  );

/** The safetensors files of a folder: model.safetensors, or the shards its index lists. */
async function weightFiles(dir: string): Promise<Either<CheckpointError, string[]>> {
  if (await pathExists(`${dir}/model.safetensors`)) return E.right([`${dir}/model.safetensors`]);
  const index = `${dir}/model.safetensors.index.json`;
  if (!(await pathExists(index))) {
    return E.left(ckptError(
      `${dir} has neither model.safetensors nor model.safetensors.index.json; a Hugging Face ` +
        `Whisper folder needs one (import other formats with 'deno task whisper:import')`,
    ));
  }
  const parsed = F.pipe(parseJson(index)(await Deno.readTextFile(index)));
  if (E.isLeft(parsed)) return parsed;
  const map = (parsed.right as { weight_map?: Record<string, string> }).weight_map;
  if (!map || typeof map !== "object") return E.left(ckptError(`${index} has no weight_map`));
  return E.right([...new Set(Object.values(map))].sort().map((f) => `${dir}/${f}`));
}

/**
 * Loads a Hugging Face Whisper folder: config, every tensor (checked against the config),
 * tokenizer.json and generation_config.json when present.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadCheckpoint } from "./checkpoint.ts";
 * const result = await loadCheckpoint("no/such/folder")();
 * assert.ok(result._tag === "Left" && result.left.message.includes("no/such/folder/config.json"));
 * ```
 */
export function loadCheckpoint(dir: string): TaskEither<CheckpointError, WhisperCheckpoint> {
  const configPath = `${dir}/config.json`;
  return F.pipe(
    readText(configPath),
    TE.chainEitherK(parseJson(configPath)),
    TE.chainEitherK((json) =>
      F.pipe(configFromJson(json, { source: configPath }), E.mapLeft((e) => ckptError(e.message)))
    ),
    TE.bindTo("config"),
    TE.bind("weights", ({ config }) => loadWeights(dir, config)),
    TE.bind(
      "tokenizerJson",
      () =>
        TE.fromTask(async () =>
          (await pathExists(`${dir}/tokenizer.json`))
            ? await Deno.readTextFile(`${dir}/tokenizer.json`)
            : undefined
        ),
    ),
    TE.bind("generationConfig", () => {
      const path = `${dir}/generation_config.json`;
      return TE.fromTask(async () => {
        if (!(await pathExists(path))) return undefined;
        try {
          return JSON.parse(await Deno.readTextFile(path)) as Record<string, unknown>;
        } catch {
          return undefined; // Optional: decoding falls back to Whisper's defaults.
        }
      });
    }),
  );
}

function loadWeights(
  dir: string,
  config: WhisperConfig,
): TaskEither<CheckpointError, WhisperWeights> {
  return async () => {
    const files = await weightFiles(dir);
    if (E.isLeft(files)) return files;
    const weights: Record<string, Tensor> = {};
    for (const path of files.right) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(path);
      } catch (e) {
        return E.left(ckptError(`cannot read ${path}: ${messageOf(e)}`));
      }
      const decoded = decodeSafetensors(bytes);
      if (E.isLeft(decoded)) return E.left(ckptError(`${path}: ${decoded.left.message}`));
      for (const [name, t] of Object.entries(decoded.right.tensors)) {
        if (!["F32", "F16", "BF16", "F64"].includes(t.dtype)) continue;
        weights[name] = { shape: t.shape, data: toFloat32(t) };
      }
    }
    return F.pipe(checkWeights(config, weights, { source: dir }), E.map(() => weights));
  };
}

/**
 * Writes a checkpoint as a Hugging Face folder (config.json, model.safetensors, and
 * tokenizer.json / generation_config.json when given), each file atomically. Only the
 * tensors of {@link expectedShapes} are written, as float32.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { saveCheckpoint } from "./checkpoint.ts";
 * import { WHISPER_SIZES } from "./config.ts";
 * const result = await saveCheckpoint("/tmp/never", { config: WHISPER_SIZES.tiny, weights: {} })();
 * assert.ok(result._tag === "Left" && result.left.message.includes("missing"));
 * ```
 */
export function saveCheckpoint(
  dir: string,
  checkpoint: WhisperCheckpoint,
): TaskEither<CheckpointError, void> {
  const { config, weights } = checkpoint;
  return F.pipe(
    TE.fromEither(checkWeights(config, weights, { source: `checkpoint for ${dir}` })),
    TE.chain(() =>
      TE.tryCatch(async () => {
        const tensors: Record<string, StTensor> = {};
        for (const name of expectedShapes(config).keys()) {
          const t = weights[name];
          tensors[name] = { dtype: "F32", shape: [...t.shape], data: t.data };
        }
        const json = (value: unknown) =>
          new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
        await Deno.mkdir(dir, { recursive: true });
        await writeFileAtomic(
          `${dir}/model.safetensors`,
          encodeSafetensors(tensors, { metadata: { format: "pt" } }),
        );
        if (checkpoint.tokenizerJson !== undefined) {
          await writeFileAtomic(
            `${dir}/tokenizer.json`,
            new TextEncoder().encode(checkpoint.tokenizerJson),
          );
        }
        if (checkpoint.generationConfig !== undefined) {
          await writeFileAtomic(`${dir}/generation_config.json`, json(checkpoint.generationConfig));
        }
        // config.json last: a folder with a config is a finished one.
        await writeFileAtomic(`${dir}/config.json`, json(configToJson(config)));
      }, (e) => ckptError(`cannot write ${dir}: ${messageOf(e)}`))
    ),
  );
}
