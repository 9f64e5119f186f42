/**
 * `deno task train:demo`: the graph engine's demo job.
 * Trains one causal pre-LN transformer block to output the running mean of its input
 * sequence (solvable only by attending to the past), with a progress bar, a metrics log
 * (JSONL), safetensors checkpoints written atomically (parameters, AdamW moments, step, RNG
 * state, configuration), an SVG loss curve, exact --resume, and Ctrl-C saving cleanly.
 *
 *   deno task train:demo [--steps 400] [--out runs/demo] [--resume] [--seed 0] [--lr 3e-3]
 */
import { commandLine, EXIT, fail as failWith, progressLine, PROVIDER_OPTION } from "./cli.ts";
import { pathExists, writeFileAtomic } from "../lib/io.ts";
import { checkParams, initParams, loadParams, saveParams } from "../lib/graph/params.ts";
import { orThrow } from "../lib/result.ts";
import { blockProblem, runningMeanBatch } from "../lib/graph/toy.ts";
import { initTrainState, openTrainer, trainCall, type TrainState } from "../lib/graph/train.ts";
import { lineChartSvg } from "../lib/plot.ts";
import { createRng, type Rng, rngFromState } from "../lib/random.ts";

const COMMAND = {
  name: "train:demo",
  usage: "deno task train:demo [options]",
  options: {
    steps: { type: "int", min: 1, default: 400, help: "optimizer steps in total" },
    out: {
      type: "string",
      arg: "DIR",
      default: "runs/demo",
      help: "run folder: checkpoint.safetensors, metrics.jsonl, loss.svg",
    },
    resume: { type: "boolean", help: "continue from DIR/checkpoint.safetensors" },
    seed: { type: "int", min: 0, default: 0, help: "seed for parameters and data" },
    lr: {
      type: "number",
      min: 0,
      exclusiveMin: true,
      default: 3e-3,
      help: "peak learning rate, linear warm-up then cosine decay",
    },
    batch: { type: "int", min: 1, default: 8, help: "problem size: sequences per batch" },
    seq: { type: "int", min: 1, default: 32, help: "problem size: sequence length" },
    d: { type: "int", min: 1, default: 64, help: "problem size: model width" },
    heads: { type: "int", min: 1, default: 4, help: "problem size: attention heads" },
    "steps-per-call": {
      type: "int",
      min: 1,
      default: 10,
      help: "optimizer steps fused into one ONNX Runtime call",
    },
    "save-every": { type: "int", min: 1, default: 100, help: "checkpoint interval in steps" },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads (default: all cores)" },
    provider: PROVIDER_OPTION,
    "stop-after": {
      type: "int",
      min: 1,
      help: "stop and save after N steps, as Ctrl-C would (for tests and time-boxed runs)",
    },
    quiet: { type: "boolean", help: "no progress bar" },
    force: { type: "boolean", help: "start afresh even if --out already holds a checkpoint" },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const a = commandLine(COMMAND).values;
const config = {
  batch: a.batch,
  seq: a.seq,
  d: a.d,
  heads: a.heads,
  seed: a.seed,
  lr: a.lr,
  stepsPerCall: a["steps-per-call"],
};
const totalSteps = a.steps, saveEvery = a["save-every"];
const stopAfter = a["stop-after"] ?? Infinity;
if (config.d % config.heads !== 0) {
  fail(`--d ${config.d} must be divisible by --heads ${config.heads}`, EXIT.usage);
}
if (saveEvery % config.stepsPerCall !== 0 || totalSteps % config.stepsPerCall !== 0) {
  fail(
    `--steps and --save-every must be multiples of --steps-per-call (${config.stepsPerCall})`,
    EXIT.usage,
  );
}

const out = a.out;
const ckptPath = `${out}/checkpoint.safetensors`, metricsPath = `${out}/metrics.jsonl`;
const problem = blockProblem(config);
const warmup = Math.min(20, totalSteps);
const schedule = (step: number) =>
  step <= warmup ? (config.lr * step) / warmup : config.lr *
    (0.1 + 0.45 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, totalSteps - warmup))));

/** A batch of stepsPerCall x [batch, seq, d] inputs and their running means. */
const makeBatch = (rng: Rng) =>
  runningMeanBatch({ ...config, copies: config.stepsPerCall }, { rng });

/** What a checkpoint must match to be resumed: the problem, seed, and the schedule's length. */
const runConfig = JSON.stringify({ ...config, steps: totalSteps });

async function saveCheckpoint(state: TrainState, rng: Rng): Promise<void> {
  const metadata = {
    step: String(state.step),
    rng: JSON.stringify(rng.state()),
    config: runConfig,
  };
  const stores = { param: state.params, "adam.m": state.m, "adam.v": state.v };
  await orThrow(saveParams(ckptPath, stores, { metadata }));
}

async function restore(): Promise<{ state: TrainState; rng: Rng }> {
  const { stores, metadata } = await orThrow(loadParams(ckptPath));
  if (metadata.config !== runConfig) {
    fail(
      `checkpoint ${ckptPath} was made with ${metadata.config}; this run asks for ${runConfig} ` +
        `(resume with the same flags, or start afresh with --force)`,
    );
  }
  const check = (name: string) => {
    const r = checkParams(stores[name] ?? {}, problem.spec.params);
    if (r._tag === "Left") fail(`checkpoint ${ckptPath}, ${name}: ${r.left.message}`);
    return r.right;
  };
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) {
    fail(`checkpoint ${ckptPath}: bad step '${metadata.step}'`);
  }
  let rng: Rng;
  try {
    rng = rngFromState(JSON.parse(metadata.rng ?? ""));
  } catch (e) {
    fail(`checkpoint ${ckptPath}: bad RNG state (${(e as Error).message})`);
  }
  return { state: { params: check("param"), m: check("adam.m"), v: check("adam.v"), step }, rng };
}

/** Keeps metrics up to `step` so a resumed run's log equals an uninterrupted one. */
async function metricsUpTo(step: number): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(metricsPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").filter((l, i) => {
    if (!l) return false;
    try {
      return JSON.parse(l).step <= step;
    } catch {
      return fail(`${metricsPath} line ${i + 1} is not JSON; fix or remove the file`);
    }
  });
}

await Deno.mkdir(out, { recursive: true });
let state: TrainState, rng: Rng;
if (a.resume) {
  if (!(await pathExists(ckptPath))) fail(`--resume: no checkpoint at ${ckptPath}`);
  ({ state, rng } = await restore());
} else {
  if (!a.force && (await pathExists(ckptPath))) {
    fail(`${ckptPath} exists: continue it with --resume, or overwrite it with --force`);
  }
  rng = createRng(config.seed);
  state = initTrainState(initParams(problem.defs, { rng }));
}
const lines = a.resume ? await metricsUpTo(state.step) : [];
const trainer = await orThrow(openTrainer(problem.spec, {
  stepsPerCall: config.stepsPerCall,
  threads: a.threads,
  provider: a.provider,
}));

let stop = false, interrupted = false;
Deno.addSignalListener("SIGINT", () => (stop = interrupted = true));
const started = performance.now(), startStep = state.step;
const progress = progressLine({ quiet: a.quiet });
const bar = (loss: number) => {
  const done = state.step / totalSteps;
  const rate = (state.step - startStep) / ((performance.now() - started) / 1000);
  const eta = rate > 0 ? (totalSteps - state.step) / rate : 0;
  const filled = Math.round(done * 30);
  progress.update(
    `[${"#".repeat(filled)}${".".repeat(30 - filled)}] ${state.step}/${totalSteps} ` +
      `loss ${loss.toFixed(4)} ${rate.toFixed(1)} steps/s ETA ${eta.toFixed(0)}s`,
  );
};

/** Metrics first: a crash between the writes then leaves extra lines, which resume drops. */
async function flush(): Promise<void> {
  await writeFileAtomic(metricsPath, new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
  await saveCheckpoint(state, rng);
  const points = lines.map((l) => JSON.parse(l)).map((m) => [m.step, m.loss] as [number, number]);
  const svg = lineChartSvg(points, {
    title: "demo: training loss",
    xLabel: "step",
    yLabel: "MSE",
    logY: true,
  });
  await writeFileAtomic(`${out}/loss.svg`, new TextEncoder().encode(svg));
}

while (state.step < totalSteps && !stop) {
  const batch = makeBatch(rng);
  const before = state.step;
  const result = await trainCall(trainer, state, { batch, lr: schedule })();
  if (result._tag === "Left") {
    await flush(); // keep everything up to the last good step
    progress.done();
    fail(`${result.left.message}; saved step ${state.step} to ${ckptPath}`);
  }
  state = result.right.state;
  result.right.losses.forEach((loss, i) =>
    lines.push(JSON.stringify({
      step: before + i + 1,
      loss,
      grad_norm: result.right.gradNorms[i],
      lr: schedule(before + i + 1),
    }))
  );
  bar(result.right.losses[result.right.losses.length - 1]);
  if (state.step >= stopAfter) stop = true;
  if (state.step % saveEvery === 0 || state.step === totalSteps) await flush();
}
progress.done();
if (stop) {
  await flush();
  console.error(
    `${interrupted ? "interrupted" : "stopped"}: saved step ${state.step} to ${ckptPath}; ` +
      `continue with --resume`,
  );
  if (interrupted) Deno.exit(EXIT.interrupted);
} else {
  const last = lines.slice(-config.stepsPerCall).map((l) => JSON.parse(l).loss);
  const mean = last.reduce((sum, v) => sum + v, 0) / last.length;
  console.error(
    `done: ${state.step} steps, final loss ${mean.toFixed(4)}; ` +
      `${ckptPath}, ${metricsPath}, ${out}/loss.svg`,
  );
}
