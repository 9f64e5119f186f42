/**
 * Imports whisper.cpp ggml model files (`ggml-tiny.en.bin`, ...) into the Hugging Face
 * layout. The file is: the magic 0x67676d6c, eleven int32 hyper-parameters, the mel filter
 * bank, the byte-level vocabulary, then tensors (rank, name length, type, dims innermost
 * first, name, data) to the end. Tensors may be f32, f16 or the block-quantised q4_0, q4_1,
 * q5_0, q5_1 and q8_0 of whisper.cpp's `quantize`, all widened to float32; names are
 * openai-whisper's.
 * @module
 */
import { halfToFloat } from "../graph/safetensors.ts";
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import type { Tensor } from "../graph/params.ts";
import type { WhisperCheckpoint } from "./checkpoint.ts";
import {
  ByteReader,
  configFromWeights,
  eotFromTokenizer,
  f16FromBytes,
  f32FromBytes,
  finishImport,
  hfNameOfOpenai,
  type ImportError,
  importError,
  TruncatedError,
} from "./import_common.ts";

/** "ggml" as a little-endian uint32. */
export const GGML_MAGIC = 0x67676d6c;

/** The hyper-parameters of a ggml file, in file order (openai-whisper's ModelDimensions). */
export const GGML_HPARAMS = [
  "n_vocab",
  "n_audio_ctx",
  "n_audio_state",
  "n_audio_head",
  "n_audio_layer",
  "n_text_ctx",
  "n_text_state",
  "n_text_head",
  "n_text_layer",
  "n_mels",
  "ftype",
] as const;

/** Hyper-parameters by name. */
export type GgmlHparams = Readonly<Record<typeof GGML_HPARAMS[number], number>>;

/** Tensor types whisper.cpp writes: [ggml type id, name, bytes per block, elements per block]. */
const GGML_TYPES: readonly [number, string, number, number][] = [
  [0, "f32", 4, 1],
  [1, "f16", 2, 1],
  [2, "q4_0", 18, 32],
  [3, "q4_1", 20, 32],
  [6, "q5_0", 22, 32],
  [7, "q5_1", 24, 32],
  [8, "q8_0", 34, 32],
];

/** One tensor of a ggml file, still encoded. */
export interface GgmlTensor {
  /** Row-major shape (the file's dims reversed). */
  readonly shape: readonly number[];
  /** "f32", "f16", "q4_0", "q4_1", "q5_0", "q5_1" or "q8_0". */
  readonly type: string;
  /** Encoded contents (a view into the file). */
  readonly bytes: Uint8Array;
}

/** A parsed ggml file. */
export interface GgmlModel {
  /** Hyper-parameters. */
  readonly hparams: GgmlHparams;
  /** Mel filter bank, [n_mel, n_fft] row-major. */
  readonly melFilters: {
    readonly nMel: number;
    readonly nFft: number;
    readonly data: Float32Array;
  };
  /** Token bytes by id (text tokens only; whisper.cpp derives the special ones). */
  readonly vocab: readonly Uint8Array[];
  /** Tensors by openai-whisper name. */
  readonly tensors: ReadonlyMap<string, GgmlTensor>;
}

/**
 * Parses a whisper.cpp ggml file image; `source` (a path) goes into error messages, which
 * name the tensor a truncated file breaks off in, or the unsupported tensor type.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseGgml } from "./import_ggml.ts";
 * const bad = parseGgml(new TextEncoder().encode("GGUF...."), { source: "m.bin" });
 * assert.ok(bad._tag === "Left" && bad.left.message.includes("GGUF"));
 * ```
 */
export function parseGgml(
  bytes: Uint8Array,
  options: { source?: string } = {},
): Either<ImportError, GgmlModel> {
  const source = options.source ?? "ggml model";
  const r = new ByteReader(bytes);
  let where = "the header";
  try {
    const magic = r.u32("the magic number");
    if (magic !== GGML_MAGIC) {
      const gguf = new TextDecoder().decode(bytes.subarray(0, 4)) === "GGUF";
      return E.left(importError(
        gguf
          ? `${source} is a GGUF file; only whisper.cpp's own ggml .bin files (magic 'ggml') ` +
            `are supported`
          : `${source} is not a whisper.cpp ggml file (magic 0x${magic.toString(16)}, ` +
            `expected 0x${GGML_MAGIC.toString(16)})`,
      ));
    }
    const hparams = Object.fromEntries(GGML_HPARAMS.map((k) => [k, r.i32(`hparam ${k}`)]));
    where = "the mel filters";
    const nMel = r.i32("the mel filter count"), nFft = r.i32("the mel filter width");
    const melFilters = { nMel, nFft, data: f32FromBytes(r.take(4 * nMel * nFft, where)) };
    where = "the vocabulary";
    const nVocab = r.i32("the vocabulary size");
    const vocab = Array.from({ length: nVocab }, (_, i) => r.take(r.u32(`token ${i}`), where));
    const tensors = new Map<string, GgmlTensor>();
    while (r.remaining > 0) {
      where = `tensor ${tensors.size + 1}`;
      const rank = r.i32(`the rank of ${where}`), nameLength = r.i32(`the name of ${where}`);
      const typeId = r.i32(`the type of ${where}`);
      const dims = Array.from({ length: rank }, () => r.i32(`the dims of ${where}`));
      const name = new TextDecoder().decode(r.take(nameLength, `the name of ${where}`));
      where = `tensor '${name}'`;
      const type = GGML_TYPES.find(([id]) => id === typeId);
      if (!type) {
        return E.left(importError(
          `${source}: ${where} has ggml type ${typeId}, which is not supported (only f32, f16, ` +
            `q4_0, q4_1, q5_0, q5_1 and q8_0); use an f16 or f32 model file`,
        ));
      }
      const [, typeName, blockBytes, blockSize] = type;
      const count = dims.reduce((a, b) => a * b, 1);
      if (count % blockSize !== 0 || rank < 1 || rank > 4) {
        return E.left(importError(`${source}: ${where} has bad dims [${dims}] for ${typeName}`));
      }
      const data = r.take((count / blockSize) * blockBytes, `the data of ${where}`);
      tensors.set(name, { shape: dims.reverse(), type: typeName, bytes: data });
    }
    return E.right({ hparams: hparams as GgmlHparams, melFilters, vocab, tensors });
  } catch (e) {
    if (!(e instanceof TruncatedError)) throw e;
    return E.left(importError(
      `${source} is truncated in ${where} (${bytes.length} bytes): ${e.message}; download it ` +
        `again`,
    ));
  }
}

/**
 * Float32 values of an encoded ggml tensor (f32, f16, or q4_0 / q4_1 / q5_0 / q5_1 / q8_0
 * blocks of 32: an f16 scale, for *_1 an f16 minimum, for q5 32 high bits, then the quants).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ggmlValues } from "./import_ggml.ts";
 * // q8_0: scale 0.5 (f16 0x3800), then 32 int8 quants.
 * const block = new Uint8Array(34);
 * block.set([0x00, 0x38, 2, 0xfe]);
 * const v = ggmlValues({ shape: [32], type: "q8_0", bytes: block });
 * assert.deepEqual([...v.slice(0, 3)], [1, -1, 0]);
 * ```
 */
export function ggmlValues(t: GgmlTensor): Float32Array {
  if (t.type === "f32") return f32FromBytes(t.bytes);
  if (t.type === "f16") return f16FromBytes(t.bytes);
  const b = t.bytes, out = new Float32Array(t.shape.reduce((a, c) => a * c, 1));
  const half = (at: number) => halfToFloat(b[at] | (b[at + 1] << 8));
  const blockBytes = GGML_TYPES.find(([, name]) => name === t.type)![2];
  for (let blk = 0; blk < out.length / 32; blk++) {
    const at = blk * blockBytes, y = blk * 32;
    const d = half(at);
    if (t.type === "q8_0") {
      for (let j = 0; j < 32; j++) out[y + j] = ((b[at + 2 + j] << 24) >> 24) * d;
      continue;
    }
    const hasMin = t.type === "q4_1" || t.type === "q5_1";
    const m = hasMin ? half(at + 2) : 0;
    let q = at + (hasMin ? 4 : 2), high = 0;
    if (t.type === "q5_0" || t.type === "q5_1") {
      high = (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> 0;
      q += 4;
    }
    // Low nibbles are elements 0..15, high nibbles 16..31; q5 adds bit j of `high` as bit 4.
    const offset = t.type === "q4_0" ? 8 : t.type === "q5_0" ? 16 : 0;
    const five = t.type.startsWith("q5");
    for (let j = 0; j < 16; j++) {
      const lo = (b[q + j] & 0x0f) | (five ? ((high >>> j) & 1) << 4 : 0);
      const hi = (b[q + j] >> 4) | (five ? ((high >>> (j + 16)) & 1) << 4 : 0);
      out[y + j] = (lo - offset) * d + m;
      out[y + j + 16] = (hi - offset) * d + m;
    }
  }
  return out;
}

/**
 * Converts a parsed ggml model to a checkpoint in the Hugging Face layout: openai names
 * mapped, conv biases flattened, the config read from shapes and checked against the
 * hyper-parameters.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ggmlToCheckpoint } from "./import_ggml.ts";
 * const hparams = { n_vocab: 300, n_audio_ctx: 8, n_audio_state: 8, n_audio_head: 2,
 *   n_audio_layer: 1, n_text_ctx: 8, n_text_state: 8, n_text_head: 2, n_text_layer: 1,
 *   n_mels: 4, ftype: 0 };
 * const model = { hparams, melFilters: { nMel: 0, nFft: 0, data: new Float32Array() },
 *   vocab: [], tensors: new Map() };
 * const r = ggmlToCheckpoint(model, { source: "m.bin" });
 * assert.ok(r._tag === "Left" && r.left.message.includes("m.bin"));
 * ```
 */
export function ggmlToCheckpoint(
  model: GgmlModel,
  options: { source?: string; tokenizerJson?: string } = {},
): Either<ImportError, WhisperCheckpoint> {
  const source = options.source ?? "ggml model";
  const weights: Record<string, Tensor> = {};
  const unknown: string[] = [];
  for (const [name, t] of model.tensors) {
    const hf = hfNameOfOpenai(name);
    if (!hf) {
      unknown.push(name);
      continue;
    }
    const data = ggmlValues(t);
    // The converter stores conv biases as [d, 1] (ggml broadcasts them over time).
    const shape = /conv[12]\.bias$/.test(name) ? [data.length] : [...t.shape];
    weights[hf] = { shape, data };
  }
  if (unknown.length > 0) {
    return E.left(importError(
      `${source} has tensors Whisper does not: ${unknown.slice(0, 4).join(", ")}; is it a ` +
        `whisper.cpp model?`,
    ));
  }
  const h = model.hparams;
  return F.pipe(
    configFromWeights(weights, {
      encoderHeads: h.n_audio_head,
      decoderHeads: h.n_text_head,
      source,
      eot: eotFromTokenizer(
        weights["model.decoder.embed_tokens.weight"]?.shape[0] ?? 0,
        options.tokenizerJson,
      ),
    }),
    E.chainFirst((c) => {
      const pairs: [string, number, number][] = [
        ["n_vocab", h.n_vocab, c.vocabSize],
        ["n_audio_state", h.n_audio_state, c.dModel],
        ["n_text_state", h.n_text_state, c.dModel],
        ["n_audio_layer", h.n_audio_layer, c.encoderLayers],
        ["n_text_layer", h.n_text_layer, c.decoderLayers],
        ["n_mels", h.n_mels, c.nMels],
        ["n_audio_ctx", h.n_audio_ctx, c.maxSourcePositions],
        ["n_text_ctx", h.n_text_ctx, c.maxTargetPositions],
      ];
      const bad = pairs.filter(([, a, b]) => a !== b);
      return bad.length === 0 ? E.right(undefined) : E.left(importError(
        `${source}: hyper-parameters disagree with the tensors: ` +
          bad.map(([k, a, b]) => `${k} ${a} vs ${b}`).join(", "),
      ));
    }),
    E.chain((config) =>
      finishImport(config, { weights, tokenizerJson: options.tokenizerJson, source })
    ),
  );
}

/**
 * Imports a whisper.cpp ggml .bin file. The file has no tokenizer.json: pass one as
 * `tokenizerJson` (text) to include it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { importGgml } from "./import_ggml.ts";
 * const r = await importGgml("no/such/ggml-tiny.bin")();
 * assert.ok(r._tag === "Left" && r.left.message.includes("no/such/ggml-tiny.bin"));
 * ```
 */
export function importGgml(
  path: string,
  options: { tokenizerJson?: string } = {},
): TaskEither<ImportError, WhisperCheckpoint> {
  return F.pipe(
    TE.tryCatch(
      () => Deno.readFile(path),
      (e) => importError(`cannot read ${path}: ${e instanceof Error ? e.message : e}`),
    ),
    TE.chainEitherK((bytes) => parseGgml(bytes, { source: path })),
    TE.chainEitherK((model) => ggmlToCheckpoint(model, { ...options, source: path })),
  );
}
