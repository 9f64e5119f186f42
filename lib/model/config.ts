/**
 * Configurations of the text-to-semantic CFM network. Its width is the chosen Whisper's
 * d_model (the states it generates are that wide); the named sizes set depth and text width.
 * @module
 */
import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";

/** The network's shape. */
export interface T2SConfig {
  /** Width of the generated states and of the backbone: the Whisper model's d_model. */
  readonly width: number;
  /** Transformer blocks of the backbone. */
  readonly depth: number;
  /** Attention heads (width must divide by it). */
  readonly heads: number;
  /** MLP hidden width as a multiple of the width. */
  readonly mlpRatio: number;
  /** Width of the text encoder. */
  readonly textWidth: number;
  /** ConvNeXt blocks of the text encoder. */
  readonly textBlocks: number;
  /** Depthwise kernel of the ConvNeXt blocks (odd). */
  readonly kernel: number;
  /** Channels of the sinusoidal time embedding. */
  readonly timeChannels: number;
}

/** Why a configuration was rejected. */
export interface T2SConfigError {
  /** Discriminant. */
  readonly _tag: "T2SConfigError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** The named sizes: tiny (tests), small, base. */
export type T2SSize = "tiny" | "small" | "base";

/** Depth, text width and heads of each named size; the width comes from Whisper. */
const SIZES: Readonly<
  Record<
    T2SSize,
    {
      readonly depth: number;
      readonly textWidth: number;
      readonly textBlocks: number;
      readonly headWidth: number;
      readonly mlpRatio: number;
    }
  >
> = {
  tiny: { depth: 2, textWidth: 16, textBlocks: 1, headWidth: 64, mlpRatio: 2 },
  small: { depth: 4, textWidth: 128, textBlocks: 2, headWidth: 64, mlpRatio: 2 },
  base: { depth: 8, textWidth: 256, textBlocks: 4, headWidth: 64, mlpRatio: 4 },
};

/**
 * The configuration of a named size for states `width` wide (the Whisper model's d_model).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { t2sConfig } from "./config.ts";
 * const small = t2sConfig("small", { width: 384 });
 * assert.ok(small._tag === "Right" && small.right.heads === 6 && small.right.depth === 4);
 * const bad = t2sConfig("huge" as never, { width: 384 });
 * assert.ok(bad._tag === "Left" && bad.left.message.includes("tiny, small, base"));
 * ```
 */
export function t2sConfig(
  size: T2SSize,
  options: { width: number },
): Either<T2SConfigError, T2SConfig> {
  const s = SIZES[size];
  const fail = (message: string) => E.left({ _tag: "T2SConfigError" as const, message });
  if (!s) return fail(`unknown model size '${size}'; sizes: ${Object.keys(SIZES).join(", ")}`);
  const { width } = options;
  // 64-wide heads, and at least two (the tiny test widths are 32).
  const heads = Math.max(2, Math.round(width / s.headWidth));
  if (!Number.isInteger(width) || width < 8 || width % heads !== 0) {
    return fail(`width ${width} must be an integer >= 8 divisible by ${heads} heads`);
  }
  return E.right({
    width,
    depth: s.depth,
    heads,
    mlpRatio: s.mlpRatio,
    textWidth: s.textWidth,
    textBlocks: s.textBlocks,
    kernel: 7,
    timeChannels: 64,
  });
}

/**
 * Checks a configuration read from a checkpoint or a JSON file.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { checkT2SConfig, t2sConfig } from "./config.ts";
 * const c = t2sConfig("tiny", { width: 32 });
 * assert.ok(c._tag === "Right" && checkT2SConfig(c.right)._tag === "Right");
 * assert.ok(checkT2SConfig({ ...(c as { right: object }).right, kernel: 4 })._tag === "Left");
 * ```
 */
export function checkT2SConfig(value: unknown): Either<T2SConfigError, T2SConfig> {
  const c = value as Record<string, unknown>;
  const keys = [
    "width",
    "depth",
    "heads",
    "mlpRatio",
    "textWidth",
    "textBlocks",
    "kernel",
    "timeChannels",
  ];
  for (const k of keys) {
    if (typeof c?.[k] !== "number" || !Number.isInteger(c[k]) || (c[k] as number) < 1) {
      return E.left({
        _tag: "T2SConfigError",
        message: `model config: '${k}' must be a positive integer`,
      });
    }
  }
  const t = c as unknown as T2SConfig;
  if (t.width % t.heads !== 0) {
    return E.left({
      _tag: "T2SConfigError",
      message: `model config: width ${t.width} is not divisible by ${t.heads} heads`,
    });
  }
  if (t.kernel % 2 === 0 || t.timeChannels % 2 === 1) {
    return E.left({
      _tag: "T2SConfigError",
      message: "model config: kernel must be odd and timeChannels even",
    });
  }
  return E.right(t);
}
