/**
 * `deno task export`: writes a run's inference artifact (one set of weights, the network config,
 * normalisation, decoder interface and Whisper id; no AdamW moments, no cached targets), which
 * `sample`, `eval` and the library's `generate` take like a checkpoint.
 *
 *   deno task export --checkpoint runs/t2s/checkpoint.safetensors --out model.safetensors
 */
import { either as E } from "fp-ts";
import { exportT2S, loadT2S } from "../lib/model/checkpoint.ts";
import { commandLine, EXIT, fail } from "./cli.ts";

const COMMAND = {
  name: "export",
  usage: "deno task export --checkpoint FILE --out FILE [options]",
  options: {
    checkpoint: { type: "string", arg: "FILE", help: "a checkpoint written by deno task train" },
    out: { type: "string", arg: "FILE", help: "the artifact to write (.safetensors)" },
    weights: {
      type: "choice",
      choices: ["ema", "params"],
      default: "ema",
      help: "which weights: the EMA (what sampling uses) or the raw trained weights",
    },
  },
} as const;

const { checkpoint, out, weights } = commandLine(COMMAND).values;
if (!checkpoint) fail(COMMAND.name, "--checkpoint is required (see --help)", EXIT.usage);
if (!out) fail(COMMAND.name, "--out is required (see --help)", EXIT.usage);
const loaded = await loadT2S(checkpoint)();
if (E.isLeft(loaded)) fail(COMMAND.name, loaded.left.message);
const written = await exportT2S(out, loaded.right, { weights })();
if (E.isLeft(written)) fail(COMMAND.name, written.left.message);
const mb = (path: string) => Deno.statSync(path).size / 2 ** 20;
console.error(
  `export: ${weights} weights of step ${loaded.right.metadata.step ?? "?"} to ${out} ` +
    `(${mb(out).toFixed(1)} MB; the checkpoint is ${mb(checkpoint).toFixed(1)} MB)`,
);
