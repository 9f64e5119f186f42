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
import { parseArgs } from "@std/cli";
import { either as E, type taskEither as TE } from "fp-ts";
import { saveCheckpoint, type WhisperCheckpoint } from "../lib/whisper/checkpoint.ts";
import { importCt2 } from "../lib/whisper/import_ct2.ts";
import { importGgml } from "../lib/whisper/import_ggml.ts";
import { importPt } from "../lib/whisper/import_pt.ts";
import type { ImportError } from "../lib/whisper/import_common.ts";

const HELP = `Usage: whisper_import.ts <src> <out-dir> [options]
  --format F        ct2 (CTranslate2 / faster-whisper folder), ggml (whisper.cpp .bin),
                    pt (openai-whisper checkpoint) or auto (default: from the file's first bytes)
  --tokenizer PATH  tokenizer.json to include (needed when <src> has none: ggml and .pt files,
                    CTranslate2 folders without one); it must match the model (English-only
                    for .en models, multilingual otherwise)`;

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

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      format: { type: "string", default: "auto" },
      tokenizer: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || positionals.length !== 2) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const [src, out] = positionals;
  let format: Format;
  if (values.format === "auto") {
    const found = await detect(src).catch((e) => E.left(`cannot read ${src}: ${e.message}`));
    if (E.isLeft(found)) return fail(found.left);
    format = found.right;
  } else if (values.format in IMPORTERS) {
    format = values.format as Format;
  } else {
    return fail(`unknown --format '${values.format}'; use ct2, ggml, pt or auto`);
  }
  const tokenizerJson = values.tokenizer === undefined
    ? undefined
    : await Deno.readTextFile(values.tokenizer).catch((e) => {
      throw new Error(`cannot read --tokenizer ${values.tokenizer}: ${e.message}`);
    });
  const isFile = (await Deno.stat(src).catch(() => null))?.isFile;
  const from = format === "ct2" && isFile ? src.replace(/\/?[^/]*$/, "") || "." : src;
  const imported = await IMPORTERS[format](from, { tokenizerJson })();
  if (E.isLeft(imported)) return fail(imported.left.message);
  const checkpoint = imported.right;
  if (checkpoint.tokenizerJson === undefined) {
    return fail(
      `${src} has no tokenizer.json; pass --tokenizer path/to/tokenizer.json (from the ` +
        `Hugging Face openai/whisper-* model of the same kind: ${
          checkpoint.config.vocabSize >= 51865 ? "multilingual" : "English-only (.en)"
        })`,
    );
  }
  const saved = await saveCheckpoint(out, checkpoint)();
  if (E.isLeft(saved)) return fail(saved.left.message);
  const c = checkpoint.config;
  const params = Object.values(checkpoint.weights).reduce((n, t) => n + t.data.length, 0);
  console.log(
    `${src} (${format}) -> ${out}: d_model ${c.dModel}, ${c.encoderLayers}+${c.decoderLayers} ` +
      `layers, ${c.encoderHeads} heads, vocab ${c.vocabSize}, n_mels ${c.nMels}, ` +
      `${(params / 1e6).toFixed(1)}M parameters`,
  );
  return 0;
}

function fail(message: string): number {
  console.error(`whisper_import: ${message}`);
  return 1;
}

if (import.meta.main) Deno.exit(await main());
