/**
 * Plain float64 TypeScript references for the graph ops, written independently of the engine
 * (loops over row-major indices), used by the forward and gradient tests.
 */
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const arr = (shape: number[], data: ArrayLike<number>): Arr => ({
  shape,
  data: Float64Array.from(data),
});
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]) => {
  const out = new Array(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) out[i] = out[i + 1] * s[i + 1];
  return out;
};
const unravel = (i: number, s: readonly number[]) => {
  const idx = new Array(s.length);
  for (let k = s.length - 1; k >= 0; k--) {
    idx[k] = i % s[k];
    i = Math.floor(i / s[k]);
  }
  return idx as number[];
};

/** Elementwise function of broadcast inputs. */
export function zip(inputs: Arr[], f: (...v: number[]) => number): Arr {
  const rank = Math.max(...inputs.map((a) => a.shape.length));
  const shape = Array.from(
    { length: rank },
    (_, i) => Math.max(...inputs.map((a) => a.shape[a.shape.length - rank + i] ?? 1)),
  );
  const out = new Float64Array(size(shape));
  const st = inputs.map((a) => strides(a.shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(...inputs.map((a, j) => {
      let off = 0;
      a.shape.forEach((d, k) => (off += (d === 1 ? 0 : idx[rank - a.shape.length + k]) * st[j][k]));
      return a.data[off];
    }));
  }
  return { shape, data: out };
}

export const map = (a: Arr, f: (v: number) => number): Arr => zip([a], f);

/** Batched matmul with broadcast batch dims. */
export function matmul(a: Arr, b: Arr): Arr {
  const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch = Array.from(
    { length: rank },
    (_, i) => Math.max(ba[ba.length - rank + i] ?? 1, bb[bb.length - rank + i] ?? 1),
  );
  const out = new Float64Array(size(batch) * m * n);
  for (let t = 0; t < size(batch); t++) {
    const idx = unravel(t, batch);
    const off = (bs: number[]) => {
      let o = 0;
      const st = strides(bs);
      bs.forEach((d, j) => (o += (d === 1 ? 0 : idx[rank - bs.length + j]) * st[j]));
      return o;
    };
    const oa = off(ba) * m * k, ob = off(bb) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[oa + i * k + p] * b.data[ob + p * n + j];
        out[t * m * n + i * n + j] = s;
      }
    }
  }
  return { shape: [...batch, m, n], data: out };
}

/** Permutes axes. */
export function transpose(a: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => a.shape[p]);
  const st = strides(a.shape), out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let o = 0;
    perm.forEach((p, j) => (o += idx[j] * st[p]));
    out[i] = a.data[o];
  }
  return { shape, data: out };
}

/** Reduces over axes with a fold, keeping dims. */
export function reduce(
  a: Arr,
  axes: number[],
  f: (acc: number, v: number) => number,
  init: number,
): Arr {
  const shape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(size(shape)).fill(init), st = strides(shape);
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape);
    let o = 0;
    idx.forEach((v, k) => (o += (axes.includes(k) ? 0 : v) * st[k]));
    out[o] = f(out[o], a.data[i]);
  }
  return { shape, data: out };
}

export const sum = (a: Arr, axes: number[]) => reduce(a, axes, (s, v) => s + v, 0);
export const max = (a: Arr, axes: number[]) => reduce(a, axes, (s, v) => Math.max(s, v), -Infinity);
export const mean = (a: Arr, axes: number[]) => {
  const s = sum(a, axes), n = axes.reduce((p, ax) => p * a.shape[ax], 1);
  return map(s, (v) => v / n);
};

/** Softmax over the last axis. */
export function softmax(a: Arr): Arr {
  const last = a.shape.length - 1;
  const e = zip([a, max(a, [last])], (v, m) => Math.exp(v - m));
  return zip([e, sum(e, [last])], (v, s) => v / s);
}

export function logSoftmax(a: Arr): Arr {
  const last = a.shape.length - 1;
  const m = max(a, [last]);
  const lse = zip(
    [m, sum(zip([a, m], (v, mm) => Math.exp(v - mm)), [last])],
    (mm, s) => mm + Math.log(s),
  );
  return zip([a, lse], (v, l) => v - l);
}

/** LayerNorm over the last axis. */
export function layerNorm(x: Arr, scale: Arr, bias: Arr, eps = 1e-5): Arr {
  const last = x.shape.length - 1;
  const mu = mean(x, [last]);
  const c = zip([x, mu], (v, m) => v - m);
  const varr = mean(map(c, (v) => v * v), [last]);
  return zip([c, varr, scale, bias], (v, s2, g, b) => (v / Math.sqrt(s2 + eps)) * g + b);
}

export function erf(x: number): number {
  // Series/continued fraction free: high-precision erf via the Taylor series (|x| < 3) and
  // the asymptotic complement beyond; accurate to ~1e-15 on test ranges.
  if (Math.abs(x) > 3) return Math.sign(x) * (1 - erfcLarge(Math.abs(x)));
  let term = x, total = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    total += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * total;
}

function erfcLarge(x: number): number {
  // Continued fraction for erfc (Lentz), valid for x > 2.
  let f = x, c = x, d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = 1 / (x + an * d);
    c = x + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

export const gelu = (a: Arr) => map(a, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));

/** Slice with step 1 along given axes. */
export function slice(a: Arr, starts: number[], ends: number[], axes: number[]): Arr {
  const lo = a.shape.map(() => 0), hi = [...a.shape];
  axes.forEach((ax, i) => {
    lo[ax] = starts[i];
    hi[ax] = ends[i];
  });
  const shape = a.shape.map((_, i) => hi[i] - lo[i]);
  const st = strides(a.shape), out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = a.data[idx.reduce((o, v, k) => o + (v + lo[k]) * st[k], 0)];
  }
  return { shape, data: out };
}

export function concat(parts: Arr[], axis: number): Arr {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  const out = new Float64Array(size(shape)), st = strides(shape);
  let offset = 0;
  for (const p of parts) {
    for (let i = 0; i < p.data.length; i++) {
      const idx = unravel(i, p.shape);
      idx[axis] += offset;
      out[idx.reduce((o, v, k) => o + v * st[k], 0)] = p.data[i];
    }
    offset += p.shape[axis];
  }
  return { shape, data: out };
}

/** Rows of a [N, ...] table by index. */
export function gather0(a: Arr, indices: number[]): Arr {
  const row = size(a.shape.slice(1)), out = new Float64Array(indices.length * row);
  indices.forEach((ix, i) => out.set(a.data.subarray(ix * row, ix * row + row), i * row));
  return { shape: [indices.length, ...a.shape.slice(1)], data: out };
}

/** 1-D convolution, x [N, C, L], w [M, C/groups, K], stride, symmetric zero padding, dilation. */
export function conv1d(
  x: Arr,
  w: Arr,
  b: Arr | undefined,
  stride: number,
  padding: number,
  dilation = 1,
  groups = 1,
): Arr {
  const [n, c, l] = x.shape, [m, cg, k] = w.shape, mg = m / groups;
  const outLen = Math.floor((l + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
  const out = new Float64Array(n * m * outLen);
  for (let bi = 0; bi < n; bi++) {
    for (let o = 0; o < m; o++) {
      const first = Math.floor(o / mg) * cg;
      for (let t = 0; t < outLen; t++) {
        let s = b ? b.data[o] : 0;
        for (let ci = 0; ci < cg; ci++) {
          for (let j = 0; j < k; j++) {
            const pos = t * stride + j * dilation - padding;
            if (pos >= 0 && pos < l) {
              s += x.data[(bi * c + first + ci) * l + pos] * w.data[(o * cg + ci) * k + j];
            }
          }
        }
        out[(bi * m + o) * outLen + t] = s;
      }
    }
  }
  return { shape: [n, m, outLen], data: out };
}

/** Deterministic pseudo-random values for tests (independent of lib/random.ts). */
export function testValues(n: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0 || 1;
  return Float64Array.from({ length: n }, () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  });
}
