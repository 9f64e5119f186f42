/**
 * Minimal SVG line plots, so training runs can leave a loss curve beside the checkpoint
 * without a plotting dependency.
 * @module
 */

/** Options for {@link lineChartSvg}. */
export interface LineChartOptions {
  /** Title above the plot (default none). */
  readonly title?: string;
  /** Label of the x axis (default none). */
  readonly xLabel?: string;
  /** Label of the y axis (default none). */
  readonly yLabel?: string;
  /** Plot log10(y) (for losses spanning decades). Non-positive values are skipped. */
  readonly logY?: boolean;
  /** Image width in pixels (default 640). */
  readonly width?: number;
  /** Image height in pixels (default 360). */
  readonly height?: number;
  /** x is a count (steps): tick labels are whole numbers. */
  readonly integerX?: boolean;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Renders (x, y) points as an SVG line chart with axes, tick labels and a title.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { lineChartSvg } from "./plot.ts";
 * const svg = lineChartSvg([[1, 1], [2, 0.5], [3, 0.2]], { title: "loss", logY: true });
 * assert.ok(svg.startsWith("<svg") && svg.includes("polyline"));
 * ```
 */
export function lineChartSvg(
  points: readonly (readonly [number, number])[],
  options: LineChartOptions = {},
): string {
  return seriesChartSvg([{ name: "", points }], options);
}

/** One series of {@link seriesChartSvg}: lines join its points in order; dots mark each one. */
export interface Series {
  /** Legend label. */
  readonly name: string;
  /** Points, or several polylines (one per inner array) drawn in the same colour. */
  readonly points:
    | readonly (readonly [number, number])[]
    | readonly (readonly (readonly [number, number])[])[];
  /** "line" (default) or "dots". */
  readonly kind?: "line" | "dots";
  /** CSS colour (default: a palette by position). */
  readonly color?: string;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

/**
 * Several series on shared axes, with a legend: lines, polylines (e.g. trajectories) or dots.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { seriesChartSvg } from "./plot.ts";
 * const svg = seriesChartSvg([
 *   { name: "data", points: [[0, 0], [1, 1]], kind: "dots" },
 *   { name: "paths", points: [[[0, 0], [1, 2]], [[1, 0], [0, 1]]] },
 * ], { title: "demo", square: true });
 * assert.ok(svg.startsWith("<svg") && svg.includes("paths") && svg.includes("<circle"));
 * ```
 */
export function seriesChartSvg(
  series: readonly Series[],
  options: LineChartOptions & { square?: boolean } = {},
): string {
  const { width = 640, height = options.square ? 640 : 360, logY = false } = options;
  const lines = (s: Series) =>
    (Array.isArray(s.points[0]?.[0])
      ? s.points
      : [s.points]) as (readonly (readonly [number, number])[])[];
  const tf = ([x, y]: readonly [number, number]) => [x, logY ? Math.log10(y) : y] as const;
  const all = series.flatMap((s) => lines(s).flat()).map(tf)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const named = series.some((s) => s.name !== "");
  // The legend's column fits the longest name (about 6.2 px a character at font size 11).
  const longest = Math.max(0, ...series.map((s) => s.name.length));
  const m = {
    left: 64,
    right: named ? Math.max(120, 30 + Math.ceil(6.2 * longest)) : 16,
    top: 32,
    bottom: 44,
  };
  const w = width - m.left - m.right, h = height - m.top - m.bottom;
  let [x0, x1] = all.length
    ? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))]
    : [0, 1];
  let [y0, y1] = all.length
    ? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))]
    : [0, 1];
  if (options.square) {
    // Equal units on both axes, so geometry (straightness) is not distorted.
    const span = Math.max(x1 - x0, y1 - y0) || 1, cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    [x0, x1, y0, y1] = [cx - span / 2, cx + span / 2, cy - span / 2, cy + span / 2];
  }
  const sx = (x: number) => m.left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * w : w / 2);
  const sy = (y: number) => m.top + h - (y1 > y0 ? ((y - y0) / (y1 - y0)) * h : h / 2);
  const label = (v: number) => Number((logY ? 10 ** v : v).toPrecision(3)).toString();
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...ticks.map((t) => y0 + t * (y1 - y0)).map((v) =>
      `<text x="${m.left - 6}" y="${sy(v) + 4}" text-anchor="end">${label(v)}</text>` +
      `<line x1="${m.left}" x2="${m.left + w}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`
    ),
    ...ticks.map((t) => x0 + t * (x1 - x0)).map((v) =>
      `<text x="${sx(v)}" y="${m.top + h + 16}" text-anchor="middle">${
        options.integerX ? Math.round(v) : Number(v.toPrecision(4))
      }</text>`
    ),
    `<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`,
  ];
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    for (const line of lines(s)) {
      const pts = line.map(tf).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      if (s.kind === "dots") {
        for (const [x, y] of pts) {
          parts.push(
            `<circle cx="${sx(x).toFixed(1)}" cy="${
              sy(y).toFixed(1)
            }" r="2" fill="${color}" fill-opacity="0.6"/>`,
          );
        }
      } else {
        const d = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
        parts.push(
          `<polyline fill="none" stroke="${color}" stroke-opacity="0.7" stroke-width="1.2" points="${d}"/>`,
        );
      }
    }
    const ly = m.top + 12 + 16 * i;
    if (s.name === "") return;
    parts.push(
      `<rect x="${m.left + w + 10}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`,
      `<text x="${m.left + w + 24}" y="${ly + 1}">${esc(s.name)}</text>`,
    );
  });
  parts.push(
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${
      esc(options.title ?? "")
    }</text>`,
    `<text x="${m.left + w / 2}" y="${height - 8}" text-anchor="middle">${
      esc(options.xLabel ?? "")
    }</text>`,
    `<text x="14" y="${m.top + h / 2}" transform="rotate(-90 14 ${
      m.top + h / 2
    })" text-anchor="middle">` +
      `${esc((options.yLabel ?? "") + (logY ? " (log scale)" : ""))}</text>`,
    `</svg>`,
  );
  return parts.join("\n");
}

/**
 * A heatmap of a row-major [rows, cols] matrix (e.g. states: frames x channels, transposed
 * for display), blue for low and red for high values, clipped at the given quantiles.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { heatmapSvg } from "./plot.ts";
 * const svg = heatmapSvg(new Float32Array([0, 1, 2, 3, 4, 5]), { rows: 2, cols: 3, title: "x" });
 * assert.equal(svg.match(/<rect x=/g)?.length, 6);
 * ```
 */
export function heatmapSvg(
  data: ArrayLike<number>,
  options: {
    rows: number;
    cols: number;
    title?: string;
    xLabel?: string;
    yLabel?: string;
    clip?: number;
  },
): string {
  const { rows, cols, clip = 0.01 } = options;
  if (data.length !== rows * cols) {
    throw new RangeError(`heatmapSvg: ${data.length} values for ${rows} x ${cols}`);
  }
  const sorted = Float64Array.from(data).sort();
  const lo = sorted[Math.floor(clip * (sorted.length - 1))],
    hi = sorted[Math.ceil((1 - clip) * (sorted.length - 1))];
  const cell = Math.max(1, Math.min(8, Math.floor(800 / cols))),
    cellH = Math.max(1, Math.min(8, Math.floor(400 / rows)));
  const m = { left: 48, top: 28, bottom: 36 };
  const width = m.left + cols * cell + 16, height = m.top + rows * cellH + m.bottom;
  const color = (v: number) => {
    const u = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
    const r = Math.round(255 * Math.min(1, 2 * u)), b = Math.round(255 * Math.min(1, 2 * (1 - u)));
    return `rgb(${r},${Math.round(255 * (1 - Math.abs(2 * u - 1)))},${b})`;
  };
  const cells: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      cells.push(
        `<rect x="${m.left + c * cell}" y="${
          m.top + r * cellH
        }" width="${cell}" height="${cellH}" fill="${color(data[r * cols + c])}"/>`,
      );
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${
      esc(options.title ?? "")
    }</text>`,
    ...cells,
    `<text x="${m.left + (cols * cell) / 2}" y="${height - 10}" text-anchor="middle">${
      esc(options.xLabel ?? "")
    }</text>`,
    `<text x="14" y="${m.top + (rows * cellH) / 2}" transform="rotate(-90 14 ${
      m.top + (rows * cellH) / 2
    })" text-anchor="middle">${esc(options.yLabel ?? "")}</text>`,
    `</svg>`,
  ].join("\n");
}

/**
 * Exponential moving average of a curve's y values (bias-corrected, as TensorBoard's smoothing):
 * `weight` 0 returns the points, 0.9 a smooth trend.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { smoothed } from "./plot.ts";
 * assert.deepEqual(smoothed([[0, 1], [1, 1], [2, 1]], { weight: 0.9 }).map(([, y]) => y), [1, 1, 1]);
 * assert.deepEqual(smoothed([[0, 0], [1, 2]], { weight: 0 }), [[0, 0], [1, 2]]);
 * ```
 */
export function smoothed(
  points: readonly (readonly [number, number])[],
  options: { weight: number },
): [number, number][] {
  const { weight } = options;
  let acc = 0, norm = 0;
  return points.map(([x, y]) => {
    acc = weight * acc + (1 - weight) * y;
    norm = weight * norm + (1 - weight);
    return [x, acc / norm];
  });
}
