/** The T2S network and recipes on the tiny random Whisper: masking, learning, errors. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { Graph } from "../lib/graph/builder.ts";
import { initParams } from "../lib/graph/params.ts";
import { openSession, runSession } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { t2sConfig } from "../lib/model/config.ts";
import { generate } from "../lib/model/generate.ts";
import { graphParams, t2sParamDefs, velocity } from "../lib/model/network.ts";
import {
  emaDecay,
  initRun,
  loadRun,
  prepareSentences,
  RUN_DEFAULTS,
  type RunContext,
  runIdentity,
  type RunSettings,
  saveRun,
  trainStep,
} from "../lib/model/training.ts";
import { teacherForcedLoss, whisperModel } from "../lib/whisper/runtime.ts";
import { silenceStates } from "../lib/whisper/silence.ts";
import { objective } from "../lib/model/objective.ts";
import { initTrainState, openTrainer, trainCall } from "../lib/graph/train.ts";
import { channelStats } from "../lib/speech/prior.ts";
import { assembleBatch, shapeFor } from "../lib/model/batch.ts";
import { invertStates } from "../lib/model/states.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";
import { assertClose } from "./harness.ts";

const whisper = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 2 });
const tokenizer = orThrow(modelTokenizer(whisper));
const config = orThrow(t2sConfig("tiny", { width: whisper.config.dModel }));

Deno.test("velocity() ignores padding frames and depends on the text", async () => {
  const g = new Graph();
  const params = graphParams(g, t2sParamDefs(config));
  const [b, f, w] = [2, 12, config.width];
  const xt = g.input("xt", { dtype: "float32", shape: [b, f, w] });
  const t = g.input("t", { dtype: "float32", shape: [b] });
  const text = g.input("text", { dtype: "int64", shape: [b, f] });
  const mask = g.input("mask", { dtype: "float32", shape: [b, f] });
  g.output(velocity({ xt, t, text, mask }, { params, config }), "v");
  const session = await orThrow(openSession(g, { threads: 1 }));
  // Random (not zero-initialised) weights, so every path of the network is live.
  const store = initParams(t2sParamDefs(config), { rng: createRng(1) });
  const feeds: Record<string, Float32Array | BigInt64Array> = {};
  for (const [n, p] of Object.entries(store)) {
    feeds[n] = p.data.every((v) => v === 0)
      ? fillNormal(new Float32Array(p.data.length), createRng(n.length), { std: 0.05 })
      : p.data;
  }
  const x = fillNormal(new Float32Array(b * f * w), createRng(2));
  const ids = BigInt64Array.from({ length: b * f }, (_, i) => BigInt(i % f < 5 ? 70 + i % 7 : 0));
  const m = Float32Array.from({ length: b * f }, (_, i) => (i % f < 8 ? 1 : 0));
  const run = async (xs: Float32Array, text: BigInt64Array) =>
    (await orThrow(
      runSession(session, { ...feeds, xt: xs, t: new Float32Array([0.3, 0.7]), text, mask: m }),
    )).v as Float32Array;
  const base = await run(x, ids);
  const changed = x.map((v, i) => (Math.floor(i / w) % f >= 8 ? v + 5 : v)); // padding only
  const again = await run(changed, ids);
  const real = (v: Float32Array) => v.filter((_, i) => Math.floor(i / w) % f < 8);
  assert.deepEqual(real(again), real(base));
  const otherText = await run(x, ids.map((v) => (v === 0n ? 0n : v + 1n)));
  assert.notDeepEqual(real(otherText), real(base));
});

const sentences = [
  "Hello there.",
  "Good morning, friend.",
  "The cat sleeps.",
  "I like tea.",
  "See you soon.",
  "It is raining.",
  "We walk home.",
  "Thank you very much.",
].map((text, i) => ({ id: `s:${i}`, text, lang: "en", frames: 60 + 5 * i }));

function context(settings: Partial<RunSettings>): RunContext {
  return {
    settings: {
      ...RUN_DEFAULTS,
      batch: 8,
      lr: 1e-2,
      warmup: 0,
      steps: 40,
      invertSteps: 3,
      refreshEvery: 1000,
      cfgDrop: 0,
      ...settings,
    },
    config,
    whisper,
    whisperName: "tiny-random",
    tokenizer,
    sentences: orThrow(prepareSentences(sentences, { tokenizer })),
    threads: 2,
  };
}

/** Runs `steps` steps and checks the last five losses average below the first five. */
async function trainsDown(ctx: RunContext, steps: number) {
  const sessions = { trainers: new Map(), velocity: new Map() };
  let state = initRun(ctx);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = await orThrow(trainStep(ctx, sessions, state));
    state = r.state;
    losses.push(r.metrics.loss);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
  const what = ctx.settings.recipe;
  assert.ok(last < first * 0.98, `${what}: loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  return state;
}

for (const recipe of ["inversion", "distill", "unrolled"] as const) {
  Deno.test(`trainStep() lowers the ${recipe} loss in a few steps`, async () => {
    const ctx = context({ recipe, steps: 30 });
    const state = await trainsDown(ctx, 30);
    assert.equal(state.train.step, 30);
  });
}

Deno.test("trainStep() keeps the EMA in the train step as the JavaScript loop did, over four steps", async () => {
  const ctx = context({ recipe: "inversion", steps: 4, emaDecay: 0.5, batch: 4 });
  const sessions = { trainers: new Map(), velocity: new Map() };
  let state = initRun(ctx), reference = state.ema;
  for (let i = 0; i < 4; i++) {
    state = (await orThrow(trainStep(ctx, sessions, state))).state;
    // The loop trainStep ran before the EMA moved into the graph (float64 math, float32 store).
    const decay = emaDecay(state.train.step, ctx.settings);
    reference = Object.fromEntries(
      Object.entries(state.train.params).map(([k, p]) => {
        const old = reference[k].data;
        return [k, {
          shape: p.shape,
          data: p.data.map((v, j) => decay * old[j] + (1 - decay) * v),
        }];
      }),
    );
    for (const k of Object.keys(reference)) {
      assertClose(state.ema[k].data, reference[k].data, {
        atol: 1e-7,
        rtol: 1e-6,
        what: `ema ${k} at step ${i + 1}`,
      });
    }
  }
});

/** Speech-like stand-ins for prior states: per-channel offsets and scales, noise in time. */
function fakePrior(ctx: RunContext): NonNullable<RunContext["prior"]> {
  const w = config.width, rng = createRng(7), states = new Map<string, Float32Array>();
  for (const s of ctx.sentences.values()) {
    const x = fillNormal(new Float32Array(s.frames * w), rng);
    states.set(s.id, x.map((v, i) => 0.5 * v * (1 + (i % w) / w) + ((i % w) % 3) - 1));
  }
  return { states, stats: channelStats([...states.values()], { width: w }) };
}

Deno.test("trainStep() lowers the anchored loss in a few steps and keeps targets by the prior", async () => {
  const base = context({ recipe: "anchored", steps: 30, pullWeight: 10 });
  const ctx = { ...base, prior: fakePrior(base) };
  const state = await trainsDown(ctx, 30);
  // Targets are made once (they do not depend on the model) and start at the prior.
  for (const [id, t] of state.targets) {
    assert.equal(t.step, 0);
    const p = ctx.prior.states.get(id)!;
    let num = 0, den = 0;
    for (let i = 0; i < p.length; i++) {
      num += (t.states[i] - p[i]) ** 2;
      den += p[i] ** 2;
    }
    assert.ok(num / den < 0.5, `${id}: target moved ${(num / den).toFixed(3)} from its prior`);
  }
});

Deno.test("trainStep() with independent coupling trains, and its identity differs from OT's", async () => {
  const base = context({ recipe: "anchored", steps: 30, coupling: "independent" });
  const ctx = { ...base, prior: fakePrior(base) };
  await trainsDown(ctx, 30);
  const ot = { ...ctx, settings: { ...ctx.settings, coupling: "ot" as const } };
  assert.notEqual(runIdentity(ctx), runIdentity(ot));
  assert.ok(!runIdentity(ot).includes("coupling")); // runs from before the option still resume
});

for (const recipe of ["anchored-ce", "prior"] as const) {
  Deno.test(`trainStep() lowers the ${recipe} loss in a few steps`, async () => {
    const base = context({ recipe, steps: 30, lambda: 0.5 });
    const ctx = { ...base, prior: fakePrior(base) };
    const state = await trainsDown(ctx, 30);
    if (recipe !== "prior") return;
    // "prior" trains on the prior states themselves: no inversion.
    for (const [id, t] of state.targets) assert.deepEqual(t.states, ctx.prior.states.get(id));
  });
}

Deno.test("trainStep() with paired targets reaches a lower loss floor than inversion's fresh noise, and a checkpoint keeps the noise", async () => {
  // The diagnosis: an inverted target is its noise plus a small change. Trained from fresh
  // noise the loss cannot fall below the noise's own energy; from its own noise it can.
  const floor = async (recipe: "paired" | "inversion") => {
    const ctx = context({ recipe, steps: 40, invertSteps: 3 });
    const sessions = { trainers: new Map(), velocity: new Map() };
    let state = initRun(ctx);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await orThrow(trainStep(ctx, sessions, state));
      state = r.state;
      losses.push(r.metrics.loss);
    }
    return { ctx, state, last: losses.slice(-5).reduce((a, b) => a + b, 0) / 5 };
  };
  const paired = await floor("paired"), fresh = await floor("inversion");
  assert.ok(paired.last < 0.5 * fresh.last, `paired ${paired.last} vs inversion ${fresh.last}`);
  const path = `${await Deno.makeTempDir()}/run.safetensors`;
  await orThrow(saveRun(path, { context: paired.ctx, state: paired.state }));
  const back = await orThrow(loadRun(path, paired.ctx));
  for (const [id, t] of paired.state.targets) {
    assert.ok(t.noise && t.noise.length === t.states.length);
    assert.deepEqual(back.targets.get(id)?.noise, t.noise);
    assert.deepEqual(back.targets.get(id)?.states, t.states);
  }
  await Deno.remove(path);
});

Deno.test("trainStep() lowers the bridge loss in a few steps", async () => {
  const base = context({ recipe: "bridge", steps: 30, pullWeight: 10 });
  const ctx = { ...base, prior: fakePrior(base) };
  await trainsDown(ctx, 30);
});

Deno.test("trainStep() lowers the bridge-ce loss in a few steps", async () => {
  // The random decoder's cross-entropy barely depends on its input, so a small lambda lets the
  // test see the bridge part fall under the read term's noise (the term itself is checked
  // against teacher-forced CE below).
  const base = context({ recipe: "bridge-ce", steps: 30, pullWeight: 10, lambda: 0.02 });
  const ctx = { ...base, prior: fakePrior(base) };
  await trainsDown(ctx, 30);
});

Deno.test("generate() from given start states: a fresh (zero-velocity) model returns them, and a wrong count is named", async () => {
  const base = context({ recipe: "bridge" });
  const prior = fakePrior(base);
  const params = initParams(t2sParamDefs(config), { rng: createRng(0) });
  const items = [...base.sentences.values()].slice(0, 3);
  const starts = items.map((p) => prior.states.get(p.id)!);
  const options = { config, params, whisper, tokenizer, steps: 2, norm: prior.stats, starts };
  const out = orThrow(await generate(items, options));
  out.forEach((g, i) => {
    assert.equal(g.frames, items[i].frames);
    const worst = g.states.reduce((m, v, j) => Math.max(m, Math.abs(v - starts[i][j])), 0);
    assert.ok(worst < 1e-4, `sentence ${i}: ${worst}`);
  });
  const wrong = await generate(items, { ...options, starts: starts.slice(0, 2) });
  assert.ok(E.isLeft(wrong) && /2 start states for 3 sentences/.test(wrong.left.message));
});

Deno.test("the read term is the decoder's cross-entropy of the un-normalised one-step estimate", async () => {
  // At t = 1 the one-step estimate is x1 itself, so (loss at lambda 1) - (loss at lambda 0) is
  // the decoder's cross-entropy of the prior states, computed here by teacherForcedLoss.
  const base = context({ recipe: "prior" });
  const prior = fakePrior(base);
  const items = [...base.sentences.values()].slice(0, 2).map((p) => ({ ...p, frames: 60 }));
  const batch = orThrow(assembleBatch(items, { shape: shapeFor(items, { batch: 2 }) }));
  const { batch: b, frames: f } = batch.shape, w = config.width;
  const x1 = fillNormal(new Float32Array(b * f * w), createRng(4));
  const states = x1.map((v, i) => v * prior.stats.std[i % w] + prior.stats.mean[i % w]);
  const silence = await orThrow(silenceStates(whisper));
  const params = initParams(t2sParamDefs(config), { rng: createRng(0) });
  const lossAt = async (lambda: number) => {
    const spec = objective({
      recipe: "prior",
      config,
      whisper,
      shape: batch.shape,
      lambda,
      silence,
      norm: prior.stats,
    });
    const trainer = await orThrow(openTrainer(spec, { threads: 2 }));
    const feeds = {
      x0: fillNormal(new Float32Array(b * f * w), createRng(5)),
      x1,
      t: new Float32Array(b).fill(1),
      text: batch.text,
      mask: batch.mask,
      tokens: batch.tokens,
      targets: batch.targets,
      tmask: batch.tmask,
    };
    const out = await orThrow(trainCall(trainer, initTrainState(params), { batch: feeds, lr: 0 }));
    return out.losses[0];
  };
  const expected = await orThrow(teacherForcedLoss(whisper, {
    states,
    tokens: batch.tokens,
    targets: batch.targets,
    mask: batch.tmask,
    batch: b,
    silence,
  }));
  const term = (await lossAt(1)) - (await lossAt(0));
  assert.ok(
    Math.abs(term - expected.loss) < 1e-3 * Math.max(1, expected.loss),
    `read term ${term} vs teacher-forced ${expected.loss}`,
  );
});

Deno.test("invertStates() with a pull stays nearer its anchor than without", async () => {
  const items = [...context({}).sentences.values()].slice(0, 2);
  const batch = orThrow(assembleBatch(items, { shape: shapeFor(items, { batch: 2 }) }));
  const anchor = fillNormal(new Float32Array(batch.text.length * config.width), createRng(3));
  const moved = async (weight: number) => {
    const out = await orThrow(invertStates(whisper, anchor, {
      batch,
      steps: 8,
      lr: 0.2,
      pull: weight > 0 ? { anchor, weight } : undefined,
    }));
    let d = 0;
    for (let i = 0; i < anchor.length; i++) {
      if (batch.mask[Math.floor(i / config.width)]) d += (out.states[i] - anchor[i]) ** 2;
    }
    return { d, loss: out.losses.at(-1)! };
  };
  const free = await moved(0), pulled = await moved(1e4);
  assert.ok(pulled.d < 0.1 * free.d, `pulled ${pulled.d} vs free ${free.d}`);
  assert.ok(free.loss < pulled.loss, `free CE ${free.loss} vs pulled ${pulled.loss}`);
});

Deno.test("invertStates() through the whole vocabulary as a subset makes the full softmax's states", async () => {
  const items = [...context({}).sentences.values()].slice(0, 2);
  const batch = orThrow(assembleBatch(items, { shape: shapeFor(items, { batch: 2 }) }));
  const start = fillNormal(new Float32Array(batch.text.length * config.width), createRng(4));
  const silence = await orThrow(silenceStates(whisper));
  const options = { batch, steps: 3, lr: 0.1, silence };
  const full = await orThrow(invertStates(whisper, start, options));
  const all = await orThrow(
    invertStates(whisper, start, { ...options, vocab: whisper.config.vocabSize }),
  );
  assertClose(all.losses, full.losses, { rtol: 1e-4, what: "loss" });
  assertClose(all.states, full.states, { atol: 1e-4, rtol: 1e-3, what: "states" });
  // A small subset still lowers the (full) cross-entropy, reported last.
  const some = await orThrow(invertStates(whisper, start, { ...options, vocab: 8 }));
  assert.ok(some.losses[3] < full.losses[0], `${some.losses[3]} vs ${full.losses[0]}`);
});

Deno.test("prepareSentences() and generate() name empty, unknown-language and too-long text", async () => {
  const bad = prepareSentences([{ id: "x:1", text: "Hi", lang: "xx", frames: 50 }], { tokenizer });
  assert.ok(E.isLeft(bad) && /x:1/.test(bad.left.message));
  const params = initParams(t2sParamDefs(config), { rng: createRng(0) });
  const options = { config, params, whisper, tokenizer, steps: 1 };
  const empty = await generate([{ text: "  ", lang: "en" }], options);
  assert.ok(E.isLeft(empty) && /sentence 1/.test(empty.left.message));
  const klingon = await generate([{ text: "Qapla'", lang: "klingon" }], options);
  assert.ok(E.isLeft(klingon) && /klingon/i.test(klingon.left.message));
  const long = await generate([{ text: "word ".repeat(200), lang: "en" }], options);
  assert.ok(
    E.isLeft(long) && /30 s|split/i.test(long.left.message),
    E.isLeft(long) ? long.left.message : "",
  );
});

Deno.test("trainStep() does not score the decoder on rows whose text was dropped for guidance", async () => {
  // Every text dropped: "unrolled" has nothing left to score, so its loss is exactly 0.
  const ctx = context({ recipe: "unrolled", cfgDrop: 0.999999 });
  const { metrics } = await orThrow(trainStep(
    ctx,
    { trainers: new Map(), velocity: new Map() },
    initRun(ctx),
  ));
  assert.equal(metrics.loss, 0);
});

Deno.test("trainStep() makes targets from the text even for rows dropped for guidance", async () => {
  // Every text dropped for training; the targets must still be inversions of the real text.
  const ctx = context({ recipe: "inversion", cfgDrop: 0.999999, invertSteps: 3 });
  const { metrics } = await orThrow(trainStep(
    ctx,
    { trainers: new Map(), velocity: new Map() },
    initRun(ctx),
  ));
  assert.ok(metrics.targetCe! > 0, `target cross-entropy ${metrics.targetCe}`);
});

Deno.test("runIdentity() changes with the data's text, not just its size", () => {
  const ctx = context({});
  const edited = new Map(ctx.sentences);
  const first = edited.get("s:0")!;
  edited.set("s:0", { ...first, text: "Hello here." });
  assert.notEqual(runIdentity({ ...ctx, sentences: edited }), runIdentity(ctx));
});
