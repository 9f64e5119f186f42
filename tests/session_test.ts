/** Sessions: feeds checked against the graph signature, providers, serialisation. */
import assert from "@std/assert";
import { either as E } from "fp-ts";
import onnxProto from "onnx-proto";
import { Graph } from "../lib/graph/builder.ts";
import { add, cast, gather, matmul, mul } from "../lib/graph/ops.ts";
import { EXTERNAL_DATA_ALIGNMENT, toOnnx, writeOnnx } from "../lib/graph/serialize.ts";
import {
  cudaLoadCheck,
  cudaProviderPath,
  lddEntries,
  openSession,
  runSession,
  type SessionOptions,
} from "../lib/graph/session.ts";
import { orThrow } from "../lib/result.ts";

function small(): Graph {
  const g = new Graph("small");
  const x = g.input("x", { dtype: "float32", shape: [2, 2] });
  const y = g.input("y", { dtype: "float32", shape: [2] });
  g.output(add(mul(x, 2), y), "z");
  return g;
}

async function errorOf<A>(task: () => Promise<E.Either<{ message: string }, A>>): Promise<string> {
  const r = await task();
  if (E.isRight(r)) throw new Error("expected an error");
  return r.left.message;
}

Deno.test("runSession() returns named outputs", async () => {
  const s = await orThrow(openSession(small(), { threads: 1 }));
  const { z } = await orThrow(
    runSession(s, { x: new Float32Array([1, 2, 3, 4]), y: new Float32Array([10, 20]) }),
  );
  assert.deepEqual(Array.from(z as Float32Array), [12, 24, 16, 28]);
});

Deno.test("runSession() names a missing, unknown or misshapen input", async () => {
  const s = await orThrow(openSession(small(), { threads: 1 }));
  const x = new Float32Array(4), y = new Float32Array(2);
  assert.match(await errorOf(runSession(s, { x })), /input 'y' \[2\] was not fed/);
  assert.match(
    await errorOf(runSession(s, { x, y, w: y })),
    /'w' is not an input; inputs are x, y/,
  );
  assert.match(
    await errorOf(runSession(s, { x: new Float32Array(3), y })),
    /input 'x' expects float32 \[2, 2\] \(4 elements\), got float32 with 3 elements/,
  );
  assert.match(await errorOf(runSession(s, { x: new Float64Array(4), y })), /got float64/);
  assert.match(
    await errorOf(runSession(s, { x, y }, { fetches: ["nope"] })),
    /'nope' is not an output/,
  );
});

function cudaInstalled(): boolean {
  try {
    Deno.statSync(cudaProviderPath());
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "openSession() explains how to install the CUDA provider when it is missing",
  ignore: cudaInstalled(), // with the provider present there is nothing to explain
  fn: async () => {
    const message = await errorOf(openSession(small(), { provider: "cuda" }));
    assert.match(message, /CUDA execution provider is not installed/);
    assert.match(message, /Run 'deno task cuda:install'/);
    assert.match(message, /ONNXRUNTIME_NODE_INSTALL=cuda12 node .*script\/install\.js/);
    assert.match(message, /or use provider 'cpu'/);
  },
});

Deno.test({
  name:
    "openSession() names what the installed CUDA provider cannot load on a machine without a driver",
  ignore: !cudaInstalled() || (() => {
    try {
      Deno.statSync("/proc/driver/nvidia/version");
      return true; // with a driver the session may well open
    } catch {
      return false;
    }
  })(),
  fn: async () => {
    const message = await errorOf(openSession(small(), { provider: "cuda" }));
    assert.match(
      message,
      /libonnxruntime_providers_cuda\.so cannot load: .*libcuda\.so\.1 not found/,
    );
    assert.match(message, /no NVIDIA driver is loaded on this machine/);
  },
});

/** `ldd libonnxruntime_providers_cuda.so` (onnxruntime-gpu 1.30.0) on a machine without the
 * NVIDIA libraries or driver, but with CUDA 13's runtime in /usr/local/cuda-13.0/lib. */
const LDD_NOTHING = `\tlinux-vdso.so.1 (0x00007f8113512000)
\tlibcublasLt.so.13 => not found
\tlibcublas.so.13 => not found
\tlibcurand.so.10 => not found
\tlibcudart.so.13 => /usr/local/cuda-13.0/lib/libcudart.so.13 (0x00007f80fee00000)
\tlibcuda.so.1 => not found
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f81134fa000)
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f80fea00000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f80fec1e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f8113514000)
`;

/** The same with LD_LIBRARY_PATH at the NVIDIA wheels' libraries: only the driver is missing. */
const LDD_NO_DRIVER = `\tlinux-vdso.so.1 (0x00007ffd4b1e6000)
\tlibcublasLt.so.13 => /p/.cache/cuda/lib/libcublasLt.so.13 (0x00007f2c3a000000)
\tlibcublas.so.13 => /p/.cache/cuda/lib/libcublas.so.13 (0x00007f2c34c00000)
\tlibcurand.so.10 => /p/.cache/cuda/lib/libcurand.so.10 (0x00007f2c2e400000)
\tlibcudart.so.13 => /p/.cache/cuda/lib/libcudart.so.13 (0x00007f2c2e000000)
\tlibcuda.so.1 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2c2dc1e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f2c4d9b4000)
`;

const PROVIDER = "/p/libonnxruntime_providers_cuda.so";
const machine = { driver: false, runtimeDir: "/p/.cache/cuda/lib", runtimeFiles: [], cudnn: false };

function leftOf(e: E.Either<string, void>): string {
  if (E.isRight(e)) throw new Error("expected a Left");
  return e.left;
}

Deno.test("lddEntries() reads each library of ldd's output and where it was found", () => {
  const entries = lddEntries(LDD_NOTHING);
  assert.deepEqual(entries.filter((e) => e.path === null).map((e) => e.name), [
    "libcublasLt.so.13",
    "libcublas.so.13",
    "libcurand.so.10",
    "libcuda.so.1",
  ]);
  assert.deepEqual(entries.find((e) => e.name === "libcudart.so.13"), {
    name: "libcudart.so.13",
    path: "/usr/local/cuda-13.0/lib/libcudart.so.13",
  });
  assert.equal(entries.length, 8); // not the vDSO, not the loader
});

Deno.test("cudaLoadCheck() names each missing library, the download that brings it and the driver", () => {
  const message = leftOf(cudaLoadCheck(PROVIDER, LDD_NOTHING, machine));
  assert.match(message, /^the CUDA provider \/p\/libonnxruntime_providers_cuda\.so cannot load: /);
  for (const lib of ["libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9"]) {
    assert.match(message, new RegExp(`${lib.replaceAll(".", "\\.")} not found`));
  }
  assert.match(message, /libcuda\.so\.1 not found: it comes with the NVIDIA driver/);
  assert.match(message, /no NVIDIA driver is loaded on this machine/);
  assert.match(
    message,
    /'deno task cuda:install --runtime' downloads libcublasLt\.so\.13, libcublas\.so\.13, libcurand\.so\.10, libcudnn\.so\.9/,
  );
  assert.match(message, /LD_LIBRARY_PATH=\/p\/\.cache\/cuda\/lib/);
  assert.match(message, /NVIDIA driver that supports CUDA 13 \(R580 or later\)/);
  assert.match(message, /or use provider 'cpu'$/);
});

Deno.test("cudaLoadCheck() points at LD_LIBRARY_PATH when the libraries are downloaded but not found", () => {
  const downloaded = {
    ...machine,
    runtimeFiles: ["libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9"],
  };
  const message = leftOf(cudaLoadCheck(PROVIDER, LDD_NOTHING, downloaded));
  assert.match(message, /are in \/p\/\.cache\/cuda\/lib: start the command with LD_LIBRARY_PATH=/);
  assert.doesNotMatch(message, /downloads/);
});

Deno.test("cudaLoadCheck() names only the driver when the NVIDIA libraries are found", () => {
  const message = leftOf(cudaLoadCheck(PROVIDER, LDD_NO_DRIVER, { ...machine, cudnn: true }));
  assert.match(message, /cannot load: libcuda\.so\.1 not found: .*no NVIDIA driver is loaded/);
  assert.doesNotMatch(message, /libcublas|deno task cuda:install/);
  const loaded = leftOf(
    cudaLoadCheck(PROVIDER, LDD_NO_DRIVER, { ...machine, driver: true, cudnn: true }),
  );
  assert.match(loaded, /the loaded driver's library is not on the loader's path/);
});

Deno.test("cudaLoadCheck() passes when every library is found, and asks for cuDNN otherwise", () => {
  const all = LDD_NO_DRIVER.replace(
    "libcuda.so.1 => not found",
    "libcuda.so.1 => /lib/x86_64-linux-gnu/libcuda.so.1 (0x00007f2c2c000000)",
  );
  const ready = { ...machine, driver: true, cudnn: true };
  assert.ok(E.isRight(cudaLoadCheck(PROVIDER, all, ready)));
  const noCudnn = leftOf(cudaLoadCheck(PROVIDER, all, { ...ready, cudnn: false }));
  assert.match(noCudnn, /cannot load: libcudnn\.so\.9 not found \(cuDNN 9/);
  assert.match(noCudnn, /deno task cuda:install --runtime/);
});

Deno.test("toOnnx() is deterministic for the same build", () => {
  assert.deepEqual(toOnnx(small()), toOnnx(small()));
});

/** Weights from a fixed pseudo-random sequence, so both opens see identical bytes. */
function weights(n: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  });
}

/** x [4, 256] @ w1 [256, 64] + b [64] (tiny, stays inline), then @ w2 [64, 32]. */
function mlp(): Graph {
  const g = new Graph("mlp");
  const x = g.input("x", { dtype: "float32", shape: [4, 256] });
  const w1 = g.initializer("w1", { data: weights(256 * 64, 1), shape: [256, 64] });
  const b = g.initializer("b", { data: weights(64, 2), shape: [64] });
  const w2 = g.initializer("w2", { data: weights(64 * 32, 3), shape: [64, 32] });
  g.output(matmul(add(matmul(x, w1), b), w2), "y");
  return g;
}

/** Opens a graph from memory and forced through external data; returns both outputs. */
async function bothWays(g: Graph, feeds: Record<string, Float32Array>, parent: string) {
  const options: SessionOptions = { threads: 1 };
  const memory = await orThrow(openSession(g, options));
  const external = await orThrow(
    openSession(g, { ...options, externalDataAbove: 0, externalDataDir: parent }),
  );
  return {
    memory: await orThrow(runSession(memory, feeds)),
    external: await orThrow(runSession(external, feeds)),
  };
}

Deno.test("openSession() gives the same outputs from external data and removes its folder", async () => {
  const parent = await Deno.makeTempDir();
  const { memory, external } = await bothWays(mlp(), { x: weights(4 * 256, 4) }, parent);
  assert.deepEqual(external.y, memory.y);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(parent)), []); // temp folder gone
  await Deno.remove(parent);
});

Deno.test("openSession() opens int64 and float32 initializers from external data", async () => {
  const g = new Graph("mixed");
  const x = g.input("x", { dtype: "float32", shape: [8, 16] });
  const rows = BigInt64Array.from({ length: 512 }, (_, i) => BigInt((i * 5) % 8)); // 4 KiB
  const picked = gather(x, g.initializer("rows", { data: rows, shape: [512] }));
  const w = g.initializer("w", { data: weights(16 * 16, 5), shape: [16, 16] });
  g.output(matmul(picked, w), "y");
  const total = g.initializer("total", { data: rows, shape: [512] }); // int64 straight out
  g.output(cast(add(total, total), "float32"), "twice");
  const parent = await Deno.makeTempDir();
  const { memory, external } = await bothWays(g, { x: weights(8 * 16, 6) }, parent);
  assert.deepEqual(external.y, memory.y);
  assert.deepEqual(external.twice, Float32Array.from(rows, (r) => 2 * Number(r)));
  await Deno.remove(parent);
});

Deno.test("writeOnnx() stores large initializers as external data, not raw data", async () => {
  const g = mlp();
  const dir = await Deno.makeTempDir();
  const files = await orThrow(writeOnnx(g, `${dir}/model`));
  assert.equal(files.externalTensors, 2); // w1 and w2; b (256 bytes) stays inline
  const { TensorProto } = onnxProto.onnx;
  const bytes = await Deno.readFile(files.model);
  const weightBytes = g.initializers.reduce((n, i) => n + i.data.byteLength, 0);
  assert.ok(bytes.length * 20 < weightBytes, `model.onnx is ${bytes.length} bytes`);
  const data = await Deno.readFile(files.data);
  assert.equal(data.length, files.dataBytes);
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  assert.equal(model.graph?.initializer?.length, 3);
  for (const t of model.graph?.initializer ?? []) {
    const source = g.initializers.find((i) => i.value.name === t.name)!.data;
    const expected = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    if (t.name === "b") {
      assert.equal(t.dataLocation, TensorProto.DataLocation.DEFAULT);
      assert.deepEqual(t.rawData, expected);
      continue;
    }
    assert.equal(t.dataLocation, TensorProto.DataLocation.EXTERNAL);
    assert.equal(t.rawData?.length ?? 0, 0);
    const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    assert.equal(entry.location, "model.onnx.data");
    const offset = Number(entry.offset), length = Number(entry.length);
    assert.equal(offset % EXTERNAL_DATA_ALIGNMENT, 0);
    assert.deepEqual(data.subarray(offset, offset + length), expected);
  }
  // With nothing external the model is exactly the in-memory encoding.
  const inline = await orThrow(writeOnnx(g, `${dir}/inline`, { externalThreshold: Infinity }));
  assert.equal(inline.externalTensors, 0);
  assert.deepEqual(await Deno.readFile(inline.model), new Uint8Array(toOnnx(g)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openSession() names the folder when it cannot write external data", async () => {
  const parent = await Deno.makeTempDir();
  const missing = `${parent}/no/such/folder`;
  const message = await errorOf(
    openSession(mlp(), { externalDataAbove: 0, externalDataDir: missing }),
  );
  assert.match(message, /cannot open graph 'mlp' on cpu: cannot make a temp folder in /);
  assert.ok(message.includes(missing), message);
  assert.match(message, /set externalDataDir \(or TMPDIR\) to a writable folder/);
  // Under the threshold (default 1.5 GiB) the model opens from memory: the folder is unused.
  await orThrow(openSession(mlp(), { threads: 1, externalDataDir: missing }));
  await Deno.remove(parent);
});

Deno.test("runSession() names an input fed with the wrong kind of array", async () => {
  const g = new Graph();
  g.output(add(g.input("x", { dtype: "float32", shape: [2] }), 1), "y");
  const s = await orThrow(openSession(g, { threads: 1 }));
  const r = await runSession(s, { x: new Int32Array(2) as unknown as Float32Array })();
  if (E.isRight(r)) throw new Error("expected an error");
  assert.match(r.left.message, /input 'x' must be a float32 typed array, got Int32Array/);
});
