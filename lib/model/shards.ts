/**
 * The on-disk layout of generated data (`deno task generate`): a folder holding
 * `generation.json` (the settings every shard was made with) and, per shard k,
 * `shard-<k>.safetensors` (tensors `states/<id>`, [frames, width], F32 or F16) and
 * `shard-<k>.jsonl` (its manifest: one {@link ManifestRecord} per sentence, in corpus order).
 *
 * Shard k holds the corpus's records k·size to (k+1)·size − 1, so shards are the same whatever
 * the number of workers. Each file is written atomically (temporary file, then rename), states
 * first and manifest last: a shard is finished exactly when its manifest exists, and a worker
 * killed mid-shard leaves at most a states file without a manifest (or a hidden temporary file),
 * which a rerun replaces.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
import { join } from "node:path";
import {
  encodeSafetensors,
  loadSafetensors,
  type StTensor,
  toFloat16,
  toFloat32,
} from "../graph/safetensors.ts";
import { pathExists, writeFileAtomic } from "../io.ts";
import { type SettingDifference, settingDifferences } from "./differences.ts";

/** The `format` of generation.json and of every shard's metadata. */
export const GENERATED_FORMAT = "flowt2s-generated/1";

/** The name of the settings file in an output folder. */
export const GENERATION_CONFIG = "generation.json";

/** One sentence of a shard's manifest (`shard-<k>.jsonl`, one JSON object per line). */
export interface ManifestRecord {
  /** The sentence's id in the corpus (`<file>:<line>`, or a .jsonl record's `id`). */
  readonly id: string;
  /** The text. */
  readonly text: string;
  /** Its Whisper language code. */
  readonly lang: string;
  /** Frames of states (50 per second). */
  readonly frames: number;
  /** The shard that holds it. */
  readonly shard: number;
  /** Its tensor in the shard's safetensors file: `states/<id>`. */
  readonly key: string;
  /** Byte offset of that tensor's data from the start of the safetensors file. */
  readonly offset: number;
  /** Its line in the corpus file. */
  readonly line: number;
  /** With `--decode`: what the frozen decoder reads back. */
  readonly decoded?: string;
  /** With `--decode`: character error rate of the read-back against the text. */
  readonly cer?: number;
  /** With `--decode`: the read-back tripped Whisper's loop guards. */
  readonly looped?: boolean;
}

/** One sentence to write into a shard. */
export interface ShardEntry {
  /** Corpus id. */
  readonly id: string;
  /** Text. */
  readonly text: string;
  /** Whisper language code. */
  readonly lang: string;
  /** Line in the corpus. */
  readonly line: number;
  /** States [frames, width]. */
  readonly states: Float32Array;
  /** Read-back, when decoded. */
  readonly decoded?: string;
  /** CER of the read-back, when decoded. */
  readonly cer?: number;
  /** Loop flag of the read-back, when decoded. */
  readonly looped?: boolean;
}

/** Why a shard or a folder's settings could not be written or read. */
export interface ShardError {
  /** Discriminant. */
  readonly _tag: "ShardError";
  /** What went wrong, naming the file, and what to do. */
  readonly message: string;
  /** For settings that differ from the folder's: each setting, as saved and as asked now. */
  readonly differences?: readonly SettingDifference[];
}

const shardError = (
  message: string,
  differences?: ShardError["differences"],
): ShardError => ({ _tag: "ShardError", message, differences });
const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e);

/**
 * The two files of shard `shard` in `dir` (zero-padded to 5 digits, so they sort in order).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { shardPaths } from "./shards.ts";
 * assert.deepEqual(shardPaths("out", 3), {
 *   states: "out/shard-00003.safetensors", manifest: "out/shard-00003.jsonl" });
 * ```
 */
export function shardPaths(dir: string, shard: number): { states: string; manifest: string } {
  const name = `shard-${String(shard).padStart(5, "0")}`;
  return { states: join(dir, `${name}.safetensors`), manifest: join(dir, `${name}.jsonl`) };
}

/**
 * Whether shard `shard` of `dir` is finished: its manifest, written after its states, exists.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { shardDone } from "./shards.ts";
 * assert.equal(await shardDone(await Deno.makeTempDir(), 0), false);
 * ```
 */
export async function shardDone(dir: string, shard: number): Promise<boolean> {
  const { states, manifest } = shardPaths(dir, shard);
  return await pathExists(manifest) && await pathExists(states);
}

/**
 * Removes what a killed worker left of the shards `owns` picks: hidden temporary files of an
 * unfinished atomic write, and a states file without its manifest. Other workers' shards are
 * left alone (they may be writing them now). Returns the shards it cleaned.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { removePartialShards, shardPaths } from "./shards.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(shardPaths(dir, 2).states, "half");
 * assert.deepEqual(await removePartialShards(dir, (k) => k === 2), [2]);
 * ```
 */
export async function removePartialShards(
  dir: string,
  owns: (shard: number) => boolean,
): Promise<number[]> {
  const cleaned = new Set<number>();
  const pattern = /^\.?shard-(\d+)\.(safetensors|jsonl)(\..*\.tmp)?$/;
  for await (const entry of Deno.readDir(dir)) {
    const m = pattern.exec(entry.name);
    if (!m || !owns(Number(m[1]))) continue;
    const shard = Number(m[1]), temporary = m[3] !== undefined;
    if (temporary || (m[2] === "safetensors" && !await shardDone(dir, shard))) {
      await Deno.remove(join(dir, entry.name));
      cleaned.add(shard);
    }
  }
  return [...cleaned].sort((a, b) => a - b);
}

/** Byte offset of each tensor's data from the start of safetensors `bytes`. */
const dataOffsets = (bytes: Uint8Array): Record<string, number> => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return Object.fromEntries(
    Object.entries(header).flatMap(([name, entry]) =>
      name === "__metadata__"
        ? []
        : [[name, 8 + n + (entry as { data_offsets: number[] }).data_offsets[0]]]
    ),
  );
};

/**
 * Writes shard `shard` into `dir`: its states (F32, or F16 with `float16`) under
 * `states/<id>`, then its manifest, each atomically, so the shard is finished once the call
 * succeeds and absent (or partial, see {@link removePartialShards}) otherwise. `metadata` goes
 * into the safetensors header beside `format` and `shard`. Fails naming a repeated id, states
 * that are not whole frames of `width`, or the file that could not be written.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { loadShard, writeShard } from "./shards.ts";
 * const dir = await Deno.makeTempDir();
 * const states = new Float32Array([1, 2, 3, 4, 5, 6]);
 * const manifest = await orThrow(writeShard(dir, 0, [
 *   { id: "a.txt:1", text: "Hi.", lang: "en", line: 1, states },
 * ], { width: 2 }));
 * assert.deepEqual([manifest[0].frames, manifest[0].key], [3, "states/a.txt:1"]);
 * const back = await orThrow(loadShard(dir, 0));
 * assert.deepEqual(back.states.get("a.txt:1"), states);
 * ```
 */
export function writeShard(
  dir: string,
  shard: number,
  entries: readonly ShardEntry[],
  options: { width: number; float16?: boolean; metadata?: Record<string, string> },
): TaskEither<ShardError, ManifestRecord[]> {
  const { width } = options;
  const paths = shardPaths(dir, shard);
  const tensors: Record<string, StTensor> = {};
  for (const e of entries) {
    const key = `states/${e.id}`;
    if (key in tensors) {
      return TE.left(shardError(`shard ${shard}: id "${e.id}" occurs twice; ids must be unique`));
    }
    if (e.states.length === 0 || e.states.length % width !== 0) {
      return TE.left(shardError(
        `shard ${shard}, id "${e.id}": ${e.states.length} values are not whole frames of ${width}`,
      ));
    }
    const shape = [e.states.length / width, width];
    tensors[key] = options.float16
      ? { dtype: "F16", shape, data: toFloat16(e.states) }
      : { dtype: "F32", shape, data: e.states };
  }
  return TE.tryCatch(
    async () => {
      const bytes = encodeSafetensors(tensors, {
        metadata: { ...options.metadata, format: GENERATED_FORMAT, shard: String(shard) },
      });
      const offsets = dataOffsets(bytes);
      const records: ManifestRecord[] = entries.map((e) => {
        const key = `states/${e.id}`;
        const decoded = e.decoded === undefined
          ? {}
          : { decoded: e.decoded, cer: e.cer, looped: e.looped };
        return {
          id: e.id,
          text: e.text,
          lang: e.lang,
          frames: e.states.length / width,
          shard,
          key,
          offset: offsets[key],
          line: e.line,
          ...decoded,
        };
      });
      await writeFileAtomic(paths.states, bytes);
      const lines = records.map((r) => JSON.stringify(r) + "\n").join("");
      await writeFileAtomic(paths.manifest, new TextEncoder().encode(lines));
      return records;
    },
    (e) => shardError(`cannot write shard ${shard} in ${dir}: ${messageOf(e)}`),
  );
}

/**
 * Reads a finished shard: its manifest records and each sentence's states as float32 (F16
 * shards are widened exactly). Fails naming the file that is missing or unreadable.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadShard } from "./shards.ts";
 * const missing = await loadShard(await Deno.makeTempDir(), 4)();
 * assert.ok(missing._tag === "Left" && /shard-00004.jsonl/.test(missing.left.message));
 * ```
 */
export function loadShard(
  dir: string,
  shard: number,
): TaskEither<ShardError, { records: ManifestRecord[]; states: Map<string, Float32Array> }> {
  const paths = shardPaths(dir, shard);
  return TE.tryCatch(
    async () => {
      let text: string;
      try {
        text = await Deno.readTextFile(paths.manifest);
      } catch (e) {
        throw new Error(`cannot read ${paths.manifest} (${messageOf(e)}); is the shard finished?`);
      }
      const records = text.split("\n").filter((l) => l.trim() !== "").map((l) =>
        JSON.parse(l) as ManifestRecord
      );
      const file = await loadSafetensors(paths.states)();
      if (E.isLeft(file)) throw new Error(file.left.message);
      const states = new Map<string, Float32Array>();
      for (const r of records) {
        const t = file.right.tensors[r.key];
        if (!t) throw new Error(`${paths.states} has no tensor "${r.key}" for id "${r.id}"`);
        states.set(r.id, toFloat32(t));
      }
      return { records, states };
    },
    (e) => shardError(messageOf(e)),
  );
}

/**
 * Makes `dir` hold generated data made with `settings`: writes `generation.json` (with
 * `format` and the settings, plus `notes` that are not compared, such as paths) when the folder
 * has none, and otherwise checks that it was made with the same settings. Fails with the
 * differing settings named (and listed in `differences`), or a file that is not this format.
 * Workers of one array job call it at once safely: the write is atomic and they agree.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { settleGeneration } from "./shards.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await orThrow(settleGeneration(dir, { seed: 0 })), "written");
 * assert.equal(await orThrow(settleGeneration(dir, { seed: 0 }, { notes: { a: 1 } })), "matched");
 * const other = await settleGeneration(dir, { seed: 1 })();
 * assert.ok(other._tag === "Left" && /seed: 0 there, 1 now/.test(other.left.message));
 * ```
 */
export function settleGeneration(
  dir: string,
  settings: Readonly<Record<string, unknown>>,
  options: { notes?: Readonly<Record<string, unknown>> } = {},
): TaskEither<ShardError, "written" | "matched"> {
  const path = join(dir, GENERATION_CONFIG);
  return TE.tryCatch(
    async () => {
      let saved: Record<string, unknown> | undefined;
      try {
        saved = JSON.parse(await Deno.readTextFile(path));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          throw shardError(
            `${path} is not readable JSON (${messageOf(e)}); remove it or use another folder`,
          );
        }
      }
      if (saved === undefined) {
        const json = JSON.stringify(
          { format: GENERATED_FORMAT, settings, notes: options.notes ?? {} },
          null,
          2,
        );
        await writeFileAtomic(path, new TextEncoder().encode(json + "\n"));
        return "written" as const;
      }
      if (saved.format !== GENERATED_FORMAT || typeof saved.settings !== "object") {
        throw shardError(
          `${path} is not a generation config (format ${JSON.stringify(saved.format)}, ` +
            `expected ${GENERATED_FORMAT}); write to another folder`,
        );
      }
      const differences = settingDifferences(saved.settings as Record<string, unknown>, settings);
      if (differences.length > 0) {
        const listed = differences.map((d) =>
          `${d.key}: ${JSON.stringify(d.was)} there, ${JSON.stringify(d.now)} now`
        );
        throw shardError(
          `${dir} was generated with other settings (${listed.join("; ")}); rerun with the ` +
            "same settings to continue it, or write to another folder",
          differences,
        );
      }
      return "matched" as const;
    },
    (e) =>
      (e as ShardError)?._tag === "ShardError"
        ? e as ShardError
        : shardError(`cannot settle ${path}: ${messageOf(e)}`),
  );
}

/**
 * A worker's part of the shards, `--shard i/n`: shards k with k mod n = i (0 <= i < n).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseShardSpec } from "./shards.ts";
 * assert.deepEqual(parseShardSpec("2/8"), { _tag: "Right", right: { index: 2, count: 8 } });
 * const bad = parseShardSpec("8/8");
 * assert.ok(bad._tag === "Left" && /0 <= i < n/.test(bad.left.message));
 * ```
 */
export function parseShardSpec(spec: string): Either<ShardError, { index: number; count: number }> {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    return E.left(shardError(
      `'${spec}' is not a worker's part: write i/n with 0 <= i < n, such as 0/4 ` +
        "(the worker's index and the number of workers)",
    ));
  }
  return E.right({ index, count });
}
