/**
 * Real-weights check (not CI): transcribes a recording with this project's Whisper and with
 * reference implementations on the same file and weights, side by side: text, warm seconds
 * per stage, real-time factor, and the decoder's teacher-forced cross-entropy on the known
 * transcript.
 *
 *   deno run -A scripts/whisper_compare.ts .cache/whisper/tiny.en --audio jfk.wav \
 *     --text "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country." \
 *     [--ct2 ctranslate2-folder] [--python .venv/bin/python] [--threads 2]
 */
import { commandLine, EXIT, fail as failWith } from "./cli.ts";
import { either as E } from "fp-ts";
import { wordErrorRate } from "../lib/whisper/normalize.ts";
import { encode, loadWhisper, teacherForcedLoss } from "../lib/whisper/runtime.ts";
import { whisperInput } from "../lib/whisper/mel.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";
import { transcribe } from "../lib/whisper/transcribe.ts";
import { loadWav } from "../lib/whisper/wav.ts";

const COMMAND = {
  name: "whisper_compare",
  usage: "deno run -A scripts/whisper_compare.ts <model-folder> --audio FILE --text TEXT [options]",
  options: {
    audio: { type: "string", arg: "FILE", help: "the recording (WAV, at most 30 s)" },
    text: { type: "string", arg: "TEXT", help: "its known transcript" },
    ct2: {
      type: "string",
      arg: "DIR",
      help: "a CTranslate2 folder of the same model, also compared",
    },
    python: {
      type: "string",
      arg: "FILE",
      default: ".venv/bin/python",
      help: "the Python that runs scripts/whisper_reference.py",
    },
    threads: { type: "int", min: 1, default: 2, help: "threads, everywhere" },
    language: { type: "string", arg: "L", default: "en", help: "the recording's language" },
  },
  epilog: "A manual real-weights check (not CI); scripts/whisper_reference.py runs the references.",
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const { values: flags, positionals } = commandLine(COMMAND);
const [folder] = positionals;
if (!folder || !flags.audio || !flags.text) {
  fail("give a model folder, --audio and --text (see --help)", EXIT.usage);
}
const { audio: audioPath, text: transcript, threads, language } = flags;
const loaded = await loadWav(audioPath)();
if (E.isLeft(loaded)) fail(loaded.left.message);
const audio = loaded.right;
const seconds = audio.length / 16000;
const opened = await loadWhisper(folder, { threads })();
if (E.isLeft(opened)) fail(opened.left.message);
const model = opened.right;
const tokenized = modelTokenizer(model);
if (E.isLeft(tokenized)) fail(tokenized.left.message);
const tokenizer = tokenized.right;

type Row = {
  implementation: string;
  text: string;
  seconds: Record<string, number>;
  cross_entropy?: number;
};
const rows: Row[] = [];

// Ours: the second of two runs (the first opens and optimises the sessions).
let timings: Record<string, number> = {};
let text = "";
for (let run = 0; run < 2; run++) {
  timings = {};
  const out = await transcribe(model, [audio], {
    language,
    onTiming: (stage, ms) => (timings[stage] = ms / 1000),
  })();
  if (E.isLeft(out)) fail(out.left.message);
  text = out.right[0].text;
}
const prompt = tokenizer.sotSequence({ language, task: "transcribe", timestamps: false });
if (E.isLeft(prompt)) fail(prompt.left.message);
const prefix = prompt.right;
const target = [...prefix, ...tokenizer.encode(" " + transcript), tokenizer.specials.eot];
const mel = whisperInput(audio, { nMels: model.config.nMels });
if (E.isLeft(mel)) fail(mel.left.message);
const states = await encode(model, mel.right.data, { batch: 1 })();
if (E.isLeft(states)) fail(states.left.message);
const scored = await teacherForcedLoss(model, {
  states: states.right,
  tokens: BigInt64Array.from(target.slice(0, -1), BigInt),
  targets: BigInt64Array.from(target.slice(1), BigInt),
  mask: Float32Array.from(target.slice(1), (_, i) => (i >= prefix.length - 1 ? 1 : 0)),
  batch: 1,
})();
if (E.isLeft(scored)) fail(scored.left.message);
rows.push({
  implementation: "flowt2s (ONNX Runtime 1.30, fp32)",
  text,
  seconds: timings,
  cross_entropy: scored.right.loss,
});

const args = [
  "scripts/whisper_reference.py",
  "--model",
  folder,
  "--audio",
  audioPath,
  "--text",
  transcript,
  "--threads",
  String(threads),
];
if (flags.ct2) args.push("--ct2", flags.ct2);
const ref = await new Deno.Command(flags.python, { args, stdout: "piped", stderr: "piped" })
  .output();
if (ref.code !== 0) {
  console.error(`reference failed:\n${new TextDecoder().decode(ref.stderr).slice(-2000)}`);
} else {
  for (const line of new TextDecoder().decode(ref.stdout).trim().split("\n")) {
    rows.push(JSON.parse(line));
  }
}

console.log(`\n${folder}: ${audioPath} (${seconds.toFixed(1)} s), ${threads} threads, greedy\n`);
console.log(
  "| implementation | text | WER | encode s | decode s | total s | RTF | CE (nats/token) |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const total = Object.values(r.seconds).reduce((a, b) => a + b, 0);
  const wer = wordErrorRate(transcript, r.text);
  const f = (v?: number) => (v === undefined ? "–" : v.toFixed(3));
  console.log(
    `| ${r.implementation} | ${r.text} | ${(100 * wer).toFixed(1)}% | ${f(r.seconds.encode)} | ` +
      `${f(r.seconds.decode)} | ${f(total)} | ${f(total / seconds)} | ${f(r.cross_entropy)} |`,
  );
}
