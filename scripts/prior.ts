/**
 * `deno task prior`: builds the eSpeak NG prior cache (renderings through Whisper's encoder) for a
 * dataset, resumably, and with --eval reads the prior states back through the frozen decoder
 * (both interfaces) to give the "L0 ceiling" table: the round-trip CER of the prior itself.
 *
 *   deno task prior --data data/sentences.jsonl --whisper .cache/whisper/base [--eval]
 */
import { commandLine, EXIT, fail as failWith, progressLine } from "./cli.ts";
import { either as E } from "fp-ts";
import { readSentences } from "./data.ts";
import { splitHeldOut } from "../lib/data/mod.ts";
import { writeFileAtomic } from "../lib/io.ts";
import { buildPriorCache, loadPriorStates, type PriorEntry } from "../lib/speech/cache.ts";
import { openWhisper } from "../lib/whisper/open.ts";
import { charErrorRate, wordErrorRate } from "../lib/whisper/normalize.ts";
import { readBack } from "../lib/whisper/readback.ts";
import { DECODER_INTERFACES } from "../lib/whisper/silence.ts";
import { modelTokenizer } from "../lib/whisper/tokenizer.ts";

const COMMAND = {
  name: "prior",
  usage: "deno task prior --data FILE --whisper MODEL [options]",
  options: {
    data: { type: "string", arg: "FILE", help: "sentences (.txt with --lang, .jsonl, .tsv)" },
    lang: { type: "string", arg: "CODE", help: "language of a .txt file" },
    whisper: { type: "string", arg: "MODEL", help: "Whisper folder, hub id or tiny-random" },
    out: {
      type: "string",
      arg: "DIR",
      help: "cache folder (default .cache/prior/<model folder name>)",
    },
    langs: { type: "string", arg: "a,b,c", help: "only these languages" },
    "per-lang": { type: "int", min: 1, help: "at most N sentences per language" },
    "train-only": {
      type: "number",
      arg: "F",
      min: 0,
      max: 1,
      exclusiveMax: true,
      help: "leave out the sentences a run with --held-out F (and --seed) holds out, so a\n" +
        "choice made on this reading is not tuned on held-out sentences",
    },
    seed: { type: "int", min: 0, default: 0, help: "the run's seed, with --train-only" },
    batch: { type: "int", min: 1, default: 4, help: "encoder batch" },
    wpm: {
      type: "int",
      min: 80,
      max: 450,
      help: "eSpeak NG speaking rate, words per minute (default 175); one rate per --out folder",
    },
    threads: { type: "int", min: 1, help: "ONNX Runtime threads" },
    eval: {
      type: "boolean",
      help: "read the prior back (greedy, both decoder interfaces): l0.md, l0.json",
    },
    quiet: { type: "boolean", help: "no progress output" },
  },
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const f = commandLine(COMMAND).values;
if (!f.data) fail("--data is required (see --help)", EXIT.usage);
if (!f.whisper) fail("--whisper is required (see --help)", EXIT.usage);
const { batch, threads } = f, perLang = f["per-lang"];

const read = await readSentences(COMMAND.name, f.data, { lang: f.lang });
const trainOnly = f["train-only"];
const loaded = trainOnly === undefined || trainOnly === 0
  ? read
  : splitHeldOut(read, { fraction: trainOnly, seed: f.seed }).train;
const langs = f.langs?.split(",").map((s: string) => s.trim()).filter(Boolean);
const counts = new Map<string, number>();
const sentences = loaded.filter((s) => {
  if (langs && !langs.includes(s.lang)) return false;
  const n = counts.get(s.lang) ?? 0;
  if (perLang !== undefined && n >= perLang) return false;
  counts.set(s.lang, n + 1);
  return true;
});
if (sentences.length === 0) fail(`no sentences left in ${f.data} after --langs/--per-lang`);

const model = await openWhisper(f.whisper, { threads })();
if (E.isLeft(model)) fail(`Whisper ${f.whisper}: ${model.left.message}`);
const modelName = f.whisper.replace(/\/+$/, "").split("/").pop()!;
const dir = f.out ?? `.cache/prior/${modelName}`;

const log = (line: string) => !f.quiet && console.error(line);
const started = performance.now();
const progress = progressLine({ quiet: f.quiet });
const report = await buildPriorCache(model.right, sentences, {
  dir,
  modelName,
  batch,
  wpm: f.wpm,
  onProgress: (done, total) => {
    const s = (performance.now() - started) / 1000, rate = done / s;
    progress.update(
      `prior ${done}/${total} sentences, ${rate.toFixed(2)}/s, ETA ${
        Math.round((total - done) / Math.max(rate, 1e-9))
      } s`,
      done === total,
    );
  },
})();
progress.done();
if (E.isLeft(report)) fail(report.left.message);
const seconds = (performance.now() - started) / 1000;
const { built, cached, failed, entries } = report.right;
log(
  `prior: ${built} built (${seconds.toFixed(1)} s${
    built ? `, ${(built / seconds).toFixed(2)} sentences/s` : ""
  }; eSpeak NG ${report.right.seconds.render.toFixed(1)} s, encoder ${
    report.right.seconds.encode.toFixed(1)
  } s), ${cached} cached, ${failed.length} not spoken; ${dir}`,
);
for (const x of failed.slice(0, 10)) log(`  ${x.id}: ${x.message}`);
if (failed.length > 10) log(`  ... and ${failed.length - 10} more`);

if (f.eval) {
  const tokenizer = modelTokenizer(model.right);
  if (E.isLeft(tokenizer)) fail(tokenizer.left.message);
  const wanted = new Set(sentences.map((s) => `${s.lang}\t${s.text}`));
  const chosen = entries.filter((e) => wanted.has(`${e.lang}\t${e.text}`));
  const states = await loadPriorStates(dir, chosen)();
  if (E.isLeft(states)) fail(states.left.message);
  const byLang = new Map<string, PriorEntry[]>();
  for (const e of chosen) byLang.set(e.lang, [...(byLang.get(e.lang) ?? []), e]);
  const rows: Record<string, unknown>[] = [];
  const samples: string[] = [];
  const skipped: string[] = [];
  for (const [lang, list] of byLang) {
    // A language the model's vocabulary lacks (e.g. yue before large-v3) is left out, not fatal.
    const known = tokenizer.right.sotSequence({
      language: lang,
      task: "transcribe",
      timestamps: false,
    });
    if (E.isLeft(known)) {
      skipped.push(`${lang}: ${known.left.message}`);
      log(`  ${lang}: left out (${known.left.message})`);
      continue;
    }
    const row: Record<string, unknown> = { lang, sentences: list.length };
    for (const iface of DECODER_INTERFACES) {
      const texts: string[] = [], loops: boolean[] = [];
      for (let i = 0; i < list.length; i += batch) {
        const group = list.slice(i, i + batch);
        const out = await readBack(model.right, group.map((e) => states.right.get(e.key)!), {
          tokenizer: tokenizer.right,
          lang,
          interface: iface,
        })();
        if (E.isLeft(out)) fail(out.left.message);
        out.right.forEach((r) => {
          texts.push(r.text);
          loops.push(r.looped);
        });
      }
      const refs = list.map((e) => e.text);
      row[`${iface}.cer`] = charErrorRate(refs, texts);
      row[`${iface}.wer`] = wordErrorRate(refs, texts);
      row[`${iface}.loops`] = loops.filter(Boolean).length / loops.length;
      if (iface === "silence") {
        samples.push(`- ${lang}: "${refs[0]}" → "${texts[0]}"`);
      }
      log(`  ${lang} ${iface}: CER ${(100 * (row[`${iface}.cer`] as number)).toFixed(1)}%`);
    }
    rows.push(row);
  }
  const pct = (x: unknown) => `${(100 * (x as number)).toFixed(1)}%`;
  const md = [
    `# L0: the prior's own round trip`,
    ``,
    `Whisper \`${f.whisper}\`, eSpeak NG renderings of \`${f.data}\`, greedy, token limit from the`,
    `frame count; "loops" = decodes that hit the limit or compress better than 2.4. Silence interface: [speech frames; the`,
    `encoder's silence states up to 1500]. Mask: the speech frames alone under a key mask.`,
    ``,
    ...(skipped.length ? [`Left out: ${skipped.join("; ")}.`, ``] : []),
    `| lang | n | CER silence | WER silence | loops silence | CER mask | WER mask | loops mask |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows.map((r) =>
      `| ${r.lang} | ${r.sentences} | ${pct(r["silence.cer"])} | ${pct(r["silence.wer"])} | ${
        pct(r["silence.loops"])
      } | ${pct(r["mask.cer"])} | ${pct(r["mask.wer"])} | ${pct(r["mask.loops"])} |`
    ),
    ``,
    `First sentence per language (silence interface):`,
    ``,
    ...samples,
    ``,
  ].join("\n");
  await writeFileAtomic(`${dir}/l0.md`, new TextEncoder().encode(md));
  await writeFileAtomic(
    `${dir}/l0.json`,
    new TextEncoder().encode(JSON.stringify({ whisper: f.whisper, data: f.data, rows }, null, 2)),
  );
  console.log(md);
}
