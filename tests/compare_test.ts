/** `deno task compare` (scripts/compare.ts) on hand-written run folders. */
import assert from "@std/assert";

const script = new URL("../scripts/compare.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function compare(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: decoder.decode(out.stderr) };
}

const lines = (records: object[]) => records.map((r) => JSON.stringify(r) + "\n").join("");

async function runFolder(
  dir: string,
  losses: number[],
  extra: { probes?: object[]; config?: object } = {},
) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/metrics.jsonl`,
    lines(losses.map((loss, i) => ({ step: i + 1, loss, gradNorm: 1, lr: 1e-3 }))),
  );
  if (extra.probes) await Deno.writeTextFile(`${dir}/probes.jsonl`, lines(extra.probes));
  if (extra.config) await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(extra.config));
}

Deno.test("compare overlays the runs' smoothed loss and probe CER, each run named in the legend", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await runFolder(`${dir}/ot-run`, [4, 3, 2.5, 2, 1.8, 1.5], {
      probes: [
        { step: 3, split: "train", cer: 0.9, loops: 0 },
        { step: 3, split: "held-out", cer: 0.95, loops: 0 },
        { step: 6, split: "train", cer: 0.5, loops: 0 },
        { step: 6, split: "held-out", cer: 0.7, loops: 0 },
      ],
      config: { recipe: "anchored", coupling: "ot" },
    });
    await runFolder(`${dir}/independent-run`, [4, 3.5, 3, 2.8]);
    const out = `${dir}/page/compare.html`;
    const got = await compare(`${dir}/ot-run/`, `${dir}/independent-run`, "--out", out);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /2 runs, 3 charts; wrote .*compare\.html/);
    const html = await Deno.readTextFile(out);
    const svgs = html.split("<svg").slice(1);
    assert.equal(svgs.length, 3, "loss, train CER, held-out CER");
    // The loss chart names both folders in its legend, each with its own colour.
    for (const name of [`${dir}/ot-run`, `${dir}/independent-run`]) {
      assert.ok(svgs[0].includes(`>${name}</text>`), name);
    }
    assert.equal(svgs[0].match(/<polyline/g)?.length, 2);
    const colors = [...svgs[0].matchAll(/<polyline [^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(colors).size, 2);
    // Only the run with probes appears in the CER charts, in the same colour as its loss.
    assert.ok(svgs[1].includes(`>${dir}/ot-run</text>`));
    assert.ok(!svgs[1].includes("independent-run"));
    assert.ok(svgs[1].includes(`stroke="${colors[0]}"`));
    assert.match(html, /read-back CER of the held-out probe sentences/);
    assert.match(html, /<td>anchored<\/td><td>ot<\/td><td>6<\/td>/);
    assert.match(html, /70\.0% \(step 6\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare names a folder that is not a run, a bad line, and a missing argument", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await runFolder(`${dir}/run`, [2, 1]);
    await Deno.mkdir(`${dir}/empty`);
    const notRun = await compare(`${dir}/run`, `${dir}/empty`, "--out", `${dir}/c.html`);
    assert.equal(notRun.code, 1);
    assert.match(notRun.stderr, /^compare: .*\/empty: no metrics\.jsonl; give folders written by/);
    const missing = await compare(`${dir}/run`, `${dir}/nope`, "--out", `${dir}/c.html`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\/nope: no such folder/);
    await runFolder(`${dir}/bad`, [1]);
    await Deno.writeTextFile(`${dir}/bad/metrics.jsonl`, '{"step": 1, "loss": 1}\n{"step": 2,\n');
    const bad = await compare(`${dir}/bad`, "--out", `${dir}/c.html`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\/metrics\.jsonl:2: invalid JSON/);
    const none = await compare("--out", `${dir}/c.html`);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no run folder given/);
    const smooth = await compare(`${dir}/run`, "--smooth", "1");
    assert.equal(smooth.code, 2);
    assert.match(smooth.stderr, /--smooth: '1' must be < 1/);
    assert.equal(await Deno.stat(`${dir}/c.html`).catch(() => null), null, "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
