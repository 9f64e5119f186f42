/**
 * Errors raised while building graphs. Each names the op and the offending shapes or
 * dtypes so that a failure points at the line that built the graph, not at ONNX Runtime.
 * @module
 */

/** A build-time error: a shape or dtype mismatch, a bad attribute, a missing gradient rule. */
export class GraphError extends Error {
  /** The op (ONNX op type or library function) that rejected its inputs. */
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "GraphError";
    this.op = op;
  }
}
