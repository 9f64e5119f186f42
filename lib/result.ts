/**
 * The result model of the library: what can fail returns an fp-ts `Either` (a `TaskEither` when
 * it is asynchronous) whose Left is a typed error with a message, and {@link orThrow} is the one
 * unwrap, used at the outermost edge of a program (scripts, tests, notebooks), where an
 * exception with a clear message is what a user wants to see.
 * @module
 */
import { either as E } from "./deps/fp_ts.ts";

/** What {@link orThrow} needs of a failure: its message, and the `_tag` of a typed error. */
export interface Failure {
  /** What went wrong; the thrown Error's message. */
  readonly message: string;
  /** The error's type (`"LengthError"`, `"SessionError"`, ...); the thrown Error's name. */
  readonly _tag?: string;
}

/**
 * The one unwrap, for the outermost edge of a program (scripts, tests, notebooks, examples):
 * the Right of an Either, or, given a TaskEither, a Promise of its Right. A Left becomes a
 * thrown Error carrying the Left's message, named by its `_tag` (e.g. "LengthError") when it has
 * one. Library code keeps the Either.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E, taskEither as TE } from "fp-ts";
 * import { orThrow } from "./result.ts";
 * assert.equal(orThrow(E.right(3)), 3);
 * assert.equal(await orThrow(TE.right(4)), 4);
 * assert.throws(() => orThrow(E.left({ _tag: "MyError", message: "bad input" })), {
 *   name: "MyError",
 *   message: "bad input",
 * });
 * await assert.rejects(() => orThrow(TE.left({ message: "no file" })), /no file/);
 * ```
 */
export function orThrow<A>(result: Either<Failure, A>): A;
/** The Right of a TaskEither, once it has run; a Left rejects as {@link orThrow} of an Either throws. */
export function orThrow<A>(task: TaskEither<Failure, A>): Promise<A>;
export function orThrow<A>(
  result: Either<Failure, A> | TaskEither<Failure, A>,
): A | Promise<A> {
  if (typeof result === "function") return (async () => rightOrThrow(await result()))();
  return rightOrThrow(result);
}

function rightOrThrow<A>(result: Either<Failure, A>): A {
  if (E.isLeft(result)) {
    const err = new Error(result.left.message);
    if (typeof result.left._tag === "string") err.name = result.left._tag;
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
 * `TaskEither`. Nothing runs until it is called; {@link orThrow} unwraps it at the edge.
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
