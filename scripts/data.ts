/**
 * A command's sentence file (`--data`, `--file`): lib/data's `loadSentences`, its messages worded
 * for the command line (`--lang`, not the API's `{ lang }`), and a file without a single sentence
 * an error that says so (rather than a later "nothing left" after a split or a filter).
 * @module
 */
import { either as E } from "fp-ts";
import { loadSentences, type Sentence } from "../lib/data/mod.ts";
import { fail } from "./cli.ts";

/**
 * The sentences of `path`, or exits 1 with `command: message`. `langFlag` is the command's flag
 * for the language of a .txt file (default `--lang`; `null` for a command without one).
 */
export async function readSentences(
  command: string,
  path: string,
  options: { readonly lang?: string; readonly langFlag?: string | null } = {},
): Promise<Sentence[]> {
  const langOption = options.langFlag === undefined ? "--lang" : options.langFlag;
  const loaded = await loadSentences(path, { lang: options.lang, langOption })();
  if (E.isLeft(loaded)) fail(command, loaded.left.message);
  if (loaded.right.length === 0) {
    fail(command, `${path}: the file holds no sentences (it is empty, or only blank lines)`);
  }
  return loaded.right;
}
