import assert from "@std/assert";
import { orThrow } from "../lib/result.ts";
import { compressionRatio, readBack, tokenLimit } from "../lib/whisper/readback.ts";
import { whisperModel } from "../lib/whisper/runtime.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

Deno.test("readBack() stops a looping decode at the token limit of its own frames and flags it", async () => {
  // The tiny random decoder never says <|endoftext|>: every read-back is a loop.
  const model = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 1 });
  const tokenizer = orThrow(modelTokenizer(model));
  const frames = [10, 60, 130], d = model.config.dModel;
  const states = frames.map((f) => new Float32Array(f * d).fill(0.3));
  const out = await orThrow(readBack(model, states, { tokenizer, lang: "en" }));
  out.forEach((r, i) => {
    assert.equal(r.tokens, tokenLimit(frames[i]), `row ${i}: ${r.tokens} tokens`);
    assert.ok(!r.finished && r.looped, `row ${i}`);
  });
});

Deno.test("compressionRatio() flags Whisper's repetition loops and passes fluent text", () => {
  const fluent = [
    "Kannst du mir das Salz reichen?",
    "Nous avons une technique au bon de la lumière.",
    "The quick brown fox jumps over the lazy dog.",
  ];
  for (const t of fluent) assert.ok(compressionRatio(t) < 2.4, t);
  assert.ok(compressionRatio("et bien sûr, je vous ai dit que ".repeat(8)) > 2.4);
  assert.ok(compressionRatio("de la rivière ".repeat(70)) > 10);
  assert.equal(compressionRatio(""), 0);
});
