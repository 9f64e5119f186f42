/**
 * A tiny scalar algebra with two interpreters, so each probability path's coefficients are
 * written once and evaluate both eagerly (numbers) and inside training graphs (Values).
 * @module
 */
import type { Value } from "../graph/builder.ts";
import { add, cos, div, mul, sin, sqrt, sub } from "../graph/ops.ts";

/** Arithmetic over some scalar representation S. */
export interface Scalars<S> {
  /** A constant. */
  readonly c: (x: number) => S;
  /** a + b. */
  readonly add: (a: S, b: S) => S;
  /** a - b. */
  readonly sub: (a: S, b: S) => S;
  /** a * b. */
  readonly mul: (a: S, b: S) => S;
  /** a / b. */
  readonly div: (a: S, b: S) => S;
  /** Square root. */
  readonly sqrt: (a: S) => S;
  /** Sine (radians). */
  readonly sin: (a: S) => S;
  /** Cosine (radians). */
  readonly cos: (a: S) => S;
}

/**
 * Plain numbers.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { numbers } from "./scalar.ts";
 * assert.ok(numbers.add(numbers.c(1), 2) === 3);
 * ```
 */
export const numbers: Scalars<number> = {
  c: (x) => x,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
};

/**
 * Graph values: constants take the dtype of `like` (a value in the same graph).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { graphScalars } from "./scalar.ts";
 * const g = new Graph();
 * const t = g.input("t", { dtype: "float32", shape: [4] });
 * const s = graphScalars(t);
 * assert.ok(s.mul(t, s.c(2)).shape.join() === "4");
 * ```
 */
export function graphScalars(like: Value): Scalars<Value> {
  return {
    c: (x) => like.graph.constant(x, { dtype: like.dtype }),
    add,
    sub,
    mul,
    div,
    sqrt,
    sin,
    cos,
  };
}
