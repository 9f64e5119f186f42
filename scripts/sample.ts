/**
 * `deno task sample`: text -> states with a trained checkpoint, and the text the frozen
 * Whisper decoder reads from them. Writes a safetensors file with each sentence's states
 * (`states/<i>`, [frames, width]) and their lengths; prints the round trip.
 *
 *   deno task sample --checkpoint runs/t2s/checkpoint.safetensors --lang en "Hello there."
 */
import { parseArgs } from "@std/cli";
import { either as E } from "fp-ts";
import { loadSentences } from "../lib/data/mod.ts";
import { saveSafetensors, type StTensor } from "../lib/graph/safetensors.ts";
import { loadT2S } from "../lib/model/checkpoint.ts";
import { generate, readingOf, whisperOf } from "../lib/model/generate.ts";

const HELP = `Usage: deno task sample --checkpoint FILE [text ...] [options]
  --checkpoint FILE   a checkpoint written by deno task train
  --lang L            language of the texts given as arguments (default en)
  --file F            more texts: .txt (with --lang), .jsonl or .tsv
  --out FILE          states file (default samples.safetensors)
  --nfe N             ODE steps (default 16)
  --solver S          euler (default), midpoint, heun or rk4
  --sway X            sway of the time grid, -1..1 (default -1)
  --guidance W        classifier-free guidance weight (default 0)
  --seed N            noise seed (default 0)
  --batch N           sentences per batch (default 8)
  --whisper M         override the checkpoint's Whisper model
  --threads N         ONNX Runtime threads
  --offline           never contact the hub`;

function fail(message: string): never {
  console.error(`sample: ${message}`);
  Deno.exit(1);
}

let args;
try {
  args = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      checkpoint: { type: "string" },
      lang: { type: "string", default: "en" },
      file: { type: "string" },
      out: { type: "string", default: "samples.safetensors" },
      nfe: { type: "string", default: "16" },
      solver: { type: "string", default: "euler" },
      sway: { type: "string", default: "-1" },
      guidance: { type: "string", default: "0" },
      seed: { type: "string", default: "0" },
      batch: { type: "string", default: "8" },
      whisper: { type: "string" },
      threads: { type: "string" },
      offline: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
} catch (e) {
  fail(`${e instanceof Error ? e.message : e}\n${HELP}`);
}
const { values: f, positionals } = args;
if (f.help) {
  console.log(HELP);
  Deno.exit(0);
}
if (!f.checkpoint) fail(`--checkpoint is required\n${HELP}`);
const number = (name: string, text: string, ok: (n: number) => boolean) => {
  const n = Number(text);
  if (!Number.isFinite(n) || !ok(n)) fail(`--${name}: '${text}' is out of range`);
  return n;
};
const nfe = number("nfe", f.nfe!, (n) => Number.isInteger(n) && n >= 1);
const sway = number("sway", f.sway!, (n) => n >= -1 && n <= 1);
const guidance = number("guidance", f.guidance!, (n) => n >= 0);
const seed = number("seed", f.seed!, Number.isInteger);
const batch = number("batch", f.batch!, (n) => Number.isInteger(n) && n >= 1);
if (!["euler", "midpoint", "heun", "rk4"].includes(f.solver!)) {
  fail(`--solver: unknown '${f.solver}'`);
}

const sentences: { text: string; lang: string }[] = positionals.map((text: string) => ({
  text,
  lang: f.lang!,
}));
if (f.file) {
  const loaded = await loadSentences(f.file, { lang: f.lang })();
  if (E.isLeft(loaded)) fail(loaded.left.message);
  sentences.push(...loaded.right);
}
if (sentences.length === 0) fail(`no text: give sentences as arguments or --file\n${HELP}`);

const ckpt = await loadT2S(f.checkpoint)();
if (E.isLeft(ckpt)) fail(ckpt.left.message);
const threads = f.threads
  ? number("threads", f.threads, (n) => Number.isInteger(n) && n >= 1)
  : undefined;
const opened = await whisperOf(ckpt.right, { whisper: f.whisper, threads, offline: f.offline });
if (E.isLeft(opened)) fail(opened.left.message);
const { name: whisperName, whisper, tokenizer } = opened.right;

const started = performance.now();
const result = await generate(sentences, {
  ...readingOf(ckpt.right),
  config: ckpt.right.config,
  params: ckpt.right.ema,
  whisper,
  tokenizer,
  seed,
  batch,
  steps: nfe,
  solver: f.solver as "euler",
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
const saved = await saveSafetensors(f.out!, tensors, {
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
  `${result.right.length} sentences, ${audio.toFixed(1)} s of states in ${
    seconds.toFixed(1)
  } s; wrote ${f.out}`,
);
