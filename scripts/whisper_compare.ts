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
import { parseArgs } from "@std/cli";
import { orThrow } from "../lib/result.ts";
import { either as E } from "fp-ts";
import { wordErrorRate } from "../lib/whisper/normalize.ts";
import { encode, loadWhisper, teacherForcedLoss } from "../lib/whisper/runtime.ts";
import { whisperInput } from "../lib/whisper/mel.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";
import { transcribe } from "../lib/whisper/transcribe.ts";
import { loadWav } from "../lib/whisper/wav.ts";

const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    audio: { type: "string" },
    text: { type: "string" },
    ct2: { type: "string" },
    python: { type: "string", default: ".venv/bin/python" },
    threads: { type: "string", default: "2" },
    language: { type: "string", default: "en" },
  },
});
const [folder] = positionals;
if (!folder || !flags.audio || !flags.text) {
  console.error("usage: whisper_compare.ts <model-folder> --audio file.wav --text transcript");
  Deno.exit(1);
}
const threads = Number(flags.threads);
const audio = await orThrow(loadWav(flags.audio));
const seconds = audio.length / 16000;
const model = await orThrow(loadWhisper(folder, { threads }));
const tokenizer = E.getOrElseW((e: { message: string }) => {
  throw new Error(e.message);
})(modelTokenizer(model));

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
  const [out] = await orThrow(transcribe(model, [audio], {
    language: flags.language,
    onTiming: (stage, ms) => (timings[stage] = ms / 1000),
  }));
  text = out.text;
}
const prefix = orThrow(
  tokenizer.sotSequence({ language: flags.language, task: "transcribe", timestamps: false }),
);
const target = [...prefix, ...tokenizer.encode(" " + flags.text), tokenizer.specials.eot];
const mel = E.getOrElseW((e: { message: string }) => {
  throw new Error(e.message);
})(whisperInput(audio, { nMels: model.config.nMels }));
const states = await orThrow(encode(model, mel.data, { batch: 1 }));
const { loss } = await orThrow(teacherForcedLoss(model, {
  states,
  tokens: BigInt64Array.from(target.slice(0, -1), BigInt),
  targets: BigInt64Array.from(target.slice(1), BigInt),
  mask: Float32Array.from(target.slice(1), (_, i) => (i >= prefix.length - 1 ? 1 : 0)),
  batch: 1,
}));
rows.push({
  implementation: "flowt2s (ONNX Runtime 1.30, fp32)",
  text,
  seconds: timings,
  cross_entropy: loss,
});

const args = [
  "scripts/whisper_reference.py",
  "--model",
  folder,
  "--audio",
  flags.audio,
  "--text",
  flags.text,
  "--threads",
  String(threads),
];
if (flags.ct2) args.push("--ct2", flags.ct2);
const ref = await new Deno.Command(flags.python!, { args, stdout: "piped", stderr: "piped" })
  .output();
if (ref.code !== 0) {
  console.error(`reference failed:\n${new TextDecoder().decode(ref.stderr).slice(-2000)}`);
} else {
  for (const line of new TextDecoder().decode(ref.stdout).trim().split("\n")) {
    rows.push(JSON.parse(line));
  }
}

console.log(`\n${folder}: ${flags.audio} (${seconds.toFixed(1)} s), ${threads} threads, greedy\n`);
console.log(
  "| implementation | text | WER | encode s | decode s | total s | RTF | CE (nats/token) |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const total = Object.values(r.seconds).reduce((a, b) => a + b, 0);
  const wer = wordErrorRate(flags.text, r.text);
  const f = (v?: number) => (v === undefined ? "–" : v.toFixed(3));
  console.log(
    `| ${r.implementation} | ${r.text} | ${(100 * wer).toFixed(1)}% | ${f(r.seconds.encode)} | ` +
      `${f(r.seconds.decode)} | ${f(total)} | ${f(total / seconds)} | ${f(r.cross_entropy)} |`,
  );
}
