/**
 * One training step as one ONNX graph: forward, backward (grad.ts), global-norm clipping,
 * AdamW and, when asked, the exponential moving average of the parameters. Parameters and
 * optimizer state go in; the loss and the updated state come out.
 * Micro-batches accumulate gradients inside the graph; several steps can be fused into one
 * call so that moving state in and out of ONNX Runtime is paid once per call.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { Graph, type Value } from "./builder.ts";
import { GraphError } from "./errors.ts";
import { grad } from "./grad.ts";
import { add, cast, concat, gather, mul, reshape, sub } from "./ops.ts";
import { adamw, ADAMW_DEFAULTS, type AdamWConfig, clipCoefficient } from "./optim.ts";
import type { ParamStore, Tensor } from "./params.ts";
import { zerosLike } from "./params.ts";
import {
  openSession,
  runSession,
  type Session,
  type SessionError,
  type SessionOptions,
  type Tensors,
} from "./session.ts";
import type { DType, Shape } from "./types.ts";

/** Builds a scalar loss from parameter values and one micro-batch. */
export type LossFn = (
  params: Readonly<Record<string, Value>>,
  batch: Readonly<Record<string, Value>>,
) => Value;

/** What a training step trains: parameter shapes, one micro-batch's inputs, the loss. */
export interface TrainSpec {
  /** Parameter shapes by name (all float32). */
  readonly params: Readonly<Record<string, Shape>>;
  /** One micro-batch's inputs by name, with dtype and shape. */
  readonly batch: Readonly<Record<string, { readonly dtype: DType; readonly shape: Shape }>>;
  /** The scalar loss of one micro-batch. */
  readonly loss: LossFn;
}

/** How a step is built. */
export interface TrainStepOptions {
  /** AdamW hyperparameters that differ from {@link ADAMW_DEFAULTS}. */
  readonly adamw?: Partial<AdamWConfig>;
  /** Global gradient-norm clip (default 1; Infinity disables clipping; the norm is always reported). */
  readonly maxGradNorm?: number;
  /**
   * Micro-batches whose gradients are averaged before one update (default 1). Each
   * micro-batch's loss counts equally, so a loss that averages over a variable number of
   * kept positions (cross-entropy with ignored targets) is a mean of means.
   */
  readonly microBatches?: number;
  /** Optimizer steps fused into one session call (default 1). */
  readonly stepsPerCall?: number;
  /** Which parameters get weight decay (default: rank >= 2, i.e. not biases or norms). */
  readonly decay?: (name: string, shape: Shape) => boolean;
  /**
   * Keep an exponential moving average of the parameters in the graph (default false): inputs
   * `ema/<name>` and `ema_decay` ([stepsPerCall] float64), outputs `next/ema/<name>`, where
   * after each fused step ema' = decay ema + (1 - decay) p' with p' the updated parameters.
   */
  readonly ema?: boolean;
}

/**
 * Graph input/output names of the optimizer state.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { stateName } from "./train.ts";
 * assert.equal(stateName.m("w"), "adam.m/w");
 * assert.equal(stateName.next(stateName.v("w")), "next/adam.v/w");
 * ```
 */
export const stateName = {
  m: (name: string): string => `adam.m/${name}`,
  v: (name: string): string => `adam.v/${name}`,
  ema: (name: string): string => `ema/${name}`,
  next: (name: string): string => `next/${name}`,
} as const;

/**
 * Builds the training-step graph. Inputs: each parameter by name, its moments
 * `adam.m/<name>` and `adam.v/<name>`, `lr` and `step` ([stepsPerCall] float64; step counts
 * from 1), and each batch input shaped [stepsPerCall, microBatches, ...shape]. Outputs:
 * `loss` and `grad_norm` ([stepsPerCall]) and `next/<input>` for every state input. With
 * `ema`, also `ema/<name>` per parameter and `ema_decay` ([stepsPerCall] float64) in, and the
 * averages after each step's update out (see {@link TrainStepOptions.ema}).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { buildTrainStep } from "./train.ts";
 * import { linear, mseLoss } from "./nn.ts";
 * const g = buildTrainStep({
 *   params: { w: [3, 1] },
 *   batch: { x: { dtype: "float32", shape: [4, 3] }, y: { dtype: "float32", shape: [4, 1] } },
 *   loss: (p, b) => mseLoss(linear(b.x, { weight: p.w }), b.y),
 * });
 * assert.ok(g.outputs.some((v) => g.serialName(v) === "next/w"));
 * ```
 */
export function buildTrainStep(spec: TrainSpec, options: TrainStepOptions = {}): Graph {
  const steps = options.stepsPerCall ?? 1, micro = options.microBatches ?? 1;
  const config = { ...ADAMW_DEFAULTS, ...options.adamw };
  const maxNorm = options.maxGradNorm ?? 1;
  checkTrainSpec(spec, { steps, micro, maxNorm });
  const decay = options.decay ?? ((_: string, shape: Shape) => shape.length >= 2);
  const g = new Graph("train_step");
  const names = Object.keys(spec.params);
  let params = names.map((n) => g.input(n, { dtype: "float32", shape: spec.params[n] }));
  let ms = names.map((n) => g.input(stateName.m(n), { dtype: "float32", shape: spec.params[n] }));
  let vs = names.map((n) => g.input(stateName.v(n), { dtype: "float32", shape: spec.params[n] }));
  let emas = options.ema
    ? names.map((n) => g.input(stateName.ema(n), { dtype: "float32", shape: spec.params[n] }))
    : [];
  const lr = g.input("lr", { dtype: "float64", shape: [steps] });
  const step = g.input("step", { dtype: "float64", shape: [steps] });
  const emaDecay = options.ema
    ? g.input("ema_decay", { dtype: "float64", shape: [steps] })
    : undefined;
  const batch = Object.entries(spec.batch).map(([k, s]) =>
    [k, g.input(k, { dtype: s.dtype, shape: [steps, micro, ...s.shape] })] as const
  );
  // Slicing one step's micro-batch: a reshape (no copy) when there is only one.
  const at = (v: Value, i: number) =>
    v.shape[0] === 1 ? reshape(v, v.shape.slice(1)) : gather(v, g.constant(i, { dtype: "int64" }));
  const losses: Value[] = [], norms: Value[] = [];
  for (let s = 0; s < steps; s++) {
    g.scope(`step${s}`, () => {
      const p = Object.fromEntries(names.map((n, i) => [n, params[i]]));
      let lossSum: Value | undefined, gradSum: Value[] | undefined;
      for (let k = 0; k < micro; k++) {
        const b = Object.fromEntries(batch.map(([key, v]) => [key, at(at(v, s), k)]));
        const loss = g.scope(`micro${k}`, () => spec.loss(p, b));
        const grads = grad(loss, params);
        lossSum = lossSum ? add(lossSum, loss) : loss;
        gradSum = gradSum ? gradSum.map((a, i) => add(a, grads[i])) : grads;
      }
      const mean = (v: Value) => (micro === 1 ? v : mul(v, 1 / micro));
      const grads = gradSum!.map(mean);
      const clip = clipCoefficient(grads, maxNorm);
      const updated = adamw(
        names.map((n, i) => ({
          param: params[i],
          grad: grads[i],
          m: ms[i],
          v: vs[i],
          decay: decay(n, spec.params[n]),
        })),
        {
          lr: at(lr, s),
          step: at(step, s),
          config,
          gradScale: Number.isFinite(maxNorm) ? clip.scale : undefined,
        },
      );
      params = updated.map((u) => u.param);
      ms = updated.map((u) => u.m);
      vs = updated.map((u) => u.v);
      if (emaDecay) emas = emaUpdate(emas, params, at(emaDecay, s));
      losses.push(reshape(mean(lossSum!), [1]));
      norms.push(reshape(clip.norm, [1]));
    });
  }
  g.output(steps === 1 ? losses[0] : concat(losses, 0), "loss");
  g.output(steps === 1 ? norms[0] : concat(norms, 0), "grad_norm");
  names.forEach((n, i) => {
    g.output(params[i], stateName.next(n));
    g.output(ms[i], stateName.next(stateName.m(n)));
    g.output(vs[i], stateName.next(stateName.v(n)));
    if (options.ema) g.output(emas[i], stateName.next(stateName.ema(n)));
  });
  return g;
}

/**
 * ema' = decay ema + (1 - decay) p for each pair, `decay` a float64 scalar whose two float32
 * coefficients are rounded once each, as a float64 reference rounds its result.
 */
function emaUpdate(emas: readonly Value[], params: readonly Value[], decay: Value): Value[] {
  const keep = cast(decay, "float32"), take = cast(sub(1, decay), "float32");
  return emas.map((e, i) => add(mul(e, keep), mul(params[i], take)));
}

/** Names the step graph uses itself; parameters and batch inputs must not take them. */
const RESERVED = new Set(["lr", "step", "loss", "grad_norm", "ema_decay"]);

function checkTrainSpec(
  spec: TrainSpec,
  options: { steps: number; micro: number; maxNorm: number },
): void {
  const { steps, micro, maxNorm } = options;
  const fail = (message: string): never => {
    throw new GraphError("buildTrainStep", message);
  };
  if (!Number.isInteger(steps) || steps < 1) {
    fail(`stepsPerCall must be an integer >= 1, got ${steps}`);
  }
  if (!Number.isInteger(micro) || micro < 1) {
    fail(`microBatches must be an integer >= 1, got ${micro}`);
  }
  if (!(maxNorm > 0)) fail(`maxGradNorm must be > 0 (Infinity disables clipping), got ${maxNorm}`);
  const params = Object.keys(spec.params), batch = Object.keys(spec.batch);
  if (params.length === 0) fail("no parameters to train");
  for (const name of [...params, ...batch]) {
    if (
      RESERVED.has(name) || name.startsWith("adam.") || name.startsWith("next/") ||
      name.startsWith("ema/")
    ) {
      fail(
        `'${name}' is reserved (lr, step, loss, grad_norm, ema_decay, adam.*, ema/*, next/*); ` +
          `rename it`,
      );
    }
  }
  for (const name of batch) {
    if (name in spec.params) fail(`'${name}' is both a parameter and a batch input`);
  }
}

/** Everything that evolves during training. */
export interface TrainState {
  /** Current parameters. */
  readonly params: ParamStore;
  /** AdamW first moments, shaped like the parameters. */
  readonly m: ParamStore;
  /** AdamW second moments, shaped like the parameters. */
  readonly v: ParamStore;
  /** Optimizer steps taken so far. */
  readonly step: number;
  /** The parameters' moving average, when the trainer keeps one ({@link TrainStepOptions.ema}). */
  readonly ema?: ParamStore;
}

/**
 * Fresh optimizer state for parameters.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initTrainState } from "./train.ts";
 * const s = initTrainState({ w: { shape: [2], data: new Float32Array(2) } });
 * assert.ok(s.step === 0 && s.m.w.data.length === 2);
 * ```
 */
export function initTrainState(params: ParamStore): TrainState {
  return { params, m: zerosLike(params), v: zerosLike(params), step: 0 };
}

/** A compiled training step. */
export interface Trainer {
  /** The open training-step session. */
  readonly session: Session;
  /** Parameter names, in the spec's order. */
  readonly names: readonly string[];
  /** Optimizer steps each call takes. */
  readonly stepsPerCall: number;
  /** Whether the step updates a moving average of the parameters ({@link TrainStepOptions.ema}). */
  readonly ema: boolean;
}

/** Failures of a training call: the session's, or a non-finite loss. */
export interface TrainError {
  /** Discriminant for telling TrainError apart from other errors. */
  readonly _tag: "TrainError";
  /** What went wrong, naming the step at fault. */
  readonly message: string;
}

/**
 * Builds and opens the training-step graph.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { linear, mseLoss } from "./nn.ts";
 * import { orThrow } from "../result.ts";
 * import { openTrainer, type TrainSpec } from "./train.ts";
 * const spec = {
 *   params: { w: [2, 1] },
 *   batch: { x: { dtype: "float32", shape: [1, 2] }, y: { dtype: "float32", shape: [1, 1] } },
 *   loss: (p, b) => mseLoss(linear(b.x, { weight: p.w }), b.y),
 * } satisfies TrainSpec;
 * const trainer = await orThrow(openTrainer(spec, { threads: 1, stepsPerCall: 2 }));
 * assert.deepEqual(trainer.names, ["w"]);
 * assert.deepEqual(trainer.session.inputs.get("x")?.shape, [2, 1, 1, 2]); // [steps, micro, ...]
 * ```
 */
export function openTrainer(
  spec: TrainSpec,
  options: TrainStepOptions & SessionOptions = {},
): TaskEither<SessionError, Trainer> {
  return F.pipe(
    openSession(buildTrainStep(spec, options), options),
    TE.map((session) => ({
      session,
      names: Object.keys(spec.params),
      stepsPerCall: options.stepsPerCall ?? 1,
      ema: options.ema ?? false,
    })),
  );
}

/**
 * Runs one session call (stepsPerCall optimizer steps) on `batch` (the batch inputs by name)
 * and returns the new state with the losses and pre-clip gradient norms. `lr` is a number or a
 * schedule of the step number; so is `emaDecay`, which a trainer opened with `ema` needs (with
 * `state.ema`), the decay applied after the update that makes that step.
 * A NaN or infinite loss is an error naming the step; the old state is untouched.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { linear, mseLoss } from "./nn.ts";
 * import { orThrow } from "../result.ts";
 * import { initTrainState, openTrainer, trainCall, type TrainSpec } from "./train.ts";
 * const spec = {
 *   params: { w: [2, 1] },
 *   batch: { x: { dtype: "float32", shape: [1, 2] }, y: { dtype: "float32", shape: [1, 1] } },
 *   loss: (p, b) => mseLoss(linear(b.x, { weight: p.w }), b.y),
 * } satisfies TrainSpec;
 * const trainer = await orThrow(openTrainer(spec, { threads: 1 }));
 * const state = initTrainState({ w: { shape: [2, 1], data: new Float32Array(2) } });
 * const batch = { x: new Float32Array([1, 2]), y: new Float32Array([1]) };
 * const out = await orThrow(trainCall(trainer, state, { batch, lr: 0.1 }));
 * assert.ok(out.state.step === 1 && out.losses[0] === 1); // loss before the update: (0 - 1)^2
 * assert.ok(out.state.params.w.data.every((v) => Math.abs(v - 0.1) < 1e-4)); // Adam's first step
 * // With a moving average kept in the graph: ema' = 0.9 ema + 0.1 p'.
 * const averaging = await orThrow(openTrainer(spec, { threads: 1, ema: true }));
 * const withEma = { ...state, ema: state.params };
 * const next = await orThrow(trainCall(averaging, withEma, { batch, lr: 0.1, emaDecay: 0.9 }));
 * assert.ok(Math.abs(next.state.ema!.w.data[0] - 0.1 * next.state.params.w.data[0]) < 1e-7);
 * ```
 */
export function trainCall(
  trainer: Trainer,
  state: TrainState,
  options: {
    batch: Tensors;
    lr: number | ((step: number) => number);
    emaDecay?: number | ((step: number) => number);
  },
): TaskEither<
  SessionError | TrainError,
  { state: TrainState; losses: number[]; gradNorms: number[] }
> {
  const n = trainer.stepsPerCall;
  const schedule = (f: number | ((step: number) => number)) =>
    Float64Array.from({ length: n }, (_, i) => typeof f === "number" ? f : f(state.step + i + 1));
  const feeds: Tensors = {
    ...options.batch,
    lr: schedule(options.lr),
    step: schedule((step) => step),
  };
  if (trainer.ema) {
    if (!state.ema || options.emaDecay === undefined) {
      return TE.left({
        _tag: "TrainError",
        message: "this trainer keeps a moving average (ema: true): pass state.ema (the average " +
          "so far, e.g. the parameters at the start) and the emaDecay option",
      });
    }
    feeds.ema_decay = schedule(options.emaDecay);
  }
  for (const name of trainer.names) {
    feeds[name] = state.params[name].data;
    feeds[stateName.m(name)] = state.m[name].data;
    feeds[stateName.v(name)] = state.v[name].data;
    if (trainer.ema) feeds[stateName.ema(name)] = state.ema![name].data;
  }
  return F.pipe(
    runSession(trainer.session, feeds),
    TE.flatMap((out) => TE.fromEither(nextState(trainer, state, out))),
  );
}

function nextState(
  trainer: Trainer,
  state: TrainState,
  out: Tensors,
): Either<TrainError, { state: TrainState; losses: number[]; gradNorms: number[] }> {
  const losses = Array.from(out.loss as Float32Array),
    gradNorms = Array.from(out.grad_norm as Float32Array);
  // A non-finite gradient norm means non-finite updated parameters even if the loss was fine.
  const bad = losses.findIndex((l, i) => !Number.isFinite(l) || !Number.isFinite(gradNorms[i]));
  if (bad >= 0) {
    const what = Number.isFinite(losses[bad])
      ? `gradient norm is ${gradNorms[bad]}`
      : `loss is ${losses[bad]}`;
    return E.left({
      _tag: "TrainError",
      message: `${what} at step ${state.step + bad + 1}: lower the learning rate or check the ` +
        `batch for NaN/Inf; the state before this call is unchanged`,
    });
  }
  const pick = (key: (n: string) => string, store: ParamStore) =>
    Object.fromEntries(trainer.names.map((name) => [
      name,
      {
        shape: store[name].shape,
        data: out[stateName.next(key(name))] as Float32Array,
      } satisfies Tensor,
    ]));
  return E.right({
    state: {
      params: pick((n) => n, state.params),
      m: pick(stateName.m, state.m),
      v: pick(stateName.v, state.v),
      step: state.step + trainer.stepsPerCall,
      ...(trainer.ema ? { ema: pick(stateName.ema, state.ema!) } : {}),
    },
    losses,
    gradNorms,
  });
}
