/**
 * ONNX Runtime sessions over built graphs: thread count, execution provider, and named
 * feeds and fetches checked against the graph's static signature. Effects return
 * TaskEither; `orThrow` (lib/result.ts) unwraps at the outermost edge (scripts, tests).
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
// deno-lint-ignore no-import-prefix -- explicit, so mod.ts loads without this repository's deno.json (tests/library_test.ts)
import * as ort from "npm:onnxruntime-node@~1.30.0";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import type { Graph, Value } from "./builder.ts";
import { toOnnx, writeOnnx } from "./serialize.ts";
import { dtypeOfArray, type Shape, showShape, sizeOf, type TensorData } from "./types.ts";

/** Execution providers flowt2s offers. */
export type Provider = "cpu" | "cuda";

/** How to open a session. */
export interface SessionOptions {
  /** Intra-op threads (default: ONNX Runtime's choice, one per core). */
  readonly threads?: number;
  /** 'cpu' (default) or 'cuda' (needs the CUDA provider library, see {@link cudaProviderPath}). */
  readonly provider?: Provider;
  /** ONNX Runtime graph optimisation level (default 'all'). */
  readonly optimization?: "disabled" | "basic" | "extended" | "all";
  /**
   * ONNX Runtime graph optimizers to skip (default {@link DEFAULT_DISABLED_OPTIMIZERS}).
   */
  readonly disabledOptimizers?: readonly string[];
  /**
   * Total initializer bytes above which the model opens from a temporary folder whose large
   * tensors are ONNX external data, instead of from one in-memory protobuf (default
   * {@link EXTERNAL_DATA_ABOVE}). Protobuf caps a message at 2 GiB.
   */
  readonly externalDataAbove?: number;
  /**
   * Keep ONNX Runtime's CPU memory arena (default false). With the arena, each session keeps
   * the peak of its intermediate tensors allocated between runs, so a process with one
   * session per batch shape holds all their peaks at once; without it, a run's intermediates
   * go back to malloc when it ends, for the next run of any session to reuse, and a process
   * holds about one run's peak (the smoke run: 4.6 GB peak RSS with, 0.78 GB without).
   */
  readonly memoryArena?: boolean;
  /**
   * Folder in which that temporary folder is made (default: the system temp folder, TMPDIR).
   * It needs room for the weights; the temporary folder is removed once the session is open.
   */
  readonly externalDataDir?: string;
}

/**
 * Initializer bytes above which {@link openSession} goes through external data: 256 MiB.
 * Protobuf caps a message at 2 GiB (Whisper medium and large are over it), and already at
 * 604 MB the folder route opened faster (1.6-3.7 s vs 3.5-6.1 s) with half the extra memory,
 * since no protobuf copy of the weights is built.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { EXTERNAL_DATA_ABOVE } from "./session.ts";
 * assert.ok(EXTERNAL_DATA_ABOVE < 2 ** 31);
 * ```
 */
export const EXTERNAL_DATA_ABOVE = 256 * 2 ** 20;

/**
 * Fusing a Transpose into MatMul (FusedMatMul with transA) is slower than keeping the
 * transpose: MLAS's transposed-A GEMM ran the weight gradient [2048,1536]^T @ [2048,384] at
 * 95 GFLOP/s versus 116 for an explicit transpose then GEMM on this 2-core CPU, and the
 * block train step 4% faster (BENCHMARKS.md).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { matmul, transpose } from "./ops.ts";
 * import { DEFAULT_DISABLED_OPTIMIZERS, openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * assert.ok(DEFAULT_DISABLED_OPTIMIZERS.includes("MatmulTransposeFusion"));
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [2, 1] });
 * g.output(matmul(transpose(a), a), "y"); // a^T a, the pattern the fusion would rewrite
 * const s = await orThrow(openSession(g, { threads: 1, disabledOptimizers: [] })); // fusion on
 * const { y } = await orThrow(runSession(s, { a: new Float32Array([3, 4]) }));
 * assert.deepEqual([...y], [25]);
 * ```
 */
export const DEFAULT_DISABLED_OPTIMIZERS: readonly string[] = ["MatmulTransposeFusion"];

/** A failure opening or running a session, with a message that names the cause. */
export interface SessionError {
  /** Discriminant for telling SessionError apart from other errors. */
  readonly _tag: "SessionError";
  /** What went wrong, naming the graph, input or output at fault. */
  readonly message: string;
}

const sessionError = (message: string): SessionError => ({ _tag: "SessionError", message });

/**
 * The ONNX Runtime session behind a {@link Session}: an onnxruntime-node `InferenceSession`,
 * typed by the members flowt2s relies on so that the public API does not expose ORT's types.
 */
export interface OrtSession {
  /** Input names of the loaded model, in model order. */
  readonly inputNames: readonly string[];
  /** Output names of the loaded model, in model order. */
  readonly outputNames: readonly string[];
  /**
   * Runs the model on `feeds` (onnxruntime-node `Tensor`s by input name) and resolves to the
   * `fetches` outputs by name, each an ORT tensor whose `data` is the flat typed array.
   */
  run(
    feeds: Readonly<Record<string, unknown>>,
    fetches: readonly string[],
  ): Promise<Readonly<Record<string, { readonly data: unknown }>>>;
  /** Frees the native session; it cannot run afterwards. */
  release(): Promise<void>;
}

/** An open session with the static signature of the graph it was built from. */
export interface Session {
  /** The underlying ONNX Runtime session. */
  readonly ort: OrtSession;
  /** Graph inputs the caller feeds, by name, with their dtypes and static shapes. */
  readonly inputs: ReadonlyMap<string, Pick<Value, "dtype" | "shape">>;
  /**
   * The graph's shared tensors ({@link Graph.shared}) by name: inputs that every run feeds from
   * these arrays, which the session holds by reference (never copies).
   */
  readonly shared: ReadonlyMap<string, Pick<Value, "dtype" | "shape"> & { data: TensorData }>;
  /** Bytes of the initializers stored in the model, of which ONNX Runtime keeps its own copy. */
  readonly storedBytes: number;
  /** Graph outputs by (serialised) name, with their dtypes and static shapes. */
  readonly outputs: ReadonlyMap<string, Pick<Value, "dtype" | "shape">>;
}

/** Named tensors: typed arrays keyed by graph input or output name. */
export type Tensors = Record<string, TensorData>;

/**
 * Where onnxruntime-node expects its CUDA provider library. npm's postinstall script of
 * onnxruntime-node downloads it from NuGet; Deno skips npm build scripts by default.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { cudaProviderPath } from "./session.ts";
 * const path = cudaProviderPath(); // whether or not the library is installed
 * assert.ok(path.startsWith("/") && path.endsWith("/libonnxruntime_providers_cuda.so"));
 * ```
 */
export function cudaProviderPath(): string {
  const index = new URL(import.meta.resolve("npm:onnxruntime-node@~1.30.0"));
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  return new URL(`../bin/napi-v6/linux/${arch}/libonnxruntime_providers_cuda.so`, index).pathname;
}

const CUDA_HELP = (path: string) =>
  `the CUDA execution provider is not installed (missing ${path}). onnxruntime-node ships ` +
  `only its CPU build. Run 'deno task cuda:install' (the provider libraries of PyPI's ` +
  `onnxruntime-gpu wheel of the same version; add --runtime for NVIDIA's CUDA and cuDNN ` +
  `libraries), or, with access to api.nuget.org, onnxruntime-node's own postinstall script: ` +
  `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${path.replace(/bin\/napi-v6\/.*$/, "script/install.js")}` +
  ` (or reinstall with 'deno install --allow-scripts=npm:onnxruntime-node'), or use provider 'cpu'.`;

/** One line of `ldd`'s output: a library and where the loader found it (null: not found). */
export interface LddEntry {
  /** The library as its dependant names it (`libcublas.so.13`). */
  readonly name: string;
  /** Where the dynamic loader found it, or null when it did not. */
  readonly path: string | null;
}

/**
 * The libraries of `ldd`'s output (glibc's format: `\tname => path (address)`, `\tname =>
 * not found`); the vDSO and the loader itself, which have no `=>`, are left out.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { lddEntries } from "./session.ts";
 * const ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n" +
 *   "\tlibcublas.so.13 => not found\n" +
 *   "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f80)\n" +
 *   "\t/lib64/ld-linux-x86-64.so.2 (0x00007f81)\n";
 * assert.deepEqual(lddEntries(ldd), [
 *   { name: "libcublas.so.13", path: null },
 *   { name: "libc.so.6", path: "/lib/x86_64-linux-gnu/libc.so.6" },
 * ]);
 * ```
 */
export function lddEntries(ldd: string): LddEntry[] {
  return ldd.split("\n").flatMap((line) => {
    const m = line.trim().match(/^(\S+) => (?:(not found)|(\S+)(?: \(0x[0-9a-f]+\))?)$/);
    return m ? [{ name: m[1], path: m[2] ? null : m[3] }] : [];
  });
}

/** What {@link cudaLoadCheck} knows of the machine besides `ldd`'s output. */
export interface CudaMachine {
  /** Whether an NVIDIA kernel driver is loaded (`/proc/driver/nvidia/version` exists). */
  readonly driver: boolean;
  /** The folder `deno task cuda:install --runtime` writes NVIDIA's libraries to. */
  readonly runtimeDir: string;
  /** The file names in that folder (none when it does not exist). */
  readonly runtimeFiles: readonly string[];
  /** Whether the loader can find cuDNN 9 (`libcudnn.so.9`), which the provider opens only when used. */
  readonly cudnn: boolean;
}

/**
 * Why the CUDA provider library at `provider` cannot load, from `ldd`'s output for it: each
 * library the loader does not find, and the fix for each (`deno task cuda:install --runtime`
 * and LD_LIBRARY_PATH for NVIDIA's libraries, a driver for libcuda.so.1); Right when nothing
 * is missing.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { cudaLoadCheck } from "./session.ts";
 * const ldd = "\tlibcublas.so.13 => not found\n\tlibcudart.so.13 => /usr/local/cuda/lib/libcudart.so.13 (0x7f)\n" +
 *   "\tlibcuda.so.1 => not found\n";
 * const machine = { driver: false, runtimeDir: "/p/.cache/cuda/lib", runtimeFiles: [], cudnn: false };
 * const check = cudaLoadCheck("/p/libonnxruntime_providers_cuda.so", ldd, machine);
 * if (check._tag === "Right") throw new Error("expected a Left");
 * assert.match(check.left, /libcublas\.so\.13 not found/);
 * assert.match(check.left, /libcuda\.so\.1 not found: .*no NVIDIA driver is loaded on this machine/);
 * assert.match(check.left, /deno task cuda:install --runtime/);
 * assert.match(check.left, /LD_LIBRARY_PATH=\/p\/\.cache\/cuda\/lib/);
 * const ok = cudaLoadCheck("/p/x.so", "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", { ...machine, driver: true, cudnn: true });
 * assert.equal(ok._tag, "Right");
 * ```
 */
export function cudaLoadCheck(
  provider: string,
  ldd: string,
  machine: CudaMachine,
): Either<string, void> {
  const entries = lddEntries(ldd);
  const missing = entries.filter((e) => e.path === null).map((e) => e.name);
  // cuDNN is opened with dlopen when a graph first needs it, so ldd does not list it.
  const wheelLibs = [...missing.filter((n) => n !== "libcuda.so.1")];
  if (!machine.cudnn) wheelLibs.push("libcudnn.so.9");
  if (missing.length === 0 && machine.cudnn) return E.right(undefined);
  const cuda = entries.map((e) => e.name.match(/^libcudart\.so\.(\d+)$/)?.[1]).find((v) => v);
  const have = new Set(machine.runtimeFiles);
  const lines = wheelLibs.map((name) =>
    name === "libcudnn.so.9"
      ? `libcudnn.so.9 not found (cuDNN 9, opened when a graph first needs it)`
      : `${name} not found`
  );
  if (missing.includes("libcuda.so.1")) {
    lines.push(
      `libcuda.so.1 not found: it comes with the NVIDIA driver, not with a wheel, and ` +
        (machine.driver
          ? `the loaded driver's library is not on the loader's path`
          : `no NVIDIA driver is loaded on this machine (no /proc/driver/nvidia/version)`),
    );
  }
  const fixes: string[] = [];
  const inDir = wheelLibs.filter((n) => have.has(n)),
    notInDir = wheelLibs.filter((n) => !have.has(n));
  if (notInDir.length > 0) {
    fixes.push(
      `'deno task cuda:install --runtime' downloads ${notInDir.join(", ")} from PyPI's NVIDIA ` +
        `wheels into ${machine.runtimeDir}; start the command with ` +
        `LD_LIBRARY_PATH=${machine.runtimeDir}`,
    );
  } else if (inDir.length > 0) {
    fixes.push(
      `${inDir.join(", ")} ${inDir.length === 1 ? "is" : "are"} in ${machine.runtimeDir}: start ` +
        `the command with LD_LIBRARY_PATH=${machine.runtimeDir} (the loader reads it only at start)`,
    );
  }
  if (missing.includes("libcuda.so.1")) {
    fixes.push(
      `install an NVIDIA driver` + (cuda ? ` that supports CUDA ${cuda}` : "") +
        (cuda === "13" ? ` (R580 or later)` : ""),
    );
  }
  return E.left(
    `the CUDA provider ${provider} cannot load: ${lines.join("; ")}. To fix: ${
      fixes.join("; ")
    }; ` +
      `or use provider 'cpu'`,
  );
}

/** The machine as {@link cudaLoadCheck} sees it, and `ldd`'s output (undefined without ldd). */
function cudaMachine(provider: string): { ldd?: string; machine: CudaMachine } {
  let runtimeDir = ".cache/cuda/lib";
  try {
    runtimeDir = `${Deno.cwd()}/${runtimeDir}`;
  } catch { /* no read permission for the working folder: the relative path */ }
  const names = (dir: string) => {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch {
      return [];
    }
  };
  const exists = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  const run = (cmd: string, args: string[]) => {
    try {
      const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
      return new TextDecoder().decode(out.stdout);
    } catch {
      return undefined; // no such program, or no --allow-run: ONNX Runtime will say what fails
    }
  };
  const searched = (Deno.env.get("LD_LIBRARY_PATH") ?? "").split(":").filter((d) => d)
    .concat(["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/local/cuda/lib64"]);
  const cudnn = searched.some((d) => exists(`${d}/libcudnn.so.9`)) ||
    /\blibcudnn\.so\.9\b/.test(run("ldconfig", ["-p"]) ?? run("/sbin/ldconfig", ["-p"]) ?? "");
  return {
    ldd: run("ldd", [provider]),
    machine: {
      driver: exists("/proc/driver/nvidia/version"),
      runtimeDir,
      runtimeFiles: names(runtimeDir),
      cudnn,
    },
  };
}

/** glibc's mallopt parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
let mallocTuned = false;

/**
 * Without ONNX Runtime's arena, a run's intermediates come from malloc and go back to it when
 * the run ends. glibc then hands each block over its mmap threshold back to the system, so the
 * next run faults every page of it in again (53 million page faults in the 50-step smoke run,
 * 1.4-1.6 million with this, against 1.2 million with the arena). Fixing the mmap threshold at
 * 32 MiB (glibc's dynamic one starts at 128 KiB) and the trim threshold at 128 MiB once per
 * process keeps freed blocks in malloc's heaps for the next run of any session to reuse, and
 * hands free memory beyond that back (with a 2 GiB trim threshold the smoke run peaked at 0.83
 * and 1.13 GB, with 128 MiB at 0.78 and 0.77 GB). Linux with glibc only, and only with FFI
 * permission (without, glibc's defaults stay: slower, same results).
 */
function keepFreedMemory(): void {
  if (mallocTuned) return;
  mallocTuned = true;
  if (Deno.build.os !== "linux") return;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return;
    const libc = Deno.dlopen("libc.so.6", {
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
    libc.symbols.mallopt(M_MMAP_THRESHOLD, 32 * 2 ** 20);
    libc.symbols.mallopt(M_TRIM_THRESHOLD, 128 * 2 ** 20);
  } catch {
    // Not glibc (musl, say): its defaults stay.
  }
}

let cudaLoads = false;

function providerCheck(provider: Provider): Either<SessionError, void> {
  if (provider === "cpu" || cudaLoads) return E.right(undefined);
  if (Deno.build.os !== "linux") {
    return E.left(sessionError(`provider 'cuda' is only offered on Linux, not ${Deno.build.os}`));
  }
  const path = cudaProviderPath();
  const shared = path.replace(/_cuda\.so$/, "_shared.so");
  try {
    Deno.statSync(path);
  } catch {
    return E.left(sessionError(CUDA_HELP(path)));
  }
  try {
    Deno.statSync(shared);
  } catch {
    return E.left(sessionError(
      `the CUDA provider is incomplete: ${shared} is missing next to it; run ` +
        `'deno task cuda:install' again, or use provider 'cpu'`,
    ));
  }
  const { ldd, machine } = cudaMachine(path);
  if (ldd === undefined) return E.right(undefined); // cannot check: ONNX Runtime will say
  const check = cudaLoadCheck(path, ldd, machine);
  if (E.isLeft(check)) return E.left(sessionError(check.left));
  cudaLoads = true; // checked once per process: the loader's path does not change after start
  return E.right(undefined);
}

const messageOf = (e: unknown): string => e instanceof Error ? e.message : String(e);

/**
 * Opens a graph from a fresh temporary folder with external data, then removes the folder.
 * Removing it at once is safe: ORT has read (or mapped) every initializer when create()
 * returns, and on Linux and macOS a mapped file lives on after unlink until ORT unmaps it at
 * release. Until then the disk space stays in use.
 */
function openFromFolder(
  graph: Graph,
  options: { parent?: string; weightBytes: number; ort: ort.InferenceSession.SessionOptions },
): TaskEither<string, ort.InferenceSession> {
  const where = options.parent ?? "the system temp folder";
  const help = `set externalDataDir (or TMPDIR) to a writable folder on a disk with ` +
    `${options.weightBytes} bytes free`;
  return async () => {
    let dir: string;
    try {
      dir = await Deno.makeTempDir({ dir: options.parent, prefix: "flowt2s-onnx-" });
    } catch (e) {
      return E.left(`cannot make a temp folder in ${where}: ${messageOf(e)}; ${help}`);
    }
    const opened = await F.pipe(
      writeOnnx(graph, dir),
      TE.mapLeft((e) => `${e.message}; ${help}`),
      TE.flatMap(({ model }) =>
        TE.tryCatch(
          () => ort.InferenceSession.create(model, options.ort),
          (e) => `cannot open ${model}: ${messageOf(e)}`,
        )
      ),
    )();
    try {
      await Deno.remove(dir, { recursive: true });
    } catch (e) {
      if (E.isRight(opened)) await opened.right.release();
      return E.left(`cannot remove temp folder ${dir}: ${messageOf(e)}; delete it by hand`);
    }
    return opened;
  };
}

/**
 * Serialises a graph and opens it in ONNX Runtime: from memory, or, when its initializers
 * total more than `externalDataAbove` bytes, from a temporary folder with external data
 * (removed once the session is open; see {@link SessionOptions.externalDataDir}).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { mul } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2] });
 * g.output(mul(x, 3), "y");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const { y } = await orThrow(runSession(s, { x: new Float32Array([1, 2]) }));
 * assert.ok(y[1] === 6);
 * const viaDisk = await orThrow(openSession(g, { threads: 1, externalDataAbove: 0 }));
 * assert.deepEqual((await orThrow(runSession(viaDisk, { x: new Float32Array([1, 2]) }))).y, y);
 * // A shared tensor stays the caller's array: the session feeds it by reference at each run.
 * const weight = new Float32Array([10, 20]);
 * const h = new Graph();
 * h.output(mul(h.input("x", { dtype: "float32", shape: [2] }), h.shared("w", { data: weight, shape: [2] })), "y");
 * const s2 = await orThrow(openSession(h, { threads: 1 }));
 * assert.ok(s2.shared.get("w")?.data === weight && s2.storedBytes === 0 && !s2.inputs.has("w"));
 * assert.deepEqual([...(await orThrow(runSession(s2, { x: new Float32Array([1, 2]) }))).y], [10, 40]);
 * ```
 */
export function openSession(
  graph: Graph,
  options: SessionOptions = {},
): TaskEither<SessionError, Session> {
  const provider = options.provider ?? "cpu";
  const sharedValues = new Set(graph.sharedTensors.map((s) => s.value));
  const signature = (vs: readonly Value[]) =>
    new Map(vs.map((v) => [graph.serialName(v), { dtype: v.dtype, shape: v.shape }]));
  const shared = new Map(graph.sharedTensors.map(({ value, data }) => [
    graph.serialName(value),
    { dtype: value.dtype, shape: value.shape, data },
  ]));
  const ortOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: options.threads ?? 0,
    interOpNumThreads: 1,
    // Without the arena, a memory pattern would be one block per run, over the mmap threshold.
    enableCpuMemArena: options.memoryArena ?? false,
    enableMemPattern: options.memoryArena ?? false,
    graphOptimizationLevel: options.optimization ?? "all",
    extra: {
      optimization: {
        disable_specified_optimizers: (options.disabledOptimizers ?? DEFAULT_DISABLED_OPTIMIZERS)
          .join(","),
      },
    },
  };
  if (!options.memoryArena && provider === "cpu") keepFreedMemory();
  const weightBytes = graph.initializers.reduce((n, i) => n + i.data.byteLength, 0);
  const open: TaskEither<string, ort.InferenceSession> =
    weightBytes > (options.externalDataAbove ?? EXTERNAL_DATA_ABOVE)
      ? openFromFolder(graph, { parent: options.externalDataDir, weightBytes, ort: ortOptions })
      : weightBytes >= 2 ** 31
      ? TE.left(
        `its initializers total ${weightBytes} bytes, over protobuf's 2 GiB limit for an ` +
          `in-memory model; leave externalDataAbove under 2 GiB`,
      )
      : TE.tryCatch(() => ort.InferenceSession.create(toOnnx(graph), ortOptions), messageOf);
  const failed = (m: string) =>
    sessionError(`cannot open graph '${graph.name}' on ${provider}: ${m}`);
  return F.pipe(
    TE.fromEither(providerCheck(provider)),
    TE.flatMap(() => F.pipe(open, TE.mapLeft(failed))),
    TE.map((session) => ({
      ort: session,
      inputs: signature(graph.inputs.filter((v) => !sharedValues.has(v))),
      shared,
      storedBytes: weightBytes,
      outputs: signature(graph.outputs),
    })),
  );
}

function checkFeed(
  name: string,
  data: TensorData | undefined,
  spec: Pick<Value, "dtype" | "shape"> | undefined,
): Either<SessionError, ort.Tensor> {
  if (!spec) return E.left(sessionError(`'${name}' is not an input of this graph`));
  if (!data) return E.left(sessionError(`input '${name}' ${showShape(spec.shape)} was not fed`));
  const known = [Float32Array, Float64Array, BigInt64Array, Uint8Array].some((c) =>
    data instanceof c
  );
  if (!known) {
    const kind = (data as object)?.constructor?.name ?? typeof data;
    return E.left(sessionError(`input '${name}' must be a ${spec.dtype} typed array, got ${kind}`));
  }
  const dtype = dtypeOfArray(data);
  if (dtype !== spec.dtype || data.length !== sizeOf(spec.shape)) {
    return E.left(sessionError(
      `input '${name}' expects ${spec.dtype} ${showShape(spec.shape)} (${sizeOf(spec.shape)} ` +
        `elements), got ${dtype} with ${data.length} elements`,
    ));
  }
  return E.right(new ort.Tensor(spec.dtype, data, spec.shape as Shape as number[]));
}

/**
 * Runs a session on named feeds; returns the requested fetches (default: every output).
 * Unknown, missing or misshapen feeds are errors naming the input.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { exp, neg } from "./ops.ts";
 * import { openSession, runSession } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const g = new Graph();
 * const x = g.input("x", { dtype: "float32", shape: [2] });
 * g.output(exp(x), "e");
 * g.output(neg(x), "n");
 * const s = await orThrow(openSession(g, { threads: 1 }));
 * const out = await orThrow(runSession(s, { x: new Float32Array([0, 1]) }, { fetches: ["n"] }));
 * assert.deepEqual(Object.keys(out), ["n"]);
 * assert.deepEqual([...out.n], [-0, -1]);
 * const misshapen = runSession(s, { x: new Float32Array(3) });
 * await assert.rejects(orThrow(misshapen), /input 'x' expects float32 \[2\]/);
 * ```
 */
export function runSession(
  session: Session,
  feeds: Tensors,
  options: { fetches?: readonly string[] } = {},
): TaskEither<SessionError, Tensors> {
  const { fetches } = options;
  const tensors: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(feeds)) {
    if (session.shared.has(name)) {
      return TE.left(sessionError(
        `'${name}' is a shared tensor the session feeds itself; leave it out of the feeds`,
      ));
    }
    if (!session.inputs.has(name)) {
      return TE.left(
        sessionError(
          `'${name}' is not an input; inputs are ${[...session.inputs.keys()].join(", ")}`,
        ),
      );
    }
  }
  for (const [name, spec] of session.inputs) {
    const t = checkFeed(name, feeds[name], spec);
    if (E.isLeft(t)) return TE.left(t.left);
    tensors[name] = t.right;
  }
  for (const [name, { dtype, shape, data }] of session.shared) {
    // Wraps the array in place: onnxruntime-node reads a CPU tensor's buffer without a copy.
    tensors[name] = new ort.Tensor(dtype, data as Float32Array, shape as number[]);
  }
  const wanted = fetches ?? [...session.outputs.keys()];
  for (const name of wanted) {
    if (!session.outputs.has(name)) {
      return TE.left(sessionError(`'${name}' is not an output of this graph`));
    }
  }
  return TE.tryCatch(async () => {
    const out = await session.ort.run(tensors, wanted);
    return Object.fromEntries(wanted.map((n) => [n, out[n].data as TensorData]));
  }, (e) => sessionError(`run failed: ${String(e)}`));
}

/** Opened sessions (or anything opened like one) by key, shared by the callers that open them. */
export type OpenCache<A> = Map<string, Promise<Either<SessionError, A>>>;

/**
 * Opens once per key: concurrent and later callers share the first open; a failed open is
 * not kept, so the next call retries (e.g. after installing the CUDA provider). Graphs have
 * static shapes, so callers key by graph and shape.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { taskEither as TE } from "fp-ts";
 * import { cachedOpen, type OpenCache } from "./session.ts";
 * import { orThrow } from "../result.ts";
 * const cache: OpenCache<number> = new Map();
 * let opened = 0;
 * const open = () => TE.fromTask(async () => ++opened);
 * assert.equal(await orThrow(cachedOpen(cache, "a", open)), 1);
 * assert.equal(await orThrow(cachedOpen(cache, "a", open)), 1); // not opened again
 * const failing = () => TE.left({ _tag: "SessionError" as const, message: "no" });
 * assert.ok((await cachedOpen(cache, "b", failing)())._tag === "Left");
 * assert.ok(!cache.has("b"));
 * ```
 */
export function cachedOpen<A>(
  cache: OpenCache<A>,
  key: string,
  open: () => TaskEither<SessionError, A>,
): TaskEither<SessionError, A> {
  return () => {
    let pending = cache.get(key);
    if (!pending) {
      pending = Promise.resolve().then(() => open()());
      cache.set(key, pending);
      pending.then((r) => E.isLeft(r) && cache.delete(key));
    }
    return pending;
  };
}
