/**
 * Speech-likeness: the Fréchet distance between Gaussians fitted to two sets of state frames
 * (as FID does for images): |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). Symmetric
 * square roots come from a cyclic Jacobi eigendecomposition (plain float64 code).
 * @module
 */

/** Mean [d] and covariance [d, d] (float64) of frames [.., d] from several arrays. */
export function gaussianOf(
  states: readonly Float32Array[],
  options: { width: number },
): { mean: Float64Array; cov: Float64Array; count: number } {
  const d = options.width, mean = new Float64Array(d), cov = new Float64Array(d * d);
  let n = 0;
  for (const x of states) {
    for (let i = 0; i < x.length; i += d) {
      for (let c = 0; c < d; c++) mean[c] += x[i + c];
      n++;
    }
  }
  if (n < 2) throw new RangeError("gaussianOf: needs at least 2 frames");
  for (let c = 0; c < d; c++) mean[c] /= n;
  const centred = new Float64Array(d);
  for (const x of states) {
    for (let i = 0; i < x.length; i += d) {
      for (let c = 0; c < d; c++) centred[c] = x[i + c] - mean[c];
      for (let a = 0; a < d; a++) {
        const ca = centred[a];
        if (ca === 0) continue;
        const row = a * d;
        for (let b = a; b < d; b++) cov[row + b] += ca * centred[b];
      }
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mean, cov, count: n };
}

/**
 * Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric matrix [d, d], by cyclic
 * Jacobi rotations until the off-diagonal mass is negligible.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { symmetricEigen } from "./frechet.ts";
 * const { values } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * assert.deepEqual([...values].map((v) => Math.round(v * 1e9) / 1e9).sort(), [1, 3]);
 * ```
 */
export function symmetricEigen(
  matrix: Float64Array,
  d: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix), v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let total = 0;
  for (let i = 0; i < d * d; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q] ** 2;
    if (off <= 1e-22 * total) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i];
  return { values, vectors: v };
}

/** Symmetric PSD square root (negative eigenvalues from rounding are clipped to 0). */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k]));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = vectors[i * d + k] * r;
      if (vi === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += vi * vectors[j * d + k];
    }
  }
  return out;
}

function matmulSquare(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/**
 * Fréchet distance between the Gaussians of two sets of frames ([frames, width] arrays).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { frechetDistance } from "./frechet.ts";
 * // 1-D: N(0, 1) vs N(3, 4): (0 - 3)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 10.
 * const a = new Float32Array([-1, 1, -1, 1]), b = new Float32Array([1, 5, 1, 5]);
 * const d = frechetDistance([a], [b], { width: 1 });
 * assert.ok(Math.abs(d - (9 + 4 / 3 + 16 / 3 - 2 * Math.sqrt(64 / 9))) < 1e-9);
 * ```
 */
export function frechetDistance(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
  options: { width: number },
): number {
  const d = options.width, ga = gaussianOf(a, options), gb = gaussianOf(b, options);
  let dist = 0;
  for (let c = 0; c < d; c++) dist += (ga.mean[c] - gb.mean[c]) ** 2;
  let trace = 0;
  for (let c = 0; c < d; c++) trace += ga.cov[c * d + c] + gb.cov[c * d + c];
  const root = sqrtPsd(ga.cov, d);
  const inner = matmulSquare(matmulSquare(root, gb.cov, d), root, d);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      inner[i * d + j] = inner[j * d + i] = (inner[i * d + j] + inner[j * d + i]) / 2;
    }
  }
  const { values } = symmetricEigen(inner, d);
  let cross = 0;
  for (const v of values) cross += Math.sqrt(Math.max(0, v));
  return dist + trace - 2 * cross;
}
