import assert from "@std/assert";
import { either as E } from "fp-ts";
import {
  checkOption,
  helpText,
  markdownCell,
  parseCommand,
  plural,
  withFiles,
} from "../scripts/cli.ts";

const command = {
  name: "demo",
  usage: "deno task demo [options] TEXT...",
  options: {
    steps: { type: "int", min: 1, default: 10, help: "optimizer steps" },
    "held-out": { type: "number", min: 0, max: 0.99, default: 0.05, help: "held-out fraction" },
    lr: { type: "number", min: 0, exclusiveMin: true, help: "learning rate" },
    solver: { type: "choice", choices: ["euler", "midpoint"], default: "euler", help: "solver" },
    out: { type: "string", arg: "DIR", help: "run folder\nsecond line" },
    quiet: { type: "boolean", help: "no progress output" },
  },
} as const;

const ok = (args: string[], file?: Record<string, unknown>) => {
  const parsed = parseCommand(command, args, { file, fileName: "run.json" });
  if (E.isLeft(parsed)) throw new Error(parsed.left.message);
  return parsed.right;
};
const error = (args: string[], file?: Record<string, unknown>) => {
  const parsed = parseCommand(command, args, { file, fileName: "run.json" });
  if (E.isRight(parsed)) throw new Error(`expected an error for ${args.join(" ")}`);
  return parsed.left.message;
};

Deno.test("parseCommand() gives typed values, defaults and positionals", () => {
  const p = ok(["--steps", "5", "--held-out", "0.1", "--quiet", "hello", "world"]);
  assert.deepEqual(p.values, {
    steps: 5,
    "held-out": 0.1,
    lr: undefined,
    solver: "euler",
    out: undefined,
    quiet: true,
  });
  assert.deepEqual(p.positionals, ["hello", "world"]);
  assert.deepEqual([...p.given].sort(), ["held-out", "quiet", "steps"]);
  assert.equal(ok(["--help"]).help, true);
});

Deno.test("parseCommand() names the flag, the value and the range of bad input", () => {
  assert.match(error(["--steps", "abc"]), /--steps: 'abc' is not an integer/);
  assert.match(error(["--steps", "2.5"]), /--steps: '2.5' is not an integer/);
  assert.match(error(["--steps", "0"]), /--steps: '0' must be >= 1/);
  assert.match(error(["--held-out", "1"]), /--held-out: '1' must be <= 0.99/);
  assert.match(error(["--lr", "0"]), /--lr: '0' must be > 0/);
  assert.match(error(["--lr", ""]), /--lr: '' is not a number/);
  assert.match(error(["--solver", "rk4"]), /--solver: 'rk4' is not one of euler, midpoint/);
  assert.match(error(["--nope"]), /nope.*see --help/);
});

Deno.test("parseCommand() takes a config file's camelCase keys where no flag is given; flags win", () => {
  const p = ok(["--steps", "7"], { steps: 3, heldOut: 0.2, solver: "midpoint" });
  assert.equal(p.values.steps, 7);
  assert.equal(p.values["held-out"], 0.2);
  assert.equal(p.values.solver, "midpoint");
  assert.match(error([], { stepz: 3 }), /run\.json: unknown option 'stepz'/);
  assert.match(error([], { heldOut: 2 }), /run\.json heldOut: '2' must be <= 0.99/);
});

Deno.test("withFiles() layers files under a command line parsed once: flags win, then the later file", () => {
  const line = ok(["--steps", "7"]);
  const run = { name: "run/config.json", values: { steps: 3, heldOut: 0.2, solver: "midpoint" } };
  const config = { name: "my.json", values: { solver: "euler", out: "runs/x" } };
  const p = withFiles(command, line, [run, config]);
  assert.deepEqual(
    [p.values.steps, p.values["held-out"], p.values.solver, p.values.out],
    [7, 0.2, "euler", "runs/x"],
  );
  assert.deepEqual([...p.given], ["steps"]);
  assert.deepEqual(withFiles(command, line, []).values, line.values);
});

Deno.test("helpText() lists every option with its placeholder, choices and default", () => {
  const help = helpText(command);
  assert.match(help, /^Usage: deno task demo \[options\] TEXT\.\.\./);
  assert.match(help, /--steps N +optimizer steps \(default 10\)/);
  assert.match(help, /--solver C +solver \(euler, midpoint; default euler\)/);
  assert.match(help, /--out DIR +run folder\n +second line/);
  assert.match(help, /--quiet +no progress output/);
  for (const name of Object.keys(command.options)) assert.ok(help.includes(`--${name}`), name);
});

Deno.test("checkOption() accepts numbers from JSON as they are", () => {
  const spec = { type: "number", min: 0, help: "x" } as const;
  assert.deepEqual(checkOption("x", spec, 0.5), E.right(0.5));
  assert.ok(E.isLeft(checkOption("x", spec, -1)));
});

Deno.test("plural() is singular for 1 only", () => {
  assert.deepEqual([0, 1, 2].map((n) => plural(n, "sentence")), [
    "0 sentences",
    "1 sentence",
    "2 sentences",
  ]);
  assert.equal(plural(1, "entry", "entries"), "1 entry");
  assert.equal(plural(3, "entry", "entries"), "3 entries");
});

Deno.test("markdownCell() keeps a table row whole and shows control characters as escapes", () => {
  assert.equal(markdownCell("plain text."), "plain text.");
  assert.equal(markdownCell("a|b"), "a\\|b");
  assert.equal(
    markdownCell("line\nbreak\ttab\r\u0007bell"),
    "line\\\\nbreak\\\\ttab\\\\r\\\\u{7}bell",
  );
  assert.equal(markdownCell("\\|"), "\\\\\\|"); // a backslash before a pipe stays a backslash
  assert.equal(
    markdownCell("*bold* _it_ `code` <b> [l](u) ~s~ #"),
    "\\*bold\\* \\_it\\_ \\`code\\` \\<b\\> \\[l\\](u) \\~s\\~ \\#",
  );
  // No raw pipe or control character survives: a table row splits into exactly its cells.
  const row = `| ${markdownCell("x|y\n|z")} | ${markdownCell("\u0000")} |`;
  assert.equal(row.replace(/\\./g, "").split("|").length, 4);
  assert.doesNotMatch(row, /\p{Cc}/u);
});
