/**
 * Text to 16 kHz speech with eSpeak NG (the npm `espeak-ng` build: the CLI compiled to WASM
 * with its voices embedded). The build exports neither `callMain` nor `malloc`, so an instance
 * runs its command line once; what is reused is the compiled WebAssembly module (compiled once
 * per process), which leaves about 0.3 s per sentence for instantiation and synthesis.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E } from "../deps/fp_ts.ts";
// deno-lint-ignore no-import-prefix -- explicit, so mod.ts loads without this repository's deno.json (tests/library_test.ts)
import ESpeakNg from "npm:espeak-ng@1.0.2";
import { decodeWav, resample } from "../whisper/wav.ts";
import { espeakVoice, type SpeechError, speechError } from "./voices.ts";

/** eSpeak NG's version and the npm build's, part of every cache key made from its output. */
export const ESPEAK_VERSION = "eSpeak NG 1.52-dev (npm espeak-ng 1.0.2)";

/** A rendering. */
export interface Speech {
  /** Mono samples at 16 kHz. */
  readonly samples: Float32Array;
  /** Duration in seconds. */
  readonly seconds: number;
  /** The voice that spoke it. */
  readonly voice: string;
}

/** How to speak. */
export interface SpeakOptions {
  /** Whisper language code; its voice comes from `ESPEAK_VOICES`. */
  readonly lang?: string;
  /** An explicit eSpeak NG voice (overrides `lang`), e.g. "en-gb" or "de+f3". */
  readonly voice?: string;
  /** Speaking rate in words per minute (eSpeak's `-s`; default 175). */
  readonly wpm?: number;
}

let compiled: Promise<WebAssembly.Module> | undefined;

function wasmModule(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const url = new URL("./espeak-ng.wasm", import.meta.resolve("npm:espeak-ng@1.0.2"));
    return WebAssembly.compile(await Deno.readFile(url));
  })();
  return compiled;
}

// deno-lint-ignore no-explicit-any
type EmscriptenModule = any;

/** Runs the eSpeak NG command line once with `text` in its file system as /in.txt. */
async function runEspeak(args: string[], text: string): Promise<{ wav?: Uint8Array; err: string }> {
  const module = await wasmModule();
  const err: string[] = [];
  const m: EmscriptenModule = await ESpeakNg({
    arguments: args,
    print: () => {},
    printErr: (s: string) => err.push(s),
    // Emscripten's Node default sets process.exitCode: an unknown voice would fail the process.
    quit: (status: number, toThrow: unknown) => {
      if (status !== 0) err.push(`exit status ${status}`);
      throw toThrow;
    },
    preRun: [(mod: EmscriptenModule) => mod.FS.writeFile("/in.txt", text)],
    instantiateWasm: (
      imports: WebAssembly.Imports,
      done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      WebAssembly.instantiate(module, imports).then((instance) => done(instance, module));
      return {};
    },
  });
  let wav: Uint8Array | undefined;
  try {
    wav = m.FS.readFile("/out.wav");
  } catch {
    wav = undefined;
  }
  const message = err.filter((l) => !l.includes("keepRuntimeAlive")).join("; ");
  return { wav, err: message };
}

/**
 * Speaks `text` with eSpeak NG and returns 16 kHz mono samples. Errors are named: empty text, a
 * language without a voice, an unknown voice, text that gives no audio.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { speak } from "./espeak.ts";
 * const out = await speak("Hello world.", { lang: "en" })();
 * assert.ok(out._tag === "Right" && out.right.seconds > 0.5 && out.right.voice === "en-us");
 * const bad = await speak("Hallo.", { voice: "xx" })();
 * assert.ok(bad._tag === "Left" && bad.left.kind === "unknown-voice");
 * ```
 */
export function speak(text: string, options: SpeakOptions): TaskEither<SpeechError, Speech> {
  return async () => {
    if (text.trim() === "") {
      return E.left(speechError("empty-text", "cannot speak empty text; drop blank sentences"));
    }
    let voice = options.voice;
    if (voice === undefined) {
      if (options.lang === undefined) {
        return E.left(speechError("unknown-voice", "speak: pass { lang } or { voice }"));
      }
      const v = espeakVoice(options.lang);
      if (E.isLeft(v)) return v;
      voice = v.right;
    }
    const wpm = options.wpm ?? 175;
    if (!(wpm >= 80 && wpm <= 450)) {
      return E.left(speechError("espeak", `wpm must be 80-450 (eSpeak's range), got ${wpm}`));
    }
    let run;
    try {
      run = await runEspeak(
        ["-v", voice, "-s", String(Math.round(wpm)), "-w", "/out.wav", "-f", "/in.txt"],
        text,
      );
    } catch (e) {
      return E.left(speechError("espeak", `eSpeak NG failed on "${text}": ${String(e)}`));
    }
    if (/voice does not exist/.test(run.err)) {
      return E.left(speechError(
        "unknown-voice",
        `eSpeak NG has no voice '${voice}'; see ESPEAK_VOICES for the voices of Whisper languages`,
      ));
    }
    if (!run.wav) {
      return E.left(speechError("espeak", `eSpeak NG wrote no audio for "${text}": ${run.err}`));
    }
    const wav = decodeWav(run.wav, { name: "eSpeak NG output" });
    if (E.isLeft(wav)) return E.left(speechError("espeak", wav.left.message));
    const samples = resample(wav.right.samples, { from: wav.right.sampleRate, to: 16000 });
    if (samples.length < 1600 || samples.every((s) => s === 0)) {
      return E.left(speechError(
        "no-speech",
        `eSpeak NG (${voice}) made no speech from "${text}"; is the text in ${voice}'s script?`,
      ));
    }
    return E.right({ samples, seconds: samples.length / 16000, voice });
  };
}
