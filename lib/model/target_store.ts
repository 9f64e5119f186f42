/**
 * The target store of training runs: a folder of cached targets kept out of checkpoints, so a
 * checkpoint stays the size of the model however many targets the run has made. It holds
 *
 * - `store.json`: the format, the target identity (everything the targets depend on; a run
 *   with another identity is refused, the differing settings named) and notes (not compared);
 * - per shard, `shard-<seq>-<tag>.safetensors` (tensors `targets/<id>` [frames, width] and, for
 *   recipes that keep it, `noise/<id>`) and then `shard-<seq>-<tag>.jsonl`, its manifest (one
 *   {@link TargetRecord} per target). The manifests are the store's index.
 *
 * Shards are immutable: appending writes a new shard (states first, manifest last, each
 * atomically), and a shard counts once its manifest exists. A writer killed mid-append leaves at
 * most a hidden temporary file or a states file without a manifest, which readers ignore; the
 * store stays usable. Each target has a key (the run's hash of what the target depends on
 * sentence by sentence: id, text, language, frames, its start states); readers take a key's
 * oldest entry, or with a step the newest entry made at that step (targets remade from the
 * model). Several runs may append to one store at once; {@link collectTargets} (used for
 * remade targets, in a store of one run) must run with no other writer.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E, taskEither as TE } from "../deps/fp_ts.ts";
import { join } from "node:path";
import { encodeSafetensors, loadSafetensors, type StTensor } from "../graph/safetensors.ts";
import { writeFileAtomic } from "../io.ts";
import { type SettingDifference, settingDifferences } from "./differences.ts";

/** The `format` of store.json and of every shard's metadata. */
export const TARGET_STORE_FORMAT = "flowt2s-targets/1";

/** The name of the identity file in a store folder. */
export const TARGET_STORE_FILE = "store.json";

/** Most bytes of states in one shard written by one append (larger appends are split). */
const SHARD_BYTES = 64 * 2 ** 20;

/** One target in a shard's manifest (`shard-<seq>-<tag>.jsonl`, one JSON object per line). */
export interface TargetRecord {
  /** The sentence's id in its run (the tensors are `targets/<id>` and `noise/<id>`). */
  readonly id: string;
  /** What the target depends on, hashed by the run: the lookup key. */
  readonly key: string;
  /** The step of the run that made it. */
  readonly step: number;
  /** Frames of its states. */
  readonly frames: number;
  /** Whether the shard also holds the noise it was made from (`noise/<id>`). */
  readonly noise: boolean;
  /** The shard that holds it (file name without extension). */
  readonly shard: string;
}

/** A target to append. */
export interface NewTarget {
  /** The sentence's id (unique within one append). */
  readonly id: string;
  /** Its key (see {@link TargetRecord.key}). */
  readonly key: string;
  /** The step that made it. */
  readonly step: number;
  /** States [frames, width]. */
  readonly states: Float32Array;
  /** The noise [frames, width] it was made from, when kept. */
  readonly noise?: Float32Array;
}

/** A target read back from a store. */
export interface StoredTarget {
  /** States [frames, width]. */
  readonly states: Float32Array;
  /** The step that made it. */
  readonly step: number;
  /** Its noise, when the shard holds it. */
  readonly noise?: Float32Array;
}

/** What a {@link TargetStore} knows of its folder: the manifests read so far, by key. */
export interface TargetIndex {
  /** Records by key, oldest shard first. */
  readonly records: Map<string, TargetRecord[]>;
  /** Manifests (shard names) already read. */
  readonly shards: Set<string>;
}

/** An open store: its folder, its identity, and what is known of its contents. */
export interface TargetStore {
  /** The folder. */
  readonly dir: string;
  /** What the targets depend on (compared with store.json; written there by the first append). */
  readonly identity: Readonly<Record<string, unknown>>;
  /** Notes written into store.json beside the identity, never compared (model names, paths). */
  readonly notes: Readonly<Record<string, unknown>>;
  /** The index, refreshed from the folder when a lookup misses (other runs may append). */
  readonly index: TargetIndex;
}

/** Why a store could not be opened, read or written. */
export interface TargetStoreError {
  /** Discriminant. */
  readonly _tag: "TargetStoreError";
  /** What went wrong, naming the folder or file, and what to do. */
  readonly message: string;
  /** For a store made with another identity: each setting, as there and as now. */
  readonly differences?: readonly SettingDifference[];
}

const storeError = (
  message: string,
  differences?: TargetStoreError["differences"],
): TargetStoreError => ({ _tag: "TargetStoreError", message, differences });
const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e);
const asStoreError = (e: unknown, what: string): TargetStoreError =>
  (e as TargetStoreError)?._tag === "TargetStoreError"
    ? e as TargetStoreError
    : storeError(`${what}: ${messageOf(e)}`);

const SHARD = /^shard-(\d+)-([0-9a-f]+)\.(safetensors|jsonl)$/;

/** store.json's identity, or undefined when the folder has none yet. */
async function savedIdentity(dir: string): Promise<Record<string, unknown> | undefined> {
  const path = join(dir, TARGET_STORE_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw storeError(`cannot read ${path}: ${messageOf(e)}`);
  }
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw storeError(`${path} is not JSON (${messageOf(e)}); remove the folder or use another`);
  }
  if (saved.format !== TARGET_STORE_FORMAT || typeof saved.identity !== "object") {
    throw storeError(
      `${path} is not a target store (format ${JSON.stringify(saved.format)}, expected ` +
        `${TARGET_STORE_FORMAT}); use another folder`,
    );
  }
  return saved.identity as Record<string, unknown>;
}

/** Fails naming each setting when `saved` differs from `identity`. */
function checkIdentity(
  dir: string,
  saved: Readonly<Record<string, unknown>>,
  identity: Readonly<Record<string, unknown>>,
): void {
  const differences = settingDifferences(saved, identity);
  if (differences.length === 0) return;
  const listed = differences.map((d) =>
    `${d.key}: ${JSON.stringify(d.was) ?? "(unset)"} there, ${
      JSON.stringify(d.now) ?? "(unset)"
    } now`
  );
  throw storeError(
    `target store ${dir} holds targets made with other settings (${listed.join("; ")}); ` +
      "use the same settings, or another store folder",
    differences,
  );
}

/** Reads the manifests of `dir` not read yet into the index. */
async function refreshIndex(store: TargetStore): Promise<void> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(store.dir)) {
      const m = SHARD.exec(entry.name);
      if (m && m[3] === "jsonl" && !store.index.shards.has(entry.name.slice(0, -6))) {
        names.push(entry.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const name of names.sort()) {
    const shard = name.slice(0, -6);
    const text = await Deno.readTextFile(join(store.dir, name));
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const r = JSON.parse(line) as Omit<TargetRecord, "shard">;
      const list = store.index.records.get(r.key) ?? [];
      list.push({ ...r, shard });
      list.sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
      store.index.records.set(r.key, list);
    }
    store.index.shards.add(shard);
  }
}

/**
 * Opens the store in `dir` for targets with `identity`: a folder with a store.json made with
 * another identity is refused (the message names each differing setting; `differences` lists
 * them). Nothing is written until the first {@link appendTargets}: a missing folder is an empty
 * store.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, openTargetStore } from "./target_store.ts";
 * const dir = `${await Deno.makeTempDir()}/targets`;
 * const store = await orThrow(openTargetStore(dir, { identity: { invertSteps: 20 } }));
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 0, states: new Float32Array(4) }],
 *   { width: 2 }));
 * const other = await openTargetStore(dir, { identity: { invertSteps: 10 } })();
 * assert.ok(other._tag === "Left" && /invertSteps: 20 there, 10 now/.test(other.left.message));
 * ```
 */
export function openTargetStore(
  dir: string,
  options: {
    identity: Readonly<Record<string, unknown>>;
    notes?: Readonly<Record<string, unknown>>;
  },
): TaskEither<TargetStoreError, TargetStore> {
  return TE.tryCatch(async () => {
    const saved = await savedIdentity(dir);
    if (saved) checkIdentity(dir, saved, options.identity);
    const store: TargetStore = {
      dir,
      identity: options.identity,
      notes: options.notes ?? {},
      index: { records: new Map(), shards: new Set() },
    };
    await refreshIndex(store);
    return store;
  }, (e) => asStoreError(e, `cannot open target store ${dir}`));
}

/** The next shard's name: one past the highest sequence number in the folder, and a random tag. */
async function nextShard(dir: string): Promise<string> {
  let seq = 0;
  for await (const entry of Deno.readDir(dir)) {
    const m = SHARD.exec(entry.name);
    if (m) seq = Math.max(seq, Number(m[1]) + 1);
  }
  const tag = [...crypto.getRandomValues(new Uint8Array(4))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `shard-${String(seq).padStart(6, "0")}-${tag}`;
}

/** Writes store.json when the folder has none, else checks it (another run may have made it). */
async function settle(store: TargetStore): Promise<void> {
  const saved = await savedIdentity(store.dir);
  if (saved) return checkIdentity(store.dir, saved, store.identity);
  const json = JSON.stringify(
    { format: TARGET_STORE_FORMAT, identity: store.identity, notes: store.notes },
    null,
    2,
  );
  await writeFileAtomic(join(store.dir, TARGET_STORE_FILE), new TextEncoder().encode(json + "\n"));
}

/**
 * Appends targets to the store as new shards (split above 64 MiB of states): each shard's
 * safetensors, then its manifest, atomically; store.json first when the folder has none.
 * Returns the records written. Fails naming an id given twice, states that are not whole frames
 * of `width` (or noise of another size), or the file that could not be written; a failed append
 * leaves the store as it was, but for files readers ignore.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, openTargetStore, readTargets } from "./target_store.ts";
 * const store = await orThrow(openTargetStore(await Deno.makeTempDir(), { identity: {} }));
 * const states = new Float32Array([1, 2, 3, 4]), noise = new Float32Array([5, 6, 7, 8]);
 * const written = await orThrow(appendTargets(store,
 *   [{ id: "s:1", key: "k1", step: 3, states, noise }], { width: 2 }));
 * assert.deepEqual([written[0].frames, written[0].noise], [2, true]);
 * const back = await orThrow(readTargets(store, ["k1"]));
 * assert.deepEqual(back.get("k1"), { states, noise, step: 3 });
 * ```
 */
export function appendTargets(
  store: TargetStore,
  targets: readonly NewTarget[],
  options: { width: number },
): TaskEither<TargetStoreError, TargetRecord[]> {
  const { width } = options;
  const ids = new Set<string>();
  for (const t of targets) {
    if (ids.has(t.id)) {
      return TE.left(storeError(`target "${t.id}" is given twice; append each id once`));
    }
    ids.add(t.id);
    if (t.states.length === 0 || t.states.length % width !== 0) {
      return TE.left(storeError(
        `target "${t.id}": ${t.states.length} values are not whole frames of ${width}`,
      ));
    }
    if (t.noise && t.noise.length !== t.states.length) {
      return TE.left(storeError(
        `target "${t.id}": noise of ${t.noise.length} values for states of ${t.states.length}`,
      ));
    }
  }
  if (targets.length === 0) return TE.right([]);
  return TE.tryCatch(async () => {
    await Deno.mkdir(store.dir, { recursive: true });
    await settle(store);
    const groups: NewTarget[][] = [[]];
    let bytes = 0;
    for (const t of targets) {
      const size = t.states.byteLength + (t.noise?.byteLength ?? 0);
      if (bytes + size > SHARD_BYTES && groups[groups.length - 1].length > 0) {
        groups.push([]);
        bytes = 0;
      }
      groups[groups.length - 1].push(t);
      bytes += size;
    }
    const written: TargetRecord[] = [];
    for (const group of groups) {
      const shard = await nextShard(store.dir);
      const tensors: Record<string, StTensor> = {};
      const records = group.map((t): TargetRecord => {
        const shape = [t.states.length / width, width];
        tensors[`targets/${t.id}`] = { dtype: "F32", shape, data: t.states };
        if (t.noise) tensors[`noise/${t.id}`] = { dtype: "F32", shape, data: t.noise };
        return { id: t.id, key: t.key, step: t.step, frames: shape[0], noise: !!t.noise, shard };
      });
      const encoded = encodeSafetensors(tensors, {
        metadata: { format: TARGET_STORE_FORMAT, count: String(group.length) },
      });
      await writeFileAtomic(join(store.dir, `${shard}.safetensors`), encoded);
      const lines = records.map(({ shard: _, ...r }) => JSON.stringify(r) + "\n").join("");
      await writeFileAtomic(join(store.dir, `${shard}.jsonl`), new TextEncoder().encode(lines));
      for (const r of records) {
        const list = store.index.records.get(r.key) ?? [];
        list.push(r);
        store.index.records.set(r.key, list);
      }
      store.index.shards.add(shard);
      written.push(...records);
    }
    return written;
  }, (e) => asStoreError(e, `cannot append to target store ${store.dir}`));
}

/** The record a lookup takes: a key's oldest, or the newest made at `step`. */
function pick(store: TargetStore, key: string, step?: number): TargetRecord | undefined {
  const list = store.index.records.get(key);
  if (!list) return undefined;
  return step === undefined ? list[0] : list.findLast((r) => r.step === step);
}

/**
 * Which of `keys` the store holds (with `steps`, made at that key's step), reading manifests
 * other writers have added since the store was opened.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, hasTargets, openTargetStore } from "./target_store.ts";
 * const store = await orThrow(openTargetStore(await Deno.makeTempDir(), { identity: {} }));
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 2, states: new Float32Array(2) }],
 *   { width: 2 }));
 * assert.deepEqual([...await orThrow(hasTargets(store, ["k", "j"]))], ["k"]);
 * const steps = new Map([["k", 5]]);
 * assert.equal((await orThrow(hasTargets(store, ["k"], { steps }))).size, 0);
 * ```
 */
export function hasTargets(
  store: TargetStore,
  keys: readonly string[],
  options: { steps?: ReadonlyMap<string, number> } = {},
): TaskEither<TargetStoreError, Set<string>> {
  return TE.tryCatch(async () => {
    const found = () => keys.filter((k) => pick(store, k, options.steps?.get(k)) !== undefined);
    if (found().length < keys.length) await refreshIndex(store);
    return new Set(found());
  }, (e) => asStoreError(e, `cannot read target store ${store.dir}`));
}

/**
 * Reads the targets of `keys` that the store holds (with `steps`, the one made at that key's
 * step): states, noise when kept, and the step that made each. Keys the store lacks are left out
 * of the map. Fails naming a shard that cannot be read or lacks a tensor its manifest lists.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, openTargetStore, readTargets } from "./target_store.ts";
 * const store = await orThrow(openTargetStore(await Deno.makeTempDir(), { identity: {} }));
 * const one = new Float32Array([1, 1]), two = new Float32Array([2, 2]);
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 0, states: one }], { width: 2 }));
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 4, states: two }], { width: 2 }));
 * assert.deepEqual((await orThrow(readTargets(store, ["k"]))).get("k")?.states, one);
 * const remade = await orThrow(readTargets(store, ["k"], { steps: new Map([["k", 4]]) }));
 * assert.deepEqual(remade.get("k")?.states, two);
 * ```
 */
export function readTargets(
  store: TargetStore,
  keys: readonly string[],
  options: { steps?: ReadonlyMap<string, number> } = {},
): TaskEither<TargetStoreError, Map<string, StoredTarget>> {
  return TE.tryCatch(async () => {
    const records = () => keys.map((k) => pick(store, k, options.steps?.get(k)));
    let picked = records();
    if (picked.includes(undefined)) {
      await refreshIndex(store);
      picked = records();
    }
    const byShard = new Map<string, TargetRecord[]>();
    for (const r of picked) if (r) byShard.set(r.shard, [...byShard.get(r.shard) ?? [], r]);
    const out = new Map<string, StoredTarget>();
    for (const [shard, list] of byShard) {
      const path = join(store.dir, `${shard}.safetensors`);
      const file = await loadSafetensors(path)();
      if (E.isLeft(file)) {
        throw storeError(
          `${file.left.message}; its manifest lists targets, so the store is damaged: ` +
            "remove the folder to make them again",
        );
      }
      for (const r of list) {
        const t = file.right.tensors[`targets/${r.id}`];
        const n = file.right.tensors[`noise/${r.id}`];
        if (!t || t.dtype !== "F32" || (r.noise && (!n || n.dtype !== "F32"))) {
          throw storeError(
            `${path} lacks the float32 tensors of target "${r.id}" its manifest lists`,
          );
        }
        const states = t.data as Float32Array;
        out.set(
          r.key,
          r.noise
            ? { states, step: r.step, noise: n.data as Float32Array }
            : { states, step: r.step },
        );
      }
    }
    return out;
  }, (e) => asStoreError(e, `cannot read target store ${store.dir}`));
}

/**
 * Removes the shards of which `keep` keeps no record, and what killed writers left (states
 * without a manifest, hidden temporary files); returns the number of shards removed. Each
 * manifest goes before its states, so a kill midway leaves the store usable. Only for a store no
 * other run writes to now (a run's own store of targets remade from the model).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { appendTargets, collectTargets, openTargetStore } from "./target_store.ts";
 * const store = await orThrow(openTargetStore(await Deno.makeTempDir(), { identity: {} }));
 * const states = new Float32Array(2);
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 0, states }], { width: 2 }));
 * await orThrow(appendTargets(store, [{ id: "a", key: "k", step: 4, states }], { width: 2 }));
 * assert.equal(await orThrow(collectTargets(store, (r) => r.step === 4)), 1);
 * assert.deepEqual(store.index.records.get("k")?.map((r) => r.step), [4]);
 * ```
 */
export function collectTargets(
  store: TargetStore,
  keep: (record: TargetRecord) => boolean,
): TaskEither<TargetStoreError, number> {
  return TE.tryCatch(async () => {
    await refreshIndex(store);
    const kept = new Set<string>();
    for (const list of store.index.records.values()) {
      for (const r of list) if (keep(r)) kept.add(r.shard);
    }
    let removed = 0;
    for (const shard of [...store.index.shards].sort()) {
      if (kept.has(shard)) continue;
      await Deno.remove(join(store.dir, `${shard}.jsonl`));
      await Deno.remove(join(store.dir, `${shard}.safetensors`)).catch(() => undefined);
      store.index.shards.delete(shard);
      removed++;
    }
    for (const [key, list] of store.index.records) {
      const left = list.filter((r) => kept.has(r.shard));
      if (left.length === 0) store.index.records.delete(key);
      else store.index.records.set(key, left);
    }
    const entries = await Array.fromAsync(Deno.readDir(store.dir)).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    });
    for (const entry of entries) {
      const m = SHARD.exec(entry.name);
      const orphan = m && m[3] === "safetensors" &&
        !store.index.shards.has(entry.name.slice(0, -12));
      if (orphan || (entry.name.startsWith(".") && entry.name.endsWith(".tmp"))) {
        await Deno.remove(join(store.dir, entry.name)).catch(() => undefined);
      }
    }
    return removed;
  }, (e) => asStoreError(e, `cannot clean target store ${store.dir}`));
}
