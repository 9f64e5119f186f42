/**
 * File-system helpers shared by checkpoints, logs and exported artefacts.
 * @module
 */

import { basename, dirname, join } from "node:path";

/**
 * Writes `bytes` to `path` so that readers see either the old file or the complete new one,
 * never a partial write: the data goes to a temporary file in the same directory (a rename is
 * only atomic within one file system), is flushed to disk, then renamed over `path`. Parent
 * directories are created. On failure the temporary file is removed and `path` is untouched.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { writeFileAtomic } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/sub/out.bin`, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await Deno.readFile(`${dir}/sub/out.bin`), new Uint8Array([1, 2, 3]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  // A random name (not a seeded Rng: it must not collide across processes) that
  // directory listings hide; createNew refuses to reuse an existing file.
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  try {
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await file.write(bytes.subarray(offset));
      }
      await file.sync(); // otherwise a crash after the rename can leave an empty file
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => undefined);
    throw error;
  }
}

/**
 * Whether a file or folder exists at `path` (false for any stat failure).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { pathExists } from "./io.ts";
 * assert.equal(await pathExists("no/such/path"), false);
 * assert.equal(await pathExists(Deno.cwd()), true);
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
