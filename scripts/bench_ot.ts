/**
 * Minibatch OT benchmark: the cost matrix through ONNX Runtime (costs_graph.ts) and the
 * coupling (exact Jonker-Volgenant, log-domain Sinkhorn) for batches of Whisper-encoder-sized
 * sequences (150 frames x 384), timed separately, median of several runs. Prints a markdown
 * table with the machine.
 *
 *   deno run -A scripts/bench_ot.ts [--runs 9] [--threads 2] [--quick]
 */
import { commandLine } from "./cli.ts";
import type { Sequences } from "../lib/ot/costs.ts";
import { type CostTerms, openCostSession, sessionCosts } from "../lib/ot/costs_graph.ts";
import { couple, SINKHORN_TOLERANCE } from "../lib/ot/couple.ts";
import { sinkhorn } from "../lib/ot/sinkhorn.ts";
import type { CostMatrix } from "../lib/ot/types.ts";
import { orThrow } from "../lib/result.ts";
import { Graph } from "../lib/graph/builder.ts";
import { gemm } from "../lib/graph/ops.ts";
import { openSession, runSession } from "../lib/graph/session.ts";
import { createRng, fillNormal, randint } from "../lib/random.ts";

const COMMAND = {
  name: "bench:ot",
  usage: "deno task bench:ot [options]",
  options: {
    runs: { type: "int", min: 1, default: 9, help: "timed runs per case (the median is reported)" },
    threads: { type: "int", min: 1, default: 2, help: "ONNX Runtime threads" },
    quick: { type: "boolean", help: "3 runs per case" },
  },
} as const;

const args = commandLine(COMMAND).values;
const runs = args.quick ? 3 : args.runs, threads = args.threads;
const FRAMES = 150, DIM = 384;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed<A>(f: () => Promise<A> | A): Promise<{ ms: number[]; last: A }> {
  let last = await f(); // warm-up (JIT, ONNX Runtime buffers)
  last = await f();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    last = await f();
    ms.push(performance.now() - t);
  }
  return { ms, last };
}

function machine(): string {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1];
  const flags = Deno.readTextFileSync("/proc/cpuinfo").match(/flags\s*:\s*(.*)/)?.[1] ?? "";
  const simd = ["avx512f", "avx2", "fma"].filter((f) => flags.split(" ").includes(f)).join(", ");
  const mem = Deno.systemMemoryInfo().total / 2 ** 30;
  return `${cpu ?? "unknown CPU"} (${simd}), ${navigator.hardwareConcurrency} cores visible, ` +
    `${mem.toFixed(0)} GiB; ONNX Runtime ${threads} threads; Deno ${Deno.version.deno}`;
}

interface Case {
  n: number;
  variable: boolean;
  terms: CostTerms;
}

const CASES: Case[] = [64, 256].flatMap((n) => [
  { n, variable: false, terms: "full" as const },
  { n, variable: false, terms: "pairing" as const },
  { n, variable: true, terms: "full" as const },
]);

function batches(n: number, variable: boolean): { x0: Sequences; x1: Sequences } {
  const rng = createRng(n + (variable ? 1 : 0));
  const size = n * FRAMES * DIM;
  const x0 = { data: fillNormal(new Float32Array(size), rng), count: n, frames: FRAMES, dim: DIM };
  const data = fillNormal(new Float32Array(size), rng, { mean: 0.5 });
  const lengths = Array.from({ length: n }, () => (variable ? 50 + randint(101, rng) : FRAMES));
  // Zero padding, as a data loader writes it (nonzero padding costs one copy of x1 more).
  lengths.forEach((len, j) => data.fill(0, (j * FRAMES + len) * DIM, (j + 1) * FRAMES * DIM));
  return { x0, x1: { data, count: n, frames: FRAMES, dim: DIM, lengths } };
}

const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
if (Number(load) > 0.5) console.error(`warning: load average ${load}; timings will be noisy`);

/** The floor: the 256 x 57600 @ 57600 x 256 Gram matrix alone, as one Gemm. */
async function gramAlone(n: number): Promise<number[]> {
  const g = new Graph("gram");
  const x0 = g.input("x0", { dtype: "float32", shape: [n, FRAMES * DIM] });
  g.output(
    gemm(x0, g.input("x1", { dtype: "float32", shape: [n, FRAMES * DIM] }), { transB: true }),
  );
  const session = await orThrow(openSession(g, { threads }));
  const { x0: a, x1: b } = batches(n, false);
  return (await timed(() => orThrow(runSession(session, { x0: a.data, x1: b.data })))).ms;
}

const rows: string[] = [];
let best256 = Infinity;
for (const c of CASES) {
  const { x0, x1 } = batches(c.n, c.variable);
  const shape = { rows: c.n, cols: c.n, frames: FRAMES, dim: DIM };
  const session = await orThrow(openCostSession(shape, { threads, terms: c.terms }));
  const cost = await timed(() => orThrow(sessionCosts(session, { x0, x1 })));
  const costs: CostMatrix = cost.last;
  const exact = await timed(() => orThrow(couple(costs, { method: "exact" })));
  const soft = await timed(() => orThrow(couple(costs, { method: "sinkhorn", rng: createRng(1) })));
  const its = orThrow(sinkhorn(costs, { tolerance: SINKHORN_TOLERANCE })).iterations;
  const random = orThrow(couple(costs, { method: "independent", rng: createRng(2) })).meanCost;
  const total = await timed(async () =>
    orThrow(couple(await orThrow(sessionCosts(session, { x0, x1 })), { method: "exact" }))
  );
  const gflops = 2 * c.n * c.n * FRAMES * DIM / 1e9 / (median(cost.ms) / 1e3);
  if (c.n === 256 && !c.variable) best256 = Math.min(best256, median(total.ms));
  const f = (ms: number[]) => `${median(ms).toFixed(1)} (${Math.min(...ms).toFixed(1)})`;
  const pairCosts = c.terms === "pairing"
    ? "- (not distances)"
    : `${random.toFixed(1)} → ${exact.last.meanCost.toFixed(1)}`;
  rows.push(
    `| ${c.n} | ${c.variable ? "50-150" : "150"} | ${c.terms} | ${f(cost.ms)} | ${
      gflops.toFixed(0)
    } | ${f(exact.ms)} | ${f(soft.ms)} | ${its} | **${f(total.ms)}** | ${pairCosts} |`,
  );
  console.error(`done: batch ${c.n}, ${c.variable ? "variable" : "full"} lengths, ${c.terms}`);
}

console.log(`\nMachine: ${machine()}. Load average at start: ${load}.`);
console.log(
  `Median (best) of ${runs} runs after 2 warm-up runs; sequences ${FRAMES} x ${DIM} float32; ` +
    `GFLOP/s counts the Gram matrix at the median.\n`,
);
console.log(
  "| batch | frames | cost terms | cost matrix ms | GFLOP/s | exact coupling ms | " +
    "sinkhorn coupling ms | sinkhorn iterations | exact, cost matrix included ms | " +
    "mean pair cost: random → exact |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
const gram = median(await gramAlone(256));
console.log(
  `\nThe Gram matrix alone at batch 256 (one Gemm, ${
    (2 * 256 * 256 * FRAMES * DIM / 1e9).toFixed(2)
  } ` +
    `GFLOP): ${gram.toFixed(1)} ms, ${
      (2 * 256 * 256 * FRAMES * DIM / 1e6 / gram).toFixed(0)
    } GFLOP/s.`,
);
console.log(
  `Target: exact coupling of a 256 batch, cost matrix included, under 50 ms: ${
    best256.toFixed(1)
  } ms (median, best cost terms, full lengths): ${best256 < 50 ? "met" : "NOT met"}.`,
);
