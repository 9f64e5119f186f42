/**
 * The T2S network's contract with checkpoints (parameter names and shapes) and its text
 * encoder against a plain float64 TypeScript reference, whose depthwise convolution is the
 * sum of shifted copies the network used before it became one Conv (group = channels).
 */
import assert from "@std/assert";
import { Graph } from "../lib/graph/builder.ts";
import { initParams } from "../lib/graph/params.ts";
import { runSession } from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { type T2SConfig, t2sConfig } from "../lib/model/config.ts";
import { graphParams, t2sParamDefs, TEXT_VOCAB, textEncoder } from "../lib/model/network.ts";
import * as ref from "./reference.ts";
import { assertClose, open } from "./harness.ts";

const tiny = orThrow(t2sConfig("tiny", { width: 32 }));

Deno.test("t2sParamDefs() keeps the tiny config's parameter names and shapes", () => {
  const block = (i: number): [string, number[]][] => [
    [`b${i}.mod.w`, [32, 192]],
    [`b${i}.mod.b`, [192]],
    [`b${i}.qkv.w`, [32, 96]],
    [`b${i}.qkv.b`, [96]],
    [`b${i}.o.w`, [32, 32]],
    [`b${i}.o.b`, [32]],
    [`b${i}.fc1.w`, [32, 64]],
    [`b${i}.fc1.b`, [64]],
    [`b${i}.fc2.w`, [64, 32]],
    [`b${i}.fc2.b`, [32]],
  ];
  const expected: [string, number[]][] = [
    ["text.embed", [257, 16]],
    ["time.fc1.w", [64, 32]],
    ["time.fc1.b", [32]],
    ["time.fc2.w", [32, 32]],
    ["time.fc2.b", [32]],
    ["in.w", [48, 32]],
    ["in.b", [32]],
    ["out.mod.w", [32, 64]],
    ["out.mod.b", [64]],
    ["out.w", [32, 32]],
    ["out.b", [32]],
    ["text.0.dw.w", [7, 16]], // [kernel, channels], tap-major
    ["text.0.dw.b", [16]],
    ["text.0.ln.s", [16]],
    ["text.0.ln.b", [16]],
    ["text.0.fc1.w", [16, 32]],
    ["text.0.fc1.b", [32]],
    ["text.0.fc2.w", [32, 16]],
    ["text.0.fc2.b", [16]],
    ...block(0),
    ...block(1),
  ];
  const defs = t2sParamDefs(tiny);
  assert.deepEqual(Object.entries(defs).map(([n, d]) => [n, [...d.shape]]), expected);
});

/** The text encoder in float64, its depthwise convolution as k shifted copies of the input. */
function referenceTextEncoder(
  config: T2SConfig,
  p: Record<string, ref.Arr>,
  options: { ids: number[]; mask: number[]; batch: number; frames: number },
): ref.Arr {
  const { ids, mask, batch: b, frames: f } = options, c = config.textWidth, k = config.kernel;
  const half = (k - 1) / 2, keep = ref.arr([b, f, 1], mask);
  let x = ref.zip(
    [ref.arr([b, f, c], ref.gather0(p["text.embed"], ids).data), keep],
    (v, m) => v * m,
  );
  const dense = (v: ref.Arr, name: string) =>
    ref.zip([ref.matmul(v, p[`${name}.w`]), p[`${name}.b`]], (a, bias) => a + bias);
  for (let i = 0; i < config.textBlocks; i++) {
    const n = `text.${i}`, w = p[`${n}.dw.w`].data;
    const h = new Float64Array(b * f * c);
    for (let bi = 0; bi < b; bi++) {
      for (let t = 0; t < f; t++) {
        for (let ch = 0; ch < c; ch++) {
          let s = p[`${n}.dw.b`].data[ch];
          for (let j = 0; j < k; j++) {
            const src = t + j - half;
            if (src >= 0 && src < f) s += x.data[(bi * f + src) * c + ch] * w[j * c + ch];
          }
          h[(bi * f + t) * c + ch] = s;
        }
      }
    }
    const normed = ref.layerNorm(ref.arr([b, f, c], h), p[`${n}.ln.s`], p[`${n}.ln.b`], 1e-6);
    const y = dense(ref.gelu(dense(normed, `${n}.fc1`)), `${n}.fc2`);
    x = ref.zip([x, y, keep], (a, d, m) => (a + d) * m);
  }
  return x;
}

Deno.test("textEncoder()'s one-Conv depthwise convolution equals the sum of shifted copies", async () => {
  const config = { ...tiny, textBlocks: 2 };
  const [b, f] = [2, 11];
  const defs = t2sParamDefs(config);
  const g = new Graph();
  const params = graphParams(g, defs);
  const text = g.input("text", { dtype: "int64", shape: [b, f] });
  const mask = g.input("mask", { dtype: "float32", shape: [b, f] });
  g.output(textEncoder(text, { params, config, mask }), "y");
  // Random weights everywhere (biases and norms included), so every term of the block is live.
  const store = initParams(defs, { rng: createRng(3) });
  const feeds: Record<string, Float32Array | BigInt64Array> = {};
  const p: Record<string, ref.Arr> = {};
  for (const [n, { data }] of Object.entries(store)) {
    const values = fillNormal(new Float32Array(data.length), createRng(7 + n.length), {
      std: n.endsWith(".w") || n === "text.embed" ? 0.5 : 0.2,
    }).map((v, i) => data[i] + v);
    feeds[n] = values;
    p[n] = ref.arr([...defs[n].shape], values);
  }
  const lengths = [8, 10]; // filler-padded rows
  const ids = Array.from(
    { length: b * f },
    (_, i) => i % f < lengths[Math.floor(i / f)] ? 1 + (i * 37) % 256 : 0,
  );
  const m = ids.map((v) => (v === 0 ? 0 : 1));
  assert.ok(ids.every((v) => v < TEXT_VOCAB) && m.includes(0));
  feeds.text = BigInt64Array.from(ids, BigInt);
  feeds.mask = Float32Array.from(m);
  const { y } = await orThrow(runSession(await open(g), feeds));
  const expected = referenceTextEncoder(config, p, { ids, mask: m, batch: b, frames: f });
  assertClose(Array.from(y as Float32Array), expected.data, {
    atol: 2e-5,
    rtol: 2e-5,
    what: "text features",
  });
});
