/**
 * Text datasets for flowt2s: reading sentence files (.txt, .jsonl, .tsv) with per-line checks,
 * whole or streamed one line at a time; a deterministic stratified held-out split, and
 * length-bucketed batches.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { lengthBatches, parseSentences, splitHeldOut, withFrames } from "./mod.ts";
 * import { orThrow } from "../result.ts";
 * const text = "The cat sleeps.\nIt is raining again today.\nWe walk home.\nShe reads.\n";
 * const options = { format: "txt", lang: "en", source: "a.txt" } as const;
 * const sentences = orThrow(parseSentences(text, options));
 * const { train, heldOut } = splitHeldOut(sentences, { fraction: 0.25, seed: 0 });
 * assert.equal(heldOut.length, 1);
 * const items = orThrow(withFrames(train));
 * const { batches } = lengthBatches(items, { batchSize: 2, rng: createRng(0) });
 * assert.equal(batches.flat().length, 3);
 * ```
 * @module
 */
export {
  type DataError,
  dataError,
  type DataErrorKind,
  type DataIssue,
  dataIssue,
} from "./errors.ts";
export {
  concatSentences,
  formatOf,
  loadSentences,
  type ParseOptions,
  parseSentences,
  type Sentence,
  TEXT_FORMATS,
  type TextFormat,
} from "./sentences.ts";
export { hashText, type HeldOutSplit, splitHeldOut } from "./held_out.ts";
export {
  countRecords,
  type StreamedRecord,
  type StreamOptions,
  streamSentences,
} from "./stream.ts";
export {
  loadUdhr,
  parseUdhrHtml,
  UDHR_DECLARATIONS,
  UDHR_PREFIX,
  udhrLanguages,
  udhrSentences,
  type UdhrUnsupported,
} from "./udhr.ts";
export {
  DEFAULT_BUCKET_WIDTH,
  type LengthBatches,
  lengthBatches,
  type LengthBatchOptions,
  paddingFraction,
  withFrames,
} from "./length_batches.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Rng, RngState } from "../random.ts";
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
export type { RateEntry, RateTable, Unit } from "../length/rates.ts";
