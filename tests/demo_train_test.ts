/** `deno task train:demo` (scripts/demo_train.ts) end to end: files, exact resume, clear errors. */
import assert from "@std/assert";

const SMALL = [
  "--batch",
  "2",
  "--seq",
  "4",
  "--d",
  "8",
  "--heads",
  "2",
  "--steps-per-call",
  "5",
  "--quiet",
  "--threads",
  "1",
];

async function train(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/demo_train.ts", import.meta.url).pathname,
      ...SMALL,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const losses = async (dir: string) =>
  (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l).loss
  );

Deno.test("demo_train resumes exactly: 10 + 10 steps equal 20 uninterrupted steps", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  assert.equal((await train(["--steps", "20", "--save-every", "10", "--out", a])).code, 0);
  assert.equal(
    (await train(["--steps", "20", "--save-every", "10", "--out", b, "--stop-after", "10"])).code,
    0,
  );
  assert.equal((await losses(b)).length, 10);
  assert.equal(
    (await train(["--steps", "20", "--save-every", "10", "--out", b, "--resume"])).code,
    0,
  );
  assert.deepEqual(await losses(b), await losses(a));
  assert.deepEqual(
    await Deno.readFile(`${b}/checkpoint.safetensors`),
    await Deno.readFile(`${a}/checkpoint.safetensors`),
  );
  assert.match(await Deno.readTextFile(`${a}/loss.svg`), /^<svg/);
});

Deno.test("demo_train names bad flags and a missing checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const missing = await train(["--out", `${dir}/none`, "--resume"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--resume: no checkpoint at .*none\/checkpoint\.safetensors/);
  // Bad usage exits 2.
  const bad = await train(["--steps", "7"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /must be multiples of --steps-per-call \(5\)/);
  const heads = await train(["--heads", "3"]);
  assert.equal(heads.code, 2);
  assert.match(heads.stderr, /--d 8 must be divisible by --heads 3/);
  const lr = await train(["--lr", "0"]);
  assert.equal(lr.code, 2);
  assert.match(lr.stderr, /--lr: '0' must be > 0/);
});

Deno.test("demo_train refuses a different configuration on resume and an existing run without --force", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal((await train(["--steps", "5", "--save-every", "5", "--out", dir])).code, 0);
  const r = await train([
    "--steps",
    "10",
    "--save-every",
    "5",
    "--out",
    dir,
    "--resume",
    "--seed",
    "3",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /was made with .*"seed":0.*this run asks for .*"seed":3/);
});

Deno.test("demo_train: Ctrl-C saves, exits 130, and --resume continues", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../scripts/demo_train.ts", import.meta.url).pathname,
        ...SMALL,
        "--steps",
        "1000000",
        "--save-every",
        "5",
        "--out",
        dir,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const metrics = `${dir}/metrics.jsonl`;
    const deadline = Date.now() + 60_000;
    while (!(await Deno.readTextFile(metrics).catch(() => "")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    const ended = await child.output();
    const stderr = new TextDecoder().decode(ended.stderr);
    assert.equal(ended.code, 130, stderr);
    const saved = Number(stderr.match(/interrupted: saved step (\d+)/)?.[1]);
    assert.ok(saved >= 5, stderr);
    assert.equal((await losses(dir)).length, saved);
    const more = await train([
      "--steps",
      "1000000",
      "--out",
      dir,
      "--resume",
      "--stop-after",
      String(saved + 5),
    ]);
    assert.equal(more.code, 0, more.stderr);
    assert.equal((await losses(dir)).length, saved + 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
