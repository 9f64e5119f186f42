/**
 * Minibatch optimal transport for flowt2s: costs between noise and variable-length data
 * sequences (plain TypeScript reference, ONNX Runtime fast path, optional C2OT condition
 * term), exact assignment (Jonker-Volgenant), log-domain Sinkhorn with epsilon scaling,
 * plan-to-pairs sampling and batch coupling (also within length buckets). Every function that
 * can fail returns `E.Either<OtError, A>` (or a TaskEither for sessions).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng, fillNormal } from "../random.ts";
 * import { couple, sequenceCosts } from "./mod.ts";
 * import { orThrow } from "../result.ts";
 * const rng = createRng(0);
 * const x0 = { data: fillNormal(new Float32Array(4 * 6 * 2), rng), count: 4, frames: 6, dim: 2 };
 * const x1 = { ...x0, data: fillNormal(new Float32Array(48), rng), lengths: [6, 3, 5, 2] };
 * const costs = orThrow(sequenceCosts(x0, x1));
 * const exact = orThrow(couple(costs, { method: "exact" }));
 * const random = orThrow(couple(costs, { method: "independent", rng }));
 * assert.ok(exact.meanCost <= random.meanCost);
 * ```
 * @module
 */
export { type Assignment, exactAssignment } from "./assignment.ts";
export { type ConditionTerm, embeddingCosts, labelCosts, withCondition } from "./condition.ts";
export {
  checkSequences,
  type CostOptions,
  type CostShape,
  sequenceCosts,
  type Sequences,
} from "./costs.ts";
export {
  costGraph,
  type CostGraphVariant,
  type CostSession,
  type CostSessionShape,
  type CostTerms,
  openCostSession,
  sessionCosts,
} from "./costs_graph.ts";
export {
  couple,
  coupleInBuckets,
  type CoupleOptions,
  type Coupling,
  invertPermutation,
  lengthBuckets,
  SINKHORN_TOLERANCE,
} from "./couple.ts";
export { type Pairs, type SampleOptions, samplePairs } from "./sample.ts";
export { sinkhorn, type SinkhornOptions, type SinkhornResult } from "./sinkhorn.ts";
export { checkCosts, type CostMatrix, type OtError, otError, type OtErrorKind } from "./types.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Rng, RngState } from "../random.ts";
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
export type { Attr, Graph, Initializer, Node, Value, ValueSpec } from "../graph/builder.ts";
export type {
  OrtSession,
  Provider,
  Session,
  SessionError,
  SessionOptions,
} from "../graph/session.ts";
export type { DType, Shape, TensorData } from "../graph/types.ts";
