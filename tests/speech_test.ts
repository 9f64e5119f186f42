import assert from "@std/assert";
import { either as E } from "fp-ts";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { buildPriorCache, loadPriorStates, readManifest } from "../lib/speech/cache.ts";
import { speak } from "../lib/speech/espeak.ts";
import { frechetDistance, symmetricEigen } from "../lib/speech/frechet.ts";
import {
  channelStats,
  denormalizeStates,
  encodeSpeech,
  normalizeStates,
} from "../lib/speech/prior.ts";
import { ESPEAK_VOICES, espeakVoice, spokenLanguages } from "../lib/speech/voices.ts";
import { LANGUAGE_CODES } from "../lib/text/languages.ts";
import { whisperModel } from "../lib/whisper/runtime.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";
import { prepareSentences } from "../lib/model/training.ts";
import { assembleBatch, maskFrames, shapeFor } from "../lib/model/batch.ts";
import { invertStates } from "../lib/model/states.ts";

const model = whisperModel(tinyRandomWhisper({ seed: 5 }), { threads: 1 });

Deno.test("ESPEAK_VOICES maps or rules out every Whisper language, and nothing else", () => {
  assert.deepEqual(Object.keys(ESPEAK_VOICES).sort(), [...LANGUAGE_CODES].sort());
  assert.ok(spokenLanguages().length >= 75);
  for (const code of LANGUAGE_CODES) {
    const v = espeakVoice(code);
    if (E.isLeft(v)) assert.match(v.left.message, /no eSpeak NG voice/);
  }
  const unknown = espeakVoice("xx");
  assert.ok(E.isLeft(unknown) && unknown.left.kind === "unsupported-language");
});

Deno.test("speak() renders 16 kHz speech whose length grows with the text", async () => {
  const short = await orThrow(speak("Yes.", { lang: "en" }));
  const long = await orThrow(
    speak("Yes, and then we walked all the way home together.", { lang: "en" }),
  );
  assert.ok(long.seconds > 2 * short.seconds, `${long.seconds} vs ${short.seconds}`);
  assert.equal(long.samples.length, Math.round(long.seconds * 16000));
  const energy = long.samples.reduce((s, x) => s + x * x, 0) / long.samples.length;
  assert.ok(energy > 1e-4, `energy ${energy}`);
});

Deno.test("speak() names empty text, languages without a voice and unknown voices", async () => {
  const empty = await speak("  ", { lang: "en" })();
  assert.ok(E.isLeft(empty) && empty.left.kind === "empty-text");
  const breton = await speak("Demat", { lang: "br" })();
  assert.ok(E.isLeft(breton) && breton.left.kind === "unsupported-language");
  const voice = await speak("Hallo", { voice: "xx" })();
  assert.ok(E.isLeft(voice) && voice.left.kind === "unknown-voice");
  const ja = await speak("?!", { lang: "ja" })();
  assert.ok(E.isLeft(ja) && ja.left.kind === "no-speech", JSON.stringify(ja));
});

Deno.test("buildPriorCache() resumes after a kill and never trusts a shard the manifest does not name", async () => {
  const dir = await Deno.makeTempDir();
  const sentences = ["One.", "Two birds.", "Three small cats.", "Four."].map((text, i) => ({
    id: `s${i}`,
    text,
    lang: "en",
  }));
  const first = await orThrow(
    buildPriorCache(model, sentences.slice(0, 2), { dir, modelName: "m", shardSize: 1 }),
  );
  assert.equal(first.built, 2);
  // A kill after a shard was written but before the manifest named it: an orphan shard, and a
  // temporary file of an interrupted atomic write.
  await Deno.writeFile(`${dir}/shard-00002.safetensors`, new Uint8Array([1, 2, 3]));
  await Deno.writeFile(`${dir}/manifest.jsonl.tmp-1`, new Uint8Array([1]));
  const again = await orThrow(
    buildPriorCache(model, sentences, { dir, modelName: "m", shardSize: 1 }),
  );
  assert.equal(again.cached, 2);
  assert.equal(again.built, 2);
  const entries = await orThrow(readManifest(dir));
  assert.equal(entries.length, 4);
  const states = await orThrow(loadPriorStates(dir, entries));
  for (const e of entries) assert.equal(states.get(e.key)!.length, e.frames * 32);
  // The cached states are the encoder's, frame for frame.
  const fresh = await orThrow(encodeSpeech(model, [await orThrow(speak("Four.", { lang: "en" }))]));
  const four = entries.find((e) => e.text === "Four.")!;
  assert.deepEqual(states.get(four.key), fresh[0]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("buildPriorCache() renders at the rate asked, records it, and keeps one rate per folder", async () => {
  const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  const sentences = [{ id: "a", text: "Three small cats sat on the mat.", lang: "en" }];
  const slow = await orThrow(buildPriorCache(model, sentences, { dir, modelName: "m", wpm: 120 }));
  const normal = await orThrow(buildPriorCache(model, sentences, { dir: other, modelName: "m" }));
  assert.equal(slow.entries[0].wpm, 120);
  assert.equal(normal.entries[0].wpm, undefined);
  assert.notEqual(slow.entries[0].key, normal.entries[0].key);
  // 120 words per minute against 175: the rendering is longer by about the ratio.
  const ratio = slow.entries[0].seconds / normal.entries[0].seconds;
  assert.ok(ratio > 1.2 && ratio < 1.6, String(ratio));
  const mixed = await buildPriorCache(model, sentences, { dir, modelName: "m" })();
  assert.ok(E.isLeft(mixed) && /120 words per minute, not 175/.test(mixed.left.message));
  const again = await orThrow(buildPriorCache(model, sentences, { dir, modelName: "m", wpm: 120 }));
  assert.equal(again.cached, 1);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(other, { recursive: true });
});

Deno.test("normalizeStates() and denormalizeStates() round-trip with channelStats()", () => {
  const x = fillNormal(new Float32Array(40 * 8), createRng(1)).map((v, i) => 3 * v + (i % 8));
  const stats = channelStats([x], { width: 8 });
  const z = normalizeStates(x, stats);
  const again = channelStats([z], { width: 8 });
  for (let c = 0; c < 8; c++) {
    assert.ok(Math.abs(again.mean[c]) < 1e-5 && Math.abs(again.std[c] - 1) < 1e-4);
  }
  const back = denormalizeStates(z, stats);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) < 1e-4);
});

Deno.test("symmetricEigen() reconstructs a random symmetric matrix", () => {
  const d = 6, rng = createRng(2), m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) m[i * d + j] = m[j * d + i] = rng.nextFloat() - 0.5;
  }
  const { values, vectors } = symmetricEigen(m, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[i * d + k] * values[k] * vectors[j * d + k];
      assert.ok(Math.abs(s - m[i * d + j]) < 1e-10);
    }
  }
});

Deno.test("frechetDistance() matches the closed form for diagonal covariances and is 0 on itself", () => {
  // Independent channels: the distance is the sum of 1-D distances (mu1-mu2)^2 + (s1 - s2)^2.
  const rng = createRng(3), n = 400;
  const a = new Float32Array(n * 2), b = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    a[2 * i] = rng.nextFloat();
    a[2 * i + 1] = 2 * rng.nextFloat();
    b[2 * i] = 1 + 3 * rng.nextFloat();
    b[2 * i + 1] = rng.nextFloat();
  }
  const stat = (x: Float32Array, c: number) => {
    const v = Array.from({ length: n }, (_, i) => x[2 * i + c]);
    const m = v.reduce((s, y) => s + y, 0) / n;
    return { m, s: Math.sqrt(v.reduce((s, y) => s + (y - m) ** 2, 0) / (n - 1)) };
  };
  const got = frechetDistance([a], [b], { width: 2 });
  // Sample covariances are not exactly diagonal: allow for their small cross terms.
  let want = 0;
  for (const c of [0, 1]) {
    const sa = stat(a, c), sb = stat(b, c);
    want += (sa.m - sb.m) ** 2 + (sa.s - sb.s) ** 2;
  }
  assert.ok(Math.abs(got - want) / want < 0.02, `${got} vs ${want}`);
  assert.ok(Math.abs(frechetDistance([a], [a], { width: 2 })) < 1e-9);
});

Deno.test("frechetDistance() scores prior states nearer other prior states than noise", async () => {
  const texts = ["Good morning.", "Where is the station?", "I like green tea.", "See you soon."];
  const speeches = [];
  for (const t of texts) speeches.push(await orThrow(speak(t, { lang: "en" })));
  const states = await orThrow(encodeSpeech(model, speeches));
  const noise = states.map((s, i) => fillNormal(new Float32Array(s.length), createRng(10 + i)));
  const priorVsPrior = frechetDistance(states.slice(0, 2), states.slice(2), { width: 32 });
  const noiseVsPrior = frechetDistance(noise.slice(0, 2), states.slice(2), { width: 32 });
  assert.ok(priorVsPrior < noiseVsPrior, `${priorVsPrior} vs ${noiseVsPrior}`);
});

Deno.test("frechetDistance() scores decoder-inverted noise worse than prior states", async () => {
  // Inversion makes noise that the decoder reads as the text, not noise that looks like speech.
  const texts = ["Good morning.", "Where is the station?", "I like green tea.", "See you soon."];
  const speeches = [];
  for (const t of texts) speeches.push(await orThrow(speak(t, { lang: "en" })));
  const states = await orThrow(encodeSpeech(model, speeches));
  const tokenizer = orThrow(modelTokenizer(model));
  const items = orThrow(prepareSentences(
    texts.slice(0, 2).map((text, i) => ({
      id: `s${i}`,
      text,
      lang: "en",
      frames: states[i].length / 32,
    })),
    { tokenizer },
  ));
  const prepared = [...items.values()];
  const batch = orThrow(assembleBatch(prepared, { shape: shapeFor(prepared, { batch: 2 }) }));
  const f = batch.shape.frames;
  const noise = maskFrames(fillNormal(new Float32Array(2 * f * 32), createRng(3)), {
    mask: batch.mask,
    width: 32,
  });
  const inverted = await orThrow(invertStates(model, noise, { batch, steps: 10, lr: 0.1 }));
  assert.ok(inverted.losses.at(-1)! < inverted.losses[0], "inversion lowered the cross-entropy");
  const rows = prepared.map((p, r) => inverted.states.slice(r * f * 32, (r * f + p.frames) * 32));
  const priorVsPrior = frechetDistance(states.slice(0, 2), states.slice(2), { width: 32 });
  const invertedVsPrior = frechetDistance(rows, states.slice(2), { width: 32 });
  assert.ok(priorVsPrior < invertedVsPrior, `${priorVsPrior} vs ${invertedVsPrior}`);
});
