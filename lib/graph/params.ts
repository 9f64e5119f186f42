/**
 * Parameter stores: named Float32Arrays with shapes, seeded initialisers, and save/load as
 * safetensors (the project's checkpoint format) with string metadata.
 * @module
 */
import type { Either, TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { fillNormal, fillUniform, type Rng } from "../random.ts";
import { loadSafetensors, saveSafetensors, type StTensor, toFloat32 } from "./safetensors.ts";
import { type Shape, showShape, sizeOf } from "./types.ts";

/** A float32 tensor with its shape. */
export interface Tensor {
  /** Static shape. */
  readonly shape: Shape;
  /** Row-major contents, `sizeOf(shape)` elements. */
  readonly data: Float32Array;
}

/** Named tensors, in a stable order. */
export type ParamStore = Readonly<Record<string, Tensor>>;

/** How a parameter starts. */
export type Init =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "uniform"; readonly bound: number };

/**
 * Initialiser constructors.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { init } from "./params.ts";
 * assert.deepEqual(init.normal(0.02), { kind: "normal", std: 0.02 });
 * assert.deepEqual(init.xavier(2, 4), { kind: "uniform", bound: 1 }); // sqrt(6 / (2 + 4))
 * ```
 */
export const init = {
  zeros: (): Init => ({ kind: "zeros" }),
  ones: (): Init => ({ kind: "ones" }),
  normal: (std: number): Init => ({ kind: "normal", std }),
  uniform: (bound: number): Init => ({ kind: "uniform", bound }),
  /** Glorot/Xavier uniform for a [fanIn, fanOut] matrix. */
  xavier: (fanIn: number, fanOut: number): Init => ({
    kind: "uniform",
    bound: Math.sqrt(6 / (fanIn + fanOut)),
  }),
} as const;

/** A parameter declaration: its shape and initialiser. */
export interface ParamDef {
  /** The parameter's shape. */
  readonly shape: Shape;
  /** How its values start (see {@link init}). */
  readonly init: Init;
}

/** A failure loading or validating parameters, naming the tensor or file. */
export interface ParamError {
  /** Discriminant for telling ParamError apart from other errors. */
  readonly _tag: "ParamError";
  /** What went wrong, naming the tensor or file at fault. */
  readonly message: string;
}

const paramError = (message: string): ParamError => ({ _tag: "ParamError", message });

/**
 * Creates parameters from declarations, drawing from `rng` in declaration order, so the
 * same seed and declarations give the same values.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { init, initParams } from "./params.ts";
 * const p = initParams({ w: { shape: [2, 3], init: init.normal(0.02) } }, { rng: createRng(0) });
 * assert.ok(p.w.data.length === 6);
 * ```
 */
export function initParams(
  defs: Readonly<Record<string, ParamDef>>,
  options: { rng: Rng },
): ParamStore {
  const out: Record<string, Tensor> = {};
  for (const [name, def] of Object.entries(defs)) {
    const data = new Float32Array(sizeOf(def.shape));
    const i = def.init;
    if (i.kind === "ones") data.fill(1);
    else if (i.kind === "normal") fillNormal(data, options.rng, { std: i.std });
    else if (i.kind === "uniform") fillUniform(data, options.rng, { low: -i.bound, high: i.bound });
    out[name] = { shape: [...def.shape], data };
  }
  return out;
}

/**
 * Zeros shaped like a store (optimizer moments).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { zerosLike } from "./params.ts";
 * const z = zerosLike({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * assert.ok(z.w.data[1] === 0);
 * ```
 */
export function zerosLike(store: ParamStore): ParamStore {
  return Object.fromEntries(
    Object.entries(store).map((
      [k, t],
    ) => [k, { shape: t.shape, data: new Float32Array(t.data.length) }]),
  );
}

/**
 * Checks that a store has exactly the expected names and shapes; the error lists each
 * missing, unexpected or misshapen tensor.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { checkParams } from "./params.ts";
 * const r = checkParams({ w: { shape: [2], data: new Float32Array(2) } }, { w: [3] });
 * assert.ok(E.isLeft(r));
 * ```
 */
export function checkParams(
  store: ParamStore,
  expected: Readonly<Record<string, Shape>>,
): Either<ParamError, ParamStore> {
  const problems: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const t = store[name];
    if (!t) problems.push(`missing '${name}' ${showShape(shape)}`);
    else if (t.shape.join() !== shape.join()) {
      problems.push(`'${name}' has shape ${showShape(t.shape)}, expected ${showShape(shape)}`);
    }
  }
  for (const name of Object.keys(store)) {
    if (!(name in expected)) problems.push(`unexpected '${name}'`);
  }
  return problems.length ? E.left(paramError(problems.join("; "))) : E.right(store);
}

/**
 * Saves stores as one safetensors file (names prefixed per store), atomically.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadParams, saveParams } from "./params.ts";
 * import { orThrow } from "../result.ts";
 * const dir = await Deno.makeTempDir();
 * const w = { shape: [2], data: new Float32Array([1, 2]) };
 * await orThrow(saveParams(`${dir}/ckpt.safetensors`, { model: { w }, "": { step: w } }));
 * const { stores } = await orThrow(loadParams(`${dir}/ckpt.safetensors`));
 * assert.deepEqual(Object.keys(stores).sort(), ["", "model"]); // "model/w" and "step"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function saveParams(
  path: string,
  stores: Readonly<Record<string, ParamStore>>,
  options: { metadata?: Record<string, string> } = {},
): TaskEither<ParamError, void> {
  const tensors: Record<string, StTensor> = {};
  for (const [prefix, store] of Object.entries(stores)) {
    for (const [name, t] of Object.entries(store)) {
      tensors[prefix ? `${prefix}/${name}` : name] = {
        dtype: "F32",
        shape: [...t.shape],
        data: t.data,
      };
    }
  }
  return F.pipe(
    saveSafetensors(path, tensors, { metadata: options.metadata }),
    TE.mapLeft((e) => paramError(e.message)),
  );
}

/**
 * Loads a safetensors file into stores split by name prefix ('' for unprefixed names);
 * floating dtypes (F16, BF16, F64) are converted to float32.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { loadParams, saveParams } from "./params.ts";
 * import { orThrow } from "../result.ts";
 * const path = `${await Deno.makeTempDir()}/ckpt.safetensors`;
 * const w = { shape: [2], data: new Float32Array([1, 2]) };
 * await orThrow(saveParams(path, { model: { w } }, { metadata: { step: "3" } }));
 * const { stores, metadata } = await orThrow(loadParams(path));
 * assert.deepEqual([...stores.model.w.data], [1, 2]);
 * assert.equal(metadata.step, "3");
 * await Deno.remove(path);
 * ```
 */
export function loadParams(
  path: string,
): TaskEither<
  ParamError,
  { stores: Record<string, ParamStore>; metadata: Record<string, string> }
> {
  return F.pipe(
    loadSafetensors(path),
    TE.mapLeft((e) => paramError(e.message)),
    TE.flatMap(({ tensors, metadata }) => {
      const stores: Record<string, Record<string, Tensor>> = {};
      for (const [full, t] of Object.entries(tensors)) {
        if (!["F32", "F64", "F16", "BF16"].includes(t.dtype)) {
          return TE.left(
            paramError(
              `${path}: tensor '${full}' is ${t.dtype}; parameters must be floating point`,
            ),
          );
        }
        const cut = full.indexOf("/");
        const [prefix, name] = cut < 0 ? ["", full] : [full.slice(0, cut), full.slice(cut + 1)];
        (stores[prefix] ??= {})[name] = { shape: t.shape, data: toFloat32(t) };
      }
      return TE.right({ stores, metadata });
    }),
  );
}
