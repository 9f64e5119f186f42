/**
 * Unwrapping fp-ts results at the outermost edge of a program (scripts, tests, notebooks),
 * where an exception with a clear message is what a user wants to see.
 * @module
 */
import { either as E } from "./deps/fp_ts.ts";

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
  result: Either<{ readonly message: string }, A>,
  options: { name?: string } = {},
): A {
  if (E.isLeft(result)) {
    const err = new Error(result.left.message);
    if (options.name) err.name = options.name;
    throw err;
  }
  return result.right;
}

/**
 * A failure carrying a value of type E; structurally fp-ts's `Left`, so fp-ts's functions
 * (`E.isLeft`, `E.map`, `pipe`, ...) work on it unchanged.
 */
export interface Left<E> {
  /** Discriminant. */
  readonly _tag: "Left";
  /** The error. */
  readonly left: E;
}

/** A success carrying a value of type A; structurally fp-ts's `Right`. */
export interface Right<A> {
  /** Discriminant. */
  readonly _tag: "Right";
  /** The result. */
  readonly right: A;
}

/**
 * The result of a validation that can fail: fp-ts's `Either`, declared here so the public API
 * documents every type it names. Values come from fp-ts (`E.right`, `E.left`).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import type { Either } from "./result.ts";
 * const parsed: Either<string, number> = E.right(3);
 * assert.ok(E.isRight(parsed) && parsed.right === 3);
 * ```
 */
export type Either<E, A> = Left<E> | Right<A>;

/** A lazy asynchronous computation that does not fail: fp-ts's `Task`. */
export type Task<A> = () => Promise<A>;

/**
 * A lazy asynchronous computation that can fail (files, sessions, downloads): fp-ts's
 * `TaskEither`. Nothing runs until it is called; {@link eitherOrThrow} or `orThrow` unwrap it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { taskEither as TE } from "fp-ts";
 * import type { TaskEither } from "./result.ts";
 * const task: TaskEither<string, number> = TE.right(2);
 * const result = await task();
 * assert.ok(result._tag === "Right" && result.right === 2);
 * ```
 */
export type TaskEither<E, A> = Task<Either<E, A>>;
