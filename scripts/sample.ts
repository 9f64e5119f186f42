/**
 * `deno task sample`: text -> states with a trained checkpoint, and the text the frozen
 * Whisper decoder reads from them. Writes a safetensors file with each sentence's states
 * (`states/<i>`, [frames, width]) and their lengths (by default samples.safetensors in the
 * checkpoint's folder); prints the round trip.
 *
 *   deno task sample --checkpoint runs/t2s/checkpoint.safetensors --lang en "Hello there."
 */
import { commandLine, EXIT, fail as failWith, plural, SAMPLING_OPTIONS } from "./cli.ts";
import { either as E } from "fp-ts";
import { dirname, join } from "node:path";
import { readSentences } from "./data.ts";
import { saveSafetensors, type StTensor } from "../lib/graph/safetensors.ts";
import { encodeSpeech } from "../lib/speech/prior.ts";
import { speak } from "../lib/speech/espeak.ts";
import { loadT2S } from "../lib/model/checkpoint.ts";
import { generate, readingOf, whisperOf } from "../lib/model/generate.ts";

const COMMAND = {
  name: "sample",
  usage: "deno task sample --checkpoint FILE [text ...] [options]",
  options: {
    checkpoint: { type: "string", arg: "FILE", help: "a checkpoint written by deno task train" },
    lang: {
      type: "string",
      arg: "L",
      default: "en",
      help: "language of the texts given as arguments",
    },
    file: { type: "string", arg: "F", help: "more texts: .txt (with --lang), .jsonl or .tsv" },
    out: {
      type: "string",
      arg: "FILE",
      help: "states file (default samples.safetensors in the checkpoint's folder)",
    },
    ...SAMPLING_OPTIONS,
    seed: { type: "int", default: 0, help: "noise seed" },
    batch: { type: "int", min: 1, default: 8, help: "sentences per batch" },
    whisper: { type: "string", arg: "M", help: "override the checkpoint's Whisper model" },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads" },
    offline: { type: "boolean", help: "never contact the hub" },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const { values: f, positionals } = commandLine(COMMAND);
if (!f.checkpoint) fail("--checkpoint is required (see --help)", EXIT.usage);
const { nfe, sway, guidance, seed, batch, threads } = f;
// Beside the checkpoint by default: a run's samples stay in its folder, not wherever this ran.
const out = f.out ?? join(dirname(f.checkpoint), "samples.safetensors");

const sentences: { text: string; lang: string }[] = positionals.map((text: string) => ({
  text,
  lang: f.lang,
}));
if (f.file) {
  sentences.push(...await readSentences(COMMAND.name, f.file, { lang: f.lang }));
}
if (sentences.length === 0) {
  fail("no text: give sentences as arguments or --file (see --help)", EXIT.usage);
}

const ckpt = await loadT2S(f.checkpoint)();
if (E.isLeft(ckpt)) fail(ckpt.left.message);
const opened = await whisperOf(ckpt.right, { whisper: f.whisper, threads, offline: f.offline });
if (E.isLeft(opened)) fail(opened.left.message);
const { name: whisperName, whisper, tokenizer } = opened.right;

const { source, ...reading } = readingOf(ckpt.right);
// A bridge checkpoint samples from each text's own prior states: render and encode them first.
let starts: Float32Array[] | undefined;
if (source === "prior") {
  starts = [];
  for (const [i, s] of sentences.entries()) {
    const speech = await speak(s.text, { lang: s.lang })();
    if (E.isLeft(speech)) fail(`sentence ${i + 1}: ${speech.left.message}`);
    const encoded = await encodeSpeech(whisper, [speech.right])();
    if (E.isLeft(encoded)) fail(encoded.left.message);
    starts.push(encoded.right[0]);
  }
}
const started = performance.now();
const result = await generate(sentences, {
  ...reading,
  starts,
  config: ckpt.right.config,
  params: ckpt.right.ema,
  whisper,
  tokenizer,
  seed,
  batch,
  steps: nfe,
  solver: f.solver,
  sway,
  guidance,
  sessionOptions: { threads },
});
if (E.isLeft(result)) fail(result.left.message);
const seconds = (performance.now() - started) / 1000;

const tensors: Record<string, StTensor> = {
  lengths: {
    dtype: "I64",
    shape: [result.right.length],
    data: BigInt64Array.from(result.right, (g) => BigInt(g.frames)),
  },
};
result.right.forEach((g, i) => {
  tensors[`states/${i}`] = {
    dtype: "F32",
    shape: [g.frames, ckpt.right.config.width],
    data: g.states,
  };
});
const saved = await saveSafetensors(out, tensors, {
  metadata: {
    texts: JSON.stringify(result.right.map((g) => ({ text: g.text, lang: g.lang }))),
    decoded: JSON.stringify(result.right.map((g) => g.decoded)),
    checkpoint: f.checkpoint,
    whisper: whisperName,
    settings: JSON.stringify({ nfe, solver: f.solver, sway, guidance, seed }),
  },
})();
if (E.isLeft(saved)) fail(saved.left.message);
for (const g of result.right) console.log(`[${g.lang}] ${g.text}\n  -> ${g.decoded}`);
const audio = result.right.reduce((s, g) => s + g.frames / 50, 0);
console.error(
  `${plural(result.right.length, "sentence")}, ${audio.toFixed(1)} s of states in ${
    seconds.toFixed(1)
  } s; wrote ${out}`,
);
