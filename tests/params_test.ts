/** Parameter stores: seeded initialisation, validation, safetensors checkpoints. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { checkParams, init, initParams, loadParams, saveParams } from "../lib/graph/params.ts";
import { encodeSafetensors } from "../lib/graph/safetensors.ts";
import { orThrow } from "../lib/result.ts";
import { createRng } from "../lib/random.ts";

const defs = {
  w: { shape: [3, 4], init: init.normal(0.5) },
  b: { shape: [4], init: init.zeros() },
  s: { shape: [4], init: init.ones() },
  u: { shape: [2, 2], init: init.xavier(2, 2) },
};

Deno.test("initParams() is reproducible under a seed and honours each initialiser", () => {
  const a = initParams(defs, { rng: createRng(7) }), b = initParams(defs, { rng: createRng(7) });
  const c = initParams(defs, { rng: createRng(8) });
  assert.deepEqual(a.w.data, b.w.data);
  assert.notDeepEqual(a.w.data, c.w.data);
  assert.ok(a.b.data.every((v) => v === 0) && a.s.data.every((v) => v === 1));
  const bound = Math.sqrt(6 / 4);
  assert.ok(a.u.data.every((v) => Math.abs(v) <= bound));
});

Deno.test("saveParams() and loadParams() round-trip stores and metadata", async () => {
  const dir = await Deno.makeTempDir();
  const params = initParams(defs, { rng: createRng(1) });
  const moments = initParams(defs, { rng: createRng(2) });
  await orThrow(saveParams(`${dir}/ckpt.safetensors`, { param: params, "adam.m": moments }, {
    metadata: { step: "12" },
  }));
  const { stores, metadata } = await orThrow(loadParams(`${dir}/ckpt.safetensors`));
  assert.equal(metadata.step, "12");
  for (const k of Object.keys(defs)) {
    assert.deepEqual(stores.param[k].data, params[k].data);
    assert.deepEqual(stores["adam.m"][k].shape, moments[k].shape);
    assert.deepEqual(stores["adam.m"][k].data, moments[k].data);
  }
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt.safetensors"]);
});

Deno.test("checkParams() lists missing, unexpected and misshapen tensors", () => {
  const store = initParams({
    w: { shape: [2, 2], init: init.zeros() },
    extra: { shape: [1], init: init.zeros() },
  }, {
    rng: createRng(0),
  });
  const r = checkParams(store, { w: [2, 3], b: [3] });
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(r.left.message, /'w' has shape \[2, 2\], expected \[2, 3\]/);
  assert.match(r.left.message, /missing 'b' \[3\]/);
  assert.match(r.left.message, /unexpected 'extra'/);
});

Deno.test("loadParams() names the path of a missing or corrupt file", async () => {
  const dir = await Deno.makeTempDir();
  const missing = await loadParams(`${dir}/none.safetensors`)();
  if (E.isRight(missing)) throw new Error("expected an error");
  assert.match(missing.left.message, /none\.safetensors/);
  await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array([1, 2, 3]));
  const bad = await loadParams(`${dir}/bad.safetensors`)();
  if (E.isRight(bad)) throw new Error("expected an error");
  assert.match(bad.left.message, /bad\.safetensors/);
});

Deno.test("loadParams() names an integer tensor and the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ids.safetensors`;
  await Deno.writeFile(
    path,
    encodeSafetensors({ ids: { dtype: "I64", shape: [2], data: new BigInt64Array([1n, 2n]) } }),
  );
  const r = await loadParams(path)();
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(
    r.left.message,
    /ids\.safetensors: tensor 'ids' is I64; parameters must be floating point/,
  );
});
