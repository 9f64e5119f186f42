/**
 * Errors raised while building graphs. Each names the op and the offending shapes or
 * dtypes so that a failure points at the line that built the graph, not at ONNX Runtime.
 * @module
 */

/**
 * A build-time error: a shape or dtype mismatch, a bad attribute, a missing gradient rule.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "./builder.ts";
 * import { GraphError } from "./errors.ts";
 * import { matmul } from "./ops.ts";
 * const g = new Graph();
 * const a = g.input("a", { dtype: "float32", shape: [2, 3] });
 * const b = g.input("b", { dtype: "float32", shape: [2, 3] });
 * assert.throws(() => matmul(a, b), (e: unknown) => e instanceof GraphError && e.op === "MatMul");
 * assert.equal(new GraphError("Add", "bad").message, "Add: bad");
 * ```
 */
export class GraphError extends Error {
  /** The op (ONNX op type or library function) that rejected its inputs. */
  readonly op: string;
  /** An error for `op`; the message reads `<op>: <message>`. */
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "GraphError";
    this.op = op;
  }
}
