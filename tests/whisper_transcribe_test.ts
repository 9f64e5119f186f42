/** Transcription end to end on the tiny random Whisper: rules, batching, errors, the CLI. */
import assert from "@std/assert";
import { orThrow } from "../lib/result.ts";
import { whisperModel } from "../lib/whisper/runtime.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";
import { suppression, transcribe } from "../lib/whisper/transcribe.ts";
import { encodeWav } from "../lib/whisper/wav.ts";
import { leftOf } from "./harness.ts";

const model = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 1 });
const tokenizer = orThrow(modelTokenizer(model));
const chirp = (seconds: number, hz: number) =>
  Float32Array.from(
    { length: seconds * 16000 },
    (_, i) => 0.3 * Math.sin(2 * Math.PI * hz * i / 16000 * (1 + i / 32000)),
  );

Deno.test("transcribe() samples no suppressed token and is deterministic", async () => {
  const clips = [chirp(2, 220), chirp(1, 440), chirp(3, 330)];
  const first = await orThrow(transcribe(model, clips, { maxTokens: 10 }));
  const again = await orThrow(transcribe(model, clips, { maxTokens: 10 }));
  assert.deepEqual(first, again);
  const { suppress, suppressAtBegin } = suppression(tokenizer);
  const banned = new Set(suppress);
  for (const t of first) {
    assert.ok(t.tokens.length > 0 && t.tokens.length <= 10);
    assert.ok(t.tokens.every((id) => !banned.has(id)), `suppressed token in ${t.tokens}`);
    assert.ok(!suppressAtBegin!.includes(t.tokens[0]));
    assert.ok(t.languageProbability > 0 && t.languageProbability <= 1);
    assert.ok(tokenizer.languages.includes(t.language));
  }
});

Deno.test("transcribe() of a batch equals transcribing each clip alone", async () => {
  const clips = [chirp(2, 220), chirp(1, 440)];
  const batch = await orThrow(transcribe(model, clips, { maxTokens: 6, language: "fr" }));
  for (const [i, clip] of clips.entries()) {
    const [alone] = await orThrow(transcribe(model, [clip], { maxTokens: 6, language: "fr" }));
    assert.deepEqual(alone.tokens, batch[i].tokens);
    assert.equal(batch[i].language, "fr");
  }
  const [named] = await orThrow(
    transcribe(model, [clips[0]], { maxTokens: 6, language: "French" }),
  );
  assert.equal(named.language, "fr");
  assert.deepEqual(named.tokens, batch[0].tokens);
});

Deno.test("transcribe() names bad input: long audio, unknown language, no tokenizer", async () => {
  const long = await transcribe(model, [chirp(1, 100), new Float32Array(31 * 16000)])();
  assert.match(leftOf(long).message, /clip 1: .*31\.00 s/);
  const klingon = await transcribe(model, [chirp(1, 100)], { language: "klingon" })();
  assert.match(leftOf(klingon).message, /klingon/);
  const bare = whisperModel({ ...tinyRandomWhisper(), tokenizerJson: undefined });
  assert.match(leftOf(await transcribe(bare, [chirp(1, 100)])()).message, /no tokenizer.json/);
  const english = whisperModel(tinyRandomWhisper({ multilingual: false }), { threads: 1 });
  const german = await transcribe(english, [chirp(1, 100)], { language: "de" })();
  assert.match(leftOf(german).message, /English-only|\.en/);
});

Deno.test("deno task transcribe prints a transcript per file and fails clearly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wav = `${dir}/clip.wav`;
    await Deno.writeFile(wav, encodeWav(chirp(1, 300), { sampleRate: 16000, format: "pcm16" }));
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/transcribe.ts", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await run(
      wav,
      "--model",
      "tiny-random",
      "--max-tokens",
      "4",
      "--threads",
      "1",
      "--json",
    );
    const stdout = new TextDecoder().decode(ok.stdout);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const line = JSON.parse(stdout.trim());
    assert.equal(line.file, wav);
    assert.ok(Array.isArray(line.tokens) && line.tokens.length <= 4);
    assert.match(new TextDecoder().decode(ok.stderr), /real-time factor/);
    const missing = await run(`${dir}/none.wav`, "--model", "tiny-random");
    assert.equal(missing.code, 1);
    assert.match(new TextDecoder().decode(missing.stderr), /none\.wav/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
