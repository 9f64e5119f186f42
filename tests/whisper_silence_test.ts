import assert from "@std/assert";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { teacherForcedLoss, whisperModel } from "../lib/whisper/runtime.ts";
import { silenceStates, withSilenceTail } from "../lib/whisper/silence.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";

const model = whisperModel(tinyRandomWhisper({ seed: 3 }), { threads: 1 });
const d = model.config.dModel;
const tokens = new BigInt64Array([265n, 72n, 80n, 265n, 90n, 91n]);
const targets = new BigInt64Array([72n, 80n, 264n, 90n, 91n, 264n]);
const tmask = new Float32Array(6).fill(1);

Deno.test("teacherForcedLoss() with a silence tail equals the loss over [states; silence] built in full", async () => {
  const silence = await orThrow(silenceStates(model));
  const frames = 7, states = fillNormal(new Float32Array(2 * frames * d), createRng(1));
  const mask = new Float32Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  const tail = await orThrow(teacherForcedLoss(model, {
    states,
    statesMask: mask,
    tokens,
    targets,
    mask: tmask,
    batch: 2,
    silence,
  }));
  const full = withSilenceTail(states, { batch: 2, silence, width: d, mask });
  const reference = await orThrow(teacherForcedLoss(model, {
    states: full,
    tokens,
    targets,
    mask: tmask,
    batch: 2,
  }));
  assert.ok(Math.abs(tail.loss - reference.loss) < 1e-4, `${tail.loss} vs ${reference.loss}`);
  // Gradients: real frames get the full model's gradient; masked frames (silence) get none.
  for (let row = 0; row < 2; row++) {
    for (let f = 0; f < frames; f++) {
      for (let c = 0; c < d; c++) {
        const g = tail.gradStates[(row * frames + f) * d + c];
        const want = mask[row * frames + f] ? reference.gradStates[(row * 1500 + f) * d + c] : 0;
        assert.ok(Math.abs(g - want) < 1e-5, `row ${row} frame ${f}: ${g} vs ${want}`);
      }
    }
  }
});

Deno.test("teacherForcedLoss() with a silence tail differs from the key-masked loss", async () => {
  const silence = await orThrow(silenceStates(model));
  const states = fillNormal(new Float32Array(2 * 5 * d), createRng(2));
  const base = { states, tokens, targets, mask: tmask, batch: 2 };
  const masked = await orThrow(teacherForcedLoss(model, base));
  const tail = await orThrow(teacherForcedLoss(model, { ...base, silence }));
  assert.ok(Math.abs(masked.loss - tail.loss) > 1e-4);
});
