/**
 * One copy of the frozen Whisper per process: sessions of every shape (teacher-forced loss,
 * decoder step, train step) feed the checkpoint's own arrays instead of storing the weights,
 * checked by inspecting the sessions (what each stores, which arrays it feeds), and sessions
 * without the arena hold no intermediates between runs, checked by the process's RSS; not by
 * timing.
 */
import assert from "@std/assert";
import { Graph } from "../lib/graph/builder.ts";
import { mul, reduceSum } from "../lib/graph/ops.ts";
import { openSession, runSession, type Session } from "../lib/graph/session.ts";
import { openTrainer } from "../lib/graph/train.ts";
import { orThrow } from "../lib/result.ts";
import { t2sConfig } from "../lib/model/config.ts";
import { objective } from "../lib/model/objective.ts";
import { stepSession, teacherForcedLoss, whisperModel } from "../lib/whisper/runtime.ts";
import { silenceStates } from "../lib/whisper/silence.ts";
import { tinyRandomWhisper } from "../lib/whisper/tiny_random.ts";

const whisper = whisperModel(tinyRandomWhisper({ seed: 0 }), { threads: 1 });
const weightBytes = Object.values(whisper.weights).reduce((n, t) => n + t.data.byteLength, 0);

/** Asserts that a session stores none of the weights and feeds the checkpoint's own arrays. */
function assertReadsTheOneCopy(session: Session, what: string): void {
  // What the model stores is its own small constants only (masks, shapes, scalars: 2-3% of
  // this tiny model's weights, a far smaller share of a real one's).
  assert.ok(
    session.storedBytes < weightBytes / 10,
    `${what} stores ${session.storedBytes} bytes of ${weightBytes}`,
  );
  const fed = [...session.shared].filter(([name]) => name in whisper.weights);
  assert.ok(fed.length > 10, `${what} feeds ${fed.length} weights`);
  for (const [name, { data }] of fed) {
    assert.ok(
      data === whisper.weights[name].data,
      `${what}: ${name} is not the checkpoint's array`,
    );
  }
}

Deno.test("teacherForcedLoss() sessions of two shapes read one copy of the weights", async () => {
  const d = whisper.config.dModel, silence = await orThrow(silenceStates(whisper));
  for (const [batch, frames] of [[1, 6], [2, 10]]) {
    const length = 3;
    await orThrow(teacherForcedLoss(whisper, {
      states: new Float32Array(batch * frames * d).fill(0.1),
      tokens: new BigInt64Array(batch * length).fill(265n),
      targets: new BigInt64Array(batch * length).fill(72n),
      mask: new Float32Array(batch * length).fill(1),
      batch,
      silence,
    }));
  }
  const losses = [...whisper.sessions].filter(([key]) => key.startsWith("loss/"));
  assert.equal(losses.length, 2);
  const tails = new Set<unknown>();
  for (const [key, pending] of losses) {
    const session = await orThrow(() => pending);
    assertReadsTheOneCopy(session, key);
    assert.ok(session.shared.get("silence")?.data === silence, `${key}: silence is shared too`);
    tails.add(session.shared.get("silence.cross_k.0")?.data);
  }
  // The silence tail's keys and values too: computed once, read by both shapes.
  assert.ok(tails.size === 1 && [...tails][0] instanceof Float32Array);
  const step = await orThrow(stepSession(whisper, { batch: 2, frames: 6, capacity: 4 }));
  assertReadsTheOneCopy(step, "decoder step");
});

Deno.test("openTrainer() steps of two batch shapes read one copy of the frozen decoder", async () => {
  const config = orThrow(t2sConfig("tiny", { width: whisper.config.dModel }));
  for (const shape of [{ batch: 1, frames: 8, tokens: 4 }, { batch: 2, frames: 12, tokens: 6 }]) {
    const spec = objective({ recipe: "distill", config, whisper, shape });
    const trainer = await orThrow(openTrainer(spec, { threads: 1, ema: true }));
    assertReadsTheOneCopy(trainer.session, `train step ${JSON.stringify(shape)}`);
    assert.ok(!trainer.session.inputs.has("model.decoder.embed_tokens.weight"));
  }
});

Deno.test("runSession() feeds a shared tensor itself and refuses it as a feed", async () => {
  const weight = new Float32Array([2, 3]);
  const g = new Graph();
  const x = g.input("x", { dtype: "float32", shape: [2] });
  g.output(mul(x, g.shared("w", { data: weight, shape: [2] })), "y");
  const session = await orThrow(openSession(g, { threads: 1 }));
  const run = () => orThrow(runSession(session, { x: new Float32Array([1, 1]) }));
  assert.deepEqual([...(await run()).y], [2, 3]);
  weight[0] = 5; // read in place at each run, never copied
  assert.deepEqual([...(await run()).y], [5, 3]);
  await assert.rejects(
    orThrow(runSession(session, { x: new Float32Array(2), w: new Float32Array(2) })),
    /'w' is a shared tensor the session feeds itself/,
  );
});

Deno.test("openSession() without the arena keeps no session's intermediates between runs", async () => {
  // Three sessions, each with a 64 MiB intermediate (w * x): with ONNX Runtime's arena each
  // keeps its own after running; without, the process holds none of them once runs end.
  const n = 16 * 2 ** 20, weight = new Float32Array(n).fill(1);
  const growth = async (memoryArena: boolean) => {
    const sessions: Session[] = [];
    const before = Deno.memoryUsage().rss;
    for (let k = 0; k < 3; k++) {
      const g = new Graph(`arena_${k}`);
      const x = g.input("x", { dtype: "float32", shape: [1] });
      g.output(reduceSum(mul(g.shared("w", { data: weight, shape: [n] }), x)), "y");
      const session = await orThrow(openSession(g, { threads: 1, memoryArena }));
      const { y } = await orThrow(runSession(session, { x: new Float32Array([k]) }));
      assert.equal(y[0], k * n);
      sessions.push(session);
    }
    const grown = Deno.memoryUsage().rss - before;
    await Promise.all(sessions.map((s) => s.ort.release()));
    return grown / 2 ** 20;
  };
  const without = await growth(false), withArena = await growth(true);
  assert.ok(without < 64, `without the arena RSS grew ${without.toFixed(0)} MiB`);
  assert.ok(withArena > 150, `with the arena RSS grew ${withArena.toFixed(0)} MiB`);
});
