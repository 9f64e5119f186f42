/**
 * The library imported from outside the repository: by file URL, from a folder without a
 * deno.json (whose "imports" map bare names such as "fp-ts"), so lib/ must name its npm packages
 * by npm: specifiers, at deno.json's versions.
 */
import assert from "@std/assert";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

Deno.test("mod.ts imports by file URL from a folder outside the repository, with no config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowt2s-outside-" });
  try {
    assert.ok(!dir.startsWith(root.pathname), `${dir} is inside the repository`);
    const mod = new URL("mod.ts", root).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      [
        `import { either as E } from "npm:fp-ts@^2.16.11";`,
        `import { frames, Graph, grad, languageCode, mul, openSession, orThrow, reduceSum,`,
        `  runSession } from "${mod}";`,
        `const g = new Graph();`,
        `const x = g.input("x", { dtype: "float32", shape: [3] });`,
        `g.output(grad(reduceSum(mul(x, x)), [x])[0], "dx");`,
        `const out = await orThrow(runSession(await orThrow(openSession(g)), {`,
        `  x: new Float32Array([1, 2, 3]),`,
        `}));`,
        `console.log(JSON.stringify({`,
        `  lang: languageCode("German"),`,
        `  frames: E.isRight(frames("Hello there.", "en")),`,
        `  dx: [...out.dx],`,
        `}));`,
      ].join("\n") + "\n",
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "main.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = decoder.decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    assert.deepEqual(JSON.parse(decoder.decode(run.stdout)), {
      lang: { _tag: "Right", right: "de" },
      frames: true,
      dx: [2, 4, 6],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Specifiers of a source file's import, export and import.meta.resolve, comments left out. */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [
    ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm),
    ...code.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...code.matchAll(/\bimport(?:\.meta\.resolve)?\(\s*"([^"]+)"/g),
  ].map((m) => m[1]);
}

Deno.test("lib/ names packages by npm: specifiers at deno.json's versions, never bare", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const pinned = new Set(Object.values(config.imports as Record<string, string>));
  const files: string[] = [];
  const walk = (dir: URL) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts")) files.push(new URL(e.name, dir).pathname);
    }
  };
  walk(new URL("lib/", root));
  const seen = new Set<string>();
  for (const file of [...files, new URL("mod.ts", root).pathname]) {
    for (const s of specifiers(await Deno.readTextFile(file))) {
      if (s.startsWith(".") || s.startsWith("node:")) continue;
      assert.ok(s.startsWith("npm:"), `${file}: bare specifier "${s}"`);
      assert.ok(pinned.has(s), `${file}: ${s} is not the version deno.json's "imports" map to`);
      seen.add(s);
    }
  }
  assert.ok(seen.has("npm:fp-ts@^2.16.11") && seen.has("npm:onnxruntime-node@~1.30.0"));
});
