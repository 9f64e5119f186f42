import assert from "@std/assert";
import { either as E } from "fp-ts";
import { orThrow } from "../lib/result.ts";
import { levenshtein } from "../lib/text/edit_distance.ts";
import { LANGUAGE_CODES, LANGUAGE_NAMES, languageCode } from "../lib/text/languages.ts";
import { charErrorRate, normalizeText, wordErrorRate } from "../lib/whisper/normalize.ts";
import { tinyTokenizerJson, tinyVocabSize } from "../lib/whisper/tiny_tokenizer.ts";
import {
  loadTokenizer,
  type TokenizerOptions,
  WhisperTokenizer,
} from "../lib/whisper/tokenizer.ts";

const tiny = (json = tinyTokenizerJson(), options: TokenizerOptions = {}) =>
  orThrow(WhisperTokenizer.fromJson(json, options));

const leftMessage = <A>(result: E.Either<{ message: string }, A>): string => {
  if (E.isRight(result)) throw new Error(`expected an error, got ${JSON.stringify(result.right)}`);
  return result.left.message;
};

/** One sentence per script, with the specials a decoder would put around them. */
const SCRIPTS: Record<string, string> = {
  latin: " Ça, c'est très naïve — Øresund, straße, ñandú!",
  cyrillic: " Съешь же ещё этих мягких французских булок.",
  cjk: " 今天天气很好，我们去公园吧。日本語のテキスト、한국어 문장",
  arabic: " الطقس جميل جدا اليوم",
  devanagari: " आज मौसम बहुत अच्छा है।",
  emoji: " 👋🏽 family: 👨‍👩‍👧, flags 🇩🇪 ♪♪",
};

Deno.test("encode() and decode() round-trip every script on the tiny tokenizer", () => {
  const tok = tiny();
  for (const [script, text] of Object.entries(SCRIPTS)) {
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => id >= 0 && id < tok.specials.eot), `${script}: special id`);
    assert.equal(tok.decode(ids), text, script);
  }
  assert.deepEqual(tok.encode(""), []);
  assert.equal(tok.decode([]), "");
});

Deno.test("encode() applies the tiny tokenizer's merges", () => {
  const tok = tiny();
  // "Ġ t", "h e", "Ġt he": " the" is one token, right after the 256 bytes' merges.
  assert.equal(tok.encode(" the").length, 1);
  assert.equal(tok.encode(" cat").length, 4);
  assert.equal(tok.spaceToken, 220);
  assert.deepEqual(tok.encode(" "), [220]);
});

Deno.test("decode() writes or skips special tokens around text", () => {
  const tok = tiny();
  const s = tok.specials;
  const text = SCRIPTS.cyrillic;
  const ids = [
    ...orThrow(tok.sotSequence({ language: "ru", timestamps: true })),
    s.timestampBegin,
    ...tok.encode(text),
    s.timestampBegin + 1500,
    s.eot,
  ];
  assert.equal(
    tok.decode(ids),
    `<|startoftranscript|><|ru|><|transcribe|><|0.00|>${text}<|30.00|><|endoftext|>`,
  );
  assert.equal(tok.decode(ids, { skipSpecial: true }), text);
  assert.throws(() => tok.decode([tok.vocabSize]), /outside the vocabulary/);
});

Deno.test("fromJson() finds Whisper's special-id layout, shifted, in the tiny tokenizer", () => {
  const tok = tiny();
  const s = tok.specials;
  assert.equal(s.eot, 256 + 8);
  assert.equal(s.sot, s.eot + 1);
  assert.equal(s.languages.en, s.sot + 1);
  assert.equal(s.languages.su, s.sot + 99);
  assert.deepEqual(tok.languages, LANGUAGE_CODES.slice(0, 99));
  const tasks = [s.translate, s.transcribe, s.startoflm, s.startofprev, s.nospeech];
  assert.deepEqual(tasks, [0, 1, 2, 3, 4].map((i) => s.sot + 100 + i));
  assert.equal(s.notimestamps, s.sot + 105);
  assert.equal(s.timestampBegin, s.notimestamps + 1);
  assert.equal(tok.vocabSize, s.timestampBegin + 1501);
  assert.equal(tok.vocabSize, tinyVocabSize());
  assert.ok(tok.multilingual);
});

Deno.test("fromJson() mirrors the real vocabularies' offsets (51865, 51864, 51866)", () => {
  // Real: multilingual eot 50257, English-only 50256, v3 adds yue and one token at the end.
  const multi = tiny();
  const english = tiny(tinyTokenizerJson({ multilingual: false }), { multilingual: false });
  const v3 = tiny(tinyTokenizerJson({ cantonese: true }));
  assert.equal(english.specials.eot, multi.specials.eot - 1);
  assert.equal(english.vocabSize, multi.vocabSize - 1);
  assert.equal(v3.vocabSize, multi.vocabSize + 1);
  assert.equal(v3.specials.languages.yue, v3.specials.sot + 100);
  assert.equal(v3.specials.translate, v3.specials.languages.yue + 1);
  assert.equal(multi.specials.languages.yue, undefined);
  assert.ok(!english.multilingual);
});

Deno.test("fromJson() rejects a tokenizer.json without Whisper's special tokens", () => {
  const json = JSON.parse(tinyTokenizerJson());
  const without = (content: string) =>
    JSON.stringify({
      ...json,
      added_tokens: json.added_tokens.filter((t: { content: string }) => t.content !== content),
    });
  const noSot = leftMessage(WhisperTokenizer.fromJson(without("<|startoftranscript|>"), {
    source: "m/tokenizer.json",
  }));
  assert.match(noSot, /m\/tokenizer\.json .*no added token <\|startoftranscript\|>/);
  assert.match(noSot, /openai\/whisper/);
  assert.match(leftMessage(WhisperTokenizer.fromJson(without("<|de|>"))), /<\|de\|>/);
  assert.match(leftMessage(WhisperTokenizer.fromJson("{not json")), /not a loadable/);
  const wrongSize = leftMessage(
    WhisperTokenizer.fromJson(tinyTokenizerJson(), { vocabSize: 51865 }),
  );
  assert.match(wrongSize, /vocab_size 51865 .* needs vocab_size 1872/);
});

Deno.test("fromJson() accepts the older name <|nocaptions|> for <|nospeech|>", () => {
  const old = tinyTokenizerJson().replace("<|nospeech|>", "<|nocaptions|>");
  const tok = tiny(old);
  assert.equal(tok.specials.nospeech, tok.specials.startofprev + 1);
  assert.equal(tok.decode([tok.specials.nospeech]), "<|nocaptions|>");
});

Deno.test("sotSequence() builds the multilingual prefix", () => {
  const tok = tiny();
  const s = tok.specials;
  const de = s.languages.de;
  assert.equal(de, s.sot + 3);
  assert.deepEqual(
    tok.sotSequence({ language: "de", task: "transcribe", timestamps: false }),
    E.right([s.sot, de, s.transcribe, s.notimestamps]),
  );
  assert.deepEqual(
    tok.sotSequence({ language: "German", task: "translate", timestamps: true }),
    E.right([s.sot, de, s.translate]),
  );
  assert.deepEqual(
    tok.sotSequence({ language: "castilian" }),
    E.right([s.sot, s.languages.es, s.transcribe, s.notimestamps]),
  );
  assert.match(leftMessage(tok.sotSequence({})), /needs a language/);
});

Deno.test("sotSequence() gives English-only models [sot] and refuses other languages", () => {
  const tok = tiny(tinyTokenizerJson({ multilingual: false }), { multilingual: false });
  const s = tok.specials;
  assert.deepEqual(tok.sotSequence({}), E.right([s.sot, s.notimestamps]));
  assert.deepEqual(tok.sotSequence({ language: "en", timestamps: true }), E.right([s.sot]));
  assert.match(
    leftMessage(tok.sotSequence({ language: "de" })),
    /English-only model: it cannot transcribe 'de'.*multilingual model/,
  );
  assert.match(leftMessage(tok.sotSequence({ task: "translate" })), /cannot translate/);
});

Deno.test("languageToken() errors on an unknown language with the nearest codes", () => {
  const tok = tiny();
  assert.deepEqual(tok.languageToken("en"), E.right(tok.specials.sot + 1));
  assert.deepEqual(tok.languageToken("Mandarin"), E.right(tok.specials.languages.zh));
  const msg = leftMessage(tok.languageToken("xx"));
  assert.match(msg, /unknown language 'xx'/);
  assert.match(msg, /LANGUAGE_CODES in lib\/text\/languages\.ts/);
  assert.match(leftMessage(tok.languageToken("javenese")), /'jw' \(javanese\)/);
  assert.match(leftMessage(tok.languageToken("yue")), /not in this model's vocabulary.*51866/);
});

Deno.test("languageCode() knows Whisper's 100 languages, names and aliases", () => {
  assert.equal(LANGUAGE_CODES.length, 100);
  assert.equal(new Set(LANGUAGE_CODES).size, 100);
  assert.equal(LANGUAGE_CODES.indexOf("de"), 2);
  assert.equal(LANGUAGE_CODES.indexOf("su"), 98);
  assert.equal(LANGUAGE_NAMES.yue, "cantonese");
  const aliases: Record<string, string> = {
    burmese: "my",
    castilian: "es",
    flemish: "nl",
    haitian: "ht",
    letzeburgesch: "lb",
    pushto: "ps",
    panjabi: "pa",
    moldavian: "ro",
    moldovan: "ro",
    sinhalese: "si",
    mandarin: "zh",
    cantonese: "yue",
    valencian: "ca",
    "Haitian Creole": "ht",
    " EN ": "en",
  };
  for (const [name, code] of Object.entries(aliases)) {
    assert.deepEqual(languageCode(name), E.right(code), name);
  }
});

Deno.test("nonSpeechTokens() lists single-token symbols and music signs, not punctuation", () => {
  const tok = tiny();
  const ids = tok.nonSpeechTokens();
  const one = (text: string) => {
    const enc = tok.encode(text);
    assert.equal(enc.length, 1, text);
    return enc[0];
  };
  for (const symbol of ['"', "#", "(", "[", "]", "{", "~", "<", "@"]) {
    assert.ok(ids.includes(one(symbol)), symbol);
  }
  for (const kept of [",", ".", "?", "!", "'", "-", "a"]) assert.ok(!ids.includes(one(kept)), kept);
  assert.ok(!ids.includes(tok.spaceToken), "the space token must stay allowed");
  assert.ok(ids.includes(tok.encode("♪")[0]), "first byte of ♪");
  assert.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b));
});

Deno.test("loadTokenizer() reads dir/tokenizer.json and names a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await loadTokenizer(dir)();
    assert.match(leftMessage(missing), new RegExp(`${dir} has no tokenizer.json`));
    await Deno.writeTextFile(`${dir}/tokenizer.json`, tinyTokenizerJson());
    const tok = await loadTokenizer(dir, { vocabSize: tinyVocabSize() })();
    assert.ok(E.isRight(tok) && tok.right.vocabSize === tinyVocabSize());
    await Deno.writeTextFile(`${dir}/tokenizer.json`, '{"model": {"type": "BPE"}}');
    assert.match(leftMessage(await loadTokenizer(dir)()), /tokenizer\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("normalizeText() lowercases, drops punctuation, symbols and asides", () => {
  const cases: [string, string][] = [
    ["Hello, World!", "hello world"],
    ["[MUSIC] so (laughs) <noise> we go", "so we go"],
    ["Twenty-one, 21 and 3.5% of $1,000.", "twenty one 21 and 3.5 of 1,000"],
    ["  many\t\nspaces  ", "many spaces"],
    ["Привет, МИР!", "привет мир"],
    ["今天天气很好，我们去公园吧。", "今天天气很好 我们去公园吧"],
    ["नमस्ते, दुनिया।", "नमस्ते दुनिया"], // vowel signs (marks) stay
    ["Ｆｕｌｌｗｉｄｔｈ ＡＢＣ", "fullwidth abc"],
    ["emoji 👋 ♪ → ok", "emoji ok"],
    ["Café naïve", "café naïve"],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeText(input), expected, input);
  assert.equal(normalizeText("Café naïve Øre", { stripDiacritics: true }), "cafe naive øre");
});

Deno.test("wordErrorRate() counts corpus-level word edits over reference words", () => {
  // Pair 1: 1 substitution (sat/sit) of 3 words; pair 2: 1 deletion + 1 insertion of 4 words.
  const refs = ["The cat sat.", "a b c d"];
  const hyps = ["the cat sit", "a c d e"];
  assert.equal(wordErrorRate(refs, hyps), 3 / 7);
  assert.equal(wordErrorRate("Hello, world!", "hello world"), 0);
  assert.equal(wordErrorRate("Hello, world!", "hello world", { normalize: false }), 1);
  assert.equal(wordErrorRate("", ""), 0);
  assert.equal(wordErrorRate("", "extra"), Infinity);
  assert.equal(wordErrorRate("one", "one two three"), 2);
  assert.throws(() => wordErrorRate(["a", "b"], ["a"]), /2 references but 1 hypotheses/);
});

Deno.test("charErrorRate() counts code points without spaces", () => {
  // "kitten" → "sitting": 3 edits over 6 characters.
  assert.equal(charErrorRate("kitten", "sitting"), 3 / 6);
  // Spaces are ignored: word-boundary changes alone cost nothing.
  assert.equal(charErrorRate("今天天气很好", "今天 天气 很好"), 0);
  // 2 of 6 wrong (气→汽, 好→号) plus 2 of 4 ("abcd" vs "abxy"): 4 / 10.
  assert.equal(charErrorRate(["今天天气很好", "abcd"], ["今天天汽很号", "abxy"]), 4 / 10);
  assert.equal(charErrorRate("Naïve", "naive"), 1 / 5);
  assert.equal(charErrorRate("Naïve", "naive", { stripDiacritics: true }), 0);
  assert.equal(levenshtein([1, 2, 3], [1, 3]), 1);
});

Deno.test("WhisperTokenizer.fromJson() accepts Hebrew's old code <|iw|> of early vocabularies", () => {
  const old = tinyTokenizerJson().replace('"<|he|>"', '"<|iw|>"');
  const tok = orThrow(WhisperTokenizer.fromJson(old));
  const he = tok.languageToken("he");
  assert.ok(E.isRight(he) && he.right === tok.specials.languages.uk - 1);
});
