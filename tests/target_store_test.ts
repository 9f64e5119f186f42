/**
 * The target store (lib/model/target_store.ts) and the training run around it, on the tiny
 * random Whisper: kills mid-append, identities, sharing, checkpoint size, old checkpoints.
 */
import assert from "@std/assert";
import { join } from "node:path";
import { decodeSafetensors } from "../lib/graph/safetensors.ts";
import { orThrow } from "../lib/result.ts";
import { leftOf } from "./harness.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { loadT2S, saveT2S } from "../lib/model/checkpoint.ts";
import { t2sConfig } from "../lib/model/config.ts";
import { channelStats } from "../lib/speech/prior.ts";
import {
  appendTargets,
  collectTargets,
  hasTargets,
  openTargetStore,
  readTargets,
  type TargetStore,
} from "../lib/model/target_store.ts";
import {
  initRun,
  loadRun,
  prepareSentences,
  RUN_DEFAULTS,
  type RunContext,
  type RunSettings,
  type RunState,
  saveRun,
  seedTargets,
  targetIdentity,
  trainStep,
} from "../lib/model/training.ts";
import { whisperModel } from "../lib/whisper/runtime.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

const whisper = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 2 });
const tokenizer = orThrow(modelTokenizer(whisper));
const config = orThrow(t2sConfig("tiny", { width: whisper.config.dModel }));
const W = config.width;

const SENTENCES = [
  "Hello there.",
  "Good morning, friend.",
  "The cat sleeps.",
  "I like tea.",
  "See you soon.",
  "It is raining.",
  "We walk home.",
  "Thank you very much.",
].map((text, i) => ({ id: `s:${i}`, text, lang: "en", frames: 40 + 5 * i }));

function context(settings: Partial<RunSettings>, count = SENTENCES.length): RunContext {
  const ctx: RunContext = {
    settings: {
      ...RUN_DEFAULTS,
      batch: 4,
      lr: 1e-2,
      warmup: 0,
      steps: 40,
      invertSteps: 2,
      cfgDrop: 0,
      ...settings,
    },
    config,
    whisper,
    whisperName: "tiny-random",
    tokenizer,
    sentences: orThrow(prepareSentences(SENTENCES.slice(0, count), { tokenizer })),
    threads: 2,
  };
  return { ...ctx, prior: fakePrior(ctx) };
}

/** Speech-like stand-ins for prior states (fixed by the seed). */
function fakePrior(ctx: RunContext): NonNullable<RunContext["prior"]> {
  const rng = createRng(7), states = new Map<string, Float32Array>();
  for (const s of ctx.sentences.values()) {
    const x = fillNormal(new Float32Array(s.frames * W), rng);
    states.set(s.id, x.map((v, i) => 0.5 * v * (1 + (i % W) / W) + ((i % W) % 3) - 1));
  }
  return { states, stats: channelStats([...states.values()], { width: W }) };
}

const sessions = () => ({ trainers: new Map(), velocity: new Map() });

async function steps(ctx: RunContext, state: RunState, count: number) {
  const s = sessions(), metrics = [];
  for (let i = 0; i < count; i++) {
    const r = await orThrow(trainStep(ctx, s, state));
    state = r.state;
    metrics.push(r.metrics);
  }
  return { state, metrics };
}

const withStore = async (ctx: RunContext, dir: string): Promise<RunContext> => ({
  ...ctx,
  store: await orThrow(openTargetStore(dir, { identity: targetIdentity(ctx)! })),
});

/** Every manifest record of a store folder. */
async function records(dir: string): Promise<{ id: string; key: string; step: number }[]> {
  const out = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(join(dir, e.name));
    out.push(...text.trim().split("\n").map((l) => JSON.parse(l)));
  }
  return out;
}

const tensorNames = async (path: string) =>
  Object.keys(orThrow(decodeSafetensors(await Deno.readFile(path))).tensors);

Deno.test("a writer killed mid-append leaves a usable store", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = `${dir}/targets`;
    // A writer appending 8 MB shards as fast as it can, killed without warning.
    const writer = `${dir}/writer.ts`;
    await Deno.writeTextFile(
      writer,
      `import { appendTargets, openTargetStore } from "${
        new URL("../lib/model/target_store.ts", import.meta.url).href
      }";
const store = await openTargetStore(${JSON.stringify(store)}, { identity: { seed: 0 } })();
if (store._tag === "Left") throw new Error(store.left.message);
for (let k = 0; ; k++) {
  const states = new Float32Array(2 ** 21).fill(k);
  const done = await appendTargets(store.right, [{ id: "s:" + k, key: "k" + k, step: k, states }],
    { width: 32 })();
  if (done._tag === "Left") throw new Error(done.left.message);
}
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", writer],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const manifests = async () =>
      (await Array.fromAsync(Deno.readDir(store)).catch(() => [])).filter((e) =>
        e.name.endsWith(".jsonl")
      ).length;
    const deadline = Date.now() + 60_000;
    while ((await manifests()) < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.output();
    // Whatever the kill left, plus what a kill can leave: a hidden temporary file and states
    // without their manifest (cut short).
    await Deno.writeTextFile(`${store}/.shard-999998-00000000.safetensors.x.tmp`, "half");
    await Deno.writeTextFile(`${store}/shard-999999-deadbeef.safetensors`, "half");
    const opened = await orThrow(openTargetStore(store, { identity: { seed: 0 } }));
    const keys = [...opened.index.records.keys()];
    assert.ok(keys.length >= 3, `${keys.length} targets`);
    const read = await orThrow(readTargets(opened, keys));
    for (const key of keys) {
      const k = Number(key.slice(1));
      assert.equal(read.get(key)?.states[0], k);
      assert.equal(read.get(key)?.step, k);
    }
    // It takes more, and a clean-up removes only what the kill left.
    await orThrow(
      appendTargets(opened, [{ id: "new", key: "new", step: 0, states: new Float32Array(W) }], {
        width: W,
      }),
    );
    assert.equal(await orThrow(collectTargets(opened, () => true)), 0);
    const names = (await Array.fromAsync(Deno.readDir(store))).map((e) => e.name);
    assert.ok(!names.some((n) => n.endsWith(".tmp") || n.startsWith("shard-999")), `${names}`);
    const again = await orThrow(openTargetStore(store, { identity: { seed: 0 } }));
    assert.equal(again.index.records.size, keys.length + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store made with other target settings is refused, naming the setting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = context({ recipe: "anchored" });
    const ran = await withStore(ctx, dir);
    await steps(ran, initRun(ran), 1);
    const other = context({ recipe: "anchored", invertSteps: 3 });
    const refused = await openTargetStore(dir, { identity: targetIdentity(other)! })();
    const { message, differences } = leftOf(refused);
    assert.match(message, /invertSteps: 2 there, 3 now/);
    assert.deepEqual(differences, [{ key: "invertSteps", was: 2, now: 3 }]);
    // Settings of the loss and the optimiser, and where the flow starts, are not target settings.
    const same = context({ recipe: "bridge-ce", lr: 0.5, lambda: 3, seed: 9 });
    assert.deepEqual(targetIdentity(same), targetIdentity(ctx));
    // Another Whisper model is another identity, whatever its name.
    const w1 = whisperModel(tinyRandomWhisper({ seed: 1 }));
    const differs = await openTargetStore(dir, {
      identity: targetIdentity({ ...ctx, whisper: w1 })!,
    })();
    assert.ok(
      differs._tag === "Left" && /whisper: "[0-9a-f]{64}" there/.test(differs.left.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store of full-vocabulary targets is refused to a run inverting through a restricted one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = context({ recipe: "anchored" });
    const ran = await withStore(ctx, dir);
    await steps(ran, initRun(ran), 1);
    const restricted = context({ recipe: "anchored", invertVocab: 64 });
    const refused = await openTargetStore(dir, { identity: targetIdentity(restricted)! })();
    assert.match(leftOf(refused).message, /invertVocab/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two runs sharing a store make each target once (bridge, then bridge-ce)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await withStore(context({ recipe: "bridge" }), `${dir}/shared`);
    const first = await steps(a, initRun(a), 3);
    assert.ok(first.metrics[0].targetCe! > 0, "the first run makes targets");
    const made = await records(`${dir}/shared`);
    assert.equal(made.length, SENTENCES.length);
    const b = await withStore(context({ recipe: "bridge-ce", lambda: 0.02 }), `${dir}/shared`);
    const second = await steps(b, initRun(b), 3);
    assert.ok(second.metrics.every((m) => m.targetCe === undefined), "the second makes none");
    assert.deepEqual(await records(`${dir}/shared`), made);
    for (const [id, t] of second.state.targets) {
      assert.deepEqual(t.states, first.state.targets.get(id)!.states, id);
    }
    // Its checkpoint names the shared store, and resumes from it.
    const path = `${dir}/b/checkpoint.safetensors`;
    await orThrow(saveRun(path, { context: b, state: second.state }));
    const reference = JSON.parse((await orThrow(loadT2S(path))).metadata.targets);
    assert.equal(reference.store, `${dir}/shared`);
    const back = await orThrow(loadRun(path, { ...b, store: undefined }));
    assert.equal(back.targets.size, SENTENCES.length);
    assert.deepEqual(back.targets.get("s:3")?.states, second.state.targets.get("s:3")?.states);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint does not grow with the number of targets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = async (count: number) => {
      const ctx = context({ recipe: "paired", batch: count }, count);
      const { state } = await steps(ctx, initRun(ctx), 1);
      assert.equal(state.targets.size, count);
      const path = `${dir}/${count}/checkpoint.safetensors`;
      await orThrow(saveRun(path, { context: ctx, state }));
      assert.ok(!(await tensorNames(path)).some((n) => n.startsWith("targets/")));
      const stored = (await Array.fromAsync(Deno.readDir(`${dir}/${count}/targets`)))
        .filter((e) => e.name.endsWith(".safetensors"))
        .reduce((n, e) => n + Deno.statSync(`${dir}/${count}/targets/${e.name}`).size, 0);
      return { checkpoint: (await Deno.stat(path)).size, stored };
    };
    const two = await size(2), eight = await size(8);
    // Six more targets (375 frames of 32 channels, with their noise) weigh 96 KB in the store;
    // in the checkpoint, a few bytes each of metadata (the step each was made at, the order).
    assert.ok(eight.stored - two.stored >= 96_000, `${two.stored} -> ${eight.stored}`);
    assert.ok(
      eight.checkpoint - two.checkpoint < 6 * 64,
      `${two.checkpoint} -> ${eight.checkpoint}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run that finds in its store the targets it made after its checkpoint goes on exactly as before", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // "inversion" starts from the run's own noise: the strictest case.
    const ctx = await withStore(context({ recipe: "inversion", batch: 2 }), `${dir}/run/targets`);
    const path = `${dir}/run/checkpoint.safetensors`;
    const start = await steps(ctx, initRun(ctx), 2);
    await orThrow(saveRun(path, { context: ctx, state: start.state }));
    const on = await steps(ctx, start.state, 2); // makes targets, then is "killed" unsaved
    assert.ok(on.metrics.every((m) => m.targetCe! > 0));
    const fresh = await withStore(ctx, `${dir}/run/targets`);
    const resumed = await steps(fresh, await orThrow(loadRun(path, fresh)), 2);
    assert.ok(resumed.metrics.every((m) => m.targetCe === undefined), "found, not made");
    assert.deepEqual(resumed.metrics.map((m) => m.loss), on.metrics.map((m) => m.loss));
    assert.deepEqual(resumed.state.train.params, on.state.train.params);
    assert.equal((await records(`${dir}/run/targets`)).length, 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint written before target stores loads, resumes, moves its targets into the store, and seeds another run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = context({ recipe: "bridge" });
    const { state } = await steps(ctx, initRun(ctx), 2);
    // The old layout: targets/<id> inside the checkpoint, no store named.
    const saved = await (async () => {
      const path = `${dir}/old/checkpoint.safetensors`;
      await orThrow(saveRun(path, { context: ctx, state }));
      const ckpt = await orThrow(loadT2S(path));
      const { targets: _, ...metadata } = ckpt.metadata;
      const embedded = Object.fromEntries(
        [...state.targets].map((
          [id, t],
        ) => [id, { shape: [t.states.length / W, W], data: t.states }]),
      );
      await Deno.remove(`${dir}/old/targets`, { recursive: true });
      await orThrow(saveT2S(path, { ...ckpt, targets: embedded, metadata }));
      return path;
    })();
    assert.equal((await tensorNames(saved)).filter((n) => n.startsWith("targets/")).length, 8);
    const old = await withStore(ctx, `${dir}/old/targets`);
    const back = await orThrow(loadRun(saved, old));
    for (const [id, t] of state.targets) assert.deepEqual(back.targets.get(id)?.states, t.states);

    // A new run with the same targets seeds its store from it and makes none.
    const next = await withStore(context({ recipe: "bridge-ce", lambda: 0.02 }), `${dir}/new`);
    assert.equal(await orThrow(seedTargets(saved, next)), 8);
    assert.equal(await orThrow(seedTargets(saved, next)), 0);
    const trained = await steps(next, initRun(next), 2);
    assert.ok(trained.metrics.every((m) => m.targetCe === undefined));
    const otherData = await withStore(context({ recipe: "bridge-ce" }, 6), `${dir}/other`);
    const refused = await seedTargets(saved, otherData)();
    assert.ok(refused._tag === "Left" && /data/.test(refused.left.message), `${refused}`);

    // Resumed, it trains on; its next save moves the targets into the store.
    const on = await steps(old, back, 1);
    await orThrow(saveRun(saved, { context: old, state: on.state }));
    assert.ok(!(await tensorNames(saved)).some((n) => n.startsWith("targets/")));
    const held = await orThrow(hasTargets(old.store!, [...old.store!.index.records.keys()]));
    assert.equal(held.size, 8);
    const again = await orThrow(loadRun(saved, { ...ctx, store: undefined }));
    for (const [id, t] of state.targets) assert.deepEqual(again.targets.get(id)?.states, t.states);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("distill's own store keeps only the targets its checkpoint names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = await withStore(
      context({ recipe: "distill", batch: 8, refreshEvery: 1, targetNfe: 1 }),
      `${dir}/targets`,
    );
    const path = `${dir}/checkpoint.safetensors`;
    const { state } = await steps(ctx, initRun(ctx), 3);
    assert.equal((await records(`${dir}/targets`)).length, 3 * 8, "remade at every step");
    await orThrow(saveRun(path, { context: ctx, state }));
    const kept = await records(`${dir}/targets`);
    assert.deepEqual(new Set(kept.map((r) => r.step)), new Set([2]));
    const fresh: TargetStore = await orThrow(
      openTargetStore(`${dir}/targets`, { identity: targetIdentity(ctx)! }),
    );
    const back = await orThrow(loadRun(path, { ...ctx, store: fresh }));
    for (const [id, t] of state.targets) assert.deepEqual(back.targets.get(id)?.states, t.states);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
