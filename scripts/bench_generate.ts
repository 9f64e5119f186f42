/**
 * `deno task bench:generate`: how fast `generate` makes states, as `deno task generate` runs it
 * (by id, batches padded to --batch rows, warm sessions), per model size, NFE and solver, with
 * and without the frozen decoder's read-back; against the physical limit of this machine: the
 * network's FLOPs per frame and step over the measured float32 GEMM peak of ONNX Runtime.
 *
 *   deno task bench:generate --whisper /path/to/whisper-base [--sizes tiny,small] [--nfe 4,8,16]
 *
 * The model is a fresh one with every weight random (the arithmetic does not depend on the
 * values; the read-back of a random model's states reads garbage, often up to the token limit,
 * so the --decode rows are a worst case); pass --model for a trained one.
 */
import { either as E } from "fp-ts";
import { commandLine, fail as failWith } from "./cli.ts";
import { Graph } from "../lib/graph/builder.ts";
import { matmul, reduceSum } from "../lib/graph/ops.ts";
import { initParams, type ParamStore } from "../lib/graph/params.ts";
import { openSession, runSession } from "../lib/graph/session.ts";
import { type Solver, SOLVER_ORDER } from "../lib/flow/ode.ts";
import { loadSentences } from "../lib/data/mod.ts";
import { loadT2S } from "../lib/model/checkpoint.ts";
import { type T2SConfig, t2sConfig, type T2SSize } from "../lib/model/config.ts";
import { generate, readingOf } from "../lib/model/generate.ts";
import { t2sParamDefs } from "../lib/model/network.ts";
import type { VelocitySessions } from "../lib/model/states.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

const COMMAND = {
  name: "bench:generate",
  usage: "deno task bench:generate [options]",
  options: {
    whisper: {
      type: "string",
      arg: "M",
      default: "tiny-random",
      help: "Whisper (folder, hub id or tiny-random): its width sets the states' width",
    },
    model: { type: "string", arg: "FILE", help: "a trained model instead of random sizes" },
    sizes: { type: "string", arg: "LIST", default: "tiny,small", help: "model sizes" },
    nfe: { type: "string", arg: "LIST", default: "4,8,16", help: "ODE steps" },
    solvers: { type: "string", arg: "LIST", default: "euler,midpoint", help: "ODE solvers" },
    decode: {
      type: "choice",
      choices: ["both", "off", "on"],
      default: "both",
      help: "rows without and/or with the read-back",
    },
    data: {
      type: "string",
      arg: "FILE",
      default: "data/sentences.jsonl",
      help: "sentences to generate",
    },
    sentences: { type: "int", min: 1, default: 32, help: "how many of them" },
    batch: { type: "int", min: 1, default: 8, help: "sentences per batch" },
    threads: { type: "int", min: 1, default: 2, help: "ONNX Runtime threads" },
    rounds: { type: "int", min: 1, default: 2, help: "timed passes per row (the best counts)" },
    json: { type: "string", arg: "FILE", help: "also write the rows as JSON" },
  },
} as const;

function fail(message: string): never {
  return failWith(COMMAND.name, message);
}
const f = commandLine(COMMAND).values;
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

const whisper = await openWhisper(f.whisper, { threads: f.threads, hub: { offline: true } })();
if (E.isLeft(whisper)) fail(whisper.left.message);
const tokenizer = modelTokenizer(whisper.right);
if (E.isLeft(tokenizer)) fail(tokenizer.left.message);
const width = whisper.right.config.dModel;
const loaded = await loadSentences(f.data)();
if (E.isLeft(loaded)) fail(loaded.left.message);
const sentences = loaded.right.slice(0, f.sentences);
const ids = sentences.map((s) => s.id);

/**
 * Float32 GEMM peak of ONNX Runtime here: [4096, k] @ [k, 4k], best of 5, in GFLOP/s. The
 * product is summed over its rows inside the graph, so the timing is the multiply and not the
 * copy of a 4096 x 4k result back to JavaScript (which halved the figure).
 */
async function gemmPeak(k: number): Promise<number> {
  const m = 4096, n = 4 * k;
  const g = new Graph();
  const a = g.input("a", { dtype: "float32", shape: [m, k] });
  const b = g.input("b", { dtype: "float32", shape: [k, n] });
  g.output(reduceSum(matmul(a, b), { axes: [1] }), "y");
  const session = await openSession(g, { threads: f.threads })();
  if (E.isLeft(session)) fail(session.left.message);
  const rng = createRng(0);
  const feeds = {
    a: fillNormal(new Float32Array(m * k), rng),
    b: fillNormal(new Float32Array(k * n), rng),
  };
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const out = await runSession(session.right, feeds)();
    if (E.isLeft(out)) fail(out.left.message);
    if (i > 0) best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (2 * m * k * n) / best / 1e9;
}

/**
 * Multiply-adds ×2 of one velocity evaluation per frame, at `frames` frames of attention: the
 * input projection, per block qkv, attention scores and values, output, MLP; the output layer
 * and the text encoder's pointwise layers (per-sentence time and modulation layers left out).
 */
function flopsPerFrame(c: T2SConfig, frames: number): number {
  const w = c.width, t = c.textWidth;
  const block = 2 * (3 * w * w + w * w + 2 * c.mlpRatio * w * w) + 4 * frames * w;
  return 2 * (w + t) * w + c.depth * block + 2 * w * w + c.textBlocks * 8 * t * t;
}

interface Model {
  readonly name: string;
  readonly config: T2SConfig;
  readonly params: ParamStore;
  readonly reading: Omit<ReturnType<typeof readingOf>, "source">;
}

const models: Model[] = [];
if (f.model) {
  const ckpt = await loadT2S(f.model)();
  if (E.isLeft(ckpt)) fail(ckpt.left.message);
  const { source, ...reading } = readingOf(ckpt.right);
  if (source === "prior") {
    fail("a bridge model starts from eSpeak NG renderings; bench a noise one");
  }
  models.push({ name: f.model, config: ckpt.right.config, params: ckpt.right.ema, reading });
} else {
  for (const size of list(f.sizes)) {
    const config = t2sConfig(size as T2SSize, { width });
    if (E.isLeft(config)) fail(config.left.message);
    const params = initParams(t2sParamDefs(config.right), { rng: createRng(1) });
    for (const [n, p] of Object.entries(params)) {
      // Zero-initialised layers would make the velocity zero; the timing does not care.
      if (p.data.every((v) => v === 0)) {
        fillNormal(p.data as Float32Array, createRng(n.length), { std: 0.02 });
      }
    }
    models.push({
      name: size,
      config: config.right,
      params,
      reading: { decoderInterface: "silence" },
    });
  }
}

const peak = await gemmPeak(width);
console.error(
  `GEMM peak (float32, ${f.threads} threads, k = ${width}): ${peak.toFixed(1)} GFLOP/s`,
);
const decodes = f.decode === "both" ? [false, true] : [f.decode === "on"];
const rows = [];
console.log(
  "| model | NFE | solver | decode | sentences/s | speech s per s | per core | GFLOP/s | limit (x real time) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const m of models) {
  const sessions: VelocitySessions = new Map();
  const common = {
    ...m.reading,
    config: m.config,
    params: m.params,
    whisper: whisper.right,
    tokenizer: tokenizer.right,
    ids,
    batch: f.batch,
    sessionOptions: { threads: f.threads },
    sessions,
  };
  // Opens the velocity sessions of every padded shape (and the decoder's) before any timing.
  const warm = await generate(sentences, { ...common, steps: 1, decode: decodes.includes(true) });
  if (E.isLeft(warm)) fail(warm.left.message);
  const frames = warm.right.reduce((n, g) => n + g.frames, 0);
  const speech = frames / 50;
  const meanFrames = frames / warm.right.length;
  for (const nfe of list(f.nfe).map(Number)) {
    for (const solver of list(f.solvers) as Solver[]) {
      for (const decode of decodes) {
        let best = Infinity;
        for (let r = 0; r < f.rounds; r++) {
          const t0 = performance.now();
          const out = await generate(sentences, { ...common, steps: nfe, solver, decode });
          if (E.isLeft(out)) fail(out.left.message);
          best = Math.min(best, (performance.now() - t0) / 1000);
        }
        const evals = nfe * SOLVER_ORDER[solver];
        const flops = flopsPerFrame(m.config, meanFrames) * evals * frames;
        // Frames of speech per second at the GEMM peak, over 50 frames per second of speech.
        const limit = peak * 1e9 / (flopsPerFrame(m.config, meanFrames) * evals) / 50;
        const row = {
          model: m.name,
          nfe,
          solver,
          decode,
          sentencesPerSecond: sentences.length / best,
          realTime: speech / best,
          realTimePerCore: speech / best / f.threads,
          gflops: flops / best / 1e9,
          limit,
        };
        rows.push(row);
        console.log(
          `| ${m.name} | ${nfe} | ${solver} | ${decode ? "yes" : "no"} | ` +
            `${row.sentencesPerSecond.toFixed(2)} | ${row.realTime.toFixed(1)} | ` +
            `${row.realTimePerCore.toFixed(1)} | ${row.gflops.toFixed(1)} | ` +
            `${decode ? "–" : limit.toFixed(1)} |`,
        );
      }
    }
  }
}
console.error(
  `${sentences.length} sentences (${ids.length} ids, batch ${f.batch}), width ${width}, ` +
    `${f.threads} threads; GFLOP/s counts the network's work on the sentences' own frames`,
);
if (f.json) {
  await Deno.writeTextFile(
    f.json,
    JSON.stringify({ peak, width, threads: f.threads, rows }, null, 2),
  );
}
