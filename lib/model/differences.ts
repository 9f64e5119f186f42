/**
 * What differs between the settings something was made with and the settings asked for now:
 * shared by generated-data folders (shards.ts) and target stores (target_store.ts), whose
 * refusals name each differing setting.
 * @module
 */

/** One setting that differs: its name, its value as saved, and as asked now. */
export interface SettingDifference {
  /** The setting's name. */
  readonly key: string;
  /** Its saved value (undefined when absent there). */
  readonly was: unknown;
  /** Its value now (undefined when absent now). */
  readonly now: unknown;
}

/**
 * Each setting whose value differs between `saved` and `now` (compared as JSON; a setting
 * present on one side only differs too), in key order.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { settingDifferences } from "./differences.ts";
 * assert.deepEqual(settingDifferences({ seed: 0, nfe: 8 }, { seed: 1, nfe: 8 }),
 *   [{ key: "seed", was: 0, now: 1 }]);
 * ```
 */
export function settingDifferences(
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
): SettingDifference[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  return keys.flatMap((key) =>
    JSON.stringify(saved[key]) === JSON.stringify(now[key])
      ? []
      : [{ key, was: saved[key], now: now[key] }]
  );
}
