/**
 * Installs ONNX Runtime's CUDA execution provider for onnxruntime-node without NuGet: the
 * provider libraries (`libonnxruntime_providers_cuda.so`, `libonnxruntime_providers_shared.so`)
 * of PyPI's `onnxruntime-gpu` wheel of exactly the onnxruntime-node version Deno resolved, into
 * the folder onnxruntime-node loads them from (`cudaProviderPath()`). With `--runtime`, also the
 * NVIDIA libraries that wheel declares (its `cuda` and `cudnn` extras: CUDA runtime, cuBLAS,
 * cuRAND, cuFFT, NVRTC, cuDNN, and what they require) from NVIDIA's PyPI wheels into
 * `--dir`/lib, for LD_LIBRARY_PATH. The NVIDIA driver (libcuda.so.1) comes from no wheel.
 *
 * Each wheel is checked against PyPI's sha256, each extracted library against the wheel's
 * RECORD; libraries are written to a temporary folder and renamed into place.
 *
 *     deno task cuda:install              # the provider only
 *     deno task cuda:install --runtime    # and NVIDIA's libraries into .cache/cuda/lib
 * @module
 */
import { createHash } from "node:crypto";
import { either as E } from "fp-ts";
import type { Either } from "../lib/result.ts";
import { Graph } from "../lib/graph/builder.ts";
import { add } from "../lib/graph/ops.ts";
import { cudaProviderPath, openSession } from "../lib/graph/session.ts";
import { commandLine, fail, plural, progressLine } from "./cli.ts";
import {
  type ByteSource,
  extractEntry,
  fileSource,
  parseWheelName,
  pickRelease,
  pickWheel,
  type PypiFile,
  readEntry,
  recordDigests,
  type Requirement,
  requirements,
  sameVersion,
  zipEntries,
} from "./wheel.ts";

const COMMAND = {
  name: "cuda_install",
  usage: "deno task cuda:install [options]",
  options: {
    runtime: {
      type: "boolean",
      help: "also NVIDIA's CUDA and cuDNN libraries (about 1.3 GB of wheels) into DIR/lib",
    },
    dir: {
      type: "string",
      arg: "DIR",
      default: ".cache/cuda",
      help: "folder for downloaded wheels (DIR/wheels) and NVIDIA's libraries (DIR/lib)",
    },
    skip: {
      type: "string",
      arg: "a,b",
      help: "NVIDIA distributions to leave out with --runtime (e.g. nvidia-cudnn-cu13)",
    },
    wheel: {
      type: "string",
      arg: "FILE",
      help: "an onnxruntime-gpu wheel already on disk, instead of PyPI's",
    },
    index: {
      type: "string",
      arg: "URL",
      default: "https://pypi.org/pypi",
      help: "PyPI's JSON API (URL/NAME/json)",
    },
    "keep-wheels": { type: "boolean", help: "keep the downloaded wheels in DIR/wheels" },
    force: { type: "boolean", help: "reinstall the provider even where it is present" },
  },
  epilog: "Then check it: any command with --provider cuda says what, if anything, is missing.",
} as const;

const values = commandLine(COMMAND).values;
const say = (text: string) => console.log(text);
const die = (message: string): never => fail(COMMAND.name, message);
const orDie = <A>(r: Either<string, A>): A => E.isLeft(r) ? die(r.left) : r.right;

if (Deno.build.os !== "linux") die(`the CUDA provider is for Linux, not ${Deno.build.os}`);
const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
const providerPath = cudaProviderPath();
const providerDir = providerPath.replace(/\/[^/]+$/, "");
const packageJson = new URL("../../../../package.json", `file://${providerPath}`).pathname;
const nodeVersion: string = JSON.parse(await Deno.readTextFile(packageJson)).version;
const dir = values.dir.startsWith("/") ? values.dir : `${Deno.cwd()}/${values.dir}`;
const wheelDir = `${dir}/wheels`, libDir = `${dir}/lib`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
let downloaded = 0;

/** PyPI's JSON of a project: its releases, each a list of files. */
async function releasesOf(
  name: string,
): Promise<Either<string, { url: string; releases: Record<string, PypiFile[]> }>> {
  const url = `${values.index.replace(/\/$/, "")}/${name}/json`;
  try {
    const res = await fetch(url);
    if (!res.ok) return E.left(`${url}: HTTP ${res.status}`);
    return E.right({ url, releases: (await res.json()).releases });
  } catch (e) {
    return E.left(`${url}: ${e instanceof Error ? e.message : e}`);
  }
}

/** The sha256 (hex) of a file, streamed. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Downloads `file` into the wheel folder (or reuses a copy with the right sha256). */
async function download(file: PypiFile, base: string): Promise<Either<string, string>> {
  await Deno.mkdir(wheelDir, { recursive: true });
  const path = `${wheelDir}/${file.filename}`;
  try {
    if ((await sha256Of(path)) === file.digests.sha256) return E.right(path);
  } catch { /* not there yet */ }
  const url = new URL(file.url, base).href; // a mirror may list addresses relative to its JSON
  const partial = `${path}.part`;
  const progress = progressLine({ every: 10_000 });
  const hash = createHash("sha256");
  let got = 0;
  try {
    const res = await fetch(url);
    if (!res.ok || !res.body) return E.left(`${url}: HTTP ${res.status}`);
    using out = await Deno.open(partial, { write: true, create: true, truncate: true });
    for await (const chunk of res.body) {
      hash.update(chunk);
      got += chunk.length;
      let done = 0;
      while (done < chunk.length) done += await out.write(chunk.subarray(done));
      progress.update(`${file.filename}: ${mib(got)} of ${mib(file.size)}`);
    }
  } catch (e) {
    return E.left(`${url}: ${e instanceof Error ? e.message : e}`);
  }
  progress.done();
  const digest = hash.digest("hex");
  if (digest !== file.digests.sha256) {
    await Deno.remove(partial);
    return E.left(`${file.filename}: sha256 ${digest}, PyPI lists ${file.digests.sha256}`);
  }
  await Deno.rename(partial, path);
  downloaded += got;
  say(`downloaded ${file.filename} (${mib(got)})`);
  return E.right(path);
}

/** An open wheel: its members, RECORD digests and METADATA text. */
async function openWheel(source: ByteSource, name: string) {
  const entries = orDie(await zipEntries(source));
  const member = async (suffix: string) => {
    const entry = entries.find((e) => e.name.endsWith(suffix) && e.name.includes(".dist-info/"));
    if (!entry) return die(`${name}: no ${suffix} in its .dist-info`);
    return new TextDecoder().decode(orDie(await readEntry(source, entry)));
  };
  return {
    entries,
    record: recordDigests(await member("/RECORD")),
    metadata: await member("/METADATA"),
  };
}

/**
 * Extracts `names` (member path to file name) into a temporary folder inside `target`, checked
 * against the RECORD, then renames each into `target`.
 */
async function install(
  source: ByteSource,
  wheel: Awaited<ReturnType<typeof openWheel>>,
  names: ReadonlyMap<string, string>,
  target: string,
): Promise<number> {
  await Deno.mkdir(target, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: target, prefix: ".cuda-install-" });
  let bytes = 0;
  try {
    for (const [member, name] of names) {
      const entry = wheel.entries.find((e) => e.name === member)!;
      orDie(
        await extractEntry(source, entry, `${tmp}/${name}`, { sha256: wheel.record.get(member) }),
      );
      bytes += entry.size;
    }
    // The provider is renamed last: with it present, the shared library is too.
    for (
      const [, name] of [...names].sort(([, a], [, b]) =>
        Number(a.includes("_cuda")) - Number(b.includes("_cuda"))
      )
    ) {
      await Deno.rename(`${tmp}/${name}`, `${target}/${name}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  return bytes;
}

async function installed(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// 1. The provider, from onnxruntime-gpu of the same version.
let wheelPath: string, wheelBase = "file:///";
if (values.wheel) {
  const name = orDie(parseWheelName(values.wheel));
  if (name.name !== "onnxruntime-gpu") die(`${values.wheel} is not an onnxruntime-gpu wheel`);
  orDie(sameVersion(name.version, nodeVersion));
  wheelPath = values.wheel;
} else {
  const project = orDie(await releasesOf("onnxruntime-gpu"));
  const files = project.releases[nodeVersion];
  if (!files?.length) {
    const newest = Object.keys(project.releases).at(-1);
    die(
      `PyPI has no onnxruntime-gpu ${nodeVersion} (onnxruntime-node's version; newest listed ` +
        `${newest}): the provider must come from the same release, so pass --wheel FILE`,
    );
  }
  const file = orDie(pickWheel(files, { arch }));
  orDie(sameVersion(orDie(parseWheelName(file.filename)).version, nodeVersion));
  wheelBase = project.url;
  wheelPath = "";
  if (values.force || !(await installed(providerPath)) || values.runtime) {
    wheelPath = orDie(await download(file, wheelBase));
  }
}

const wheels: string[] = [];
if (wheelPath) {
  using file = await Deno.open(wheelPath);
  const source = await fileSource(file);
  const wheel = await openWheel(source, wheelPath);
  const version = wheel.metadata.match(/^Version:\s*(\S+)/m)?.[1] ?? "unknown";
  orDie(sameVersion(version, nodeVersion));
  if (values.force || !(await installed(providerPath))) {
    const members = new Map(
      ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"].map((n) => {
        const entry = wheel.entries.find((e) => e.name.endsWith(`/capi/${n}`));
        if (!entry) die(`${wheelPath}: no onnxruntime/capi/${n}`);
        return [entry!.name, n] as const;
      }),
    );
    const bytes = await install(source, wheel, members, providerDir);
    say(
      `installed the CUDA provider of onnxruntime-gpu ${version} (${mib(bytes)}) in ${providerDir}`,
    );
  } else say(`the CUDA provider is already installed in ${providerDir} (--force to reinstall)`);
  if (!values.wheel) wheels.push(wheelPath);

  // 2. NVIDIA's libraries, as the wheel's extras declare them, and what those require.
  if (values.runtime) {
    const skip = new Set((values.skip ?? "").split(",").map((s) => s.trim()).filter((s) => s));
    const queue: Requirement[] = requirements(wheel.metadata, {
      extras: ["cuda", "cudnn"],
      only: /^nvidia-/,
    });
    const seen = new Set<string>();
    let libBytes = 0, libCount = 0;
    while (queue.length > 0) {
      const req = queue.shift()!;
      if (seen.has(req.name) || skip.has(req.name)) continue;
      seen.add(req.name);
      const project = orDie(await releasesOf(req.name));
      const { version, file } = orDie(pickRelease(project.releases, req.spec, { arch }));
      say(`${req.name}${req.spec} -> ${version}`);
      const path = orDie(await download(file, project.url));
      wheels.push(path);
      using nv = await Deno.open(path);
      const nvSource = await fileSource(nv);
      const nvWheel = await openWheel(nvSource, file.filename);
      const libs = new Map(
        nvWheel.entries.filter((e) => /(^|\/)lib\/[^/]+\.so(\.\d+)*$/.test(e.name))
          .map((e) => [e.name, e.name.split("/").pop()!] as const),
      );
      libBytes += await install(nvSource, nvWheel, libs, libDir);
      libCount += libs.size;
      queue.push(...requirements(nvWheel.metadata, { only: /^nvidia-/ }));
    }
    say(
      `installed ${plural(libCount, "library", "libraries")} (${mib(libBytes)}) from ` +
        `${plural(seen.size, "NVIDIA wheel")} in ${libDir}` +
        (skip.size ? ` (left out: ${[...skip].join(", ")})` : ""),
    );
    say(`start commands with: LD_LIBRARY_PATH=${libDir}`);
  }
} else say(`the CUDA provider is already installed in ${providerDir} (--force to reinstall)`);
if (!values["keep-wheels"]) {
  for (const w of wheels) await Deno.remove(w).catch(() => {});
}
if (downloaded > 0) say(`downloaded ${mib(downloaded)} in all`);

// 3. Whether a CUDA session opens here: the check names whatever is still missing.
const g = new Graph("cuda_check");
g.output(add(g.input("x", { dtype: "float32", shape: [1] }), 1), "y");
const opened = await openSession(g, { provider: "cuda", threads: 1 })();
if (E.isRight(opened)) {
  await opened.right.ort.release();
  say("a CUDA session opens on this machine");
} else {say(
    `the provider is installed, but a CUDA session does not open yet: ${opened.left.message}`,
  );}
