import assert from "@std/assert";
import { either as E } from "fp-ts";
import type { Tensor } from "../lib/graph/params.ts";
import { orThrow } from "../lib/result.ts";
import { loadCheckpoint, type WhisperCheckpoint } from "../lib/whisper/checkpoint.ts";
import { importCt2 } from "../lib/whisper/import_ct2.ts";
import { importGgml, parseGgml } from "../lib/whisper/import_ggml.ts";
import { importPt } from "../lib/whisper/import_pt.ts";
import {
  type Ct2Quant,
  type GgmlType,
  randomWeights,
  SMALL,
  viaHalf,
  writeCt2,
  writeGgml,
  writePt,
} from "./whisper_import_writers.ts";

const weights = randomWeights(SMALL, 7);
const TOKENIZER = JSON.stringify({ added_tokens: [{ id: 256, content: "<|endoftext|>" }] });

const leftMessage = <A>(r: E.Either<{ message: string }, A>): string =>
  E.isLeft(r) ? r.left.message : assert.fail("expected a Left");

/** Asserts every tensor of `got` has the original's shape and `expected(name)`'s values. */
function assertTensors(
  got: WhisperCheckpoint,
  expected: (name: string, t: Tensor) => ArrayLike<number>,
  tolerance: (name: string, t: Tensor) => number = () => 0,
) {
  assert.deepEqual(got.config, SMALL);
  assert.deepEqual(Object.keys(got.weights).sort(), Object.keys(weights).sort());
  for (const [name, t] of Object.entries(weights)) {
    const g = got.weights[name];
    assert.deepEqual(g.shape, t.shape, name);
    const want = expected(name, t), tol = tolerance(name, t);
    for (let i = 0; i < want.length; i++) {
      if (Math.abs(g.data[i] - want[i]) > tol) {
        assert.fail(`${name}[${i}]: ${g.data[i]} vs ${want[i]} (tolerance ${tol})`);
      }
    }
  }
}

/** A CTranslate2 folder: model.bin, config.json, vocabulary.txt (and tokenizer.json). */
async function ct2Folder(
  quant: Ct2Quant,
  options: { tokenizer?: boolean; drop?: string } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/model.bin`, writeCt2(weights, SMALL, { quant, drop: options.drop }));
  const config = {
    alignment_heads: [[0, 1]],
    lang_ids: [258, 259],
    suppress_ids: [1, 2, 7],
    suppress_ids_begin: [220, 256],
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const vocab = Array.from({ length: SMALL.vocabSize }, (_, i) => `t${i}`);
  vocab[256] = "<|endoftext|>";
  await Deno.writeTextFile(`${dir}/vocabulary.txt`, vocab.join("\n"));
  if (options.tokenizer) await Deno.writeTextFile(`${dir}/tokenizer.json`, TOKENIZER);
  return dir;
}

Deno.test("importCt2() restores every float32 tensor exactly, with a generation config", async () => {
  const dir = await ct2Folder("float32", { tokenizer: true });
  const got = await orThrow(importCt2(dir));
  assertTensors(got, (_, t) => t.data);
  assert.equal(got.tokenizerJson, TOKENIZER);
  const g = got.generationConfig!;
  assert.deepEqual(g.suppress_tokens, [1, 2, 7]);
  assert.deepEqual(g.begin_suppress_tokens, [220, 256]);
  assert.deepEqual(g.alignment_heads, [[0, 1]]);
  assert.equal(g.decoder_start_token_id, 257);
  assert.equal(g.no_timestamps_token_id, SMALL.vocabSize - 1502);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("importCt2() widens float16 weights to their half-precision values", async () => {
  const dir = await ct2Folder("float16");
  const got = await orThrow(importCt2(dir));
  assertTensors(got, (_, t) => t.data.map(viaHalf));
  // And float16 rounding is all that happened: within 2^-11 relative.
  assertTensors(got, (_, t) => t.data, (_, t) => Math.max(...t.data.map(Math.abs)) / 2048);
  await Deno.remove(dir, { recursive: true });
});

for (const quant of ["int8", "int8_float16"] as const) {
  Deno.test(`importCt2() dequantises ${quant} weights within half a step of their row`, async () => {
    const dir = await ct2Folder(quant);
    const got = await orThrow(importCt2(dir));
    // Matrices are quantised per output row (error at most half a step, max|row| / 254);
    // other tensors are float32 or float16.
    const amax = (t: Tensor) => Math.max(...t.data.map(Math.abs));
    const quantised = (n: string, t: Tensor) => t.shape.length >= 2 && !n.includes("positions");
    assertTensors(
      got,
      (_, t) => t.data,
      (n, t) => quantised(n, t) ? amax(t) / 254 + 1e-6 : quant === "int8" ? 0 : amax(t) / 2048,
    );
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("importCt2() joins model.bin.part1 and model.bin.part2", async () => {
  const dir = await ct2Folder("float32");
  const bytes = await Deno.readFile(`${dir}/model.bin`);
  await Deno.remove(`${dir}/model.bin`);
  await Deno.writeFile(`${dir}/model.bin.part1`, bytes.subarray(0, 1000));
  await Deno.writeFile(`${dir}/model.bin.part2`, bytes.subarray(1000));
  assertTensors(await orThrow(importCt2(dir)), (_, t) => t.data);
  await Deno.remove(`${dir}/model.bin.part2`);
  const message = leftMessage(await importCt2(dir)());
  assert.match(message, /model\.bin is truncated in variable '[^']+'.*part1, \.part2/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("importCt2() names the missing variables, a foreign spec and a missing folder", async () => {
  const dir = await ct2Folder("float32", { drop: "decoder/layer_0/attention/linear_2/weight" });
  assert.match(
    leftMessage(await importCt2(dir)()),
    /lacks 1 WhisperSpec variables: decoder\/layer_0\/attention\/linear_2\/weight/,
  );
  await Deno.writeFile(`${dir}/model.bin`, writeCt2(weights, SMALL, { spec: "TransformerSpec" }));
  assert.match(leftMessage(await importCt2(dir)()), /'TransformerSpec' model, not a WhisperSpec/);
  await Deno.remove(dir, { recursive: true });
  assert.match(leftMessage(await importCt2(dir)()), /has no model\.bin/);
});

Deno.test("importCt2() rejects a tokenizer.json of the other kind of model", async () => {
  const dir = await ct2Folder("float32");
  const english = JSON.stringify({ added_tokens: [{ id: 255, content: "<|endoftext|>" }] });
  const message = leftMessage(await importCt2(dir, { tokenizerJson: english })());
  assert.match(message, /<\|endoftext\|> is 255 but .* model's is 256/);
  await Deno.remove(dir, { recursive: true });
});

const GGML_TYPES: GgmlType[] = ["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"];
for (const type of GGML_TYPES) {
  Deno.test(`importGgml() decodes a ${type} file to the values whisper.cpp would`, async () => {
    const { bytes, decoded } = writeGgml(weights, SMALL, { type });
    const path = await Deno.makeTempFile({ suffix: ".bin" });
    await Deno.writeFile(path, bytes);
    const got = await orThrow(importGgml(path, { tokenizerJson: TOKENIZER }));
    assertTensors(got, (name) => decoded[name]);
    if (type === "f32") assertTensors(got, (_, t) => t.data);
    // Quantisation error stays within one step of a block (a 16th of its range for q4).
    const step = type === "q8_0" ? 1 / 127 : type.startsWith("q5") ? 1 / 15 : 1 / 7;
    assertTensors(got, (_, t) => t.data, (_, t) => Math.max(...t.data.map(Math.abs)) * step);
    assert.equal(got.tokenizerJson, TOKENIZER);
    assert.equal(got.generationConfig!.eos_token_id, 256);
    await Deno.remove(path);
  });
}

Deno.test("parseGgml() reads the header, mel filters and vocabulary", () => {
  const parsed = parseGgml(writeGgml(weights, SMALL, { type: "f16" }).bytes);
  if (E.isLeft(parsed)) return assert.fail(parsed.left.message);
  const { hparams, melFilters, vocab, tensors } = parsed.right;
  assert.equal(hparams.n_text_head, 2);
  assert.equal(hparams.ftype, 1);
  assert.deepEqual([melFilters.nMel, melFilters.nFft], [4, 5]);
  assert.equal(new TextDecoder().decode(vocab[2]), "hello");
  assert.deepEqual(tensors.get("encoder.conv1.weight")?.shape, [32, 4, 3]);
  assert.equal(tensors.get("encoder.conv1.bias")?.type, "f32");
});

Deno.test("importGgml() names the tensor where a truncated file ends, and bad types", () => {
  const { bytes } = writeGgml(weights, SMALL, { type: "f16" });
  const cut = parseGgml(bytes.subarray(0, bytes.length - 10), { source: "ggml-small.bin" });
  assert.match(leftMessage(cut), /ggml-small\.bin is truncated in tensor '[a-z_.0-9]+'/);
  // The first tensor's type field sits after the header; make it q4_K (12).
  const header = 4 + 11 * 4 + 8 + SMALL.nMels * 5 * 4 + 4 + (4 + 1) * 2 + 4 + 5;
  const patched = bytes.slice();
  new DataView(patched.buffer).setInt32(header + 8, 12, true);
  assert.match(leftMessage(parseGgml(patched)), /ggml type 12, which is not supported/);
  const gguf = new TextEncoder().encode("GGUF\x03\0\0\0");
  assert.match(leftMessage(parseGgml(gguf)), /is a GGUF file/);
  assert.match(leftMessage(parseGgml(new Uint8Array(8))), /not a whisper\.cpp ggml file/);
});

Deno.test("importPt() reads a torch.save checkpoint, strided and float16 tensors too", async () => {
  const { bytes, decoded } = writePt(weights, SMALL);
  const path = await Deno.makeTempFile({ suffix: ".pt" });
  await Deno.writeFile(path, bytes);
  const got = await orThrow(importPt(path));
  assertTensors(got, (name) => decoded[name]);
  assert.equal(got.tokenizerJson, undefined);
  await Deno.writeFile(path, bytes.subarray(0, 100));
  assert.match(leftMessage(await importPt(path)()), /cannot read .*\.pt: not a zip file/);
  await Deno.remove(path);
});

const cli = (...args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../scripts/whisper_import.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();

Deno.test("whisper_import.ts converts each format into a folder loadCheckpoint reads", async () => {
  const dir = await Deno.makeTempDir();
  const ct2 = await ct2Folder("float16", { tokenizer: true });
  await Deno.writeFile(`${dir}/m.bin`, writeGgml(weights, SMALL, { type: "f16" }).bytes);
  await Deno.writeFile(`${dir}/m.pt`, writePt(weights, SMALL).bytes);
  await Deno.writeTextFile(`${dir}/tokenizer.json`, TOKENIZER);
  for (const src of [ct2, `${dir}/m.bin`, `${dir}/m.pt`]) {
    const out = `${dir}/out-${src.split(".").at(-1)}`;
    const run = await cli(src, out, "--tokenizer", `${dir}/tokenizer.json`);
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const loaded = await orThrow(loadCheckpoint(out));
    assert.deepEqual(loaded.config, SMALL);
    assert.equal(loaded.tokenizerJson, TOKENIZER);
    assert.equal(loaded.generationConfig?.decoder_start_token_id, 257);
    const w = loaded.weights["model.decoder.layers.0.fc1.weight"];
    assert.deepEqual([...w.data], [
      ...weights["model.decoder.layers.0.fc1.weight"].data.map(viaHalf),
    ]);
  }
  await Deno.remove(ct2, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("whisper_import.ts asks for --tokenizer and --format when it must", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.bin`, writeGgml(weights, SMALL).bytes);
  const noTokenizer = await cli(`${dir}/m.bin`, `${dir}/out`);
  assert.equal(noTokenizer.code, 1);
  assert.match(
    new TextDecoder().decode(noTokenizer.stderr),
    /has no tokenizer\.json; pass --tokenizer/,
  );
  await Deno.writeTextFile(`${dir}/x.dat`, "hello world");
  const unknown = await cli(`${dir}/x.dat`, `${dir}/out`);
  assert.equal(unknown.code, 1);
  assert.match(
    new TextDecoder().decode(unknown.stderr),
    /cannot tell the format .*--format ct2\|ggml\|pt/,
  );
  const badFormat = await cli(`${dir}/x.dat`, `${dir}/out`, "--format", "onnx");
  assert.equal(badFormat.code, 2);
  assert.match(
    new TextDecoder().decode(badFormat.stderr),
    /--format: 'onnx' is not one of auto, ct2, ggml, pt/,
  );
  assert.equal((await cli(`${dir}/x.dat`)).code, 2);
  await Deno.remove(dir, { recursive: true });
});
