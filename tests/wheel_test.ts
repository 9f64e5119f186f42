/** Wheels without Python (scripts/wheel.ts) and `deno task cuda:install`'s refusals; no network. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import {
  crc32,
  extractEntry,
  memorySource,
  pickRelease,
  pickWheel,
  type PypiFile,
  readEntry,
  recordDigests,
  requirements,
  sameVersion,
  storedZip,
  zipEntries,
} from "../scripts/wheel.ts";

/** The Right of `e`, failing the test with the Left's message otherwise. */
function right<A>(e: E.Either<unknown, A>): A {
  if (E.isLeft(e)) throw new Error(`expected a Right: ${JSON.stringify(e.left)}`);
  return e.right;
}

/** The Left of `e` (a message), failing the test on a Right. */
function left(e: E.Either<string, unknown>): string {
  if (E.isRight(e)) throw new Error("expected a Left");
  return e.left;
}

const root = new URL("../", import.meta.url).pathname;
const text = (s: string) => new TextEncoder().encode(s);
const file = (filename: string): PypiFile => ({
  filename,
  url: filename,
  size: 1,
  digests: { sha256: "" },
});

/** RECORD's form of a sha256: unpadded base64url. */
async function recordHash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A zip of one deflated member `name` (as wheels store libraries) after `stored`'s members. */
async function withDeflated(
  stored: Record<string, Uint8Array>,
  name: string,
  data: Uint8Array,
): Promise<Uint8Array> {
  const body = new Uint8Array(
    await new Response(
      new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("deflate-raw")),
    ).arrayBuffer(),
  );
  // Build the stored zip with a placeholder of the compressed length, then patch its headers.
  const zip = storedZip({ ...stored, [name]: body });
  const entry = right(await zipEntries(memorySource(zip))).find((e) => e.name === name)!;
  const view = new DataView(zip.buffer);
  const crc = crc32(data);
  view.setUint16(entry.headerOffset + 8, 8, true); // method
  view.setUint32(entry.headerOffset + 14, crc, true);
  view.setUint32(entry.headerOffset + 22, data.length, true); // uncompressed size
  const dirOffset = view.getUint32(zip.length - 22 + 16, true);
  for (let p = dirOffset; p < zip.length - 22;) {
    const n = view.getUint16(p + 28, true);
    if (new TextDecoder().decode(zip.subarray(p + 46, p + 46 + n)) === name) {
      view.setUint16(p + 10, 8, true);
      view.setUint32(p + 16, crc, true);
      view.setUint32(p + 24, data.length, true);
    }
    p += 46 + n;
  }
  return zip;
}

/** A fake onnxruntime-gpu wheel: a deflated provider, the shared library, METADATA and RECORD. */
async function fakeWheel(options: { version?: string; corrupt?: boolean } = {}) {
  const version = options.version ?? "1.30.0";
  const provider = text("provider ".repeat(1000)), shared = text("shared");
  const info = `onnxruntime_gpu-${version}.dist-info`;
  const metadata = text(
    `Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: ${version}\n` +
      `Requires-Dist: numpy>=1.21.6\n` +
      `Requires-Dist: nvidia-cuda-runtime~=13.0; extra == "cuda"\n` +
      `Requires-Dist: nvidia-cudnn-cu13~=9.0; extra == "cudnn"\n`,
  );
  const recorded = options.corrupt ? text("something else") : provider;
  const record = text(
    `onnxruntime/capi/libonnxruntime_providers_cuda.so,sha256=${await recordHash(recorded)},` +
      `${provider.length}\n` +
      `onnxruntime/capi/libonnxruntime_providers_shared.so,sha256=${await recordHash(shared)},6\n` +
      `${info}/RECORD,,\n`,
  );
  const zip = await withDeflated(
    {
      "onnxruntime/capi/libonnxruntime_providers_shared.so": shared,
      [`${info}/METADATA`]: metadata,
      [`${info}/RECORD`]: record,
    },
    "onnxruntime/capi/libonnxruntime_providers_cuda.so",
    provider,
  );
  return { zip, provider, shared };
}

Deno.test("extractEntry() writes a wheel's deflated provider checked against the RECORD", async () => {
  const { zip, provider } = await fakeWheel();
  const source = memorySource(zip);
  const entries = right(await zipEntries(source));
  assert.deepEqual(entries.map((e) => [e.name, e.method]), [
    ["onnxruntime/capi/libonnxruntime_providers_shared.so", 0],
    ["onnxruntime_gpu-1.30.0.dist-info/METADATA", 0],
    ["onnxruntime_gpu-1.30.0.dist-info/RECORD", 0],
    ["onnxruntime/capi/libonnxruntime_providers_cuda.so", 8],
  ]);
  const digests = recordDigests(
    new TextDecoder().decode(right(await readEntry(source, entries[2]))),
  );
  const cuda = entries[3];
  const dir = await Deno.makeTempDir();
  try {
    const out = await extractEntry(source, cuda, `${dir}/p.so`, { sha256: digests.get(cuda.name) });
    right(out);
    assert.deepEqual(await Deno.readFile(`${dir}/p.so`), provider);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extractEntry() refuses a member whose sha256 differs from the RECORD", async () => {
  const { zip } = await fakeWheel({ corrupt: true });
  const source = memorySource(zip);
  const entries = right(await zipEntries(source));
  const digests = recordDigests(
    new TextDecoder().decode(right(await readEntry(source, entries[2]))),
  );
  const cuda = entries[3];
  const path = await Deno.makeTempFile();
  try {
    const out = await extractEntry(source, cuda, path, { sha256: digests.get(cuda.name) });
    assert.match(left(out), /libonnxruntime_providers_cuda\.so: sha256 .* RECORD/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readEntry() refuses a member whose CRC-32 does not match", async () => {
  const zip = storedZip({ "a.txt": text("hello") });
  zip[30 + 5] ^= 1; // flip a bit of the member's data
  const source = memorySource(zip);
  const entries = right(await zipEntries(source));
  assert.match(left(await readEntry(source, entries[0])), /a\.txt: CRC-32 mismatch/);
});

Deno.test("zipEntries() refuses what is not a zip, and a zip64 archive", async () => {
  const notZip = await zipEntries(memorySource(text("not a zip at all, just some bytes")));
  assert.match(left(notZip), /not a zip archive/);
  const zip64 = storedZip({});
  new DataView(zip64.buffer).setUint32(16, 0xffffffff, true); // directory offset: see zip64
  assert.match(left(await zipEntries(memorySource(zip64))), /zip64/);
});

Deno.test("sameVersion() refuses an onnxruntime-gpu of another release", () => {
  assert.ok(E.isRight(sameVersion("1.30.0", "1.30.0")));
  const out = left(sameVersion("1.31.1", "1.30.0"));
  assert.match(out, /onnxruntime-gpu 1\.31\.1 does not match onnxruntime-node 1\.30\.0/);
  assert.match(out, /onnxruntime-gpu==1\.30\.0/);
});

Deno.test("pickWheel() takes a manylinux wheel of the machine, not free-threaded, not Windows", () => {
  // PyPI's onnxruntime-gpu 1.30.0 files, in PyPI's order (a selection).
  const files = [
    "onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_34_aarch64.whl",
    "onnxruntime_gpu-1.30.0-cp314-cp314t-manylinux_2_28_x86_64.whl",
    "onnxruntime_gpu-1.30.0-cp314-cp314-win_amd64.whl",
    "onnxruntime_gpu-1.30.0-cp313-cp313-manylinux_2_28_x86_64.whl",
    "onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_x86_64.whl",
  ].map(file);
  const x64 = right(pickWheel(files, { arch: "x86_64" }));
  const arm = right(pickWheel(files, { arch: "aarch64" }));
  assert.equal(x64.filename, "onnxruntime_gpu-1.30.0-cp313-cp313-manylinux_2_28_x86_64.whl");
  assert.equal(arm.filename, "onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_34_aarch64.whl");
  assert.match(left(pickWheel(files.slice(2, 3), { arch: "x86_64" })), /no manylinux x86_64 wheel/);
});

Deno.test("requirements() reads the NVIDIA wheels of onnxruntime-gpu 1.30.0's CUDA extras", () => {
  // Requires-Dist lines of onnxruntime_gpu-1.30.0.dist-info/METADATA (PyPI, 2026-12-03).
  const metadata = [
    "Requires-Dist: flatbuffers",
    "Requires-Dist: numpy>=1.21.6",
    'Requires-Dist: sympy; extra == "symbolic"',
    "Provides-Extra: cuda",
    'Requires-Dist: nvidia-cuda-nvrtc~=13.0; extra == "cuda"',
    'Requires-Dist: nvidia-cuda-runtime~=13.0; extra == "cuda"',
    'Requires-Dist: nvidia-cufft~=12.0; extra == "cuda"',
    'Requires-Dist: nvidia-curand~=10.0; extra == "cuda"',
    'Requires-Dist: nvidia-cudnn-cu13~=9.0; extra == "cudnn"',
  ].join("\n");
  assert.deepEqual(requirements(metadata, { extras: ["cuda", "cudnn"], only: /^nvidia-/ }), [
    { name: "nvidia-cuda-nvrtc", spec: "~=13.0" },
    { name: "nvidia-cuda-runtime", spec: "~=13.0" },
    { name: "nvidia-cufft", spec: "~=12.0" },
    { name: "nvidia-curand", spec: "~=10.0" },
    { name: "nvidia-cudnn-cu13", spec: "~=9.0" },
  ]);
  // A NVIDIA wheel's own requirement has no version and no marker.
  assert.deepEqual(requirements("Requires-Dist: nvidia-cuda-nvrtc\n", { only: /^nvidia-/ }), [
    { name: "nvidia-cuda-nvrtc", spec: "" },
  ]);
});

Deno.test("pickRelease() takes the newest compatible release with a Linux wheel", () => {
  const releases = {
    "12.9.1": [file("nvidia_cublas-12.9.1-py3-none-manylinux_2_17_x86_64.whl")],
    "13.0.2": [file("nvidia_cublas-13.0.2-py3-none-manylinux_2_17_x86_64.whl")],
    "13.10.0.20": [file("nvidia_cublas-13.10.0.20-py3-none-manylinux_2_5_x86_64.whl")],
    "13.11.0": [file("nvidia_cublas-13.11.0-py3-none-win_amd64.whl")],
    "13.12.0rc1": [file("nvidia_cublas-13.12.0rc1-py3-none-manylinux_2_17_x86_64.whl")],
  };
  assert.equal(right(pickRelease(releases, "~=13.0", { arch: "x86_64" })).version, "13.10.0.20");
  const none = pickRelease(releases, "~=14.0", { arch: "x86_64" });
  assert.match(left(none), /no release matching '~=14\.0'/);
});

Deno.test("cuda_install refuses a wheel of another version than onnxruntime-node's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wheel = `${dir}/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl`;
    await Deno.writeFile(wheel, (await fakeWheel({ version: "1.31.1" })).zip);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}scripts/cuda_install.ts`, "--wheel", wheel, "--dir", dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /onnxruntime-gpu 1\.31\.1 does not match onnxruntime-node 1\.30\.0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
