/**
 * `deno task generate`: synthetic data at scale. Streams a corpus through a trained model (a
 * checkpoint or a `deno task export` artifact) into shards of states in an output folder (the
 * layout of lib/model/shards.ts: generation.json, shard-<k>.safetensors and shard-<k>.jsonl).
 *
 *   deno task generate --model model.safetensors --data corpus.jsonl --out data/synthetic
 *   deno task generate ... --shard $INDEX/$COUNT     # one worker of an array job
 *
 * A sentence's states depend only on the settings and its id (noise from the seed and the id,
 * batches padded to --batch rows), never on the shard count, the worker or the order. A rerun
 * skips finished shards and redoes an unfinished one; Ctrl-C (or SIGTERM) stops between batches,
 * writes nothing partial and exits 130. A bad corpus line is reported with its line number,
 * counted in the summary, and the rest goes on.
 */
import { either as E } from "fp-ts";
import {
  commandLine,
  EXIT,
  fail as failWith,
  plural,
  progressLine,
  SAMPLING_OPTIONS,
} from "./cli.ts";
import { countRecords, type Sentence, streamSentences } from "../lib/data/mod.ts";
import { frames as estimateFrames } from "../lib/length/mod.ts";
import { loadT2S } from "../lib/model/checkpoint.ts";
import { generate, readingOf, whisperOf } from "../lib/model/generate.ts";
import {
  parseShardSpec,
  removePartialShards,
  settleGeneration,
  shardDone,
  type ShardEntry,
  writeShard,
} from "../lib/model/shards.ts";
import type { VelocitySessions } from "../lib/model/states.ts";
import { prepareSentences } from "../lib/model/training.ts";
import { encodeSpeech } from "../lib/speech/prior.ts";
import { speak } from "../lib/speech/espeak.ts";
import { charErrorRate } from "../lib/whisper/normalize.ts";

const COMMAND = {
  name: "generate",
  usage: "deno task generate --model FILE --data CORPUS --out DIR [options]",
  options: {
    model: {
      type: "string",
      arg: "FILE",
      help: "a model: deno task export's artifact or a training checkpoint",
    },
    data: {
      type: "string",
      arg: "CORPUS",
      help: "the corpus: .txt (with --lang), .jsonl or .tsv, read line by line; or udhr:de,fr",
    },
    out: { type: "string", arg: "DIR", help: "output folder (created; a rerun continues it)" },
    lang: { type: "string", arg: "L", help: "language of a .txt corpus (default for lines)" },
    "shard-size": { type: "int", min: 1, default: 256, help: "corpus lines per shard" },
    shard: {
      type: "string",
      arg: "I/N",
      default: "0/1",
      help: "this worker's part of an array job: shards k with k mod N = I",
    },
    batch: {
      type: "int",
      min: 1,
      default: 8,
      help: "sentences per batch (part of the settings: it changes the last float bit)",
    },
    ...SAMPLING_OPTIONS,
    seed: {
      type: "int",
      min: 0,
      default: 0,
      help: "global noise seed, mixed with each sentence's id",
    },
    weights: {
      type: "choice",
      choices: ["ema", "params"],
      default: "ema",
      help: "a checkpoint's EMA or raw weights (an export has one set)",
    },
    float16: { type: "boolean", help: "store states as float16 (half the bytes)" },
    decode: {
      type: "boolean",
      help: "also read each sentence back with the frozen decoder: decoded, cer, looped in\n" +
        "the manifest (for filtering; slower)",
    },
    whisper: { type: "string", arg: "M", help: "override the model's Whisper (hub id or folder)" },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads" },
    offline: { type: "boolean", help: "never contact the hub" },
    quiet: { type: "boolean", help: "no progress line (bad lines and the summary still print)" },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const { values: f } = commandLine(COMMAND);
if (!f.model) fail("--model is required (see --help)", EXIT.usage);
if (!f.data) fail("--data is required (see --help)", EXIT.usage);
if (!f.out) fail("--out is required (see --help)", EXIT.usage);
const spec = parseShardSpec(f.shard);
if (E.isLeft(spec)) fail(`--shard: ${spec.left.message}`, EXIT.usage);
const { index: worker, count: workers } = spec.right;
const out = f.out, shardSize = f["shard-size"];

// Stop between batches: what is written stays whole, the shard in flight is redone by a rerun.
let stopping: string | undefined;
const stop = (signal: string) => () => {
  if (stopping) Deno.exit(EXIT.interrupted); // a second Ctrl-C: now (temp files are cleaned later)
  stopping = signal;
};
Deno.addSignalListener("SIGINT", stop("SIGINT"));
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop("SIGTERM"));

const ckpt = await loadT2S(f.model)();
if (E.isLeft(ckpt)) fail(ckpt.left.message);
const opened = await whisperOf(ckpt.right, {
  whisper: f.whisper,
  threads: f.threads,
  offline: f.offline,
});
if (E.isLeft(opened)) fail(opened.left.message);
const { name: whisperName, whisper, tokenizer } = opened.right;
const model = ckpt.right;
const { source, ...reading } = readingOf(model);
const width = model.config.width;
const modelHash = Array.from(
  new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(f.model))),
  (b) => b.toString(16).padStart(2, "0"),
).join("");

// Everything that changes a byte of the output; generation.json refuses a rerun that differs.
const settings = {
  modelSha256: modelHash,
  weights: f.weights,
  whisper: whisperName,
  data: f.data,
  lang: f.lang ?? null,
  shardSize,
  batch: f.batch,
  nfe: f.nfe,
  solver: f.solver,
  sway: f.sway,
  guidance: f.guidance,
  seed: f.seed,
  float16: f.float16,
  decode: f.decode,
};
const FLAGS: Record<string, string> = {
  modelSha256: "--model (the file's contents)",
  shardSize: "--shard-size",
};
const total = await countRecords(f.data, { lang: f.lang })();
if (E.isLeft(total)) fail(total.left.message);
if (total.right === 0) fail(`${f.data}: the corpus holds no sentences (it is empty, or blank)`);
// Checked before generation.json is written: a retry with the fix must not be refused.
const stream = await streamSentences(f.data, { lang: f.lang, langOption: "--lang" })();
if (E.isLeft(stream)) fail(stream.left.message);
await Deno.mkdir(out, { recursive: true });
const settled = await settleGeneration(out, settings, {
  notes: {
    model: f.model,
    step: model.metadata.step ?? null,
    source,
    width,
    records: total.right,
  },
})();
if (E.isLeft(settled)) {
  const d = settled.left.differences;
  if (!d) fail(settled.left.message);
  const listed = d.map((x) =>
    `${FLAGS[x.key] ?? `--${x.key}`} was ${JSON.stringify(x.was)}, now ${JSON.stringify(x.now)}`
  );
  fail(
    `${out} holds data generated with other settings: ${listed.join("; ")}. Rerun with the ` +
      "same settings to continue it, or pass another --out",
  );
}

const owns = (shard: number) => shard % workers === worker;
for (const k of await removePartialShards(out, owns)) {
  console.error(`generate: shard ${k} was left unfinished; it is redone`);
}
const shardCount = Math.ceil(total.right / shardSize);
const recordsOf = (k: number) => Math.min(shardSize, total.right - k * shardSize);
const mine = Array.from({ length: shardCount }, (_, k) => k).filter(owns);
const finished = new Set<number>();
for (const k of mine) if (await shardDone(out, k)) finished.add(k);
const todo = mine.filter((k) => !finished.has(k));
const todoRecords = todo.reduce((n, k) => n + recordsOf(k), 0);
const lastTodo = todo.at(-1) ?? -1; // past it, the rest of the corpus is another worker's

const progress = progressLine({ quiet: f.quiet, every: 10_000 });
const sessions: VelocitySessions = new Map();
const started = performance.now();
let sentencesDone = 0, recordsDone = 0, badLines = 0, shardsWritten = 0, speechSeconds = 0;

const duration = (s: number) =>
  !Number.isFinite(s)
    ? "?"
    : s < 90
    ? `${s.toFixed(0)} s`
    : s < 5400
    ? `${(s / 60).toFixed(0)} min`
    : `${(s / 3600).toFixed(1)} h`;

function report(shard: number, doneInShard: number): void {
  const seconds = (performance.now() - started) / 1000;
  const records = recordsDone + doneInShard;
  const rate = records / seconds;
  const eta = (todoRecords - records) / rate;
  progress.update(
    `shard ${shard} (${shardsWritten + 1}/${todo.length}) · ${records}/${todoRecords} lines · ` +
      `${rate.toFixed(1)} sentences/s · ${(speechSeconds / seconds).toFixed(1)}x real time · ` +
      `ETA ${duration(eta)}`,
  );
}

function interrupted(shard: number): never {
  progress.done();
  fail(
    `${stopping}: stopped before shard ${shard} was written (nothing partial is left); ` +
      `${plural(shardsWritten, "shard")} written this run. Rerun the same command to continue`,
    EXIT.interrupted,
  );
}

type Line = { line: number; sentence: Sentence };

/** Generates one shard's sentences (by length, in batches) and writes the shard. */
async function makeShard(shard: number, lines: Line[], bad: string[]): Promise<void> {
  // Longest first would waste less at the start; ascending keeps it simple and deterministic.
  const order = lines.map((l, i) => {
    const est = estimateFrames(l.sentence.text, l.sentence.lang);
    return { i, frames: E.isRight(est) ? est.right.frames : 0 };
  }).sort((a, b) => a.frames - b.frames || a.i - b.i).map((x) => x.i);
  const made = new Map<number, ShardEntry>();
  let doneInShard = bad.length;
  for (let from = 0; from < order.length; from += f.batch) {
    if (stopping) interrupted(shard);
    const chunk = order.slice(from, from + f.batch).map((i) => ({ i, ...lines[i] }));
    let starts: Float32Array[] | undefined;
    if (source === "prior") {
      // A bridge model starts from each text's eSpeak NG prior states (encoded one at a time,
      // so a sentence's start does not depend on its batch).
      starts = [];
      const kept = [];
      for (const c of chunk) {
        const speech = await speak(c.sentence.text, { lang: c.sentence.lang })();
        const encoded: E.Either<{ message: string }, Float32Array[]> = E.isRight(speech)
          ? await encodeSpeech(whisper, [speech.right])()
          : speech;
        if (E.isLeft(encoded)) {
          const problem = `${f.data}:${c.line}: ${encoded.left.message}`;
          progress.note(`generate: ${problem}`);
          bad.push(problem);
          badLines++;
          continue;
        }
        starts.push(encoded.right[0]);
        kept.push(c);
      }
      chunk.splice(0, chunk.length, ...kept);
      if (chunk.length === 0) continue;
    }
    const result = await generate(chunk.map((c) => c.sentence), {
      ...reading,
      starts,
      ids: chunk.map((c) => c.sentence.id),
      decode: f.decode,
      config: model.config,
      params: f.weights === "params" ? model.params : model.ema,
      whisper,
      tokenizer,
      seed: f.seed,
      batch: f.batch,
      steps: f.nfe,
      solver: f.solver,
      sway: f.sway,
      guidance: f.guidance,
      sessionOptions: { threads: f.threads },
      sessions,
    });
    if (E.isLeft(result)) fail(`shard ${shard}: ${result.left.message}`);
    result.right.forEach((g, j) => {
      const c = chunk[j];
      const read = "decoded" in g
        ? { decoded: g.decoded, cer: charErrorRate(g.text, g.decoded), looped: g.looped }
        : {};
      made.set(c.i, {
        id: c.sentence.id,
        text: g.text,
        lang: g.lang,
        line: c.line,
        states: g.states,
        ...read,
      });
      speechSeconds += g.frames / 50;
    });
    doneInShard += chunk.length;
    report(shard, doneInShard);
  }
  if (stopping) interrupted(shard);
  const entries = lines.flatMap((_, i) => made.has(i) ? [made.get(i)!] : []);
  const written = await writeShard(out, shard, entries, {
    width,
    float16: f.float16,
    metadata: { bad_lines: JSON.stringify(bad), generation: JSON.stringify(settings) },
  })();
  if (E.isLeft(written)) fail(written.left.message);
  shardsWritten++;
  sentencesDone += entries.length;
  recordsDone += recordsOf(shard);
}

/** Why the frozen decoder could not read `s` back (over its token limit), if it could not. */
function readable(s: Sentence, line: number): string | undefined {
  const prepared = prepareSentences([{ ...s, frames: 1 }], { tokenizer });
  return E.isLeft(prepared)
    ? `${f.data}:${line}: ${prepared.left.message.replace(`sentence ${s.id}: `, "")}`
    : undefined;
}

let current = -1, lines: Line[] = [], bad: string[] = [], seen = new Set<string>();
const flush = async () => {
  if (current >= 0 && owns(current) && !finished.has(current)) {
    await makeShard(current, lines, bad);
  }
  lines = [];
  bad = [];
  seen = new Set();
};
for await (const r of stream.right) {
  if (stopping) interrupted(current);
  const shard = Math.floor(r.record / shardSize);
  if (shard > lastTodo) break;
  if (shard !== current) {
    await flush();
    current = shard;
  }
  if (!owns(shard) || finished.has(shard)) continue;
  const problem = "issue" in r
    ? r.issue.message
    : seen.has(r.sentence.id)
    ? `${f.data}:${r.line}: id "${r.sentence.id}" repeats an earlier line's; give each its own id`
    : readable(r.sentence, r.line);
  if (problem !== undefined || !("sentence" in r)) {
    progress.note(`generate: ${problem}`);
    bad.push(problem!);
    badLines++;
    continue;
  }
  seen.add(r.sentence.id);
  lines.push({ line: r.line, sentence: r.sentence });
}
await flush();
progress.done();

const seconds = (performance.now() - started) / 1000;
const parts = [
  `${plural(sentencesDone, "sentence")} (${duration(speechSeconds)} of speech) in ` +
  `${plural(shardsWritten, "shard")}`,
  `${plural(badLines, "bad line")}${badLines > 0 ? " (reported above)" : ""}`,
];
if (finished.size > 0) parts.push(`${plural(finished.size, "shard")} already finished`);
if (workers > 1) parts.push(`worker ${worker} of ${workers}: ${plural(mine.length, "shard")}`);
console.error(
  `generate: ${parts.join(", ")}; ${seconds.toFixed(1)} s (` +
    `${(sentencesDone / seconds).toFixed(1)} sentences/s, ` +
    `${(speechSeconds / seconds).toFixed(1)}x real time); wrote ${out}`,
);
Deno.exit(EXIT.ok); // the signal listeners would keep the process alive
