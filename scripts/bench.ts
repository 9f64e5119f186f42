/**
 * `deno task bench`: ms per training step, GFLOP/s (matmul FLOPs, 3x forward) and the share
 * of a call spent moving parameters and optimizer state in and out of ONNX Runtime, for MLP
 * and transformer-block steps; then the same steps in PyTorch's CPU build (scripts/
 * bench_torch.py, from .venv) in the same run, and the ratio. Prints a markdown table.
 *
 *   deno task bench [--quick] [--threads 2] [--json out.json]
 */
import { parseArgs } from "@std/cli";
import * as ort from "onnxruntime-node";
import { Graph } from "../lib/graph/builder.ts";
import { identity } from "../lib/graph/ops.ts";
import { initParams } from "../lib/graph/params.ts";
import { openSession, orThrow, runSession, type Tensors } from "../lib/graph/session.ts";
import { blockProblem, mlpProblem, type ToyProblem } from "../lib/graph/toy.ts";
import { initTrainState, openTrainer, trainCall } from "../lib/graph/train.ts";
import { createRng, fillNormal } from "../lib/random.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    json: { type: "string" },
    "no-torch": { type: "boolean", default: false },
  },
});
const threads = Number(args.threads);
const minSeconds = args.quick ? 0.5 : 3;

interface Case {
  name: string;
  torch: Record<string, unknown>;
  problem: ToyProblem;
  stepsPerCall: number;
}

const mlp = (b: number, i: number, h: number, o: number, s = 1): Case => ({
  name: `mlp ${i}-${h}-${o} b${b}${s > 1 ? ` x${s} fused` : ""}`,
  torch: { kind: "mlp", batch: b, din: i, hidden: h, dout: o },
  problem: mlpProblem({ batch: b, din: i, hidden: h, dout: o }),
  stepsPerCall: s,
});
const block = (b: number, t: number, d: number, h: number): Case => ({
  name: `block d${d} T${t} b${b} h${h}`,
  torch: { kind: "block", batch: b, seq: t, d, heads: h },
  problem: blockProblem({ batch: b, seq: t, d, heads: h }),
  stepsPerCall: 1,
});

const CASES: Case[] = [
  mlp(64, 64, 256, 64),
  mlp(64, 64, 256, 64, 10),
  mlp(256, 384, 1536, 384),
  mlp(256, 384, 1536, 384, 4),
  block(8, 64, 128, 4),
  block(8, 256, 384, 6),
];

async function timeIt(run: () => Promise<unknown>): Promise<{ ms: number; calls: number }> {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < minSeconds * 1000 || times.length < 5) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], calls: times.length };
}

/** A graph with the step's inputs and outputs and no compute: the cost of moving state. */
function transferGraph(
  feeds: Tensors,
  specs: Map<string, { dtype: string; shape: readonly number[] }>,
): Graph {
  const g = new Graph("transfer");
  for (const [name, spec] of specs) {
    const v = g.input(name, spec.dtype as "float32", spec.shape);
    if (name in feeds && !name.startsWith("next/") && spec.dtype === "float32") {
      g.output(identity(v), `next/${name}`);
    }
  }
  return g;
}

async function benchOnnx(c: Case) {
  const rng = createRng(0);
  const trainer = await orThrow(openTrainer(c.problem.spec, {
    threads,
    stepsPerCall: c.stepsPerCall,
    decay: () => true, // as torch.optim.AdamW
  }));
  let state = initTrainState(initParams(c.problem.defs, { rng }));
  const batch: Tensors = {};
  for (const [k, s] of Object.entries(c.problem.spec.batch)) {
    batch[k] = fillNormal(
      new Float32Array(c.stepsPerCall * s.shape.reduce((a, b) => a * b, 1)),
      rng,
      {},
    );
  }
  const step = await timeIt(async () => {
    state = (await orThrow(trainCall(trainer, state, batch, { lr: 1e-3 }))).state;
  });
  // Feed exactly what a step feeds (state + batch) and fetch the updated state's size back.
  const feeds: Tensors = { ...batch };
  for (const [name, t] of Object.entries(state.params)) {
    feeds[name] = t.data;
    feeds[`adam.m/${name}`] = state.m[name].data;
    feeds[`adam.v/${name}`] = state.v[name].data;
  }
  const stateOnly = new Map(
    [...trainer.session.inputs].filter(([n]) => !(n in batch) && n !== "lr" && n !== "step"),
  );
  const tg = transferGraph(feeds, stateOnly);
  const transferSession = await orThrow(openSession(tg, { threads }));
  const stateFeeds = Object.fromEntries([...stateOnly.keys()].map((n) => [n, feeds[n]]));
  const transfer = await timeIt(() => orThrow(runSession(transferSession, stateFeeds)));
  const perStep = step.ms / c.stepsPerCall;
  return {
    msPerStep: perStep,
    gflops: c.problem.flopsPerStep / (perStep * 1e6),
    transferShare: transfer.ms / step.ms,
    calls: step.calls,
  };
}

async function benchTorch(cases: Case[]): Promise<Map<string, Record<string, number>>> {
  const results = new Map<string, Record<string, number>>();
  const python = ".venv/bin/python";
  try {
    Deno.statSync(python);
  } catch {
    console.error(
      "PyTorch comparison skipped: no .venv. Create it with:\n" +
        "  python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 numpy",
    );
    return results;
  }
  const unique = [...new Map(cases.map((c) => [JSON.stringify(c.torch), c.torch])).values()];
  const input = unique.map((t) => JSON.stringify({ ...t, threads, min_seconds: minSeconds })).join(
    "\n",
  );
  const proc = new Deno.Command(python, {
    args: ["scripts/bench_torch.py"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = proc.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input + "\n"));
  await writer.close();
  const out = new TextDecoder().decode((await proc.output()).stdout);
  for (const line of out.split("\n").filter(Boolean)) {
    const r = JSON.parse(line);
    if (r.error) console.error(`torch case failed: ${JSON.stringify(r.case)}: ${r.error}`);
    else {
      // Key by the fields this script sent, not the echoed run settings.
      const sent = unique.find((t) => Object.entries(t).every(([k, v]) => r.case[k] === v));
      results.set(`${JSON.stringify(sent)}|${r.variant}`, r);
    }
  }
  return results;
}

function machine(): string {
  let cpu = "unknown CPU";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores visible, ${threads} threads, ` +
    `onnxruntime-node ${ort.env.versions.common}, Deno ${Deno.version.deno}`;
}

const rows: Record<string, unknown>[] = [];
console.log(`Machine: ${machine()}\n`);
const onnxResults = [];
for (const c of CASES) {
  const r = await benchOnnx(c);
  onnxResults.push(r);
  console.error(`${c.name}: ${r.msPerStep.toFixed(2)} ms/step`);
}
const torch = args["no-torch"] ? new Map() : await benchTorch(CASES);
console.log(
  "| step | flowt2s ms | GFLOP/s | state moving | torch eager ms | torch sdpa ms | torch / flowt2s |",
);
console.log("|---|---|---|---|---|---|---|");
CASES.forEach((c, i) => {
  const r = onnxResults[i];
  const key = JSON.stringify(c.torch);
  const eager = torch.get(`${key}|eager`)?.ms_median as number | undefined;
  const sdpa = torch.get(`${key}|sdpa`)?.ms_median as number | undefined;
  const best = Math.min(eager ?? Infinity, sdpa ?? Infinity);
  const fmt = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
  console.log(
    `| ${c.name} | ${fmt(r.msPerStep)} | ${r.gflops.toFixed(1)} | ${
      (100 * r.transferShare).toFixed(1)
    }% | ` +
      `${fmt(eager)} | ${fmt(sdpa)} | ${
        Number.isFinite(best) ? (best / r.msPerStep).toFixed(2) : "-"
      } |`,
  );
  rows.push({ case: c.name, ...r, torchEagerMs: eager, torchSdpaMs: sdpa });
});
if (args.json) {
  await Deno.writeTextFile(args.json, JSON.stringify({ machine: machine(), rows }, null, 2));
}
