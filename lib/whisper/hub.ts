/**
 * Downloads Whisper checkpoints in the Hugging Face layout from the hub (or a mirror) into a
 * local cache: resumable (HTTP Range), retried on transient failures, verified against the
 * sha256 the hub publishes for LFS files, and renamed into place only once verified. A folder
 * counts as cached once its `.complete` marker, written last, lists every file.
 *
 * Environment: HF_ENDPOINT (mirror), HF_TOKEN (gated or private repos), FLOWT2S_CACHE (cache
 * root, default `${XDG_CACHE_HOME or ~/.cache}/flowt2s`), HF_HUB_OFFLINE=1 (never download).
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { writeFileAtomic } from "../io.ts";

/** Why a model could not be resolved; the message names the repo, file or URL and a fix. */
export interface HubError {
  /** Discriminant. */
  readonly _tag: "HubError";
  /** What went wrong and what to do about it. */
  readonly message: string;
}

/** Where to download from, where to cache, and how. */
export interface HubOptions {
  /** Branch, tag or commit (default "main"). */
  readonly revision?: string;
  /** Hub base URL (default: env HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /**
   * Cache root; a model goes to `<root>/whisper/<owner>--<name>/<revision>` (default: env
   * FLOWT2S_CACHE, else `${XDG_CACHE_HOME or ~/.cache}/flowt2s`).
   */
  readonly cacheDir?: string;
  /** Bearer token (default: env HF_TOKEN), sent to the endpoint only, never to its CDN. */
  readonly token?: string;
  /** Fail instead of downloading when the model is not cached (default: env HF_HUB_OFFLINE). */
  readonly offline?: boolean;
  /** Download afresh even if the cache folder is complete. */
  readonly force?: boolean;
  /** No progress bar on stderr. */
  readonly quiet?: boolean;
  /** Further attempts after a transient failure (default 4). */
  readonly retries?: number;
  /** First backoff delay in ms, doubling per attempt (default 500). */
  readonly retryDelayMs?: number;
}

/** Files every checkpoint must have besides its weights. */
export const REQUIRED_FILES: readonly string[] = [
  "config.json",
  "tokenizer.json",
];

/** Files fetched when the repo has them (a 404 skips them). */
export const OPTIONAL_FILES: readonly string[] = [
  // Community fine-tunes sometimes lack it; decoding then uses Whisper's default rules.
  "generation_config.json",
  "preprocessor_config.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "normalizer.json",
];

const MARKER = ".complete";
const INDEX = "model.safetensors.index.json";

interface Entry {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

const hubError = (message: string): HubError => ({ _tag: "HubError", message });
const messageOf = (e: unknown): string =>
  e instanceof Error ? (e.cause ? `${e.message}: ${messageOf(e.cause)}` : e.message) : String(e);
/** A failure worth retrying (network, 5xx); anything else thrown inside is final. */
class Transient extends Error {}

const env = (name: string): string | undefined => {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
};

const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;

/**
 * Splits a Hugging Face repo id into owner and name, rejecting anything else (empty, spaces,
 * more or fewer than one '/', characters the hub does not allow).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseRepoId } from "./hub.ts";
 * assert.deepEqual(parseRepoId("openai/whisper-tiny"), {
 *   _tag: "Right",
 *   right: { owner: "openai", name: "whisper-tiny" },
 * });
 * assert.equal(parseRepoId("openai/whisper tiny")._tag, "Left");
 * assert.equal(parseRepoId("a/b/c")._tag, "Left");
 * ```
 */
export function parseRepoId(id: string): Either<HubError, { owner: string; name: string }> {
  const parts = id.split("/");
  const ok = parts.length === 2 &&
    parts.every((p) => p.length <= 96 && PART.test(p) && !/--|\.\./.test(p));
  return ok ? E.right({ owner: parts[0], name: parts[1] }) : E.left(hubError(
    `"${id}" is not a Hugging Face repo id: expected owner/name such as openai/whisper-tiny ` +
      `(letters, digits, '-', '_', '.'; no spaces; exactly one '/')`,
  ));
}

const revisionOf = (options: HubOptions): Either<HubError, string> => {
  const revision = options.revision ?? "main";
  return /^[A-Za-z0-9._/-]+$/.test(revision) && !revision.includes("..")
    ? E.right(revision)
    : E.left(hubError(`"${revision}" is not a valid revision (branch, tag or commit)`));
};

const endpointOf = (options: HubOptions): string =>
  (options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, "");

/**
 * The URL of one file of a repo: `${endpoint}/${repoId}/resolve/${revision}/${file}`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { hubUrl } from "./hub.ts";
 * assert.equal(
 *   hubUrl("openai/whisper-tiny", "config.json", { endpoint: "https://hf-mirror.com/" }),
 *   "https://hf-mirror.com/openai/whisper-tiny/resolve/main/config.json",
 * );
 * ```
 */
export function hubUrl(repoId: string, file: string, options: HubOptions = {}): string {
  const revision = encodeURIComponent(options.revision ?? "main");
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpointOf(options)}/${repoId}/resolve/${revision}/${path}`;
}

/**
 * The cache folder of a repo at a revision (whether or not it exists yet):
 * `<root>/whisper/<owner>--<name>/<revision>`, '/' in the revision written as '--'.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { cachedModelDir } from "./hub.ts";
 * const dir = cachedModelDir("openai/whisper-tiny", { cacheDir: "/tmp/c", revision: "v1" });
 * assert.deepEqual(dir, { _tag: "Right", right: "/tmp/c/whisper/openai--whisper-tiny/v1" });
 * assert.equal(cachedModelDir("whisper-tiny", { cacheDir: "/tmp/c" })._tag, "Left");
 * ```
 */
export function cachedModelDir(
  repoId: string,
  options: HubOptions = {},
): Either<HubError, string> {
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  const root = options.cacheDir ?? env("FLOWT2S_CACHE") ??
    join(env("XDG_CACHE_HOME") ?? join(home, ".cache"), "flowt2s");
  return F.pipe(
    E.Do,
    E.apS("id", parseRepoId(repoId)),
    E.apS("rev", revisionOf(options)),
    E.map(({ id, rev }) =>
      join(root, "whisper", `${id.owner}--${id.name}`, rev.replaceAll("/", "--"))
    ),
  );
}

/**
 * A local Whisper folder for `idOrPath`: an existing folder as is; otherwise the repo's cache
 * folder ({@link cachedModelDir}) if its `.complete` marker lists every file at its size;
 * otherwise the repo is downloaded there first, unless offline. The Left names the repo, file
 * or URL at fault and how to get the model another way.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { resolveWhisper } from "./hub.ts";
 * const dir = await Deno.makeTempDir();
 * assert.deepEqual(await resolveWhisper(dir)(), { _tag: "Right", right: dir });
 * const missing = await resolveWhisper("openai/whisper-tiny", { cacheDir: dir, offline: true })();
 * assert.ok(missing._tag === "Left" && missing.left.message.includes("offline"));
 * const typo = await resolveWhisper("openai/whisper tiny", { cacheDir: dir })();
 * assert.ok(typo._tag === "Left" && typo.left.message.includes("owner/name"));
 * await Deno.remove(dir);
 * ```
 */
export function resolveWhisper(
  idOrPath: string,
  options: HubOptions = {},
): TaskEither<HubError, string> {
  return TE.tryCatch(() => resolve(idOrPath, options), (e) => hubError(messageOf(e)));
}

async function resolve(idOrPath: string, options: HubOptions): Promise<string> {
  if ((await statOf(idOrPath))?.isDirectory) return idOrPath;
  const dir = cachedModelDir(idOrPath, options);
  if (E.isLeft(dir)) throw new Error(`no folder ${idOrPath}, and ${dir.left.message}`);
  if (options.force) await removeIfThere(dir.right, { recursive: true });
  else if (await isComplete(dir.right)) return dir.right;
  const offline = options.offline ?? /^(1|true|yes|on)$/i.test(env("HF_HUB_OFFLINE") ?? "");
  if (offline) {
    throw new Error(
      `${idOrPath} is not in the cache (${dir.right}) and offline mode is on (the offline ` +
        "option or HF_HUB_OFFLINE=1): download it once while online, or pass the path of a " +
        "Hugging Face model folder instead of the id",
    );
  }
  await download(idOrPath, dir.right, options);
  return dir.right;
}

/** What one download run shares across files. */
interface Run {
  readonly repoId: string;
  readonly dir: string;
  readonly options: HubOptions;
  /** Whether any HTTP response came back, which tells "offline" from other failures. */
  reached: boolean;
  /** The commit the hub resolved the revision to, for the marker. */
  commit?: string;
}

async function download(repoId: string, dir: string, options: HubOptions): Promise<void> {
  const run: Run = { repoId, dir, options, reached: false };
  await Deno.mkdir(dir, { recursive: true });
  const entries: Entry[] = [];
  const need = async (file: string) => {
    const entry = await fetchFile(run, file, true);
    if (entry) entries.push(entry);
  };
  for (const file of REQUIRED_FILES) await need(file);
  for (const file of OPTIONAL_FILES) {
    const entry = await fetchFile(run, file, false);
    if (entry) entries.push(entry);
  }
  // Weights last: they are the big ones, so an auth or typo error surfaces within seconds.
  const single = await fetchFile(run, "model.safetensors", false);
  if (single) entries.push(single);
  else {
    const index = await fetchFile(run, INDEX, false);
    if (!index) {
      throw new Error(
        `${repoId} has neither model.safetensors nor ${INDEX} at revision ` +
          `${options.revision ?? "main"}: flowt2s reads safetensors weights only (convert ` +
          `pytorch_model.bin with transformers' save_pretrained, or use \`deno task whisper:import\`)`,
      );
    }
    entries.push(index);
    for (const shard of await shardsOf(join(dir, INDEX))) await need(shard);
  }
  const marker = {
    repoId,
    revision: options.revision ?? "main",
    endpoint: endpointOf(options),
    commit: run.commit,
    files: entries,
  };
  // Written last: its presence is what makes the folder count as complete.
  const json = JSON.stringify(marker, null, 2) + "\n";
  await writeFileAtomic(join(dir, MARKER), new TextEncoder().encode(json));
}

async function shardsOf(indexPath: string): Promise<string[]> {
  let map: unknown;
  try {
    map = JSON.parse(await Deno.readTextFile(indexPath)).weight_map;
  } catch (e) {
    throw new Error(`${indexPath}: not a safetensors index (${messageOf(e)})`);
  }
  const shards = [...new Set(Object.values(typeof map === "object" && map !== null ? map : {}))];
  // Shard names become local paths: plain file names only, nothing that could leave the folder.
  const bad = shards.find((s) => typeof s !== "string" || !/^[A-Za-z0-9][\w.-]*$/.test(s));
  if (shards.length === 0 || bad !== undefined) {
    throw new Error(`${indexPath}: weight_map must map tensors to shard file names (got ${bad})`);
  }
  return shards as string[];
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    const { files } = JSON.parse(await Deno.readTextFile(join(dir, MARKER)));
    if (!Array.isArray(files) || files.length === 0) return false;
    for (const { name, size } of files) {
      if (typeof name !== "string" || (await statOf(join(dir, name)))?.size !== size) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** One file into `run.dir`, with retries; undefined when an optional file is not in the repo. */
async function fetchFile(run: Run, file: string, required: boolean): Promise<Entry | undefined> {
  const dest = join(run.dir, file);
  // Only verified downloads get their final name, so this one survives an interrupted run.
  if ((await statOf(dest))?.isFile) return { name: file, ...(await hashFile(dest)) };
  const url = hubUrl(run.repoId, file, run.options);
  const { retries = 4, retryDelayMs = 500 } = run.options;
  const part = new PartFile(`${dest}.part`);
  try {
    for (let attempt = 0;; attempt++) {
      try {
        return await attemptOnce(run, { file, url, dest, required }, part);
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        // A hub that never answered is most likely out of reach: say so without a long wait.
        if (attempt >= (run.reached ? retries : Math.min(retries, 2))) {
          throw new Error(
            run.reached
              ? `${e.message}; gave up after ${attempt + 1} attempts, run again to resume`
              : unreachable(run, url, e),
          );
        }
        await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** attempt));
      }
    }
  } finally {
    part.close();
    // An empty .part (a 404, or nothing received) resumes nothing: do not leave it behind.
    if ((await statOf(part.path))?.size === 0) await removeIfThere(part.path);
  }
}

const unreachable = (run: Run, url: string, cause: Error): string =>
  `cannot reach the Hugging Face hub to download ${run.repoId}: ${url} failed ` +
  `(${cause.message}). This machine seems to be offline or cut off from the hub. Either set ` +
  `HF_ENDPOINT (or --endpoint) to a mirror it can reach; or copy a Hugging Face model folder ` +
  `(config.json, generation_config.json, tokenizer.json, model.safetensors) onto it and pass ` +
  `its path instead of the id; or convert faster-whisper/CTranslate2 or whisper.cpp files with ` +
  "`deno task whisper:import`";

interface Target {
  readonly file: string;
  readonly url: string;
  readonly dest: string;
  readonly required: boolean;
}

async function attemptOnce(run: Run, t: Target, part: PartFile): Promise<Entry | undefined> {
  const offset = await part.open();
  const { res, sha256, size } = await follow(run, t.url, offset);
  const where = `${t.file} of ${run.repoId} (${t.url})`;
  const fail = async (error: Error) => {
    await res.body?.cancel().catch(() => undefined);
    throw error;
  };
  if (res.status === 404 && !t.required) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if ([401, 403, 404].includes(res.status)) {
    return fail(
      new Error(
        `HTTP ${res.status} for ${where}: the repo may not exist (check the spelling), be private ` +
          `or gated (accept its terms on the hub and set HF_TOKEN to a token with access), or ` +
          `lack this file at revision ${run.options.revision ?? "main"}`,
      ),
    );
  }
  if (res.status === 416 && offset > 0) {
    await part.reset(); // the .part is not a prefix of this file: start over
    return fail(new Transient(`HTTP 416 for ${where}`));
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    return fail(new Transient(`HTTP ${res.status} for ${where}`));
  }
  if (res.status !== 200 && res.status !== 206) {
    return fail(new Error(`unexpected HTTP ${res.status} for ${where}`));
  }
  let total = size;
  if (res.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== offset) {
      await part.reset();
      return fail(
        new Transient(`HTTP 206 with a Content-Range not at byte ${offset} for ${where}`),
      );
    }
    total ??= range[2] === "*" ? undefined : Number(range[2]);
  } else {
    if (offset > 0) await part.reset(); // the server ignored the Range and sends it all
    const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
    total ??= encoded ? undefined : intOf(res.headers.get("content-length"));
  }
  await receive(res, part, new Progress(t.file, total, part.size, run.options.quiet), where);
  if (total !== undefined && part.size < total) {
    throw new Transient(`connection closed after ${part.size} of ${total} bytes of ${where}`);
  }
  if (total !== undefined && part.size > total) {
    await part.discard();
    throw new Error(
      `${where}: got ${part.size} bytes, expected ${total}; the download was deleted`,
    );
  }
  const digest = part.digest();
  if (sha256 !== undefined && digest !== sha256) {
    await part.discard();
    throw new Error(
      `${where}: sha256 mismatch, expected ${sha256}, got ${digest}; the download was deleted, ` +
        "run again to fetch it afresh",
    );
  }
  await part.finish(t.dest);
  return { name: t.file, size: part.size, sha256: digest };
}

/**
 * Requests `url`, following redirects by hand: the hub answers LFS files with a redirect to
 * its CDN, and only that first response carries the file's sha256 (x-linked-etag) and size.
 */
async function follow(
  run: Run,
  url: string,
  offset: number,
): Promise<{ res: Response; sha256?: string; size?: number }> {
  const token = run.options.token ?? env("HF_TOKEN");
  const origin = new URL(url).origin;
  let sha256: string | undefined, size: number | undefined;
  for (let hop = 0, current = url; hop < 10; hop++) {
    // identity: Content-Length must count the bytes written, not compressed ones.
    const headers = new Headers({ "accept-encoding": "identity", "user-agent": "flowt2s" });
    if (offset > 0) headers.set("range", `bytes=${offset}-`);
    // The CDN's URLs are signed; a token is for the hub alone.
    if (token && new URL(current).origin === origin) {
      headers.set("authorization", `Bearer ${token}`);
    }
    let res: Response;
    try {
      res = await fetch(current, { headers, redirect: "manual" });
    } catch (e) {
      throw new Transient(messageOf(e));
    }
    run.reached = true;
    const h = res.headers;
    sha256 ??= sha256Of(h.get("x-linked-etag")) ?? sha256Of(h.get("etag"));
    size ??= intOf(h.get("x-linked-size"));
    run.commit ??= h.get("x-repo-commit") ?? undefined;
    const location = h.get("location");
    if (res.status < 300 || res.status >= 400 || !location) return { res, sha256, size };
    await res.body?.cancel();
    current = new URL(location, current).href;
  }
  throw new Error(`more than 10 redirects for ${url}`);
}

async function receive(res: Response, part: PartFile, bar: Progress, where: string) {
  const reader = res.body?.getReader();
  try {
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array> | undefined;
      try {
        step = await reader?.read();
      } catch (e) {
        throw new Transient(`connection lost during ${where}: ${messageOf(e)}`);
      }
      if (!step || step.done) break;
      await part.write(step.value); // a disk error is final, not retried
      bar.update(part.size, false);
    }
  } finally {
    await reader?.cancel().catch(() => undefined);
  }
  bar.update(part.size, true);
}

const sha256Of = (etag: string | null): string | undefined =>
  /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(etag?.trim() ?? "")?.[1].toLowerCase();

const intOf = (text: string | null): number | undefined =>
  text !== null && /^\d+$/.test(text.trim()) ? Number(text) : undefined;

/** A `<file>.part` with a running sha256 of exactly the bytes it holds. */
class PartFile {
  #file?: Deno.FsFile;
  #hash: Hash = createHash("sha256");
  #size = 0;
  constructor(readonly path: string) {}

  get size(): number {
    return this.#size;
  }

  /** Opens or creates the file, re-hashing it if the hash does not cover it; returns its length. */
  async open(): Promise<number> {
    this.#file ??= await Deno.open(this.path, { read: true, write: true, create: true });
    const size = (await this.#file.stat()).size;
    if (size !== this.#size) { // left by an earlier run, or a write failed midway
      this.#hash = createHash("sha256");
      await this.#file.seek(0, Deno.SeekMode.Start);
      const buf = new Uint8Array(1 << 20);
      for (let done = 0; done < size;) {
        const n = await this.#file.read(buf.subarray(0, Math.min(buf.length, size - done)));
        if (n === null) throw new Error(`${this.path} shrank while being read`);
        this.#hash.update(buf.subarray(0, n));
        done += n;
      }
      this.#size = size;
    }
    await this.#file.seek(0, Deno.SeekMode.End);
    return size;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.#file!.write(bytes.subarray(at));
    this.#hash.update(bytes);
    this.#size += bytes.length;
  }

  async reset(): Promise<void> {
    await this.#file!.truncate(0);
    await this.#file!.seek(0, Deno.SeekMode.Start);
    this.#hash = createHash("sha256");
    this.#size = 0;
  }

  /** Hex sha256 of the bytes written; ends the running hash, so call once, at the end. */
  digest(): string {
    return this.#hash.digest("hex");
  }

  async finish(dest: string): Promise<void> {
    await this.#file!.syncData(); // else a crash after the rename can leave a short file
    this.close();
    await Deno.rename(this.path, dest);
  }

  async discard(): Promise<void> {
    this.close();
    await removeIfThere(this.path);
  }

  close(): void {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
  }
}

/** A one-line progress bar on stderr: live on a terminal, a summary line otherwise. */
class Progress {
  #start = performance.now();
  #shown = 0;
  #live = Deno.stderr.isTerminal();
  constructor(
    readonly label: string,
    readonly total: number | undefined,
    readonly from: number,
    readonly quiet = false,
  ) {}

  update(done: number, last: boolean): void {
    const now = performance.now();
    if (this.quiet || (!last && (!this.#live || now - this.#shown < 100))) return;
    this.#shown = now;
    const { total, label } = this;
    const rate = (done - this.from) / Math.max((now - this.#start) / 1000, 1e-3);
    const pct = total ? ` ${Math.floor((100 * done) / total)}%` : "";
    const eta = total && rate > 0 && !last ? ` ETA ${Math.ceil((total - done) / rate)}s` : "";
    const text = `${label} ${bytes(done)}${total ? ` / ${bytes(total)}` : ""}${pct} ` +
      `${bytes(rate)}/s${eta}`;
    const line = this.#live ? `\r${text}\x1b[K${last ? "\n" : ""}` : `${text}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  }
}

const bytes = (n: number): string => {
  const [scale, unit] = n < 1e3
    ? [1, "B"]
    : n < 1e6
    ? [1e3, "kB"]
    : n < 1e9
    ? [1e6, "MB"]
    : [1e9, "GB"];
  return `${(n / scale).toFixed(scale === 1 ? 0 : 1)} ${unit}`;
};

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of (await Deno.open(path)).readable) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

const statOf = (path: string): Promise<Deno.FileInfo | undefined> =>
  Deno.stat(path).catch(() => undefined);

async function removeIfThere(path: string, options: { recursive?: boolean } = {}) {
  try {
    await Deno.remove(path, options);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
