/**
 * Imports CTranslate2 Whisper models (the folders faster-whisper loads: model.bin,
 * config.json, vocabulary.json or vocabulary.txt, tokenizer.json) into the Hugging Face
 * layout. model.bin is parsed here: a version, the spec name and revision, then named
 * variables (rank, dims, dtype, byte count, bytes) and aliases. Weights stored as float16,
 * bfloat16, or int8 / int16 with a `*_scale` (every int8_* quantisation) are widened to
 * float32; the fused QKV and KV projections are split back into q/k/v.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F } from "../deps/fp_ts.ts";
import type { Tensor } from "../graph/params.ts";
import type { WhisperCheckpoint } from "./checkpoint.ts";
import {
  bf16FromBytes,
  ByteReader,
  checkTokenizer,
  configFromWeights,
  eotFromTokenizer,
  f16FromBytes,
  f32FromBytes,
  generationConfig,
  type ImportError,
  importError,
  TruncatedError,
} from "./import_common.ts";

/** CTranslate2's DataType enum, in its on-disk order. */
export const CT2_DTYPES = ["float32", "int8", "int16", "int32", "float16", "bfloat16"] as const;

/** One of {@link CT2_DTYPES}. */
export type Ct2DType = typeof CT2_DTYPES[number];

/** A variable of model.bin, its bytes still in the file's encoding. */
export interface Ct2Variable {
  /** Dimensions ([] for a scalar). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: Ct2DType;
  /** Little-endian contents (a view into the file). */
  readonly bytes: Uint8Array;
}

/** A parsed model.bin. */
export interface Ct2Model {
  /** Binary format version (6 for files written by CTranslate2 3.x and 4.x). */
  readonly binaryVersion: number;
  /** Model spec name, "WhisperSpec" for Whisper. */
  readonly spec: string;
  /** Spec revision. */
  readonly revision: number;
  /** Variables by name (`encoder/layer_0/self_attention/linear_0/weight`, ...). */
  readonly variables: ReadonlyMap<string, Ct2Variable>;
  /** Alias name to the variable it shares (`decoder/projection/weight`, ...). */
  readonly aliases: ReadonlyMap<string, string>;
}

const BYTES_OF: Readonly<Record<Ct2DType, number>> = {
  float32: 4,
  int8: 1,
  int16: 2,
  int32: 4,
  float16: 2,
  bfloat16: 2,
};

/** Version 1 to 3 files give an element width instead of a dtype. */
const DTYPE_OF_WIDTH: Readonly<Record<number, Ct2DType>> = { 1: "int8", 2: "int16", 4: "float32" };

/**
 * Parses a CTranslate2 model.bin image; `source` (a path) goes into error messages, which
 * name the variable a truncated or inconsistent file breaks off in.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseCt2 } from "./import_ct2.ts";
 * const bad = parseCt2(new Uint8Array([6, 0, 0, 0]), { source: "model.bin" });
 * assert.ok(bad._tag === "Left" && bad.left.message.includes("model.bin"));
 * ```
 */
export function parseCt2(
  bytes: Uint8Array,
  options: { source?: string } = {},
): Either<ImportError, Ct2Model> {
  const source = options.source ?? "model.bin";
  const r = new ByteReader(bytes);
  let where = "the header";
  const text = (what: string) => {
    const n = r.u16(`the length of ${what}`);
    // Strings are written with a trailing NUL that the length counts.
    return new TextDecoder().decode(r.take(n, what)).replace(/\0$/, "");
  };
  try {
    const binaryVersion = r.u32("the version");
    if (binaryVersion < 1 || binaryVersion > 6) {
      return E.left(importError(
        `${source}: not a CTranslate2 model.bin (binary version ${binaryVersion}; 1 to 6 are ` +
          `known)`,
      ));
    }
    const spec = binaryVersion >= 2 ? text("the spec name") : "";
    const revision = binaryVersion >= 2 ? r.u32("the spec revision") : 1;
    const count = r.u32("the variable count");
    const variables = new Map<string, Ct2Variable>();
    for (let i = 0; i < count; i++) {
      where = `variable ${i + 1} of ${count}`;
      const name = text(where);
      where = `variable '${name}'`;
      const rank = r.u8(`the rank of ${where}`);
      const shape = Array.from({ length: rank }, () => r.u32(`the shape of ${where}`));
      let dtype: Ct2DType | undefined;
      let byteCount: number;
      if (binaryVersion >= 4) {
        dtype = CT2_DTYPES[r.u8(`the dtype of ${where}`)];
        byteCount = r.u32(`the size of ${where}`);
      } else {
        const width = r.u8(`the width of ${where}`);
        dtype = DTYPE_OF_WIDTH[width];
        byteCount = r.u32(`the size of ${where}`) * width;
      }
      if (dtype === undefined) {
        return E.left(importError(`${source}: ${where} has an unknown dtype`));
      }
      const elements = shape.reduce((a, b) => a * b, 1);
      if (elements * BYTES_OF[dtype] !== byteCount) {
        return E.left(importError(
          `${source}: ${where} [${shape}] ${dtype} should hold ${elements * BYTES_OF[dtype]} ` +
            `bytes, the file says ${byteCount}`,
        ));
      }
      variables.set(name, { shape, dtype, bytes: r.take(byteCount, `the data of ${where}`) });
    }
    const aliases = new Map<string, string>();
    if (binaryVersion >= 3) {
      where = "the alias table";
      const n = r.u32("the alias count");
      for (let i = 0; i < n; i++) aliases.set(text("an alias"), text("an alias target"));
    }
    return E.right({ binaryVersion, spec, revision, variables, aliases });
  } catch (e) {
    if (!(e instanceof TruncatedError)) throw e;
    return E.left(importError(
      `${source} is truncated in ${where} (${bytes.length} bytes): ${e.message}; if the model ` +
        `was split into model.bin.part1, .part2, ... put every part in the folder`,
    ));
  }
}

/** Element values widened to float32 (integers as they are: scaling is the caller's). */
function valuesOf(v: Ct2Variable): Float32Array {
  const b = v.bytes;
  switch (v.dtype) {
    case "float32":
      return f32FromBytes(b);
    case "float16":
      return f16FromBytes(b);
    case "bfloat16":
      return bf16FromBytes(b);
    case "int8":
      return Float32Array.from(new Int8Array(b.buffer, b.byteOffset, b.length));
    case "int16":
      return Float32Array.from(new Int16Array(b.slice().buffer));
    case "int32":
      return Float32Array.from(new Int32Array(b.slice().buffer));
  }
}

/** Reads variables by name, following aliases and undoing int8 / int16 quantisation. */
class Reader {
  readonly missing: string[] = [];
  constructor(readonly model: Ct2Model, readonly source: string) {}

  raw(name: string): Ct2Variable | undefined {
    const target = this.model.aliases.get(name) ?? name;
    return this.model.variables.get(target);
  }

  /** The float32 tensor `name` (int weights divided by their scale), or undefined if absent. */
  tensor(name: string): Either<ImportError, Tensor | undefined> {
    const v = this.raw(name);
    if (!v) {
      this.missing.push(name);
      return E.right(undefined);
    }
    if (v.dtype === "int32") {
      return E.left(importError(
        `${this.source}: '${name}' is int32 (AWQ/GPTQ-style quantisation), which is not ` +
          `supported; convert the model with --quantization float16 or int8`,
      ));
    }
    const data = valuesOf(v);
    if (v.dtype === "int8" || v.dtype === "int16") {
      const s = this.raw(`${name}_scale`);
      if (!s) {
        return E.left(importError(
          `${this.source}: '${name}' is ${v.dtype} but '${name}_scale' is missing`,
        ));
      }
      const scale = valuesOf(s);
      const rows = v.shape[0] ?? 1;
      // CTranslate2 stores q = round(w * scale), one scale per output row (or one in all).
      if (scale.length !== 1 && scale.length !== rows) {
        return E.left(importError(
          `${this.source}: '${name}_scale' has ${scale.length} values for ${rows} rows`,
        ));
      }
      const per = data.length / rows;
      for (let i = 0; i < data.length; i++) {
        data[i] /= scale.length === 1 ? scale[0] : scale[Math.floor(i / per)];
      }
    }
    return E.right({ shape: [...v.shape], data });
  }

  scalar(name: string): number | undefined {
    const v = this.raw(name);
    return v && v.shape.length === 0 ? valuesOf(v)[0] : undefined;
  }
}

/** Rows [start, end) of a matrix or vector. */
const rows = (t: Tensor, start: number, end: number): Tensor => {
  const per = t.data.length / t.shape[0];
  return { shape: [end - start, ...t.shape.slice(1)], data: t.data.slice(start * per, end * per) };
};

/** HF suffix to CT2 suffix of the tensors that map one to one. */
function directNames(names: Iterable<string>): [string, string][] {
  const pairs: [string, string][] = [
    ["model.encoder.conv1.weight", "encoder/conv1/weight"],
    ["model.encoder.conv1.bias", "encoder/conv1/bias"],
    ["model.encoder.conv2.weight", "encoder/conv2/weight"],
    ["model.encoder.conv2.bias", "encoder/conv2/bias"],
    ["model.encoder.embed_positions.weight", "encoder/position_encodings/encodings"],
    ["model.decoder.embed_tokens.weight", "decoder/embeddings/weight"],
    ["model.decoder.embed_positions.weight", "decoder/position_encodings/encodings"],
  ];
  const norm = (hf: string, ct2: string): [string, string][] => [
    [`${hf}.weight`, `${ct2}/gamma`],
    [`${hf}.bias`, `${ct2}/beta`],
  ];
  const linear = (hf: string, ct2: string): [string, string][] => [
    [`${hf}.weight`, `${ct2}/weight`],
    [`${hf}.bias`, `${ct2}/bias`],
  ];
  pairs.push(...norm("model.encoder.layer_norm", "encoder/layer_norm"));
  pairs.push(...norm("model.decoder.layer_norm", "decoder/layer_norm"));
  for (const [side, i] of layerIndices(names)) {
    const hf = `model.${side}.layers.${i}`, ct2 = `${side}/layer_${i}`;
    pairs.push(
      ...norm(`${hf}.self_attn_layer_norm`, `${ct2}/self_attention/layer_norm`),
      ...linear(`${hf}.self_attn.out_proj`, `${ct2}/self_attention/linear_1`),
      ...norm(`${hf}.final_layer_norm`, `${ct2}/ffn/layer_norm`),
      ...linear(`${hf}.fc1`, `${ct2}/ffn/linear_0`),
      ...linear(`${hf}.fc2`, `${ct2}/ffn/linear_1`),
    );
    if (side === "decoder") {
      pairs.push(
        ...norm(`${hf}.encoder_attn_layer_norm`, `${ct2}/attention/layer_norm`),
        ...linear(`${hf}.encoder_attn.q_proj`, `${ct2}/attention/linear_0`),
        ...linear(`${hf}.encoder_attn.out_proj`, `${ct2}/attention/linear_2`),
      );
    }
  }
  return pairs;
}

/** Every (side, layer) pair the variable names mention. */
function layerIndices(names: Iterable<string>): ["encoder" | "decoder", number][] {
  const seen = new Set<string>();
  for (const name of names) {
    const m = /^(encoder|decoder)\/layer_(\d+)\//.exec(name);
    if (m) seen.add(`${m[1]} ${m[2]}`);
  }
  return [...seen].map((s) => {
    const [side, i] = s.split(" ");
    return [side as "encoder" | "decoder", Number(i)];
  });
}

/** The fused projections: [HF prefix, CT2 linear, parts in order]; k has no bias in HF. */
function fusedNames(names: Iterable<string>): [string, string, string[]][] {
  const out: [string, string, string[]][] = [];
  for (const [side, i] of layerIndices(names)) {
    const hf = `model.${side}.layers.${i}`, ct2 = `${side}/layer_${i}`;
    out.push([`${hf}.self_attn`, `${ct2}/self_attention/linear_0`, ["q_proj", "k_proj", "v_proj"]]);
    if (side === "decoder") {
      out.push([`${hf}.encoder_attn`, `${ct2}/attention/linear_1`, ["k_proj", "v_proj"]]);
    }
  }
  return out;
}

/** Options of {@link ct2ToCheckpoint}: the folder's other files, already read. */
export interface Ct2Extras {
  /** Path for error messages. */
  readonly source?: string;
  /** The folder's config.json (suppress_ids, suppress_ids_begin, lang_ids, alignment_heads). */
  readonly ct2Config?: Record<string, unknown>;
  /** The token strings of vocabulary.json / vocabulary.txt, by id. */
  readonly vocabulary?: readonly string[];
  /** tokenizer.json text. */
  readonly tokenizerJson?: string;
}

/**
 * Converts a parsed WhisperSpec model to a checkpoint in the Hugging Face layout, with a
 * config read from its shapes and head counts and a generation config from `ct2Config`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ct2ToCheckpoint } from "./import_ct2.ts";
 * const model = { binaryVersion: 6, spec: "TransformerSpec", revision: 1, variables: new Map(),
 *   aliases: new Map() };
 * const r = ct2ToCheckpoint(model, { source: "m/model.bin" });
 * assert.ok(r._tag === "Left" && r.left.message.includes("TransformerSpec"));
 * ```
 */
export function ct2ToCheckpoint(
  model: Ct2Model,
  extras: Ct2Extras = {},
): Either<ImportError, WhisperCheckpoint> {
  const source = extras.source ?? "model.bin";
  if (model.spec !== "WhisperSpec") {
    return E.left(importError(
      `${source} is a CTranslate2 '${model.spec || "unnamed"}' model, not a WhisperSpec one`,
    ));
  }
  const reader = new Reader(model, source);
  const names = [...model.variables.keys()];
  const weights: Record<string, Tensor> = {};
  for (const [hf, ct2] of directNames(names)) {
    const t = reader.tensor(ct2);
    if (E.isLeft(t)) return t;
    if (t.right) weights[hf] = t.right;
  }
  for (const [hf, ct2, parts] of fusedNames(names)) {
    const w = reader.tensor(`${ct2}/weight`), b = reader.tensor(`${ct2}/bias`);
    if (E.isLeft(w)) return w;
    if (E.isLeft(b)) return b;
    if (!w.right || !b.right) continue;
    const d = w.right.shape[0] / parts.length;
    parts.forEach((part, j) => {
      weights[`${hf}.${part}.weight`] = rows(w.right!, j * d, (j + 1) * d);
      // CTranslate2 pads the absent key bias with zeros; a key bias would not change
      // attention anyway (it adds the same number to every score of a query).
      if (part !== "k_proj") weights[`${hf}.${part}.bias`] = rows(b.right!, j * d, (j + 1) * d);
    });
  }
  if (reader.missing.length > 0) {
    const list = reader.missing.slice(0, 4).join(", ");
    const more = reader.missing.length > 4 ? ` (+${reader.missing.length - 4} more)` : "";
    return E.left(importError(
      `${source} lacks ${reader.missing.length} WhisperSpec variables: ${list}${more}; ` +
        `re-convert it with ct2-transformers-converter`,
    ));
  }
  const d = weights["model.encoder.conv1.weight"]?.shape[0] ?? 0;
  // Every released Whisper has 64-wide heads; revisions without num_heads rely on that.
  const heads = (side: string) => reader.scalar(`${side}/num_heads`) ?? Math.max(1, d / 64);
  const cfg = extras.ct2Config ?? {};
  const ids = (key: string) => Array.isArray(cfg[key]) ? cfg[key] as number[] : undefined;
  const vocab = weights["model.decoder.embed_tokens.weight"]?.shape[0] ?? 0;
  const inVocabulary = extras.vocabulary?.indexOf("<|endoftext|>") ?? -1;
  return F.pipe(
    configFromWeights(weights, {
      encoderHeads: heads("encoder"),
      decoderHeads: heads("decoder"),
      source,
      eot: inVocabulary >= 0 ? inVocabulary : eotFromTokenizer(vocab, extras.tokenizerJson),
    }),
    E.bindTo("config"),
    E.bind(
      "tokenizerJson",
      ({ config }): Either<ImportError, string | undefined> =>
        extras.tokenizerJson === undefined
          ? E.right(undefined)
          : checkTokenizer(extras.tokenizerJson, config, {
            source: `tokenizer.json for ${source}`,
          }),
    ),
    E.map(({ config, tokenizerJson }) => ({
      config,
      weights,
      tokenizerJson,
      generationConfig: generationConfig(config, {
        suppressTokens: ids("suppress_ids"),
        beginSuppressTokens: ids("suppress_ids_begin"),
        langIds: ids("lang_ids"),
        alignmentHeads: ids("alignment_heads") as unknown as number[][] | undefined,
        tokenAt: (id) => extras.vocabulary?.[id],
      }),
    })),
  );
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** model.bin, or its parts model.bin.part1, .part2, ... joined in order. */
async function readModelBin(dir: string): Promise<Either<ImportError, Uint8Array>> {
  try {
    return E.right(await Deno.readFile(`${dir}/model.bin`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const parts: string[] = [];
  for (let i = 1;; i++) {
    try {
      await Deno.stat(`${dir}/model.bin.part${i}`);
      parts.push(`${dir}/model.bin.part${i}`);
    } catch {
      break;
    }
  }
  if (parts.length === 0) {
    return E.left(importError(
      `${dir} has no model.bin (nor model.bin.part1, ...); is it a CTranslate2 model folder?`,
    ));
  }
  const chunks = await Promise.all(parts.map((p) => Deno.readFile(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return E.right(out);
}

/**
 * Imports a CTranslate2 / faster-whisper folder: model.bin (or model.bin.part1, .part2, ...,
 * joined), config.json, vocabulary.json or vocabulary.txt, and tokenizer.json. A
 * `tokenizerJson` option (tokenizer.json text) is used when given, else the folder's own.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { importCt2 } from "./import_ct2.ts";
 * const r = await importCt2("no/such/dir")();
 * assert.ok(r._tag === "Left" && r.left.message.includes("no/such/dir"));
 * ```
 */
export function importCt2(
  srcDir: string,
  options: { tokenizerJson?: string } = {},
): TaskEither<ImportError, WhisperCheckpoint> {
  return async () => {
    try {
      const bytes = await readModelBin(srcDir);
      if (E.isLeft(bytes)) return bytes;
      const configText = await readOptional(`${srcDir}/config.json`);
      const vocabJson = await readOptional(`${srcDir}/vocabulary.json`);
      const vocabText = vocabJson ? undefined : await readOptional(`${srcDir}/vocabulary.txt`);
      const tokenizerJson = options.tokenizerJson ??
        await readOptional(`${srcDir}/tokenizer.json`);
      const vocabulary = vocabJson ? JSON.parse(vocabJson) as string[] : vocabText?.split("\n");
      const source = `${srcDir}/model.bin`;
      return F.pipe(
        parseCt2(bytes.right, { source }),
        E.chain((model) =>
          ct2ToCheckpoint(model, {
            source,
            ct2Config: configText ? JSON.parse(configText) : undefined,
            vocabulary,
            tokenizerJson,
          })
        ),
      );
    } catch (e) {
      return E.left(importError(`cannot import ${srcDir}: ${messageOf(e)}`));
    }
  };
}
