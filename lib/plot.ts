/**
 * Minimal SVG line plots, so training runs can leave a loss curve beside the checkpoint
 * without a plotting dependency.
 * @module
 */

/** Options for {@link lineChartSvg}. */
export interface LineChartOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Plot log10(y) (for losses spanning decades). Non-positive values are skipped. */
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
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
  const { width = 640, height = 360, logY = false } = options;
  const pts = points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0))
    .map(([x, y]) => [x, logY ? Math.log10(y) : y] as const);
  const m = { left: 64, right: 16, top: 32, bottom: 44 };
  const w = width - m.left - m.right, h = height - m.top - m.bottom;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const [x0, x1] = pts.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = pts.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (x: number) => m.left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * w : w / 2);
  const sy = (y: number) => m.top + h - (y1 > y0 ? ((y - y0) / (y1 - y0)) * h : h / 2);
  const fmt = (
    v: number,
  ) => (logY ? Number((10 ** v).toPrecision(3)).toString() : Number(v.toPrecision(3)).toString());
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const yTicks = ticks.map((t) => y0 + t * (y1 - y0))
    .map((v) =>
      `<text x="${m.left - 6}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>` +
      `<line x1="${m.left}" x2="${m.left + w}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`
    );
  const xTicks = ticks.map((t) => x0 + t * (x1 - x0))
    .map((v) =>
      `<text x="${sx(v)}" y="${m.top + h + 16}" text-anchor="middle">${
        Number(v.toPrecision(4))
      }</text>`
    );
  const line = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...yTicks,
    ...xTicks,
    `<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line}"/>`,
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
  ].join("\n");
}
