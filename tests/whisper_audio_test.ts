import assert from "@std/assert";
import { either as E } from "fp-ts";
import { orThrow } from "../lib/result.ts";
import {
  decodeWav,
  encodeWav,
  fft,
  hzToMel,
  loadWav,
  loadWhisperInput,
  logMelSpectrogram,
  melFilterbank,
  melToHz,
  N_FRAMES,
  N_SAMPLES,
  padOrTrim,
  readWav,
  resample,
  type WavFormat,
  whisperInput,
} from "../lib/whisper/audio.ts";

// Reference values from tests/fixtures/make_mel_fixture.py (numpy filterbank, torch.stft).
interface MelFixture {
  filters: Record<string, { start: number; values: number[] }[]>;
  signalLength: number;
  logMel: Record<string, number[]>;
  whisperInputHead: number[];
  whisperInputTail: number;
}
const fixture: MelFixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/whisper_mel.json", import.meta.url)),
);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length, "lengths differ");
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
};
const leftMessage = <A>(result: E.Either<{ message: string }, A>): string =>
  E.isLeft(result) ? result.left.message : assert.fail("expected a Left");
const sine = (options: { hz: number; rate: number; seconds: number; amplitude?: number }) =>
  Float32Array.from(
    { length: Math.round(options.rate * options.seconds) },
    (_, i) => (options.amplitude ?? 1) * Math.sin(2 * Math.PI * options.hz * i / options.rate),
  );
/** Deterministic noise in [-1, 1) from a linear congruential generator. */
const noise = (length: number, seed = 1): Float32Array => {
  let s = seed;
  return Float32Array.from({ length }, () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 31 - 1);
};

// Hand-written RIFF files, independent of encodeWav.
const u16 = (v: number) => [v & 255, (v >>> 8) & 255];
const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const chunk = (id: string, body: number[], size = body.length) => [
  ...ascii(id),
  ...u32(size),
  ...body,
  ...(body.length % 2 ? [0] : []),
];
const fmt = (o: { code?: number; channels?: number; rate?: number; bits?: number }) => {
  const { code = 1, channels = 1, rate = 16000, bits = 16 } = o;
  const block = channels * bits / 8;
  return chunk("fmt ", [
    ...u16(code),
    ...u16(channels),
    ...u32(rate),
    ...u32(rate * block),
    ...u16(block),
    ...u16(bits),
  ]);
};
const riff = (...chunks: number[][]): Uint8Array => {
  const body = [...ascii("WAVE"), ...chunks.flat()];
  return new Uint8Array([...ascii("RIFF"), ...u32(body.length), ...body]);
};
const samplesOf = (bytes: Uint8Array) => orThrow(decodeWav(bytes)).samples;

Deno.test("decodeWav() reads hand-written PCM and float bytes", () => {
  const pcm8 = riff(fmt({ bits: 8 }), chunk("data", [0, 128, 255]));
  assert.deepEqual(samplesOf(pcm8), new Float32Array([-1, 0, 127 / 128]));
  const pcm16 = riff(fmt({}), chunk("data", [0x00, 0x80, 0xff, 0x7f, 0x00, 0x40]));
  assert.deepEqual(samplesOf(pcm16), new Float32Array([-1, 32767 / 32768, 0.5]));
  const pcm24 = riff(fmt({ bits: 24 }), chunk("data", [0, 0, 0x80, 0xff, 0xff, 0x7f, 1, 0, 0]));
  assert.deepEqual(samplesOf(pcm24), new Float32Array([-1, 8388607 / 8388608, 1 / 8388608]));
  const pcm32 = riff(fmt({ bits: 32 }), chunk("data", [0, 0, 0, 0x80, 0, 0, 0, 0xc0]));
  assert.deepEqual(samplesOf(pcm32), new Float32Array([-1, -0.5]));
  const floats = new Uint8Array(new Float32Array([0.25, 1.5, -2, NaN]).buffer);
  assert.deepEqual(
    samplesOf(riff(fmt({ code: 3, bits: 32 }), chunk("data", [...floats]))),
    new Float32Array([0.25, 1, -1, 0]), // clamped to [-1, 1]; NaN becomes silence
  );
  const doubles = new Uint8Array(new Float64Array([-0.125, 0.75]).buffer);
  assert.deepEqual(
    samplesOf(riff(fmt({ code: 3, bits: 64 }), chunk("data", [...doubles]))),
    new Float32Array([-0.125, 0.75]),
  );
});

Deno.test("decodeWav() mixes channels to mono by averaging", () => {
  // Frames: (0.5, -0.5), (0.5, 0.5) in 16-bit stereo.
  const bytes = riff(fmt({ channels: 2 }), chunk("data", [0, 0x40, 0, 0xc0, 0, 0x40, 0, 0x40]));
  const wav = orThrow(decodeWav(bytes));
  assert.deepEqual(wav.samples, new Float32Array([0, 0.5]));
  assert.equal(wav.channels, 2);
  assert.equal(wav.format, "pcm16");
});

Deno.test("decodeWav() skips other chunks, honours padding and reads open-ended data", () => {
  const list = chunk("LIST", [1, 2, 3]); // odd length: one pad byte follows
  const data = chunk("data", [0x00, 0x40, 0x00, 0xc0], 0xffffffff); // length unknown
  const wav = orThrow(decodeWav(riff(list, fmt({ rate: 22050 }), list, data)));
  assert.deepEqual(wav.samples, new Float32Array([0.5, -0.5]));
  assert.equal(wav.sampleRate, 22050);
});

Deno.test("encodeWav() and decodeWav() round-trip every format", () => {
  const left = Float32Array.from(noise(257, 7), (x) => 0.9 * x);
  const right = Float32Array.from(noise(257, 8), (x) => 0.9 * x);
  const step: Record<WavFormat, number> = {
    pcm8: 2 ** -7,
    pcm16: 2 ** -15,
    pcm24: 2 ** -23,
    pcm32: 2 ** -31,
    float32: 0,
    float64: 0,
  };
  for (const format of Object.keys(step) as WavFormat[]) {
    for (const extensible of [false, true]) {
      const what = `${format}${extensible ? " (extensible)" : ""}`;
      const mono = orThrow(
        decodeWav(encodeWav(left, { sampleRate: 44100, format, extensible })),
      );
      assert.equal(mono.sampleRate, 44100, what);
      assert.equal(mono.format, format, what);
      assert.ok(maxAbsDiff(mono.samples, left) <= step[format] / 2 + 1e-7, what);
      const stereo = decodeWav(encodeWav([left, right], { sampleRate: 8000, format, extensible }));
      const mixed = left.map((x, i) => (x + right[i]) / 2);
      assert.ok(maxAbsDiff(orThrow(stereo).samples, mixed) <= step[format] / 2 + 1e-7, what);
    }
  }
});

Deno.test("decodeWav() names the input and the fix for files it cannot read", () => {
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode("ID3\u0003 an mp3 file"), /WAV bytes: not a RIFF\/WAVE.*ID3.*ffmpeg/],
    [new Uint8Array(2), /not a RIFF\/WAVE file \(too short\)/],
    [
      riff(fmt({ code: 2 }), chunk("data", [0, 0])),
      /unsupported WAV encoding format code 2.*ffmpeg/,
    ],
    [riff(fmt({ bits: 12 }), chunk("data", [0, 0])), /unsupported WAV encoding 12-bit PCM/],
    [
      riff(fmt({ code: 3, bits: 16 }), chunk("data", [0, 0])),
      /unsupported WAV encoding 16-bit float/,
    ],
    [
      riff(fmt({}), chunk("data", [0, 0, 0, 0], 40)),
      /truncated: "data" chunk declares 40 bytes, 4 left/,
    ],
    [riff(fmt({}), chunk("data", [0, 0, 0])), /truncated: data holds 3 bytes/],
    [riff(fmt({})), /truncated: no "data" chunk/],
    [riff(chunk("data", [0, 0])), /"data" chunk comes before the "fmt " chunk/],
    [riff(fmt({ channels: 0 }), chunk("data", [])), /0 channels/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.match(leftMessage(decodeWav(bytes)), pattern);
  }
  const extensible = encodeWav(new Float32Array(4), {
    sampleRate: 16000,
    format: "pcm16",
    extensible: true,
  });
  extensible[50] ^= 0xff; // corrupt the subformat GUID
  assert.match(
    leftMessage(decodeWav(extensible, { name: "x.wav" })),
    /^x\.wav: unknown WAVE_FORMAT_EXTENSIBLE/,
  );
});

Deno.test("loadWav() reads a file as 16 kHz mono and names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tone.wav`;
    await Deno.writeFile(
      path,
      encodeWav(sine({ hz: 440, rate: 8000, seconds: 0.5 }), { sampleRate: 8000, format: "pcm16" }),
    );
    const samples = orThrow(await loadWav(path)());
    assert.equal(samples.length, 8000);
    assert.equal(
      orThrow(readWav(await Deno.readFile(path), { sampleRate: 8000 })).length,
      4000,
    );
    assert.match(leftMessage(await loadWav(`${dir}/missing.wav`)()), /cannot read .*missing\.wav/);
    await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4]));
    assert.match(leftMessage(await loadWav(path)()), /tone\.wav: not a RIFF\/WAVE file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Largest error against `expected` away from the edges, where the filter sees zero padding. */
const middleError = (actual: Float32Array, expected: (n: number) => number): number => {
  let most = 0;
  for (let n = 400; n < actual.length - 400; n++) {
    most = Math.max(most, Math.abs(actual[n] - expected(n)));
  }
  return most;
};

Deno.test("resample() keeps a 1 kHz sine's frequency, phase and amplitude", () => {
  for (const rate of [44100, 48000, 8000, 22050, 47999]) {
    // 47999 Hz needs 16000 filter phases, more than the table holds: it takes the rounded path.
    const x = sine({ hz: 1000, rate, seconds: 0.5, amplitude: 0.8 });
    const out = resample(x, { from: rate, to: 16000 });
    assert.equal(out.length, Math.ceil(x.length * 16000 / rate), `${rate} Hz`);
    const error = middleError(out, (n) => 0.8 * Math.sin(2 * Math.PI * 1000 * n / 16000));
    assert.ok(error < 1e-4, `${rate} Hz: error ${error}`);
  }
});

Deno.test("resample() passes speech frequencies and removes content above 8 kHz", () => {
  for (const rate of [44100, 48000, 96000]) {
    const pass = resample(sine({ hz: 6500, rate, seconds: 0.25 }), { from: rate, to: 16000 });
    const passError = middleError(pass, (n) => Math.sin(2 * Math.PI * 6500 * n / 16000));
    assert.ok(passError < 1e-4, `${rate} Hz, 6.5 kHz tone: error ${passError}`);
    for (const hz of [8500, 10000, 15000]) {
      const stop = resample(sine({ hz, rate, seconds: 0.25 }), { from: rate, to: 16000 });
      const leak = middleError(stop, () => 0);
      assert.ok(leak < 1e-5, `${rate} Hz, ${hz} Hz tone aliases at amplitude ${leak}`);
    }
  }
  // Upsampling must not create images: 3 kHz at 8 kHz has its mirror at 5 kHz.
  const up = resample(sine({ hz: 3000, rate: 8000, seconds: 0.25 }), { from: 8000, to: 16000 });
  assert.ok(middleError(up, (n) => Math.sin(2 * Math.PI * 3000 * n / 16000)) < 1e-4);
});

Deno.test("resample() copies at equal rates and rejects bad rates", () => {
  const x = noise(100);
  const same = resample(x, { from: 16000, to: 16000 });
  assert.deepEqual(same, x);
  assert.notEqual(same, x);
  assert.equal(
    resample(noise(1000), { from: 44100, to: 16000 }).length,
    Math.ceil(1000 * 16000 / 44100),
  );
  assert.throws(() => resample(x, { from: 0, to: 16000 }), /rates must be positive integers/);
  assert.throws(() => resample(x, { from: 44100.5, to: 16000 }), /from=44100.5/);
});

Deno.test("fft() matches a brute-force DFT", () => {
  for (const n of [400, 200, 1, 2, 7, 12, 210, 49]) {
    const re = noise(n, n), im = noise(n, n + 1);
    const got = fft(re, im);
    const wantRe = new Float64Array(n), wantIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        const a = -2 * Math.PI * ((j * k) % n) / n;
        wantRe[k] += re[j] * Math.cos(a) - im[j] * Math.sin(a);
        wantIm[k] += re[j] * Math.sin(a) + im[j] * Math.cos(a);
      }
    }
    assert.ok(maxAbsDiff(got.re, wantRe) < 1e-10 * n, `n=${n}`);
    assert.ok(maxAbsDiff(got.im, wantIm) < 1e-10 * n, `n=${n}`);
  }
  assert.throws(() => fft([1, 2], [0]), /same non-zero length/);
});

Deno.test("melFilterbank() matches the numpy reference", () => {
  for (const nMels of [80, 128]) {
    const { data, bins } = melFilterbank({ nMels });
    const want = new Float32Array(nMels * bins);
    fixture.filters[nMels].forEach(({ start, values }, m) => want.set(values, m * bins + start));
    assert.ok(maxAbsDiff(data, want) < 1e-8, `${nMels} mels`);
  }
});

Deno.test("melFilterbank() rows are unit-area triangles peaking at their centre", () => {
  for (const nMels of [80, 128]) {
    const { data, bins } = melFilterbank({ nMels });
    const top = hzToMel(8000);
    for (let m = 0; m < nMels; m++) {
      const row = Array.from(data.subarray(m * bins, (m + 1) * bins));
      assert.ok(row.every((w) => w >= 0), `row ${m} has a negative weight`);
      const peak = row.indexOf(Math.max(...row));
      // Non-zero weights form one run that rises to the peak and falls after it.
      const first = row.findIndex((w) => w > 0), last = row.findLastIndex((w) => w > 0);
      for (let k = first; k <= last; k++) {
        assert.ok(row[k] > 0, `row ${m}: gap at bin ${k}`);
        if (k < peak) assert.ok(row[k] <= row[k + 1], `row ${m}: not rising at ${k}`);
        if (k > peak) assert.ok(row[k] <= row[k - 1], `row ${m}: not falling at ${k}`);
      }
      const centre = melToHz((m + 1) * top / (nMels + 1)) / 40; // in FFT bins of 40 Hz
      assert.ok(Math.abs(peak - centre) <= 1, `row ${m}: peak at bin ${peak}, centre ${centre}`);
      const [lo, hi] = [m, m + 2].map((i) => melToHz(i * top / (nMels + 1)));
      if (hi - lo > 400) { // sampled at 40 Hz, only wide triangles integrate accurately
        const area = row.reduce((a, w) => a + w * 40, 0);
        assert.ok(Math.abs(area - 1) < 0.02, `row ${m}: area ${area}`);
      }
    }
  }
});

Deno.test("logMelSpectrogram() puts a pure tone's energy in the right mel band", () => {
  const bank = melFilterbank({ nMels: 80 });
  for (const hz of [520, 1000, 3000, 6000]) {
    const mel = logMelSpectrogram(sine({ hz, rate: 16000, seconds: 0.5 }), { nMels: 80 });
    assert.equal(mel.frames, 50);
    const bin = hz / 40;
    const weights = Array.from({ length: 80 }, (_, m) => bank.data[m * bank.bins + bin]);
    const means = Array.from({ length: 80 }, (_, m) => {
      const row = mel.data.subarray(m * mel.frames, (m + 1) * mel.frames);
      return row.reduce((a, b) => a + b, 0) / row.length;
    });
    assert.equal(
      means.indexOf(Math.max(...means)),
      weights.indexOf(Math.max(...weights)),
      `${hz} Hz`,
    );
  }
});

/** The fixture's test signal; make_mel_fixture.py builds the same one. */
const fixtureSignal = (n: number): Float32Array =>
  Float32Array.from({ length: n }, (_, t) => {
    let x = 0.6 * Math.sin(2 * Math.PI * 440 * t / 16000);
    x += 0.3 * Math.sin(2 * Math.PI * (300 + 1000 * t / n) * t / 16000);
    x += 0.1 * Math.cos(2 * Math.PI * 5555 * t / 16000 + 0.7);
    return x;
  });

Deno.test("logMelSpectrogram() matches torch.stft on a known signal", () => {
  const x = fixtureSignal(fixture.signalLength);
  for (const nMels of [80, 128]) {
    const mel = logMelSpectrogram(x, { nMels });
    assert.deepEqual([mel.nMels, mel.frames], [nMels, fixture.signalLength / 160]);
    const error = maxAbsDiff(mel.data, fixture.logMel[nMels]);
    assert.ok(error < 1e-4, `${nMels} mels: max error ${error}`);
  }
});

Deno.test("whisperInput() matches Whisper's padded 3000-frame input", () => {
  const input = orThrow(whisperInput(fixtureSignal(fixture.signalLength), { nMels: 80 }));
  assert.deepEqual([input.nMels, input.frames, input.data.length], [80, N_FRAMES, 80 * N_FRAMES]);
  const head = Float32Array.from(
    { length: 80 * 24 },
    (_, i) => input.data[Math.floor(i / 24) * 3000 + (i % 24)],
  );
  assert.ok(maxAbsDiff(head, fixture.whisperInputHead) < 1e-4);
  for (let m = 0; m < 80; m++) {
    const tail = input.data.subarray(m * 3000 + 24, (m + 1) * 3000);
    assert.ok(tail.every((v) => Math.abs(v - fixture.whisperInputTail) < 1e-5), `band ${m}`);
  }
});

Deno.test("whisperInput() equals the first 3000 frames of the 30 s-padded spectrogram", () => {
  for (const length of [N_SAMPLES, N_SAMPLES - 100, 12345]) {
    const x = noise(length, length);
    const full = logMelSpectrogram(x, { nMels: 80, padding: N_SAMPLES });
    const input = orThrow(whisperInput(x, { nMels: 80 }));
    const first = Float32Array.from(
      input.data,
      (_, i) => full.data[Math.floor(i / 3000) * full.frames + (i % 3000)],
    );
    assert.ok(maxAbsDiff(input.data, first) === 0, `length ${length}`);
  }
  const silence = orThrow(whisperInput(new Float32Array(100), { nMels: 128 }));
  assert.ok(silence.data.every((v) => v === -1.5)); // log10(1e-10) = -10, then (-10 + 4) / 4
});

Deno.test("whisperInput() rejects audio over 30 s, naming its duration", () => {
  const message = leftMessage(whisperInput(new Float32Array(N_SAMPLES + 8000), { nMels: 80 }));
  assert.match(message, /30\.50 s long.*split it into chunks of 30 s or less/);
  assert.throws(
    () => whisperInput(new Float32Array(10), { nMels: 0 }),
    /nMels must be a positive integer/,
  );
});

Deno.test("logMelSpectrogram() rejects bad options and too-short input", () => {
  const x = noise(1000);
  assert.throws(() => logMelSpectrogram(x, { nMels: 2.5 }), /nMels must be a positive integer/);
  assert.throws(() => logMelSpectrogram(x, { nMels: 80, padding: -1 }), /padding must be/);
  assert.throws(() => logMelSpectrogram(noise(200), { nMels: 80 }), /more than 200 samples/);
  assert.equal(logMelSpectrogram(noise(150), { nMels: 80, padding: 100 }).frames, 1);
});

Deno.test("padOrTrim() pads with zeros or trims to 30 s", () => {
  assert.deepEqual(
    padOrTrim(new Float32Array([1, 2]), { length: 4 }),
    new Float32Array([1, 2, 0, 0]),
  );
  assert.deepEqual(padOrTrim(new Float32Array([1, 2, 3]), { length: 1 }), new Float32Array([1]));
  assert.equal(padOrTrim(new Float32Array(5)).length, N_SAMPLES);
});

Deno.test("loadWhisperInput() turns a WAV file into encoder input and names a long file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tone.wav`;
    const tone = sine({ hz: 1000, rate: 48000, seconds: 1, amplitude: 0.5 });
    await Deno.writeFile(path, encodeWav([tone, tone], { sampleRate: 48000, format: "pcm24" }));
    const input = orThrow(await loadWhisperInput(path, { nMels: 80 })());
    const direct = orThrow(
      whisperInput(resample(tone, { from: 48000, to: 16000 }), { nMels: 80 }),
    );
    assert.ok(maxAbsDiff(input.data, direct.data) < 1e-4);
    await Deno.writeFile(
      path,
      encodeWav(new Float32Array(31 * 8000), { sampleRate: 8000, format: "pcm8" }),
    );
    assert.match(
      leftMessage(await loadWhisperInput(path, { nMels: 80 })()),
      /tone\.wav: .*31\.00 s long/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
