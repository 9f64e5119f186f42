/**
 * ODE samplers for flow models: integrate dx/dt = v(x, t) from t = 0 (noise) to t = 1 (data)
 * over a time grid, with Euler, midpoint, Heun or classic RK4. The velocity is async, so a
 * model behind an ONNX Runtime session plugs in directly.
 * @module
 */

/** A velocity field: given states x (flattened batch) and a time, the velocity at each value. */
export type VelocityFn = (x: Float32Array, t: number) => Promise<Float32Array>;

/** Solver names and their orders of accuracy. */
export const SOLVER_ORDER = { euler: 1, midpoint: 2, heun: 2, rk4: 4 } as const;

/** A fixed-step solver. */
export type Solver = keyof typeof SOLVER_ORDER;

/**
 * An increasing grid 0 = t_0 < ... < t_n = 1 with F5-TTS's sway sampling (Chen et al. 2024,
 * "F5-TTS", eq. 5): t' = t + s (cos(pi t / 2) - 1 + t). s < 0 spends more steps near t = 0,
 * where the flow is least straight; s = 0 is uniform. The grid stays increasing for
 * -1 <= s < 1 / (pi/2 - 1) (about 1.75); flowt2s accepts [-1, 1], F5-TTS's range.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { timeGrid } from "./ode.ts";
 * const t = timeGrid(4, { sway: -1 });
 * assert.ok(t[0] === 0 && t[4] === 1 && t[1] < 0.25);
 * ```
 */
export function timeGrid(steps: number, options: { sway?: number } = {}): Float64Array {
  const s = options.sway ?? 0;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`timeGrid: steps must be >= 1, got ${steps}`);
  }
  if (!(s >= -1 && s <= 1)) {
    throw new RangeError(`timeGrid: sway coefficient must lie in [-1, 1], got ${s}`);
  }
  return Float64Array.from({ length: steps + 1 }, (_, i) => {
    const t = i / steps;
    return i === steps ? 1 : t + s * (Math.cos((Math.PI / 2) * t) - 1 + t);
  });
}

const axpy = (x: Float32Array, h: number, v: Float32Array): Float32Array =>
  x.map((xi, i) => xi + h * v[i]);

/** Options for {@link integrate}. */
export interface IntegrateOptions {
  /** The fixed-step solver (default "euler"). */
  readonly solver?: Solver;
  /** Number of uniform steps (ignored when `grid` is given). Default 32. */
  readonly steps?: number;
  /** Sway coefficient for the uniform grid (see {@link timeGrid}). */
  readonly sway?: number;
  /** A custom increasing time grid from 0 to 1 (or any increasing grid). */
  readonly grid?: ArrayLike<number>;
  /** Called after each step with the step index and time, e.g. for a progress bar. */
  readonly onStep?: (step: number, t: number) => void;
}

/**
 * Integrates from `x0` over the grid. Velocity evaluations per step (NFE): Euler 1, midpoint 2,
 * Heun 2, RK4 4.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { integrate } from "./ode.ts";
 * // dx/dt = x from x(0) = 1: x(1) = e.
 * const x = await integrate(async (x) => x, new Float32Array([1]), { solver: "rk4", steps: 8 });
 * assert.ok(Math.abs(x[0] - Math.E) < 1e-4);
 * ```
 */
export async function integrate(
  velocity: VelocityFn,
  x0: Float32Array,
  options: IntegrateOptions = {},
): Promise<Float32Array> {
  const solver = options.solver ?? "euler";
  if (!Object.hasOwn(SOLVER_ORDER, solver)) {
    throw new RangeError(
      `integrate: unknown solver '${solver}'; use ${Object.keys(SOLVER_ORDER).join(", ")}`,
    );
  }
  const grid = options.grid ?? timeGrid(options.steps ?? 32, { sway: options.sway });
  for (let i = 1; i < grid.length; i++) {
    if (!(grid[i] > grid[i - 1])) {
      throw new RangeError(`integrate: grid must increase (t[${i}] = ${grid[i]})`);
    }
  }
  const checked: VelocityFn = async (x, t) => {
    const v = await velocity(x, t);
    if (v.length !== x.length) {
      throw new RangeError(
        `integrate: velocity returned ${v.length} values for ${x.length} states at t = ${t}`,
      );
    }
    return v;
  };
  let x = x0;
  for (let i = 0; i + 1 < grid.length; i++) {
    const t = grid[i], h = grid[i + 1] - t;
    const k1 = await checked(x, t);
    if (solver === "euler") x = axpy(x, h, k1);
    else if (solver === "midpoint") x = axpy(x, h, await checked(axpy(x, h / 2, k1), t + h / 2));
    else if (solver === "heun") {
      const k2 = await checked(axpy(x, h, k1), t + h);
      x = x.map((xi, j) => xi + (h / 2) * (k1[j] + k2[j]));
    } else {
      const k2 = await checked(axpy(x, h / 2, k1), t + h / 2);
      const k3 = await checked(axpy(x, h / 2, k2), t + h / 2);
      const k4 = await checked(axpy(x, h, k3), t + h);
      x = x.map((xi, j) => xi + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]));
    }
    options.onStep?.(i + 1, grid[i + 1]);
  }
  return x;
}
