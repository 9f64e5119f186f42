/**
 * `deno task train`: trains the text-to-semantic CFM model from text alone, scored by a frozen
 * Whisper decoder. A JSON configuration (--config) and flags (which win) set the run; see
 * --help. Writes checkpoint.safetensors, metrics.jsonl and loss.svg into --out; Ctrl-C saves
 * and stops; --resume continues exactly.
 */
import { parseArgs } from "@std/cli";
import { either as E } from "fp-ts";
import { loadSentences, splitHeldOut, withFrames } from "../lib/data/mod.ts";
import { pathExists, writeFileAtomic } from "../lib/io.ts";
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
  trainStep,
} from "../lib/model/training.ts";
import { lineChartSvg, seriesChartSvg } from "../lib/plot.ts";
import { RECIPES, recipeSpec } from "../lib/model/objective.ts";
import { COUPLINGS } from "../lib/model/coupling.ts";
import { buildPriorCache, loadPriorStates } from "../lib/speech/cache.ts";
import { channelStats, speechFrames } from "../lib/speech/prior.ts";
import { speak } from "../lib/speech/espeak.ts";
import { probeReadBack, type ProbeSentence } from "../lib/model/probe.ts";
import { decoderInterface } from "../lib/whisper/silence.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { modelTokenizer } from "../lib/whisper/transcribe.ts";

const HELP = `Usage: deno task train [options]
  --config FILE       JSON with any of the options below (camelCase keys); flags win
  --data FILE         .txt (with --lang), .jsonl {text, lang} or .tsv text<TAB>lang
                      (default data/sentences.jsonl, the project's multilingual set)
  --lang L            language of a .txt file
  --whisper M         Whisper: hub id, folder, or tiny-random for a smoke run
                      (default openai/whisper-base, from the cache or downloaded)
  --recipe R          ${
  RECIPES.map((r) => `${r}: ${recipeSpec(r).summary}`).join("\n                      ")
}
                      (default distill; recipes from the prior take frame counts from eSpeak NG)
  --size S            tiny, small (default) or base
  --steps N           optimizer steps (default ${RUN_DEFAULTS.steps})
  --batch N           sentences per batch (default ${RUN_DEFAULTS.batch})
  --lr X              peak learning rate (default ${RUN_DEFAULTS.lr})
  --warmup N          warmup steps (default ${RUN_DEFAULTS.warmup})
  --seed N            seed of every random choice (default 0)
  --lambda X          distill, anchored-ce, prior: weight of the decoder term on the one-step
                      estimate (default ${RUN_DEFAULTS.lambda})
  --unroll-steps N    unrolled: Euler steps (default ${RUN_DEFAULTS.unrollSteps})
  --invert-steps N    decoder-inversion steps per target (default ${RUN_DEFAULTS.invertSteps})
  --invert-lr X       decoder-inversion learning rate (default ${RUN_DEFAULTS.invertLr})
  --refresh-every N   distill: remake targets older than N steps (default ${RUN_DEFAULTS.refreshEvery})
  --target-nfe N      distill: ODE steps when sampling targets (default ${RUN_DEFAULTS.targetNfe})
  --pull X            anchored(-ce): weight of the pull back to the prior (default ${RUN_DEFAULTS.pullWeight})
  --prior DIR         anchored(-ce), prior: the prior cache (default .cache/prior/<Whisper folder name>;
                      missing sentences are rendered and encoded into it first)
  --interface I       how the decoder reads states: silence (default) or mask
  --coupling C        noise-target pairing in a batch: ot (exact minibatch OT, default),
                      independent (I-CFM) or c2ot (OT with a condition term)
  --condition-weight X  c2ot: extra cost of pairing one sentence's noise with another
                      (default ${RUN_DEFAULTS.conditionWeight}: pairs stay within their text)
  --ema X             EMA decay (default ${RUN_DEFAULTS.emaDecay})
  --cfg-drop X        text dropout for guidance (default ${RUN_DEFAULTS.cfgDrop})
  --held-out X        fraction of sentences kept for eval (default 0.05)
  --out DIR           run folder (default runs/t2s)
  --save-every N      checkpoint every N steps (default 50)
  --probe-every N     every N steps, sample and read back a few training and held-out
                      sentences with the EMA weights (probes.jsonl, probe.svg; default 250,
                      0 turns it off)
  --probe N           sentences per split in a probe (default 4)
  --resume            continue the run in --out exactly
  --force             overwrite an existing run in --out
  --stop-after N      stop (and save) after step N, for tests and budgets
  --minutes X         stop (and save) after X minutes of this invocation's wall time
  --threads N         ONNX Runtime threads
  --provider P        cpu (default) or cuda
  --offline           never contact the Hugging Face hub
  --quiet             no progress bar`;

function fail(message: string): never {
  console.error(`train: ${message}`);
  Deno.exit(1);
}

const flagSpec = {
  config: { type: "string" },
  data: { type: "string" },
  lang: { type: "string" },
  whisper: { type: "string" },
  recipe: { type: "string" },
  size: { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  warmup: { type: "string" },
  seed: { type: "string" },
  lambda: { type: "string" },
  "unroll-steps": { type: "string" },
  "invert-steps": { type: "string" },
  "invert-lr": { type: "string" },
  "refresh-every": { type: "string" },
  "target-nfe": { type: "string" },
  ema: { type: "string" },
  pull: { type: "string" },
  prior: { type: "string" },
  interface: { type: "string" },
  coupling: { type: "string" },
  "condition-weight": { type: "string" },
  "cfg-drop": { type: "string" },
  "held-out": { type: "string" },
  out: { type: "string" },
  "save-every": { type: "string" },
  "probe-every": { type: "string" },
  probe: { type: "string" },
  "stop-after": { type: "string" },
  minutes: { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
  resume: { type: "boolean", default: false },
  force: { type: "boolean", default: false },
  offline: { type: "boolean", default: false },
  quiet: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

let parsed;
try {
  parsed = parseArgs({ args: Deno.args, options: flagSpec });
} catch (e) {
  fail(`${e instanceof Error ? e.message : e}\n${HELP}`);
}
const flags = parsed.values;
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}

// Options from --config, then flags; keys are camelCase in the file, kebab-case as flags.
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const fileOptions: Record<string, unknown> = {};
if (flags.config) {
  try {
    Object.assign(fileOptions, JSON.parse(await Deno.readTextFile(flags.config)));
  } catch (e) {
    fail(`--config ${flags.config}: ${e instanceof Error ? e.message : e}`);
  }
  const known = new Set(Object.keys(flagSpec).map(camel));
  for (const k of Object.keys(fileOptions)) {
    if (!known.has(k)) fail(`--config ${flags.config}: unknown option '${k}' (see --help)`);
  }
}
const option = (name: string): unknown =>
  (flags as Record<string, unknown>)[name] ?? fileOptions[camel(name)];
const num = (name: string, fallback: number, check: (n: number) => boolean = (n) => n >= 0) => {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) fail(`--${name}: '${raw}' is out of range`);
  return n;
};
const int = (name: string, fallback: number, min = 1) =>
  num(name, fallback, (n) => Number.isInteger(n) && n >= min);
const str = (name: string, fallback: string) => String(option(name) ?? fallback);

const recipe = str("recipe", RUN_DEFAULTS.recipe);
if (!(RECIPES as readonly string[]).includes(recipe)) {
  fail(`--recipe must be one of ${RECIPES.join(", ")}, got '${recipe}'`);
}
const coupling = str("coupling", RUN_DEFAULTS.coupling);
if (!(COUPLINGS as readonly string[]).includes(coupling)) {
  fail(`--coupling must be one of ${COUPLINGS.join(", ")}, got '${coupling}'`);
}
const iface = decoderInterface(str("interface", RUN_DEFAULTS.decoderInterface));
if (E.isLeft(iface)) fail(`--interface: ${iface.left.message}`);
const size = str("size", "small");
if (!["tiny", "small", "base"].includes(size)) {
  fail(`--size must be tiny, small or base, got '${size}'`);
}
const provider = str("provider", "cpu");
if (provider !== "cpu" && provider !== "cuda") fail(`--provider must be cpu or cuda`);
const settings: RunSettings = {
  recipe: recipe as RunSettings["recipe"],
  steps: int("steps", RUN_DEFAULTS.steps),
  batch: int("batch", RUN_DEFAULTS.batch),
  lr: num("lr", RUN_DEFAULTS.lr, (n) => n > 0),
  warmup: int("warmup", RUN_DEFAULTS.warmup, 0),
  seed: int("seed", RUN_DEFAULTS.seed, 0),
  lambda: num("lambda", RUN_DEFAULTS.lambda),
  unrollSteps: int("unroll-steps", RUN_DEFAULTS.unrollSteps),
  invertSteps: int("invert-steps", RUN_DEFAULTS.invertSteps, 0),
  invertLr: num("invert-lr", RUN_DEFAULTS.invertLr, (n) => n > 0),
  refreshEvery: int("refresh-every", RUN_DEFAULTS.refreshEvery),
  targetNfe: int("target-nfe", RUN_DEFAULTS.targetNfe),
  emaDecay: num("ema", RUN_DEFAULTS.emaDecay, (n) => n >= 0 && n < 1),
  cfgDrop: num("cfg-drop", RUN_DEFAULTS.cfgDrop, (n) => n >= 0 && n < 1),
  maxGradNorm: RUN_DEFAULTS.maxGradNorm,
  pullWeight: num("pull", RUN_DEFAULTS.pullWeight),
  decoderInterface: iface.right,
  coupling: coupling as RunSettings["coupling"],
  conditionWeight: num("condition-weight", RUN_DEFAULTS.conditionWeight, (n) => n >= 0),
};
const out = str("out", "runs/t2s");
const dataPath = str("data", new URL("../data/sentences.jsonl", import.meta.url).pathname);
const whisperName = str("whisper", "openai/whisper-base");
const saveEvery = int("save-every", 50);
const probeEvery = int("probe-every", 250, 0), probeCount = int("probe", 4);
const stopAfter = int("stop-after", Number.MAX_SAFE_INTEGER, 0);
const minutes = num("minutes", Infinity, (n) => n > 0);
const threads = option("threads") === undefined ? undefined : int("threads", 1);
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
const loaded = await loadSentences(dataPath, { lang: option("lang") as string | undefined })();
if (E.isLeft(loaded)) fail(loaded.left.message);
const framed = withFrames(loaded.right);
if (E.isLeft(framed)) fail(framed.left.message);
const heldOut = num("held-out", 0.05, (n) => n >= 0 && n < 1);
const split = heldOut === 0
  ? { train: framed.right, heldOut: [] }
  : splitHeldOut(framed.right, { fraction: heldOut, seed: settings.seed });
const train = split.train;
if (train.length === 0) fail(`${dataPath}: no training sentences left after the held-out split`);
let prior: RunContext["prior"];
let trainSet = train;
if (recipeSpec(settings.recipe).targets?.start === "prior") {
  // Frame counts come from the renderings: a target has as many frames as its prior.
  const dir = str("prior", `.cache/prior/${whisperName.replace(/\/+$/, "").split("/").pop()}`);
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
  probes.push({ split: "train", sentences: spread(trainSet, probeCount) });
  // Held-out sentences take the frames the run's own sentences take: eSpeak NG's under a prior.
  const held: ProbeSentence[] = [];
  for (const s of spread(split.heldOut, probeCount)) {
    if (!fromPrior) held.push(s);
    else {
      const speech = await speak(s.text, { lang: s.lang })();
      if (E.isRight(speech)) held.push({ ...s, frames: speechFrames(speech.right.seconds) });
    }
  }
  if (held.length > 0) probes.push({ split: "held-out", sentences: held });
}

const config = t2sConfig(size as T2SSize, { width: whisper.right.config.dModel });
if (E.isLeft(config)) fail(config.left.message);

const context: RunContext = {
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
await Deno.mkdir(out, { recursive: true });
let state = flags.resume
  ? await loadRun(ckptPath, context).catch((e) => fail(e.message))
  : initRun(context);

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
  await writeFileAtomic(metricsPath, new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
  await saveRun(ckptPath, { context, state });
  const points = lines.map((l) => JSON.parse(l)).map((m) => [m.step, m.loss] as [number, number]);
  const svg = lineChartSvg(points, {
    title: `${settings.recipe}: training loss`,
    xLabel: "step",
    yLabel: recipeSpec(settings.recipe).lossLabel,
    logY: true,
  });
  await writeFileAtomic(`${out}/loss.svg`, new TextEncoder().encode(svg));
  if (probeLines.length === 0) return;
  await writeFileAtomic(
    probesPath,
    new TextEncoder().encode(probeLines.map((l) => l + "\n").join("")),
  );
  const records = probeLines.map((l) =>
    JSON.parse(l) as { step: number; split: string; cer: number }
  );
  const curve = (split: string) => ({
    name: `${split} CER`,
    points: records.filter((r) => r.split === split).map((r) =>
      [r.step, 100 * r.cer] as [number, number]
    ),
  });
  const probeSvg = seriesChartSvg(probes.map((p) => curve(p.split)), {
    title: `${settings.recipe}: read-back CER of probe sentences (EMA weights, greedy)`,
    xLabel: "step",
    yLabel: "CER %",
  });
  await writeFileAtomic(`${out}/probe.svg`, new TextEncoder().encode(probeSvg));
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

let stop = false;
Deno.addSignalListener("SIGINT", () => (stop = true));
const sessions: RunSessions = { trainers: new Map(), velocity: new Map() };
const started = performance.now(), startStep = state.train.step;
const bar = (loss: number) => {
  if (flags.quiet) return;
  const step = state.train.step, total = settings.steps;
  const rate = (step - startStep) / ((performance.now() - started) / 1000);
  const eta = rate > 0 ? (total - step) / rate : 0;
  const filled = Math.round((step / total) * 30);
  Deno.stderr.writeSync(new TextEncoder().encode(
    `\r[${"#".repeat(filled)}${".".repeat(30 - filled)}] ${step}/${total} loss ${
      loss.toFixed(4)
    } ` +
      `${rate.toFixed(2)} steps/s ETA ${eta.toFixed(0)}s `,
  ));
};
console.error(
  `train: ${settings.recipe}, ${size} (width ${config.right.width}, depth ${config.right.depth}), ` +
    `Whisper ${whisperName}, ${prepared.right.size} sentences from ${dataPath}, out ${out}`,
);
while (state.train.step < settings.steps && !stop) {
  let result;
  try {
    result = await trainStep(context, sessions, state);
  } catch (e) {
    await flush();
    fail(`${e instanceof Error ? e.message : e}; saved step ${state.train.step} to ${ckptPath}`);
  }
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
if (lastSaved !== state.train.step) await flush();
const last = lines.length ? JSON.parse(lines[lines.length - 1]).loss : NaN;
console.error(
  stop
    ? `\nstopped: saved step ${state.train.step} to ${ckptPath}; continue with --resume`
    : `\ndone: ${state.train.step} steps, last loss ${
      last.toFixed(4)
    }; ${ckptPath}, ${metricsPath}, ${out}/loss.svg`,
);
