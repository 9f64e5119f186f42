import assert from "@std/assert";
import { either as E } from "fp-ts";
import { pairNoise, type PairOptions } from "../lib/model/coupling.ts";
import { createRng, fillNormal } from "../lib/random.ts";

const frames = 6, width = 3, stride = frames * width;

function batch(ids: string[], seed: number) {
  const rng = createRng(seed), n = ids.length;
  const noise = fillNormal(new Float32Array(n * stride), rng);
  const targets = fillNormal(new Float32Array(n * stride), rng).map((v) => v + 0.5);
  const lengths = ids.map((_, k) => 2 + (k % (frames - 1)));
  return { noise, targets, options: { frames, width, ids, lengths } };
}

/** Which noise row each output row came from (rows are distinct draws). */
function sources(noise: Float32Array, out: Float32Array, n: number): number[] {
  return [...Array(n).keys()].map((j) => {
    const row = out.subarray(j * stride, (j + 1) * stride);
    return [...Array(n).keys()].find((i) =>
      noise.subarray(i * stride, (i + 1) * stride).every((v, k) => v === row[k])
    )!;
  });
}

function meanCost(noise: Float32Array, targets: Float32Array, lengths: readonly number[]) {
  let total = 0;
  lengths.forEach((len, j) => {
    let acc = 0;
    for (let k = 0; k < len * width; k++) {
      acc += (noise[j * stride + k] - targets[j * stride + k]) ** 2;
    }
    total += acc / len;
  });
  return total / lengths.length;
}

function paired(
  b: ReturnType<typeof batch>,
  extra: Partial<PairOptions> & Pick<PairOptions, "coupling">,
) {
  const out = pairNoise(b.noise, b.targets, { ...b.options, ...extra });
  if (E.isLeft(out)) throw new Error(out.left.message);
  return out.right;
}

Deno.test("pairNoise() with c2ot never pairs across texts when the condition weight is large", () => {
  // Sentences drawn twice or three times in one batch: OT may only re-pair within a sentence.
  const ids = ["a", "b", "a", "c", "b", "a", "d", "c"];
  for (let seed = 0; seed < 20; seed++) {
    const b = batch(ids, seed);
    const from = sources(b.noise, paired(b, { coupling: "c2ot" }), ids.length);
    assert.deepEqual(from.map((i) => ids[i]), ids, `seed ${seed}`);
    assert.deepEqual([...from].sort(), [...ids.keys()], "a permutation of the noise rows");
  }
  // With one row per text, a large weight leaves every row's own noise in place.
  const unique = batch(["a", "b", "c", "d", "e"], 3);
  assert.deepEqual(sources(unique.noise, paired(unique, { coupling: "c2ot" }), 5), [0, 1, 2, 3, 4]);
});

Deno.test("pairNoise() with ot re-pairs across texts and never raises the batch's transport cost", () => {
  const ids = ["a", "b", "c", "d", "e", "f"];
  let moved = 0;
  for (let seed = 0; seed < 20; seed++) {
    const b = batch(ids, seed);
    const out = paired(b, { coupling: "ot" });
    const from = sources(b.noise, out, ids.length);
    assert.deepEqual([...from].sort(), [...ids.keys()], "a permutation of the noise rows");
    if (from.some((i, j) => i !== j)) moved++;
    const lengths = b.options.lengths;
    assert.ok(meanCost(out, b.targets, lengths) <= meanCost(b.noise, b.targets, lengths) + 1e-9);
  }
  assert.ok(moved > 10, `OT kept the drawn pairing in ${20 - moved} of 20 batches`);
});

Deno.test("pairNoise() with c2ot at weight 0 is plain ot, and independent keeps the draws", () => {
  const b = batch(["a", "b", "c", "d"], 7);
  assert.deepEqual(
    paired(b, { coupling: "c2ot", conditionWeight: 0 }),
    paired(b, { coupling: "ot" }),
  );
  assert.equal(paired(b, { coupling: "independent" }), b.noise);
});

Deno.test("pairNoise() names a bad condition weight", () => {
  const b = batch(["a", "b"], 1);
  const out = pairNoise(b.noise, b.targets, {
    ...b.options,
    coupling: "c2ot",
    conditionWeight: -1,
  });
  assert.ok(E.isLeft(out) && /condition weight/.test(out.left.message));
});
