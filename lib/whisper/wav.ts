/**
 * WAV input for Whisper: RIFF/WAVE decoding (PCM 8/16/24/32-bit, IEEE float 32/64, plain or
 * WAVE_FORMAT_EXTENSIBLE), mixing to mono, band-limited resampling, and a small encoder for
 * tests and tools. Samples are Float32Array in [-1, 1]; all byte fields are little endian.
 * @module
 */

import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";

/** Why audio could not be read or processed; the message names the input and the fix. */
export interface AudioError {
  /** Discriminant for telling AudioError apart from other errors. */
  readonly _tag: "AudioError";
  /** What went wrong, naming the file (or "WAV bytes") and what to do about it. */
  readonly message: string;
}

/** A decoded WAV file mixed to mono, at its own sample rate. */
export interface WavAudio {
  /** Mono samples in [-1, 1] (the average of all channels). */
  samples: Float32Array;
  /** Samples per second, as the file declares. */
  sampleRate: number;
  /** Channel count of the file before mixing. */
  channels: number;
  /** Sample encoding of the file. */
  format: WavFormat;
}

/** Sample encodings: unsigned 8-bit, signed 16/24/32-bit integers, IEEE floats. */
export type WavFormat = "pcm8" | "pcm16" | "pcm24" | "pcm32" | "float32" | "float64";

/** Format codes and the tail every WAVE_FORMAT_EXTENSIBLE subformat GUID shares. */
const PCM = 1, FLOAT = 3, EXTENSIBLE = 0xfffe;
const GUID_TAIL = [
  0x00,
  0x00,
  0x00,
  0x00,
  0x10,
  0x00,
  0x80,
  0x00,
  0x00,
  0xaa,
  0x00,
  0x38,
  0x9b,
  0x71,
];
const FORMATS: Readonly<Record<WavFormat, { code: number; bytes: number }>> = {
  pcm8: { code: PCM, bytes: 1 },
  pcm16: { code: PCM, bytes: 2 },
  pcm24: { code: PCM, bytes: 3 },
  pcm32: { code: PCM, bytes: 4 },
  float32: { code: FLOAT, bytes: 4 },
  float64: { code: FLOAT, bytes: 8 },
};
const CONVERT = "convert it, e.g. `ffmpeg -i in.xxx -ac 1 -ar 16000 -c:a pcm_s16le out.wav`";

const audioError = (message: string): AudioError => ({ _tag: "AudioError", message });
const messageOf = (e: unknown): string => e instanceof Error ? e.message : String(e);
const ascii = (b: Uint8Array, at: number): string =>
  String.fromCharCode(...b.subarray(at, at + 4)).replace(/[^\x20-\x7e]/g, "?");

interface Fmt {
  code: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

/** The fmt chunk, with an extensible file's subformat GUID resolved to its format code. */
const parseFmt = (
  v: DataView,
  at: number,
  size: number,
  name: string,
): Either<AudioError, Fmt> => {
  if (size < 16) {
    return E.left(audioError(`${name}: fmt chunk is ${size} bytes, needs 16; ${CONVERT}`));
  }
  const fmt = {
    code: v.getUint16(at, true),
    channels: v.getUint16(at + 2, true),
    sampleRate: v.getUint32(at + 4, true),
    blockAlign: v.getUint16(at + 12, true),
    bits: v.getUint16(at + 14, true),
  };
  if (fmt.code !== EXTENSIBLE) return E.right(fmt);
  if (size < 40) {
    return E.left(audioError(`${name}: extensible fmt chunk is too short; ${CONVERT}`));
  }
  const guid = new Uint8Array(v.buffer, v.byteOffset + at + 24, 16);
  if (GUID_TAIL.some((b, i) => guid[i + 2] !== b)) {
    return E.left(audioError(`${name}: unknown WAVE_FORMAT_EXTENSIBLE subformat; ${CONVERT}`));
  }
  return E.right({ ...fmt, code: v.getUint16(at + 24, true) });
};

const formatOf = ({ code, bits }: Fmt): WavFormat | undefined =>
  (Object.keys(FORMATS) as WavFormat[]).find((f) =>
    FORMATS[f].code === code && FORMATS[f].bytes * 8 === bits
  );

/** Reads the sample at byte `at`, scaled so full-scale integers map to [-1, 1); floats as stored. */
const sampleReader = (v: DataView, format: WavFormat): (at: number) => number => {
  switch (format) {
    case "pcm8":
      return (at) => (v.getUint8(at) - 128) / 128; // 8-bit WAV is unsigned, centred on 128
    case "pcm16":
      return (at) => v.getInt16(at, true) / 32768;
    case "pcm24":
      return (at) => ((v.getInt8(at + 2) << 16) | v.getUint16(at, true)) / 8388608;
    case "pcm32":
      return (at) => v.getInt32(at, true) / 2147483648;
    case "float32":
      return (at) => v.getFloat32(at, true);
    case "float64":
      return (at) => v.getFloat64(at, true);
  }
};

const clamp = (x: number): number => (x > 1 ? 1 : x < -1 ? -1 : x === x ? x : 0);

/**
 * Decodes a RIFF/WAVE file and mixes its channels to mono, at the file's own sample rate.
 * `name` (the file, or "WAV bytes") starts every error message.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { orThrow } from "../result.ts";
 * import { decodeWav, encodeWav } from "./wav.ts";
 * const bytes = encodeWav(new Float32Array([0, 0.5, -0.5]), { sampleRate: 8000, format: "pcm16" });
 * const wav = orThrow(decodeWav(bytes));
 * assert.deepEqual(wav.samples, new Float32Array([0, 0.5, -0.5]));
 * assert.equal(wav.sampleRate, 8000);
 * assert.ok(E.isLeft(decodeWav(new Uint8Array(12))));
 * ```
 */
export function decodeWav(
  bytes: Uint8Array,
  options: { name?: string } = {},
): Either<AudioError, WavAudio> {
  const name = options.name ?? "WAV bytes";
  const fail = (why: string) => E.left(audioError(`${name}: ${why}`));
  if (bytes.length < 12 || ascii(bytes, 0) !== "RIFF" || ascii(bytes, 8) !== "WAVE") {
    const head = bytes.length >= 4 ? `starts with "${ascii(bytes, 0)}"` : "too short";
    return fail(`not a RIFF/WAVE file (${head}); ${CONVERT}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Fmt | undefined;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = ascii(bytes, at);
    const declared = v.getUint32(at + 4, true);
    const body = at + 8;
    // 0xFFFFFFFF is what streaming writers put when the length was unknown: read to the end.
    const size = id === "data" && declared === 0xffffffff ? bytes.length - body : declared;
    if (body + size > bytes.length) {
      return fail(`truncated: "${id}" chunk declares ${size} bytes, ${bytes.length - body} left`);
    }
    if (id === "fmt ") {
      const parsed = parseFmt(v, body, size, name);
      if (E.isLeft(parsed)) return parsed;
      fmt = parsed.right;
    } else if (id === "data") {
      if (!fmt) return fail(`"data" chunk comes before the "fmt " chunk; ${CONVERT}`);
      return decodeData(new DataView(bytes.buffer, bytes.byteOffset + body, size), fmt, name);
    }
    at = body + size + (size & 1); // chunks are padded to even lengths
  }
  return fail(fmt ? `truncated: no "data" chunk` : `no "fmt " chunk; ${CONVERT}`);
}

const decodeData = (v: DataView, fmt: Fmt, name: string): Either<AudioError, WavAudio> => {
  const format = formatOf(fmt);
  const { channels, sampleRate, blockAlign } = fmt;
  const fail = (why: string) => E.left(audioError(`${name}: ${why}`));
  if (!format) {
    const what = fmt.code === PCM
      ? `${fmt.bits}-bit PCM`
      : fmt.code === FLOAT
      ? `${fmt.bits}-bit float`
      : `format code ${fmt.code} (0x${fmt.code.toString(16)})`;
    return fail(
      `unsupported WAV encoding ${what}; supported: PCM 8/16/24/32-bit and float 32/64; ${CONVERT}`,
    );
  }
  if (channels < 1 || sampleRate < 1) {
    return fail(`fmt chunk declares ${channels} channels at ${sampleRate} Hz; ${CONVERT}`);
  }
  const width = FORMATS[format].bytes;
  if (blockAlign !== channels * width) {
    return fail(
      `block align ${blockAlign} does not match ${channels} channels of ${format}; ${CONVERT}`,
    );
  }
  if (v.byteLength % blockAlign !== 0) {
    return fail(
      `truncated: data holds ${v.byteLength} bytes, not a whole number of ${blockAlign}-byte frames`,
    );
  }
  const read = sampleReader(v, format);
  const samples = new Float32Array(v.byteLength / blockAlign);
  for (let i = 0, at = 0; i < samples.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, at += width) sum += read(at);
    samples[i] = clamp(sum / channels);
  }
  return E.right({ samples, sampleRate, channels, format });
};

/**
 * Decodes a WAV file to mono samples at `sampleRate` (default 16000, Whisper's rate),
 * resampling with {@link resample} when the file's rate differs.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { encodeWav, readWav } from "./wav.ts";
 * const bytes = encodeWav(new Float32Array(48000), { sampleRate: 48000, format: "float32" });
 * const samples = readWav(bytes);
 * assert.ok(E.isRight(samples) && samples.right.length === 16000);
 * ```
 */
export function readWav(
  bytes: Uint8Array,
  options: { name?: string; sampleRate?: number } = {},
): Either<AudioError, Float32Array> {
  const to = options.sampleRate ?? 16000;
  return F.pipe(
    decodeWav(bytes, options),
    E.map((wav) => resample(wav.samples, { from: wav.sampleRate, to })),
  );
}

/**
 * Reads a WAV file from disk as mono samples at `sampleRate` (default 16000).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { loadWav } from "./wav.ts";
 * const missing = await loadWav("/no/such/file.wav")();
 * assert.ok(E.isLeft(missing) && missing.left.message.includes("/no/such/file.wav"));
 * ```
 */
export function loadWav(
  path: string,
  options: { sampleRate?: number } = {},
): TaskEither<AudioError, Float32Array> {
  return F.pipe(
    TE.tryCatch(
      () => Deno.readFile(path),
      (e) => audioError(`cannot read ${path}: ${messageOf(e)}`),
    ),
    TE.chainEitherK((bytes) => readWav(bytes, { ...options, name: path })),
  );
}

/** Zero crossings of the sinc on each side, passband edge (fraction of Nyquist), Kaiser beta. */
const ZERO_CROSSINGS = 48, ROLLOFF = 0.94, BETA = 9;
/** Most filter coefficients kept in phase tables; beyond it the phase is rounded (see below). */
const TABLE_BUDGET = 1 << 21;

/** Modified Bessel function of the first kind, order 0 (power series; converges fast). */
const besselI0 = (x: number): number => {
  let sum = 1, term = 1;
  for (let k = 1; term > 1e-17 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
};

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Resamples `samples` from `from` Hz to `to` Hz with a Kaiser-windowed sinc filter
 * (48 zero crossings a side, beta 9): the passband reaches 94% of the lower Nyquist frequency
 * and content above that Nyquist is attenuated by over 100 dB, so downsampling does not alias.
 * Output sample n is taken at input time n * from / to, and there are
 * ceil(samples.length * to / from) of them. Returns a copy when the rates match.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { resample } from "./wav.ts";
 * const sine = Float32Array.from({ length: 4800 }, (_, i) => Math.sin(2 * Math.PI * 440 * i / 48000));
 * const out = resample(sine, { from: 48000, to: 16000 });
 * assert.equal(out.length, 1600);
 * assert.ok(Math.abs(out[800] - Math.sin(2 * Math.PI * 440 * 800 / 16000)) < 1e-3);
 * ```
 */
export function resample(
  samples: Float32Array,
  options: { from: number; to: number },
): Float32Array {
  const { from, to } = options;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < 1) {
    throw new RangeError(
      `resample: rates must be positive integers in Hz, got from=${from} to=${to}`,
    );
  }
  if (from === to) return samples.slice();
  const g = gcd(from, to), up = to / g, down = from / g;
  // Lowpass cutoff in cycles per input sample, and the kernel's half width in input samples.
  const cutoff = 0.5 * ROLLOFF * Math.min(1, to / from);
  const half = ZERO_CROSSINGS / (2 * cutoff);
  const reach = Math.ceil(half), taps = 2 * reach;
  // Output n falls between input samples at fraction p / up. With odd rates (up in the thousands)
  // the exact table would be huge, so the fraction is rounded to one of `phases` steps: a timing
  // error below 1/(2 * phases) of a sample, under -70 dB for speech.
  const phases = Math.min(up, Math.max(1, Math.floor(TABLE_BUDGET / taps)));
  const table = new Float64Array(phases * taps);
  const norm = besselI0(BETA);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const t = k - reach + 1 - frac, u = t / half;
      const sinc = t === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * t) / (2 * Math.PI * cutoff * t);
      const w = Math.abs(u) < 1 ? besselI0(BETA * Math.sqrt(1 - u * u)) / norm : 0;
      sum += table[p * taps + k] = 2 * cutoff * sinc * w;
    }
    for (let k = 0; k < taps; k++) table[p * taps + k] /= sum; // exact unity gain at DC
  }
  const out = new Float32Array(Math.ceil(samples.length * to / from));
  for (let n = 0; n < out.length; n++) {
    let base = Math.floor(n * down / up);
    let phase = Math.round((n * down - base * up) * phases / up);
    if (phase === phases) [base, phase] = [base + 1, 0];
    const first = base - reach + 1, row = phase * taps;
    const lo = Math.max(0, -first), hi = Math.min(taps, samples.length - first);
    let acc = 0;
    for (let k = lo; k < hi; k++) acc += table[row + k] * samples[first + k];
    out[n] = acc;
  }
  return out;
}

/**
 * Encodes samples as a WAV file. `samples` is one channel or an array of equal-length channels;
 * values are clamped to [-1, 1] and integer formats round to the nearest step. `extensible`
 * writes a WAVE_FORMAT_EXTENSIBLE header (as some tools do for > 2 channels or > 16 bits).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { encodeWav } from "./wav.ts";
 * const bytes = encodeWav(new Float32Array([0.25, -1]), { sampleRate: 16000, format: "pcm16" });
 * assert.equal(bytes.length, 44 + 4);
 * assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "RIFF");
 * ```
 */
export function encodeWav(
  samples: Float32Array | readonly Float32Array[],
  options: { sampleRate: number; format: WavFormat; extensible?: boolean },
): Uint8Array {
  const channels = samples instanceof Float32Array ? [samples] : samples;
  const { sampleRate, format, extensible = false } = options;
  const frames = channels[0]?.length ?? 0;
  if (channels.length === 0 || channels.some((c) => c.length !== frames)) {
    throw new RangeError("encodeWav: give one or more channels of equal length");
  }
  const { code, bytes: width } = FORMATS[format];
  const fmtSize = extensible ? 40 : 16, dataSize = frames * channels.length * width;
  const out = new Uint8Array(12 + 8 + fmtSize + 8 + dataSize + (dataSize & 1));
  const v = new DataView(out.buffer);
  const tag = (at: number, s: string) => out.set(new TextEncoder().encode(s), at);
  tag(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, extensible ? EXTENSIBLE : code, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels.length * width, true);
  v.setUint16(32, channels.length * width, true);
  v.setUint16(34, width * 8, true);
  if (extensible) {
    v.setUint16(36, 22, true); // extension size
    v.setUint16(38, width * 8, true); // valid bits
    v.setUint32(40, 0, true); // no speaker positions
    v.setUint16(44, code, true);
    out.set(GUID_TAIL, 46);
  }
  const data = 20 + fmtSize;
  tag(data, "data");
  v.setUint32(data + 4, dataSize, true);
  const write = sampleWriter(v, format);
  for (let i = 0, at = data + 8; i < frames; i++) {
    for (const channel of channels) {
      write(at, clamp(channel[i]));
      at += width;
    }
  }
  return out;
}

const sampleWriter = (v: DataView, format: WavFormat): (at: number, x: number) => void => {
  const int = (x: number, bits: number) =>
    Math.max(-(2 ** (bits - 1)), Math.min(2 ** (bits - 1) - 1, Math.round(x * 2 ** (bits - 1))));
  switch (format) {
    case "pcm8":
      return (at, x) => v.setUint8(at, int(x, 8) + 128);
    case "pcm16":
      return (at, x) => v.setInt16(at, int(x, 16), true);
    case "pcm24":
      return (at, x) => {
        const q = int(x, 24);
        v.setUint16(at, q & 0xffff, true);
        v.setInt8(at + 2, q >> 16);
      };
    case "pcm32":
      return (at, x) => v.setInt32(at, int(x, 32), true);
    case "float32":
      return (at, x) => v.setFloat32(at, x, true);
    case "float64":
      return (at, x) => v.setFloat64(at, x, true);
  }
};
