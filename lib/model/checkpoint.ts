/**
 * T2S checkpoints: one safetensors file with the parameters, their EMA, AdamW's moments, plus
 * string metadata (model config, Whisper model, step, RNG state, data order, the run's target
 * store), written atomically. Cached targets live in the target store (target_store.ts); only
 * checkpoints written before it hold them.
 * @module
 */
import type { TaskEither } from "../result.ts";
import { either as E, function as F, taskEither as TE } from "../deps/fp_ts.ts";
import { checkParams, loadParams, type ParamStore, saveParams } from "../graph/params.ts";
import { checkT2SConfig, type T2SConfig } from "./config.ts";
import { t2sParamDefs } from "./network.ts";

/** Everything a checkpoint holds. */
export interface T2SCheckpoint {
  /** The network's shape. */
  readonly config: T2SConfig;
  /** Trained parameters. */
  readonly params: ParamStore;
  /** Their exponential moving average (what sampling uses). */
  readonly ema: ParamStore;
  /** AdamW first moments. */
  readonly m: ParamStore;
  /** AdamW second moments. */
  readonly v: ParamStore;
  /**
   * Cached target states by sentence id ([frames, width] each; `noise/<id>` beside them), in
   * checkpoints written before target stores; empty otherwise.
   */
  readonly targets: ParamStore;
  /** Other run state as strings (step, rng, whisper, order, ...). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Why a checkpoint could not be read or written. */
export interface T2SCheckpointError {
  /** Discriminant. */
  readonly _tag: "T2SCheckpointError";
  /** What is wrong, naming the file. */
  readonly message: string;
}

const fail = (message: string): T2SCheckpointError => ({ _tag: "T2SCheckpointError", message });

/**
 * Writes a checkpoint atomically.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initParams, zerosLike } from "../graph/params.ts";
 * import { orThrow } from "../result.ts";
 * import { createRng } from "../random.ts";
 * import { loadT2S, saveT2S } from "./checkpoint.ts";
 * import { t2sConfig } from "./config.ts";
 * import { t2sParamDefs } from "./network.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const params = initParams(t2sParamDefs(config.right), { rng: createRng(0) });
 * const path = `${await Deno.makeTempDir()}/ckpt.safetensors`;
 * await orThrow(saveT2S(path, { config: config.right, params, ema: params, m: zerosLike(params),
 *   v: zerosLike(params), targets: {}, metadata: { step: "0" } }));
 * const back = await orThrow(loadT2S(path));
 * assert.deepEqual(back.params["in.w"].data, params["in.w"].data);
 * assert.equal(back.metadata.step, "0");
 * ```
 */
export function saveT2S(
  path: string,
  checkpoint: T2SCheckpoint,
): TaskEither<T2SCheckpointError, void> {
  const { config, params, ema, m, v, targets, metadata } = checkpoint;
  return F.pipe(
    saveParams(path, { model: params, ema, "adam.m": m, "adam.v": v, targets }, {
      metadata: { ...metadata, format: "flowt2s-t2s/1", config: JSON.stringify(config) },
    }),
    TE.mapLeft((e) => fail(e.message)),
  );
}

/**
 * Reads and validates a checkpoint: the config, and every parameter store against it.
 * A missing, truncated or foreign file is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { either as E } from "fp-ts";
 * import { saveParams } from "../graph/params.ts";
 * import { orThrow } from "../result.ts";
 * import { loadT2S } from "./checkpoint.ts";
 * const missing = await loadT2S("/no/such/ckpt.safetensors")();
 * assert.ok(E.isLeft(missing) && missing.left.message.includes("/no/such/ckpt.safetensors"));
 * const path = `${await Deno.makeTempDir()}/other.safetensors`;
 * await orThrow(saveParams(path, { model: { w: { shape: [1], data: new Float32Array(1) } } }));
 * const foreign = await loadT2S(path)();
 * assert.ok(E.isLeft(foreign) && foreign.left.message.includes("not a flowt2s T2S checkpoint"));
 * ```
 */
export function loadT2S(path: string): TaskEither<T2SCheckpointError, T2SCheckpoint> {
  return F.pipe(
    loadParams(path),
    TE.mapLeft((e) => fail(`cannot load checkpoint ${path}: ${e.message}`)),
    TE.chainEitherK(({ stores, metadata }) => {
      if (metadata.format !== "flowt2s-t2s/1" && metadata.format !== EXPORT_FORMAT) {
        return E.left(
          fail(`${path} is not a flowt2s T2S checkpoint (format '${metadata.format}')`),
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(metadata.config ?? "");
      } catch {
        return E.left(fail(`${path}: its model config is not JSON`));
      }
      const config = checkT2SConfig(json);
      if (E.isLeft(config)) return E.left(fail(`${path}: ${config.left.message}`));
      const shapes = Object.fromEntries(
        Object.entries(t2sParamDefs(config.right)).map(([n, d]) => [n, d.shape]),
      );
      const stores2: Record<string, ParamStore> = { "adam.m": {}, "adam.v": {} };
      // An export holds the sampling weights only (as "ema"); they also stand in for "model".
      const exported = metadata.format === EXPORT_FORMAT;
      if (exported) stores.model = stores.ema;
      for (const name of exported ? ["model", "ema"] : ["model", "ema", "adam.m", "adam.v"]) {
        const checked = checkParams(stores[name] ?? {}, shapes);
        if (E.isLeft(checked)) return E.left(fail(`${path}, ${name}: ${checked.left.message}`));
        stores2[name] = checked.right;
      }
      return E.right({
        config: config.right,
        params: stores2.model,
        ema: stores2.ema,
        m: stores2["adam.m"],
        v: stores2["adam.v"],
        targets: stores.targets ?? {},
        metadata,
      });
    }),
  );
}

/** The format of an inference artifact written by {@link exportT2S}. */
export const EXPORT_FORMAT = "flowt2s-t2s-export/1";

/**
 * Writes the inference artifact of a checkpoint: one set of weights (the EMA by default), the
 * network config and the metadata sampling needs (Whisper model, normalisation, decoder
 * interface, step), without AdamW moments or cached targets. {@link loadT2S} reads it, so
 * `generate`, `sample` and `eval` take it like a checkpoint; training cannot resume from it.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { initParams, zerosLike } from "../graph/params.ts";
 * import { orThrow } from "../result.ts";
 * import { createRng } from "../random.ts";
 * import { exportT2S, loadT2S } from "./checkpoint.ts";
 * import { t2sConfig } from "./config.ts";
 * import { t2sParamDefs } from "./network.ts";
 * const config = t2sConfig("tiny", { width: 32 });
 * if (config._tag === "Left") throw new Error(config.left.message);
 * const params = initParams(t2sParamDefs(config.right), { rng: createRng(0) });
 * const ckpt = { config: config.right, params, ema: params, m: zerosLike(params),
 *   v: zerosLike(params), targets: {}, metadata: { step: "7", whisper: "tiny-random" } };
 * const path = `${await Deno.makeTempDir()}/model.safetensors`;
 * await orThrow(exportT2S(path, ckpt));
 * const back = await orThrow(loadT2S(path));
 * assert.deepEqual(back.ema["in.w"].data, params["in.w"].data);
 * assert.equal(back.metadata.whisper, "tiny-random");
 * assert.equal(Object.keys(back.m).length, 0);
 * ```
 */
export function exportT2S(
  path: string,
  checkpoint: T2SCheckpoint,
  options: { weights?: "ema" | "params" } = {},
): TaskEither<T2SCheckpointError, void> {
  const { config, metadata } = checkpoint;
  const weights = options.weights === "params" ? checkpoint.params : checkpoint.ema;
  const kept = Object.fromEntries(
    ["whisper", "step", "norm", "interface", "source", "data", "run"].flatMap((k) =>
      metadata[k] === undefined ? [] : [[k, metadata[k]]]
    ),
  );
  return F.pipe(
    saveParams(path, { ema: weights }, {
      metadata: {
        ...kept,
        weights: options.weights ?? "ema",
        format: EXPORT_FORMAT,
        config: JSON.stringify(config),
      },
    }),
    TE.mapLeft((e) => fail(e.message)),
  );
}
