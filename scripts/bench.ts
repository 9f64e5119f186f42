/**
 * `deno task bench`: ms per training step, GFLOP/s (matmul FLOPs, 3x forward) and the share
 * of a call spent moving parameters and optimizer state in and out of ONNX Runtime, for MLP
 * and transformer-block steps; then the same steps in PyTorch's CPU build (scripts/
 * bench_torch.py, from .venv) in the same run, and the ratio. Prints a markdown table.
 *
 *   deno task bench [--quick] [--threads 2] [--only 'block d384'] [--rounds 5] [--no-torch] [--json out.json]
 */
import { commandLine } from "./cli.ts";
import * as ort from "onnxruntime-node";
import { Graph } from "../lib/graph/builder.ts";
import { identity } from "../lib/graph/ops.ts";
import { initParams } from "../lib/graph/params.ts";
import { openSession, runSession, type Tensors } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { blockProblem, mlpProblem, type ToyProblem } from "../lib/graph/toy.ts";
import { initTrainState, openTrainer, stateName, trainCall } from "../lib/graph/train.ts";
import { createRng, fillNormal } from "../lib/random.ts";

const COMMAND = {
  name: "bench",
  usage: "deno task bench [options]",
  options: {
    quick: { type: "boolean", help: "shorter timings (0.5 s per measurement) and one round" },
    threads: { type: "int", min: 1, default: 2, help: "ONNX Runtime and PyTorch threads" },
    only: { type: "string", help: "only the cases whose name contains TEXT, e.g. 'block d384'" },
    rounds: {
      type: "int",
      min: 1,
      default: 5,
      help: "alternating rounds of ours and PyTorch per case",
    },
    "no-torch": { type: "boolean", help: "skip PyTorch (scripts/bench_torch.py)" },
    json: { type: "string", arg: "FILE", help: "also write the results as JSON" },
  },
} as const;

const args = commandLine(COMMAND).values;
const threads = args.threads;
const minSeconds = args.quick ? 0.5 : 1.5;

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

async function timeIt(run: () => Promise<unknown>, seconds: number): Promise<number> {
  for (let i = 0; i < 2; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || times.length < 5) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A long-lived scripts/bench_torch.py process, so its rounds can alternate with ours. */
class TorchWorker {
  #buffer = "";
  #lines: string[] = [];
  private constructor(
    private readonly proc: Deno.ChildProcess,
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {}

  static start(): TorchWorker | undefined {
    const python = ".venv/bin/python";
    try {
      Deno.statSync(python);
    } catch {
      console.error(
        "PyTorch comparison skipped: no .venv. Create it with:\n" +
          "  python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 numpy",
      );
      return undefined;
    }
    const proc = new Deno.Command(python, {
      args: ["scripts/bench_torch.py"],
      stdin: "piped",
      stdout: "piped",
    })
      .spawn();
    return new TorchWorker(proc, proc.stdin.getWriter(), proc.stdout.getReader());
  }

  /** Times one case; returns ms per step by variant. */
  async run(c: Record<string, unknown>, seconds: number): Promise<Record<string, number>> {
    const variants = c.kind === "block" ? 2 : 1;
    await this.writer.write(new TextEncoder().encode(
      JSON.stringify({ ...c, threads, min_seconds: seconds, warmup: 2 }) + "\n",
    ));
    const out: Record<string, number> = {};
    for (let i = 0; i < variants; i++) {
      const r = JSON.parse(await this.#line());
      if (r.error) throw new Error(`bench_torch.py failed on ${JSON.stringify(c)}: ${r.error}`);
      out[r.variant] = r.ms_median;
      torchVersion = r.torch;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.proc.status;
  }

  async #line(): Promise<string> {
    while (this.#lines.length === 0) {
      const { value, done } = await this.reader.read();
      if (done) throw new Error("bench_torch.py exited early");
      this.#buffer += new TextDecoder().decode(value);
      const parts = this.#buffer.split("\n");
      this.#buffer = parts.pop()!;
      this.#lines.push(...parts.filter(Boolean));
    }
    return this.#lines.shift()!;
  }
}

let torchVersion = "";

/** A graph with the step's inputs and outputs and no compute: the cost of moving state. */
function transferGraph(
  feeds: Tensors,
  specs: Map<string, { dtype: string; shape: readonly number[] }>,
): Graph {
  const g = new Graph("transfer");
  for (const [name, spec] of specs) {
    const v = g.input(name, { dtype: spec.dtype as "float32", shape: spec.shape });
    if (name in feeds && !name.startsWith("next/") && spec.dtype === "float32") {
      g.output(identity(v), `next/${name}`);
    }
  }
  return g;
}

/** Opens a case's trainer; `time()` measures ms per call, `transfer()` the state round trip. */
async function prepareOnnx(c: Case) {
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
  // Feed exactly the state a step feeds, and fetch the same amount back, with no compute.
  const stateOnly = new Map(
    [...trainer.session.inputs].filter(([n]) => !(n in batch) && n !== "lr" && n !== "step"),
  );
  const feeds: Tensors = {};
  for (const [name, t] of Object.entries(state.params)) {
    feeds[name] = t.data;
    feeds[stateName.m(name)] = state.m[name].data;
    feeds[stateName.v(name)] = state.v[name].data;
  }
  const transferSession = await orThrow(openSession(transferGraph(feeds, stateOnly), { threads }));
  return {
    time: (seconds: number) =>
      timeIt(async () => {
        state = (await orThrow(trainCall(trainer, state, { batch, lr: 1e-3 }))).state;
      }, seconds),
    transfer: (seconds: number) =>
      timeIt(() => orThrow(runSession(transferSession, feeds)), seconds),
  };
}

function machine(): string {
  let cpu = "unknown CPU";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores visible, ${threads} threads, ` +
    `onnxruntime-node ${ort.env.versions.common}, Deno ${Deno.version.deno}`;
}

const rounds = args.quick ? 1 : args.rounds;
const worker = args["no-torch"] ? undefined : TorchWorker.start();
const rows: Record<string, unknown>[] = [];
const table: string[] = [];
for (const c of CASES.filter((c) => !args.only || c.name.includes(args.only))) {
  const onnx = await prepareOnnx(c);
  const ours: number[] = [], transfers: number[] = [], eager: number[] = [], sdpa: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push((await onnx.time(minSeconds)) / c.stepsPerCall);
    transfers.push(await onnx.transfer(minSeconds / 4));
    if (worker) {
      const t = await worker.run(c.torch, minSeconds);
      if (t.eager !== undefined) eager.push(t.eager);
      if (t.sdpa !== undefined) sdpa.push(t.sdpa);
    }
  }
  const ms = median(ours), transferShare = median(transfers) / (ms * c.stepsPerCall);
  const gflops = c.problem.flopsPerStep / (ms * 1e6);
  const e = eager.length ? median(eager) : undefined, s = sdpa.length ? median(sdpa) : undefined;
  const best = Math.min(e ?? Infinity, s ?? Infinity);
  const fmt = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
  const both = (xs: number[]) => (xs.length ? `${fmt(median(xs))} (${fmt(Math.min(...xs))})` : "-");
  const ratio = Number.isFinite(best) ? (best / ms).toFixed(2) : "-";
  const share = `${(100 * transferShare).toFixed(1)}%`;
  table.push(
    `| ${c.name} | ${both(ours)} | ${gflops.toFixed(1)} | ${share} | ${both(eager)} | ${
      both(sdpa)
    } | ${ratio} |`,
  );
  console.error(
    `${c.name}: flowt2s ${ours.map((x) => x.toFixed(2)).join("/")} ms, torch eager ` +
      `${eager.map((x) => x.toFixed(2)).join("/")}, sdpa ${
        sdpa.map((x) => x.toFixed(2)).join("/")
      }`,
  );
  rows.push({
    case: c.name,
    msPerStep: ms,
    gflops,
    transferShare,
    rounds: ours,
    torchEager: eager,
    torchSdpa: sdpa,
  });
}
await worker?.close();
console.log(`Machine: ${machine()}${torchVersion ? `, torch ${torchVersion}` : ""}`);
console.log(
  `ms per step: median of ${rounds} alternating rounds (each the median of about ${minSeconds} s of ` +
    `steps), best round in parentheses; the ratio compares medians.\n`,
);
console.log(
  "| step | flowt2s ms | GFLOP/s | state moving | torch eager ms | torch sdpa ms | faster torch / flowt2s |",
);
console.log("|---|---|---|---|---|---|---|");
for (const line of table) console.log(line);
if (args.json) {
  await Deno.writeTextFile(
    args.json,
    JSON.stringify({ machine: machine(), torchVersion, rows }, null, 2),
  );
}
