/**
 * The command-line plumbing every script shares: a command's options declared once, as a table
 * (type, range or choices, default, help line), parsed into typed values; `--help` written from
 * that table; one way out on error.
 *
 * Exit codes: 0 done, 1 failed while running (bad data, missing file, a failing model),
 * 2 bad usage (unknown flag, a value out of range), 130 interrupted (Ctrl-C; a training run
 * saves first).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { helpText, parseCommand } from "./cli.ts";
 * const command = {
 *   name: "demo",
 *   usage: "deno task demo [options]",
 *   options: {
 *     steps: { type: "int", min: 1, default: 10, help: "optimizer steps" },
 *     lr: { type: "number", min: 0, exclusiveMin: true, help: "learning rate" },
 *     solver: { type: "choice", choices: ["euler", "midpoint"], default: "euler", help: "ODE solver" },
 *     quiet: { type: "boolean", help: "no progress output" },
 *   },
 * } as const;
 * const parsed = parseCommand(command, ["--steps", "5", "--lr", "0.1"]);
 * if (parsed._tag === "Left") throw new Error(parsed.left.message);
 * const { steps, lr, solver, quiet } = parsed.right.values;
 * assert.deepEqual([steps, lr, solver, quiet], [5, 0.1, "euler", false]);
 * const bad = parseCommand(command, ["--steps", "abc"]);
 * assert.ok(bad._tag === "Left" && /--steps: 'abc' is not an integer/.test(bad.left.message));
 * assert.match(helpText(command), /--steps N +optimizer steps \(default 10\)/);
 * ```
 * @module
 */
import { parseArgs } from "@std/cli";
import { either as E } from "fp-ts";
import type { Either } from "../lib/result.ts";

/** Exit codes of every script. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** `--provider`, for every command that opens ONNX Runtime sessions. */
export const PROVIDER_OPTION = {
  type: "choice",
  choices: ["cpu", "cuda"],
  default: "cpu",
  arg: "P",
  help: "execution provider",
} as const;

/** `--nfe`, `--solver`, `--sway`, `--guidance`: how a command samples states from a model. */
export const SAMPLING_OPTIONS = {
  nfe: { type: "int", min: 1, default: 16, help: "ODE steps" },
  solver: {
    type: "choice",
    choices: ["euler", "midpoint", "heun", "rk4"],
    default: "euler",
    arg: "S",
    help: "ODE solver",
  },
  sway: { type: "number", min: -1, max: 1, default: -1, help: "sway of the time grid, -1..1" },
  guidance: {
    type: "number",
    min: 0,
    default: 0,
    arg: "W",
    help: "classifier-free guidance weight",
  },
} as const;

interface Common {
  /** One line of help (more lines with "\n"). */
  readonly help: string;
  /** The value's placeholder in --help (default by type: N, X, C, TEXT). */
  readonly arg?: string;
}

/** One option of a command. */
export type OptionSpec =
  | Common & { readonly type: "string"; readonly default?: string }
  | Common & {
    readonly type: "choice";
    readonly choices: readonly string[];
    readonly default?: string;
  }
  | Common & {
    readonly type: "int" | "number";
    readonly default?: number;
    readonly min?: number;
    readonly max?: number;
    /** The minimum itself is out of range. */
    readonly exclusiveMin?: boolean;
    /** The maximum itself is out of range. */
    readonly exclusiveMax?: boolean;
  }
  | Common & { readonly type: "boolean" };

/** A command: its usage line and its options by flag name (kebab-case). */
export interface CommandSpec {
  /** The script's name, prefixed to its messages. */
  readonly name: string;
  /** The usage line of --help. */
  readonly usage: string;
  /** Options by flag name. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Lines printed after the options in --help. */
  readonly epilog?: string;
}

type ValueOf<O> = O extends { type: "boolean" } ? boolean
  : O extends { type: "int" | "number" }
    ? (O extends { default: number } ? number : number | undefined)
  : O extends { type: "choice"; choices: readonly (infer C)[] }
    ? (O extends { default: string } ? C : C | undefined)
  : O extends { default: string } ? string
  : string | undefined;

/** The typed values of a command's options. */
export type Values<C extends CommandSpec> = {
  -readonly [K in keyof C["options"]]: ValueOf<C["options"][K]>;
};

/** A parsed command line. */
export interface Parsed<C extends CommandSpec> {
  /** Option values, defaults filled in. */
  readonly values: Values<C>;
  /** Arguments that are not options. */
  readonly positionals: string[];
  /** Whether --help was asked for. */
  readonly help: boolean;
  /** The options given on the command line (not defaulted). */
  readonly given: ReadonlySet<string>;
}

/** Bad usage, with the message to print. */
export interface UsageError {
  /** What is wrong and what to do. */
  readonly message: string;
}

/** Option values from a file (camelCase keys, e.g. a JSON config), named in messages by `name`. */
export interface OptionFile {
  /** How messages name the file (its path). */
  readonly name: string;
  /** Values by camelCase option name. */
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * Checks one raw value against its option; `from` names where it came from (flag or file).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { checkOption } from "./cli.ts";
 * const spec = { type: "int", min: 1, help: "steps" } as const;
 * const out = checkOption("steps", spec, "0");
 * assert.ok(out._tag === "Left" && /must be >= 1/.test(out.left.message));
 * ```
 */
export function checkOption(
  name: string,
  spec: OptionSpec,
  raw: unknown,
  from = `--${name}`,
): Either<UsageError, unknown> {
  const bad = (why: string) => E.left({ message: `${from}: '${raw}' ${why}` });
  switch (spec.type) {
    case "boolean":
      return typeof raw === "boolean" ? E.right(raw) : bad("must be true or false");
    case "string":
      return E.right(String(raw));
    case "choice":
      return spec.choices.includes(String(raw))
        ? E.right(String(raw))
        : bad(`is not one of ${spec.choices.join(", ")}`);
    case "int":
    case "number": {
      const n = typeof raw === "number" ? raw : Number(String(raw).trim() || NaN);
      if (!Number.isFinite(n)) {
        return bad(`is not ${spec.type === "int" ? "an integer" : "a number"}`);
      }
      if (spec.type === "int" && !Number.isInteger(n)) return bad("is not an integer");
      if (spec.min !== undefined && (spec.exclusiveMin ? n <= spec.min : n < spec.min)) {
        return bad(`must be ${spec.exclusiveMin ? ">" : ">="} ${spec.min}`);
      }
      if (spec.max !== undefined && (spec.exclusiveMax ? n >= spec.max : n > spec.max)) {
        return bad(`must be ${spec.exclusiveMax ? "<" : "<="} ${spec.max}`);
      }
      return E.right(n);
    }
  }
}

/**
 * Parses `args` against a command's options: typed values, ranges and choices checked, defaults
 * filled in, `file` values (camelCase keys, e.g. from a JSON config) used where a flag is absent.
 */
export function parseCommand<const C extends CommandSpec>(
  command: C,
  args: readonly string[],
  options: { file?: Readonly<Record<string, unknown>>; fileName?: string } = {},
): Either<UsageError, Parsed<C>> {
  const flags: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [name, spec] of Object.entries(command.options)) {
    flags[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: flags, allowPositionals: true, strict: true });
  } catch (e) {
    return E.left({ message: `${e instanceof Error ? e.message : e} (see --help)` });
  }
  const raw = parsed.values as Record<string, unknown>;
  const files = options.file ? [{ name: options.fileName ?? "config", values: options.file }] : [];
  return resolve(command, raw, files, { positionals: parsed.positionals, help: raw.help === true });
}

/**
 * The values of a parsed command line, with `files` (a later one winning over an earlier one)
 * where no flag was given, or a usage error (exit 2) naming the file and key at fault: a command
 * line is parsed once, and layered over files found from its own values (a run's config.json).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { parseCommand, withFiles } from "./cli.ts";
 * const command = {
 *   name: "demo",
 *   usage: "deno task demo [options]",
 *   options: {
 *     steps: { type: "int", min: 1, default: 10, help: "optimizer steps" },
 *     lr: { type: "number", min: 0, help: "learning rate" },
 *   },
 * } as const;
 * const line = parseCommand(command, ["--lr", "0.1"]);
 * if (E.isLeft(line)) throw new Error(line.left.message);
 * const run = { name: "run.json", values: { steps: 5, lr: 0.3 } };
 * const { values } = withFiles(command, line.right, [run]);
 * assert.deepEqual([values.steps, values.lr], [5, 0.1]);
 * ```
 */
export function withFiles<const C extends CommandSpec>(
  command: C,
  line: Parsed<C>,
  files: readonly OptionFile[],
): Parsed<C> {
  const values = line.values as Record<string, unknown>;
  const flags = Object.fromEntries([...line.given].map((name) => [name, values[name]]));
  const layered = resolve(command, flags, files, line);
  if (E.isLeft(layered)) fail(command.name, layered.left.message, EXIT.usage);
  return layered.right;
}

/** Checked values: each option from its flag, else from the last file that has it, else default. */
function resolve<const C extends CommandSpec>(
  command: C,
  flags: Readonly<Record<string, unknown>>,
  files: readonly OptionFile[],
  rest: { readonly positionals: readonly string[]; readonly help: boolean },
): Either<UsageError, Parsed<C>> {
  const known = new Set(Object.keys(command.options).map(camelCase));
  for (const file of files) {
    for (const key of Object.keys(file.values)) {
      if (!known.has(key)) {
        return E.left({ message: `${file.name}: unknown option '${key}' (see --help)` });
      }
    }
  }
  const values: Record<string, unknown> = {}, given = new Set<string>();
  for (const [name, spec] of Object.entries(command.options)) {
    const key = camelCase(name);
    const file = files.findLast((f) => Object.hasOwn(f.values, key));
    const fromFlag = flags[name], fromFile = file?.values[key];
    const value = fromFlag ?? fromFile;
    if (fromFlag !== undefined) given.add(name);
    if (value === undefined) {
      values[name] = spec.type === "boolean" ? false : spec.default;
      continue;
    }
    const from = fromFlag !== undefined ? `--${name}` : `${file!.name} ${key}`;
    const checked = checkOption(name, spec, value, from);
    if (E.isLeft(checked)) return checked;
    values[name] = checked.right;
  }
  return E.right({
    values: values as Values<C>,
    positionals: [...rest.positionals],
    help: rest.help,
    given,
  });
}

/** A flag name in camelCase (the key a JSON config uses). */
export function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The --help text of a command, from its option table. */
export function helpText(command: CommandSpec): string {
  const placeholder = (spec: OptionSpec) =>
    spec.type === "boolean"
      ? ""
      : ` ${spec.arg ?? { string: "TEXT", choice: "C", int: "N", number: "X" }[spec.type]}`;
  const lines = [`Usage: ${command.usage}`];
  const heads = Object.entries(command.options).map(([n, s]) => `  --${n}${placeholder(s)}`);
  const column = Math.max(22, ...heads.map((h) => h.length + 2));
  Object.values(command.options).forEach((spec, i) => {
    const notes = [];
    if (spec.type === "choice") notes.push(spec.choices.join(", "));
    if (spec.type !== "boolean" && spec.default !== undefined) {
      notes.push(`default ${spec.default}`);
    }
    const note = notes.length ? `(${notes.join("; ")})` : "";
    const text = !note
      ? spec.help
      : spec.help.includes("\n")
      ? `${spec.help}\n${note}`
      : `${spec.help} ${note}`;
    text.split("\n").forEach((line, k) => {
      lines.push(`${k === 0 ? heads[i].padEnd(column) : " ".repeat(column)}${line}`);
    });
  });
  if (command.epilog) lines.push("", command.epilog);
  return lines.join("\n");
}

/**
 * A count and its noun, singular for 1: `plural(1, "sentence")` is "1 sentence",
 * `plural(3, "sentence")` "3 sentences"; `many` for an irregular plural.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { plural } from "./cli.ts";
 * assert.equal(plural(1, "sentence"), "1 sentence");
 * assert.equal(plural(0, "step"), "0 steps");
 * assert.equal(plural(2, "entry", "entries"), "2 entries");
 * ```
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Text for a Markdown table cell: control characters shown as escapes (`\n`, `\t`, `\u{7}`),
 * and the characters Markdown would read as markup (backslash, |, *, _, backquote, <, >, [, ],
 * ~, #) escaped with a backslash, so a cell shows exactly its text and never splits the row.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { markdownCell } from "./cli.ts";
 * assert.equal(markdownCell("a|b\nc"), "a\\|b\\\\nc");
 * assert.equal(markdownCell("*x* <b>"), "\\*x\\* \\<b\\>");
 * ```
 */
export function markdownCell(text: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  return text
    .replace(/[\\|*_`<>[\]~#]/g, (c) => `\\${c}`)
    .replace(/\p{Cc}/gu, (c) => `\\${named[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`}`);
}

/** Prints `name: message` to stderr and exits with `code` (default 1, a failure while running). */
export function fail(name: string, message: string, code: number = EXIT.failed): never {
  console.error(`${name}: ${message}`);
  Deno.exit(code);
}

/**
 * The command line of a script, or its --help (exit 0), or a usage error (exit 2): the one
 * entry point every script calls.
 */
export function commandLine<const C extends CommandSpec>(
  command: C,
  options: { args?: readonly string[] } = {},
): Parsed<C> {
  const parsed = parseCommand(command, options.args ?? Deno.args);
  if (E.isLeft(parsed)) fail(command.name, parsed.left.message, EXIT.usage);
  if (parsed.right.help) {
    console.log(helpText(command));
    Deno.exit(EXIT.ok);
  }
  return parsed.right;
}

/**
 * A progress line on stderr: redrawn in place on a terminal, printed as a plain line every
 * `every` ms when stderr is redirected (so logs hold lines, not carriage returns).
 */
export function progressLine(options: { quiet?: boolean; every?: number } = {}) {
  const terminal = Deno.stderr.isTerminal(), every = options.every ?? 30_000;
  let last = -Infinity;
  const encoder = new TextEncoder();
  return {
    /** Shows `text` (now on a terminal, at most every `every` ms otherwise). */
    update(text: string, force = false): void {
      if (options.quiet) return;
      if (terminal) Deno.stderr.writeSync(encoder.encode(`\r${text} `));
      else if (force || performance.now() - last >= every) {
        Deno.stderr.writeSync(encoder.encode(`${text}\n`));
        last = performance.now();
      }
    },
    /** Prints `text` as a line of its own (even when quiet), clearing a progress line first. */
    note(text: string): void {
      Deno.stderr.writeSync(encoder.encode(`${terminal ? "\r\x1b[K" : ""}${text}\n`));
    },
    /** Ends the line on a terminal. */
    done(): void {
      if (!options.quiet && terminal) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
