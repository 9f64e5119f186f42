/**
 * `deno task whisper:get <repo-id>`: downloads a Whisper checkpoint in the Hugging Face layout
 * (config, tokenizer, safetensors weights) into the flowt2s cache, resumably and verified, and
 * prints the local folder. Already cached models are not fetched again.
 *
 *   deno task whisper:get openai/whisper-tiny [--revision r] [--cache dir] [--endpoint url]
 *                                             [--quiet] [--force]
 */
import { commandLine, EXIT, fail as failWith } from "./cli.ts";
import { resolveWhisper } from "../lib/whisper/hub.ts";

const COMMAND = {
  name: "whisper:get",
  usage: "deno task whisper:get <repo-id> [options]",
  options: {
    revision: { type: "string", arg: "R", help: "branch, tag or commit (default main)" },
    cache: {
      type: "string",
      arg: "DIR",
      help:
        "cache root (default: $FLOWT2S_CACHE, else $XDG_CACHE_HOME/flowt2s or ~/.cache/flowt2s)",
    },
    endpoint: {
      type: "string",
      arg: "URL",
      help: "hub or mirror (default: $HF_ENDPOINT, else https://huggingface.co)",
    },
    quiet: { type: "boolean", help: "no progress bar" },
    force: { type: "boolean", help: "download again even if the cache holds a complete copy" },
  },
  epilog: "<repo-id> is owner/name on the Hugging Face hub, e.g. openai/whisper-tiny.\n" +
    "Private or gated repos need a token in $HF_TOKEN. Prints the local folder.",
} as const;

/** Errors are for people: the message alone; exit code 1 (2 for bad usage). */
function fail(message: string, code?: number): never {
  return failWith(COMMAND.name, message, code);
}

const { values: a, positionals } = commandLine(COMMAND);
if (positionals.length !== 1) {
  fail(`expected one repo id, got ${positionals.length} (see --help)`, EXIT.usage);
}

const result = await resolveWhisper(positionals[0], {
  revision: a.revision,
  cacheDir: a.cache,
  endpoint: a.endpoint,
  quiet: a.quiet,
  force: a.force,
})();
if (result._tag === "Left") fail(result.left.message);
console.log(result.right);
