/**
 * Whisper's log-mel spectrogram, computed as openai/whisper's `log_mel_spectrogram` does:
 * periodic Hann window of 400, hop 160, centred STFT with reflect padding (torch.stft), power
 * spectrum without the last frame, Slaney mel filterbank (librosa's default, built here), then
 * log10(max(x, 1e-10)), floored at (max - 8) and mapped by (x + 4) / 4.
 * @module
 */

import type { Either } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import type { AudioError } from "./wav.ts";

/** Whisper's audio constants: 16 kHz input, 25 ms windows every 10 ms, 30 s chunks. */
export const SAMPLE_RATE = 16000, N_FFT = 400, HOP_LENGTH = 160, CHUNK_LENGTH = 30;
/** Samples in one 30 s chunk (480000). */
export const N_SAMPLES = CHUNK_LENGTH * SAMPLE_RATE;
/** Mel frames in one 30 s chunk: the encoder's input length (3000). */
export const N_FRAMES = N_SAMPLES / HOP_LENGTH;

/** A log-mel spectrogram: `data` is row-major [nMels, frames]. */
export interface LogMel {
  /** Values, mel band by mel band. */
  data: Float32Array;
  /** Mel bands (rows). */
  nMels: number;
  /** Frames (columns), one every 160 samples. */
  frames: number;
}

/** The Slaney mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above. */
const F_SP = 200 / 3, MIN_LOG_HZ = 1000, MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/**
 * Hertz to mels on the Slaney scale (librosa's default, `htk=False`).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { hzToMel, melToHz } from "./mel.ts";
 * assert.ok(Math.abs(hzToMel(1000) - 15) < 1e-12);
 * assert.ok(Math.abs(melToHz(hzToMel(4321)) - 4321) < 1e-9);
 * ```
 */
export function hzToMel(hz: number): number {
  return hz < MIN_LOG_HZ ? hz / F_SP : MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP;
}

/**
 * Mels to hertz on the Slaney scale; the inverse of {@link hzToMel}.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { melToHz } from "./mel.ts";
 * assert.ok(Math.abs(melToHz(3) - 200) < 1e-12);
 * ```
 */
export function melToHz(mel: number): number {
  return mel < MIN_LOG_MEL ? mel * F_SP : MIN_LOG_HZ * Math.exp((mel - MIN_LOG_MEL) * LOG_STEP);
}

/**
 * The mel filterbank of `librosa.filters.mel(sr, n_fft, n_mels)` with its defaults (Slaney
 * scale, 0 Hz to Nyquist, each triangle scaled to unit area): `data` is row-major
 * [nMels, nFft / 2 + 1], computed in float64 and rounded to float32 as librosa returns it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { melFilterbank } from "./mel.ts";
 * const { data, nMels, bins } = melFilterbank({ nMels: 80 });
 * assert.deepEqual([nMels, bins, data.length], [80, 201, 80 * 201]);
 * assert.ok(data.every((w) => w >= 0));
 * ```
 */
export function melFilterbank(
  options: { nMels: number; sampleRate?: number; nFft?: number },
): { data: Float32Array; nMels: number; bins: number } {
  const { nMels, sampleRate = SAMPLE_RATE, nFft = N_FFT } = options;
  if (!Number.isSafeInteger(nMels) || nMels < 1) {
    throw new RangeError(
      `melFilterbank: nMels must be a positive integer (80 or 128), got ${nMels}`,
    );
  }
  const bins = Math.floor(nFft / 2) + 1;
  // nMels + 2 band edges evenly spaced in mels; filter m rises from edge m to m+1, falls to m+2.
  const top = hzToMel(sampleRate / 2), step = top / (nMels + 1);
  const edges = Array.from(
    { length: nMels + 2 },
    (_, i) => melToHz(i === nMels + 1 ? top : i * step),
  );
  const data = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
    const area = 2 / (hi - lo); // Slaney normalisation: every triangle has unit area in Hz
    for (let k = 0; k < bins; k++) {
      const f = k * sampleRate / nFft;
      const w = Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid));
      data[m * bins + k] = Math.max(0, w) * area;
    }
  }
  return { data, nMels, bins };
}

/** A pass joins `radix` transforms of length `m` into one of length radix * m. */
interface FftPass {
  radix: number;
  m: number;
  /** exp(-2 pi i rk / (radix * m)) at [k * radix + r]. */
  twRe: Float64Array;
  twIm: Float64Array;
  /** The length-radix DFT matrix exp(-2 pi i qr / radix) at [q * radix + r]. */
  dftRe: Float64Array;
  dftIm: Float64Array;
}

/** One length's FFT: where each input goes before the first pass, then the passes. */
interface FftPlan {
  n: number;
  order: Int32Array;
  passes: FftPass[];
  /** Scratch for one butterfly. */
  tRe: Float64Array;
  tIm: Float64Array;
}

const plans = new Map<number, FftPlan>();

/** Splits n into radices, 4s first (fewest passes), then primes in increasing order. */
const factorize = (n: number): number[] => {
  const factors: number[] = [];
  for (; n % 4 === 0; n /= 4) factors.push(4);
  for (let p = 2; n > 1; p++) for (; n % p === 0; n /= p) factors.push(p);
  return factors;
};

const unitRoots = (count: number, at: (i: number) => number) => ({
  re: Float64Array.from({ length: count }, (_, i) => Math.cos(-2 * Math.PI * at(i))),
  im: Float64Array.from({ length: count }, (_, i) => Math.sin(-2 * Math.PI * at(i))),
});

const planFor = (n: number): FftPlan => {
  const cached = plans.get(n);
  if (cached) return cached;
  const factors = factorize(n), order = new Int32Array(n);
  // Decimation in time: a transform of length size = radix * m over inputs from + j * stride
  // is built from the radix sub-transforms over inputs from + r * stride (step stride * radix),
  // stored one after another; unrolling that recursion gives where each input lands.
  const place = (from: number, stride: number, size: number, at: number, level: number) => {
    if (size === 1) order[at] = from;
    const radix = factors[level], m = size / radix;
    for (let r = 0; size > 1 && r < radix; r++) {
      place(from + r * stride, stride * radix, m, at + r * m, level + 1);
    }
  };
  place(0, 1, n, 0, 0);
  const passes: FftPass[] = [];
  for (let level = factors.length - 1, m = 1; level >= 0; m *= factors[level--]) {
    const radix = factors[level];
    const tw = unitRoots(radix * m, (i) => (i % radix) * Math.floor(i / radix) / (radix * m));
    const dft = unitRoots(
      radix * radix,
      (i) => ((i % radix) * Math.floor(i / radix)) % radix / radix,
    );
    passes.push({ radix, m, twRe: tw.re, twIm: tw.im, dftRe: dft.re, dftIm: dft.im });
  }
  const most = Math.max(1, ...factors);
  const plan = { n, order, passes, tRe: new Float64Array(most), tIm: new Float64Array(most) };
  plans.set(n, plan);
  return plan;
};

/** The DFT of `input` into `out`, all of the plan's length. */
const transform = (
  plan: FftPlan,
  input: { re: ArrayLike<number>; im: ArrayLike<number> },
  out: { re: Float64Array; im: Float64Array },
): void => {
  const { n, order, tRe, tIm } = plan, { re, im } = out;
  for (let j = 0; j < n; j++) {
    re[j] = input.re[order[j]];
    im[j] = input.im[order[j]];
  }
  for (const { radix, m, twRe, twIm, dftRe, dftIm } of plan.passes) {
    for (let at = 0, size = radix * m; at < n; at += size) {
      for (let k = 0; k < m; k++) {
        // Twiddle sub-transform r by exp(-2 pi i rk / size), then a length-radix DFT across r;
        // it reads and writes the same radix slots, so the pass works in place.
        for (let r = 0, i = at + k, w = k * radix; r < radix; r++, i += m, w++) {
          tRe[r] = re[i] * twRe[w] - im[i] * twIm[w];
          tIm[r] = re[i] * twIm[w] + im[i] * twRe[w];
        }
        for (let q = 0, i = at + k, w = 0; q < radix; q++, i += m) {
          let sumRe = 0, sumIm = 0;
          for (let r = 0; r < radix; r++, w++) {
            sumRe += tRe[r] * dftRe[w] - tIm[r] * dftIm[w];
            sumIm += tRe[r] * dftIm[w] + tIm[r] * dftRe[w];
          }
          re[i] = sumRe;
          im[i] = sumIm;
        }
      }
    }
  }
};

/**
 * The discrete Fourier transform X[k] = sum_j x[j] exp(-2 pi i jk / n) of any length, by
 * mixed-radix Cooley-Tukey (n = 400 = 4 * 4 * 5 * 5 for Whisper). Plans are cached by length;
 * the cost is n times the sum of n's prime factors, so lengths with large prime factors are slow.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { fft } from "./mel.ts";
 * const { re, im } = fft([1, 2, 3], [0, 0, 0]);
 * assert.ok(Math.abs(re[0] - 6) < 1e-12 && Math.abs(im[0]) < 1e-12);
 * assert.ok(Math.abs(re[1] + 1.5) < 1e-12 && Math.abs(im[1] - Math.sqrt(3) / 2) < 1e-12);
 * ```
 */
export function fft(
  re: ArrayLike<number>,
  im: ArrayLike<number>,
): { re: Float64Array; im: Float64Array } {
  if (re.length !== im.length || re.length === 0) {
    throw new RangeError(
      `fft: re and im need the same non-zero length, got ${re.length} and ${im.length}`,
    );
  }
  const out = { re: new Float64Array(re.length), im: new Float64Array(re.length) };
  transform(planFor(re.length), { re, im }, out);
  return out;
}

/**
 * Pads with zeros or trims `samples` to `length` (default 480000, 30 s at 16 kHz), as Whisper's
 * `pad_or_trim`. Returns a new array.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { padOrTrim } from "./mel.ts";
 * assert.deepEqual(padOrTrim(new Float32Array([1, 2, 3]), { length: 5 }), new Float32Array([1, 2, 3, 0, 0]));
 * assert.deepEqual(padOrTrim(new Float32Array([1, 2, 3]), { length: 2 }), new Float32Array([1, 2]));
 * ```
 */
export function padOrTrim(samples: Float32Array, options: { length?: number } = {}): Float32Array {
  const out = new Float32Array(options.length ?? N_SAMPLES);
  out.set(samples.subarray(0, out.length));
  return out;
}

/** Sparse rows of a filterbank: the non-zero run of each filter and its weights. */
const sparseBanks = new Map<number, { start: number; weights: Float32Array }[]>();

const sparseBank = (nMels: number) => {
  let rows = sparseBanks.get(nMels);
  if (!rows) {
    const { data, bins } = melFilterbank({ nMels });
    rows = Array.from({ length: nMels }, (_, m) => {
      const row = data.subarray(m * bins, (m + 1) * bins);
      const start = row.findIndex((w) => w > 0), end = row.findLastIndex((w) => w > 0) + 1;
      return start < 0
        ? { start: 0, weights: new Float32Array(0) }
        : { start, weights: row.slice(start, end) };
    });
    sparseBanks.set(nMels, rows);
  }
  return rows;
};

const hann = Float64Array.from(
  { length: N_FFT },
  (_, j) => 0.5 - 0.5 * Math.cos(2 * Math.PI * j / N_FFT),
);

/**
 * log10 of the mel power of frames [0, frames) of `samples` followed by `padding` zeros, the
 * whole reflect-padded by N_FFT / 2 at both ends (torch.stft with center=True).
 */
const logMelPower = (
  samples: Float32Array,
  nMels: number,
  padding: number,
  frames: number,
): Float32Array => {
  const length = samples.length + padding, half = N_FFT / 2;
  if (length <= half) {
    throw new RangeError(
      `logMelSpectrogram: needs more than ${half} samples (with padding) to reflect-pad, got ${length}`,
    );
  }
  const bank = sparseBank(nMels), plan = planFor(N_FFT), out = new Float32Array(nMels * frames);
  const windowed = (t: number, into: Float64Array): void => {
    if (t >= frames) {
      into.fill(0); // the odd frame out pairs with silence
      return;
    }
    for (let j = 0, i = t * HOP_LENGTH - half; j < N_FFT; j++, i++) {
      const r = i < 0 ? -i : i >= length ? 2 * (length - 1) - i : i; // reflect, excluding the edge
      into[j] = r < samples.length ? samples[r] * hann[j] : 0;
    }
  };
  const melLog = (t: number, power: Float64Array) => {
    for (let m = 0; m < nMels; m++) {
      const { start, weights } = bank[m];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * power[start + k];
      out[m * frames + t] = Math.log10(Math.max(sum, 1e-10));
    }
  };
  const a = new Float64Array(N_FFT), b = new Float64Array(N_FFT);
  const z = { re: new Float64Array(N_FFT), im: new Float64Array(N_FFT) };
  const powerA = new Float64Array(half + 1), powerB = new Float64Array(half + 1);
  // Two real frames per complex FFT, a as the real part and b as the imaginary part: with
  // Z = FFT(a + ib), A[k] = (Z[k] + conj Z[n-k]) / 2 and B[k] = (Z[k] - conj Z[n-k]) / 2i.
  for (let t = 0; t < frames; t += 2) {
    windowed(t, a);
    windowed(t + 1, b);
    transform(plan, { re: a, im: b }, z);
    for (let k = 0; k <= half; k++) {
      const c = (N_FFT - k) % N_FFT;
      const [re, im, reN, imN] = [z.re[k], z.im[k], z.re[c], z.im[c]];
      powerA[k] = ((re + reN) ** 2 + (im - imN) ** 2) / 4;
      powerB[k] = ((re - reN) ** 2 + (im + imN) ** 2) / 4;
    }
    melLog(t, powerA);
    if (t + 1 < frames) melLog(t + 1, powerB);
  }
  return out;
};

/** Floors at (max - 8) and maps to (x + 4) / 4; `max` is over the whole spectrogram. */
const normalize = (logMel: Float32Array, max: number): Float32Array =>
  logMel.map((x) => (Math.max(x, max - 8) + 4) / 4);

const checkMels = (nMels: number, where: string): void => {
  if (!Number.isSafeInteger(nMels) || nMels < 1) {
    throw new RangeError(`${where}: nMels must be a positive integer (80 or 128), got ${nMels}`);
  }
};

/**
 * Whisper's `log_mel_spectrogram(audio, n_mels, padding)` for 16 kHz `samples`: `padding` zeros
 * (default 0) are appended, and the result has floor((samples + padding) / 160) frames.
 * Use 80 mels for Whisper models before large-v3, 128 for large-v3.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { logMelSpectrogram } from "./mel.ts";
 * const tone = Float32Array.from({ length: 16000 }, (_, i) => Math.sin(2 * Math.PI * 1000 * i / 16000));
 * const mel = logMelSpectrogram(tone, { nMels: 80 });
 * assert.deepEqual([mel.nMels, mel.frames, mel.data.length], [80, 100, 8000]);
 * const loudest = mel.data.indexOf(Math.max(...mel.data));
 * assert.equal(Math.floor(loudest / mel.frames), 26); // the band centred near 1 kHz
 * assert.ok(Math.max(...mel.data) - Math.min(...mel.data) <= 2 + 1e-6); // floored at max - 8
 * ```
 */
export function logMelSpectrogram(
  samples: Float32Array,
  options: { nMels: number; padding?: number },
): LogMel {
  const { nMels, padding = 0 } = options;
  checkMels(nMels, "logMelSpectrogram");
  if (!Number.isSafeInteger(padding) || padding < 0) {
    throw new RangeError(
      `logMelSpectrogram: padding must be a non-negative integer, got ${padding}`,
    );
  }
  const frames = Math.floor((samples.length + padding) / HOP_LENGTH);
  const logMel = logMelPower(samples, nMels, padding, frames);
  return {
    data: normalize(logMel, logMel.reduce((a, b) => Math.max(a, b), -Infinity)),
    nMels,
    frames,
  };
}

/**
 * The encoder input Whisper's `transcribe` builds for audio of at most 30 s: the log-mel of
 * `samples` followed by 30 s of zeros, first 3000 frames, i.e. `data` of shape [nMels, 3000].
 * Longer audio is a Left naming its duration: split it into chunks of 30 s or less first.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { whisperInput } from "./mel.ts";
 * const input = whisperInput(new Float32Array(16000), { nMels: 80 });
 * assert.ok(E.isRight(input) && input.right.frames === 3000 && input.right.data.length === 240000);
 * assert.ok(E.isLeft(whisperInput(new Float32Array(31 * 16000), { nMels: 80 })));
 * ```
 */
export function whisperInput(
  samples: Float32Array,
  options: { nMels: number },
): Either<AudioError, LogMel> {
  const { nMels } = options;
  checkMels(nMels, "whisperInput");
  if (samples.length > N_SAMPLES) {
    const seconds = (samples.length / SAMPLE_RATE).toFixed(2);
    return E.left({
      _tag: "AudioError",
      message: `whisperInput: audio is ${seconds} s long, at most ${CHUNK_LENGTH} s fit one ` +
        `encoder input; split it into chunks of ${CHUNK_LENGTH} s or less (samples.subarray)`,
    });
  }
  // Frames past the audio see only zeros, so their log power is exactly -10 and cannot raise
  // the global max: computing the frames that touch the audio, and at least 3000, is enough.
  const touching = Math.ceil((samples.length + N_FFT / 2) / HOP_LENGTH);
  const frames = Math.max(N_FRAMES, touching);
  const logMel = logMelPower(samples, nMels, N_SAMPLES, frames);
  const max = logMel.reduce((a, b) => Math.max(a, b), -Infinity);
  const data = new Float32Array(nMels * N_FRAMES);
  for (let m = 0; m < nMels; m++) {
    data.set(logMel.subarray(m * frames, m * frames + N_FRAMES), m * N_FRAMES);
  }
  return E.right({ data: normalize(data, max), nMels, frames: N_FRAMES });
}
