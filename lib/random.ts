/**
 * Seeded pseudo-random numbers. Randomness is always passed in as an {@link Rng}, never read
 * from a global, so that every run, test and resumed checkpoint is reproducible.
 *
 * The generator is xoshiro128** (Blackman & Vigna): 128 bits of state, 32-bit operations only
 * (fast in JavaScript without BigInt), period 2^128 - 1. Seeds and fork keys are hashed into
 * the state with a murmur3-style mixer, so nearby seeds give unrelated streams.
 * @module
 */

/** A seeded generator. Methods advance its internal state. */
export interface Rng {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** A standard normal sample (Box-Muller; the second value of each pair is cached). */
  normal(): number;
  /** A JSON-serialisable snapshot; {@link rngFromState} resumes the identical sequence. */
  state(): RngState;
}

/** `[s0, s1, s2, s3, hasSpare (0 | 1), spare]`: xoshiro words plus the cached normal. */
export type RngState = readonly number[];

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** murmur3 finaliser: a bijection on 32-bit words with full avalanche. */
const fmix32 = (h0: number): number => {
  let h = h0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/** murmur3-style hash of 32-bit words; one call per state word keeps all 128 bits of entropy. */
const hashWords = (words: readonly number[]): number => {
  let h = 0x9747b28c;
  for (const w of words) {
    const k = Math.imul(rotl(Math.imul(w, 0xcc9e2d51), 15), 0x1b873593);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ words.length);
};

/** Low and high 32-bit halves of a safe integer (negative values wrap like two's complement). */
const splitInt = (x: number, what: string): [number, number] => {
  if (!Number.isSafeInteger(x)) throw new RangeError(`${what} must be a safe integer, got ${x}`);
  return [x >>> 0, Math.floor(x / 0x100000000) >>> 0];
};

/** Expands hash inputs into a xoshiro state; a salt keeps seed- and fork-derived states apart. */
const deriveWords = (inputs: readonly number[]): Uint32Array => {
  const s = Uint32Array.from([0, 1, 2, 3], (i) => hashWords([...inputs, i]));
  // The all-zero state is the one fixed point of xoshiro; reachable only by a 2^-128 accident.
  if (s.every((w) => w === 0)) s[0] = 1;
  return s;
};

const makeRng = (words: Uint32Array, spare0: number | undefined): Rng => {
  const s = Uint32Array.from(words);
  let spare = spare0;
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  // 27 + 26 bits, as in the reference genrand_res53: every multiple of 2^-53 in [0, 1).
  const nextFloat = (): number =>
    ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;
  const normal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - nextFloat())); // 1 - u is in (0, 1]: log is finite
    const theta = 2 * Math.PI * nextFloat();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  const state = (): RngState => [...s, spare === undefined ? 0 : 1, spare ?? 0];
  return { nextUint32, nextFloat, normal, state };
};

/**
 * Creates a generator from an integer seed. Any safe integer is accepted; all 53 bits matter.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "./random.ts";
 * const a = createRng(42);
 * const b = createRng(42);
 * assert.equal(a.nextUint32(), b.nextUint32());
 * assert.ok(a.nextFloat() < 1);
 * ```
 */
export function createRng(seed: number): Rng {
  const [lo, hi] = splitInt(seed, "seed");
  return makeRng(deriveWords([0x5eed5eed, lo, hi]), undefined);
}

/**
 * Resumes a generator from {@link Rng.state}. Throws an Error naming the first invalid field.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, rngFromState } from "./random.ts";
 * const a = createRng(7);
 * a.normal(); // leaves a cached second normal in the state
 * const b = rngFromState(JSON.parse(JSON.stringify(a.state())));
 * assert.equal(a.normal(), b.normal());
 * assert.equal(a.nextUint32(), b.nextUint32());
 * ```
 */
export function rngFromState(state: RngState): Rng {
  if (!Array.isArray(state) || state.length !== 6) {
    throw new Error(`rng state must be an array of 6 numbers, got ${JSON.stringify(state)}`);
  }
  const words = state.slice(0, 4);
  words.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
      throw new Error(`rng state word ${i} must be an integer in [0, 2^32), got ${w}`);
    }
  });
  if (words.every((w) => w === 0)) throw new Error("rng state words must not all be zero");
  const [hasSpare, spare] = [state[4], state[5]];
  if (hasSpare !== 0 && hasSpare !== 1) {
    throw new Error(`rng state hasSpare flag must be 0 or 1, got ${hasSpare}`);
  }
  if (typeof spare !== "number" || !Number.isFinite(spare)) {
    throw new Error(`rng state spare normal must be a finite number, got ${spare}`);
  }
  return makeRng(Uint32Array.from(words), hasSpare === 1 ? spare : undefined);
}

/**
 * Derives an independent generator from `rng`'s current state and `key`, without advancing
 * `rng`. The same state and key always give the same stream, so per-sample streams
 * (`forkRng(base, sampleIndex)`) do not depend on the order in which samples are processed.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, forkRng } from "./random.ts";
 * const base = createRng(1);
 * const a = forkRng(base, 3).nextUint32();
 * assert.equal(forkRng(base, 3).nextUint32(), a);
 * assert.notEqual(forkRng(base, 4).nextUint32(), a);
 * ```
 */
export function forkRng(rng: Rng, key: number): Rng {
  const [lo, hi] = splitInt(key, "fork key");
  return makeRng(deriveWords([0xf0f0f0f0, ...rng.state().slice(0, 4), lo, hi]), undefined);
}

/**
 * Fills `out` with normal samples and returns it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, fillNormal } from "./random.ts";
 * const x = fillNormal(new Float32Array(4), createRng(0), { mean: 1, std: 0.1 });
 * assert.ok(x.every((v) => Math.abs(v - 1) < 1));
 * ```
 */
export function fillNormal<A extends Float32Array | Float64Array>(
  out: A,
  rng: Rng,
  { mean = 0, std = 1 }: { mean?: number; std?: number } = {},
): A {
  if (!Number.isFinite(mean) || !(std >= 0) || !Number.isFinite(std)) {
    throw new RangeError(`fillNormal: need finite mean and std >= 0, got ${mean}, ${std}`);
  }
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
  return out;
}

/**
 * Fills `out` with uniform samples in [low, high) and returns it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, fillUniform } from "./random.ts";
 * const x = fillUniform(new Float64Array(8), createRng(0), { low: -1, high: 1 });
 * assert.ok(x.every((v) => v >= -1 && v < 1));
 * ```
 */
export function fillUniform<A extends Float32Array | Float64Array>(
  out: A,
  rng: Rng,
  { low = 0, high = 1 }: { low?: number; high?: number } = {},
): A {
  const span = high - low;
  if (!Number.isFinite(span) || !(low <= high)) {
    throw new RangeError(`fillUniform: need finite low <= high, got ${low}, ${high}`);
  }
  for (let i = 0; i < out.length; i++) {
    // Rounding (to float32 especially) can land on `high`; redraw to keep the interval half-open.
    do out[i] = low + span * rng.nextFloat(); while (out[i] >= high && span > 0);
  }
  return out;
}

/**
 * An unbiased uniform integer in [0, n) for an integer 1 <= n <= 2^32 (rejection sampling).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, randint } from "./random.ts";
 * const k = randint(6, createRng(3));
 * assert.ok(Number.isInteger(k) && k >= 0 && k < 6);
 * ```
 */
export function randint(n: number, rng: Rng): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
    throw new RangeError(`randint: n must be an integer in [1, 2^32], got ${n}`);
  }
  // Accept only draws below the largest multiple of n, so every residue is equally likely.
  const limit = 0x100000000 - (0x100000000 % n);
  let x = rng.nextUint32();
  while (x >= limit) x = rng.nextUint32();
  return x % n;
}

/**
 * A uniformly random permutation of `array` (Fisher-Yates); the input is left unchanged.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, shuffle } from "./random.ts";
 * const xs = [1, 2, 3, 4];
 * const ys = shuffle(xs, createRng(5));
 * assert.deepEqual([...ys].sort(), [1, 2, 3, 4]);
 * assert.deepEqual(xs, [1, 2, 3, 4]);
 * ```
 */
export function shuffle<T>(array: readonly T[], rng: Rng): T[] {
  const out = array.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randint(i + 1, rng);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
