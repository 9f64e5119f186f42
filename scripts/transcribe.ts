/**
 * `deno task transcribe file.wav [more.wav ...]`: speech to text with a Whisper model on ONNX
 * Runtime, end to end in this project's code (WAV reading, log-mel, encoder, decoder).
 *
 *   deno task transcribe audio.wav --model openai/whisper-tiny [--language en] [--beam 5]
 *
 * Prints each transcript and the time spent per stage with the real-time factor.
 */
import { parseArgs } from "@std/cli";
import { either as E } from "fp-ts";
import type { Provider } from "../lib/graph/session.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { transcribe } from "../lib/whisper/transcribe.ts";
import { loadWav } from "../lib/whisper/wav.ts";

const HELP = `Usage: deno task transcribe <file.wav> [more.wav ...] [options]
  --model M         a Hugging Face folder, a hub id (default openai/whisper-tiny, from the cache
                    or downloaded), or tiny-random (the project's random test model)
  --language L      language code or name (default: detected; en for .en models)
  --task T          transcribe (default) or translate
  --beam N          beam size (default 1: greedy)
  --max-tokens N    most tokens per clip (default 224)
  --threads N       ONNX Runtime threads (default: one per core)
  --provider P      cpu (default) or cuda
  --offline         never contact the hub
  --json            print one JSON object per clip instead of text
  --warm            transcribe twice and time the second run (sessions already open)
Clips may be at most 30 s long; any WAV (PCM or float, any rate, any channels) is accepted.`;

function fail(message: string): never {
  console.error(`transcribe: ${message}`);
  Deno.exit(1);
}

let args;
try {
  args = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      model: { type: "string", default: "openai/whisper-tiny" },
      language: { type: "string" },
      task: { type: "string", default: "transcribe" },
      beam: { type: "string", default: "1" },
      "max-tokens": { type: "string", default: "224" },
      threads: { type: "string" },
      provider: { type: "string", default: "cpu" },
      offline: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      warm: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
} catch (e) {
  fail(`${e instanceof Error ? e.message : e}\n${HELP}`);
}
const { values: flags, positionals: files } = args;
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
if (files.length === 0) fail(`no WAV file given\n${HELP}`);
const integer = (name: string, text: string | undefined) => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got '${text}'`);
  return n;
};
if (flags.task !== "transcribe" && flags.task !== "translate") {
  fail(`--task must be transcribe or translate, got '${flags.task}'`);
}
if (flags.provider !== "cpu" && flags.provider !== "cuda") {
  fail(`--provider must be cpu or cuda, got '${flags.provider}'`);
}

const clips: Float32Array[] = [];
for (const file of files) {
  const audio = await loadWav(file)();
  if (E.isLeft(audio)) fail(audio.left.message);
  clips.push(audio.right);
}
const model = await openWhisper(flags.model!, {
  threads: integer("threads", flags.threads),
  provider: flags.provider as Provider,
  hub: { offline: flags.offline },
})();
if (E.isLeft(model)) fail(model.left.message);

const timings: Record<string, number> = {};
const run = (record: boolean) =>
  transcribe(model.right, clips, {
    language: flags.language,
    task: flags.task as "transcribe" | "translate",
    beamSize: integer("beam", flags.beam),
    maxTokens: integer("max-tokens", flags["max-tokens"]),
    onTiming: record ? (stage, ms) => (timings[stage] = (timings[stage] ?? 0) + ms) : undefined,
  })();
// The first run also opens the sessions (graph building, ONNX Runtime's optimisation);
// --warm transcribes once more and reports that run, as a long-running process would pay.
const first = await run(!flags.warm);
if (E.isLeft(first)) fail(first.left.message);
const timed = flags.warm ? await run(true) : first;
if (E.isLeft(timed)) fail(timed.left.message);

const seconds = clips.reduce((s, c) => s + c.length, 0) / 16000;
const computeMs = Object.values(timings).reduce((a, b) => a + b, 0);
timed.right.forEach((t, i) => {
  if (flags.json) {
    console.log(JSON.stringify({ file: files[i], ...t }));
  } else {
    const prob = t.languageProbability < 1 ? ` (p=${t.languageProbability.toFixed(2)})` : "";
    console.log(`${files[i]} [${t.language}${prob}] ${t.text}`);
  }
});
const stages = Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ");
console.error(
  `${seconds.toFixed(1)} s of audio: ${stages}; real-time factor ${
    (computeMs / 1000 / seconds).toFixed(3)
  }${flags.warm ? " (warm sessions)" : " (session setup included; --warm for a warm run)"}`,
);
