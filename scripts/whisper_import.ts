/**
 * Converts a Whisper model from another runtime's format into a Hugging Face folder
 * (config.json, model.safetensors in float32, tokenizer.json, generation_config.json) that
 * lib/whisper/checkpoint.ts loads.
 *
 *   deno run -A scripts/whisper_import.ts <src> <out-dir> [--format ct2|ggml|pt|auto]
 *     [--tokenizer path/to/tokenizer.json]
 *
 * <src> is a CTranslate2 / faster-whisper folder (model.bin or model.bin.part1, .part2, ...;
 * the path of its model.bin works too), a whisper.cpp ggml .bin file, or an openai-whisper .pt
 * checkpoint.
 */
import { either as E, type taskEither as TE } from "fp-ts";
import { saveCheckpoint, type WhisperCheckpoint } from "../lib/whisper/checkpoint.ts";
import { importCt2 } from "../lib/whisper/import_ct2.ts";
import { importGgml } from "../lib/whisper/import_ggml.ts";
import { importPt } from "../lib/whisper/import_pt.ts";
import type { ImportError } from "../lib/whisper/import_common.ts";
import { commandLine, EXIT, fail as failWith } from "./cli.ts";

const COMMAND = {
  name: "whisper_import",
  usage: "whisper_import.ts <src> <out-dir> [options]",
  options: {
    format: {
      type: "choice",
      choices: ["auto", "ct2", "ggml", "pt"],
      default: "auto",
      arg: "F",
      help: "ct2 (CTranslate2 / faster-whisper folder), ggml (whisper.cpp .bin),\n" +
        "pt (openai-whisper checkpoint) or auto (from the file's first bytes)",
    },
    tokenizer: {
      type: "string",
      arg: "PATH",
      help: "tokenizer.json to include (needed when <src> has none: ggml and .pt files,\n" +
        "CTranslate2 folders without one); it must match the model (English-only\n" +
        "for .en models, multilingual otherwise)",
    },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

type Format = "ct2" | "ggml" | "pt";
const IMPORTERS: Record<
  Format,
  (src: string, o: { tokenizerJson?: string }) => TE.TaskEither<ImportError, WhisperCheckpoint>
> = { ct2: importCt2, ggml: importGgml, pt: importPt };

/** The format of `src` from its kind (folder or file) and first bytes. */
async function detect(src: string): Promise<E.Either<string, Format>> {
  const info = await Deno.stat(src);
  if (info.isDirectory) return E.right("ct2");
  const file = await Deno.open(src);
  const head = new Uint8Array(8);
  await file.read(head);
  file.close();
  const magic = new DataView(head.buffer).getUint32(0, true);
  if (magic === 0x67676d6c || new TextDecoder().decode(head.subarray(0, 4)) === "GGUF") {
    return E.right("ggml");
  }
  if (head[0] === 0x50 && head[1] === 0x4b) return E.right("pt"); // "PK": torch.save's zip
  // A CTranslate2 model.bin starts with its binary version (1 to 6); the folder is imported.
  if (/model\.bin(\.part1)?$/.test(src) && magic >= 1 && magic <= 6) return E.right("ct2");
  return E.left(
    `cannot tell the format of ${src} (first bytes ${[...head.subarray(0, 4)]}); a CTranslate2 ` +
      `model is imported from its folder; otherwise pass --format ct2|ggml|pt`,
  );
}

async function main(): Promise<void> {
  const { values, positionals } = commandLine(COMMAND);
  if (positionals.length !== 2) {
    fail(
      `expected <src> and <out-dir>, got ${positionals.length} arguments (see --help)`,
      EXIT.usage,
    );
  }
  const [src, out] = positionals;
  let format: Format;
  if (values.format === "auto") {
    const found = await detect(src).catch((e) => E.left(`cannot read ${src}: ${e.message}`));
    if (E.isLeft(found)) fail(found.left);
    format = found.right;
  } else format = values.format;
  const tokenizerJson = values.tokenizer === undefined
    ? undefined
    : await Deno.readTextFile(values.tokenizer).catch((e) =>
      fail(`cannot read --tokenizer ${values.tokenizer}: ${e.message}`)
    );
  const isFile = (await Deno.stat(src).catch(() => null))?.isFile;
  const from = format === "ct2" && isFile ? src.replace(/\/?[^/]*$/, "") || "." : src;
  const imported = await IMPORTERS[format](from, { tokenizerJson })();
  if (E.isLeft(imported)) fail(imported.left.message);
  const checkpoint = imported.right;
  if (checkpoint.tokenizerJson === undefined) {
    fail(
      `${src} has no tokenizer.json; pass --tokenizer path/to/tokenizer.json (from the ` +
        `Hugging Face openai/whisper-* model of the same kind: ${
          checkpoint.config.vocabSize >= 51865 ? "multilingual" : "English-only (.en)"
        })`,
    );
  }
  const saved = await saveCheckpoint(out, checkpoint)();
  if (E.isLeft(saved)) fail(saved.left.message);
  const c = checkpoint.config;
  const params = Object.values(checkpoint.weights).reduce((n, t) => n + t.data.length, 0);
  console.log(
    `${src} (${format}) -> ${out}: d_model ${c.dModel}, ${c.encoderLayers}+${c.decoderLayers} ` +
      `layers, ${c.encoderHeads} heads, vocab ${c.vocabSize}, n_mels ${c.nMels}, ` +
      `${(params / 1e6).toFixed(1)}M parameters`,
  );
}

if (import.meta.main) await main();
