/**
 * Element types, shapes and typed-array views shared by the graph engine.
 * @module
 */

/** Element types the engine emits. float64 exists for gradient checks. */
export type DType = "float32" | "float64" | "int64" | "bool";

/** A static shape: every dimension is known when the graph is built. */
export type Shape = readonly number[];

/** Any array a tensor may be fed from or returned as. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

/**
 * ONNX TensorProto.DataType codes.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { ONNX_ELEM_TYPE } from "./types.ts";
 * assert.equal(ONNX_ELEM_TYPE.float32, 1); // TensorProto.FLOAT
 * assert.equal(ONNX_ELEM_TYPE.int64, 7); // TensorProto.INT64
 * ```
 */
export const ONNX_ELEM_TYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  bool: 9,
  int64: 7,
  float64: 11,
};

/**
 * True for dtypes that carry gradients.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { isFloat } from "./types.ts";
 * assert.ok(isFloat("float32") && isFloat("float64"));
 * assert.ok(!isFloat("int64") && !isFloat("bool"));
 * ```
 */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/**
 * Number of elements of a shape.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { sizeOf } from "./types.ts";
 * assert.ok(sizeOf([2, 3, 4]) === 24);
 * assert.ok(sizeOf([]) === 1);
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Allocates a zero-filled array for a dtype.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { allocate } from "./types.ts";
 * assert.ok(allocate("int64", 3) instanceof BigInt64Array);
 * ```
 */
export function allocate(dtype: DType, length: number): TensorData {
  switch (dtype) {
    case "float32":
      return new Float32Array(length);
    case "float64":
      return new Float64Array(length);
    case "int64":
      return new BigInt64Array(length);
    case "bool":
      return new Uint8Array(length);
  }
}

/**
 * The dtype a typed array holds, or an error naming the array's class.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { dtypeOfArray, type TensorData } from "./types.ts";
 * assert.equal(dtypeOfArray(new BigInt64Array(2)), "int64");
 * assert.equal(dtypeOfArray(new Uint8Array(2)), "bool");
 * assert.throws(() => dtypeOfArray(new Int32Array(2) as unknown as TensorData), /Int32Array/);
 * ```
 */
export function dtypeOfArray(data: TensorData): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint8Array) return "bool";
  throw new TypeError(`unsupported tensor array ${(data as object).constructor.name}`);
}

/**
 * Formats a shape as [2, 3] for error messages.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { showShape } from "./types.ts";
 * assert.equal(showShape([2, 3]), "[2, 3]");
 * assert.equal(showShape([]), "[]");
 * ```
 */
export function showShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}
