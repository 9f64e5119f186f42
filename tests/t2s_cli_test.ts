/** `deno task train`, `sample` and `eval` end to end on the tiny random Whisper. */
import assert from "@std/assert";
import { decodeSafetensors } from "../lib/graph/safetensors.ts";
import { encodeWav } from "../lib/whisper/wav.ts";
import { cudaProviderPath } from "../lib/graph/session.ts";
import { pathExists } from "../lib/io.ts";
import { orThrow } from "../lib/result.ts";

const root = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}scripts/${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

const SENTENCES = [
  ["Hello there.", "en"],
  ["Good morning, friend.", "en"],
  ["The cat sleeps.", "en"],
  ["Guten Morgen.", "de"],
  ["Wie geht es dir?", "de"],
  ["Bonjour à tous.", "fr"],
  ["Merci beaucoup.", "fr"],
  ["I like tea.", "en"],
];

async function dataFile(dir: string): Promise<string> {
  const path = `${dir}/data.jsonl`;
  await Deno.writeTextFile(
    path,
    SENTENCES.map(([text, lang]) => JSON.stringify({ text, lang })).join("\n") + "\n",
  );
  return path;
}

const common = (data: string, out: string) => [
  "--data",
  data,
  "--out",
  out,
  "--whisper",
  "tiny-random",
  "--size",
  "tiny",
  "--batch",
  "4",
  "--steps",
  "6",
  "--invert-steps",
  "2",
  "--refresh-every",
  "3",
  "--target-nfe",
  "2",
  "--held-out",
  "0.25",
  "--threads",
  "1",
  "--save-every",
  "2",
  "--quiet",
];

Deno.test("train resumes exactly: 3 + 3 steps equal 6 uninterrupted steps (distill)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir);
    const full = await run("train.ts", common(data, `${dir}/full`));
    assert.equal(full.code, 0, full.stderr);
    const first = await run("train.ts", [...common(data, `${dir}/split`), "--stop-after", "3"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /continue with --resume/);
    const second = await run("train.ts", [...common(data, `${dir}/split`), "--resume"]);
    assert.equal(second.code, 0, second.stderr);
    const losses = async (out: string) =>
      (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l).loss
      );
    const a = await losses(`${dir}/full`), b = await losses(`${dir}/split`);
    assert.equal(a.length, 6);
    assert.deepEqual(b, a);
    const ckpt = (p: string) => Deno.readFile(`${p}/checkpoint.safetensors`);
    assert.deepEqual(await ckpt(`${dir}/split`), await ckpt(`${dir}/full`));
    assert.ok((await Deno.readTextFile(`${dir}/full/loss.svg`)).startsWith("<svg"));
    // The read-back probe ran at the last step, the same way in both runs.
    const probes = async (out: string) =>
      (await Deno.readTextFile(`${out}/probes.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    const probed = await probes(`${dir}/full`);
    assert.ok(probed.length >= 1 && probed.every((p) => p.step === 6 && p.cer >= 0), `${probed}`);
    assert.deepEqual(await probes(`${dir}/split`), probed);
    const html = await Deno.readTextFile(`${dir}/full/report.html`);
    assert.ok(html.includes("training loss") && html.includes("CER"), "report.html");

    // sample: states and lengths for each text, and the decoder's reading.
    const samples = `${dir}/samples.safetensors`;
    const s = await run("sample.ts", [
      "--checkpoint",
      `${dir}/full/checkpoint.safetensors`,
      "--out",
      samples,
      "--nfe",
      "2",
      "--threads",
      "1",
      "Hello world.",
      "Good night.",
    ]);
    assert.equal(s.code, 0, s.stderr);
    const file = orThrow(decodeSafetensors(await Deno.readFile(samples)));
    const lengths = [...(file.tensors.lengths.data as BigInt64Array)].map(Number);
    assert.equal(lengths.length, 2);
    assert.deepEqual(file.tensors["states/1"].shape, [lengths[1], 32]);
    assert.equal(JSON.parse(file.metadata.decoded).length, 2);
    assert.match(s.stdout, /Hello world\.\n {2}-> /);

    // eval: markdown and JSON with per-language rates, diversity and speed.
    const e = await run("eval.ts", [
      "--checkpoint",
      `${dir}/full/checkpoint.safetensors`,
      "--data",
      data,
      "--held-out",
      "0.25",
      "--nfe",
      "2",
      "--seeds",
      "2",
      "--threads",
      "1",
      "--out",
      `${dir}/eval`,
    ]);
    assert.equal(e.code, 0, e.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/eval/eval.json`));
    assert.ok(report.sentences >= 3 && report.perLanguage.length === 3);
    assert.ok(Number.isFinite(report.cer) && report.diversity > 0);
    assert.ok(report.speed.sentencesPerSecond > 0);
    const md = await Deno.readTextFile(`${dir}/eval/eval.md`);
    assert.match(md, /\| all \|/);
    // Decoded text (a random model's tokens) is escaped: every example row keeps its 3 cells.
    const rows = md.slice(md.indexOf("| lang | text | decoded |")).trim().split("\n").slice(2);
    assert.equal(rows.length, Math.min(report.sentences, 16));
    for (const row of rows) {
      assert.equal(row.replace(/\\./g, "").split("|").length, 5, row);
      assert.doesNotMatch(row, /\p{Cc}/u, row);
    }
    // With eSpeak NG frame counts, eval also reads back the prior states of the same sentences.
    const withPrior = await run("eval.ts", [
      "--checkpoint",
      `${dir}/full/checkpoint.safetensors`,
      "--data",
      data,
      "--held-out",
      "0.25",
      "--nfe",
      "2",
      "--seeds",
      "1",
      "--no-timing",
      "--frames",
      "espeak",
      "--out",
      `${dir}/eval-espeak`,
    ]);
    assert.equal(withPrior.code, 0, withPrior.stderr);
    const priorReport = JSON.parse(await Deno.readTextFile(`${dir}/eval-espeak/eval.json`));
    assert.ok(priorReport.prior.sentences === priorReport.sentences && priorReport.prior.cer >= 0);
    assert.ok(Number.isFinite(priorReport.likeness.frechet));
    // The per-language table puts each language's prior CER beside the model's.
    const priorMd = await Deno.readTextFile(`${dir}/eval-espeak/eval.md`);
    const allRow = priorMd.split("\n").find((l) => l.startsWith("| all |"));
    assert.match(priorMd, /\| language \| sentences \| CER \| WER \| loops \| prior CER \|/);
    assert.ok(allRow?.endsWith(` ${(100 * priorReport.prior.cer).toFixed(1)}% |`), allRow);
    // With --all, the run's own targets (from its target store) are read back beside it.
    const withTargets = await run("eval.ts", [
      "--checkpoint",
      `${dir}/full/checkpoint.safetensors`,
      "--data",
      data,
      "--all",
      "--nfe",
      "2",
      "--seeds",
      "1",
      "--no-timing",
      "--out",
      `${dir}/eval-all`,
    ]);
    assert.equal(withTargets.code, 0, withTargets.stderr);
    const allReport = JSON.parse(await Deno.readTextFile(`${dir}/eval-all/eval.json`));
    assert.ok(allReport.targets?.sentences > 0, JSON.stringify(allReport.targets));
    assert.match(
      await Deno.readTextFile(`${dir}/eval-all/eval.md`),
      /The run's cached targets of \d+ of these sentences, read back/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train, sample and eval name bad input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir);
    const noWhisper = await run("train.ts", [
      ...common(data, `${dir}/a`),
      "--whisper",
      `${dir}/no-such-model`,
      "--offline",
    ]);
    assert.equal(noWhisper.code, 1);
    assert.match(noWhisper.stderr, /no-such-model/);
    await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"text": "Hi", "lang": "zz"}\n');
    const badLang = await run("train.ts", common(`${dir}/bad.jsonl`, `${dir}/b`));
    assert.equal(badLang.code, 1);
    assert.match(badLang.stderr, /bad\.jsonl:1/);
    const badRecipe = await run("train.ts", [...common(data, `${dir}/c`), "--recipe", "magic"]);
    assert.match(
      badRecipe.stderr,
      /--recipe: 'magic' is not one of distill, unrolled, inversion, paired, anchored, anchored-ce, prior/,
    );
    await Deno.writeFile(`${dir}/corrupt.safetensors`, new Uint8Array([1, 2, 3]));
    const corrupt = await run("sample.ts", ["--checkpoint", `${dir}/corrupt.safetensors`, "Hi."]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /corrupt\.safetensors/);
    const emptyText = await run("sample.ts", ["--checkpoint", `${dir}/corrupt.safetensors`]);
    assert.match(emptyText.stderr, /no text/);
    // Bad usage exits 2 and names the flag.
    const badNfe = await run("sample.ts", [
      "--checkpoint",
      `${dir}/corrupt.safetensors`,
      "--nfe",
      "0",
      "Hi.",
    ]);
    assert.equal(badNfe.code, 2);
    assert.match(badNfe.stderr, /--nfe: '0' must be >= 1/);
    const noCheckpoint = await run("eval.ts", ["--data", data]);
    assert.equal(noCheckpoint.code, 2);
    assert.match(noCheckpoint.stderr, /--checkpoint is required/);
    const noResume = await run("train.ts", [...common(data, `${dir}/d`), "--resume"]);
    assert.match(noResume.stderr, /no checkpoint/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --resume takes the run's settings from its config.json, extends a finished run, and names a changed setting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir), out = `${dir}/run`;
    const first = await run("train.ts", [
      ...common(data, out),
      "--lr",
      "0.002",
      "--probe-every",
      "0",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
    assert.equal(config.lr, 0.002);
    assert.equal(config.whisper, "tiny-random");
    assert.ok(
      !("resume" in config) && !("threads" in config),
      "per-invocation flags are not recorded",
    );
    // Only --out and the new step count: everything else comes from the run's record.
    const more = await run("train.ts", ["--resume", "--out", out, "--steps", "8", "--quiet"]);
    assert.equal(more.code, 0, more.stderr);
    const steps = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l).step
    );
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(JSON.parse(await Deno.readTextFile(`${out}/config.json`)).steps, 8);
    const changed = await run("train.ts", [
      "--resume",
      "--out",
      out,
      "--lr",
      "0.01",
      "--steps",
      "9",
    ]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /lr: 0\.002 → 0\.01/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --targets: runs with the same target settings share a store and make each target once; other settings (--invert-steps, --invert-vocab) are refused; --targets-from seeds a store", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir), shared = `${dir}/shared`;
    const args = (out: string, ...more: string[]) => [
      ...common(data, `${dir}/${out}`),
      "--recipe",
      "inversion",
      "--steps",
      "2",
      "--probe-every",
      "0",
      ...more,
    ];
    const records = async (store: string) => {
      const lines = [];
      for await (const e of Deno.readDir(store)) {
        if (e.name.endsWith(".jsonl")) {
          lines.push(...(await Deno.readTextFile(`${store}/${e.name}`)).trim().split("\n"));
        }
      }
      return lines.map((l) => JSON.parse(l).id).sort();
    };
    const targetCe = async (out: string) =>
      (await Deno.readTextFile(`${dir}/${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l).targetCe
      );
    const a = await run("train.ts", args("a", "--targets", shared));
    assert.equal(a.code, 0, a.stderr);
    const made = await records(shared);
    assert.equal(made.length, 5); // 8 sentences, 3 held out
    assert.ok((await targetCe("a")).every((ce) => ce > 0));
    const names = Object.keys(
      orThrow(decodeSafetensors(await Deno.readFile(`${dir}/a/checkpoint.safetensors`))).tensors,
    );
    assert.ok(!names.some((n) => n.startsWith("targets/")), "no targets in the checkpoint");
    // Another learning rate: the same targets, found in the store.
    const b = await run("train.ts", args("b", "--targets", shared, "--lr", "0.002"));
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await targetCe("b"), [undefined, undefined]);
    assert.deepEqual(await records(shared), made);
    const more = await run("train.ts", [
      "--resume",
      "--out",
      `${dir}/b`,
      "--steps",
      "3",
      "--quiet",
    ]);
    assert.equal(more.code, 0, more.stderr);
    // Other inversion settings: refused, the setting named.
    const c = await run("train.ts", args("c", "--targets", shared, "--invert-steps", "3"));
    assert.equal(c.code, 1);
    assert.match(c.stderr, /invertSteps: 2 there, 3 now/);
    // Inverting through a restricted vocabulary: its own targets, never the shared ones.
    const v = await run("train.ts", args("v", "--targets", shared, "--invert-vocab", "64"));
    assert.equal(v.code, 1);
    assert.match(v.stderr, /invertVocab/);
    const own = await run("train.ts", args("v", "--invert-vocab", "64"));
    assert.equal(own.code, 0, own.stderr);
    assert.ok((await targetCe("v")).every((ce) => ce > 0));
    // Seeded from a's checkpoint, a run with its own store makes none either.
    const d = await run("train.ts", args("d", "--targets-from", `${dir}/a/checkpoint.safetensors`));
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /5 targets from/);
    assert.deepEqual(await targetCe("d"), [undefined, undefined]);
    assert.deepEqual(await records(`${dir}/d/targets`), made);
    // distill remakes its targets from the model: no shared store.
    const e = await run("train.ts", [...common(data, `${dir}/e`), "--targets", shared]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /remakes its targets from the model/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export writes a weights-only artifact that samples exactly as its checkpoint and cannot resume", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir), out = `${dir}/run`;
    const trained = await run("train.ts", [
      ...common(data, out),
      "--steps",
      "2",
      "--probe-every",
      "0",
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const ckpt = `${out}/checkpoint.safetensors`, model = `${dir}/model.safetensors`;
    const exported = await run("export.ts", ["--checkpoint", ckpt, "--out", model]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(Deno.statSync(model).size < Deno.statSync(ckpt).size / 2, "no moments, no targets");
    const sampleFrom = async (path: string, to: string) => {
      const s = await run("sample.ts", [
        "--checkpoint",
        path,
        "--out",
        to,
        "--nfe",
        "2",
        "Hello world.",
      ]);
      assert.equal(s.code, 0, s.stderr);
      return orThrow(decodeSafetensors(await Deno.readFile(to))).tensors["states/0"].data;
    };
    assert.deepEqual(
      await sampleFrom(model, `${dir}/a.safetensors`),
      await sampleFrom(ckpt, `${dir}/b.safetensors`),
    );
    // Without --out, samples go into the checkpoint's run folder.
    const beside = await run("sample.ts", ["--checkpoint", ckpt, "--nfe", "1", "Hi."]);
    assert.equal(beside.code, 0, beside.stderr);
    assert.match(beside.stderr, /1 sentence, .* wrote .*\/run\/samples\.safetensors/);
    assert.ok(await pathExists(`${out}/samples.safetensors`));
    await Deno.mkdir(`${dir}/other`);
    await Deno.copyFile(model, `${dir}/other/checkpoint.safetensors`);
    const fromExport = await run("train.ts", [...common(data, `${dir}/other`), "--resume"]);
    assert.equal(fromExport.code, 1);
    assert.match(fromExport.stderr, /exported model/);
    const missing = await run("export.ts", ["--out", model]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--checkpoint is required/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train: Ctrl-C saves, exits 130, and --resume continues", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await dataFile(dir), out = `${dir}/run`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}scripts/train.ts`,
        ...common(data, out),
        "--steps",
        "100000",
        "--save-every",
        "1",
        "--probe-every",
        "0",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const metrics = `${out}/metrics.jsonl`;
    const steps = async () =>
      (await Deno.readTextFile(metrics).catch(() => "")).split("\n").filter((l) => l).map((l) =>
        JSON.parse(l).step as number
      );
    const deadline = Date.now() + 60_000;
    while ((await steps()).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    const ended = await child.output();
    const stderr = decoder.decode(ended.stderr);
    assert.equal(ended.code, 130, stderr);
    const saved = Number(stderr.match(/stopped: saved step (\d+)/)?.[1]);
    assert.ok(saved >= 1, stderr);
    assert.deepEqual(await steps(), Array.from({ length: saved }, (_, k) => k + 1));
    const more = await run("train.ts", [
      "--resume",
      "--out",
      out,
      "--stop-after",
      String(saved + 2),
      "--quiet",
    ]);
    assert.equal(more.code, 0, more.stderr);
    assert.deepEqual(await steps(), Array.from({ length: saved + 2 }, (_, k) => k + 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "train: a fresh run that fails before its first step leaves no checkpoint; a retry works",
  // Where the CUDA provider is installed the cuda start does not fail.
  ignore: await pathExists(cudaProviderPath()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const data = await dataFile(dir), out = `${dir}/run`;
      const args = [...common(data, out), "--steps", "2", "--probe-every", "0"];
      const cuda = await run("train.ts", [...args, "--provider", "cuda"]);
      assert.equal(cuda.code, 1, cuda.stderr);
      assert.match(cuda.stderr, /cuda.*nothing saved/is);
      assert.equal(await pathExists(`${out}/checkpoint.safetensors`), false);
      assert.equal(await pathExists(`${out}/config.json`), false);
      const retry = await run("train.ts", args);
      assert.equal(retry.code, 0, retry.stderr);
      assert.ok(await pathExists(`${out}/checkpoint.safetensors`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("train, sample, prior and transcribe: bad input gives a named error and exit code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/blank.txt`, "\n  \n\n");
    await Deno.writeTextFile(`${dir}/blank.jsonl`, "\n\n");
    await Deno.writeTextFile(`${dir}/hello.txt`, "Hello there.\nGood morning.\n");
    await Deno.writeTextFile(`${dir}/nolang.jsonl`, '{"text": "Hello there."}\n');
    await Deno.writeTextFile(`${dir}/one.jsonl`, '{"text": "Hello there.", "lang": "en"}\n');
    await Deno.writeFile(
      `${dir}/empty.wav`,
      encodeWav(new Float32Array(0), { sampleRate: 16000, format: "pcm16" }),
    );
    await Deno.writeFile(
      `${dir}/zero.wav`,
      encodeWav(new Float32Array(8000), { sampleRate: 16000, format: "pcm16" }),
    );
    const train = (data: string, ...more: string[]) => [
      ...common(data, `${dir}/run-${crypto.randomUUID()}`),
      "--probe-every",
      "0",
      ...more,
    ];
    const cases: {
      name: string;
      script: string;
      args: string[];
      code: number;
      says: RegExp;
      not?: RegExp;
    }[] = [
      {
        name: "a file of blank lines says it holds no sentences",
        script: "train.ts",
        args: train(`${dir}/blank.txt`, "--lang", "en"),
        code: 1,
        says: /blank\.txt: the file holds no sentences/,
        not: /held-out/,
      },
      {
        name: "the same for sample --file",
        script: "sample.ts",
        args: ["--checkpoint", `${dir}/none.safetensors`, "--file", `${dir}/blank.jsonl`],
        code: 1,
        says: /blank\.jsonl: the file holds no sentences/,
      },
      {
        name: "and for prior --data",
        script: "prior.ts",
        args: ["--data", `${dir}/blank.jsonl`, "--whisper", "tiny-random", "--out", `${dir}/p`],
        code: 1,
        says: /blank\.jsonl: the file holds no sentences/,
      },
      {
        name: "a .txt without --lang says to pass --lang",
        script: "train.ts",
        args: train(`${dir}/hello.txt`),
        code: 1,
        says: /hello\.txt: \.txt files carry no language; pass --lang/,
        not: /\{ lang/,
      },
      {
        name: "a .jsonl line without a language names --lang as the default",
        script: "train.ts",
        args: train(`${dir}/nolang.jsonl`),
        code: 1,
        says: /nolang\.jsonl:1: no language; add a "lang" .* or pass --lang as a default/,
        not: /\{ lang/,
      },
      {
        name: "an unknown language lists the nearest by edit distance first",
        script: "train.ts",
        args: train(`${dir}/hello.txt`, "--lang", "germna"),
        code: 1,
        says: /--lang: unknown language 'germna'.* Nearest: 'de' \(german\)/,
      },
      {
        name: "one sentence, one step: singular counts",
        script: "train.ts",
        args: train(`${dir}/one.jsonl`, "--held-out", "0", "--steps", "1", "--batch", "1"),
        code: 0,
        says: /1 sentence from [\s\S]*done: 1 step,/,
        not: /1 sentences|1 steps/,
      },
      {
        name: "a WAV with no samples",
        script: "transcribe.ts",
        args: [`${dir}/empty.wav`, "--model", "tiny-random", "--threads", "1"],
        code: 1,
        says: /empty\.wav: no samples/,
        not: /Infinity/,
      },
      {
        name: "a silent WAV",
        script: "transcribe.ts",
        args: [`${dir}/zero.wav`, "--model", "tiny-random", "--threads", "1"],
        code: 1,
        says: /zero\.wav: silent \(0\.5 s, peak 0\); nothing to transcribe/,
      },
    ];
    for (const c of cases) {
      const got = await run(c.script, c.args);
      assert.equal(got.code, c.code, `${c.name}: ${got.stderr}`);
      assert.match(got.stderr, c.says, c.name);
      if (c.not) assert.doesNotMatch(got.stderr, c.not, c.name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
