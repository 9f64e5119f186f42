/**
 * Length heuristics for flowt2s: how many Whisper-encoder frames (50 per second, at most 1500)
 * a text takes when spoken, from a speaking rate per Whisper language.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { createRng } from "../random.ts";
 * import { frames, splitSegments } from "./mod.ts";
 * import { orThrow } from "../result.ts";
 * const est = orThrow(frames("你好，世界。今天天气很好。", "zh"));
 * assert.equal(est.unit, "char");
 * const jittered = orThrow(frames("Hello there, world.", "en", { rng: createRng(0) }));
 * assert.ok(jittered.jitter !== 1);
 * assert.equal(orThrow(splitSegments("Short.", "en")).length, 1);
 * ```
 * @module
 */
export {
  calibrate,
  type CalibrateOptions,
  type Calibration,
  type CalibrationPair,
  type LanguageFit,
} from "./calibrate.ts";
export { editDistance, type LengthError, lengthError, type LengthErrorKind } from "./errors.ts";
export {
  DEFAULT_MIN_FRAMES,
  DEFAULT_PAUSES,
  type FrameEstimate,
  frames,
  FRAMES_PER_SECOND,
  type FramesOptions,
  jitterFactor,
  MAX_FRAMES,
  type Pauses,
  secondsToFrames,
} from "./frames.ts";
export { resolveLanguage, withRates } from "./language.ts";
export { LETTER_WORDS, measure, type Measurement, type UnitParts } from "./measure.ts";
export { digitValue, numberWords } from "./numbers.ts";
export {
  DEFAULT_DURATION_RATIO,
  ENGLISH_WORDS_PER_SECOND,
  type RateEntry,
  type RateTable,
  type Unit,
  WHISPER_RATES,
  WHISPERSPEECH_DEFAULT_CPS,
} from "./rates.ts";
export { type Segment, splitSegments } from "./segments.ts";
export { rateTableFromJson } from "./table_json.ts";
export { type Token, tokenize, type TokenKind } from "./tokens.ts";

// Types from other parts of flowt2s that this entry point's signatures name, so that its
// documentation is complete on its own; each is documented where it is declared.
export type { Rng, RngState } from "../random.ts";
export type { Either, Left, Right, Task, TaskEither } from "../result.ts";
