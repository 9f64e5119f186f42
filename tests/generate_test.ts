/** `deno task generate` end to end on the tiny random Whisper and a fresh tiny model. */
import assert from "@std/assert";
import { initParams, zerosLike } from "../lib/graph/params.ts";
import { decodeSafetensors } from "../lib/graph/safetensors.ts";
import { pathExists } from "../lib/io.ts";
import { createRng, fillNormal } from "../lib/random.ts";
import { orThrow } from "../lib/result.ts";
import { udhrSentences } from "../lib/data/udhr.ts";
import { exportT2S, saveT2S } from "../lib/model/checkpoint.ts";
import { t2sConfig } from "../lib/model/config.ts";
import { t2sParamDefs } from "../lib/model/network.ts";
import { loadShard, type ManifestRecord, shardPaths } from "../lib/model/shards.ts";

const root = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}scripts/generate.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * A tiny model for the tiny random Whisper (width 32) whose every weight is random, so that the
 * velocity is not zero and the states depend on the text, the noise and the arithmetic.
 */
async function tinyModel(dir: string): Promise<{ checkpoint: string; artifact: string }> {
  const config = orThrow(t2sConfig("tiny", { width: 32 }));
  const params = initParams(t2sParamDefs(config), { rng: createRng(1) });
  for (const [name, p] of Object.entries(params)) {
    if (p.data.every((v) => v === 0)) {
      fillNormal(p.data as Float32Array, createRng(name.length), { std: 0.05 });
    }
  }
  const checkpoint = `${dir}/checkpoint.safetensors`, artifact = `${dir}/model.safetensors`;
  const ckpt = {
    config,
    params,
    ema: params,
    m: zerosLike(params),
    v: zerosLike(params),
    targets: {},
    metadata: { step: "1", whisper: "tiny-random", interface: "silence" },
  };
  await orThrow(saveT2S(checkpoint, ckpt));
  await orThrow(exportT2S(artifact, ckpt));
  return { checkpoint, artifact };
}

const TEXTS = [
  ["Hello there.", "en"],
  ["Good morning, my friend, how are you today?", "en"],
  ["The cat sleeps.", "en"],
  ["Guten Morgen.", "de"],
  ["Wie geht es dir heute, mein Freund?", "de"],
  ["Bonjour à tous.", "fr"],
  ["Merci beaucoup.", "fr"],
  ["I like tea.", "en"],
  ["Yes.", "en"],
  ["We walk home along the river in the evening.", "en"],
];

async function corpus(dir: string, lines = TEXTS.map(([text, lang]) => ({ text, lang }))) {
  const path = `${dir}/corpus.jsonl`;
  await Deno.writeTextFile(
    path,
    lines.map((l) => typeof l === "string" ? l : JSON.stringify(l)).join("\n") + "\n",
  );
  return path;
}

const FAST = ["--nfe", "2", "--batch", "3", "--threads", "1", "--quiet"];

/** Every manifest record and states tensor of a folder, by id. */
async function readAll(dir: string) {
  const records: ManifestRecord[] = [];
  const states = new Map<string, Float32Array>();
  const shards = [...Deno.readDirSync(dir)].flatMap((e) => {
    const m = /^shard-(\d+)\.jsonl$/.exec(e.name);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
  for (const k of shards) {
    const shard = await orThrow(loadShard(dir, k));
    records.push(...shard.records);
    for (const [id, x] of shard.states) states.set(id, x);
  }
  return { records, states, shards };
}

const bytesOf = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

Deno.test("generate: one shard and three shards (three workers) give byte-identical states", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { artifact } = await tinyModel(dir);
    const data = await corpus(dir);
    const one = await run(["--model", artifact, "--data", data, "--out", `${dir}/one`, ...FAST]);
    assert.equal(one.code, 0, one.stderr);
    for (const w of [2, 0, 1]) { // workers in any order
      const part = await run([
        ...["--model", artifact, "--data", data, "--out", `${dir}/three`, ...FAST],
        ...["--shard-size", "4", "--shard", `${w}/3`],
      ]);
      assert.equal(part.code, 0, part.stderr);
      assert.match(part.stderr, new RegExp(`worker ${w} of 3: 1 shard`));
    }
    const a = await readAll(`${dir}/one`), b = await readAll(`${dir}/three`);
    assert.deepEqual(a.shards, [0]);
    assert.deepEqual(b.shards, [0, 1, 2]);
    assert.equal(a.states.size, TEXTS.length);
    assert.deepEqual(b.records.map((r) => r.id), a.records.map((r) => r.id));
    for (const [id, x] of a.states) {
      assert.deepEqual(bytesOf(b.states.get(id)!), bytesOf(x), id);
    }
    // The states depend on the text and the id: no two sentences share them.
    const distinct = new Set([...a.states.values()].map((x) => x.slice(0, 8).join(",")));
    assert.equal(distinct.size, TEXTS.length);
    // A manifest record points at its tensor's bytes in the shard file.
    const rec = b.records[5];
    const file = await Deno.readFile(shardPaths(`${dir}/three`, rec.shard).states);
    const view = file.slice(rec.offset, rec.offset + rec.frames * 32 * 4);
    assert.deepEqual(view, bytesOf(b.states.get(rec.id)!));
    assert.deepEqual(Object.keys(rec).sort(), [
      "frames",
      "id",
      "key",
      "lang",
      "line",
      "offset",
      "shard",
      "text",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: a rerun after a kill mid-shard redoes it, with no id missing or repeated", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { artifact } = await tinyModel(dir);
    const data = await corpus(dir);
    const args = ["--model", artifact, "--data", data, "--out", `${dir}/out`, ...FAST];
    const first = await run([...args, "--shard-size", "3"]);
    assert.equal(first.code, 0, first.stderr);
    const whole = await readAll(`${dir}/out`);
    assert.deepEqual(whole.shards, [0, 1, 2, 3]);
    // What a kill leaves: shard 1's states without its manifest, shard 2's temporary file.
    const s1 = shardPaths(`${dir}/out`, 1), s2 = shardPaths(`${dir}/out`, 2);
    await Deno.remove(s1.manifest);
    await Deno.writeTextFile(s1.states, "truncated");
    await Deno.remove(s2.manifest);
    await Deno.remove(s2.states);
    await Deno.writeTextFile(`${dir}/out/.shard-00002.safetensors.dead.tmp`, "half");
    const before = (await Deno.stat(shardPaths(`${dir}/out`, 0).states)).mtime;
    const again = await run([...args, "--shard-size", "3"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /shard 1 was left unfinished; it is redone/);
    assert.match(again.stderr, /shard 2 was left unfinished; it is redone/);
    assert.match(again.stderr, /6 sentences .* in 2 shards.*2 shards already finished/);
    assert.deepEqual((await Deno.stat(shardPaths(`${dir}/out`, 0).states)).mtime, before);
    const redone = await readAll(`${dir}/out`);
    const ids = redone.records.map((r) => r.id);
    assert.deepEqual(ids, whole.records.map((r) => r.id));
    assert.equal(new Set(ids).size, TEXTS.length);
    for (const [id, x] of whole.states) {
      assert.deepEqual(bytesOf(redone.states.get(id)!), bytesOf(x), id);
    }
    assert.ok(![...Deno.readDirSync(`${dir}/out`)].some((e) => e.name.endsWith(".tmp")));
    // Other settings into the same folder are refused, naming the flag.
    const other = await run([...args, "--shard-size", "4", "--seed", "3"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /--seed was 0, now 3/);
    assert.match(other.stderr, /--shard-size was 3, now 4/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: the export artifact and its checkpoint give the same shards; --decode and --float16", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { artifact, checkpoint } = await tinyModel(dir);
    const data = await corpus(dir);
    const extra = ["--decode", "--float16"];
    const fromArtifact = await run([
      "--model",
      artifact,
      "--data",
      data,
      "--out",
      `${dir}/a`,
      ...FAST,
      ...extra,
    ]);
    assert.equal(fromArtifact.code, 0, fromArtifact.stderr);
    const fromCheckpoint = await run([
      "--model",
      checkpoint,
      "--data",
      data,
      "--out",
      `${dir}/c`,
      ...FAST,
      ...extra,
    ]);
    assert.equal(fromCheckpoint.code, 0, fromCheckpoint.stderr);
    const a = await readAll(`${dir}/a`), c = await readAll(`${dir}/c`);
    assert.deepEqual(a.records, c.records);
    for (const [id, x] of a.states) assert.deepEqual(c.states.get(id), x, id);
    for (const r of a.records) {
      assert.equal(typeof r.decoded, "string");
      assert.ok(typeof r.cer === "number" && r.cer >= 0);
      assert.equal(typeof r.looped, "boolean");
    }
    const file = orThrow(decodeSafetensors(await Deno.readFile(shardPaths(`${dir}/a`, 0).states)));
    assert.equal(file.tensors[a.records[0].key].dtype, "F16");
    assert.equal(file.metadata.format, "flowt2s-generated/1");
    const config = JSON.parse(await Deno.readTextFile(`${dir}/a/generation.json`));
    assert.equal(config.settings.float16, true);
    assert.equal(config.notes.model, artifact);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: a corpus of many batches streams through, bad lines reported by number and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { artifact } = await tinyModel(dir);
    const lines: (string | { text: string; lang: string })[] = [];
    for (let i = 0; i < 40; i++) lines.push({ text: `Sentence number ${i} is here.`, lang: "en" });
    lines[6] = "{not json";
    lines[13] = JSON.stringify({ lang: "en" });
    lines[20] = JSON.stringify({ text: "Qapla'", lang: "klingon" });
    lines[27] = JSON.stringify({ text: "word ".repeat(200), lang: "en" });
    // Under 30 s, but over the decoder's 224 tokens (with the tiny random Whisper's tokenizer).
    const [long] = orThrow(await udhrSentences("fr")()).filter((s) => s.id === "udhr:fra:86");
    lines[33] = JSON.stringify({ text: long.text, lang: "fr" });
    const data = await corpus(dir, lines as { text: string; lang: string }[]);
    const out = await run([
      ...["--model", artifact, "--data", data, "--out", `${dir}/out`, ...FAST],
      ...["--shard-size", "16"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    for (const line of [7, 14, 21, 28, 34]) {
      assert.match(out.stderr, new RegExp(`generate: ${data}:${line}: `));
    }
    assert.match(out.stderr, new RegExp(`${data}:34: '.*' is \\d+ decoder tokens, over the limit`));
    assert.match(out.stderr, /35 sentences .* in 3 shards, 5 bad lines \(reported above\)/);
    const { records, states } = await readAll(`${dir}/out`);
    assert.equal(records.length, 35);
    assert.equal(states.size, 35);
    assert.deepEqual(
      records.map((r) => r.line),
      Array.from({ length: 40 }, (_, i) => i + 1).filter((l) => ![7, 14, 21, 28, 34].includes(l)),
    );
    assert.ok(records.every((r) => r.shard === Math.floor((r.line - 1) / 16)));
    // A corpus refused as a whole (a .txt without --lang) leaves no settings behind.
    await Deno.writeTextFile(`${dir}/plain.txt`, "Hello.\n");
    const noLang = await run([
      "--model",
      artifact,
      "--data",
      `${dir}/plain.txt`,
      "--out",
      `${dir}/x`,
    ]);
    assert.equal(noLang.code, 1);
    assert.match(noLang.stderr, /pass --lang/);
    assert.equal(await pathExists(`${dir}/x/generation.json`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: Ctrl-C stops between batches with exit 130 and nothing partial; a rerun finishes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { artifact } = await tinyModel(dir);
    const lines = Array.from(
      { length: 400 },
      (_, i) => ({ text: `Line ${i} of many.`, lang: "en" }),
    );
    const data = await corpus(dir, lines);
    const out = `${dir}/out`;
    const args = ["--model", artifact, "--data", data, "--out", out, ...FAST, "--shard-size", "8"];
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}scripts/generate.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const deadline = Date.now() + 60_000;
    while (!await pathExists(shardPaths(out, 0).manifest) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const ended = await child.output();
    const stderr = decoder.decode(ended.stderr);
    assert.equal(ended.code, 130, stderr);
    assert.match(
      stderr,
      /SIGINT: stopped before shard \d+ was written \(nothing partial is left\)/,
    );
    const names = [...Deno.readDirSync(out)].map((e) => e.name);
    assert.ok(!names.some((n) => n.endsWith(".tmp")), names.join(" "));
    const stems = (ext: string) => names.filter((n) => n.endsWith(ext)).map((n) => n.split(".")[0]);
    assert.deepEqual(stems(".safetensors").sort(), stems(".jsonl").sort());
    assert.ok(stems(".jsonl").length < 50, "stopped early");
    const rest = await run(args);
    assert.equal(rest.code, 0, rest.stderr);
    const { records } = await readAll(out);
    assert.deepEqual(records.map((r) => r.line), lines.map((_, i) => i + 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: usage errors name the flag", async () => {
  const missing = await run(["--data", "x.jsonl", "--out", "o"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model is required/);
  const shard = await run(["--model", "m", "--data", "x.jsonl", "--out", "o", "--shard", "3/3"]);
  assert.equal(shard.code, 2);
  assert.match(shard.stderr, /--shard: '3\/3' is not a worker's part/);
});
