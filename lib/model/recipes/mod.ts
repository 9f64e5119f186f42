/**
 * The training recipes, one module each; adding one means a module here and a line below.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { recipeSpec, RECIPES } from "./mod.ts";
 * assert.deepEqual(RECIPES, ["distill", "unrolled", "inversion", "paired", "anchored", "anchored-ce", "prior", "bridge", "bridge-ce"]);
 * assert.equal(recipeSpec("anchored").targets?.start, "prior");
 * ```
 * @module
 */
import { anchored } from "./anchored.ts";
import { anchoredCe } from "./anchored_ce.ts";
import { bridge } from "./bridge.ts";
import { bridgeCe } from "./bridge_ce.ts";
import { distill } from "./distill.ts";
import { inversion } from "./inversion.ts";
import { paired } from "./paired.ts";
import { prior } from "./prior.ts";
import type { RecipeSpec } from "./types.ts";
import { unrolled } from "./unrolled.ts";

export type { LossParts, RecipeSpec, TargetPlan } from "./types.ts";

/** A recipe's name. */
export type Recipe =
  | "distill"
  | "unrolled"
  | "inversion"
  | "paired"
  | "anchored"
  | "anchored-ce"
  | "prior"
  | "bridge"
  | "bridge-ce";

const SPECS: Readonly<Record<Recipe, RecipeSpec>> = {
  distill,
  unrolled,
  inversion,
  paired,
  anchored,
  "anchored-ce": anchoredCe,
  prior,
  bridge,
  "bridge-ce": bridgeCe,
};

/** Every recipe, the default first. */
export const RECIPES: readonly Recipe[] = Object.keys(SPECS) as Recipe[];

/** The recipe named `name`. */
export function recipeSpec(name: Recipe): RecipeSpec {
  return SPECS[name];
}
