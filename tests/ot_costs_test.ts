/** Sequence costs: the TS reference, the ONNX Runtime path, the condition term, errors. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { couple } from "../lib/ot/couple.ts";
import { embeddingCosts, labelCosts, withCondition } from "../lib/ot/condition.ts";
import { sequenceCosts, type Sequences } from "../lib/ot/costs.ts";
import { type CostTerms, openCostSession, sessionCosts } from "../lib/ot/costs_graph.ts";
import type { CostMatrix, OtError } from "../lib/ot/types.ts";
import { createRng, fillNormal, randint, type Rng } from "../lib/random.ts";
import { assertClose, leftOf } from "./harness.ts";
import { orThrow } from "../lib/result.ts";

function batch(count: number, frames: number, dim: number, rng: Rng, lengths?: number[]) {
  const data = fillNormal(new Float32Array(count * frames * dim), rng);
  return { data, count, frames, dim, lengths } satisfies Sequences;
}

const right = orThrow;
const left = <A>(r: E.Either<OtError, A>): OtError => leftOf(r);

async function ortCosts(x0: Sequences, x1: Sequences, terms: CostTerms = "full") {
  const shape = { rows: x0.count, cols: x1.count, frames: x0.frames, dim: x0.dim };
  const session = right(await openCostSession(shape, { threads: 1, terms })());
  return await sessionCosts(session, { x0, x1 })();
}

Deno.test("sequenceCosts() is the masked, length-normalised squared distance", () => {
  const rng = createRng(1);
  const x0 = batch(3, 5, 4, rng), x1 = batch(4, 5, 4, rng, [5, 1, 3, 2]);
  const costs = right(sequenceCosts(x0, x1));
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      let acc = 0;
      for (let t = 0; t < x1.lengths![j]; t++) {
        for (let d = 0; d < 4; d++) {
          acc += (x0.data[(i * 5 + t) * 4 + d] - x1.data[(j * 5 + t) * 4 + d]) ** 2;
        }
      }
      assert.ok(Math.abs(costs.data[i * 4 + j] - acc / x1.lengths![j]) < 1e-9);
    }
  }
  // Padding never counts: scribbling over x1's padding (frames beyond each length) changes nothing.
  const scribbled = x1.data.slice();
  scribbled.fill(99, (1 * 5 + 1) * 4, 2 * 5 * 4);
  assert.deepEqual(right(sequenceCosts(x0, { ...x1, data: scribbled })).data, costs.data);
});

Deno.test("sessionCosts() (ONNX Runtime MatMul) equals the TS reference with variable lengths", async () => {
  const rng = createRng(2);
  for (const [n, m, frames, dim] of [[5, 7, 9, 6], [1, 1, 1, 1], [16, 16, 20, 24]]) {
    const lengths = Array.from({ length: m }, () => 1 + randint(frames, rng));
    const x0 = batch(n, frames, dim, rng), x1 = batch(m, frames, dim, rng, lengths);
    const expected = right(sequenceCosts(x0, x1));
    // Padding here is random, not zero: the session must mask it.
    assertClose(right(await ortCosts(x0, x1)).data, expected.data, { rtol: 1e-5, atol: 1e-4 });
    for (const fill of [0, 1e6]) { // zero padding, and garbage that must not leak
      const padded = x1.data.slice();
      lengths.forEach((len, j) =>
        padded.fill(fill, (j * frames + len) * dim, (j + 1) * frames * dim)
      );
      const costs = right(await ortCosts(x0, { ...x1, data: padded }));
      assertClose(costs.data, expected.data, { rtol: 1e-5, atol: 1e-4 });
    }
    assertClose(
      right(await ortCosts(x0, { ...x1, lengths: undefined })).data,
      right(sequenceCosts(x0, { ...x1, lengths: undefined })).data,
      { rtol: 1e-5, atol: 1e-4 },
    );
  }
});

Deno.test("sessionCosts() terms 'pairing' gives the same exact coupling as the full costs", async () => {
  const rng = createRng(3);
  const x0 = batch(24, 10, 8, rng), x1 = batch(24, 10, 8, rng);
  const full = right(await ortCosts(x0, x1, "full"));
  const pairing = right(await ortCosts(x0, x1, "pairing"));
  assert.deepEqual(
    right(couple(pairing, { method: "exact" })).perm,
    right(couple(full, { method: "exact" })).perm,
  );
  assert.ok(pairing.data.some((c, k) => Math.abs(c - full.data[k]) > 1), "not distances");
  const varied = { ...x1, lengths: [...Array(23).fill(10), 9] };
  const e = left(await ortCosts(x0, varied, "pairing"));
  assert.equal(e.kind, "invalid-option");
  assert.match(e.message, /open the session with terms 'full'/);
});

Deno.test("condition term (C2OT) keeps pairs within a condition", () => {
  // Two texts, A and B. Noise slot i is drawn for data sample i, so it carries that label.
  // The data of text A sits where B's noise happens to be, so plain OT pairs across texts.
  const labels = ["A", "A", "B", "B"];
  const base: CostMatrix = {
    rows: 4,
    cols: 4,
    data: new Float64Array([
      [3, 4, 1, 2],
      [4, 3, 2, 1],
      [1, 2, 3, 4],
      [2, 1, 4, 3],
    ].flat()),
  };
  const plain = right(couple(base, { method: "exact" }));
  assert.ok([...plain.perm].every((j, i) => labels[i] !== labels[j]), "plain OT crosses texts");
  const cond = right(withCondition(base, { costs: labelCosts(labels, labels), weight: 100 }));
  const aware = right(couple(cond, { method: "exact" }));
  assert.ok([...aware.perm].every((j, i) => labels[i] === labels[j]), "C2OT stays within texts");
  assert.deepEqual([...aware.perm], [0, 1, 2, 3]);
  // Embedding distances act the same way, and a zero weight changes nothing.
  const emb = right(
    embeddingCosts(new Float32Array([0, 0, 5, 5]), new Float32Array([0, 0, 5, 5]), { dim: 1 }),
  );
  const viaEmb = right(withCondition(base, { costs: emb, weight: 10 }));
  assert.deepEqual(right(couple(viaEmb, { method: "exact" })).perm, aware.perm);
  const zero = right(withCondition(base, { costs: labelCosts(labels, labels), weight: 0 }));
  assert.deepEqual(zero.data, base.data);
});

Deno.test("the condition term applies on both cost paths", async () => {
  const rng = createRng(4);
  const x0 = batch(4, 3, 2, rng), x1 = batch(4, 3, 2, rng, [3, 2, 1, 3]);
  const condition = { costs: labelCosts([0, 0, 1, 1], [0, 1, 0, 1], { mismatch: 50 }), weight: 2 };
  const ts = right(sequenceCosts(x0, x1, { condition }));
  const plain = right(sequenceCosts(x0, x1));
  assert.ok(Math.abs(ts.data[1] - plain.data[1] - 100) < 1e-9);
  const session = right(
    await openCostSession({ rows: 4, cols: 4, frames: 3, dim: 2 }, { threads: 1 })(),
  );
  const ort = right(await sessionCosts(session, { x0, x1 }, { condition })());
  assertClose(ort.data, ts.data, { rtol: 1e-5, atol: 1e-4 });
});

Deno.test("costs give typed errors for empty, mismatched and non-finite batches", async () => {
  const rng = createRng(5);
  const x = batch(2, 3, 2, rng);
  assert.equal(
    left(sequenceCosts({ ...x, count: 0, data: new Float32Array() }, x)).kind,
    "empty-batch",
  );
  assert.equal(
    left(sequenceCosts(x, { ...x, dim: 3, data: new Float32Array(18) })).kind,
    "shape-mismatch",
  );
  assert.equal(left(sequenceCosts(x, { ...x, data: new Float32Array(5) })).kind, "shape-mismatch");
  assert.equal(left(sequenceCosts(x, { ...x, lengths: [3] })).kind, "invalid-lengths");
  assert.equal(left(sequenceCosts(x, { ...x, lengths: [0, 3] })).kind, "invalid-lengths");
  assert.equal(left(sequenceCosts(x, { ...x, lengths: [4, 3] })).kind, "invalid-lengths");
  const nan = x.data.slice();
  nan[0] = NaN;
  const e = left(sequenceCosts({ ...x, data: nan }, x));
  assert.equal(e.kind, "non-finite-cost");
  assert.match(e.message, /\[0, 0\] is NaN/);
  assert.equal(left(await ortCosts({ ...x, data: nan }, x)).kind, "non-finite-cost");
  // NaN padding: the reference never reads it; the ONNX path says so instead of ignoring it.
  const nanPad = x.data.slice();
  nanPad[(1 * 3 + 2) * 2] = NaN; // sample 1, frame 2, with length 2
  const padded = { ...x, data: nanPad, lengths: [3, 2] };
  assert.ok(E.isRight(sequenceCosts(x, padded)));
  assert.equal(left(await ortCosts(x, padded)).kind, "non-finite-cost");
  const inf = x.data.slice();
  inf[7] = Infinity;
  assert.equal(left(sequenceCosts(x, { ...x, data: inf })).kind, "non-finite-cost");
  const session = right(
    await openCostSession({ rows: 2, cols: 2, frames: 3, dim: 2 }, { threads: 1 })(),
  );
  const wrong = left(await sessionCosts(session, { x0: batch(3, 3, 2, rng), x1: x })());
  assert.equal(wrong.kind, "shape-mismatch");
  assert.match(wrong.message, /open a session per shape/);
  assert.equal(
    left(await openCostSession({ rows: 0, cols: 2, frames: 3, dim: 2 })()).kind,
    "empty-batch",
  );
  const badCond = { costs: labelCosts([0], [0]), weight: 1 };
  assert.equal(left(sequenceCosts(x, x, { condition: badCond })).kind, "shape-mismatch");
});
