/**
 * Unwrapping fp-ts results at the outermost edge of a program (scripts, tests, notebooks),
 * where an exception with a clear message is what a user wants to see.
 * @module
 */
import { either as E } from "fp-ts";

/**
 * The Right of an Either, or throws an Error carrying the Left's message, named `name`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { eitherOrThrow } from "./result.ts";
 * assert.equal(eitherOrThrow(E.right(3)), 3);
 * assert.throws(() => eitherOrThrow(E.left({ message: "bad input" }), { name: "MyError" }), /bad input/);
 * ```
 */
export function eitherOrThrow<A>(
  result: E.Either<{ readonly message: string }, A>,
  options: { name?: string } = {},
): A {
  if (E.isLeft(result)) {
    const err = new Error(result.left.message);
    if (options.name) err.name = options.name;
    throw err;
  }
  return result.right;
}
