/**
 * The text-to-semantic CFM model: configurations, the velocity network, text input, batches,
 * training objectives (distill, unrolled, inversion), decoder inversion and ODE sampling,
 * checkpoints, the training run and generation.
 * @module
 */
export * from "./config.ts";
export * from "./network.ts";
export * from "./text.ts";
export * from "./batch.ts";
export * from "./objective.ts";
export * from "./states.ts";
export * from "./checkpoint.ts";
export * from "./coupling.ts";
export * from "./training.ts";
export * from "./generate.ts";
export * from "./probe.ts";
export * from "./report.ts";
