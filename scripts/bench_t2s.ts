/**
 * `deno task bench:t2s`: one T2S training step (recipe "distill": CFM network + frozen Whisper
 * decoder cross-entropy on the one-step estimate, backward, clip, AdamW) against the same
 * step in PyTorch's CPU build (scripts/bench_t2s_torch.py, eager and SDPA attention), in
 * alternating rounds of one run. Needs a Whisper folder (default .cache/whisper/tiny.en) and
 * `.venv` with torch and transformers.
 *
 *   deno task bench:t2s [--whisper DIR] [--size tiny] [--batch 16] [--frames 150] [--tokens 32]
 *                       [--rounds 5] [--steps 3] [--threads 2]
 */
import { commandLine } from "./cli.ts";
import { either as E } from "fp-ts";
import { openTrainer, trainCall } from "../lib/graph/train.ts";
import { initParams, zerosLike } from "../lib/graph/params.ts";
import { t2sConfig } from "../lib/model/config.ts";
import { t2sParamDefs } from "../lib/model/network.ts";
import { objective } from "../lib/model/objective.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { loadWhisper } from "../lib/whisper/runtime.ts";

const COMMAND = {
  name: "bench:t2s",
  usage: "deno task bench:t2s [options]",
  options: {
    whisper: {
      type: "string",
      arg: "DIR",
      default: ".cache/whisper/tiny.en",
      help: "Whisper folder",
    },
    size: {
      type: "choice",
      choices: ["tiny", "small", "base"],
      default: "tiny",
      help: "network size",
    },
    batch: { type: "int", min: 1, default: 16, help: "sentences per batch" },
    frames: { type: "int", min: 1, default: 150, help: "frames per sentence" },
    tokens: { type: "int", min: 1, default: 32, help: "tokens per sentence" },
    rounds: { type: "int", min: 1, default: 5, help: "alternating rounds of ours and PyTorch" },
    steps: { type: "int", min: 1, default: 3, help: "timed steps per round" },
    threads: { type: "int", min: 1, default: 2, help: "ONNX Runtime and PyTorch threads" },
    python: {
      type: "string",
      arg: "FILE",
      default: ".venv/bin/python",
      help: "Python with torch and transformers",
    },
  },
} as const;

const a = commandLine(COMMAND).values;
const { batch, frames, tokens, rounds, steps, threads } = a;
const whisper = await loadWhisper(a.whisper, { threads })();
if (E.isLeft(whisper)) {
  throw new Error(`${whisper.left.message} (convert or download a Whisper model first)`);
}
const configured = t2sConfig(a.size, { width: whisper.right.config.dModel });
if (E.isLeft(configured)) throw new Error(configured.left.message);
const config = configured;
const shape = { batch, frames, tokens };
const spec = objective({ recipe: "distill", config: config.right, whisper: whisper.right, shape });
const setup = performance.now();
const opened = await openTrainer(spec, { threads })();
if (E.isLeft(opened)) throw new Error(opened.left.message);
const trainer = opened.right;
console.error(`flowt2s step compiled in ${((performance.now() - setup) / 1000).toFixed(1)} s`);

const rng = createRng(0);
const params = initParams(t2sParamDefs(config.right), { rng });
let state = { params, m: zerosLike(params), v: zerosLike(params), step: 0 };
const w = config.right.width;
const feeds = {
  x0: fillNormal(new Float32Array(batch * frames * w), rng),
  x1: fillNormal(new Float32Array(batch * frames * w), rng),
  t: Float32Array.from({ length: batch }, () => rng.nextFloat()),
  text: BigInt64Array.from(
    { length: batch * frames },
    () => BigInt(1 + Math.floor(rng.nextFloat() * 256)),
  ),
  mask: new Float32Array(batch * frames).fill(1),
  tokens: BigInt64Array.from(
    { length: batch * tokens },
    () => BigInt(Math.floor(rng.nextFloat() * 50000)),
  ),
  targets: BigInt64Array.from(
    { length: batch * tokens },
    () => BigInt(Math.floor(rng.nextFloat() * 50000)),
  ),
  tmask: new Float32Array(batch * tokens).fill(1),
};
async function ours(n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await trainCall(trainer, state, { batch: feeds, lr: 1e-4 })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    state = r.right.state;
    ms.push(performance.now() - t0);
  }
  return ms;
}

class Torch {
  #lines: AsyncIterator<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  constructor(attn: string) {
    const arg = JSON.stringify({
      whisper: a.whisper,
      ...shape,
      config: config.right,
      attn,
      threads,
    });
    const proc = new Deno.Command(a.python, {
      args: ["scripts/bench_t2s_torch.py", arg],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = proc.stdin.getWriter();
    this.#lines = proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
  }
  async next(): Promise<Record<string, unknown>> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error("bench_t2s_torch.py exited early");
    return JSON.parse(value);
  }
  async run(n: number): Promise<number[]> {
    await this.#writer.write(new TextEncoder().encode(`${n}\n`));
    return (await this.next()).ms as number[];
  }
  async close() {
    await this.#writer.close();
  }
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, out) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const l of lines) if (l.trim()) out.enqueue(l);
    },
  });
}

const eager = new Torch("eager"), sdpa = new Torch("sdpa");
const version = (await eager.next()).torch;
await sdpa.next();
await ours(2); // warm-up
const times = { flowt2s: [] as number[], eager: [] as number[], sdpa: [] as number[] };
for (let r = 0; r < rounds; r++) {
  times.flowt2s.push(...await ours(steps));
  times.eager.push(...await eager.run(steps));
  times.sdpa.push(...await sdpa.run(steps));
  console.error(`round ${r + 1}/${rounds}`);
}
await eager.close();
await sdpa.close();
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const m = { ours: median(times.flowt2s), eager: median(times.eager), sdpa: median(times.sdpa) };
console.log(
  `T2S distill step, ${a.size} config (width ${w}, depth ${config.right.depth}), Whisper ${a.whisper}, ` +
    `batch ${batch} x ${frames} frames x ${tokens} tokens, ${threads} threads, ${rounds} rounds x ${steps} steps, torch ${version}\n`,
);
console.log("| flowt2s ms | torch eager ms | torch sdpa ms | faster torch / flowt2s |");
console.log("| --- | --- | --- | --- |");
console.log(
  `| ${m.ours.toFixed(0)} | ${m.eager.toFixed(0)} | ${m.sdpa.toFixed(0)} | ${
    (Math.min(m.eager, m.sdpa) / m.ours).toFixed(2)
  } |`,
);
