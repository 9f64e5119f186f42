/**
 * Python wheels without Python: picking a release's wheel from PyPI's JSON, reading a wheel's zip
 * directory, and extracting members checked against the wheel's RECORD. `deno task cuda:install`
 * (scripts/cuda_install.ts) takes ONNX Runtime's CUDA provider and NVIDIA's runtime libraries
 * from PyPI this way, since the npm package's own route (NuGet) is not always reachable.
 *
 * Zip64 archives are refused: every wheel this reads is far under 4 GiB.
 * @module
 */
import { createHash } from "node:crypto";
import { either as E } from "fp-ts";
import type { Either } from "../lib/result.ts";

/** One file of a PyPI release, as PyPI's JSON API lists it. */
export interface PypiFile {
  /** The wheel's (or sdist's) file name. */
  readonly filename: string;
  /** Where to download it; may be relative to the JSON's address (a mirror's rewrite). */
  readonly url: string;
  /** Bytes. */
  readonly size: number;
  /** Digests by algorithm; sha256 is checked after download. */
  readonly digests: { readonly sha256: string };
}

/** A wheel file name's parts (PEP 427): `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`. */
export interface WheelName {
  /** Distribution name, normalized (lower case, runs of `-_.` as `-`). */
  readonly name: string;
  /** Version. */
  readonly version: string;
  /** Python tag (`cp312`, `py3`). */
  readonly python: string;
  /** ABI tag (`cp312`, `cp313t`, `none`). */
  readonly abi: string;
  /** Platform tags (`manylinux_2_28_x86_64`, ...). */
  readonly platforms: readonly string[];
}

/** A distribution name as PEP 503 compares them. */
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");

/**
 * The parts of a wheel's file name, or why it is not one.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { parseWheelName } from "./wheel.ts";
 * const w = parseWheelName("onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_x86_64.whl");
 * if (w._tag === "Left") throw new Error(w.left);
 * assert.deepEqual([w.right.name, w.right.version, w.right.abi], ["onnxruntime-gpu", "1.30.0", "cp312"]);
 * assert.equal(parseWheelName("onnxruntime-1.30.0.tar.gz")._tag, "Left");
 * ```
 */
export function parseWheelName(filename: string): Either<string, WheelName> {
  const base = filename.split("/").pop()!;
  const parts = base.replace(/\.whl$/, "").split("-");
  if (!base.endsWith(".whl") || (parts.length !== 5 && parts.length !== 6)) {
    return E.left(`${base} is not a wheel file name (name-version-python-abi-platform.whl)`);
  }
  const [name, version] = parts, [python, abi, platform] = parts.slice(-3);
  return E.right({ name: normalize(name), version, python, abi, platforms: platform.split(".") });
}

/**
 * The wheel of a release that serves Linux on `arch`: a manylinux wheel for that machine, the
 * CPython ABI without free threading (`cp312`, not `cp313t`) or `none` preferred; among equals
 * the first listed. The native libraries of such wheels do not depend on the Python version.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { pickWheel } from "./wheel.ts";
 * const file = (filename: string) => ({ filename, url: filename, size: 1, digests: { sha256: "" } });
 * const files = [
 *   "ort-1.0-cp313-cp313t-manylinux_2_28_x86_64.whl", "ort-1.0-cp312-cp312-win_amd64.whl",
 *   "ort-1.0-cp312-cp312-manylinux_2_34_aarch64.whl", "ort-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
 * ].map(file);
 * const picked = pickWheel(files, { arch: "x86_64" });
 * if (picked._tag === "Left") throw new Error(picked.left);
 * assert.equal(picked.right.filename, "ort-1.0-cp312-cp312-manylinux_2_28_x86_64.whl");
 * assert.equal(pickWheel(files.slice(1, 2), { arch: "x86_64" })._tag, "Left");
 * ```
 */
export function pickWheel(
  files: readonly PypiFile[],
  options: { arch: "x86_64" | "aarch64" },
): Either<string, PypiFile> {
  const linux = files.filter((f) => {
    const w = parseWheelName(f.filename);
    return E.isRight(w) &&
      w.right.platforms.some((p) => /^manylinux/.test(p) && p.endsWith(`_${options.arch}`));
  });
  const plain = linux.filter((f) =>
    !/t$/.test((parseWheelName(f.filename) as E.Right<WheelName>).right.abi)
  );
  const chosen = plain[0] ?? linux[0];
  return chosen ? E.right(chosen) : E.left(
    `no manylinux ${options.arch} wheel among ${files.map((f) => f.filename).join(", ") || "none"}`,
  );
}

/**
 * Whether `version` satisfies a PEP 440 specifier of the forms wheels' metadata use here:
 * empty (any), `==V`, `>=V`, `~=V` (compatible release: `~=13.0` is `>=13.0, ==13.*`), and
 * comma-separated conjunctions of them. Pre-releases and local versions never satisfy.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { satisfies } from "./wheel.ts";
 * assert.ok(satisfies("13.5.37", "~=13.0"));
 * assert.ok(!satisfies("14.0.1", "~=13.0"));
 * assert.ok(satisfies("9.28.1.4", "~=9.0") && satisfies("1.2", ""));
 * assert.ok(!satisfies("13.1.0rc1", ">=13.0"));
 * ```
 */
export function satisfies(version: string, spec: string): boolean {
  if (!/^\d+(\.\d+)*$/.test(version)) return false;
  const v = version.split(".").map(Number);
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return Math.sign(d);
    }
    return 0;
  };
  return spec.split(",").map((s) => s.trim()).filter((s) => s).every((clause) => {
    const m = clause.match(/^(~=|==|>=)\s*(\d+(?:\.\d+)*)$/);
    if (!m) return false; // an operator this reader does not know: refuse rather than guess
    const bound = m[2].split(".").map(Number);
    if (m[1] === "==") return cmp(v, bound) === 0;
    if (m[1] === ">=") return cmp(v, bound) >= 0;
    const prefix = bound.slice(0, -1);
    return bound.length > 1 && cmp(v, bound) >= 0 && prefix.every((p, i) => v[i] === p);
  });
}

/**
 * The newest release of a PyPI project's JSON (`releases`: version to files) that satisfies
 * `spec` and has a wheel for Linux on `arch`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { pickRelease } from "./wheel.ts";
 * const file = (filename: string) => ({ filename, url: filename, size: 1, digests: { sha256: "" } });
 * const releases = {
 *   "13.0.1": [file("nv-13.0.1-py3-none-manylinux_2_17_x86_64.whl")],
 *   "13.10.2": [file("nv-13.10.2-py3-none-manylinux_2_17_x86_64.whl")],
 *   "14.0.0": [file("nv-14.0.0-py3-none-manylinux_2_17_x86_64.whl")],
 * };
 * const r = pickRelease(releases, "~=13.0", { arch: "x86_64" });
 * assert.ok(r._tag === "Right" && r.right.version === "13.10.2");
 * ```
 */
export function pickRelease(
  releases: Readonly<Record<string, readonly PypiFile[]>>,
  spec: string,
  options: { arch: "x86_64" | "aarch64" },
): Either<string, { version: string; file: PypiFile }> {
  const versions = Object.keys(releases).filter((v) => satisfies(v, spec))
    .sort((a, b) => {
      const x = a.split(".").map(Number), y = b.split(".").map(Number);
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
      }
      return 0;
    });
  for (const version of versions) {
    const wheel = pickWheel(releases[version], options);
    if (E.isRight(wheel)) return E.right({ version, file: wheel.right });
  }
  return E.left(`no release matching '${spec || "any"}' has a manylinux ${options.arch} wheel`);
}

/** A requirement of a wheel's METADATA: a distribution and its version specifier. */
export interface Requirement {
  /** Distribution name, normalized. */
  readonly name: string;
  /** Version specifier (`~=13.0`), empty for any. */
  readonly spec: string;
}

/**
 * A wheel METADATA's `Requires-Dist` lines that apply with the given extras: those without a
 * marker, and those whose only marker is `extra == "x"` for an x in `extras`. Other markers
 * (platform, Python version) are left out; the NVIDIA wheels this reads use none.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { requirements } from "./wheel.ts";
 * const metadata = [
 *   "Requires-Dist: numpy>=1.21.6",
 *   'Requires-Dist: nvidia-cuda-runtime~=13.0; extra == "cuda"',
 *   'Requires-Dist: nvidia-cudnn-cu13~=9.0; extra == "cudnn"',
 * ].join("\n");
 * assert.deepEqual(requirements(metadata, { extras: ["cuda"], only: /^nvidia-/ }), [
 *   { name: "nvidia-cuda-runtime", spec: "~=13.0" },
 * ]);
 * ```
 */
export function requirements(
  metadata: string,
  options: { extras?: readonly string[]; only?: RegExp } = {},
): Requirement[] {
  const out: Requirement[] = [];
  for (const line of metadata.split(/\r?\n/)) {
    const m = line.match(
      /^Requires-Dist:\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;\s*(.*))?$/,
    );
    if (!m) continue;
    const marker = m[3]?.trim();
    if (marker) {
      const extra = marker.match(/^extra\s*==\s*["']([^"']+)["']$/);
      if (!extra || !(options.extras ?? []).includes(extra[1])) continue;
    }
    const name = normalize(m[1]);
    if (options.only && !options.only.test(name)) continue;
    out.push({ name, spec: m[2].replace(/^\((.*)\)$/, "$1").replace(/\s+/g, "") });
  }
  return out;
}

/**
 * The sha256 digests (hex) of a wheel's members, from its RECORD (`path,sha256=<base64url>,size`).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { recordDigests } from "./wheel.ts";
 * const record = "a/b.so,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\nx.dist-info/RECORD,,\n";
 * assert.equal(
 *   recordDigests(record).get("a/b.so"),
 *   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * );
 * ```
 */
export function recordDigests(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of record.split(/\r?\n/)) {
    const m = line.match(/^(.*),sha256=([A-Za-z0-9_-]+),\d*$/);
    if (!m) continue;
    const b64 = m[2].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
    out.set(m[1], [...bin].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * Zip's CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before them).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { crc32 } from "./wheel.ts";
 * const abc = new TextEncoder().encode("123456789");
 * assert.equal(crc32(abc), 0xcbf43926);
 * assert.equal(crc32(abc.subarray(4), crc32(abc.subarray(0, 4))), 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Random access to an archive's bytes: a file on disk, or an array in a test. */
export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * A {@link ByteSource} over bytes in memory.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { memorySource } from "./wheel.ts";
 * const src = memorySource(new Uint8Array([1, 2, 3, 4]));
 * assert.deepEqual([...await src.read(1, 2)], [2, 3]);
 * ```
 */
export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (o, n) => Promise.resolve(bytes.subarray(o, o + n)) };
}

/**
 * A {@link ByteSource} over an open file; the caller closes the file.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { fileSource } from "./wheel.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([5, 6, 7]));
 * using file = await Deno.open(path);
 * const src = await fileSource(file);
 * assert.deepEqual([src.size, ...await src.read(1, 5)], [3, 6, 7]);
 * await Deno.remove(path);
 * ```
 */
export async function fileSource(file: Deno.FsFile): Promise<ByteSource> {
  const size = (await file.stat()).size;
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      await file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < out.length) {
        const n = await file.read(out.subarray(got));
        if (n === null) break;
        got += n;
      }
      return out.subarray(0, got);
    },
  };
}

/** A member of a zip archive, from its central directory. */
export interface ZipEntry {
  /** Path inside the archive. */
  readonly name: string;
  /** 0 stored, 8 deflated (the only methods read). */
  readonly method: number;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc: number;
  /** Compressed bytes. */
  readonly compressedSize: number;
  /** Uncompressed bytes. */
  readonly size: number;
  /** Offset of the member's local header. */
  readonly headerOffset: number;
}

/**
 * The members of a zip archive, read from its central directory, or why it cannot be read.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { memorySource, zipEntries } from "./wheel.ts";
 * // An empty archive: just the end-of-central-directory record.
 * const empty = new Uint8Array(22);
 * new DataView(empty.buffer).setUint32(0, 0x06054b50, true);
 * const entries = await zipEntries(memorySource(empty));
 * assert.ok(entries._tag === "Right" && entries.right.length === 0);
 * assert.equal((await zipEntries(memorySource(new Uint8Array(30))))._tag, "Left");
 * ```
 */
export async function zipEntries(source: ByteSource): Promise<Either<string, ZipEntry[]>> {
  // The end record is 22 bytes plus a comment of at most 65535.
  const tailLength = Math.min(source.size, 22 + 0xffff);
  const tail = await source.read(source.size - tailLength, tailLength);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) return E.left("not a zip archive (no end-of-central-directory record)");
  const count = view.getUint16(end + 10, true);
  const dirSize = view.getUint32(end + 12, true), dirOffset = view.getUint32(end + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    return E.left("zip64 archives are not read (a wheel over 4 GiB?)");
  }
  const dir = await source.read(dirOffset, dirSize);
  const d = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > dir.length || d.getUint32(p, true) !== 0x02014b50) {
      return E.left(`corrupt central directory at entry ${k}`);
    }
    const nameLength = d.getUint16(p + 28, true);
    const skip = nameLength + d.getUint16(p + 30, true) + d.getUint16(p + 32, true);
    entries.push({
      name: new TextDecoder().decode(dir.subarray(p + 46, p + 46 + nameLength)),
      method: d.getUint16(p + 10, true),
      crc: d.getUint32(p + 16, true),
      compressedSize: d.getUint32(p + 20, true),
      size: d.getUint32(p + 24, true),
      headerOffset: d.getUint32(p + 42, true),
    });
    p += 46 + skip;
  }
  return E.right(entries);
}

/** The uncompressed bytes of `entry` as a stream (read in 4 MiB pieces). */
async function entryStream(
  source: ByteSource,
  entry: ZipEntry,
): Promise<Either<string, ReadableStream<Uint8Array>>> {
  const header = await source.read(entry.headerOffset, 30);
  const h = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.length < 30 || h.getUint32(0, true) !== 0x04034b50) {
    return E.left(`${entry.name}: no local header at ${entry.headerOffset}`);
  }
  if (entry.method !== 0 && entry.method !== 8) {
    return E.left(`${entry.name}: compression method ${entry.method} is not read (only 0, 8)`);
  }
  let at = entry.headerOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
  const stop = at + entry.compressedSize;
  const raw = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= stop) return controller.close();
      const piece = await source.read(at, Math.min(4 * 2 ** 20, stop - at));
      if (piece.length === 0) return controller.error(new Error("archive ends early"));
      at += piece.length;
      controller.enqueue(piece.slice());
    },
  });
  return E.right(
    entry.method === 8
      ? raw.pipeThrough(
        new DecompressionStream("deflate-raw") as TransformStream<Uint8Array, Uint8Array>,
      )
      : raw,
  );
}

/**
 * The bytes of a (small) member, e.g. a wheel's METADATA or RECORD, checked against its CRC-32.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { memorySource, readEntry, storedZip, zipEntries } from "./wheel.ts";
 * const zip = memorySource(storedZip({ "a.txt": new TextEncoder().encode("hi") }));
 * const entries = await zipEntries(zip);
 * if (E.isLeft(entries)) throw new Error(entries.left);
 * const bytes = await readEntry(zip, entries.right[0]);
 * assert.ok(E.isRight(bytes) && new TextDecoder().decode(bytes.right) === "hi");
 * ```
 */
export async function readEntry(
  source: ByteSource,
  entry: ZipEntry,
): Promise<Either<string, Uint8Array>> {
  const stream = await entryStream(source, entry);
  if (E.isLeft(stream)) return stream;
  try {
    const bytes = new Uint8Array(await new Response(stream.right).arrayBuffer());
    if (crc32(bytes) !== entry.crc) return E.left(`${entry.name}: CRC-32 mismatch`);
    return E.right(bytes);
  } catch (e) {
    return E.left(`${entry.name}: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Writes member `entry` to `path`, streaming, and checks its size, CRC-32 and, when `sha256`
 * (hex, from the wheel's RECORD) is given, its digest; a failed check leaves the written file
 * for the caller to remove with its temporary folder.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { extractEntry, memorySource, storedZip, zipEntries } from "./wheel.ts";
 * const zip = memorySource(storedZip({ "lib/a.so": new Uint8Array([1, 2, 3]) }));
 * const entries = await zipEntries(zip);
 * if (E.isLeft(entries)) throw new Error(entries.left);
 * const path = await Deno.makeTempFile();
 * assert.ok(E.isRight(await extractEntry(zip, entries.right[0], path)));
 * assert.deepEqual([...await Deno.readFile(path)], [1, 2, 3]);
 * const bad = await extractEntry(zip, entries.right[0], path, { sha256: "00" });
 * assert.ok(E.isLeft(bad) && /sha256/.test(bad.left));
 * await Deno.remove(path);
 * ```
 */
export async function extractEntry(
  source: ByteSource,
  entry: ZipEntry,
  path: string,
  options: { sha256?: string } = {},
): Promise<Either<string, void>> {
  const stream = await entryStream(source, entry);
  if (E.isLeft(stream)) return stream;
  const hash = createHash("sha256");
  let crc = 0, size = 0;
  try {
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for await (const chunk of stream.right) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      hash.update(chunk);
      let done = 0;
      while (done < chunk.length) done += await file.write(chunk.subarray(done));
    }
  } catch (e) {
    return E.left(`${entry.name}: ${e instanceof Error ? e.message : e}`);
  }
  if (size !== entry.size) return E.left(`${entry.name}: ${size} bytes, expected ${entry.size}`);
  if (crc !== entry.crc) return E.left(`${entry.name}: CRC-32 mismatch`);
  const digest = hash.digest("hex");
  if (options.sha256 !== undefined && digest !== options.sha256) {
    return E.left(`${entry.name}: sha256 ${digest} differs from the wheel's RECORD`);
  }
  return E.right(undefined);
}

/**
 * Refuses a wheel whose version differs from the onnxruntime-node version Deno resolved: the
 * CUDA provider library talks to the core library through an interface internal to one release.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { sameVersion } from "./wheel.ts";
 * assert.equal(sameVersion("1.30.0", "1.30.0")._tag, "Right");
 * const no = sameVersion("1.31.1", "1.30.0");
 * assert.ok(no._tag === "Left" && /1\.31\.1.*1\.30\.0/.test(no.left));
 * ```
 */
export function sameVersion(wheel: string, node: string): Either<string, void> {
  return wheel === node ? E.right(undefined) : E.left(
    `onnxruntime-gpu ${wheel} does not match onnxruntime-node ${node}: the CUDA provider only ` +
      `works with the core library of its own release; use onnxruntime-gpu==${node}`,
  );
}

/**
 * A zip archive of `files`, stored (not compressed): enough to build fixtures of wheels.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { memorySource, storedZip, zipEntries } from "./wheel.ts";
 * const entries = await zipEntries(memorySource(storedZip({ "x/y": new Uint8Array(5) })));
 * assert.ok(E.isRight(entries) && entries.right[0].name === "x/y" && entries.right[0].size === 5);
 * ```
 */
export function storedZip(files: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const locals: Uint8Array[] = [], centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const n = new TextEncoder().encode(name), crc = crc32(data);
    const local = new Uint8Array(30 + n.length + data.length), l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, n.length, true);
    local.set(n, 30);
    local.set(data, 30 + n.length);
    const central = new Uint8Array(46 + n.length), c = new DataView(central.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, n.length, true);
    c.setUint32(42, offset, true);
    central.set(n, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const dirSize = centrals.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22), e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, centrals.length, true);
  e.setUint16(10, centrals.length, true);
  e.setUint32(12, dirSize, true);
  e.setUint32(16, offset, true);
  const out = new Uint8Array(offset + dirSize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
