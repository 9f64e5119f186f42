/**
 * Reads the tensors of a `torch.save` file (PyTorch 1.6+: a zip holding `<name>/data.pkl`,
 * a pickle, and `<name>/data/<key>`, one entry per storage) without Python. Only the pickle
 * subset torch.save writes for dicts of tensors is understood: dicts, lists, tuples,
 * OrderedDict, numbers, strings, and tensors rebuilt by `torch._utils._rebuild_tensor_v2` /
 * `_rebuild_parameter` from float32, float16 or bfloat16 storages. Nothing is executed.
 * @module
 */
import { bf16FromBytes, ByteReader, f16FromBytes, f32FromBytes } from "./import_common.ts";

/** A tensor found in the pickle: its storage is read lazily from the zip. */
export interface TorchTensor {
  /** Discriminant among unpickled values. */
  readonly kind: "tensor";
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** Float32 values (strided views are gathered; half types widened). */
  readonly values: () => Float32Array;
}

/** Reads a zip's central directory; entries are decompressed when read. */
function zipEntries(bytes: Uint8Array): Map<string, () => Promise<Uint8Array>> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip file (no end-of-central-directory record)");
  let count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  // Zip64: the 32-bit fields are saturated and a locator just before points at the real ones.
  if ((at === 0xffffffff || count === 0xffff) && view.getUint32(end - 20, true) === 0x07064b50) {
    const z = Number(view.getBigUint64(end - 12, true));
    count = Number(view.getBigUint64(z + 32, true));
    at = Number(view.getBigUint64(z + 48, true));
  }
  const entries = new Map<string, () => Promise<Uint8Array>>();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = view.getUint16(at + 10, true);
    let size = view.getUint32(at + 20, true), local = view.getUint32(at + 42, true);
    const nameLength = view.getUint16(at + 28, true), extraLength = view.getUint16(at + 30, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64 extra field: 64-bit sizes and offset for the saturated 32-bit ones, in order.
    for (let x = at + 46 + nameLength; x < at + 46 + nameLength + extraLength;) {
      const id = view.getUint16(x, true), n = view.getUint16(x + 2, true);
      if (id === 1) {
        let y = x + 4;
        const next = () => (y += 8, Number(view.getBigUint64(y - 8, true)));
        if (view.getUint32(at + 24, true) === 0xffffffff) next();
        if (size === 0xffffffff) size = next();
        if (local === 0xffffffff) local = next();
      }
      x += 4 + n;
    }
    const data = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(data, data + size);
    entries.set(name, async () => {
      if (method === 0) return raw;
      if (method !== 8) throw new Error(`zip entry ${name} uses compression method ${method}`);
      const stream = new Blob([raw.slice()]).stream().pipeThrough(
        new DecompressionStream("deflate-raw"),
      );
      return new Uint8Array(await new Response(stream).arrayBuffer());
    });
    at += 46 + nameLength + extraLength + view.getUint16(at + 32, true);
  }
  return entries;
}

const STORAGE_DTYPES: Readonly<Record<string, (b: Uint8Array) => Float32Array>> = {
  FloatStorage: f32FromBytes,
  HalfStorage: f16FromBytes,
  BFloat16Storage: bf16FromBytes,
};

interface Global {
  readonly kind: "global";
  readonly name: string;
}
interface Storage {
  readonly kind: "storage";
  readonly type: string;
  readonly bytes: Uint8Array;
}
const isGlobal = (v: unknown): v is Global => (v as Global)?.kind === "global";

/** Rebuilds a tensor from `_rebuild_tensor_v2(storage, offset, size, stride, ...)`. */
function rebuildTensor(args: unknown[]): TorchTensor {
  const [storage, offset, size, stride] = args as [Storage, number, number[], number[]];
  if (storage?.kind !== "storage") throw new Error("tensor without a storage");
  const decode = STORAGE_DTYPES[storage.type];
  if (!decode) {
    throw new Error(`tensor storage ${storage.type} is not supported (float32/16, bfloat16 only)`);
  }
  return {
    kind: "tensor",
    shape: size,
    values: () => {
      const all = decode(storage.bytes);
      const n = size.reduce((a, b) => a * b, 1);
      let step = 1;
      const contiguous = size.every((_, d) => {
        const k = size.length - 1 - d, ok = size[k] === 1 || stride[k] === step;
        step *= size[k];
        return ok;
      });
      if (contiguous) return all.slice(offset, offset + n);
      const out = new Float32Array(n);
      // Gather through the strides (a saved slice or transpose need not be contiguous).
      for (let i = 0; i < n; i++) {
        let rest = i, src = offset;
        for (let d = size.length - 1; d >= 0; d--) {
          src += (rest % size[d]) * stride[d];
          rest = Math.floor(rest / size[d]);
        }
        out[i] = all[src];
      }
      return out;
    },
  };
}

/** Calls the few globals torch.save pickles use; anything else is refused. */
function call(fn: unknown, args: unknown[]): unknown {
  if (!isGlobal(fn)) throw new Error("pickle calls a non-global");
  switch (fn.name) {
    case "collections.OrderedDict":
      return new Map();
    case "torch._utils._rebuild_tensor_v2":
      return rebuildTensor(args);
    case "torch._utils._rebuild_parameter":
      return args[0];
    case "builtins.set":
      return new Set(args[0] as unknown[]);
    default:
      throw new Error(`pickle calls ${fn.name}, which a tensor checkpoint does not need`);
  }
}

/** The pickle machine's state while running. */
interface Vm {
  readonly r: ByteReader;
  readonly stack: unknown[];
  readonly marks: number[];
  readonly memo: Map<number, unknown>;
  readonly storage: (type: string, key: string) => Storage;
}

const pop = (vm: Vm) => vm.stack.pop();
const push = (vm: Vm, v: unknown) => void vm.stack.push(v);
const popMark = (vm: Vm) => vm.stack.splice(vm.marks.pop()!);
const top = (vm: Vm) => vm.stack.at(-1);
const text = (vm: Vm, n: number) => new TextDecoder().decode(vm.r.take(n, "a string"));
const line = (vm: Vm) => {
  const start = vm.r.offset;
  while (vm.r.u8("a global name") !== 0x0a);
  return new TextDecoder().decode(vm.r.bytes.subarray(start, vm.r.offset - 1));
};
const setItems = (target: unknown, items: unknown[]) => {
  for (let i = 0; i < items.length; i += 2) {
    if (target instanceof Map) target.set(items[i], items[i + 1]);
    else (target as Record<string, unknown>)[String(items[i])] = items[i + 1];
  }
};
const long1 = (b: Uint8Array) => {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return Number(b.length && b[b.length - 1] & 0x80 ? v - (1n << BigInt(8 * b.length)) : v);
};
const reduce = (vm: Vm) => {
  const args = pop(vm) as unknown[];
  push(vm, call(pop(vm), args));
};

/** The opcodes torch.save's pickles use (protocol 2, and 4's framing), by opcode byte. */
const OPS: Readonly<Record<string, (vm: Vm) => void>> = {
  "\x80": (vm) => void vm.r.u8("the protocol"), // PROTO
  "\x95": (vm) => void vm.r.take(8, "a frame length"), // FRAME
  "(": (vm) => void vm.marks.push(vm.stack.length), // MARK
  "}": (vm) => push(vm, new Map()), // EMPTY_DICT
  "]": (vm) => push(vm, []), // EMPTY_LIST
  ")": (vm) => push(vm, []), // EMPTY_TUPLE
  "N": (vm) => push(vm, null),
  "\x88": (vm) => push(vm, true),
  "\x89": (vm) => push(vm, false),
  "K": (vm) => push(vm, vm.r.u8("an int")), // BININT1
  "M": (vm) => push(vm, vm.r.u16("an int")), // BININT2
  "J": (vm) => push(vm, vm.r.i32("an int")), // BININT
  "\x8a": (vm) => push(vm, long1(vm.r.take(vm.r.u8("a long"), "a long"))), // LONG1
  "G": (vm) => push(vm, new DataView(vm.r.take(8, "a float").slice().buffer).getFloat64(0)),
  "X": (vm) => push(vm, text(vm, vm.r.u32("a string"))), // BINUNICODE
  "\x8c": (vm) => push(vm, text(vm, vm.r.u8("a string"))), // SHORT_BINUNICODE
  "T": (vm) => push(vm, text(vm, vm.r.u32("a string"))), // BINSTRING
  "U": (vm) => push(vm, text(vm, vm.r.u8("a string"))), // SHORT_BINSTRING
  "B": (vm) => push(vm, vm.r.take(vm.r.u32("bytes"), "bytes")), // BINBYTES
  "C": (vm) => push(vm, vm.r.take(vm.r.u8("bytes"), "bytes")), // SHORT_BINBYTES
  "q": (vm) => void vm.memo.set(vm.r.u8("a memo key"), top(vm)), // BINPUT
  "r": (vm) => void vm.memo.set(vm.r.u32("a memo key"), top(vm)), // LONG_BINPUT
  "\x94": (vm) => void vm.memo.set(vm.memo.size, top(vm)), // MEMOIZE
  "h": (vm) => push(vm, vm.memo.get(vm.r.u8("a memo key"))), // BINGET
  "j": (vm) => push(vm, vm.memo.get(vm.r.u32("a memo key"))), // LONG_BINGET
  "c": (vm) => push(vm, { kind: "global", name: `${line(vm)}.${line(vm)}` }), // GLOBAL
  "\x93": (vm) => { // STACK_GLOBAL
    const name = pop(vm);
    push(vm, { kind: "global", name: `${pop(vm)}.${name}` });
  },
  "t": (vm) => push(vm, popMark(vm)), // TUPLE
  "\x85": (vm) => push(vm, vm.stack.splice(-1)), // TUPLE1
  "\x86": (vm) => push(vm, vm.stack.splice(-2)), // TUPLE2
  "\x87": (vm) => push(vm, vm.stack.splice(-3)), // TUPLE3
  "l": (vm) => push(vm, popMark(vm)), // LIST
  "d": (vm) => { // DICT
    const m = new Map();
    setItems(m, popMark(vm));
    push(vm, m);
  },
  "a": (vm) => void (vm.stack.at(-2) as unknown[]).push(pop(vm)), // APPEND
  "e": (vm) => { // APPENDS
    const items = popMark(vm);
    (top(vm) as unknown[]).push(...items);
  },
  "s": (vm) => { // SETITEM
    const v = pop(vm), k = pop(vm);
    setItems(top(vm), [k, v]);
  },
  "u": (vm) => { // SETITEMS
    const items = popMark(vm);
    setItems(top(vm), items);
  },
  "R": reduce, // REDUCE
  "\x81": reduce, // NEWOBJ
  "b": (vm) => void pop(vm), // BUILD: only OrderedDict metadata, which is not needed
  "Q": (vm) => { // BINPERSID: ("storage", StorageType, key, location, numel)
    const [, type, key] = pop(vm) as [string, Global, string];
    push(vm, vm.storage(type.name.split(".").at(-1)!, key));
  },
};

/** Runs the pickle program; `storage(type, key)` resolves persistent ids. */
function unpickle(bytes: Uint8Array, storage: (type: string, key: string) => Storage): unknown {
  const vm: Vm = { r: new ByteReader(bytes), stack: [], marks: [], memo: new Map(), storage };
  for (;;) {
    const op = vm.r.u8("an opcode");
    if (op === 0x2e) return pop(vm); // STOP
    const run = OPS[String.fromCharCode(op)];
    if (!run) {
      throw new Error(`unsupported pickle opcode 0x${op.toString(16)} at byte ${vm.r.offset - 1}`);
    }
    run(vm);
  }
}

/**
 * The top-level object of a torch.save zip, with Maps for dicts and {@link TorchTensor}s
 * for tensors; throws an Error saying what is not understood.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { readTorchZip } from "./torch_zip.ts";
 * await assert.rejects(() => readTorchZip(new Uint8Array(30)), /not a zip/);
 * ```
 */
export async function readTorchZip(bytes: Uint8Array): Promise<unknown> {
  const entries = zipEntries(bytes);
  const pkl = [...entries.keys()].find((k) => k.endsWith("/data.pkl") || k === "data.pkl");
  if (!pkl) throw new Error("zip has no data.pkl; not a torch.save file");
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
  const data = new Map<string, Uint8Array>();
  for (const [name, read] of entries) {
    if (name.startsWith(`${prefix}data/`)) data.set(name.slice(prefix.length + 5), await read());
  }
  return unpickle(await entries.get(pkl)!(), (type, key) => {
    const bytes = data.get(key);
    if (!bytes) throw new Error(`storage ${key} is missing from the zip`);
    return { kind: "storage", type, bytes };
  });
}
