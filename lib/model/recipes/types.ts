/**
 * What a training recipe is: one value saying which inputs its train step takes, its loss
 * (built from the parts every recipe shares), and how its targets are made. The run, the CLI and
 * the checkpoint ask the recipe; nothing else branches on its name.
 * @module
 */
import type { Value } from "../../graph/builder.ts";

/** The parts a recipe's loss is built from (all graph values of one train step). */
export interface LossParts {
  /** The batch inputs by name (see {@link RecipeSpec.inputs}). */
  readonly batch: Readonly<Record<string, Value>>;
  /** The velocity network v(x_t, t | text). */
  readonly net: (xt: Value, t: Value) => Value;
  /** The masked CFM loss on the batch's (x0, x1, t), with x_t and v for anchor terms. */
  readonly flow: () => { loss: Value; xt: Value; v: Value };
  /**
   * The frozen decoder's cross-entropy of the batch's text read from `states` (Whisper space);
   * `rowWeights` [rows] weight each sentence's tokens (default 1).
   */
  readonly decoderLoss: (states: Value, options?: { rowWeights?: Value }) => Value;
  /** States in the flow's space mapped to Whisper's (un-normalised; identity when not normalised). */
  readonly toWhisper: (states: Value) => Value;
  /** Weight of a decoder term on the one-step estimate. */
  readonly lambda: number;
  /** Euler steps of an unrolled sampler. */
  readonly unrollSteps: number;
  /** Rows of the batch. */
  readonly rows: number;
}

/** How a recipe's cached targets are made. */
export interface TargetPlan {
  /** Where decoder inversion starts: fresh noise, the model's own samples, or the prior states. */
  readonly start: "noise" | "samples" | "prior";
  /** Whether a target older than `refreshEvery` steps is made again. */
  readonly refresh: boolean;
  /**
   * Where the flow starts: fresh noise, or each sentence's own prior states (a deterministic
   * bridge from the eSpeak NG prior to the target; sampling then needs the prior of every text).
   */
  readonly source: "noise" | "prior";
  /** Whether the starting states are refined by decoder inversion (else they are the targets). */
  readonly invert: boolean;
  /** Whether the flow model learns the targets in per-channel normalised space. */
  readonly normalised: boolean;
  /** Whether inversion pulls the states back to where it started (weight `pullWeight`). */
  readonly pull: boolean;
  /**
   * Whether a target keeps the noise it was inverted from and is always trained from that noise
   * (the coupling is then the targets' own, as rectified flow trains on its couplings).
   */
  readonly keepNoise: boolean;
}

/** A training recipe. */
export interface RecipeSpec {
  /** Its name (`--recipe`). */
  readonly name: string;
  /** One line for --help. */
  readonly summary: string;
  /** Train-step inputs: the flow pair (x0, x1, t) or noise alone, and the decoder's tokens. */
  readonly inputs: { readonly pair: boolean; readonly decoder: boolean };
  /** The loss of one batch. */
  readonly loss: (parts: LossParts) => Value;
  /** How targets are made; absent when the recipe trains without targets. */
  readonly targets?: TargetPlan;
  /** What the loss measures, for plots. */
  readonly lossLabel: string;
}
