/**
 * `deno task whisper:get <repo-id>`: downloads a Whisper checkpoint in the Hugging Face layout
 * (config, tokenizer, safetensors weights) into the flowt2s cache, resumably and verified, and
 * prints the local folder. Already cached models are not fetched again.
 *
 *   deno task whisper:get openai/whisper-tiny [--revision r] [--cache dir] [--endpoint url]
 *                                             [--quiet] [--force]
 */
import { parseArgs } from "@std/cli";
import { resolveWhisper } from "../lib/whisper/hub.ts";

const HELP = `Usage: deno task whisper:get <repo-id> [options]
  <repo-id>         owner/name on the Hugging Face hub, e.g. openai/whisper-tiny
  --revision R      branch, tag or commit (default main)
  --cache DIR       cache root (default: $FLOWT2S_CACHE, else $XDG_CACHE_HOME/flowt2s or ~/.cache/flowt2s)
  --endpoint URL    hub or mirror (default: $HF_ENDPOINT, else https://huggingface.co)
  --quiet           no progress bar
  --force           download again even if the cache holds a complete copy
Private or gated repos need a token in $HF_TOKEN. Prints the local folder.`;

/** Errors are for people: the message alone, exit code 1. */
function fail(message: string): never {
  console.error(`whisper:get: ${message}`);
  Deno.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      revision: { type: "string" },
      cache: { type: "string" },
      endpoint: { type: "string" },
      quiet: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
} catch (e) {
  fail(`${(e as Error).message}\n${HELP}`);
}
const { values: a, positionals } = parsed;
if (a.help) {
  console.log(HELP);
  Deno.exit(0);
}
if (positionals.length !== 1) fail(`expected one repo id, got ${positionals.length}\n${HELP}`);

const result = await resolveWhisper(positionals[0], {
  revision: a.revision,
  cacheDir: a.cache,
  endpoint: a.endpoint,
  quiet: a.quiet,
  force: a.force,
})();
if (result._tag === "Left") fail(result.left.message);
console.log(result.right);
