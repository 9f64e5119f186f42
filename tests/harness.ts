/** Test helpers: open a graph, run it, compare arrays with tolerances. */
import { either as E } from "fp-ts";
import { orThrow } from "../lib/result.ts";
import assert from "@std/assert";
import type { Graph } from "../lib/graph/builder.ts";
import { openSession, runSession, type Session, type Tensors } from "../lib/graph/session.ts";

export const open = (g: Graph): Promise<Session> => orThrow(openSession(g, { threads: 1 }));

export async function evaluate(g: Graph, feeds: Tensors): Promise<Tensors> {
  return await orThrow(runSession(await open(g), feeds));
}

/** Asserts |a - b| <= atol + rtol |b| elementwise, naming the first offending index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const { atol = 1e-5, rtol = 1e-5, what = "value" } = options;
  assert.equal(
    actual.length,
    expected.length,
    `${what}: length ${actual.length} != ${expected.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${b} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** The Left of an Either, or a thrown Error when it is a Right. */
export function leftOf<L, A>(r: E.Either<L, A>): L {
  if (E.isRight(r)) throw new Error("expected an error");
  return r.left;
}
