/**
 * `deno task bench:vocab`: decoder inversion as `anchored` and `bridge` make their targets
 * (from the eSpeak NG prior states, read from the prior cache and built first where missing,
 * with the pull back to them, through the [states; silence tail] interface), with the full
 * vocabulary against restricted ones (`--invert-vocab`), alternating in one process batch by
 * batch over the first `--limit` sentences: wall time per batch (the first batch of each
 * variant, which opens its sessions, left out of the median), the result's full-vocabulary
 * cross-entropy, and the greedy read-back CER of the results under the full softmax.
 *
 *   deno task bench:vocab --whisper DIR --data FILE --prior DIR [--vocab 2048,8192]
 *                         [--batch 8] [--limit 32] [--steps 20] [--threads 1]
 */
import { either as E } from "fp-ts";
import { commandLine, fail as failWith } from "./cli.ts";
import { readSentences } from "./data.ts";
import { withFrames } from "../lib/data/mod.ts";
import { assembleBatch, shapeFor } from "../lib/model/batch.ts";
import { invertStates } from "../lib/model/states.ts";
import { prepareSentences, RUN_DEFAULTS } from "../lib/model/training.ts";
import { buildPriorCache, loadPriorStates } from "../lib/speech/cache.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { silenceStates } from "../lib/whisper/silence.ts";
import { channelStats } from "../lib/speech/prior.ts";
import { readBack } from "../lib/whisper/readback.ts";
import { charErrorRate } from "../lib/whisper/normalize.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

const COMMAND = {
  name: "bench:vocab",
  usage: "deno task bench:vocab --whisper DIR --data FILE --prior DIR [options]",
  options: {
    whisper: { type: "string", arg: "DIR", default: "base", help: "Whisper model or folder" },
    data: { type: "string", arg: "FILE", help: "sentence file" },
    prior: { type: "string", arg: "DIR", help: "prior cache folder" },
    vocab: {
      type: "string",
      arg: "K,K",
      default: "2048,8192",
      help: "extra ids of each restricted vocabulary, comma-separated",
    },
    batch: { type: "int", min: 1, default: 8, help: "sentences per batch" },
    steps: { type: "int", min: 1, default: RUN_DEFAULTS.invertSteps, help: "Adam steps" },
    limit: { type: "int", min: 1, default: 32, help: "sentences (the first of --data)" },
    threads: { type: "int", min: 1, default: 1, help: "ONNX Runtime threads" },
  },
} as const;

const f = commandLine(COMMAND).values;
function fail(message: string): never {
  return failWith(COMMAND.name, message);
}
const need = "give --data FILE and --prior DIR (a prior cache of that model)";
const data = f.data ?? fail(need), priorDir = f.prior ?? fail(need);
const extras = f.vocab.split(",").map(Number);
if (extras.some((k) => !Number.isInteger(k) || k < 0)) {
  fail(`--vocab ${f.vocab}: give whole numbers >= 0, comma-separated`);
}
const whisper = await openWhisper(f.whisper, { threads: f.threads })();
if (E.isLeft(whisper)) fail(`--whisper ${f.whisper}: ${whisper.left.message}`);
const model = whisper.right;
const tokenizer = modelTokenizer(model);
if (E.isLeft(tokenizer)) fail(tokenizer.left.message);
const loaded = await readSentences(COMMAND.name, data, {});
const framed = withFrames(loaded);
if (E.isLeft(framed)) fail(framed.left.message);
const chosen = framed.right.slice(0, f.limit);
const modelName = f.whisper.replace(/\/+$/, "").split("/").pop()!;
const built = await buildPriorCache(model, chosen, { dir: priorDir, modelName })();
if (E.isLeft(built)) fail(built.left.message);
const byText = new Map(built.right.entries.map((e) => [`${e.lang}\t${e.text}`, e]));
const entries = chosen.flatMap((s) => {
  const e = byText.get(`${s.lang}\t${s.text}`);
  return e ? [{ s: { ...s, frames: e.frames }, e }] : [];
});
const states = await loadPriorStates(priorDir, entries.map(({ e }) => e))();
if (E.isLeft(states)) fail(states.left.message);
const d = model.config.dModel;
const priorOf = (i: number) => states.right.get(entries[i].e.key)!;
// The pull is measured in the channel statistics of all these sentences' prior states.
const { std } = channelStats(entries.map((_, i) => priorOf(i)), { width: d });
const prepared = prepareSentences(entries.map(({ s }) => s), { tokenizer: tokenizer.right });
if (E.isLeft(prepared)) fail(prepared.left.message);
const items = [...prepared.right.values()];
const silence = await silenceStates(model)();
if (E.isLeft(silence)) fail(silence.left.message);

const variants: (number | undefined)[] = [undefined, ...extras];
const name = (k?: number) => (k === undefined ? "full" : `+${k}`);
const results = new Map(variants.map((k) => [name(k), {
  ms: [] as number[],
  ce: [] as number[],
  states: [] as Float32Array[],
}]));
console.log(
  `${items.length} sentences, batches of ${f.batch}, ${f.steps} steps, ${f.threads} thread(s)`,
);
for (let at = 0; at < items.length; at += f.batch) {
  const part = items.slice(at, at + f.batch);
  const batch = assembleBatch(part, { shape: shapeFor(part, { batch: f.batch }) });
  if (E.isLeft(batch)) fail(batch.left.message);
  const fr = batch.right.shape.frames;
  const start = new Float32Array(f.batch * fr * d);
  part.forEach((_, row) => start.set(priorOf(at + row), row * fr * d));
  for (const k of variants) {
    const t0 = performance.now();
    const out = await invertStates(model, start, {
      batch: batch.right,
      steps: f.steps,
      lr: RUN_DEFAULTS.invertLr,
      silence: silence.right,
      pull: { anchor: start, weight: RUN_DEFAULTS.pullWeight, std },
      vocab: k,
    })();
    if (E.isLeft(out)) fail(out.left.message);
    const ms = performance.now() - t0, ce = out.right.losses.at(-1)!, r = results.get(name(k))!;
    r.ms.push(ms);
    r.ce.push(ce);
    part.forEach((p, row) =>
      r.states.push(out.right.states.slice(row * fr * d, (row * fr + p.frames) * d))
    );
    console.log(
      `batch ${at / f.batch + 1} ${JSON.stringify(batch.right.shape)} ${name(k)}: ` +
        `${ms.toFixed(0)} ms, full CE ${ce.toFixed(4)}`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [k, r] of results) {
  const refs: string[] = [], hyps: string[] = [];
  for (const lang of new Set(items.map((p) => p.lang))) {
    const rows = items.flatMap((p, i) => (p.lang === lang ? [i] : []));
    for (let i = 0; i < rows.length; i += 8) {
      const group = rows.slice(i, i + 8);
      const read = await readBack(model, group.map((j) => r.states[j]), {
        tokenizer: tokenizer.right,
        lang,
      })();
      if (E.isLeft(read)) fail(read.left.message);
      group.forEach((j, n) => {
        refs.push(items[j].text);
        hyps.push(read.right[n].text);
      });
    }
  }
  const timed = r.ms.length > 1 ? r.ms.slice(1) : r.ms;
  console.log(
    `${k}: ${median(timed).toFixed(0)} ms per batch (median of ${timed.length}, best ` +
      `${Math.min(...timed).toFixed(0)}; first ${r.ms[0].toFixed(0)}), full CE ` +
      `${(r.ce.reduce((a, b) => a + b, 0) / r.ce.length).toFixed(4)} (mean of batches), ` +
      `read-back CER ${(100 * charErrorRate(refs, hyps)).toFixed(1)}%`,
  );
}
