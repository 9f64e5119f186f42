/** Whisper configurations and Hugging Face checkpoint folders: round trips and bad input. */
import assert from "@std/assert";
import { encodeSafetensors } from "../lib/graph/safetensors.ts";
import { orThrow } from "../lib/result.ts";
import {
  checkWeights,
  expectedShapes,
  loadCheckpoint,
  saveCheckpoint,
} from "../lib/whisper/checkpoint.ts";
import { configFromJson, configToJson, sizeConfig, WHISPER_SIZES } from "../lib/whisper/config.ts";
import { tinyRandomWhisper, writeTinyRandomWhisper } from "../lib/whisper/tiny_random.ts";
import { leftOf } from "./harness.ts";

const count = (shapes: Map<string, number[]>) =>
  [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

Deno.test("expectedShapes() gives every released size its published parameter count", () => {
  // Parameter counts of transformers 5.23 WhisperForConditionalGeneration built from each
  // released configuration (named_parameters without the tied proj_out).
  const published: Record<string, number> = {
    "tiny": 37_760_640,
    "tiny.en": 37_760_256,
    "base": 72_593_920,
    "small": 241_734_912,
    "medium": 763_857_920,
    "large-v3": 1_543_490_560,
    "large-v3-turbo": 808_878_080,
  };
  for (const [size, n] of Object.entries(published)) {
    assert.equal(count(expectedShapes(WHISPER_SIZES[size])), n, size);
  }
});

Deno.test("sizeConfig() knows every size and names them for an unknown one", () => {
  for (const size of ["tiny", "base.en", "small", "medium.en", "large-v2", "large-v3-turbo"]) {
    assert.ok(orThrow(sizeConfig(`openai/whisper-${size}`)).dModel > 0);
  }
  assert.match(leftOf(sizeConfig("gigantic")).message, /unknown Whisper size 'gigantic'.*tiny/);
  assert.equal(orThrow(sizeConfig("large-v3")).nMels, 128);
});

Deno.test("configFromJson() reads its own JSON back and rejects broken fields", () => {
  for (const config of Object.values(WHISPER_SIZES)) {
    assert.deepEqual(orThrow(configFromJson(configToJson(config))), config);
  }
  const json = configToJson(WHISPER_SIZES.tiny);
  assert.match(
    leftOf(configFromJson({ ...json, decoder_layers: "4" })).message,
    /'decoder_layers' must be a non-negative integer/,
  );
  assert.match(leftOf(configFromJson({ ...json, model_type: "bert" })).message, /not 'whisper'/);
  assert.match(
    leftOf(configFromJson({ ...json, eos_token_id: 99999 })).message,
    /outside vocab_size/,
  );
  assert.match(leftOf(configFromJson([1, 2])).message, /JSON object/);
});

Deno.test("saveCheckpoint() and loadCheckpoint() round-trip a model exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const original = tinyRandomWhisper({ seed: 4 });
    await orThrow(saveCheckpoint(dir, original));
    const loaded = await orThrow(loadCheckpoint(dir));
    assert.deepEqual(loaded.config, original.config);
    assert.equal(loaded.tokenizerJson, original.tokenizerJson);
    assert.deepEqual(loaded.generationConfig, original.generationConfig);
    for (const [name, t] of Object.entries(original.weights)) {
      assert.deepEqual(loaded.weights[name].shape, t.shape, name);
      assert.deepEqual(loaded.weights[name].data, t.data, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint() reads a sharded folder and widens float16 tensors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { config, weights } = tinyRandomWhisper({ seed: 2 });
    const names = Object.keys(weights);
    const half = names.slice(0, 10), rest = names.slice(10);
    // Shard 1 holds float16 copies (bits of exactly representable values).
    const f16 = Object.fromEntries(half.map((n) => {
      const t = weights[n];
      return [n, {
        dtype: "F16" as const,
        shape: [...t.shape],
        data: new Uint16Array(t.data.length).fill(0x3c00),
      }];
    }));
    const f32 = Object.fromEntries(
      rest.map((
        n,
      ) => [n, { dtype: "F32" as const, shape: [...weights[n].shape], data: weights[n].data }]),
    );
    await Deno.writeFile(`${dir}/model-00001-of-00002.safetensors`, encodeSafetensors(f16));
    await Deno.writeFile(`${dir}/model-00002-of-00002.safetensors`, encodeSafetensors(f32));
    const weightMap = Object.fromEntries([
      ...half.map((n) => [n, "model-00001-of-00002.safetensors"]),
      ...rest.map((n) => [n, "model-00002-of-00002.safetensors"]),
    ]);
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ weight_map: weightMap }),
    );
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configToJson(config)));
    const loaded = await orThrow(loadCheckpoint(dir));
    assert.ok(loaded.weights[half[0]].data.every((v) => v === 1)); // 0x3c00 is 1.0 in float16
    assert.deepEqual(loaded.weights[rest[0]].data, weights[rest[0]].data);
    assert.equal(loaded.tokenizerJson, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint() names missing and misshapen tensors and missing files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await orThrow(writeTinyRandomWhisper(dir));
    const { config, weights } = tinyRandomWhisper();
    const broken = Object.fromEntries(
      Object.entries(weights)
        .filter(([n]) => n !== "model.decoder.layers.1.fc2.bias")
        .map(([n, t]) => [n, { dtype: "F32" as const, shape: [...t.shape], data: t.data }]),
    );
    broken["model.encoder.conv1.weight"] = {
      dtype: "F32",
      shape: [32, 80, 2],
      data: new Float32Array(5120),
    };
    await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(broken));
    const message = leftOf(await loadCheckpoint(dir)()).message;
    assert.match(message, /1 missing tensors: model.decoder.layers.1.fc2.bias/);
    assert.match(
      message,
      /model.encoder.conv1.weight is \[32, ?80, ?2\], expected \[32, ?80, ?3\]/,
    );
    await Deno.remove(`${dir}/model.safetensors`);
    assert.match(leftOf(await loadCheckpoint(dir)()).message, /neither model.safetensors nor/);
    assert.match(leftOf(await loadCheckpoint(`${dir}/nope`)()).message, /nope\/config.json/);
    assert.equal(checkWeights(config, weights)._tag, "Right");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
