/**
 * Text to states with a trained model, and the text the frozen Whisper decoder reads back
 * from them: the round trip that sampling and evaluation report.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { Solver } from "../flow/ode.ts";
import { perSampleNoise } from "../flow/guidance.ts";
import type { ParamStore } from "../graph/params.ts";
import type { SessionOptions } from "../graph/session.ts";
import { frames as estimateFrames } from "../length/mod.ts";
import { readBack } from "../whisper/readback.ts";
import type { DecoderInterface } from "../whisper/silence.ts";
import { type ChannelStats, denormalizeStates, normalizeStates } from "../speech/prior.ts";
import type { WhisperModel } from "../whisper/runtime.ts";
import { modelTokenizer, type WhisperTokenizer } from "../whisper/tokenizer.ts";
import { openWhisper } from "../whisper/open.ts";
import type { T2SCheckpoint } from "./checkpoint.ts";
import { assembleBatch, shapeFor } from "./batch.ts";
import type { T2SConfig } from "./config.ts";
import { sampleStates, velocitySession, type VelocitySessions } from "./states.ts";
import { prepareSentences } from "./training.ts";

/** One generated sentence's states (what `generate` gives with `decode: false`). */
export interface GeneratedStates {
  /** The input text. */
  readonly text: string;
  /** Its language. */
  readonly lang: string;
  /** Frames generated (50 per second). */
  readonly frames: number;
  /** States [frames, width]. */
  readonly states: Float32Array;
}

/** One generated sentence and what the frozen decoder reads back from it. */
export interface Generated extends GeneratedStates {
  /** What the frozen decoder reads from the states (greedy). */
  readonly decoded: string;
  /** False when the read-back hit its token limit (a loop, usually). */
  readonly finished: boolean;
  /** The read-back tripped Whisper's loop guards (unfinished, or compression ratio above 2.4). */
  readonly looped: boolean;
}

/** How to generate. */
export interface GenerateOptions {
  /** The network's shape. */
  readonly config: T2SConfig;
  /** Its weights (the EMA weights of a checkpoint). */
  readonly params: ParamStore;
  /** The frozen Whisper that reads the states back. */
  readonly whisper: WhisperModel;
  /** Its tokenizer. */
  readonly tokenizer: WhisperTokenizer;
  /**
   * Seed of the noise. Without `ids`, sentence i of a call starts from seed + i, whatever the
   * batching; with `ids`, from {@link sentenceSeed}(seed, id).
   */
  readonly seed?: number;
  /**
   * A stable id per sentence (e.g. a corpus's line id). Each sentence's noise then comes from
   * (seed, id) alone and every batch is padded to `batch` rows, so its states are the same bytes
   * whichever sentences share its call or batch, in whatever order or shard.
   */
  readonly ids?: readonly string[];
  /** Read the states back through the frozen decoder (default true). */
  readonly decode?: boolean;
  /** Sentences per batch (default 8). */
  readonly batch?: number;
  /** ODE steps (default 16). */
  readonly steps?: number;
  /** ODE solver (default euler). */
  readonly solver?: Solver;
  /** Sway of the time grid (default -1). */
  readonly sway?: number;
  /** Guidance weight (default 0). */
  readonly guidance?: number;
  /** Session options of the velocity network. */
  readonly sessionOptions?: SessionOptions;
  /** Sessions to reuse across calls. */
  readonly sessions?: VelocitySessions;
  /** Called after each batch with the number of sentences done. */
  readonly onBatch?: (done: number) => void;
  /** Per-channel statistics the model was trained in (states are un-normalised with them). */
  readonly norm?: ChannelStats;
  /** How the frozen decoder reads the states (default "silence"). */
  readonly decoderInterface?: DecoderInterface;
  /**
   * Per sentence, the states sampling starts from instead of noise ([frames, width] in Whisper's
   * space, normalised with `norm`; a bridge checkpoint's prior states): they fix the frames.
   */
  readonly starts?: readonly Float32Array[];
}

const utf8 = new TextEncoder();

/** Murmur3's finaliser: every input bit reaches every output bit. */
const fmix32 = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * The noise seed of sentence `id` under the global `seed`: a 53-bit hash of both (two 32-bit
 * FNV-1a lanes, finalised), the same on every machine and run, so a sentence draws the same
 * noise whichever shard, batch or order it is generated in. Throws a RangeError unless `seed`
 * is a safe integer.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { sentenceSeed } from "./generate.ts";
 * assert.equal(sentenceSeed(0, "a.jsonl:3"), sentenceSeed(0, "a.jsonl:3"));
 * assert.notEqual(sentenceSeed(0, "a.jsonl:3"), sentenceSeed(0, "a.jsonl:4"));
 * assert.notEqual(sentenceSeed(0, "a.jsonl:3"), sentenceSeed(1, "a.jsonl:3"));
 * assert.ok(Number.isSafeInteger(sentenceSeed(7, "x")));
 * ```
 */
export function sentenceSeed(seed: number, id: string): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`sentenceSeed: seed must be a safe integer, got ${seed}`);
  }
  const lo = seed >>> 0, hi = Math.floor(seed / 0x100000000) >>> 0;
  let a = fmix32(lo ^ 0x811c9dc5), b = fmix32(hi ^ 0x9e3779b9 ^ fmix32(lo));
  for (const byte of utf8.encode(id)) {
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995);
  }
  return (fmix32(b ^ a) & 0x1fffff) * 0x100000000 + fmix32(a);
}

/**
 * Generates states for each sentence (frame counts from lib/length) and, unless
 * `decode: false`, reads them back through the frozen decoder. An empty text, an unknown
 * language or a text longer than 30 s is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initParams } from "../graph/params.ts";
 * import { createRng } from "../random.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * import { generate } from "./generate.ts";
 * import { t2sParamDefs } from "./network.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const tokenizer = modelTokenizer(whisper);
 * const config = t2sConfig("tiny", { width: 32 });
 * if (tokenizer._tag === "Left" || config._tag === "Left") throw new Error("setup");
 * const params = initParams(t2sParamDefs(config.right), { rng: createRng(0) });
 * const out = await generate([{ text: "Hello.", lang: "en" }], {
 *   config: config.right, params, whisper, tokenizer: tokenizer.right, steps: 2 });
 * if (out._tag === "Left") throw new Error(out.left.message);
 * assert.equal(out.right[0].states.length, out.right[0].frames * 32);
 * assert.equal(typeof out.right[0].decoded, "string");
 * // By id, without the read-back: a sentence's states do not depend on its neighbours.
 * const one = await generate([{ text: "Hello.", lang: "en" }], {
 *   config: config.right, params, whisper, tokenizer: tokenizer.right, steps: 2,
 *   ids: ["s1"], decode: false });
 * const two = await generate([{ text: "Hi.", lang: "en" }, { text: "Hello.", lang: "en" }], {
 *   config: config.right, params, whisper, tokenizer: tokenizer.right, steps: 2,
 *   ids: ["s0", "s1"], decode: false });
 * if (one._tag === "Left" || two._tag === "Left") throw new Error("generate");
 * assert.deepEqual(one.right[0].states, two.right[1].states);
 * assert.ok(!("decoded" in one.right[0]));
 * ```
 */
export function generate(
  sentences: readonly { text: string; lang: string; frames?: number }[],
  options: GenerateOptions & { readonly decode?: true },
): Promise<Either<{ message: string }, Generated[]>>;
/**
 * As above, with `decode` possibly false: states only where it is (`"decoded" in g` tells).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initParams } from "../graph/params.ts";
 * import { orThrow } from "../result.ts";
 * import { createRng } from "../random.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { modelTokenizer } from "../whisper/tokenizer.ts";
 * import { t2sConfig } from "./config.ts";
 * import { generate } from "./generate.ts";
 * import { t2sParamDefs } from "./network.ts";
 * const whisper = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const config = orThrow(t2sConfig("tiny", { width: 32 }));
 * const params = initParams(t2sParamDefs(config), { rng: createRng(0) });
 * const decode = false as boolean;
 * const out = orThrow(await generate([{ text: "Hi.", lang: "en" }], {
 *   config, params, whisper, tokenizer: orThrow(modelTokenizer(whisper)), steps: 2, decode }));
 * assert.equal("decoded" in out[0], decode);
 * ```
 */
export function generate(
  sentences: readonly { text: string; lang: string; frames?: number }[],
  options: GenerateOptions,
): Promise<Either<{ message: string }, (GeneratedStates | Generated)[]>>;
export async function generate(
  sentences: readonly { text: string; lang: string; frames?: number }[],
  options: GenerateOptions,
): Promise<Either<{ message: string }, (GeneratedStates | Generated)[]>> {
  const { config, whisper, tokenizer, ids } = options;
  const seed = options.seed ?? 0, batchSize = options.batch ?? 8, w = config.width;
  if (options.starts && options.starts.length !== sentences.length) {
    return E.left({
      message:
        `${options.starts.length} start states for ${sentences.length} sentences; give one each`,
    });
  }
  if (ids && ids.length !== sentences.length) {
    return E.left({
      message: `${ids.length} ids for ${sentences.length} sentences; give one each`,
    });
  }
  if (ids && !Number.isSafeInteger(seed)) {
    return E.left({ message: `seed must be a safe integer, got ${seed}` });
  }
  const bad = options.starts?.findIndex((x) => x.length === 0 || x.length % w !== 0) ?? -1;
  if (bad >= 0) {
    return E.left({ message: `sentence ${bad + 1}: start states are not whole frames of ${w}` });
  }
  const framed = [];
  for (const [i, s] of sentences.entries()) {
    const est = estimateFrames(s.text, s.lang, { overflow: "error" });
    if (E.isLeft(est)) return E.left({ message: `sentence ${i + 1}: ${est.left.message}` });
    const start = options.starts?.[i];
    framed.push({
      id: String(i + 1),
      text: s.text,
      lang: est.right.language,
      frames: start ? start.length / w : s.frames ?? est.right.frames,
    });
  }
  const ready = prepareSentences(framed, { tokenizer });
  if (E.isLeft(ready)) return ready;
  const prepared = [...ready.right.values()];
  const sessions = options.sessions ?? new Map();
  const out: (GeneratedStates | Generated)[] = [];
  for (let start = 0; start < prepared.length; start += batchSize) {
    const items = prepared.slice(start, start + batchSize);
    // By id, every batch has `batch` rows: ONNX Runtime's kernels may round a row differently
    // in a batch of another size (a batch of one does), and the states must not depend on it.
    const shape = shapeFor(items, { batch: ids ? batchSize : items.length });
    const batch = assembleBatch(items, { shape });
    if (E.isLeft(batch)) return batch;
    const f = shape.frames;
    const x0 = new Float32Array(shape.batch * f * w);
    x0.set(perSampleNoise(items.map((_, row) => ({
      seed: ids ? sentenceSeed(seed, ids[start + row]) : seed + start + row,
      size: f * w,
    }))));
    if (options.starts) {
      x0.fill(0);
      items.forEach((_, row) => {
        const given = options.starts![start + row];
        x0.set(options.norm ? normalizeStates(given, options.norm) : given, row * f * w);
      });
    }
    const session = await velocitySession(config, {
      shape,
      sessions,
      sessionOptions: options.sessionOptions,
    })();
    if (E.isLeft(session)) return session;
    const states = await sampleStates(session.right, {
      batch: batch.right,
      params: options.params,
      x0,
      steps: options.steps,
      solver: options.solver,
      sway: options.sway,
      guidance: options.guidance,
    })();
    if (E.isLeft(states)) return states;
    const cutRow = (r: number) => {
      const x = states.right.slice(r * f * w, (r * f + items[r].frames) * w);
      return options.norm ? denormalizeStates(x, options.norm) : x;
    };
    if (options.decode === false) {
      items.forEach((item, r) => {
        out[start + r] = {
          text: item.text,
          lang: item.lang,
          frames: item.frames,
          states: cutRow(r),
        };
      });
      options.onBatch?.(Math.min(start + batchSize, prepared.length));
      continue;
    }
    // Decoding groups by language: the prompt names it.
    for (const lang of new Set(items.map((i) => i.lang))) {
      const rows = items.flatMap((item, r) => (item.lang === lang ? [r] : []));
      const cut = rows.map(cutRow);
      const decoded = await readBack(whisper, cut, {
        tokenizer,
        lang,
        interface: options.decoderInterface,
      })();
      if (E.isLeft(decoded)) return decoded;
      rows.forEach((r, j) => {
        const item = items[r];
        out[start + r] = {
          text: item.text,
          lang: item.lang,
          frames: item.frames,
          states: cut[j],
          decoded: decoded.right[j].text,
          finished: decoded.right[j].finished,
          looped: decoded.right[j].looped,
        };
      });
    }
    options.onBatch?.(Math.min(start + batchSize, prepared.length));
  }
  return E.right(out);
}

/**
 * The frozen Whisper a checkpoint was trained with (the name in its metadata, or `whisper`),
 * opened, checked to be as wide as the checkpoint's states, with its tokenizer.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initParams, zerosLike } from "../graph/params.ts";
 * import { createRng } from "../random.ts";
 * import { t2sConfig } from "./config.ts";
 * import { whisperOf } from "./generate.ts";
 * import { t2sParamDefs } from "./network.ts";
 * const config = t2sConfig("tiny", { width: 64 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const params = initParams(t2sParamDefs(config.right), { rng: createRng(0) });
 * const ckpt = { config: config.right, params, ema: params, m: zerosLike(params),
 *   v: zerosLike(params), targets: {}, metadata: { whisper: "tiny-random" } };
 * const opened = await whisperOf(ckpt, { threads: 1 });
 * assert.ok(opened._tag === "Left" && opened.left.message.includes("32 wide")); // tiny-random is 32
 * ```
 */
export async function whisperOf(
  checkpoint: T2SCheckpoint,
  options: { whisper?: string; threads?: number; offline?: boolean } = {},
): Promise<
  Either<{ message: string }, { name: string; whisper: WhisperModel; tokenizer: WhisperTokenizer }>
> {
  const name = options.whisper ?? checkpoint.metadata.whisper;
  if (!name) return E.left({ message: "the checkpoint does not name its Whisper model; pass one" });
  const whisper = await openWhisper(name, {
    threads: options.threads,
    hub: { offline: options.offline },
  })();
  if (E.isLeft(whisper)) return E.left({ message: `Whisper ${name}: ${whisper.left.message}` });
  const width = whisper.right.config.dModel;
  if (width !== checkpoint.config.width) {
    return E.left({
      message:
        `Whisper ${name} is ${width} wide; the checkpoint's states are ${checkpoint.config.width}`,
    });
  }
  const tokenizer = modelTokenizer(whisper.right);
  if (E.isLeft(tokenizer)) return tokenizer;
  return E.right({ name, whisper: whisper.right, tokenizer: tokenizer.right });
}

/**
 * What a checkpoint says about reading its states back: the normalisation statistics (runs on
 * normalised targets) and the decoder interface it trained with ("mask" for checkpoints made
 * before the silence interface existed).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { readingOf } from "./generate.ts";
 * const r = readingOf({ metadata: { norm: JSON.stringify({ mean: [1], std: [2] }), interface: "silence" } });
 * assert.deepEqual([...r.norm!.std], [2]);
 * assert.equal(readingOf({ metadata: {} }).decoderInterface, "mask");
 * ```
 */
export function readingOf(
  checkpoint: { readonly metadata: Readonly<Record<string, string>> },
): { norm?: ChannelStats; decoderInterface: DecoderInterface; source: "noise" | "prior" } {
  const norm = JSON.parse(checkpoint.metadata.norm ?? "null");
  return {
    norm: norm
      ? { mean: Float32Array.from(norm.mean), std: Float32Array.from(norm.std) }
      : undefined,
    decoderInterface: checkpoint.metadata.interface === "silence" ? "silence" : "mask",
    source: checkpoint.metadata.source === "prior" ? "prior" : "noise",
  };
}
