/**
 * Whisper's graphs on the tiny random model against Hugging Face transformers (fixture from
 * tests/fixtures/make_whisper_fixture.py), finite differences, and the decoder step's cache
 * against teacher forcing.
 */
import assert from "@std/assert";
import { Graph } from "../lib/graph/builder.ts";
import { decodeSafetensors, type StTensor } from "../lib/graph/safetensors.ts";
import { openSession, runSession } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { decode } from "../lib/whisper/decode.ts";
import { decoder, weightAccess } from "../lib/whisper/model.ts";
import {
  crossCache,
  encode,
  inversionVocab,
  stepSession,
  teacherForcedLoss,
  whisperModel,
} from "../lib/whisper/runtime.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { assertClose } from "./harness.ts";

const fixture = orThrow(
  decodeSafetensors(
    await Deno.readFile(new URL("./fixtures/whisper_tiny_random_hf.safetensors", import.meta.url)),
  ),
).tensors;
const f32 = (t: StTensor) => t.data as Float32Array;
const ints = (t: StTensor) => [...(t.data as BigInt64Array)].map(Number);

/** The fixture's deterministic inputs: scale * sin(rate * flat index). */
const pattern = (n: number, scale: number, rate: number) =>
  Float32Array.from({ length: n }, (_, i) => scale * Math.sin(rate * i));

const model = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 1 });
const d = model.config.dModel;

Deno.test("encode() matches transformers' encoder on the tiny random model", async () => {
  const states = await orThrow(encode(model, pattern(80 * 3000, 0.8, 0.37), { batch: 1 }));
  assertClose(states, f32(fixture.encoder_states), { atol: 2e-4, rtol: 1e-4, what: "state" });
});

Deno.test("decoder() logits match transformers' decoder", async () => {
  const tokens = ints(fixture.tokens);
  const g = new Graph();
  const states = g.input("states", { dtype: "float32", shape: [1, 1500, d] });
  const ids = g.input("tokens", { dtype: "int64", shape: [1, tokens.length] });
  g.output(
    decoder(ids, { weights: weightAccess(g, model.weights), config: model.config, states }),
    "logits",
  );
  const { logits } = await orThrow(runSession(
    await orThrow(
      openSession(g, { threads: 1 }),
    ),
    { states: f32(fixture.encoder_states), tokens: BigInt64Array.from(tokens, BigInt) },
  ));
  assertClose(logits as Float32Array, f32(fixture.logits), { atol: 2e-4, rtol: 1e-4 });
});

const batchInputs = () => ({
  states: pattern(2 * 37 * d, 1, 0.113),
  tokens: fixture.batch_tokens.data as BigInt64Array,
  targets: fixture.batch_targets.data as BigInt64Array,
  mask: f32(fixture.batch_mask),
  batch: 2,
});

Deno.test("teacherForcedLoss() matches transformers' loss and gradient w.r.t. states", async () => {
  const { loss, gradStates } = await orThrow(teacherForcedLoss(model, batchInputs()));
  assertClose([loss], f32(fixture.loss), { rtol: 1e-5, what: "loss" });
  assertClose(gradStates, f32(fixture.grad_states), { atol: 1e-6, rtol: 1e-3, what: "grad" });
});

Deno.test("teacherForcedLoss() over the whole vocabulary as a subset equals the full loss and gradient", async () => {
  const inputs = batchInputs();
  const full = await orThrow(teacherForcedLoss(model, inputs));
  // Every id, in reverse order, so the targets really are remapped.
  const v = model.config.vocabSize;
  const vocab = BigInt64Array.from({ length: v }, (_, i) => BigInt(v - 1 - i));
  const all = await orThrow(teacherForcedLoss(model, { ...inputs, vocab }));
  assertClose([all.loss], [full.loss], { rtol: 1e-5, what: "loss" });
  assertClose(all.gradStates, full.gradStates, { atol: 1e-7, rtol: 1e-4, what: "grad" });
  // inversionVocab with extra ids beyond the vocabulary is every id too.
  const built = inversionVocab(model.config, {
    targets: inputs.targets,
    mask: inputs.mask,
    extra: v,
  });
  assert.deepEqual([...built], [...vocab].reverse());
  const same = await orThrow(teacherForcedLoss(model, { ...inputs, vocab: built }));
  assertClose([same.loss], [full.loss], { rtol: 1e-5, what: "loss" });
  assertClose(same.gradStates, full.gradStates, { atol: 1e-7, rtol: 1e-4, what: "grad" });
});

Deno.test("teacherForcedLoss() over a subset is at most the full loss and names a missing target", async () => {
  const inputs = batchInputs();
  const full = await orThrow(teacherForcedLoss(model, inputs));
  const vocab = inversionVocab(model.config, {
    targets: inputs.targets,
    mask: inputs.mask,
    extra: 10,
  });
  assert.ok(vocab.length < model.config.vocabSize);
  const some = await orThrow(teacherForcedLoss(model, { ...inputs, vocab }));
  assert.ok(some.loss > 0 && some.loss < full.loss, `subset ${some.loss} vs full ${full.loss}`);
  const scored = inputs.targets.find((_, i) => inputs.mask[i] !== 0)!;
  const without = vocab.filter((id) => id !== scored);
  const refused = await teacherForcedLoss(model, { ...inputs, vocab: without })();
  assert.ok(
    refused._tag === "Left" && /not in the restricted vocabulary/.test(refused.left.message),
  );
});

Deno.test("teacherForcedLoss() gradient matches central finite differences", async () => {
  const inputs = batchInputs();
  const { gradStates } = await orThrow(teacherForcedLoss(model, inputs));
  const direction = fillNormal(new Float32Array(inputs.states.length), createRng(5));
  const lossAt = async (step: number) => {
    const states = inputs.states.map((v, i) => v + step * direction[i]);
    return (await orThrow(teacherForcedLoss(model, { ...inputs, states }))).loss;
  };
  const eps = 1e-2;
  const numeric = (await lossAt(eps) - await lossAt(-eps)) / (2 * eps);
  const analytic = gradStates.reduce((s, g, i) => s + g * direction[i], 0);
  assert.ok(
    Math.abs(numeric - analytic) <= 2e-3 * Math.abs(analytic) + 1e-4,
    `directional derivative: finite differences ${numeric}, gradient ${analytic}`,
  );
});

Deno.test("teacherForcedLoss() ignores masked encoder frames (padding equals truncation)", async () => {
  const inputs = batchInputs();
  const short = 30;
  const truncated = new Float32Array(2 * short * d);
  for (let b = 0; b < 2; b++) {
    truncated.set(inputs.states.subarray(b * 37 * d, (b * 37 + short) * d), b * short * d);
  }
  const statesMask = Float32Array.from({ length: 2 * 37 }, (_, i) => (i % 37 < short ? 1 : 0));
  const padded = await orThrow(teacherForcedLoss(model, { ...inputs, statesMask }));
  const cut = await orThrow(teacherForcedLoss(model, { ...inputs, states: truncated }));
  assertClose([padded.loss], [cut.loss], { rtol: 1e-5 });
  const masked = padded.gradStates.filter((_, i) => Math.floor(i / d) % 37 >= short);
  assert.ok(masked.every((g) => g === 0), "masked frames get no gradient");
});

Deno.test("decoderStepGraph() with its key/value cache reproduces teacher-forced logits", async () => {
  const tokens = ints(fixture.tokens);
  const states = f32(fixture.encoder_states);
  const cross = await orThrow(crossCache(model, states, { batch: 1, frames: 1500 }));
  const step = await orThrow(stepSession(model, { batch: 1, frames: 1500, capacity: 12 }));
  const heads = model.config.decoderHeads;
  let caches: Record<string, Float32Array> = {};
  for (let i = 0; i < model.config.decoderLayers; i++) {
    caches[`self_k.${i}`] = new Float32Array(heads * 12 * (d / heads));
    caches[`self_v.${i}`] = new Float32Array(heads * 12 * (d / heads));
  }
  const expected = f32(fixture.logits), vocab = model.config.vocabSize;
  for (let p = 0; p < tokens.length; p++) {
    const out = await orThrow(runSession(step, {
      ...caches,
      ...cross,
      token: new BigInt64Array([BigInt(tokens[p])]),
      position: new BigInt64Array([BigInt(p)]),
      reorder: new BigInt64Array([0n]),
      cross_mask: new Float32Array(1500).fill(1),
    }));
    const next: Record<string, Float32Array> = {};
    for (let i = 0; i < model.config.decoderLayers; i++) {
      next[`self_k.${i}`] = out[`next_self_k.${i}`] as Float32Array;
      next[`self_v.${i}`] = out[`next_self_v.${i}`] as Float32Array;
    }
    caches = next;
    assertClose(out.logits as Float32Array, expected.subarray(p * vocab, (p + 1) * vocab), {
      atol: 2e-4,
      rtol: 1e-4,
      what: `logit at position ${p}`,
    });
  }
});

Deno.test("decode() greedy matches transformers' greedy decoding", async () => {
  const tokens = ints(fixture.tokens);
  const [out] = await orThrow(decode(model, f32(fixture.encoder_states), {
    batch: 1,
    prefix: tokens.slice(0, 4),
    eot: model.config.eosTokenId,
    maxTokens: 12,
  }));
  assert.deepEqual(out.tokens, ints(fixture.greedy));
});

Deno.test("decode() beam scores are the teacher-forced log-probabilities of its outputs", async () => {
  const states = pattern(2 * 37 * d, 1, 0.113);
  const eot = model.config.eosTokenId;
  const prefix = [eot + 1, eot + 2, eot + 102, eot + 106];
  // Special and timestamp tokens are suppressed: sequences of bytes and merges remain.
  const allowed = new Set([...Array(eot + 1).keys()]);
  const suppress = [...Array(model.config.vocabSize).keys()].filter((t) => t > eot);
  const options = { batch: 2, prefix, eot, suppress, maxTokens: 6 };
  const greedy = await orThrow(decode(model, states, options));
  const beam1 = await orThrow(decode(model, states, { ...options, beamSize: 1 }));
  assert.deepEqual(beam1, greedy);
  const beam = await orThrow(decode(model, states, { ...options, beamSize: 4 }));
  // Beam search finds other, likelier sequences here than greedy does.
  assert.notDeepEqual(beam.map((o) => o.tokens), greedy.map((o) => o.tokens));
  assert.ok(beam.every((o, b) => o.sumLogprob > greedy[b].sumLogprob));
  for (const [b, out] of beam.entries()) {
    const sampled = out.finished ? [...out.tokens, eot] : out.tokens;
    const input = [...prefix, ...sampled.slice(0, -1)];
    const targets = [...prefix.slice(1), ...sampled];
    const scored = input.map((_, i) => (i >= prefix.length - 1 ? 1 : 0));
    const row = states.subarray(b * 37 * d, (b + 1) * 37 * d);
    // The loss is a mean NLL over the full vocabulary; with suppression the decoder renormalises
    // over the allowed tokens, so compare with a log-softmax restricted the same way.
    const g = new Graph();
    const s = g.input("states", { dtype: "float32", shape: [1, 37, d] });
    const ids = g.input("tokens", { dtype: "int64", shape: [1, input.length] });
    g.output(
      decoder(ids, { weights: weightAccess(g, model.weights), config: model.config, states: s }),
      "logits",
    );
    const session = await orThrow(openSession(g, { threads: 1 }));
    const { logits } = await orThrow(
      runSession(session, { states: row, tokens: BigInt64Array.from(input, BigInt) }),
    );
    let sum = 0;
    const vocab = model.config.vocabSize;
    scored.forEach((on, i) => {
      if (!on) return;
      const rowLogits = [...allowed].map((t) => Number(logits[i * vocab + t]));
      const max = Math.max(...rowLogits);
      const lse = max + Math.log(rowLogits.reduce((a, v) => a + Math.exp(v - max), 0));
      sum += Number(logits[i * vocab + targets[i]]) - lse;
    });
    assertClose([out.sumLogprob], [sum], {
      atol: 1e-3,
      rtol: 1e-4,
      what: `beam score of row ${b}`,
    });
    assert.ok(out.tokens.every((t) => allowed.has(t)));
  }
});
