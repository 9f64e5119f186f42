/**
 * The checkpoint format: safetensors (https://github.com/huggingface/safetensors), readable by
 * PyTorch, JAX and the `safetensors` Python package.
 *
 * Layout: a little-endian u64 header length N, N bytes of UTF-8 JSON mapping each tensor name
 * to `{dtype, shape, data_offsets}` (plus optional string `__metadata__`), padded with spaces
 * so the data starts 8-byte aligned, then the little-endian data of all tensors, back to back.
 * Like the reference writer, tensors are laid out by descending dtype width and then by name,
 * which keeps every tensor naturally aligned and makes the bytes identical to Python's.
 * Typed arrays are copied in host byte order: every platform Deno runs on is little endian.
 * @module
 */

import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { sizeOf } from "./types.ts";
import { writeFileAtomic } from "../io.ts";

/** Element types of a safetensors file that this project reads and writes. */
export type StDType = "F32" | "F64" | "F16" | "BF16" | "I64" | "I32" | "U8" | "BOOL";

/** Tensor storage. F16 and BF16 hold raw bits in a Uint16Array; BOOL holds 0/1 bytes. */
export type StData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Uint8Array
  | Uint16Array;

/** One named tensor: dtype, row-major shape and flat data. */
export interface StTensor {
  /** Element type as written in the file header. */
  dtype: StDType;
  /** Row-major shape. */
  shape: number[];
  /** Flat contents (raw bits for F16 and BF16). */
  data: StData;
}

/** The contents of a file: tensors and string metadata (empty when the file has none). */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Record<string, StTensor>;
  /** The header's `__metadata__` strings. */
  metadata: Record<string, string>;
}

/** Why a file could not be read or written; the message names the tensor or field at fault. */
export interface SafetensorsError {
  /** Discriminant for telling SafetensorsError apart from other errors. */
  readonly _tag: "SafetensorsError";
  /** What went wrong, naming the tensor or field at fault. */
  readonly message: string;
}

type ArrayCtor = new (buffer: ArrayBuffer) => StData;

/** Bytes per element, typed array, and the reference writer's layout rank (wider first). */
const DTYPES: Readonly<Record<StDType, { size: number; array: ArrayCtor; rank: number }>> = {
  I64: { size: 8, array: BigInt64Array, rank: 7 },
  F64: { size: 8, array: Float64Array, rank: 6 },
  F32: { size: 4, array: Float32Array, rank: 5 },
  I32: { size: 4, array: Int32Array, rank: 4 },
  BF16: { size: 2, array: Uint16Array, rank: 3 },
  F16: { size: 2, array: Uint16Array, rank: 2 },
  U8: { size: 1, array: Uint8Array, rank: 1 },
  BOOL: { size: 1, array: Uint8Array, rank: 0 },
};

const METADATA_KEY = "__metadata__";
const utf8 = new TextEncoder();

const stError = (message: string): SafetensorsError => ({ _tag: "SafetensorsError", message });
const fail = <A>(message: string): Either<SafetensorsError, A> => E.left(stError(message));
const messageOf = (e: unknown): string => e instanceof Error ? e.message : String(e);
const isDType = (x: unknown): x is StDType => typeof x === "string" && Object.hasOwn(DTYPES, x);
const isShape = (x: unknown): x is number[] =>
  Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
/** Byte order of UTF-8, i.e. code point order, as the reference sorts names (JS `<` does not). */
const compareUtf8 = (a: string, b: string): number => {
  const [x, y] = [utf8.encode(a), utf8.encode(b)];
  const i = x.findIndex((v, k) => v !== y[k]);
  return i === -1 || i >= y.length ? x.length - y.length : x[i] - y[i];
};

const rank = (t: StTensor): number => DTYPES[t.dtype].rank;
const bytesOf = (a: StData): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Throws an Error naming the tensor unless its dtype, shape and array agree. */
const checkTensor = (name: string, { dtype, shape, data }: StTensor): void => {
  const where = `tensor "${name}"`;
  if (name === METADATA_KEY) throw new Error(`"${METADATA_KEY}" cannot name a tensor`);
  if (!isDType(dtype)) throw new Error(`${where}: unknown dtype "${dtype}"`);
  if (!isShape(shape)) throw new Error(`${where}: shape must hold non-negative integers`);
  const array = DTYPES[dtype].array;
  if (!(data instanceof array)) {
    const got = (data as object)?.constructor?.name ?? typeof data;
    throw new Error(`${where}: dtype ${dtype} needs a ${array.name}, got ${got}`);
  }
  const need = sizeOf(shape);
  if (data.length !== need) {
    throw new Error(`${where}: data has ${data.length} elements, shape [${shape}] needs ${need}`);
  }
};

/** `{"k":v,...}` in the given key order; a JS object would move integer-like keys first. */
const jsonObject = (pairs: readonly (readonly [string, string])[]): string =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;

/** Key order and spacing as the reference writer's, which the byte-exact fixtures check. */
const entryJson = ({ dtype, shape }: StTensor, begin: number, end: number): string =>
  `{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

const metadataJson = (metadata: Record<string, string>): string =>
  jsonObject(
    Object.entries(metadata).sort(([a], [b]) => compareUtf8(a, b)).map(([k, v]) => {
      if (typeof v !== "string") throw new Error(`metadata "${k}": value must be a string`);
      return [k, JSON.stringify(v)];
    }),
  );

/**
 * Serialises tensors to safetensors bytes; the same input always gives the same bytes, equal
 * to the reference Python writer's. Throws an Error naming the tensor whose dtype, shape and
 * data disagree, or the metadata key whose value is not a string.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const w = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
 * const bytes = encodeSafetensors({ w }, { metadata: { step: "3" } });
 * assert.equal((bytes.length - 8) % 8, 0);
 * const decoded = decodeSafetensors(bytes);
 * if (decoded._tag === "Left") throw new Error(decoded.left.message);
 * assert.deepEqual(decoded.right.tensors.w.data, new Float32Array([1, 2]));
 * assert.deepEqual(decoded.right.metadata, { step: "3" });
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, StTensor>,
  { metadata }: { metadata?: Record<string, string> } = {},
): Uint8Array {
  const entries = Object.entries(tensors);
  entries.forEach(([name, t]) => checkTensor(name, t));
  entries.sort(([a, s], [b, t]) => rank(t) - rank(s) || compareUtf8(a, b));
  const offsets = [0];
  entries.forEach(([, t], i) => offsets.push(offsets[i] + t.data.byteLength));
  const json = utf8.encode(jsonObject([
    ...(metadata === undefined ? [] : [[METADATA_KEY, metadataJson(metadata)] as const]),
    ...entries.map(([name, t], i) => [name, entryJson(t, offsets[i], offsets[i + 1])] as const),
  ]));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offsets[entries.length]);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // space padding, as the reference writes
  entries.forEach(([, t], i) => out.set(bytesOf(t.data), 8 + headerLength + offsets[i]));
  return out;
}

interface Entry {
  name: string;
  dtype: StDType;
  shape: number[];
  begin: number;
  end: number;
}

const parseEntry = (name: string, raw: unknown): Either<SafetensorsError, Entry> => {
  const where = `tensor "${name}"`;
  if (!isRecord(raw)) return fail(`${where}: entry must be an object, got ${JSON.stringify(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isDType(dtype)) {
    const known = Object.keys(DTYPES).join(", ");
    return fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${known})`);
  }
  if (!isShape(shape)) return fail(`${where}: shape must be an array of non-negative integers`);
  if (!isShape(offsets) || offsets.length !== 2 || offsets[0] > offsets[1]) {
    const got = JSON.stringify(offsets);
    return fail(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${got}`);
  }
  const [begin, end] = offsets;
  const need = sizeOf(shape) * DTYPES[dtype].size;
  return need === end - begin ? E.right({ name, dtype, shape, begin, end }) : fail(
    `${where}: shape [${shape}] of ${dtype} needs ${need} bytes, data_offsets span ${end - begin}`,
  );
};

const parseMetadata = (raw: unknown): Either<SafetensorsError, Record<string, string>> => {
  if (raw === undefined) return E.right({});
  if (!isRecord(raw)) return fail(`${METADATA_KEY} must be an object of strings`);
  const bad = Object.entries(raw).find(([, v]) => typeof v !== "string");
  return bad === undefined
    ? E.right(raw as Record<string, string>)
    : fail(`${METADATA_KEY} "${bad[0]}": value must be a string, got ${JSON.stringify(bad[1])}`);
};

/** The reference's rule: sorted by offset, the tensors tile the data section exactly. */
const checkTiling = (
  entries: readonly Entry[],
  dataLength: number,
): Either<SafetensorsError, Entry[]> => {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const { name, begin, end } of sorted) {
    if (begin !== at) {
      const why = begin < at ? `overlap data ending at ${at}` : `leave a gap after byte ${at}`;
      return fail(`tensor "${name}": data_offsets [${begin}, ${end}] are not contiguous: ${why}`);
    }
    at = end;
  }
  if (at > dataLength) {
    return fail(
      `truncated file: tensor data ends at byte ${at}, the data section has ${dataLength}`,
    );
  }
  return at < dataLength
    ? fail(`${dataLength - at} bytes after the last tensor belong to no tensor`)
    : E.right(sorted);
};

const parseJson = (text: Uint8Array): Either<SafetensorsError, Record<string, unknown>> =>
  F.pipe(
    E.tryCatch(
      () => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(text)) as unknown,
      (e) => stError(`header is not valid JSON: ${messageOf(e)}`),
    ),
    E.chain((h) => isRecord(h) ? E.right(h) : fail("header is not valid JSON: not an object")),
  );

/**
 * Parses safetensors bytes. Tensor data is copied out, so every returned array is aligned and
 * independent of `bytes`. A Left names what is wrong: a truncated file, a header length beyond
 * the file, bad JSON, an unknown dtype, or offsets that overlap, leave gaps, fall outside the
 * data or disagree with the shape.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { decodeSafetensors } from "./safetensors.ts";
 * const result = decodeSafetensors(new Uint8Array([1, 2, 3]));
 * assert.ok(result._tag === "Left" && result.left.message.startsWith("truncated file"));
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
): Either<SafetensorsError, SafetensorsFile> {
  if (bytes.length < 8) {
    return fail(`truncated file: ${bytes.length} bytes, but the header length alone takes 8`);
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    return fail(`header length ${n} is beyond the file: only ${bytes.length - 8} bytes follow it`);
  }
  const dataStart = 8 + Number(n);
  return F.pipe(
    parseJson(bytes.subarray(8, dataStart)),
    E.chain((header) =>
      F.pipe(
        E.Do,
        E.apS("metadata", parseMetadata(header[METADATA_KEY])),
        E.apS(
          "entries",
          F.pipe(
            Object.entries(header).filter(([name]) => name !== METADATA_KEY),
            E.traverseArray(([name, raw]) => parseEntry(name, raw)),
            E.chain((entries) => checkTiling(entries, bytes.length - dataStart)),
          ),
        ),
      )
    ),
    E.map(({ metadata, entries }) => ({
      metadata,
      tensors: Object.fromEntries(entries.map(({ name, dtype, shape, begin, end }) => {
        const copy = bytes.slice(dataStart + begin, dataStart + end); // own, aligned buffer
        return [name, { dtype, shape, data: new DTYPES[dtype].array(copy.buffer) }];
      })),
    })),
  );
}

/** IEEE 754 binary16 bits to a number; exact, including subnormals, infinities and NaN. */
const halfToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
};

// All 65536 halves, decoded once: converting 20M halves by table lookup took 90 ms here,
// against 3.9 s decoding each one (float16 checkpoints such as large-v3 are 1.5G halves).
let halfTable: Float32Array | undefined;

/**
 * The float32 value of IEEE half-precision bits (exact: every half fits in a float32).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { halfToFloat } from "./safetensors.ts";
 * assert.equal(halfToFloat(0x3c00), 1);
 * assert.equal(halfToFloat(0xc000), -2);
 * assert.equal(halfToFloat(0x7c00), Infinity);
 * ```
 */
export function halfToFloat(bits: number): number {
  halfTable ??= Float32Array.from({ length: 65536 }, (_, i) => halfToNumber(i));
  return halfTable[bits & 0xffff];
}

/**
 * IEEE half-precision bits of float32 values (an F16 tensor's data), rounded to nearest, ties to
 * even: values beyond ±65504 (the largest half) round to ±Infinity, small ones to subnormals or
 * zero, NaN stays NaN. {@link toFloat32} reads them back.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { toFloat16, toFloat32 } from "./safetensors.ts";
 * assert.deepEqual(toFloat16(new Float32Array([1, -2, 65520])), new Uint16Array([0x3c00, 0xc000, 0x7c00]));
 * const half = { dtype: "F16" as const, shape: [2], data: toFloat16(new Float32Array([0.5, 1 / 3])) };
 * assert.deepEqual(toFloat32(half), new Float32Array([0.5, 0.333251953125]));
 * ```
 */
export function toFloat16(data: Float32Array): Uint16Array {
  // Float16Array (ES2025) rounds as IEEE 754 says; its bytes are the half bits.
  const half = Float16Array.from(data);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

/**
 * Converts a floating-point tensor (F32, F64, F16 or BF16) to a new Float32Array. F16 and BF16
 * are decoded exactly (both fit in float32); F64 is rounded. Throws for other dtypes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { toFloat32 } from "./safetensors.ts";
 * const half = { dtype: "F16" as const, shape: [2], data: new Uint16Array([0x3c00, 0xc000]) };
 * assert.deepEqual(toFloat32(half), new Float32Array([1, -2]));
 * const brain = { dtype: "BF16" as const, shape: [1], data: new Uint16Array([0x3f80]) };
 * assert.deepEqual(toFloat32(brain), new Float32Array([1]));
 * ```
 */
export function toFloat32(t: StTensor): Float32Array {
  const { dtype, data } = t;
  if (dtype === "F32" && data instanceof Float32Array) return data.slice();
  if (dtype === "F64" && data instanceof Float64Array) return Float32Array.from(data);
  if (dtype === "F16" && data instanceof Uint16Array) {
    halfToFloat(0); // builds the table
    const out = new Float32Array(data.length), table = halfTable!;
    for (let i = 0; i < data.length; i++) out[i] = table[data[i]];
    return out;
  }
  if (dtype === "BF16" && data instanceof Uint16Array) {
    // bfloat16 is the top half of a float32.
    return new Float32Array(Uint32Array.from(data, (b) => b << 16).buffer);
  }
  const got = `${dtype} in a ${data.constructor.name}`;
  throw new TypeError(
    `toFloat32: need an F32, F64, F16 or BF16 tensor with matching data, got ${got}`,
  );
}

/**
 * Encodes and writes a file atomically (temporary file, then rename; parent directories are
 * created), so a crash never leaves a half-written checkpoint. Nothing runs until the task does.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadSafetensors, saveSafetensors } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * const w = { dtype: "I32" as const, shape: [1], data: new Int32Array([7]) };
 * const saved = await saveSafetensors(`${dir}/ckpt/model.safetensors`, { w })();
 * assert.equal(saved._tag, "Right");
 * const loaded = await loadSafetensors(`${dir}/ckpt/model.safetensors`)();
 * if (loaded._tag === "Left") throw new Error(loaded.left.message);
 * assert.deepEqual(loaded.right.tensors.w.data, new Int32Array([7]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, StTensor>,
  options: { metadata?: Record<string, string> } = {},
): TaskEither<SafetensorsError, void> {
  return F.pipe(
    TE.tryCatch(
      () => Promise.resolve().then(() => encodeSafetensors(tensors, options)),
      (e) => stError(`cannot encode ${path}: ${messageOf(e)}`),
    ),
    TE.chain((bytes) =>
      TE.tryCatch(
        () => writeFileAtomic(path, bytes),
        (e) => stError(`cannot write ${path}: ${messageOf(e)}`),
      )
    ),
  );
}

/**
 * Reads and decodes a file; every error message names `path`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadSafetensors } from "./safetensors.ts";
 * const result = await loadSafetensors("no/such/file.safetensors")();
 * assert.ok(result._tag === "Left" && result.left.message.includes("no/such/file.safetensors"));
 * ```
 */
export function loadSafetensors(path: string): TaskEither<SafetensorsError, SafetensorsFile> {
  return F.pipe(
    TE.tryCatch(() => Deno.readFile(path), (e) => stError(`cannot read ${path}: ${messageOf(e)}`)),
    TE.chainEitherK((bytes) =>
      F.pipe(decodeSafetensors(bytes), E.mapLeft((e) => stError(`${path}: ${e.message}`)))
    ),
  );
}
