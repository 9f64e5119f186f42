/**
 * Producing states for a batch: decoder inversion (gradient steps on the frozen decoder's
 * cross-entropy with respect to the states) and ODE sampling of the CFM model.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { integrate, type Solver, timeGrid } from "../flow/ode.ts";
import { guidedVelocity } from "../flow/guidance.ts";
import { Graph } from "../graph/builder.ts";
import { ADAMW_DEFAULTS, adamwInPlace } from "../graph/optim.ts";
import type { ParamStore } from "../graph/params.ts";
import {
  cachedOpen,
  type OpenCache,
  openSession,
  runSession,
  type Session,
  type SessionError,
  type SessionOptions,
} from "../graph/session.ts";
import { inversionVocab, teacherForcedLoss, type WhisperModel } from "../whisper/runtime.ts";
import { type Batch, maskFrames } from "./batch.ts";
import type { T2SConfig } from "./config.ts";
import { graphParams, t2sParamDefs, velocity } from "./network.ts";
import type { BatchShape } from "./objective.ts";

/** Settings of {@link invertStates}. */
export interface InvertOptions {
  /** The batch (text, masks). */
  readonly batch: Batch;
  /** Adam steps. */
  readonly steps: number;
  /** Adam learning rate. */
  readonly lr: number;
  /** Silence states: score through the [states; silence tail] interface (default: key mask). */
  readonly silence?: Float32Array;
  /**
   * A pull back to `anchor` (same shape as the states): `weight` times the mean squared
   * difference over the real frames, per channel divided by `std` squared when given.
   */
  readonly pull?: {
    readonly anchor: Float32Array;
    readonly weight: number;
    readonly std?: Float32Array;
  };
  /**
   * A restricted vocabulary for the steps: the softmax over the batch's targets, end-of-text,
   * start-of-transcript and this many more ids (`inversionVocab`), instead of all V; the last
   * loss, the result's, is still over the full vocabulary. Default: the full vocabulary.
   */
  readonly vocab?: number;
}

/** Decoder inversion's optimizer: the engine's AdamW without weight decay (Adam). */
const INVERSION_ADAM = { ...ADAMW_DEFAULTS, weightDecay: 0 };

/**
 * Decoder inversion: `steps` Adam steps (learning rate `lr`) on the states themselves, lowering
 * the frozen decoder's teacher-forced cross-entropy of the batch's text. Padding frames stay
 * zero. Returns the states and the loss before each step and after the last (with `vocab`,
 * the steps' losses are over the restricted vocabulary and the last over the full one).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { invertStates } from "./states.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const batch = { shape: { batch: 1, frames: 4, tokens: 2 }, items: [],
 *   text: new BigInt64Array(4), mask: new Float32Array([1, 1, 1, 0]),
 *   tokens: new BigInt64Array([265n, 72n]), targets: new BigInt64Array([72n, 264n]),
 *   tmask: new Float32Array([1, 1]) };
 * const { losses } = await orThrow(invertStates(model, new Float32Array(4 * 32), { batch, steps: 5, lr: 0.1 }));
 * assert.ok(losses[5] < losses[0]);
 * // The same steps through a softmax over the targets and 100 more ids:
 * const some = await orThrow(invertStates(model, new Float32Array(4 * 32), { batch, steps: 5, lr: 0.1, vocab: 100 }));
 * assert.ok(some.losses[5] < losses[0]);
 * ```
 */
export function invertStates(
  model: WhisperModel,
  start: Float32Array,
  options: InvertOptions,
): TaskEither<SessionError, { states: Float32Array; losses: number[] }> {
  const { batch, steps, lr, silence, pull } = options, d = model.config.dModel;
  const real = batch.mask.reduce((s, m) => s + m, 0) * d;
  const vocab = options.vocab === undefined ? undefined : inversionVocab(model.config, {
    targets: batch.targets,
    mask: batch.tmask,
    extra: options.vocab,
  });
  return async () => {
    const x = Float32Array.from(start),
      m = new Float32Array(x.length),
      v = new Float32Array(x.length);
    const losses: number[] = [];
    for (let k = 0; k <= steps; k++) {
      const out = await teacherForcedLoss(model, {
        states: x,
        statesMask: batch.mask,
        tokens: batch.tokens,
        targets: batch.targets,
        mask: batch.tmask,
        batch: batch.shape.batch,
        silence,
        vocab: k < steps ? vocab : undefined,
      })();
      if (E.isLeft(out)) return out;
      losses.push(out.right.loss);
      if (k === steps) break;
      const g = out.right.gradStates;
      if (pull) {
        // weight * mean(((x - anchor) / std)^2) over the real frames: its gradient.
        const { anchor, weight, std } = pull, scale = (2 * weight) / Math.max(1, real);
        for (let i = 0; i < x.length; i++) {
          const s = std ? std[i % d] : 1;
          g[i] += (scale * (x[i] - anchor[i])) / (s * s);
        }
      }
      adamwInPlace({ param: x, grad: g, m, v }, { lr, step: k + 1, config: INVERSION_ADAM });
    }
    return E.right({ states: maskFrames(x, { mask: batch.mask, width: d }), losses });
  };
}

/** Sessions of the velocity network, one per batch shape. */
export type VelocitySessions = OpenCache<Session>;

/**
 * The velocity network's session for `shape` (inputs `xt` [B, F, width], `t` [B], `text`
 * [B, F], `mask` [B, F] and every parameter by name, fed per call; output `v` [B, F, width]).
 * Sessions are opened once per batch shape and kept in `sessions`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { t2sConfig } from "./config.ts";
 * import { velocitySession, type VelocitySessions } from "./states.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const sessions: VelocitySessions = new Map();
 * const shape = { batch: 2, frames: 4, tokens: 2 };
 * const s = await orThrow(velocitySession(config.right, { shape, sessions }));
 * assert.deepEqual(s.outputs.get("v")?.shape, [2, 4, 32]);
 * assert.equal(await orThrow(velocitySession(config.right, { shape, sessions })), s);
 * ```
 */
export function velocitySession(
  config: T2SConfig,
  options: { shape: BatchShape; sessions: VelocitySessions; sessionOptions?: SessionOptions },
): TaskEither<SessionError, Session> {
  const { shape, sessions } = options;
  const key = `${shape.batch}x${shape.frames}`;
  return cachedOpen(sessions, key, () => {
    const g = new Graph("t2s_velocity");
    const params = graphParams(g, t2sParamDefs(config));
    const xt = g.input("xt", {
      dtype: "float32",
      shape: [shape.batch, shape.frames, config.width],
    });
    const t = g.input("t", { dtype: "float32", shape: [shape.batch] });
    const text = g.input("text", { dtype: "int64", shape: [shape.batch, shape.frames] });
    const mask = g.input("mask", { dtype: "float32", shape: [shape.batch, shape.frames] });
    g.output(velocity({ xt, t, text, mask }, { params, config }), "v");
    return openSession(g, options.sessionOptions);
  });
}

/** How to sample. */
export interface StateSampleOptions {
  /** The batch (text, masks). */
  readonly batch: Batch;
  /** Model parameters (the EMA weights, usually). */
  readonly params: ParamStore;
  /** Starting noise [B, F, width]. */
  readonly x0: Float32Array;
  /** ODE steps (default 16). */
  readonly steps?: number;
  /** Solver (default euler). */
  readonly solver?: Solver;
  /** Sway of the time grid (default -1, F5-TTS's choice; 0 = uniform). */
  readonly sway?: number;
  /** Classifier-free guidance weight w, Ho & Salimans form (default 0: none). */
  readonly guidance?: number;
}

/**
 * Integrates the CFM model's ODE from noise to states for a batch; padding frames stay zero.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { initParams } from "../graph/params.ts";
 * import { createRng } from "../random.ts";
 * import { t2sConfig } from "./config.ts";
 * import { t2sParamDefs } from "./network.ts";
 * import { sampleStates, velocitySession } from "./states.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const shape = { batch: 1, frames: 4, tokens: 2 };
 * const session = await orThrow(velocitySession(config.right, { shape, sessions: new Map() }));
 * const params = initParams(t2sParamDefs(config.right), { rng: createRng(0) });
 * const batch = { shape, items: [], text: new BigInt64Array(4), mask: new Float32Array([1, 1, 1, 0]),
 *   tokens: new BigInt64Array(2), targets: new BigInt64Array(2), tmask: new Float32Array(2) };
 * const x0 = new Float32Array(4 * 32).fill(1);
 * const x1 = await orThrow(sampleStates(session, { batch, params, x0, steps: 2 }));
 * assert.deepEqual(x1.slice(0, 32), x0.slice(0, 32)); // a fresh model's velocity is zero
 * assert.ok(x1.slice(96).every((v) => v === 0)); // the padding frame
 * ```
 */
export function sampleStates(
  session: Session,
  options: StateSampleOptions,
): TaskEither<SessionError, Float32Array> {
  const { batch, params, x0, steps = 16, solver = "euler", sway = -1, guidance = 0 } = options;
  const b = batch.shape.batch, d = x0.length / (b * batch.shape.frames);
  const feedsOf = (x: Float32Array, t: number, text: BigInt64Array) => {
    const feeds: Record<string, Float32Array | BigInt64Array> = {
      xt: x,
      t: new Float32Array(b).fill(t),
      text,
      mask: batch.mask,
    };
    for (const [n, p] of Object.entries(params)) feeds[n] = p.data;
    return feeds;
  };
  const unconditional = new BigInt64Array(batch.text.length);
  const run = async (x: Float32Array, t: number, text: BigInt64Array) => {
    const out = await runSession(session, feedsOf(x, t, text), { fetches: ["v"] })();
    if (E.isLeft(out)) throw new Error(out.left.message);
    return out.right.v as Float32Array;
  };
  return F.pipe(
    TE.tryCatch(
      () =>
        integrate(
          async (x, t) => {
            const cond = await run(x, t, batch.text);
            return guidance === 0
              ? cond
              : guidedVelocity(cond, await run(x, t, unconditional), { weight: guidance });
          },
          x0,
          { solver, grid: timeGrid(steps, { sway }) },
        ),
      (e): SessionError => ({
        _tag: "SessionError",
        message: e instanceof Error ? e.message : String(e),
      }),
    ),
    TE.map((x) => maskFrames(x, { mask: batch.mask, width: d })),
  );
}
