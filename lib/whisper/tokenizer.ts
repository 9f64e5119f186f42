/**
 * Whisper's tokenizer: byte-level BPE text tokens (via @huggingface/tokenizers) and the
 * special tokens a decoder needs, read from a Hugging Face tokenizer.json and checked against
 * Whisper's layout: `<|endoftext|>`, `<|startoftranscript|>`, one token per language, six task
 * tokens, then 1501 timestamps `<|0.00|>` .. `<|30.00|>`.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
// deno-lint-ignore no-import-prefix -- explicit, so mod.ts loads without this repository's deno.json (tests/library_test.ts)
import { Tokenizer } from "npm:@huggingface/tokenizers@0.2.0";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { isMultilingual } from "./config.ts";
import type { WhisperModel } from "./runtime.ts";
import {
  LANGUAGE_CODES,
  languageCode,
  type TokenizerError,
  tokenizerError,
} from "../text/languages.ts";

export type { TokenizerError } from "../text/languages.ts";

/** Ids of Whisper's special tokens. */
export interface SpecialTokens {
  /** `<|endoftext|>`; every id from here up is special. */
  readonly eot: number;
  /** `<|startoftranscript|>`. */
  readonly sot: number;
  /** `<|translate|>`. */
  readonly translate: number;
  /** `<|transcribe|>`. */
  readonly transcribe: number;
  /** `<|startoflm|>`. */
  readonly startoflm: number;
  /** `<|startofprev|>`, before a prompt of previous text. */
  readonly startofprev: number;
  /** `<|nospeech|>` (`<|nocaptions|>` in older vocabularies). */
  readonly nospeech: number;
  /** `<|notimestamps|>`. */
  readonly notimestamps: number;
  /** `<|0.00|>`; timestamp k (k·20 ms) is timestampBegin + k. */
  readonly timestampBegin: number;
  /** Language code → its token, in Whisper's order. */
  readonly languages: Readonly<Record<string, number>>;
}

/** How to read a tokenizer.json: facts from the model's config.json it cannot tell itself. */
export interface TokenizerOptions {
  /** The model's vocab_size; checked against the tokens, and counts unlisted timestamps. */
  readonly vocabSize?: number;
  /**
   * Whether the model is multilingual. English-only tokenizers list the language tokens too, so
   * it cannot be read from them; the default is English-only when `<|endoftext|>` is GPT-2's
   * 50256 or vocabSize is 51864, multilingual otherwise.
   */
  readonly multilingual?: boolean;
  /** Where the text came from, for error messages (default "tokenizer.json"). */
  readonly source?: string;
}

/** What a decoder starts from; see {@link WhisperTokenizer.sotSequence}. */
export interface SotOptions {
  /** Code, English name or alias; required by multilingual models, only "en" for English-only. */
  readonly language?: string;
  /** Default "transcribe". */
  readonly task?: "transcribe" | "translate";
  /** Let the model emit timestamps (default false: the sequence ends with notimestamps). */
  readonly timestamps?: boolean;
}

const TASKS = ["translate", "transcribe", "startoflm", "startofprev", "nospeech", "notimestamps"];
const TIMESTAMPS = 1501;
const GPT2_EOT = 50256;
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Whisper's tokenizer; build one with {@link WhisperTokenizer.fromJson} or {@link loadTokenizer}. */
export class WhisperTokenizer {
  private constructor(
    private readonly hf: Tokenizer,
    /** Ids of the special tokens. */
    readonly specials: SpecialTokens,
    /** Whether the model knows languages and translation. */
    readonly multilingual: boolean,
    /** Tokens in all, timestamps included: the model's vocab_size. */
    readonly vocabSize: number,
    /** The token of a single space (Whisper suppresses it, and eot, as a first token). */
    readonly spaceToken: number,
  ) {}

  /**
   * Reads tokenizer.json text, finds Whisper's special tokens among its added tokens and
   * checks their layout; the error names the missing or misplaced token.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * const tok = WhisperTokenizer.fromJson(tinyTokenizerJson());
   * assert.ok(tok._tag === "Right" && tok.right.specials.sot === tok.right.specials.eot + 1);
   * const bad = WhisperTokenizer.fromJson('{"model": {}}', { source: "m/tokenizer.json" });
   * assert.ok(bad._tag === "Left" && bad.left.message.startsWith("m/tokenizer.json"));
   * ```
   */
  static fromJson(
    text: string,
    options: TokenizerOptions = {},
  ): Either<TokenizerError, WhisperTokenizer> {
    const where = options.source ?? "tokenizer.json";
    let hf: Tokenizer;
    try {
      hf = new Tokenizer(JSON.parse(text), { clean_up_tokenization_spaces: false });
    } catch (e) {
      return E.left(tokenizerError(`${where}: not a loadable tokenizer.json: ${messageOf(e)}`));
    }
    const specials = findSpecials(hf, where);
    if (E.isLeft(specials)) return specials;
    const s = specials.right;
    const listed = hf.token_to_id("<|30.00|>");
    const vocabSize = options.vocabSize ?? (listed ?? s.timestampBegin + TIMESTAMPS - 1) + 1;
    if (vocabSize !== s.timestampBegin + TIMESTAMPS) {
      return E.left(tokenizerError(
        `${where}: vocab_size ${vocabSize} does not fit Whisper's layout, which puts ` +
          `${TIMESTAMPS} timestamps from <|0.00|> = ${s.timestampBegin} and so needs vocab_size ` +
          `${s.timestampBegin + TIMESTAMPS}; is config.json from the same model?`,
      ));
    }
    const space = hf.encode(" ", { add_special_tokens: false }).ids;
    if (space.length !== 1) {
      return E.left(tokenizerError(`${where}: a single space is ${space.length} tokens, not 1`));
    }
    const multilingual = options.multilingual ??
      (s.eot !== GPT2_EOT && options.vocabSize !== 51864);
    return E.right(new WhisperTokenizer(hf, s, multilingual, vocabSize, space[0]));
  }

  /** Language codes the vocabulary has tokens for, in Whisper's order (99, or 100 on v3). */
  get languages(): readonly string[] {
    return Object.keys(this.specials.languages);
  }

  /**
   * Token ids of `text`, no special tokens added (text like "<|en|>" still becomes its token).
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * import { orThrow } from "../result.ts";
   * const tok = orThrow(WhisperTokenizer.fromJson(tinyTokenizerJson()));
   * const ids = tok.encode(" the cat");
   * assert.equal(tok.decode(ids), " the cat");
   * assert.ok(ids.every((id) => id < tok.specials.eot));
   * ```
   */
  encode(text: string): number[] {
    return text === "" ? [] : this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * The text of `ids`. Special tokens are written as their names (timestamps as `<|1.24|>`)
   * unless `skipSpecial`. Throws a RangeError for an id outside the vocabulary.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * import { orThrow } from "../result.ts";
   * const tok = orThrow(WhisperTokenizer.fromJson(tinyTokenizerJson()));
   * const { sot, timestampBegin } = tok.specials;
   * const ids = [sot, timestampBegin + 50, ...tok.encode(" hi")];
   * assert.equal(tok.decode(ids), "<|startoftranscript|><|1.00|> hi");
   * assert.equal(tok.decode(ids, { skipSpecial: true }), " hi");
   * ```
   */
  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(this.hf.decode(run, { clean_up_tokenization_spaces: false }));
      run = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      }
      if (id < this.specials.eot) {
        run.push(id);
        continue;
      }
      flush();
      if (!options.skipSpecial) parts.push(this.specialText(id));
    }
    flush();
    return parts.join("");
  }

  /** The text of a special token: `<|t.tt|>` for a timestamp, else its vocabulary entry. */
  private specialText(id: number): string {
    const t = id - this.specials.timestampBegin;
    return t >= 0 ? `<|${(t * 0.02).toFixed(2)}|>` : this.hf.id_to_token(id)!;
  }

  /**
   * The token of a language, by code, English name or alias; an error for one the vocabulary
   * lacks, listing the nearest codes.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { either as E } from "fp-ts";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * import { orThrow } from "../result.ts";
   * const tok = orThrow(WhisperTokenizer.fromJson(tinyTokenizerJson()));
   * assert.deepEqual(tok.languageToken("en"), E.right(tok.specials.sot + 1));
   * assert.ok(E.isLeft(tok.languageToken("xx")));
   * ```
   */
  languageToken(language: string): Either<TokenizerError, number> {
    return E.map((code: string) => this.specials.languages[code])(
      languageCode(language, { codes: this.languages }),
    );
  }

  /**
   * The prefix a decoder starts from: multilingual `[sot, language, task]`, English-only
   * `[sot]`, then `notimestamps` unless `timestamps`. English-only models take no language
   * but "en" and cannot translate; multilingual ones need a language.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { either as E } from "fp-ts";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * import { orThrow } from "../result.ts";
   * const tok = orThrow(WhisperTokenizer.fromJson(tinyTokenizerJson()));
   * const s = tok.specials;
   * assert.deepEqual(
   *   tok.sotSequence({ language: "de" }),
   *   E.right([s.sot, s.languages.de, s.transcribe, s.notimestamps]),
   * );
   * ```
   */
  sotSequence(options: SotOptions = {}): Either<TokenizerError, number[]> {
    const s = this.specials;
    const tail = options.timestamps ? [] : [s.notimestamps];
    const task = options.task ?? "transcribe";
    if (task !== "transcribe" && task !== "translate") {
      return E.left(tokenizerError(`unknown task '${task}': use "transcribe" or "translate"`));
    }
    if (!this.multilingual) {
      const code = options.language === undefined ? E.right("en") : languageCode(options.language);
      if (E.isLeft(code)) return code;
      if (code.right !== "en" || task === "translate") {
        const asked = task === "translate" ? "translate" : `transcribe '${options.language}'`;
        return E.left(tokenizerError(
          `this is an English-only model: it cannot ${asked}; use a multilingual model (one ` +
            "without '.en' in its name)",
        ));
      }
      return E.right([s.sot, ...tail]);
    }
    if (options.language === undefined) {
      return E.left(tokenizerError(
        "a multilingual model needs a language (e.g. { language: 'en' }); the codes are " +
          "LANGUAGE_CODES in lib/text/languages.ts",
      ));
    }
    return E.map((lang: number) => [s.sot, lang, s[task], ...tail])(
      this.languageToken(options.language),
    );
  }

  /**
   * Whisper's suppress list: tokens of symbols that start speaker tags and non-speech
   * annotations ("[DAVID]", "(music)", "♪"), found by encoding those symbols in this
   * vocabulary: each symbol alone and after a space, kept where it is one token; the music
   * signs (U+2669..U+266F, alike in their first UTF-8 bytes) by their first token; and the
   * first tokens of " -" and " '", so those start no word; never the space token. Sorted, no
   * duplicates; on the multilingual vocabulary, the 82 ids of Whisper's list.
   *
   * @example
   * ```ts
   * import assert from "@std/assert";
   * import { WhisperTokenizer } from "./tokenizer.ts";
   * import { tinyTokenizerJson } from "./tiny_tokenizer.ts";
   * import { orThrow } from "../result.ts";
   * const tok = orThrow(WhisperTokenizer.fromJson(tinyTokenizerJson()));
   * const ids = tok.nonSpeechTokens();
   * assert.ok(ids.includes(tok.encode("[")[0]));
   * assert.ok(!ids.includes(tok.encode(",")[0]));
   * ```
   */
  nonSpeechTokens(): number[] {
    const symbols = [
      ...'"#()*+/:;<=>@[\\]^_`{|}~「」『』',
      ..."<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(" "),
    ];
    const music = [..."♩♪♫♬♭♮♯"];
    const out = new Set([this.encode(" -")[0], this.encode(" '")[0]]);
    for (const symbol of [...symbols, ...music]) {
      for (const ids of [this.encode(symbol), this.encode(` ${symbol}`)]) {
        if (ids.length === 1 || music.includes(symbol)) out.add(ids[0]);
      }
    }
    // In a small vocabulary " -" or " ♪" starts with the bare space token, which must stay.
    out.delete(this.spaceToken);
    return [...out].sort((a, b) => a - b);
  }
}

/** Finds the special tokens and checks they sit where Whisper puts them. */
function findSpecials(hf: Tokenizer, where: string): Either<TokenizerError, SpecialTokens> {
  const idOf = (name: string) => hf.token_to_id(`<|${name}|>`);
  const problems: string[] = [];
  // Each token must be present and follow the one before it.
  const expect = (names: string[], at: number | undefined): number | undefined => {
    const id = names.map(idOf).find((i) => i !== undefined);
    const shown = names.map((n) => `<|${n}|>`).join(" or ");
    if (id === undefined) problems.push(`has no added token ${shown}`);
    else if (at !== undefined && id !== at) problems.push(`has ${shown} at ${id}, not ${at}`);
    return id ?? at;
  };
  const eot = expect(["endoftext"], undefined);
  const sotId = expect(["startoftranscript"], eot === undefined ? undefined : eot + 1);
  const languages: Record<string, number> = {};
  let next = sotId === undefined ? undefined : sotId + 1;
  for (const code of LANGUAGE_CODES) {
    // Cantonese is optional: only large-v3's vocabulary has it.
    if (code === "yue" && idOf(code) === undefined) break;
    // Early Whisper vocabularies (and conversions of them) spell Hebrew with its old code.
    const id = expect(code === "he" ? [code, "iw"] : [code], next);
    if (id !== undefined) languages[code] = id;
    next = id === undefined ? undefined : id + 1;
  }
  const task: Record<string, number | undefined> = {};
  for (const name of TASKS) {
    task[name] = expect(name === "nospeech" ? [name, "nocaptions"] : [name], next);
    next = task[name] === undefined ? undefined : task[name]! + 1;
  }
  const zero = idOf("0.00");
  if (zero !== undefined && next !== undefined && zero !== next) {
    problems.push(`has <|0.00|> at ${zero}, not ${next}`);
  }
  if (problems.length > 0 || eot === undefined || sotId === undefined || next === undefined) {
    return E.left(tokenizerError(
      `${where} is not a Whisper tokenizer: it ${problems.slice(0, 4).join("; ")}` +
        (problems.length > 4 ? ` (+${problems.length - 4} more)` : "") +
        ". Use the tokenizer.json of the Whisper model (Hugging Face openai/whisper-*).",
    ));
  }
  return E.right({
    eot,
    sot: sotId,
    translate: task.translate!,
    transcribe: task.transcribe!,
    startoflm: task.startoflm!,
    startofprev: task.startofprev!,
    nospeech: task.nospeech!,
    notimestamps: task.notimestamps!,
    timestampBegin: next,
    languages,
  });
}

/**
 * Reads `dir`/tokenizer.json into a {@link WhisperTokenizer}; pass the model's vocab_size
 * (and, for tiny test vocabularies, multilingual) from its config.json.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadTokenizer } from "./tokenizer.ts";
 * const dir = await Deno.makeTempDir();
 * const result = await loadTokenizer(dir)();
 * assert.ok(result._tag === "Left" && result.left.message.includes("tokenizer.json"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function loadTokenizer(
  dir: string,
  options: Omit<TokenizerOptions, "source"> = {},
): TaskEither<TokenizerError, WhisperTokenizer> {
  const path = `${dir}/tokenizer.json`;
  const read = TE.tryCatch(
    () => Deno.readTextFile(path),
    (e) =>
      tokenizerError(
        e instanceof Deno.errors.NotFound
          ? `${dir} has no tokenizer.json; copy the one of the Whisper model (Hugging Face ` +
            "openai/whisper-*) into it"
          : `cannot read ${path}: ${messageOf(e)}`,
      ),
  );
  return F.pipe(
    read,
    TE.chainEitherK((text) => WhisperTokenizer.fromJson(text, { ...options, source: path })),
  );
}

/**
 * The tokenizer of a model (its tokenizer.json), multilingual as generation_config.json says
 * (or by vocabulary size when it does not).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { whisperModel } from "./runtime.ts";
 * import { modelTokenizer } from "./tokenizer.ts";
 * const tok = modelTokenizer(whisperModel(tinyRandomWhisper()));
 * assert.ok(tok._tag === "Right" && tok.right.multilingual);
 * ```
 */
export function modelTokenizer(model: WhisperModel): Either<TokenizerError, WhisperTokenizer> {
  // Parsing a real tokenizer.json took 241 ms here (base); once per model is enough.
  const known = tokenizers.get(model);
  if (known) return E.right(known);
  if (model.tokenizerJson === undefined) {
    return E.left(tokenizerError(
      "the model folder has no tokenizer.json; copy the tokenizer.json of the same Whisper " +
        "model into it (every Hugging Face Whisper repository has one)",
    ));
  }
  const flag = model.generationConfig?.is_multilingual;
  const made = WhisperTokenizer.fromJson(model.tokenizerJson, {
    vocabSize: model.config.vocabSize,
    multilingual: typeof flag === "boolean" ? flag : isMultilingual(model.config),
  });
  if (E.isRight(made)) tokenizers.set(model, made.right);
  return made;
}

/** Tokenizers parsed by {@link modelTokenizer}, once per model. */
const tokenizers = new WeakMap<WhisperModel, WhisperTokenizer>();
