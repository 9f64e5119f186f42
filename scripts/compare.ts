/**
 * `deno task compare runs/a runs/b ...`: several training runs on shared axes, in one
 * self-contained HTML page: their smoothed training loss (metrics.jsonl) and, where they have
 * one, their read-back probe's CER per split (probes.jsonl), one colour per run folder, named in
 * each chart's legend and in a table of the runs.
 *
 *   deno task compare runs/l1-anchored runs/l1-anchored-indep --out compare.html
 */
import { basename } from "node:path";
import { commandLine, EXIT, fail as failWith, plural } from "./cli.ts";
import { pathExists, writeFileAtomic } from "../lib/io.ts";
import { type Series, seriesChartSvg, smoothed } from "../lib/plot.ts";

const COMMAND = {
  name: "compare",
  usage: "deno task compare RUN_DIR [RUN_DIR ...] [options]",
  options: {
    out: { type: "string", arg: "FILE", default: "compare.html", help: "the page to write" },
    smooth: {
      type: "number",
      min: 0,
      max: 1,
      exclusiveMax: true,
      arg: "W",
      help: "EMA weight of the loss smoothing, 0 (raw) to <1 (default 0.9, or 0.98 when a run\n" +
        "has more than 200 steps, as report.html)",
    },
  },
  epilog: "Each RUN_DIR is a folder written by deno task train (metrics.jsonl, optionally " +
    "probes.jsonl\nand config.json).",
} as const;

function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

/** The colours of the runs, in order (the same run has the same colour in every chart). */
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

interface Run {
  /** The folder as given, without a trailing slash: the run's name in legends. */
  readonly name: string;
  readonly color: string;
  readonly loss: [number, number][];
  readonly probes: { step: number; split: string; cer: number }[];
  readonly config: Record<string, unknown>;
}

/** The JSON lines of `path`, each checked by `pick` (undefined: a bad line, named). */
async function jsonLines<T>(path: string, pick: (v: Record<string, unknown>) => T | undefined) {
  const out: T[] = [];
  const lines = (await Deno.readTextFile(path)).split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      fail(`${path}:${i + 1}: invalid JSON (${e instanceof Error ? e.message : e})`);
    }
    const picked = typeof value === "object" && value !== null
      ? pick(value as Record<string, unknown>)
      : undefined;
    if (picked === undefined) fail(`${path}:${i + 1}: not a record this command reads`);
    out.push(picked);
  }
  return out;
}

const isNumber = (v: unknown): v is number => typeof v === "number";

async function readRun(folder: string, index: number): Promise<Run> {
  const name = folder.replace(/\/+$/, "") || folder;
  if (!(await pathExists(folder))) fail(`${name}: no such folder`);
  const metricsPath = `${name}/metrics.jsonl`;
  if (!(await pathExists(metricsPath))) {
    fail(
      `${name}: no metrics.jsonl; give folders written by deno task train (a run that has ` +
        `saved at least one step)`,
    );
  }
  const loss = await jsonLines(
    metricsPath,
    (m) => isNumber(m.step) && isNumber(m.loss) ? [m.step, m.loss] as [number, number] : undefined,
  );
  if (loss.length === 0) fail(`${metricsPath}: no steps recorded`);
  const probesPath = `${name}/probes.jsonl`;
  const probes = (await pathExists(probesPath))
    ? await jsonLines(
      probesPath,
      (p) =>
        isNumber(p.step) && typeof p.split === "string" && isNumber(p.cer)
          ? { step: p.step, split: p.split, cer: p.cer }
          : undefined,
    )
    : [];
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(await Deno.readTextFile(`${name}/config.json`));
  } catch {
    // Older runs have no config.json; the table leaves their settings blank.
  }
  return { name, color: COLORS[index % COLORS.length], loss, probes, config };
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

const { values: f, positionals: folders } = commandLine(COMMAND);
if (folders.length === 0) fail("no run folder given (see --help)", EXIT.usage);

const runs: Run[] = [];
for (const [i, folder] of folders.entries()) runs.push(await readRun(folder, i));
const names = new Set(runs.map((r) => r.name));
if (names.size < runs.length) fail("a run folder is given twice");

const weight = f.smooth ?? (runs.some((r) => r.loss.length > 200) ? 0.98 : 0.9);
const chart = (series: Series[], title: string, yLabel: string, logY = false) =>
  seriesChartSvg(series, { title, xLabel: "step", yLabel, logY, integerX: true, width: 960 });
const panels = [
  chart(
    runs.map((r) => ({ name: r.name, points: smoothed(r.loss, { weight }), color: r.color })),
    `training loss, smoothed (EMA weight ${weight})`,
    "loss",
    true,
  ),
];
const splits = [...new Set(runs.flatMap((r) => r.probes.map((p) => p.split)))];
for (const split of splits) {
  panels.push(chart(
    runs.filter((r) => r.probes.some((p) => p.split === split)).map((r) => ({
      name: r.name,
      points: r.probes.filter((p) => p.split === split).map((p) => [p.step, 100 * p.cer]),
      color: r.color,
    })),
    `read-back CER of the ${split} probe sentences (EMA weights, greedy)`,
    "CER %",
  ));
}

const lastCer = (r: Run, split: string) => {
  const p = r.probes.filter((p) => p.split === split).at(-1);
  return p ? `${(100 * p.cer).toFixed(1)}% (step ${p.step})` : "";
};
// Settings from the runs' config.json, where one records them (older runs have none).
const settings = ["recipe", "size", "coupling", "lr", "batch"].filter((k) =>
  runs.some((r) => r.config[k] !== undefined)
);
const cell = (v: unknown) => v === undefined ? "" : esc(typeof v === "string" ? v : String(v));
const rows = runs.map((r) => {
  const last = smoothed(r.loss, { weight }).at(-1)!;
  return `<tr><td><span style="background:${r.color}">&nbsp;&nbsp;&nbsp;</span> ` +
    `${esc(r.name)}</td>${settings.map((k) => `<td>${cell(r.config[k])}</td>`).join("")}` +
    `<td>${r.loss.at(-1)![0]}</td><td>${Number(last[1].toPrecision(4))}</td>` +
    splits.map((s) => `<td>${lastCer(r, s)}</td>`).join("") + `</tr>`;
});
const title = `compare: ${runs.map((r) => basename(r.name)).join(", ")}`;
const html = [
  `<!doctype html>`,
  `<html><head><meta charset="utf-8"><title>${esc(title)}</title>`,
  `<style>body{font-family:sans-serif;margin:1em}svg{margin:4px}td,th{padding:0 8px;` +
  `text-align:left}</style></head><body>`,
  `<h1>${esc(title)}</h1>`,
  `<table><tr><th>run</th>${settings.map((k) => `<th>${k}</th>`).join("")}<th>last step</th>` +
  `<th>smoothed loss</th>${splits.map((s) => `<th>last ${esc(s)} CER</th>`).join("")}</tr>`,
  ...rows,
  `</table>`,
  `<div>${panels.join("\n")}</div>`,
  `</body></html>`,
].join("\n");
await writeFileAtomic(f.out, new TextEncoder().encode(html));
console.error(
  `compare: ${plural(runs.length, "run")}, ${plural(panels.length, "chart")}; wrote ${f.out}`,
);
