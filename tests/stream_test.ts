/** lib/data/stream.ts: corpora read one line at a time, as loadSentences reads them whole. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import { loadSentences } from "../lib/data/sentences.ts";
import { countRecords, type StreamedRecord, streamSentences } from "../lib/data/stream.ts";
import { orThrow } from "../lib/result.ts";

const all = async (path: string, options = {}): Promise<StreamedRecord[]> => {
  const out = [];
  for await (const r of orThrow(await streamSentences(path, options)())) out.push(r);
  return out;
};

Deno.test("streamSentences() gives loadSentences()'s sentences and ids across read chunks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Well over one 64 KiB read, multi-byte characters everywhere, CRLF, a BOM, blank lines.
    const lines = Array.from(
      { length: 3000 },
      (_, i) => JSON.stringify({ text: `Grüße, Zoë, number ${i}. Ελλάδα ${"é".repeat(i % 7)}` }),
    );
    const content = "\uFEFF" + lines.map((l, i) => (i % 100 === 5 ? `\r\n${l}` : l)).join("\r\n");
    for (const ext of ["jsonl", "tsv", "txt"]) {
      const body = ext === "jsonl" ? content : content.replace(
        /\{"text":"([^"]*)"\}/g,
        ext === "tsv" ? "$1\tde" : "$1",
      );
      const path = `${dir}/c.${ext}`;
      await Deno.writeTextFile(path, ext === "tsv" ? `text\tlang\r\n${body}` : body);
      const whole = orThrow(await loadSentences(path, { lang: "de" })());
      const streamed = await all(path, { lang: "de" });
      assert.equal(streamed.length, 3000, ext);
      assert.deepEqual(streamed.map((r) => "sentence" in r ? r.sentence : r.issue), whole, ext);
      assert.deepEqual(streamed.map((r) => r.record), whole.map((_, i) => i));
      assert.equal(orThrow(await countRecords(path)()), 3000);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("streamSentences() reports each bad line with its number and goes on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.jsonl`;
    const bytes = new TextEncoder().encode(
      [
        '{"text": "Hello.", "lang": "en"}',
        "{not json",
        '{"lang": "en"}',
        '{"text": "Qapla\'", "lang": "klingon"}',
        JSON.stringify({ text: "word ".repeat(200), lang: "en" }),
        "BAD",
        '{"text": "Bye.", "lang": "en", "id": "last"}',
      ].join("\n"),
    );
    const at = bytes.indexOf("B".charCodeAt(0));
    bytes[at] = 0xff; // invalid UTF-8 on line 6
    await Deno.writeFile(path, bytes);
    const got = await all(path);
    assert.deepEqual(got.map((r) => r.line), [1, 2, 3, 4, 5, 6, 7]);
    const issues = got.flatMap((r) => "issue" in r ? [r.issue] : []);
    assert.deepEqual(issues.map((i) => [i.line, i.kind]), [
      [2, "invalid-json"],
      [3, "invalid-record"],
      [4, "unknown-language"],
      [5, "too-long"],
      [6, "invalid-encoding"],
    ]);
    for (const i of issues) assert.ok(i.message.startsWith(`${path}:${i.line}: `), i.message);
    const ids = got.flatMap((r) => "sentence" in r ? [r.sentence.id] : []);
    assert.deepEqual(ids, ["c.jsonl:1", "last"]);
    assert.equal(orThrow(await countRecords(path)()), 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("streamSentences() fails before any line for a .txt without --lang, a bad format or a missing file; a stream left early closes its file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "One.\nTwo.\nThree.\n");
    const noLang = await streamSentences(`${dir}/a.txt`, { langOption: "--lang" })();
    assert.ok(E.isLeft(noLang) && /pass --lang/.test(noLang.left.message));
    const csv = await streamSentences(`${dir}/a.csv`)();
    assert.ok(E.isLeft(csv) && /unknown extension ".csv"/.test(csv.left.message));
    const missing = await streamSentences(`${dir}/none.txt`, { lang: "en" })();
    assert.ok(E.isLeft(missing) && /cannot read the file/.test(missing.left.message));
    // The test's resource sanitizer fails it if breaking out leaves the file open.
    for await (const r of orThrow(await streamSentences(`${dir}/a.txt`, { lang: "en" })())) {
      assert.equal(r.line, 1);
      break;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("streamSentences() reads udhr: specs through the same checks", async () => {
  const got = await all("udhr:de");
  assert.ok(got.length > 50);
  assert.ok(got.every((r, i) => r.record === i && r.line === i + 1));
  const first = got[0];
  assert.ok("sentence" in first && first.sentence.id === "udhr:deu_1996:1");
  assert.equal(orThrow(await countRecords("udhr:de")()), got.length);
});
