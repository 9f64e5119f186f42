/**
 * The prior cache on disk: a folder of safetensors shards (one tensor [frames, dModel] per
 * sentence, named by its key) and a manifest.jsonl of what each shard holds. Keys hash
 * (Whisper model, text, language, voice, eSpeak version, and the speaking rate where it is not
 * eSpeak's default), so a change to any of them makes new entries rather than reusing stale ones.
 * A folder holds one speaking rate: readers look entries up by text. A shard is written atomically before the manifest
 * that names it (also atomic): a kill at any point loses at most the shard in flight.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
import { loadSafetensors, saveSafetensors } from "../graph/safetensors.ts";
import { writeFileAtomic } from "../io.ts";
import type { WhisperModel } from "../whisper/runtime.ts";
import { ESPEAK_VERSION, speak } from "./espeak.ts";
import { encodeSpeech } from "./prior.ts";
import { espeakVoice } from "./voices.ts";

/** One cached sentence. */
export interface PriorEntry {
  /** Cache key (hex). */
  readonly key: string;
  /** The sentence's id in its dataset. */
  readonly id: string;
  /** The text spoken. */
  readonly text: string;
  /** Whisper language code. */
  readonly lang: string;
  /** eSpeak NG voice. */
  readonly voice: string;
  /** Speaking rate in words per minute, where it is not eSpeak's default (175). */
  readonly wpm?: number;
  /** Duration of the rendering. */
  readonly seconds: number;
  /** Encoder frames kept (the speech). */
  readonly frames: number;
  /** Shard file name. */
  readonly shard: string;
}

/** A sentence to render. */
export interface PriorSentence {
  /** Id (carried into the manifest). */
  readonly id: string;
  /** Text. */
  readonly text: string;
  /** Whisper language code. */
  readonly lang: string;
}

/** Why a cache could not be read or built. */
export interface PriorCacheError {
  /** Discriminant. */
  readonly _tag: "PriorCacheError";
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** eSpeak NG's default speaking rate (words per minute). */
const DEFAULT_WPM = 175;

const cacheError = (message: string): PriorCacheError => ({ _tag: "PriorCacheError", message });

/**
 * The cache key of a sentence rendered for a model (SHA-256, hex).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { priorKey } from "./cache.ts";
 * const a = await priorKey({ model: "base", text: "Hi.", lang: "en", voice: "en-us" });
 * assert.equal(a.length, 64);
 * assert.notEqual(a, await priorKey({ model: "tiny", text: "Hi.", lang: "en", voice: "en-us" }));
 * assert.notEqual(a, await priorKey({ model: "base", text: "Hi.", lang: "en", voice: "en-us", wpm: 130 }));
 * assert.equal(a, await priorKey({ model: "base", text: "Hi.", lang: "en", voice: "en-us", wpm: 175 }));
 * ```
 */
export async function priorKey(
  item: { model: string; text: string; lang: string; voice: string; wpm?: number },
): Promise<string> {
  // The default rate keeps the key it had before rates existed, so old caches stay valid.
  const rate = item.wpm === undefined || item.wpm === DEFAULT_WPM ? [] : [item.wpm];
  const text = JSON.stringify([
    item.model,
    item.text,
    item.lang,
    item.voice,
    ESPEAK_VERSION,
    ...rate,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a cache's manifest (an empty list when the folder has none yet).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { readManifest } from "./cache.ts";
 * const entries = await readManifest(await Deno.makeTempDir())();
 * assert.deepEqual(entries, { _tag: "Right", right: [] });
 * ```
 */
export function readManifest(dir: string): TaskEither<PriorCacheError, PriorEntry[]> {
  return async () => {
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/manifest.jsonl`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return E.right([]);
      return E.left(cacheError(`cannot read ${dir}/manifest.jsonl: ${String(e)}`));
    }
    const out: PriorEntry[] = [];
    for (const [i, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        return E.left(cacheError(
          `${dir}/manifest.jsonl:${i + 1} is not JSON; delete the folder to rebuild the cache`,
        ));
      }
    }
    return E.right(out);
  };
}

/** What a build did. */
export interface BuildReport {
  /** Entries rendered and encoded in this build. */
  readonly built: number;
  /** Entries found in the cache already. */
  readonly cached: number;
  /** Sentences eSpeak NG could not speak, with the reason. */
  readonly failed: readonly { readonly id: string; readonly message: string }[];
  /** The manifest after the build. */
  readonly entries: readonly PriorEntry[];
  /** Wall seconds spent rendering with eSpeak NG and encoding with Whisper. */
  readonly seconds: { readonly render: number; readonly encode: number };
}

/** Options of {@link buildPriorCache}. */
export interface BuildOptions {
  /** The cache folder. */
  readonly dir: string;
  /** The Whisper model's name (part of every key). */
  readonly modelName: string;
  /** Sentences per shard (default 32). */
  readonly shardSize?: number;
  /** Sentences per encoder batch (default 4). */
  readonly batch?: number;
  /** eSpeak NG's speaking rate in words per minute (default 175, eSpeak's own). */
  readonly wpm?: number;
  /** Called after each shard with (done, total) over the sentences still to build. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Renders, encodes and stores every sentence not in the cache yet; resumable (a rerun skips
 * what is stored; a kill loses at most the shard in flight).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { whisperModel } from "../whisper/runtime.ts";
 * import { tinyRandomWhisper } from "../whisper/tiny_random.ts";
 * import { buildPriorCache } from "./cache.ts";
 * const model = whisperModel(tinyRandomWhisper(), { threads: 1 });
 * const dir = await Deno.makeTempDir();
 * const sentences = [{ id: "a", text: "Hello there.", lang: "en" }, { id: "b", text: "Hallo.", lang: "br" }];
 * const report = await orThrow(buildPriorCache(model, sentences, { dir, modelName: "tiny-random" }));
 * assert.equal(report.built, 1);
 * assert.ok(report.failed[0].id === "b" && /Breton/i.test(report.failed[0].message));
 * const again = await orThrow(buildPriorCache(model, sentences, { dir, modelName: "tiny-random" }));
 * assert.equal(again.cached, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function buildPriorCache(
  model: WhisperModel,
  sentences: readonly PriorSentence[],
  options: BuildOptions,
): TaskEither<PriorCacheError, BuildReport> {
  return async () => {
    const { dir, modelName, shardSize = 32, batch = 4 } = options;
    const wpm = options.wpm ?? DEFAULT_WPM;
    await Deno.mkdir(dir, { recursive: true });
    const manifest = await readManifest(dir)();
    if (E.isLeft(manifest)) return manifest;
    const entries = [...manifest.right];
    const other = entries.find((e) => (e.wpm ?? DEFAULT_WPM) !== wpm);
    if (other) {
      return E.left(cacheError(
        `${dir} holds renderings at ${other.wpm ?? DEFAULT_WPM} words per minute, not ${wpm}: ` +
          `readers find entries by text, so one folder keeps one rate; use another folder`,
      ));
    }
    const have = new Set(entries.map((e) => e.key));
    const failed: { id: string; message: string }[] = [];
    const todo: (PriorSentence & { key: string; voice: string })[] = [];
    let cached = 0, built = 0, render = 0, encode = 0;
    const queued = new Set<string>();
    for (const s of sentences) {
      const voice = espeakVoice(s.lang);
      if (E.isLeft(voice)) {
        failed.push({ id: s.id, message: voice.left.message });
        continue;
      }
      const key = await priorKey({
        model: modelName,
        text: s.text,
        lang: s.lang,
        voice: voice.right,
        wpm,
      });
      if (have.has(key)) cached++;
      else if (!queued.has(key)) {
        queued.add(key);
        todo.push({ ...s, key, voice: voice.right });
      }
    }
    let shardIndex = new Set(entries.map((e) => e.shard)).size;
    for (let start = 0; start < todo.length; start += shardSize) {
      const chunk = todo.slice(start, start + shardSize);
      const shard = `shard-${String(shardIndex++).padStart(5, "0")}.safetensors`;
      const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
      const made: PriorEntry[] = [];
      for (let b = 0; b < chunk.length; b += batch) {
        const group = [];
        for (const s of chunk.slice(b, b + batch)) {
          const t0 = performance.now();
          const speech = await speak(s.text, { voice: s.voice, wpm })();
          render += (performance.now() - t0) / 1000;
          if (E.isLeft(speech)) failed.push({ id: s.id, message: speech.left.message });
          else if (speech.right.seconds > 30) {
            failed.push({
              id: s.id,
              message: `${
                speech.right.seconds.toFixed(1)
              } s of speech: over Whisper's 30-s window; split the sentence`,
            });
          } else group.push({ s, speech: speech.right });
        }
        if (group.length === 0) continue;
        const t0 = performance.now();
        const states = await encodeSpeech(model, group.map((g) => g.speech))();
        encode += (performance.now() - t0) / 1000;
        if (E.isLeft(states)) return E.left(cacheError(states.left.message));
        group.forEach(({ s, speech }, i) => {
          const frames = states.right[i].length / model.config.dModel;
          tensors[s.key] = {
            dtype: "F32",
            shape: [frames, model.config.dModel],
            data: states.right[i],
          };
          made.push({
            key: s.key,
            id: s.id,
            text: s.text,
            lang: s.lang,
            voice: speech.voice,
            ...(wpm === DEFAULT_WPM ? {} : { wpm }),
            seconds: speech.seconds,
            frames,
            shard,
          });
        });
      }
      if (made.length > 0) {
        const saved = await saveSafetensors(`${dir}/${shard}`, tensors, {
          metadata: { model: modelName, espeak: ESPEAK_VERSION },
        })();
        if (E.isLeft(saved)) return E.left(cacheError(saved.left.message));
        entries.push(...made);
        built += made.length;
        const text = entries.map((e) => JSON.stringify(e)).join("\n") + "\n";
        await writeFileAtomic(`${dir}/manifest.jsonl`, new TextEncoder().encode(text));
      }
      options.onProgress?.(Math.min(start + shardSize, todo.length), todo.length);
    }
    return E.right({ built, cached, failed, entries, seconds: { render, encode } });
  };
}

/**
 * Loads the states of cache entries (each [frames, dModel]), reading each shard once.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadPriorStates } from "./cache.ts";
 * const none = await loadPriorStates("/no/such/dir", [])();
 * assert.ok(none._tag === "Right" && none.right.size === 0);
 * ```
 */
export function loadPriorStates(
  dir: string,
  entries: readonly PriorEntry[],
): TaskEither<PriorCacheError, Map<string, Float32Array>> {
  return async () => {
    const out = new Map<string, Float32Array>();
    for (const shard of new Set(entries.map((e) => e.shard))) {
      const file = await loadSafetensors(`${dir}/${shard}`)();
      if (E.isLeft(file)) {
        return E.left(cacheError(`${file.left.message}; rerun deno task prior to rebuild it`));
      }
      for (const e of entries) {
        if (e.shard !== shard) continue;
        const t = file.right.tensors[e.key];
        if (!t) return E.left(cacheError(`${dir}/${shard} lacks ${e.key} (${e.id})`));
        out.set(e.key, t.data as Float32Array);
      }
    }
    return E.right(out);
  };
}
