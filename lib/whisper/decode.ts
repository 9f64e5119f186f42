/**
 * Decoding Whisper's tokens from encoder states: greedy and beam search, batched, on the
 * cached decoder step (each new token costs one step over a key/value cache, not a rerun of
 * the whole prefix), with Whisper's suppression rules and a length limit. Scores follow
 * openai/whisper: beams rank by summed log-probability over the text length (without
 * <|endoftext|>), or a length penalty; too few finished candidates are topped up with live beams.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { runSession, type Session, type SessionError, type Tensors } from "../graph/session.ts";
import { STEP_NAMES } from "./model.ts";
import { crossCache, stepSession, type WhisperModel } from "./runtime.ts";

/** What to decode and how. */
export interface DecodeOptions {
  /** Rows of `states`. */
  readonly batch: number;
  /** The forced start: start-of-transcript, language, task, no-timestamps. */
  readonly prefix: readonly number[];
  /** <|endoftext|>: ends a sequence. */
  readonly eot: number;
  /** Tokens never sampled (Whisper's suppress list, special and timestamp tokens). */
  readonly suppress?: readonly number[];
  /** Tokens not sampled first (Whisper suppresses a blank and <|endoftext|> there). */
  readonly suppressAtBegin?: readonly number[];
  /** Most sampled tokens per sequence (default 224, Whisper's limit, within the positions). */
  readonly maxTokens?: number;
  /** 1 (default) for greedy; beams per input otherwise (Whisper uses 5). */
  readonly beamSize?: number;
  /** Finished candidates to collect per input, as a multiple of the beam size (default 1). */
  readonly patience?: number;
  /** null (default): rank by log-probability / length; a number: Google NMT's penalty. */
  readonly lengthPenalty?: number | null;
  /** 0/1 mask [batch, frames] of real encoder frames (default all ones). */
  readonly statesMask?: Float32Array;
}

/** One decoded sequence. */
export interface Decoded {
  /** Sampled tokens, without the prefix and without <|endoftext|>. */
  readonly tokens: number[];
  /** Sum of the log-probabilities of the sampled tokens (with <|endoftext|> when reached). */
  readonly sumLogprob: number;
  /** sumLogprob / (tokens + 1), as openai/whisper reports it. */
  readonly avgLogprob: number;
  /** False when the length limit cut the sequence. */
  readonly finished: boolean;
}

interface Beam {
  tokens: number[];
  logprob: number;
}

/** Row-wise log-softmax in float64 after setting suppressed ids to -Infinity. */
function logProbs(logits: Float32Array, row: number, vocab: number, banned: Uint8Array) {
  const out = new Float64Array(vocab);
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) {
    const v = banned[i] ? -Infinity : logits[row * vocab + i];
    out[i] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(out[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < vocab; i++) out[i] -= lse;
  return out;
}

/** The k best (index, value) pairs of a row, best first. */
function topK(values: Float64Array, k: number): [number, number][] {
  const best: [number, number][] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === -Infinity || (best.length === k && v <= best[k - 1][1])) continue;
    let j = Math.min(best.length, k - 1);
    best[j] = [i, v];
    while (j > 0 && best[j - 1][1] < v) [best[j - 1], best[j]] = [best[j], best[j - 1]], j--;
  }
  return best;
}

/** Copies every row of [batch, ...] tensors `times` times: [batch * times, ...]. */
function repeatRows(tensors: Tensors, batch: number, times: number): Tensors {
  if (times === 1) return tensors;
  const out: Tensors = {};
  for (const [name, data] of Object.entries(tensors)) {
    const src = data as Float32Array, row = src.length / batch;
    const dst = new Float32Array(src.length * times);
    for (let b = 0; b < batch; b++) {
      for (let r = 0; r < times; r++) {
        dst.set(src.subarray(b * row, (b + 1) * row), (b * times + r) * row);
      }
    }
    out[name] = dst;
  }
  return out;
}

/** Sampled tokens without a final <|endoftext|> (openai/whisper ranks and averages on these). */
const textLength = (beam: { tokens: number[] }, eot: number) =>
  beam.tokens.length - (beam.tokens[beam.tokens.length - 1] === eot ? 1 : 0);

/**
 * The candidate openai/whisper's maximum-likelihood ranker picks: the highest summed
 * log-probability over the text length (tokens without the final <|endoftext|>), or over
 * Google NMT's ((5 + length) / 6) ** lengthPenalty.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { bestCandidate } from "./decode.ts";
 * const eot = 9;
 * const a = { tokens: [1, eot], logprob: -1 }, b = { tokens: [1, 2, 3, eot], logprob: -2.5 };
 * assert.equal(bestCandidate([a, b], { lengthPenalty: null, eot }), b); // -2.5 / 3 > -1 / 1
 * ```
 */
export function bestCandidate<C extends { tokens: number[]; logprob: number }>(
  pool: readonly C[],
  options: { lengthPenalty: number | null; eot: number },
): C {
  return pool.reduce((x, y) => (rankScore(y, options) > rankScore(x, options) ? y : x));
}

function rankScore(
  beam: { tokens: number[]; logprob: number },
  options: { lengthPenalty: number | null; eot: number },
): number {
  const { lengthPenalty } = options, length = textLength(beam, options.eot);
  const penalty = lengthPenalty === null ? length : ((5 + length) / 6) ** lengthPenalty;
  return beam.logprob / Math.max(penalty, 1e-9);
}

/**
 * Decodes every row of encoder states [batch, frames, dModel]: greedy when beamSize is 1,
 * beam search otherwise. Rows decode in lockstep on one batched session.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { whisperModel } from "./runtime.ts";
 * import { decode } from "./decode.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const states = new Float32Array(2 * 5 * model.config.dModel).fill(0.5);
 * const out = await orThrow(decode(model, states, { batch: 2, prefix: [265], eot: 264, maxTokens: 4 }));
 * assert.equal(out.length, 2);
 * assert.ok(out.every((d) => d.tokens.length <= 4));
 * ```
 */
export function decode(
  model: WhisperModel,
  states: Float32Array,
  options: DecodeOptions,
): TaskEither<SessionError, Decoded[]> {
  const { config } = model;
  const { batch, prefix, beamSize = 1, patience = 1, lengthPenalty = null } = options;
  const frames = states.length / (batch * config.dModel);
  const fail = (message: string) => TE.left<SessionError>({ _tag: "SessionError", message });
  if (!Number.isInteger(frames) || frames < 1) {
    return fail(`states have ${states.length} values: not [${batch}, frames, ${config.dModel}]`);
  }
  if (prefix.length === 0) {
    return fail("the decoding prefix is empty; start with <|startoftranscript|>");
  }
  const room = config.maxTargetPositions - prefix.length;
  const maxTokens = Math.min(options.maxTokens ?? 224, room);
  if (maxTokens < 1) return fail(`a prefix of ${prefix.length} tokens leaves no room to decode`);
  if (!(beamSize >= 1 && Number.isInteger(beamSize))) {
    return fail(`beamSize must be a positive integer, got ${beamSize}`);
  }
  const rows = batch * beamSize, capacity = prefix.length + maxTokens;
  return F.pipe(
    TE.Do,
    TE.bind("cross", () => crossCache(model, states, { batch, frames })),
    TE.bind("step", () => stepSession(model, { batch: rows, frames, capacity })),
    TE.flatMap(({ cross, step }) =>
      TE.tryCatch(
        () =>
          search(step, {
            ...options,
            cross: repeatRows(cross, batch, beamSize),
            frames,
            rows,
            maxTokens,
            capacity,
            patience,
            lengthPenalty,
          }, model),
        (e) => ({
          _tag: "SessionError" as const,
          message: e instanceof Error ? e.message : String(e),
        }),
      )
    ),
  );
}

interface SearchPlan extends DecodeOptions {
  cross: Tensors;
  frames: number;
  rows: number;
  maxTokens: number;
  capacity: number;
  patience: number;
  lengthPenalty: number | null;
}

async function search(step: Session, plan: SearchPlan, model: WhisperModel): Promise<Decoded[]> {
  const { config } = model, vocab = config.vocabSize;
  const { batch, rows, prefix, eot, frames, capacity, maxTokens } = plan;
  const beamSize = rows / batch;
  const heads = config.decoderHeads, dh = config.dModel / heads;
  const cacheSize = rows * heads * capacity * dh;
  let caches: Tensors = {};
  for (let i = 0; i < config.decoderLayers; i++) {
    caches[STEP_NAMES.selfKey(i)] = new Float32Array(cacheSize);
    caches[STEP_NAMES.selfValue(i)] = new Float32Array(cacheSize);
  }
  const crossMask = plan.statesMask
    ? (repeatRows({ m: plan.statesMask }, batch, beamSize).m as Float32Array)
    : new Float32Array(rows * frames).fill(1);
  const banned = new Uint8Array(vocab), bannedFirst = new Uint8Array(vocab);
  for (const t of plan.suppress ?? []) if (t >= 0 && t < vocab) banned[t] = bannedFirst[t] = 1;
  for (const t of plan.suppressAtBegin ?? []) if (t >= 0 && t < vocab) bannedFirst[t] = 1;
  const identity = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));

  const run = async (tokens: number[], position: number, reorder: BigInt64Array) => {
    const out = await runSession(step, {
      ...caches,
      ...plan.cross,
      [STEP_NAMES.token]: BigInt64Array.from(tokens, BigInt),
      [STEP_NAMES.position]: new BigInt64Array([BigInt(position)]),
      [STEP_NAMES.reorder]: reorder,
      [STEP_NAMES.crossMask]: crossMask,
    })();
    if (out._tag === "Left") throw new Error(out.left.message);
    const next: Tensors = {};
    for (let i = 0; i < config.decoderLayers; i++) {
      next[STEP_NAMES.selfKey(i)] = out.right[STEP_NAMES.nextKey(i)];
      next[STEP_NAMES.selfValue(i)] = out.right[STEP_NAMES.nextValue(i)];
    }
    caches = next;
    return out.right[STEP_NAMES.logits] as Float32Array;
  };

  let logits: Float32Array = new Float32Array(0);
  for (let p = 0; p < prefix.length; p++) {
    logits = await run(Array(rows).fill(prefix[p]), p, identity);
  }
  // beams[b]: the live beams of input b; finished[b]: its completed candidates.
  let beams: Beam[][] = Array.from({ length: batch }, () => [{ tokens: [], logprob: 0 }]);
  const finished: Beam[][] = Array.from({ length: batch }, () => []);
  const wanted = Math.max(1, Math.round(beamSize * plan.patience));
  for (let n = 0; n < maxTokens; n++) {
    const reorder = new BigInt64Array(rows), tokens: number[] = Array(rows).fill(eot);
    const next: Beam[][] = [];
    for (let b = 0; b < batch; b++) {
      if (finished[b].length >= wanted || beams[b].length === 0) {
        next.push([]);
        for (let j = 0; j < beamSize; j++) reorder[b * beamSize + j] = BigInt(b * beamSize + j);
        continue;
      }
      const candidates: { beam: Beam; source: number }[] = [];
      beams[b].forEach((beam, j) => {
        const row = b * beamSize + j;
        const lp = logProbs(logits, row, vocab, n === 0 ? bannedFirst : banned);
        for (const [token, value] of topK(lp, beamSize + 1)) {
          candidates.push({
            beam: { tokens: [...beam.tokens, token], logprob: beam.logprob + value },
            source: row,
          });
        }
      });
      candidates.sort((x, y) => y.beam.logprob - x.beam.logprob);
      const live: Beam[] = [];
      for (const { beam, source } of candidates) {
        const last = beam.tokens[beam.tokens.length - 1];
        if (last === eot) {
          if (finished[b].length < wanted) finished[b].push(beam);
        } else {
          const row = b * beamSize + live.length;
          reorder[row] = BigInt(source);
          tokens[row] = last;
          live.push(beam);
        }
        if (live.length === beamSize) break;
      }
      for (let j = live.length; j < beamSize; j++) {
        reorder[b * beamSize + j] = BigInt(b * beamSize + j);
      }
      next.push(live);
    }
    beams = next;
    if (beams.every((live, b) => live.length === 0 || finished[b].length >= wanted)) break;
    if (n + 1 < maxTokens) logits = await run(tokens, prefix.length + n, reorder);
  }
  const rank = { lengthPenalty: plan.lengthPenalty, eot };
  return finished.map((done, b) => {
    // As openai/whisper: too few finished candidates are topped up with the likeliest live beams.
    const live = [...beams[b]].sort((x, y) => y.logprob - x.logprob);
    const pool = [...done, ...live.slice(0, Math.max(0, beamSize - done.length))];
    const best = bestCandidate(pool, rank);
    const ended = best.tokens[best.tokens.length - 1] === eot;
    const tokens = ended ? best.tokens.slice(0, -1) : best.tokens;
    return {
      tokens,
      sumLogprob: best.logprob,
      avgLogprob: best.logprob / (tokens.length + 1),
      finished: ended,
    };
  });
}
