import assert from "@std/assert";
import { either as E } from "fp-ts";
import { createRng, shuffle } from "../lib/random.ts";
import {
  concatSentences,
  type DataError,
  lengthBatches,
  loadSentences,
  paddingFraction,
  parseSentences,
  type Sentence,
  splitHeldOut,
  withFrames,
} from "../lib/data/mod.ts";
import { orThrow } from "../lib/result.ts";

const SHIPPED = new URL("../data/sentences.jsonl", import.meta.url).pathname;
const SHIPPED_LANGS = "en de fr es it pt nl pl ru uk tr vi id zh ja ko ar hi sw fi".split(" ");

const parse = (content: string, options: Parameters<typeof parseSentences>[1]) =>
  orThrow(parseSentences(content, options));

/** The error of a result that must fail. */
const leftOf = <L, A>(r: E.Either<L, A>): L => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`);
  return r.left;
};

/** The DataError of a parse that must fail. */
const failure = (content: string, options: Parameters<typeof parseSentences>[1]): DataError =>
  leftOf(parseSentences(content, options));

const shipped = async (): Promise<Sentence[]> => orThrow(await loadSentences(SHIPPED)());

Deno.test("parseSentences() reads .txt with the lang option, skipping blank lines", () => {
  const got = parse("  Hello there.  \n\nSee you tomorrow.\r\n", {
    format: "txt",
    lang: "English",
    source: "dir/greet.txt",
  });
  assert.deepEqual(got, [
    { text: "Hello there.", lang: "en", id: "greet.txt:1" },
    { text: "See you tomorrow.", lang: "en", id: "greet.txt:3" },
  ]);
});

Deno.test("parseSentences() reads .jsonl with per-line or default languages and ids", () => {
  const content = [
    '{"text": "Guten Tag.", "lang": "German"}',
    '{"text": "Bonjour.", "id": "fr-1"}',
    "",
    '{"text": "Hola.", "lang": "es", "speaker": "ignored"}',
  ].join("\n");
  assert.deepEqual(parse(content, { format: "jsonl", lang: "fr", source: "a.jsonl" }), [
    { text: "Guten Tag.", lang: "de", id: "a.jsonl:1" },
    { text: "Bonjour.", lang: "fr", id: "fr-1" },
    { text: "Hola.", lang: "es", id: "a.jsonl:4" },
  ]);
});

Deno.test("parseSentences() reads .tsv and detects an optional header line", () => {
  const body = "Dzień dobry.\tpl\nTerve.\tFinnish\n";
  const withHeader = parse(`Text\tLang\n${body}`, { format: "tsv", source: "t.tsv" });
  const without = parse(body, { format: "tsv", source: "t.tsv" });
  assert.deepEqual(withHeader.map((s) => [s.text, s.lang, s.id]), [
    ["Dzień dobry.", "pl", "t.tsv:2"],
    ["Terve.", "fi", "t.tsv:3"],
  ]);
  assert.deepEqual(without.map((s) => s.id), ["t.tsv:1", "t.tsv:2"]);
  // An empty lang column falls back to the option.
  assert.equal(parse("Ciao.\t\n", { format: "tsv", lang: "it", source: "t.tsv" })[0].lang, "it");
});

Deno.test("parseSentences() normalises text to NFC and strips a byte-order mark", () => {
  const decomposed = "Cafe\u0301 au lait."; // e + combining acute
  const [s] = parse(`\uFEFF${decomposed}\n`, { format: "txt", lang: "fr", source: "c.txt" });
  assert.equal(s.text, "Caf\u00e9 au lait.");
  assert.equal(s.text, s.text.normalize("NFC"));
});

Deno.test("parseSentences() names file:line and the fix for every bad line", () => {
  const cases: [string, Parameters<typeof parseSentences>[1], string, RegExp][] = [
    ["Hello.\n", { format: "txt", source: "x.txt" }, "missing-language", /^x\.txt: .*lang/],
    [
      '{"text": "Hi.", "lang": "en"}\n{"text": "Hallo.", "lang": "Germn"}\n',
      { format: "jsonl", source: "x.jsonl" },
      "unknown-language",
      /^x\.jsonl:2: unknown language 'Germn'.*'de'/,
    ],
    [
      '{"text": "Hi.", "lang": "en"}\n{"text": "Hi, "lang": "en"}\n',
      { format: "jsonl", source: "x.jsonl" },
      "invalid-json",
      /^x\.jsonl:2: invalid JSON .*one object per line/,
    ],
    [
      '{"text": "  ", "lang": "en"}\n',
      { format: "jsonl", source: "x.jsonl" },
      "empty-text",
      /^x\.jsonl:1: the text is empty; .*remove the line/,
    ],
    [
      '{"text": 3, "lang": "en"}\n',
      { format: "jsonl", source: "x.jsonl" },
      "invalid-record",
      /^x\.jsonl:1: "text" must be a string/,
    ],
    [
      '{"text": "Hi."}\n',
      { format: "jsonl", source: "x.jsonl" },
      "missing-language",
      /^x\.jsonl:1: no language; add a "lang"/,
    ],
    [
      `Short.\n${"This sentence goes on and on. ".repeat(30)}\n`,
      { format: "txt", lang: "en", source: "x.txt" },
      "too-long",
      /^x\.txt:2: .*about \d+\.\d s.*30 s.*splitSegments\(text, "en"\)/,
    ],
    [
      '{"text": "A.", "lang": "en", "id": "k"}\n{"text": "B.", "lang": "en", "id": "k"}\n',
      { format: "jsonl", source: "x.jsonl" },
      "duplicate-id",
      /^x\.jsonl:2: id "k" was already used on line 1/,
    ],
    [
      "Hallo.\tde\textra\n",
      { format: "tsv", source: "x.tsv" },
      "invalid-record",
      /^x\.tsv:1: expected 2 tab-separated columns .*found 3/,
    ],
  ];
  for (const [content, options, kind, pattern] of cases) {
    const e = failure(content, options);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, pattern);
  }
});

Deno.test("parseSentences() reports all bad lines of a file at once", () => {
  const content = '{"text": "", "lang": "en"}\n{"text": "Fine.", "lang": "en"}\nnot json\n';
  const e = failure(content, { format: "jsonl", source: "many.jsonl" });
  assert.deepEqual(e.issues.map((i) => [i.kind, i.line]), [["empty-text", 1], ["invalid-json", 3]]);
  assert.match(e.message, /2 problems[\s\S]*many\.jsonl:1[\s\S]*many\.jsonl:3/);
});

Deno.test("loadSentences() takes the format from the extension and reports bad files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "Hyvää huomenta.\n");
    const ok = orThrow(await loadSentences(`${dir}/a.txt`, { lang: "fi" })());
    assert.deepEqual(ok, [{ text: "Hyvää huomenta.", lang: "fi", id: "a.txt:1" }]);
    await Deno.writeTextFile(`${dir}/a.csv`, "Hello.,en\n");
    const csv = leftOf(await loadSentences(`${dir}/a.csv`)());
    assert.equal(csv.kind, "unknown-format");
    assert.match(csv.message, /a\.csv: unknown extension "\.csv"; .*\.jsonl/);
    await Deno.writeFile(`${dir}/bad.txt`, new Uint8Array([0x48, 0x69, 0x0a, 0xff, 0x0a]));
    const bytes = leftOf(await loadSentences(`${dir}/bad.txt`, { lang: "en" })());
    assert.equal(bytes.kind, "invalid-encoding");
    assert.match(bytes.message, /bad\.txt:2: not valid UTF-8/);
    const missing = leftOf(await loadSentences(`${dir}/none.jsonl`)());
    assert.equal(missing.kind, "read-failed");
    assert.match(missing.message, /none\.jsonl: cannot read the file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concatSentences() rejects ids shared across files", () => {
  const a = parse("One.\n", { format: "txt", lang: "en", source: "a/s.txt" });
  const b = parse("Two.\n", { format: "txt", lang: "en", source: "b/s.txt" });
  const e = leftOf(concatSentences([a, b]));
  assert.equal(e.kind, "duplicate-id");
  assert.match(e.message, /"s\.txt:1".*rename/);
});

Deno.test("splitHeldOut() is deterministic, order-independent and stratified", async () => {
  const all = await shipped();
  const ids = (xs: readonly Sentence[]) => xs.map((s) => s.id).sort();
  const split = splitHeldOut(all, { fraction: 0.1, seed: 7 });
  assert.equal(split.train.length + split.heldOut.length, all.length);
  assert.deepEqual(ids(splitHeldOut(all, { fraction: 0.1, seed: 7 }).heldOut), ids(split.heldOut));
  const reordered = splitHeldOut(shuffle(all, createRng(3)), { fraction: 0.1, seed: 7 });
  assert.deepEqual(ids(reordered.heldOut), ids(split.heldOut));
  assert.notDeepEqual(
    ids(splitHeldOut(all, { fraction: 0.1, seed: 8 }).heldOut),
    ids(split.heldOut),
  );
  for (const lang of SHIPPED_LANGS) {
    assert.equal(split.heldOut.filter((s) => s.lang === lang).length, 4, lang);
  }
  // Stratified at the edges: a language of 2 gets 1 held out, a language of 1 keeps it in train.
  const small = [
    { text: "a", lang: "en" },
    { text: "b", lang: "en" },
    { text: "c", lang: "de" },
  ];
  const s = splitHeldOut(small, { fraction: 0.01, seed: 0 });
  assert.deepEqual(s.heldOut.map((x) => x.lang), ["en"]);
  assert.ok(s.train.some((x) => x.lang === "de"));
  // Repeated texts never straddle the split.
  const dup = splitHeldOut([...small, { text: "a", lang: "en" }, { text: "b", lang: "en" }], {
    fraction: 0.3,
    seed: 1,
  });
  const heldTexts = new Set(dup.heldOut.map((x) => x.text));
  assert.ok(dup.train.every((x) => !heldTexts.has(x.text)));
  assert.throws(() => splitHeldOut(small, { fraction: 1, seed: 0 }), /fraction/);
});

Deno.test("lengthBatches() covers each item once and pads less than random batching", async () => {
  const items = orThrow(withFrames(await shipped()));
  const batchSize = 16;
  const bucketed = lengthBatches(items, { batchSize, rng: createRng(0) });
  const seen = bucketed.batches.flat().map((s) => s.id).sort();
  assert.deepEqual(seen, items.map((s) => s.id).sort());
  assert.equal(bucketed.batches.length, 50); // 800 / 16: only a last, partial batch may be short
  assert.ok(bucketed.batches.every((b) => b.length === batchSize));
  const random = shuffle(items, createRng(0));
  const randomBatches = Array.from(
    { length: Math.ceil(random.length / batchSize) },
    (_, i) => random.slice(i * batchSize, (i + 1) * batchSize),
  );
  const randomPadding = paddingFraction(randomBatches);
  console.log(
    `padding fraction, batch ${batchSize}: bucketed ${bucketed.paddingFraction.toFixed(4)}, ` +
      `random ${randomPadding.toFixed(4)}`,
  );
  assert.ok(bucketed.paddingFraction < 0.05, `bucketed padding ${bucketed.paddingFraction}`);
  assert.ok(bucketed.paddingFraction < randomPadding / 4);
  // Length-homogeneous: no batch spans much more than one bucket.
  for (const b of bucketed.batches) {
    const fs = b.map((x) => x.frames);
    assert.ok(Math.max(...fs) - Math.min(...fs) <= 60, `batch spans ${fs}`);
  }
});

Deno.test("lengthBatches() is reproducible under a seed and varies across seeds", () => {
  const items = Array.from({ length: 101 }, (_, i) => ({ i, frames: 25 + ((i * 37) % 400) }));
  const run = (seed: number) =>
    lengthBatches(items, { batchSize: 8, rng: createRng(seed), bucketWidth: 50 }).batches
      .map((b) => b.map((x) => x.i));
  assert.deepEqual(run(1), run(1));
  assert.notDeepEqual(run(1), run(2));
  assert.equal(run(1).flat().length, 101);
  assert.equal(new Set(run(1).flat()).size, 101);
  assert.throws(() => lengthBatches(items, { batchSize: 0, rng: createRng(0) }), /batchSize/);
});

Deno.test("withFrames() is deterministic without an rng and jitters with one", async () => {
  const all = (await shipped()).slice(0, 50);
  const plain = orThrow(withFrames(all)).map((s) => s.frames);
  assert.deepEqual(orThrow(withFrames(all)).map((s) => s.frames), plain);
  const jittered = orThrow(withFrames(all, { rng: createRng(5) })).map((s) => s.frames);
  assert.deepEqual(
    orThrow(withFrames(all, { rng: createRng(5) })).map((s) => s.frames),
    jittered,
  );
  assert.notDeepEqual(jittered, plain);
  const bad = leftOf(withFrames([{ text: "Hi.", lang: "xx", id: "q.txt:4" }]));
  assert.match(bad.message, /sentence q\.txt:4: unknown language/);
});

Deno.test("data/sentences.jsonl loads with 800 sentences, 40 in each of 20 languages", async () => {
  const all = await shipped();
  assert.equal(all.length, 800);
  const counts = new Map<string, number>();
  for (const s of all) counts.set(s.lang, (counts.get(s.lang) ?? 0) + 1);
  assert.deepEqual([...counts.keys()], SHIPPED_LANGS);
  assert.ok([...counts.values()].every((n) => n === 40));
  assert.equal(new Set(all.map((s) => s.text)).size, 800);
  const words = (s: Sentence) =>
    [...new Intl.Segmenter(s.lang, { granularity: "word" }).segment(s.text)]
      .filter((g) => g.isWordLike).length;
  for (const s of all) {
    assert.ok(words(s) >= 4 && words(s) <= 15, `${s.id}: ${words(s)} words`);
  }
  const frames = orThrow(withFrames(all)).map((s) => s.frames);
  assert.ok(Math.max(...frames) < 1500);
  assert.ok(all.filter((s) => /\d/.test(s.text)).length >= 100);
});

Deno.test("parseSentences() names the lang option as the caller's users give it", () => {
  const message = (content: string, options: Parameters<typeof parseSentences>[1]) => {
    const r = parseSentences(content, options);
    if (E.isRight(r)) throw new Error("expected an error");
    return r.left.message;
  };
  const txt = { format: "txt", source: "x.txt" } as const;
  assert.match(message("Hi.\n", txt), /pass \{ lang: "en" \}/);
  assert.match(message("Hi.\n", { ...txt, langOption: "--lang" }), /pass --lang \(a Whisper code/);
  const none = message("Hi.\n", { ...txt, langOption: null });
  assert.match(none, /takes no language, so write the file as \.jsonl or \.tsv/);
  assert.doesNotMatch(none, /pass/);
  const jsonl = { format: "jsonl", source: "x.jsonl" } as const;
  assert.match(message('{"text": "Hi."}\n', jsonl), /or pass \{ lang \} as a default$/);
  assert.match(
    message('{"text": "Hi."}\n', { ...jsonl, langOption: "--lang" }),
    /or pass --lang as a default$/,
  );
  assert.match(message('{"text": "Hi."}\n', { ...jsonl, langOption: null }), /"en"\)$/);
  assert.match(message("Hi.\n", { ...txt, lang: "zz" }), /^x\.txt: option lang: unknown/);
  assert.match(
    message("Hi.\n", { ...txt, lang: "zz", langOption: "--lang" }),
    /^x\.txt: --lang: unknown/,
  );
});
