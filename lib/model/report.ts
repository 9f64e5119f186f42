/**
 * A training run's report: one self-contained HTML page of SVG panels (loss raw and smoothed,
 * gradient norm, learning rate, the targets' decoder cross-entropy, and the read-back probe's
 * CER), written beside the checkpoint so a run can be read at a glance.
 * @module
 */
import { type Series, seriesChartSvg, smoothed } from "../plot.ts";

/** What a report shows. */
export interface RunReport {
  /** Heading (e.g. the recipe and run folder). */
  readonly title: string;
  /** The run's settings, shown as a table. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Lines of metrics.jsonl. */
  readonly metrics: readonly {
    step: number;
    loss: number;
    gradNorm: number;
    lr: number;
    targetCe?: number;
  }[];
  /** Lines of probes.jsonl. */
  readonly probes?: readonly { step: number; split: string; cer: number }[];
  /** Label of the loss axis. */
  readonly lossLabel?: string;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The report as an HTML page.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { runReportHtml } from "./report.ts";
 * const metrics = [1, 2, 3].map((step) => ({ step, loss: 1 / step, gradNorm: 0.5, lr: 1e-3 }));
 * const html = runReportHtml({ title: "demo", settings: { lr: 1e-3 }, metrics,
 *   probes: [{ step: 3, split: "train", cer: 0.5 }] });
 * assert.ok(html.startsWith("<!doctype html>") && html.includes("train CER"));
 * assert.equal(html.match(/<svg/g)?.length, 4); // no target cross-entropy recorded: no panel
 * assert.ok(html.includes("3 steps recorded"));
 * assert.ok(runReportHtml({ title: "one", settings: {}, metrics: metrics.slice(0, 1) })
 *   .includes("1 step recorded"));
 * ```
 */
export function runReportHtml(report: RunReport): string {
  const { metrics } = report;
  const curve = (pick: (m: RunReport["metrics"][number]) => number | undefined) =>
    metrics.flatMap((m) => {
      const y = pick(m);
      return y === undefined || !Number.isFinite(y) ? [] : [[m.step, y] as [number, number]];
    });
  const chart = (series: Series[], title: string, yLabel: string, logY = false) =>
    seriesChartSvg(series, { title, xLabel: "step", yLabel, logY, integerX: true });
  const loss = curve((m) => m.loss), weight = metrics.length > 200 ? 0.98 : 0.9;
  const panels = [
    chart(
      [
        { name: "raw", points: loss, color: "#aec7e8" },
        { name: "smoothed", points: smoothed(loss, { weight }), color: "#1f77b4" },
      ],
      "training loss",
      report.lossLabel ?? "loss",
      true,
    ),
    chart(
      [
        { name: "raw", points: curve((m) => m.gradNorm), color: "#f7b6d2" },
        {
          name: "smoothed",
          points: smoothed(curve((m) => m.gradNorm), { weight }),
          color: "#d62728",
        },
      ],
      "gradient norm (before clipping)",
      "global norm",
      true,
    ),
    chart([{ name: "", points: curve((m) => m.lr) }], "learning rate", "lr"),
  ];
  const targetCe = curve((m) => m.targetCe);
  if (targetCe.length > 0) {
    panels.push(chart(
      [{ name: "", points: targetCe, kind: "dots" }],
      "targets' decoder cross-entropy after inversion",
      "nats/token",
    ));
  }
  const probes = report.probes ?? [];
  if (probes.length > 0) {
    const splits = [...new Set(probes.map((p) => p.split))];
    panels.push(chart(
      splits.map((split) => ({
        name: `${split} CER`,
        points: probes.filter((p) => p.split === split).map((p) => [p.step, 100 * p.cer]),
      })),
      "read-back CER of the probe sentences (EMA weights, greedy)",
      "CER %",
    ));
  }
  const rows = Object.entries(report.settings).map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td>${esc(JSON.stringify(v))}</td></tr>`
  );
  const last = metrics.at(-1);
  return [
    `<!doctype html>`,
    `<html><head><meta charset="utf-8"><title>${esc(report.title)}</title>`,
    `<style>body{font-family:sans-serif;margin:1em}svg{margin:4px}td{padding:0 8px}</style></head><body>`,
    `<h1>${esc(report.title)}</h1>`,
    `<p>${metrics.length} ${metrics.length === 1 ? "step" : "steps"} recorded${
      last ? `; last step ${last.step}, loss ${last.loss.toFixed(4)}` : ""
    }.</p>`,
    `<div>${panels.join("\n")}</div>`,
    `<h2>Settings</h2><table>${rows.join("")}</table>`,
    `</body></html>`,
  ].join("\n");
}
