/**
 * Imports original openai-whisper checkpoints (`tiny.pt`, `large-v3.pt`, ...: a torch.save
 * zip of `{"dims": {...}, "model_state_dict": {...}}`) into the Hugging Face layout. A bare
 * state dict of openai-named tensors also works; its head counts are then taken as d / 64.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import type { Tensor } from "../graph/params.ts";
import type { WhisperCheckpoint } from "./checkpoint.ts";
import {
  configFromWeights,
  eotFromTokenizer,
  finishImport,
  hfNameOfOpenai,
  type ImportError,
  importError,
} from "./import_common.ts";
import { readTorchZip, type TorchTensor } from "./torch_zip.ts";

const isTensor = (v: unknown): v is TorchTensor => (v as TorchTensor)?.kind === "tensor";

/** Buffers openai-whisper saves that are not weights. */
const IGNORED = new Set(["alignment_heads"]);

/**
 * Converts an unpickled openai checkpoint (dicts as Maps) to a checkpoint in the Hugging
 * Face layout; `source` goes into error messages.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { openaiToCheckpoint } from "./import_pt.ts";
 * const r = openaiToCheckpoint(new Map([["dims", new Map()]]), { source: "tiny.pt" });
 * assert.ok(r._tag === "Left" && r.left.message.includes("tiny.pt"));
 * ```
 */
export function openaiToCheckpoint(
  root: unknown,
  options: { source?: string; tokenizerJson?: string } = {},
): Either<ImportError, WhisperCheckpoint> {
  const source = options.source ?? "checkpoint";
  if (!(root instanceof Map)) {
    return E.left(importError(`${source}: expected a dict at the top of the pickle`));
  }
  const state = root.get("model_state_dict") ?? root;
  const dims = root.get("dims") instanceof Map ? root.get("dims") as Map<string, number> : null;
  if (!(state instanceof Map)) {
    return E.left(importError(`${source}: 'model_state_dict' is not a dict`));
  }
  const weights: Record<string, Tensor> = {};
  const unknown: string[] = [];
  for (const [name, value] of state as Map<string, unknown>) {
    if (!isTensor(value) || IGNORED.has(name)) continue;
    const hf = hfNameOfOpenai(name);
    if (hf) weights[hf] = { shape: [...value.shape], data: value.values() };
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    return E.left(importError(
      `${source} has tensors openai-whisper does not: ${unknown.slice(0, 4).join(", ")}`,
    ));
  }
  const d = weights["model.encoder.conv1.weight"]?.shape[0] ?? 64;
  return F.pipe(
    configFromWeights(weights, {
      // Every released size has 64-wide heads, which is all a bare state dict can go by.
      encoderHeads: dims?.get("n_audio_head") ?? d / 64,
      decoderHeads: dims?.get("n_text_head") ?? d / 64,
      source,
      eot: eotFromTokenizer(
        weights["model.decoder.embed_tokens.weight"]?.shape[0] ?? 0,
        options.tokenizerJson,
      ),
    }),
    E.chain((config) =>
      finishImport(config, { weights, tokenizerJson: options.tokenizerJson, source })
    ),
  );
}

/**
 * Imports an openai-whisper .pt file. It has no tokenizer.json: pass one as `tokenizerJson`
 * (text) to include it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { importPt } from "./import_pt.ts";
 * const r = await importPt("no/such/tiny.pt")();
 * assert.ok(r._tag === "Left" && r.left.message.includes("no/such/tiny.pt"));
 * ```
 */
export function importPt(
  path: string,
  options: { tokenizerJson?: string } = {},
): TaskEither<ImportError, WhisperCheckpoint> {
  return F.pipe(
    TE.tryCatch(
      async () => await readTorchZip(await Deno.readFile(path)),
      (e) => importError(`cannot read ${path}: ${e instanceof Error ? e.message : e}`),
    ),
    TE.chainEitherK((root) => openaiToCheckpoint(root, { ...options, source: path })),
  );
}
