/**
 * Flow matching: probability paths (OT, I-CFM, Schrödinger bridge, variance-preserving
 * trigonometric) whose coefficients are written once for numbers and graph values, drawing
 * x_t and the target velocity u_t, time samplers, the masked vector-field loss, ODE samplers
 * (Euler, midpoint, Heun, RK4) and classifier-free guidance.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { integrate, otPath, sampleXtUt } from "./mod.ts";
 * // On the OT path the target velocity from x0 to x1 is x1 - x0, at every t.
 * const x0 = new Float32Array([0, 1]), x1 = new Float32Array([2, 3]);
 * const { ut } = sampleXtUt(otPath(), { x0, x1, t: new Float32Array([0.25]) });
 * assert.deepEqual([...ut], [2, 2]);
 * // Integrating that velocity from x0 lands on x1.
 * const x = await integrate(async () => ut, x0, { steps: 4 });
 * assert.deepEqual([...x], [2, 3]);
 * ```
 * @module
 */
export * from "./scalar.ts";
export * from "./paths.ts";
export * from "./sample.ts";
export * from "./loss.ts";
export * from "./ode.ts";
export * from "./guidance.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Rng, RngState } from "../random.ts";
export type { Attr, Graph, Initializer, Node, Value, ValueSpec } from "../graph/builder.ts";
export type { DType, Shape, TensorData } from "../graph/types.ts";
