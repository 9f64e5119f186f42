/** Notebooks are stored without outputs and import the public API only. */
import assert from "@std/assert";

const dir = new URL("../notebooks/", import.meta.url);
const notebooks = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".ipynb")).map((e) =>
  e.name
).sort();

Deno.test("notebooks/ has the three notebooks of the public API tour", () => {
  assert.deepEqual(notebooks, [
    "01_paths_and_ot.ipynb",
    "02_whisper_round_trip.ipynb",
    "03_train_tiny_t2s.ipynb",
  ]);
});

for (const name of notebooks) {
  Deno.test(`${name} has no outputs and imports only @flowt2s/flowt2s`, async () => {
    const nb = JSON.parse(await Deno.readTextFile(new URL(name, dir)));
    assert.equal(nb.metadata.kernelspec.name, "deno");
    for (const cell of nb.cells) {
      if (cell.cell_type !== "code") continue;
      assert.deepEqual(
        cell.outputs,
        [],
        `${name}: a cell has outputs; clear them before committing`,
      );
      assert.equal(cell.execution_count, null);
      const source = cell.source.join("");
      for (const m of source.matchAll(/from\s+"([^"]+)"/g)) {
        assert.equal(m[1], "@flowt2s/flowt2s", `${name} imports ${m[1]}`);
      }
    }
  });
}
