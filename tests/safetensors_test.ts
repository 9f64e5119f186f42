import assert from "@std/assert";
import { either as E } from "fp-ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafetensorsFile,
  saveSafetensors,
  type StTensor,
  toFloat16,
  toFloat32,
} from "../lib/graph/safetensors.ts";
import { writeFileAtomic } from "../lib/io.ts";

// Fixtures come from the reference implementation: tests/fixtures/make_safetensors_fixtures.py.
const fixture = (name: string): Promise<Uint8Array> =>
  Deno.readFile(new URL(`./fixtures/${name}`, import.meta.url));

const decoded = (bytes: Uint8Array): SafetensorsFile => {
  const result = decodeSafetensors(bytes);
  if (E.isLeft(result)) throw new Error(result.left.message);
  return result.right;
};

const leftMessage = <A>(result: E.Either<{ message: string }, A>): string =>
  E.isLeft(result) ? result.left.message : assert.fail("expected a Left");

/** A file with a hand-written header; the length prefix is right unless `headerLength` says. */
const fileWith = (header: string, data: number[] = [], headerLength?: number): Uint8Array => {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
};

const f32 = (shape: number[], values: number[]): StTensor => ({
  dtype: "F32",
  shape,
  data: new Float32Array(values),
});

// [bits, value] pairs; values from numpy (float16 -> float32, and bfloat16 bits << 16 viewed as
// float32): 1, -2, largest finite, smallest subnormal, largest subnormal, smallest normal,
// +inf, -inf, NaN, -0 and the value nearest 1/3.
const HALF: [number, number][] = [
  [0x3c00, 1],
  [0xc000, -2],
  [0x7bff, 65504],
  [0x0001, 5.960464477539063e-8],
  [0x03ff, 6.097555160522461e-5],
  [0x0400, 6.103515625e-5],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
  [0x7e00, NaN],
  [0x8000, -0],
  [0x3555, 0.333251953125],
];
const BRAIN: [number, number][] = [
  [0x3f80, 1],
  [0xc000, -2],
  [0x7f7f, 3.3895313892515355e38],
  [0x0001, 9.183549615799121e-41],
  [0x007f, 1.1663108012064884e-38],
  [0x0080, 1.1754943508222875e-38],
  [0x7f80, Infinity],
  [0xff80, -Infinity],
  [0x7fc0, NaN],
  [0x8000, -0],
  [0x3eab, 0.333984375],
];

/** The tensors of mixed.safetensors, as the Python script builds them. */
const MIXED: Record<string, StTensor> = {
  weight: f32([2, 3], [0.5, -1.5, 3.25, 1024, -0.125, 7]),
  bias: { dtype: "F64", shape: [2], data: new Float64Array([0.1, -2.5]) },
  step: { dtype: "I64", shape: [], data: new BigInt64Array([123456789012n]) },
  ids: { dtype: "I32", shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
  half: { dtype: "F16", shape: [11], data: new Uint16Array(HALF.map(([bits]) => bits)) },
  brain: { dtype: "BF16", shape: [11], data: new Uint16Array(BRAIN.map(([bits]) => bits)) },
  bytes: { dtype: "U8", shape: [4], data: new Uint8Array([0, 1, 254, 255]) },
  mask: { dtype: "BOOL", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  empty: f32([0, 3], []),
};
const MIXED_METADATA = { note: 'ünïcode "quoted"\n' };

const TINY: Record<string, StTensor> = {
  b: f32([2], [1, -2]),
  a: f32([1, 1], [0.5]),
  "10": f32([], [3]),
  "2": f32([0, 2], []),
};

Deno.test("encodeSafetensors() round-trips every dtype and metadata", () => {
  // A view at a non-zero offset checks that only the view's bytes are written.
  const backing = new Float64Array([9, 1.5, -2.25, 9]);
  const tensors = { ...MIXED, view: { dtype: "F64", shape: [2], data: backing.subarray(1, 3) } };
  const metadata = { b: "2", a: "", "10": "x", ü: "é" };
  const file = decoded(encodeSafetensors(tensors as Record<string, StTensor>, { metadata }));
  assert.deepEqual(file.metadata, metadata);
  assert.deepEqual(Object.keys(file.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors as Record<string, StTensor>)) {
    assert.deepEqual(file.tensors[name], { ...t, data: t.data.slice() }, name);
    assert.equal(file.tensors[name].data.byteOffset, 0);
  }
  assert.deepEqual(decoded(encodeSafetensors({})), { tensors: {}, metadata: {} });
});

Deno.test("encodeSafetensors() matches the reference Python bytes", async () => {
  assert.deepEqual(encodeSafetensors(TINY), await fixture("tiny.safetensors"));
  const mixed = encodeSafetensors(MIXED, { metadata: MIXED_METADATA });
  assert.deepEqual(mixed, await fixture("mixed.safetensors"));
});

Deno.test("encodeSafetensors() gives the same bytes whatever the insertion order", () => {
  const reversed = Object.fromEntries(Object.entries(MIXED).reverse());
  assert.deepEqual(encodeSafetensors(reversed), encodeSafetensors(MIXED));
});

Deno.test("decodeSafetensors() reads the reference Python files", async () => {
  const mixed = decoded(await fixture("mixed.safetensors"));
  assert.deepEqual(mixed.metadata, MIXED_METADATA);
  assert.deepEqual(mixed.tensors, MIXED);
  const tiny = decoded(await fixture("tiny.safetensors"));
  assert.deepEqual(tiny, { tensors: TINY, metadata: {} });
});

Deno.test("toFloat32() decodes F16 and BF16 known values, subnormals, infinities and NaN", () => {
  // deepEqual compares numbers with Object.is, so NaN and -0 are checked exactly.
  assert.deepEqual(Array.from(toFloat32(MIXED.half)), HALF.map(([, value]) => value));
  assert.deepEqual(Array.from(toFloat32(MIXED.brain)), BRAIN.map(([, value]) => value));
  assert.deepEqual(toFloat32(MIXED.bias), new Float32Array([0.1, -2.5]));
  const weight = toFloat32(MIXED.weight);
  assert.deepEqual(weight, MIXED.weight.data);
  assert.notEqual(weight, MIXED.weight.data); // a copy, not an alias
  assert.throws(() => toFloat32(MIXED.ids), /need an F32, F64, F16 or BF16 tensor/);
});

Deno.test("toFloat16() inverts toFloat32() on every half and rounds float32 to nearest, ties to even", () => {
  // Every finite half and the infinities survive the round trip bit for bit (NaNs stay NaN).
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = toFloat16(toFloat32({ dtype: "F16", shape: [65536], data: bits }));
  for (let i = 0; i < 65536; i++) {
    const nan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (nan) assert.ok((back[i] & 0x7c00) === 0x7c00 && (back[i] & 0x3ff) !== 0, `bits ${i}`);
    else assert.equal(back[i], i, `bits ${i.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: to the even one, 1
    [1 + 3 * 2 ** -11, 0x3c02], // halfway, rounds up to the even mantissa
    [65504, 0x7bff], // the largest half
    [65520, 0x7c00], // halfway to 2^16: rounds to infinity
    [-1e9, 0xfc00],
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -26, 0x0000], // under half of it: zero
    [-0, 0x8000],
  ];
  for (const [value, expected] of cases) {
    assert.equal(toFloat16(new Float32Array([value]))[0], expected, `${value}`);
  }
  const f16 = { dtype: "F16" as const, shape: [2], data: toFloat16(new Float32Array([0.1, 3])) };
  assert.deepEqual(decoded(encodeSafetensors({ f16 })).tensors.f16, f16);
});

Deno.test("encodeSafetensors() names the tensor whose dtype, shape or data disagree", () => {
  const encode = (t: unknown) => () => encodeSafetensors({ w: t as StTensor });
  assert.throws(encode(f32([2, 2], [1, 2, 3])), /tensor "w": data has 3 elements.*needs 4/);
  assert.throws(
    encode({ dtype: "F16", shape: [1], data: new Float32Array(1) }),
    /tensor "w": dtype F16 needs a Uint16Array, got Float32Array/,
  );
  assert.throws(encode({ dtype: "F8", shape: [1], data: new Uint8Array(1) }), /unknown dtype/);
  assert.throws(encode(f32([-1], [])), /tensor "w": shape must hold non-negative integers/);
  assert.throws(() => encodeSafetensors({ __metadata__: f32([], [1]) }), /cannot name a tensor/);
  const metadata = { n: 3 } as unknown as Record<string, string>;
  assert.throws(() => encodeSafetensors({}, { metadata }), /metadata "n": value must be a string/);
});

Deno.test("decodeSafetensors() names each malformed input", async () => {
  const good = await fixture("tiny.safetensors");
  const tensor = (entry: string) => `{"w":${entry}}`;
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /^truncated file: 5 bytes/],
    [good.subarray(0, 100), /^header length 224 is beyond the file: only 92 bytes follow it/],
    [good.subarray(0, good.length - 1), /^truncated file: tensor data ends at byte 16.* has 15/],
    [fileWith("", [], 2 ** 40), /^header length 1099511627776 is beyond the file/],
    [fileWith('{"w": {"dtype": "F32",'), /^header is not valid JSON/],
    [fileWith("[1, 2]"), /^header is not valid JSON: not an object/],
    // Invalid UTF-8: a lone 0xff byte in place of the "?".
    [fileWith('{"a":"?"}').map((b, i) => i === 14 ? 0xff : b), /^header is not valid JSON/],
    [
      fileWith(tensor('{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}'), [0]),
      /^tensor "w": unknown dtype "F8_E4M3"/,
    ],
    [
      fileWith(tensor('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}'), [0, 0, 0, 0]),
      /^tensor "w": shape \[2\] of F32 needs 8 bytes, data_offsets span 4/,
    ],
    [
      fileWith(tensor('{"dtype":"U8","shape":[1],"data_offsets":[2,1]}'), [0]),
      /^tensor "w": data_offsets must be \[begin, end\]/,
    ],
    [
      fileWith(tensor('{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}'), [0]),
      /^tensor "w": shape must be an array of non-negative integers/,
    ],
    [fileWith(tensor("3")), /^tensor "w": entry must be an object/],
    [
      fileWith(
        '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},' +
          '"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}',
        [0, 0, 0],
      ),
      /^tensor "b": data_offsets \[1, 3\] are not contiguous: overlap data ending at 2/,
    ],
    [
      fileWith(tensor('{"dtype":"U8","shape":[1],"data_offsets":[1,2]}'), [0, 0]),
      /^tensor "w": data_offsets \[1, 2\] are not contiguous: leave a gap after byte 0/,
    ],
    [
      fileWith(tensor('{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'), [0, 7]),
      /^1 bytes after the last tensor belong to no tensor/,
    ],
    [fileWith('{"__metadata__":{"k":1}}'), /^__metadata__ "k": value must be a string/],
    [fileWith('{"__metadata__":[]}'), /^__metadata__ must be an object of strings/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.match(leftMessage(decodeSafetensors(bytes)), pattern);
  }
});

Deno.test("decodeSafetensors() returns aligned copies for unaligned data", () => {
  // A 55-byte header puts the F64 data at file offset 63: not 8-aligned.
  const header = '{"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}';
  const data = new Uint8Array(new Float64Array([1.5, -3]).buffer);
  const file = fileWith(header, [...data]);
  const shifted = new Uint8Array(file.length + 3);
  shifted.set(file, 3); // also start the file itself at an odd offset of its buffer
  const x = decoded(shifted.subarray(3)).tensors.x;
  assert.deepEqual(x.data, new Float64Array([1.5, -3]));
  assert.notEqual(x.data.buffer, shifted.buffer);
});

const withTempDir = async (body: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await Deno.makeTempDir({ prefix: "safetensors_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

const listDir = async (dir: string): Promise<string[]> =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("saveSafetensors() writes atomically, creates directories and leaves no temp files", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/runs/a/model.safetensors`;
    assert.deepEqual(await saveSafetensors(path, TINY)(), E.right(undefined));
    assert.deepEqual(
      await saveSafetensors(path, MIXED, { metadata: MIXED_METADATA })(),
      E.right(undefined),
    );
    assert.deepEqual(await listDir(`${dir}/runs/a`), ["model.safetensors"]);
    assert.deepEqual(await Deno.readFile(path), await fixture("mixed.safetensors"));
    assert.deepEqual(
      await loadSafetensors(path)(),
      E.right({ tensors: MIXED, metadata: MIXED_METADATA }),
    );
  }));

Deno.test("saveSafetensors() leaves the prior file intact when encoding fails", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    await saveSafetensors(path, TINY)();
    const bad = { ...TINY, w: f32([3], [1]) };
    assert.match(
      leftMessage(await saveSafetensors(path, bad)()),
      /^cannot encode .*model\.safetensors: tensor "w"/,
    );
    assert.deepEqual(await Deno.readFile(path), await fixture("tiny.safetensors"));
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
  }));

Deno.test("writeFileAtomic() keeps the prior file and drops its temp file when a write fails", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/out.bin`;
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    // Fails after the temp file is open, as a full disk would.
    class FailingBytes extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        throw new Error("disk full");
      }
    }
    await assert.rejects(writeFileAtomic(path, new FailingBytes(8)), /disk full/);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await listDir(dir), ["out.bin"]);
  }));

Deno.test("writeFileAtomic() removes its temp file when the rename fails", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/target/inner`, { recursive: true }); // cannot replace a directory
    await assert.rejects(writeFileAtomic(`${dir}/target`, new Uint8Array([1])));
    assert.deepEqual(await listDir(dir), ["target"]);
  }));

Deno.test("loadSafetensors() names the path of a missing or corrupt file", () =>
  withTempDir(async (dir) => {
    const missing = leftMessage(await loadSafetensors(`${dir}/nope.safetensors`)());
    assert.match(missing, new RegExp(`^cannot read ${dir}/nope\\.safetensors: `));
    await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array([1, 2]));
    const corrupt = leftMessage(await loadSafetensors(`${dir}/bad.safetensors`)());
    assert.match(corrupt, /bad\.safetensors: truncated file: 2 bytes/);
  }));
