/**
 * `deno task transcribe file.wav [more.wav ...]`: speech to text with a Whisper model on ONNX
 * Runtime, end to end in this project's code (WAV reading, log-mel, encoder, decoder).
 *
 *   deno task transcribe audio.wav --model openai/whisper-tiny [--language en] [--beam 5]
 *
 * Prints each transcript and the time spent per stage with the real-time factor.
 */
import { commandLine, EXIT, fail as failWith, PROVIDER_OPTION } from "./cli.ts";
import { either as E } from "fp-ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { transcribe } from "../lib/whisper/transcribe.ts";
import { loadWav } from "../lib/whisper/wav.ts";

const COMMAND = {
  name: "transcribe",
  usage: "deno task transcribe <file.wav> [more.wav ...] [options]",
  options: {
    model: {
      type: "string",
      arg: "M",
      default: "openai/whisper-tiny",
      help: "a Hugging Face folder, a hub id (from the cache or downloaded), or\n" +
        "tiny-random (the project's random test model)",
    },
    language: {
      type: "string",
      arg: "L",
      help: "language code or name (default: detected; en for .en models)",
    },
    task: {
      type: "choice",
      choices: ["transcribe", "translate"],
      default: "transcribe",
      arg: "T",
      help: "transcribe, or translate into English",
    },
    beam: { type: "int", min: 1, default: 1, help: "beam size (1: greedy)" },
    "max-tokens": { type: "int", min: 1, default: 224, help: "most tokens per clip" },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads (default: one per core)" },
    provider: PROVIDER_OPTION,
    offline: { type: "boolean", help: "never contact the hub" },
    json: { type: "boolean", help: "print one JSON object per clip instead of text" },
    warm: {
      type: "boolean",
      help: "transcribe twice and time the second run (sessions already open)",
    },
  },
  epilog:
    "Clips may be at most 30 s long; any WAV (PCM or float, any rate, any channels) is accepted.",
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

/** A clip whose peak stays below one step of 16-bit PCM is digital silence. */
const SILENT = 1 / 32768;

const { values: flags, positionals: files } = commandLine(COMMAND);
if (files.length === 0) fail("no WAV file given (see --help)", EXIT.usage);

const clips: Float32Array[] = [];
for (const file of files) {
  const audio = await loadWav(file)();
  if (E.isLeft(audio)) fail(audio.left.message);
  // Whisper writes text for any input, silence included: refuse what holds no sound.
  if (audio.right.length === 0) {
    fail(`${file}: no samples (an empty recording); nothing to transcribe`);
  }
  const peak = audio.right.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  if (peak < SILENT) {
    fail(
      `${file}: silent (${(audio.right.length / 16000).toFixed(1)} s, peak ${
        peak === 0 ? "0" : `${(20 * Math.log10(peak)).toFixed(0)} dBFS`
      }); nothing to transcribe (Whisper would invent text for silence)`,
    );
  }
  clips.push(audio.right);
}
const model = await openWhisper(flags.model, {
  threads: flags.threads,
  provider: flags.provider,
  hub: { offline: flags.offline },
})();
if (E.isLeft(model)) fail(model.left.message);

const timings: Record<string, number> = {};
const run = (record: boolean) =>
  transcribe(model.right, clips, {
    language: flags.language,
    task: flags.task,
    beamSize: flags.beam,
    maxTokens: flags["max-tokens"],
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
