import assert from "@std/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { encodeSafetensors } from "../lib/graph/safetensors.ts";
import { resolveWhisper } from "../lib/whisper/hub.ts";

const REPO = "org/tiny-whisper";
const utf8 = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const weights = (n: number) =>
  encodeSafetensors({
    "model.encoder.conv1.weight": {
      dtype: "F32",
      shape: [n, 64],
      data: Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(n + i)),
    },
    "model.decoder.embed_tokens.weight": {
      dtype: "F32",
      shape: [8, 4],
      data: Float32Array.from({ length: 32 }, (_, i) => i),
    },
  }, { metadata: { format: "pt" } });

/** A small model folder: the files the hub would list, LFS ones marked. */
const MODEL: Record<string, Uint8Array> = {
  "config.json": utf8(JSON.stringify({ model_type: "whisper", d_model: 4 })),
  "generation_config.json": utf8(JSON.stringify({ decoder_start_token_id: 1 })),
  "tokenizer.json": utf8(JSON.stringify({ version: "1.0", model: { vocab: {} } })),
  "model.safetensors": weights(64),
};

interface HubBehaviour {
  /** Files of the repo (default MODEL). */
  files?: Record<string, Uint8Array>;
  /** The first transfer of this file stops midway with a broken connection. */
  cutOnce?: string;
  /** The first request for this file gets a 503. */
  busyOnce?: string;
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
  /** Publish a wrong sha256 for this file. */
  wrongSha?: string;
}

interface FakeHub {
  endpoint: string;
  /** `host-kind path range auth` per request, in order. */
  log: string[];
  close(): Promise<void>;
}

const isLfs = (name: string) => name.endsWith(".safetensors");

/**
 * A hub on loopback: small files served directly, safetensors files redirected (302) to a
 * second server standing in for the CDN, with x-linked-etag / x-linked-size on the redirect.
 */
function fakeHub(behaviour: HubBehaviour = {}): FakeHub {
  const files = behaviour.files ?? MODEL;
  const log: string[] = [];
  const once = new Set<string>();
  const first = (key: string) => {
    const fresh = !once.has(key);
    once.add(key);
    return fresh;
  };
  const note = (kind: string, req: Request) =>
    log.push(
      `${kind} ${new URL(req.url).pathname} ${req.headers.get("range") ?? "-"} ` +
        `${req.headers.get("authorization") ?? "-"}`,
    );

  const body = (name: string, req: Request, etag: string): Response => {
    const bytes = files[name];
    const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
    if (range && !behaviour.ignoreRange) {
      const start = Number(range[1]);
      return new Response(bytes.slice(start), {
        status: 206,
        headers: { etag, "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` },
      });
    }
    if (behaviour.cutOnce === name && first(`cut ${name}`)) {
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(bytes.slice(0, bytes.length >> 1));
          await new Promise((r) => setTimeout(r, 20)); // let the first half reach the client
          controller.close(); // short of Content-Length: the server drops the connection
        },
      });
      return new Response(stream, {
        headers: { etag, "content-length": String(bytes.length) },
      });
    }
    return new Response(bytes.slice(), { headers: { etag } });
  };

  const serve = (handler: (req: Request) => Response) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const cdn = serve((req) => {
    note("cdn", req);
    return body(decodeURIComponent(new URL(req.url).pathname.slice("/lfs/".length)), req, '"s3"');
  });
  const hub = serve((req) => {
    note("hub", req);
    const prefix = `/${REPO}/resolve/main/`;
    const path = new URL(req.url).pathname;
    const name = path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : "";
    if (!(name in files)) return new Response("Entry not found", { status: 404 });
    if (behaviour.busyOnce === name && first(`busy ${name}`)) {
      return new Response("busy", { status: 503 });
    }
    const bytes = files[name];
    if (!isLfs(name)) return body(name, req, `"${sha256(bytes).slice(0, 40)}"`); // a git sha1
    const sha = behaviour.wrongSha === name ? sha256(utf8("something else")) : sha256(bytes);
    return new Response(null, {
      status: 302,
      headers: {
        location: `http://127.0.0.1:${cdn.addr.port}/lfs/${encodeURIComponent(name)}`,
        "x-linked-etag": `"${sha}"`,
        "x-linked-size": String(bytes.length),
        "x-repo-commit": "0123456789abcdef0123456789abcdef01234567",
      },
    });
  });
  return {
    endpoint: `http://127.0.0.1:${hub.addr.port}`,
    log,
    close: async () => {
      await hub.shutdown();
      await cdn.shutdown();
    },
  };
}

/** Runs `fn` with a fake hub and an empty cache root, closing and removing both afterwards. */
async function withHub(
  behaviour: HubBehaviour,
  fn: (hub: FakeHub, cacheDir: string) => Promise<void>,
): Promise<void> {
  const hub = fakeHub(behaviour);
  const cacheDir = await Deno.makeTempDir();
  try {
    await fn(hub, cacheDir);
  } finally {
    await hub.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

const fast = { quiet: true, retryDelayMs: 1 };
const modelDir = (cacheDir: string) => join(cacheDir, "whisper", "org--tiny-whisper", "main");

async function resolved(id: string, options: Parameters<typeof resolveWhisper>[1]) {
  const result = await resolveWhisper(id, options)();
  return result._tag === "Right" ? result.right : assert.fail(result.left.message);
}

async function failure(id: string, options: Parameters<typeof resolveWhisper>[1]) {
  const result = await resolveWhisper(id, options)();
  return result._tag === "Left" ? result.left.message : assert.fail(`resolved to ${result.right}`);
}

async function assertFiles(dir: string, files: Record<string, Uint8Array>) {
  for (const [name, bytes] of Object.entries(files)) {
    assert.deepEqual(await Deno.readFile(join(dir, name)), bytes, name);
  }
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".part"));
  assert.deepEqual(left, []);
}

Deno.test("resolveWhisper() downloads every file, verifies it and writes the completion marker", async () => {
  await withHub({}, async (hub, cacheDir) => {
    const dir = await resolved(REPO, { ...fast, endpoint: hub.endpoint, cacheDir, token: "tok" });
    assert.equal(dir, modelDir(cacheDir));
    await assertFiles(dir, MODEL);
    const marker = JSON.parse(await Deno.readTextFile(join(dir, ".complete")));
    assert.equal(marker.repoId, REPO);
    assert.equal(marker.commit, "0123456789abcdef0123456789abcdef01234567");
    assert.deepEqual(
      Object.fromEntries(marker.files.map((f: { name: string }) => [f.name, f])),
      Object.fromEntries(
        Object.entries(MODEL).map((
          [name, b],
        ) => [name, { name, size: b.length, sha256: sha256(b) }]),
      ),
    );
    // The token goes to the hub only, never to the CDN it redirects to.
    assert.ok(hub.log.includes("hub /org/tiny-whisper/resolve/main/config.json - Bearer tok"));
    assert.ok(hub.log.includes("cdn /lfs/model.safetensors - -"));
    assert.ok(hub.log.some((l) => l.includes("/resolve/main/vocab.json"))); // optional: 404, skipped
  });
});

Deno.test("resolveWhisper() serves a complete cache folder without any request", async () => {
  await withHub({}, async (hub, cacheDir) => {
    const options = { ...fast, endpoint: hub.endpoint, cacheDir };
    const dir = await resolved(REPO, options);
    const requests = hub.log.length;
    assert.equal(await resolved(REPO, options), dir);
    assert.equal(await resolved(REPO, { ...options, offline: true }), dir);
    assert.equal(await resolved(dir, options), dir); // an existing folder is used as is
    assert.equal(hub.log.length, requests);
    // A file gone missing makes the folder incomplete again: it is fetched anew.
    await Deno.remove(join(dir, "tokenizer.json"));
    assert.equal(await resolved(REPO, options), dir);
    await assertFiles(dir, MODEL);
    assert.ok(hub.log.length > requests);
  });
});

Deno.test("resolveWhisper() resumes an interrupted transfer with a Range request", async () => {
  await withHub({ cutOnce: "model.safetensors" }, async (hub, cacheDir) => {
    const dir = await resolved(REPO, { ...fast, endpoint: hub.endpoint, cacheDir });
    await assertFiles(dir, MODEL);
    const cdn = hub.log.filter((l) => l.startsWith("cdn "));
    assert.equal(cdn.length, 2, cdn.join("\n"));
    const start = Number(/bytes=(\d+)-/.exec(cdn[1])?.[1]);
    assert.ok(start > 0 && start < MODEL["model.safetensors"].length, cdn[1]);
  });
});

Deno.test("resolveWhisper() retries a 5xx answer", async () => {
  await withHub({ busyOnce: "config.json" }, async (hub, cacheDir) => {
    await assertFiles(await resolved(REPO, { ...fast, endpoint: hub.endpoint, cacheDir }), MODEL);
    assert.equal(hub.log.filter((l) => l.includes("/config.json")).length, 2);
  });
});

Deno.test("resolveWhisper() restarts cleanly when the server ignores Range", async () => {
  await withHub({ ignoreRange: true }, async (hub, cacheDir) => {
    // A leftover .part that is not even a prefix of the file: appending would corrupt it.
    const part = join(modelDir(cacheDir), "model.safetensors.part");
    await Deno.mkdir(modelDir(cacheDir), { recursive: true });
    await Deno.writeFile(part, new Uint8Array(100).fill(0xff));
    const dir = await resolved(REPO, { ...fast, endpoint: hub.endpoint, cacheDir });
    await assertFiles(dir, MODEL);
    assert.ok(hub.log.includes("cdn /lfs/model.safetensors bytes=100- -"));
  });
});

Deno.test("resolveWhisper() rejects a file whose sha256 does not match and leaves no file", async () => {
  await withHub({ wrongSha: "model.safetensors" }, async (hub, cacheDir) => {
    const message = await failure(REPO, { ...fast, endpoint: hub.endpoint, cacheDir });
    assert.match(message, /model\.safetensors of org\/tiny-whisper/);
    assert.ok(message.includes(`expected ${sha256(utf8("something else"))}`), message);
    assert.ok(message.includes(`got ${sha256(MODEL["model.safetensors"])}`), message);
    const names = [...Deno.readDirSync(modelDir(cacheDir))].map((e) => e.name);
    assert.ok(!names.some((n) => n.startsWith("model.safetensors")), names.join());
    assert.ok(!names.includes(".complete"));
  });
});

Deno.test("resolveWhisper() downloads a sharded checkpoint listed by its index", async () => {
  const shards = {
    "model-00001-of-00002.safetensors": weights(32),
    "model-00002-of-00002.safetensors": weights(16),
  };
  const index = {
    metadata: { total_size: 1 },
    weight_map: {
      "model.encoder.conv1.weight": "model-00001-of-00002.safetensors",
      "model.decoder.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.decoder.layer_norm.weight": "model-00002-of-00002.safetensors",
    },
  };
  const { "model.safetensors": _, ...rest } = MODEL;
  const files = { ...rest, ...shards, "model.safetensors.index.json": utf8(JSON.stringify(index)) };
  await withHub({ files }, async (hub, cacheDir) => {
    const dir = await resolved(REPO, { ...fast, endpoint: hub.endpoint, cacheDir });
    await assertFiles(dir, files);
    const marker = JSON.parse(await Deno.readTextFile(join(dir, ".complete")));
    assert.equal(marker.files.length, Object.keys(files).length);
  });
});

Deno.test("resolveWhisper() names a required file the repo lacks", async () => {
  const { "tokenizer.json": _, ...files } = MODEL;
  await withHub({ files }, async (hub, cacheDir) => {
    const message = await failure(REPO, { ...fast, endpoint: hub.endpoint, cacheDir });
    assert.match(message, /HTTP 404 for tokenizer\.json of org\/tiny-whisper/);
    assert.match(message, /HF_TOKEN/);
  });
});

Deno.test("resolveWhisper() explains an unreachable hub", async () => {
  const closed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(),
  );
  const endpoint = `http://127.0.0.1:${closed.addr.port}`;
  await closed.shutdown();
  const cacheDir = await Deno.makeTempDir();
  try {
    const message = await failure(REPO, { ...fast, retries: 1, endpoint, cacheDir });
    assert.ok(message.includes(`${endpoint}/${REPO}/resolve/main/config.json`), message);
    assert.match(message, /cannot reach the Hugging Face hub to download org\/tiny-whisper/);
    assert.match(message, /HF_ENDPOINT/);
    assert.match(message, /deno task whisper:import/);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("resolveWhisper() rejects a malformed repo id", async () => {
  for (const id of ["", "whisper tiny/x", "a/b/c", "/tiny", "org/"]) {
    assert.match(await failure(id, { cacheDir: "/nonexistent" }), /owner\/name/, id);
  }
});

const cli = async (args: string[]) => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/whisper_get.ts", ...args],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
};

Deno.test("whisper_get.ts downloads a repo and prints its folder", async () => {
  await withHub({}, async (hub, cacheDir) => {
    const { code, stdout, stderr } = await cli([
      REPO,
      "--endpoint",
      hub.endpoint,
      "--cache",
      cacheDir,
      "--quiet",
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), modelDir(cacheDir));
    await assertFiles(modelDir(cacheDir), MODEL);
  });
});

Deno.test("whisper_get.ts exits 1 with the message alone on errors", async () => {
  await withHub({ files: {} }, async (hub, cacheDir) => {
    const args = ["--endpoint", hub.endpoint, "--cache", cacheDir, "--quiet"];
    const missing = await cli([REPO, ...args]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404 for config\.json of org\/tiny-whisper/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /); // no stack trace
    const malformed = await cli(["not an id", ...args]);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /owner\/name/);
    const noId = await cli(args);
    assert.equal(noId.code, 2);
    assert.match(noId.stderr, /expected one repo id, got 0/);
  });
});
