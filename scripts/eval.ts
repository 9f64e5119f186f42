/**
 * `deno task eval`: round-trip scores of a trained checkpoint on held-out sentences: text ->
 * states -> frozen Whisper decoder (greedy) -> text. Reports character and word error rates
 * per language (Whisper-style normalisation), diversity across seeds, and sampling speed, as
 * markdown and JSON.
 *
 *   deno task eval --checkpoint runs/t2s/checkpoint.safetensors [--data FILE] [--out DIR]
 */
import { commandLine, EXIT, fail as failWith, markdownCell, plural, progressLine } from "./cli.ts";
import { either as E } from "fp-ts";
import { splitHeldOut, withFrames } from "../lib/data/mod.ts";
import { readSentences } from "./data.ts";
import { writeFileAtomic } from "../lib/io.ts";
import { loadT2S } from "../lib/model/checkpoint.ts";
import { checkpointTargets } from "../lib/model/training.ts";
import { generate, type Generated, readingOf, whisperOf } from "../lib/model/generate.ts";
import { speak, type Speech } from "../lib/speech/espeak.ts";
import { frechetDistance } from "../lib/speech/frechet.ts";
import { readBack } from "../lib/whisper/readback.ts";
import { encodeSpeech, speechFrames } from "../lib/speech/prior.ts";
import { charErrorRate, wordErrorRate } from "../lib/whisper/normalize.ts";

const COMMAND = {
  name: "eval",
  usage: "deno task eval --checkpoint FILE [options]",
  options: {
    checkpoint: { type: "string", arg: "FILE", help: "a checkpoint written by deno task train" },
    data: {
      type: "string",
      arg: "FILE",
      help: "sentences (default: the run's data, recorded in the checkpoint); the\n" +
        "held-out split is taken with the run's seed and --held-out",
    },
    lang: { type: "string", arg: "L", help: "language of a .txt --data (as the run was given)" },
    "held-out": {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMin: true,
      exclusiveMax: true,
      help: "held-out fraction (default: the run's, recorded in the checkpoint)",
    },
    all: {
      type: "boolean",
      help: "evaluate every sentence of --data instead of the held-out split",
    },
    limit: { type: "int", min: 1, help: "at most N sentences (default all)" },
    seeds: {
      type: "int",
      min: 1,
      default: 3,
      arg: "K",
      help: "seeds per sentence for diversity (on up to 16 sentences)",
    },
    nfe: { type: "int", min: 1, default: 16, help: "ODE steps" },
    guidance: { type: "number", min: 0, default: 0, arg: "W", help: "guidance weight" },
    sway: {
      type: "number",
      min: -1,
      max: 1,
      default: -1,
      help: 'sway of the time grid, -1..1 (0 = uniform, as "unrolled" trains)',
    },
    weights: {
      type: "choice",
      choices: ["ema", "params"],
      default: "ema",
      arg: "W",
      help: "which weights: the EMA (what sampling uses) or the raw trained weights",
    },
    out: {
      type: "string",
      arg: "DIR",
      help: "where eval.md and eval.json go (default: the checkpoint's folder)",
    },
    whisper: { type: "string", arg: "M", help: "override the checkpoint's Whisper model" },
    frames: {
      type: "choice",
      choices: ["espeak", "heuristic"],
      arg: "F",
      help: 'frame counts: espeak (eSpeak NG durations, what "anchored" trains on;\n' +
        "its default) or heuristic (lib/length; the default otherwise)",
    },
    "no-timing": {
      type: "boolean",
      help: "skip the warm timing pass (speed is then not reported)",
    },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads" },
    offline: { type: "boolean", help: "never contact the hub" },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const f = commandLine(COMMAND).values;
if (!f.checkpoint) fail("--checkpoint is required (see --help)", EXIT.usage);
const { seeds, nfe, guidance, sway, threads } = f;

const ckpt = await loadT2S(f.checkpoint)();
if (E.isLeft(ckpt)) fail(ckpt.left.message);
const run = JSON.parse(ckpt.right.metadata.run ?? "{}");
const runSeed: number = run.settings?.seed ?? 0;
// Checkpoints record their data and held-out fraction (older ones: the shipped set and 0.05).
const recorded: { path?: string; heldOut?: number } =
  JSON.parse(ckpt.right.metadata.data ?? "null") ?? {};
const dataPath = f.data ?? recorded.path ??
  new URL("../data/sentences.jsonl", import.meta.url).pathname;
const heldOut = f["held-out"] ?? recorded.heldOut ?? 0.05;
if (!(heldOut > 0 && heldOut < 1) && !f.all) {
  fail(`the run's held-out fraction ${heldOut} is not in (0, 1): give --held-out, or use --all`);
}
const loaded = await readSentences(COMMAND.name, dataPath, { lang: f.lang });
const framed = withFrames(loaded);
if (E.isLeft(framed)) fail(framed.left.message);
let sentences = f.all
  ? framed.right
  : splitHeldOut(framed.right, { fraction: heldOut, seed: runSeed }).heldOut;
if (f.limit !== undefined) sentences = sentences.slice(0, f.limit);
if (sentences.length === 0) {
  fail(`no held-out sentences in ${dataPath}; use --all or a larger --held-out`);
}

const opened = await whisperOf(ckpt.right, { whisper: f.whisper, threads, offline: f.offline });
if (E.isLeft(opened)) fail(opened.left.message);
const { name: whisperName, whisper, tokenizer } = opened.right;
const reading = readingOf(ckpt.right);
const frameSource = f.frames ?? (reading.norm ? "espeak" : "heuristic");
const speeches: Speech[] = [];
if (frameSource === "espeak") {
  const timed = [];
  for (const s of sentences) {
    const speech = await speak(s.text, { lang: s.lang })();
    if (E.isLeft(speech)) fail(`--frames espeak: ${s.id}: ${speech.left.message}`);
    speeches.push(speech.right);
    timed.push({ ...s, frames: speechFrames(speech.right.seconds) });
  }
  sentences = timed;
}
if (reading.source === "prior" && frameSource !== "espeak") {
  fail("this checkpoint samples from each text's prior states: use --frames espeak");
}
// The prior states of the evaluated sentences: a bridge starts from them; speech-likeness
// compares with them.
const priorStates: Float32Array[] = [];
for (let i = 0; i < speeches.length; i += 4) {
  const encoded = await encodeSpeech(whisper, speeches.slice(i, i + 4))();
  if (E.isLeft(encoded)) fail(encoded.left.message);
  priorStates.push(...encoded.right);
}
const { source, ...readingOptions } = reading;
const common = {
  ...readingOptions,
  starts: source === "prior" ? priorStates : undefined,
  config: ckpt.right.config,
  params: f.weights === "params" ? ckpt.right.params : ckpt.right.ema,
  whisper,
  tokenizer,
  steps: nfe,
  sway,
  guidance,
  sessionOptions: { threads },
  sessions: new Map(),
};

// Round trip. This first pass also opens a session per padded shape; speed is timed on a
// second pass over the same sentences with the sessions warm (same seed, same outputs).
const started = performance.now();
const progress = progressLine();
const result = await generate(sentences, {
  ...common,
  seed: 0,
  onBatch: (done) =>
    progress.update(`round trip ${done}/${sentences.length}`, done === sentences.length),
});
progress.done();
if (E.isLeft(result)) fail(result.left.message);
const firstPass = (performance.now() - started) / 1000;
const warmStart = performance.now();
if (!f["no-timing"] && E.isLeft(await generate(sentences, { ...common, seed: 0 }))) {
  fail("the timed pass failed");
}
const elapsed = f["no-timing"] ? NaN : (performance.now() - warmStart) / 1000;
const speech = result.right.reduce((s, g) => s + g.frames / 50, 0);

// Diversity: states of one text under different seeds, mean pairwise distance over their norm.
const probe = sentences.slice(0, 16);
const runs: Generated[][] = [];
for (let k = 0; k < seeds; k++) {
  const r = await generate(probe, {
    ...common,
    starts: common.starts?.slice(0, probe.length),
    seed: 1000 * (k + 1),
  });
  if (E.isLeft(r)) fail(r.left.message);
  runs.push(r.right);
}
const diversity = probe.map((_, i) => {
  const xs = runs.map((r) => r[i].states);
  let dist = 0, pairs = 0, norm = 0;
  for (const x of xs) norm += Math.sqrt(x.reduce((s, v) => s + v * v, 0)) / xs.length;
  for (let a = 0; a < xs.length; a++) {
    for (let b = a + 1; b < xs.length; b++) {
      dist += Math.sqrt(xs[a].reduce((s, v, j) => s + (v - xs[b][j]) ** 2, 0));
      pairs++;
    }
  }
  return pairs ? dist / pairs / Math.max(norm, 1e-12) : 0;
});
const meanDiversity = diversity.reduce((a, b) => a + b, 0) / diversity.length;

// Speech-likeness (with eSpeak NG frame counts): the Fréchet distance between the Gaussian
// statistics of the generated frames and of the prior states of the same sentences, and the
// mean relative squared distance of each sentence's states from its prior.
let likeness: { frechet: number; relativeDistance: number } | undefined;
if (speeches.length > 0) {
  const prior = priorStates;
  const generated = result.right.map((g) => g.states);
  const width = whisper.config.dModel;
  const rel = generated.map((x, i) => {
    let num = 0, den = 0;
    for (let j = 0; j < x.length; j++) {
      num += (x[j] - prior[i][j]) ** 2;
      den += prior[i][j] ** 2;
    }
    return num / den;
  });
  likeness = {
    frechet: frechetDistance(generated, prior, { width }),
    relativeDistance: rel.reduce((a, b) => a + b, 0) / rel.length,
  };
}

/** Reads states back (grouped by language, 8 at a time) and scores them against the texts. */
async function readAndScore(items: { text: string; lang: string; states: Float32Array }[]) {
  const refs: string[] = [], hyps: string[] = [];
  const byLang: Record<string, { refs: string[]; hyps: string[] }> = {};
  let loops = 0;
  for (const lang of new Set(items.map((s) => s.lang))) {
    const group = items.filter((s) => s.lang === lang);
    byLang[lang] = { refs: [], hyps: [] };
    for (let i = 0; i < group.length; i += 8) {
      const part = group.slice(i, i + 8);
      const out = await readBack(whisper, part.map((s) => s.states), {
        tokenizer,
        lang,
        interface: reading.decoderInterface,
      })();
      if (E.isLeft(out)) fail(out.left.message);
      part.forEach((s, j) => {
        refs.push(s.text);
        hyps.push(out.right[j].text);
        byLang[lang].refs.push(s.text);
        byLang[lang].hyps.push(out.right[j].text);
        if (out.right[j].looped) loops++;
      });
    }
  }
  const cerByLanguage = Object.fromEntries(
    Object.entries(byLang).map(([lang, e]) => [lang, charErrorRate(e.refs, e.hyps)]),
  );
  return {
    sentences: items.length,
    cer: charErrorRate(refs, hyps),
    loops: loops / items.length,
    cerByLanguage,
  };
}

// The recipe's own ceiling: the cached targets of the evaluated sentences (training sentences
// only), read back the same way. A flow model cannot read back better than what it learns.
const runTargets = await checkpointTargets(f.checkpoint, {
  metadata: ckpt.right.metadata,
  embedded: ckpt.right.targets,
  sentences,
})();
if (E.isLeft(runTargets)) fail(runTargets.left.message);
const cached = sentences.filter((s) => runTargets.right.has(s.id));
const targets = cached.length > 0
  ? await readAndScore(cached.map((s) => ({ ...s, states: runTargets.right.get(s.id)! })))
  : undefined;
// The starting point: the eSpeak NG prior states of the same sentences, read back the same way
// (the L0 ceiling on exactly these sentences; what a bridge returns if it learned nothing).
const priorReading = priorStates.length > 0
  ? await readAndScore(sentences.map((s, i) => ({ ...s, states: priorStates[i] })))
  : undefined;

const byLang = new Map<string, { refs: string[]; hyps: string[]; loops: number }>();
for (const g of result.right) {
  const entry = byLang.get(g.lang) ?? { refs: [], hyps: [], loops: 0 };
  entry.refs.push(g.text);
  entry.hyps.push(g.decoded);
  if (g.looped) entry.loops++;
  byLang.set(g.lang, entry);
}
const perLanguage = [...byLang].sort(([a], [b]) => a.localeCompare(b)).map(([lang, e]) => ({
  lang,
  sentences: e.refs.length,
  cer: charErrorRate(e.refs, e.hyps),
  wer: wordErrorRate(e.refs, e.hyps),
  loops: e.loops / e.refs.length,
}));
const all = result.right;
const report = {
  checkpoint: f.checkpoint,
  whisper: whisperName,
  step: Number(ckpt.right.metadata.step),
  sentences: all.length,
  settings: {
    nfe,
    sway,
    guidance,
    seeds,
    weights: f.weights,
    frames: frameSource,
    decoderInterface: reading.decoderInterface,
  },
  loops: all.filter((g) => g.looped).length / all.length,
  cer: charErrorRate(all.map((g) => g.text), all.map((g) => g.decoded)),
  wer: wordErrorRate(all.map((g) => g.text), all.map((g) => g.decoded)),
  perLanguage,
  diversity: meanDiversity,
  likeness,
  targets,
  prior: priorReading,
  speed: {
    sentencesPerSecond: all.length / elapsed,
    speechSecondsPerSecond: speech / elapsed,
    firstPassSeconds: firstPass,
  },
  examples: all.slice(0, 16).map((g) => ({ lang: g.lang, text: g.text, decoded: g.decoded })),
};
const pct = (x: number) => (100 * x).toFixed(1) + "%";
const md = [
  `# Round-trip evaluation`,
  ``,
  `Checkpoint \`${f.checkpoint}\` (step ${report.step}), Whisper \`${whisperName}\`, ` +
  `${plural(all.length, f.all ? "sentence" : "held-out sentence")}, ${
    plural(nfe, "Euler step")
  } (sway ${sway}), guidance ${guidance}, ${f.weights} weights, greedy decoding ` +
  `through the ${reading.decoderInterface} interface, ${frameSource} frame counts. Loops: read-backs ` +
  `that hit the token limit (10 per second of speech + 8) or compress better than 2.4 (zlib).`,
  ``,
  // Beside each language, its prior's CER on the same sentences, where the recipe starts there.
  `| language | sentences | CER | WER | loops |${priorReading ? " prior CER |" : ""}`,
  `| --- | --- | --- | --- | --- |${priorReading ? " --- |" : ""}`,
  ...perLanguage.map((l) =>
    `| ${l.lang} | ${l.sentences} | ${pct(l.cer)} | ${pct(l.wer)} | ${pct(l.loops)} |` +
    (priorReading ? ` ${pct(priorReading.cerByLanguage[l.lang])} |` : "")
  ),
  `| all | ${all.length} | ${pct(report.cer)} | ${pct(report.wer)} | ${pct(report.loops)} |` +
  (priorReading ? ` ${pct(priorReading.cer)} |` : ""),
  ``,
  ...(priorReading
    ? [
      `The eSpeak NG prior states of the same sentences, read back the same way: CER ${
        pct(priorReading.cer)
      } (${
        Object.entries(priorReading.cerByLanguage).sort(([a], [b]) => a.localeCompare(b))
          .map(([lang, cer]) => `${lang} ${pct(cer)}`).join(", ")
      }), loops ${pct(priorReading.loops)}.`,
    ]
    : []),
  ...(targets
    ? [
      `The run's cached targets of ${targets.sentences} of these sentences, read back the same ` +
      `way: CER ${pct(targets.cer)}, loops ${pct(targets.loops)}.`,
    ]
    : []),
  ...(likeness
    ? [
      `Speech-likeness: Fréchet distance to the eSpeak NG prior states of the same sentences ` +
      `${likeness.frechet.toFixed(2)}; mean relative squared distance from them ` +
      `${likeness.relativeDistance.toFixed(3)}.`,
    ]
    : []),
  `Diversity (mean pairwise distance of ${
    seeds === 1 ? "1 seed's" : `${seeds} seeds'`
  } states over their norm, ${plural(probe.length, "sentence")}): ${meanDiversity.toFixed(3)}.`,
  f["no-timing"]
    ? `Speed: not timed (--no-timing); the round trip, sessions opening included, took ` +
      `${firstPass.toFixed(1)} s.`
    : `Speed: ${report.speed.sentencesPerSecond.toFixed(2)} sentences/s, ` +
      `${report.speed.speechSecondsPerSecond.toFixed(2)} s of speech per second of compute (warm ` +
      `sessions; the first pass, opening them, took ${firstPass.toFixed(1)} s).`,
  ``,
  `| lang | text | decoded |`,
  `| --- | --- | --- |`,
  ...report.examples.map((e) =>
    `| ${e.lang} | ${markdownCell(e.text)} | ${markdownCell(e.decoded)} |`
  ),
  ``,
].join("\n");
const outDir = f.out ?? f.checkpoint.replace(/\/[^/]*$/, "");
await Deno.mkdir(outDir, { recursive: true });
await writeFileAtomic(`${outDir}/eval.md`, new TextEncoder().encode(md));
await writeFileAtomic(
  `${outDir}/eval.json`,
  new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n"),
);
console.error(
  `CER ${pct(report.cer)}, WER ${pct(report.wer)}; wrote ${outDir}/eval.md and eval.json`,
);
