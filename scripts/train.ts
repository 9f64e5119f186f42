/**
 * `deno task train`: trains the text-to-semantic CFM model from text alone, scored by a frozen
 * Whisper decoder. A JSON configuration (--config) and flags (which win) set the run; see
 * --help. Writes checkpoint.safetensors, metrics.jsonl and loss.svg into --out, and the cached
 * targets into a target store (--targets, default <out>/targets); Ctrl-C saves
 * and stops (exit status 130); --resume continues exactly. A fresh run that stops or fails
 * before its first step completes leaves no checkpoint behind.
 */
import {
  camelCase,
  commandLine,
  EXIT,
  fail as failWith,
  type OptionFile,
  plural,
  progressLine,
  PROVIDER_OPTION,
  withFiles,
} from "./cli.ts";
import { either as E } from "fp-ts";
import { splitHeldOut, withFrames } from "../lib/data/mod.ts";
import { readSentences } from "./data.ts";
import { pathExists, writeFileAtomic } from "../lib/io.ts";
import { orThrow } from "../lib/result.ts";
import { t2sConfig, type T2SSize } from "../lib/model/config.ts";
import {
  initRun,
  loadRun,
  prepareSentences,
  RUN_DEFAULTS,
  type RunContext,
  type RunSessions,
  type RunSettings,
  saveRun,
  seedTargets,
  targetIdentity,
  trainStep,
} from "../lib/model/training.ts";
import { collectTargets, openTargetStore } from "../lib/model/target_store.ts";
import { lineChartSvg } from "../lib/plot.ts";
import { runReportHtml } from "../lib/model/report.ts";
import { RECIPES, recipeSpec } from "../lib/model/objective.ts";
import { COUPLINGS } from "../lib/model/coupling.ts";
import { buildPriorCache, loadPriorStates } from "../lib/speech/cache.ts";
import { channelStats, encodeSpeech, speechFrames } from "../lib/speech/prior.ts";
import { speak } from "../lib/speech/espeak.ts";
import { probeReadBack, type ProbeSentence } from "../lib/model/probe.ts";
import { DECODER_INTERFACES } from "../lib/whisper/silence.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

const D = RUN_DEFAULTS;
const COMMAND = {
  name: "train",
  usage: "deno task train [options]",
  options: {
    config: {
      type: "string",
      arg: "FILE",
      help: "JSON with any of the options below (camelCase keys); flags win",
    },
    data: {
      type: "string",
      arg: "FILE",
      help: ".txt (with --lang), .jsonl {text, lang}, .tsv text<TAB>lang, or udhr:de,fr|all\n" +
        "(default data/sentences.jsonl, the project's multilingual set)",
    },
    lang: { type: "string", arg: "L", help: "language of a .txt file" },
    whisper: {
      type: "string",
      arg: "M",
      default: "openai/whisper-base",
      help: "Whisper: hub id, folder, or tiny-random for a smoke run",
    },
    recipe: {
      type: "choice",
      choices: RECIPES,
      default: D.recipe,
      help: RECIPES.map((r) => `${r}: ${recipeSpec(r).summary}`).join("\n") +
        "\n(recipes from the prior take frame counts from eSpeak NG)",
    },
    size: {
      type: "choice",
      choices: ["tiny", "small", "base"],
      default: "small",
      help: "network size",
    },
    steps: { type: "int", min: 1, default: D.steps, help: "optimizer steps" },
    batch: { type: "int", min: 1, default: D.batch, help: "sentences per batch" },
    lr: { type: "number", min: 0, exclusiveMin: true, default: D.lr, help: "peak learning rate" },
    warmup: { type: "int", min: 0, default: D.warmup, help: "warmup steps" },
    seed: { type: "int", min: 0, default: D.seed, help: "seed of every random choice" },
    lambda: {
      type: "number",
      min: 0,
      default: D.lambda,
      help: "distill, anchored-ce, prior: weight of the decoder term on the one-step estimate",
    },
    "unroll-steps": { type: "int", min: 1, default: D.unrollSteps, help: "unrolled: Euler steps" },
    "invert-steps": {
      type: "int",
      min: 0,
      default: D.invertSteps,
      help: "decoder-inversion steps per target",
    },
    "invert-lr": {
      type: "number",
      min: 0,
      exclusiveMin: true,
      default: D.invertLr,
      help: "decoder-inversion learning rate",
    },
    "invert-vocab": {
      type: "int",
      min: 0,
      help: "decoder inversion through a softmax over the batch's targets and this many more " +
        "token ids (default: the full vocabulary)",
    },
    "refresh-every": {
      type: "int",
      min: 1,
      default: D.refreshEvery,
      help: "distill: remake targets older than N steps",
    },
    "target-nfe": {
      type: "int",
      min: 1,
      default: D.targetNfe,
      help: "distill: ODE steps when sampling targets",
    },
    pull: {
      type: "number",
      min: 0,
      default: D.pullWeight,
      help: "anchored(-ce): weight of the pull back to the prior",
    },
    prior: {
      type: "string",
      arg: "DIR",
      help:
        "recipes from the prior: the prior cache (default .cache/prior/<Whisper folder name>;\n" +
        "missing sentences are rendered and encoded into it first)",
    },
    interface: {
      type: "choice",
      choices: DECODER_INTERFACES,
      default: D.decoderInterface,
      help: "how the decoder reads states",
    },
    coupling: {
      type: "choice",
      choices: COUPLINGS,
      default: D.coupling,
      help: "noise-target pairing in a batch: exact minibatch OT, independent (I-CFM),\n" +
        "or OT with a condition term (C2OT)",
    },
    "condition-weight": {
      type: "number",
      min: 0,
      default: D.conditionWeight,
      help: "c2ot: extra cost of pairing one sentence's noise with another",
    },
    ema: {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMax: true,
      default: D.emaDecay,
      help: "EMA decay",
    },
    "cfg-drop": {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMax: true,
      default: D.cfgDrop,
      help: "text dropout for guidance",
    },
    "held-out": {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMax: true,
      default: 0.05,
      help: "fraction of sentences kept for eval",
    },
    out: { type: "string", arg: "DIR", default: "runs/t2s", help: "run folder" },
    targets: {
      type: "string",
      arg: "DIR",
      help: "target store (default <out>/targets): runs whose targets are the same (same\n" +
        "Whisper, target plan and its settings; e.g. bridge and bridge-ce) can share one,\n" +
        "each target made once; a store made with other settings is refused",
    },
    "targets-from": {
      type: "string",
      arg: "CKPT",
      help: "first copy into the store the targets of an earlier run's checkpoint with the\n" +
        "same data and target settings (also one written before target stores)",
    },
    "save-every": { type: "int", min: 1, default: 50, help: "checkpoint every N steps" },
    "probe-every": {
      type: "int",
      min: 0,
      default: 250,
      help: "every N steps, sample and read back a few training and held-out sentences with\n" +
        "the EMA weights (probes.jsonl, plotted in report.html; 0 turns it off)",
    },
    probe: { type: "int", min: 1, default: 4, help: "sentences per split in a probe" },
    resume: { type: "boolean", help: "continue the run in --out exactly" },
    force: { type: "boolean", help: "overwrite an existing run in --out" },
    "stop-after": {
      type: "int",
      min: 0,
      help: "stop (and save) after step N, for tests and budgets",
    },
    minutes: {
      type: "number",
      min: 0,
      exclusiveMin: true,
      help: "stop (and save) after X minutes of this invocation's wall time",
    },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads" },
    provider: PROVIDER_OPTION,
    offline: { type: "boolean", help: "never contact the Hugging Face hub" },
    quiet: { type: "boolean", help: "no progress bar" },
  },
} as const;

function fail(message: string): never {
  return failWith(COMMAND.name, message);
}

// Options: a resumed run's own config.json, then --config, then flags (which win); keys are
// camelCase in the files. A run folder records every setting, so `--resume --out DIR` is enough.
// The command line is parsed once; --config and --resume are taken from it alone, and --out
// (which may come from --config) says where the run's config.json is.
const line = commandLine(COMMAND);
const readJson = async (path: string, what: string): Promise<OptionFile> => {
  try {
    return { name: path, values: JSON.parse(await Deno.readTextFile(path)) };
  } catch (e) {
    return fail(`${what} ${path}: ${e instanceof Error ? e.message : e}`);
  }
};
const { config: configPath, resume } = line.values;
const configFile = configPath ? [await readJson(configPath, "--config")] : [];
const runConfigPath = `${withFiles(COMMAND, line, configFile).values.out}/config.json`;
const runFile = resume && (await pathExists(runConfigPath))
  ? [await readJson(runConfigPath, "the run's config")]
  : [];
const flags = withFiles(COMMAND, line, [...runFile, ...configFile]).values;
/** Options that say how this invocation runs, not what the run is: never recorded. */
const PER_INVOCATION = new Set([
  "config",
  "targets-from",
  "resume",
  "force",
  "stop-after",
  "minutes",
  "threads",
  "provider",
  "offline",
  "quiet",
]);
const runConfig = Object.fromEntries(
  Object.entries(flags).filter(([k, v]) => !PER_INVOCATION.has(k) && v !== undefined).map((
    [k, v],
  ) => [camelCase(k), v]),
);
const settings: RunSettings = {
  recipe: flags.recipe,
  steps: flags.steps,
  batch: flags.batch,
  lr: flags.lr,
  warmup: flags.warmup,
  seed: flags.seed,
  lambda: flags.lambda,
  unrollSteps: flags["unroll-steps"],
  invertSteps: flags["invert-steps"],
  invertLr: flags["invert-lr"],
  ...(flags["invert-vocab"] !== undefined ? { invertVocab: flags["invert-vocab"] } : {}),
  refreshEvery: flags["refresh-every"],
  targetNfe: flags["target-nfe"],
  emaDecay: flags.ema,
  cfgDrop: flags["cfg-drop"],
  maxGradNorm: D.maxGradNorm,
  pullWeight: flags.pull,
  decoderInterface: flags.interface,
  coupling: flags.coupling,
  conditionWeight: flags["condition-weight"],
};
const size = flags.size, provider = flags.provider, out = flags.out;
const dataPath = flags.data ?? new URL("../data/sentences.jsonl", import.meta.url).pathname;
const whisperName = flags.whisper;
const saveEvery = flags["save-every"];
const probeEvery = flags["probe-every"], probeCount = flags.probe;
const stopAfter = flags["stop-after"] ?? Number.MAX_SAFE_INTEGER;
const minutes = flags.minutes ?? Infinity;
const threads = flags.threads;
const ckptPath = `${out}/checkpoint.safetensors`, metricsPath = `${out}/metrics.jsonl`;
const probesPath = `${out}/probes.jsonl`;

if (flags.resume && !(await pathExists(ckptPath))) fail(`--resume: no checkpoint at ${ckptPath}`);
if (!flags.resume && !flags.force && (await pathExists(ckptPath))) {
  fail(`${ckptPath} exists: continue it with --resume, or start afresh with --force`);
}

const whisper = await openWhisper(whisperName, {
  threads,
  provider: provider as "cpu" | "cuda",
  hub: { offline: flags.offline },
})();
if (E.isLeft(whisper)) fail(`--whisper ${whisperName}: ${whisper.left.message}`);
const tokenizer = modelTokenizer(whisper.right);
if (E.isLeft(tokenizer)) fail(tokenizer.left.message);
const loaded = await readSentences(COMMAND.name, dataPath, { lang: flags.lang });
const framed = withFrames(loaded);
if (E.isLeft(framed)) fail(framed.left.message);
const heldOut = flags["held-out"];
const split = heldOut === 0
  ? { train: framed.right, heldOut: [] }
  : splitHeldOut(framed.right, { fraction: heldOut, seed: settings.seed });
const train = split.train;
if (train.length === 0) fail(`${dataPath}: no training sentences left after the held-out split`);
let prior: RunContext["prior"];
let trainSet = train;
if (recipeSpec(settings.recipe).targets?.start === "prior") {
  // Frame counts come from the renderings: a target has as many frames as its prior.
  const dir = flags.prior ?? `.cache/prior/${whisperName.replace(/\/+$/, "").split("/").pop()}`;
  const modelName = whisperName.replace(/\/+$/, "").split("/").pop()!;
  console.error(`train: prior states from ${dir} (missing ones are built first)`);
  const built = await buildPriorCache(whisper.right, train, { dir, modelName })();
  if (E.isLeft(built)) fail(built.left.message);
  for (const x of built.right.failed) console.error(`  left out ${x.id}: ${x.message}`);
  const byText = new Map(built.right.entries.map((e) => [`${e.lang}\t${e.text}`, e]));
  const entries = train.flatMap((s) => {
    const e = byText.get(`${s.lang}\t${s.text}`);
    return e ? [{ s, e }] : [];
  });
  const states = await loadPriorStates(dir, entries.map(({ e }) => e))();
  if (E.isLeft(states)) fail(states.left.message);
  const byId = new Map(entries.map(({ s, e }) => [s.id, states.right.get(e.key)!]));
  trainSet = entries.map(({ s, e }) => ({ ...s, frames: e.frames }));
  for (const s of trainSet) {
    const bytes = new TextEncoder().encode(s.text.normalize("NFC")).length;
    if (bytes > s.frames) {
      fail(`${s.id}: ${bytes} UTF-8 bytes but ${s.frames} frames of speech; leave it out`);
    }
  }
  const width = whisper.right.config.dModel;
  prior = { states: byId, stats: channelStats([...byId.values()], { width }) };
}
if (trainSet.length === 0) fail(`${dataPath}: no training sentences with prior states`);
const prepared = prepareSentences(trainSet, { tokenizer: tokenizer.right });
if (E.isLeft(prepared)) fail(`${dataPath}: ${prepared.left.message}`);

/** `count` sentences spread evenly over `xs` (every language of a sorted corpus gets a turn). */
const spread = <T>(xs: readonly T[], count: number) =>
  xs.length <= count
    ? [...xs]
    : Array.from({ length: count }, (_, k) => xs[Math.floor((k * xs.length) / count)]);
const fromPrior = recipeSpec(settings.recipe).targets?.start === "prior";
const probes: { split: string; sentences: ProbeSentence[] }[] = [];
if (probeEvery > 0) {
  probes.push({
    split: "train",
    sentences: spread(trainSet, probeCount).map((s) => ({ ...s, start: prior?.states.get(s.id) })),
  });
  // Held-out sentences take the frames the run's own sentences take: eSpeak NG's under a prior
  // (and a bridge starts from their prior states).
  const held: ProbeSentence[] = [];
  for (const s of spread(split.heldOut, probeCount)) {
    if (!fromPrior) {
      held.push(s);
      continue;
    }
    const speech = await speak(s.text, { lang: s.lang })();
    if (E.isLeft(speech)) continue;
    const encoded = await encodeSpeech(whisper.right, [speech.right])();
    if (E.isLeft(encoded)) fail(encoded.left.message);
    held.push({ ...s, frames: speechFrames(speech.right.seconds), start: encoded.right[0] });
  }
  if (held.length > 0) probes.push({ split: "held-out", sentences: held });
}

const config = t2sConfig(size as T2SSize, { width: whisper.right.config.dModel });
if (E.isLeft(config)) fail(config.left.message);

let context: RunContext = {
  settings,
  config: config.right,
  whisper: whisper.right,
  whisperName,
  tokenizer: tokenizer.right,
  sentences: prepared.right,
  threads,
  provider: provider as "cpu" | "cuda",
  data: { path: dataPath, heldOut },
  prior,
};
const plan = recipeSpec(settings.recipe).targets;
if (plan?.refresh && (flags.targets || flags["targets-from"])) {
  fail(
    `recipe "${settings.recipe}" remakes its targets from the model: each run keeps its own ` +
      `(in ${out}/targets); leave --targets and --targets-from out`,
  );
}
if (!plan && (flags.targets || flags["targets-from"])) {
  fail(`recipe "${settings.recipe}" makes no targets; leave --targets and --targets-from out`);
}
if (plan) {
  const identity = targetIdentity(context)!;
  const dir = flags.targets ?? `${out}/targets`;
  const open = () => openTargetStore(dir, { identity, notes: { whisper: whisperName } })();
  let store = await open();
  if (E.isLeft(store) && store.left.differences && flags.force && !flags.targets) {
    // --force starts the run afresh: its own store, made with other settings, goes with it.
    console.error(`train: --force: removing ${dir}, made with other target settings`);
    await Deno.remove(dir, { recursive: true });
    store = await open();
  }
  if (E.isLeft(store)) {
    // A resumed run with other settings: the checkpoint names them best.
    const other = flags.resume ? await loadRun(ckptPath, context)() : undefined;
    fail(other && E.isLeft(other) ? other.left.message : store.left.message);
  }
  if (plan.refresh && !flags.resume) {
    // Targets remade from the model belong to one run: a fresh run makes its own.
    const cleared = await collectTargets(store.right, () => false)();
    if (E.isLeft(cleared)) fail(cleared.left.message);
  }
  context = { ...context, store: store.right };
  const from = flags["targets-from"];
  if (from) {
    const seeded = await seedTargets(from, context)();
    if (E.isLeft(seeded)) fail(`--targets-from ${from}: ${seeded.left.message}`);
    console.error(`train: ${plural(seeded.right, "target")} from ${from} into ${dir}`);
  }
}
const resumed = flags.resume ? await loadRun(ckptPath, context)() : E.right(initRun(context));
if (E.isLeft(resumed)) fail(resumed.left.message);
let state = resumed.right;
/**
 * Whether this is a fresh run that has not completed a step: it leaves nothing behind (no
 * step-0 checkpoint, no config.json), so a plain retry works, e.g. after a failed `--provider
 * cuda` start. The run folder is first written by the first save.
 */
const nothingDone = () => !flags.resume && state.train.step === 0;

/** Metrics up to the checkpoint's step, so a resumed log equals an uninterrupted one. */
async function metricsUpTo(step: number, path: string): Promise<string[]> {
  if (!(await pathExists(path))) return [];
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l && JSON.parse(l).step <= step);
}
const lines = flags.resume ? await metricsUpTo(state.train.step, metricsPath) : [];
const probeLines = flags.resume ? await metricsUpTo(state.train.step, probesPath) : [];

let lastSaved = -1;
async function flush(): Promise<void> {
  lastSaved = state.train.step;
  // Recorded once the run is known to be this one (a refused resume leaves the old record).
  await writeFileAtomic(
    runConfigPath,
    new TextEncoder().encode(JSON.stringify(runConfig, null, 2) + "\n"),
  );
  await writeFileAtomic(metricsPath, new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
  await orThrow(saveRun(ckptPath, { context, state }));
  const metrics = lines.map((l) => JSON.parse(l));
  const records = probeLines.map((l) => JSON.parse(l));
  const write = (name: string, text: string) =>
    writeFileAtomic(`${out}/${name}`, new TextEncoder().encode(text));
  const lossLabel = recipeSpec(settings.recipe).lossLabel;
  await write(
    "loss.svg",
    lineChartSvg(metrics.map((m) => [m.step, m.loss] as [number, number]), {
      title: `${settings.recipe}: training loss`,
      xLabel: "step",
      yLabel: lossLabel,
      logY: true,
      integerX: true,
    }),
  );
  await write(
    "report.html",
    runReportHtml({
      title: `${settings.recipe}: ${out}`,
      settings: runConfig,
      metrics,
      probes: records,
      lossLabel,
    }),
  );
  if (probeLines.length > 0) await write("probes.jsonl", probeLines.map((l) => l + "\n").join(""));
}

const probeSessions = new Map();
/** Reads back the probe sentences with the EMA weights; one line per split. */
async function probe(): Promise<void> {
  for (const p of probes) {
    const got = await probeReadBack(context, state.ema, {
      step: state.train.step,
      split: p.split,
      sentences: p.sentences,
      sessions: probeSessions,
    });
    if (E.isLeft(got)) {
      console.error(`\nprobe (${p.split}) failed: ${got.left.message}`);
      continue;
    }
    probeLines.push(JSON.stringify(got.right));
    if (!flags.quiet) {
      console.error(
        `\nprobe step ${state.train.step} ${p.split}: CER ${(100 * got.right.cer).toFixed(1)}%, ` +
          `loops ${(100 * got.right.loops).toFixed(0)}%; "${got.right.samples[0]?.decoded}"`,
      );
    }
  }
}

let stop = false, interrupted = false;
Deno.addSignalListener("SIGINT", () => {
  stop = true;
  interrupted = true;
});
const sessions: RunSessions = { trainers: new Map(), velocity: new Map() };
const started = performance.now(), startStep = state.train.step;
const progress = progressLine({ quiet: flags.quiet });
const bar = (loss: number) => {
  const step = state.train.step, total = settings.steps;
  const rate = (step - startStep) / ((performance.now() - started) / 1000);
  const eta = rate > 0 ? (total - step) / rate : 0;
  const filled = Math.round((step / total) * 30);
  progress.update(
    `[${"#".repeat(filled)}${".".repeat(30 - filled)}] ${step}/${total} loss ${loss.toFixed(4)} ` +
      `${rate.toFixed(2)} steps/s ETA ${eta.toFixed(0)}s`,
  );
};
console.error(
  `train: ${settings.recipe}, ${size} (width ${config.right.width}, depth ${config.right.depth}), ` +
    `Whisper ${whisperName}, ${
      plural(prepared.right.size, "sentence")
    } from ${dataPath}, out ${out}`,
);
while (state.train.step < settings.steps && !stop) {
  let step;
  try {
    step = await trainStep(context, sessions, state)();
  } catch (e) {
    step = E.left({ message: e instanceof Error ? e.message : String(e) });
  }
  if (E.isLeft(step)) {
    const message = step.left.message;
    if (nothingDone()) fail(`${message}; no step completed, nothing saved`);
    await flush();
    fail(`${message}; saved step ${state.train.step} to ${ckptPath}`);
  }
  const result = step.right;
  state = result.state;
  lines.push(JSON.stringify(result.metrics));
  bar(result.metrics.loss);
  if (state.train.step >= stopAfter) stop = true;
  if ((performance.now() - started) / 60000 >= minutes) stop = true;
  const probeDue = probeEvery > 0 &&
    (state.train.step % probeEvery === 0 || state.train.step === settings.steps);
  if (probeDue) await probe();
  if (probeDue && state.train.step % saveEvery !== 0) await flush();
  if (state.train.step % saveEvery === 0 || state.train.step === settings.steps) await flush();
}
if (nothingDone()) {
  console.error(`\nstopped before the first step: nothing saved`);
  Deno.exit(interrupted ? EXIT.interrupted : EXIT.ok);
}
if (lastSaved !== state.train.step) await flush();
const last = lines.length ? JSON.parse(lines[lines.length - 1]).loss : NaN;
console.error(
  stop
    ? `\nstopped: saved step ${state.train.step} to ${ckptPath}; continue with --resume`
    : `\ndone: ${plural(state.train.step, "step")}, last loss ${
      last.toFixed(4)
    }; ${ckptPath}, ${metricsPath}, ${out}/loss.svg`,
);
// Ctrl-C: saved (above), and the exit status says the run did not finish.
if (interrupted) Deno.exit(EXIT.interrupted);
