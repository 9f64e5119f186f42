/**
 * One entry point from a model name to a runnable model: "tiny-random" (the project's test
 * model, built in memory), a local Hugging Face folder, or a hub id resolved through the cache
 * (downloaded when missing and the hub is reachable).
 * @module
 */
import type { TaskEither } from "../result.ts";
import { function as F, taskEither as TE } from "../deps/fp_ts.ts";
import type { SessionOptions } from "../graph/session.ts";
import { type HubOptions, resolveWhisper } from "./hub.ts";
import { loadWhisper, type WhisperModel, whisperModel } from "./runtime.ts";
import { tinyRandomWhisper } from "./tiny_random.ts";

/** The name of the built-in tiny random model. */
export const TINY_RANDOM = "tiny-random";

/**
 * Opens "tiny-random", a folder, or a hub id such as "openai/whisper-tiny".
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { orThrow } from "../result.ts";
 * import { openWhisper } from "./open.ts";
 * const model = await orThrow(openWhisper("tiny-random", { threads: 1 }));
 * assert.equal(model.config.dModel, 32);
 * const missing = await openWhisper("./no/such/folder", { hub: { offline: true } })();
 * assert.ok(missing._tag === "Left");
 * ```
 */
export function openWhisper(
  name: string,
  options: SessionOptions & { hub?: HubOptions; seed?: number } = {},
): TaskEither<{ readonly message: string }, WhisperModel> {
  const { hub, seed, ...session } = options;
  if (name === TINY_RANDOM) return TE.right(whisperModel(tinyRandomWhisper({ seed }), session));
  return F.pipe(
    resolveWhisper(name, hub) as TaskEither<{ readonly message: string }, string>,
    TE.flatMap((dir) => loadWhisper(dir, session)),
  );
}
