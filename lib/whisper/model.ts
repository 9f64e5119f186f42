/**
 * Whisper's encoder and decoder as graph functions on lib/graph. The weights enter as shared
 * tensors (`Graph.shared`: fed from the checkpoint's own arrays at each run, so the sessions of
 * every graph and batch shape read one copy in memory; frozen: gradients never reach them, but
 * they do reach the encoder states the decoder reads, which is what training a text-to-semantic
 * model needs). Linear weights stay in Hugging Face's [out, in] layout and are read as such by
 * a Gemm with transB, so no weight is transposed at run time.
 * @module
 */
import type { Graph, Value } from "../graph/builder.ts";
import { GraphError } from "../graph/errors.ts";
import {
  attention,
  causalMask,
  crossEntropy,
  gelu,
  keyPaddingMask,
  layerNorm,
  mergeHeads,
  splitHeads,
} from "../graph/nn.ts";
import {
  add,
  cast,
  concat,
  conv1d,
  div,
  equal,
  gather,
  gemm,
  greater,
  matmul,
  mul,
  reduceSum,
  reshape,
  slice,
  softmax,
  split,
  sub,
  transpose,
  unsqueeze,
  where,
} from "../graph/ops.ts";
import type { WhisperWeights } from "./checkpoint.ts";
import type { WhisperConfig } from "./config.ts";

/** Named access to a checkpoint's tensors as shared tensors of one graph (each added once). */
export type WeightAccess = (name: string) => Value;

const accessCache = new WeakMap<Graph, Map<string, Value>>();

/**
 * Weight access for `g`: the first use of a name adds the tensor as a shared tensor named
 * after it ({@link Graph.shared}: fed from the checkpoint's own array at each run, so every
 * session built from the checkpoint, whatever its shape, reads the one copy in memory); later
 * uses return the same value. A name the checkpoint lacks is an error.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { weightAccess } from "./model.ts";
 * const g = new Graph();
 * const w = weightAccess(g, { "a.weight": { shape: [2], data: new Float32Array(2) } });
 * assert.equal(w("a.weight"), w("a.weight"));
 * assert.ok(g.sharedTensors.length === 1 && g.initializers.length === 0);
 * assert.throws(() => w("b.weight"), /b.weight/);
 * ```
 */
export function weightAccess(g: Graph, weights: WhisperWeights): WeightAccess {
  const cache = accessCache.get(g) ?? new Map<string, Value>();
  accessCache.set(g, cache);
  return (name) => {
    const hit = cache.get(name);
    if (hit) return hit;
    const t = weights[name];
    if (!t) throw new GraphError("whisper", `the checkpoint has no tensor '${name}'`);
    const value = g.shared(name, { data: t.data, shape: t.shape });
    cache.set(name, value);
    return value;
  };
}

/**
 * x @ W^T (+ b) for an [out, in] weight, as one Gemm with transB over x's rows: the weight is
 * read in its stored layout, so a shared weight is never transposed at run time.
 */
function linearT(x: Value, weight: Value, bias?: Value): Value {
  const rows = x.shape.slice(0, -1), out = weight.shape[0];
  const flat = reshape(x, [rows.reduce((a, b) => a * b, 1), x.shape[x.shape.length - 1]]);
  return reshape(gemm(flat, weight, { c: bias, transB: true }), [...rows, out]);
}

/** x @ W^T + b for a Hugging Face linear layer `prefix` ([out, in] weight). */
function hfLinear(x: Value, w: WeightAccess, prefix: string, options: { bias?: boolean } = {}) {
  const bias = options.bias === false ? undefined : w(`${prefix}.bias`);
  return linearT(x, w(`${prefix}.weight`), bias);
}

function norm(x: Value, w: WeightAccess, prefix: string): Value {
  return layerNorm(x, { scale: w(`${prefix}.weight`), bias: w(`${prefix}.bias`) });
}

function mlp(x: Value, w: WeightAccess, prefix: string): Value {
  return hfLinear(gelu(hfLinear(x, w, `${prefix}.fc1`)), w, `${prefix}.fc2`);
}

/** Self-attention with the three projections as one GEMM (the key has no bias in Whisper). */
function selfAttentionQkv(x: Value, w: WeightAccess, prefix: string): [Value, Value, Value] {
  const d = x.shape[x.shape.length - 1];
  const weight = concat(["q", "k", "v"].map((p) => w(`${prefix}.${p}_proj.weight`)), 0);
  const noBias = x.graph.constant(0, { dtype: x.dtype, shape: [d] });
  const bias = concat([w(`${prefix}.q_proj.bias`), noBias, w(`${prefix}.v_proj.bias`)], 0);
  const qkv = linearT(x, weight, bias);
  return split(qkv, [d, d, d], { axis: -1 }) as [Value, Value, Value];
}

/**
 * Cross-attention keys and values of one decoder layer from encoder states [B, T, D]:
 * [B, H, T, dh] each. Computed once per utterance when decoding step by step.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { crossKeysValues, weightAccess } from "./model.ts";
 * const { config, weights } = tinyRandomWhisper();
 * const g = new Graph();
 * const states = g.input("states", { dtype: "float32", shape: [1, 5, config.dModel] });
 * const heads = config.decoderHeads;
 * const [k, v] = crossKeysValues(states, { weights: weightAccess(g, weights), layer: 0, heads });
 * assert.deepEqual(k.shape, [1, heads, 5, config.dModel / heads]);
 * assert.deepEqual(v.shape, k.shape);
 * ```
 */
export function crossKeysValues(
  states: Value,
  options: { weights: WeightAccess; layer: number; heads: number },
): [Value, Value] {
  const { weights: w, layer, heads } = options;
  const prefix = `model.decoder.layers.${layer}.encoder_attn`;
  const k = hfLinear(states, w, `${prefix}.k_proj`, { bias: false });
  const v = hfLinear(states, w, `${prefix}.v_proj`);
  return [splitHeads(k, heads), splitHeads(v, heads)];
}

/**
 * The encoder: log-mel [B, nMels, 2T] -> states [B, T, D]. Two convolutions with GELU (the
 * second halves the frame rate to 50 per second), the stored sinusoidal positions, pre-LN
 * blocks and a final LayerNorm. Released models take exactly 3000 mel frames (30 s); shorter
 * inputs use the first T positions (useful for small test models).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { encoder, weightAccess } from "./model.ts";
 * const { config, weights } = tinyRandomWhisper({ seed: 0 });
 * const g = new Graph();
 * const mel = g.input("mel", { dtype: "float32", shape: [1, config.nMels, 20] });
 * const states = encoder(mel, { weights: weightAccess(g, weights), config });
 * assert.deepEqual(states.shape, [1, 10, config.dModel]);
 * ```
 */
export function encoder(
  mel: Value,
  options: { weights: WeightAccess; config: WhisperConfig },
): Value {
  const { weights: w, config } = options;
  const [, bins, frames] = mel.shape;
  if (bins !== config.nMels || frames % 2 !== 0 || frames > 2 * config.maxSourcePositions) {
    throw new GraphError(
      "whisper encoder",
      `input [B, ${bins}, ${frames}] must have ${config.nMels} mel bins and an even frame ` +
        `count of at most ${2 * config.maxSourcePositions} (30 s)`,
    );
  }
  const c1 = gelu(conv1d(mel, w("model.encoder.conv1.weight"), {
    bias: w("model.encoder.conv1.bias"),
    padding: 1,
  }));
  const c2 = gelu(conv1d(c1, w("model.encoder.conv2.weight"), {
    bias: w("model.encoder.conv2.bias"),
    padding: 1,
    stride: 2,
  }));
  const t = frames / 2;
  const positions = slice(w("model.encoder.embed_positions.weight"), { starts: [0], ends: [t] });
  let x = add(transpose(c2, [0, 2, 1]), positions);
  for (let i = 0; i < config.encoderLayers; i++) {
    const p = `model.encoder.layers.${i}`;
    const [q, k, v] = selfAttentionQkv(
      norm(x, w, `${p}.self_attn_layer_norm`),
      w,
      `${p}.self_attn`,
    );
    const h = (y: Value) => splitHeads(y, config.encoderHeads);
    const a = mergeHeads(attention(h(q), { k: h(k), v: h(v) }));
    x = add(x, hfLinear(a, w, `${p}.self_attn.out_proj`));
    x = add(x, mlp(norm(x, w, `${p}.final_layer_norm`), w, p));
  }
  return norm(x, w, "model.encoder.layer_norm");
}

/** Options of the teacher-forced decoder. */
export interface DecoderOptions {
  /** The frozen weights of the graph. */
  readonly weights: WeightAccess;
  /** The model's shape. */
  readonly config: WhisperConfig;
  /** Encoder states [B, T, D], any T from 1 to 1500. */
  readonly states: Value;
  /** 0/1 mask [B, T] of real encoder frames (default: all real). */
  readonly statesMask?: Value;
  /**
   * Encoder states of silence [maxSourcePositions, D] (a constant; see `silenceStates`). When
   * given, each row is read as Whisper was trained to read it: its real frames (`statesMask`)
   * followed by silence up to 1500 frames, instead of a key mask over the real frames alone.
   */
  readonly silence?: Value;
  /**
   * The cross-attention keys and values of those silence states, `cross_k.<i>` and
   * `cross_v.<i>` per layer ([1, heads, silence frames, D / heads]; `silenceCrossCache` in
   * runtime.ts). When given, the silence tail's keys and values are slices of them, fed as
   * shared tensors, instead of projections computed at every run.
   */
  readonly silenceCross?: Readonly<Record<string, Float32Array>>;
  /**
   * Token ids int64 [K] (a restricted vocabulary, e.g. `inversionVocab`): the logits of those
   * ids only, [B, L, K], from the gathered rows of the output embedding (default: all V).
   */
  readonly vocab?: Value;
}

/**
 * Layer i's silence-tail keys and values from precomputed ones (frames `from` onwards, as
 * shared tensors), or undefined without them: then the decoder projects the tail itself.
 */
function silenceTail(
  g: Graph,
  options: {
    silence?: Value;
    cross?: Readonly<Record<string, Float32Array>>;
    heads: number;
    from: number;
  },
): (layer: number) => [Value, Value] | undefined {
  const { silence, cross, heads, from } = options;
  if (!silence || !cross) return () => undefined;
  const [frames, d] = silence.shape;
  const shape = [1, heads, frames, d / heads];
  const tensors = Object.fromEntries(
    Object.entries(cross).map(([name, data]) => [`silence.${name}`, { shape, data }]),
  );
  const w = weightAccess(g, tensors);
  const cut = (v: Value) => slice(v, { starts: [from], ends: [frames], axes: [2] });
  return (layer) => [cut(w(`silence.cross_k.${layer}`)), cut(w(`silence.cross_v.${layer}`))];
}

/**
 * A row's real frames, then silence: states [B, T, D] where `mask` is 1 and the silence states
 * of the same positions where it is 0 (gradients reach the real frames only).
 */
function silenceHead(states: Value, options: { silence: Value; mask?: Value }): Value {
  const t = states.shape[1];
  const head = slice(options.silence, { starts: [0], ends: [t] });
  if (!options.mask) return states;
  const m = unsqueeze(options.mask, [2]);
  return add(mul(states, m), mul(head, sub(1, m)));
}

/**
 * Cross-attention over the states [B, H, T, dh] followed by a constant tail [1, H, Tt, dh] shared
 * by every row: one softmax over T + Tt keys, without materialising the tail per row (the
 * tail's keys and values are computed once per model when the decoder is given `silenceCross`).
 */
function tailAttention(
  q: Value,
  options: { k: Value; v: Value; tailK: Value; tailV: Value },
): Value {
  const { k, v, tailK, tailV } = options;
  const t = k.shape[2], tt = tailK.shape[2];
  const qs = mul(q, 1 / Math.sqrt(q.shape[3]));
  const scores = concat([
    matmul(qs, transpose(k, [0, 1, 3, 2])),
    matmul(qs, transpose(tailK, [0, 1, 3, 2])),
  ], 3);
  const [p, pTail] = split(softmax(scores), [t, tt], { axis: 3 });
  return add(matmul(p, v), matmul(pTail, tailV));
}

/**
 * The decoder over a whole token sequence at once (teacher forcing): tokens [B, L] int64 ->
 * logits [B, L, V]. Token and learned positional embeddings, pre-LN blocks with causal
 * self-attention, cross-attention over the encoder states, a GELU MLP, a final LayerNorm, and
 * logits tied to the token embedding.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { decoder, weightAccess } from "./model.ts";
 * const { config, weights } = tinyRandomWhisper({ seed: 0 });
 * const g = new Graph();
 * const states = g.input("states", { dtype: "float32", shape: [2, 7, config.dModel] });
 * const tokens = g.input("tokens", { dtype: "int64", shape: [2, 5] });
 * const logits = decoder(tokens, { weights: weightAccess(g, weights), config, states });
 * assert.deepEqual(logits.shape, [2, 5, config.vocabSize]);
 * // The logits of three token ids only:
 * const vocab = g.input("vocab", { dtype: "int64", shape: [3] });
 * const some = decoder(tokens, { weights: weightAccess(g, weights), config, states, vocab });
 * assert.deepEqual(some.shape, [2, 5, 3]);
 * ```
 */
export function decoder(tokens: Value, options: DecoderOptions): Value {
  const { weights: w, config, statesMask, silence } = options;
  const [b, length] = tokens.shape;
  if (tokens.dtype !== "int64" || tokens.shape.length !== 2) {
    throw new GraphError("whisper decoder", "tokens must be int64 [B, L]");
  }
  if (length > config.maxTargetPositions) {
    throw new GraphError(
      "whisper decoder",
      `${length} tokens exceed the decoder's ${config.maxTargetPositions} positions`,
    );
  }
  const given = options.states.shape;
  if (given.length !== 3 || given[0] !== b || given[2] !== config.dModel) {
    throw new GraphError(
      "whisper decoder",
      `states must be [${b}, T, ${config.dModel}], got [${options.states.shape}]`,
    );
  }
  if (
    silence &&
    (silence.shape.length !== 2 || silence.shape[1] !== config.dModel ||
      silence.shape[0] < options.states.shape[1])
  ) {
    throw new GraphError(
      "whisper decoder",
      `silence states must be [${config.maxSourcePositions}, ${config.dModel}] and at least as ` +
        `long as the states (${options.states.shape[1]} frames), got [${silence.shape}]`,
    );
  }
  const states = silence
    ? silenceHead(options.states, { silence, mask: statesMask })
    : options.states;
  const tail = silence && silence.shape[0] > states.shape[1]
    ? unsqueeze(slice(silence, { starts: [states.shape[1]], ends: [silence.shape[0]] }), [0])
    : undefined;
  const heads = config.decoderHeads;
  const h = (y: Value) => splitHeads(y, heads);
  const tailOf = silenceTail(tokens.graph, {
    silence,
    cross: options.silenceCross,
    heads,
    from: states.shape[1],
  });
  const embed = w("model.decoder.embed_tokens.weight");
  const positions = slice(w("model.decoder.embed_positions.weight"), {
    starts: [0],
    ends: [length],
  });
  let x = add(gather(embed, tokens), positions);
  const causal = causalMask(x, length);
  const crossMask = statesMask && !silence ? keyPaddingMask(statesMask) : undefined;
  for (let i = 0; i < config.decoderLayers; i++) {
    const p = `model.decoder.layers.${i}`;
    const [q, k, v] = selfAttentionQkv(
      norm(x, w, `${p}.self_attn_layer_norm`),
      w,
      `${p}.self_attn`,
    );
    const a = mergeHeads(attention(h(q), { k: h(k), v: h(v), mask: causal }));
    x = add(x, hfLinear(a, w, `${p}.self_attn.out_proj`));
    const cq = hfLinear(norm(x, w, `${p}.encoder_attn_layer_norm`), w, `${p}.encoder_attn.q_proj`);
    const [ck, cv] = crossKeysValues(states, { weights: w, layer: i, heads });
    let c: Value;
    if (tail) {
      const [tailK, tailV] = tailOf(i) ?? crossKeysValues(tail, { weights: w, layer: i, heads });
      c = mergeHeads(tailAttention(h(cq), { k: ck, v: cv, tailK, tailV }));
    } else {
      c = mergeHeads(attention(h(cq), { k: ck, v: cv, mask: crossMask }));
    }
    x = add(x, hfLinear(c, w, `${p}.encoder_attn.out_proj`));
    x = add(x, mlp(norm(x, w, `${p}.final_layer_norm`), w, p));
  }
  x = norm(x, w, "model.decoder.layer_norm");
  const { vocab } = options;
  if (vocab && (vocab.dtype !== "int64" || vocab.shape.length !== 1)) {
    throw new GraphError(
      "whisper decoder",
      `vocab must be int64 [K], got ${vocab.dtype} [${vocab.shape}]`,
    );
  }
  return linearT(x, options.vocab ? gather(embed, options.vocab) : embed);
}

/**
 * Teacher-forced cross-entropy of the decoder's logits [B, L, V] against target tokens
 * [B, L] int64, weighted by a 0/1 float mask [B, L] (0 for padding and for prompt positions
 * that are not scored): the mean over kept positions.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { maskedCrossEntropy } from "./model.ts";
 * const g = new Graph();
 * const logits = g.input("logits", { dtype: "float32", shape: [2, 3, 11] });
 * const targets = g.input("targets", { dtype: "int64", shape: [2, 3] });
 * const mask = g.input("mask", { dtype: "float32", shape: [2, 3] });
 * assert.deepEqual(maskedCrossEntropy(logits, { targets, mask }).shape, []);
 * ```
 */
export function maskedCrossEntropy(
  logits: Value,
  options: { targets: Value; mask: Value },
): Value {
  const nll = crossEntropy(logits, options.targets, { reduction: "none" });
  const kept = reduceSum(options.mask);
  return div(
    reduceSum(mul(nll, options.mask)),
    where(equal(kept, 0), { ifTrue: 1, ifFalse: kept }),
  );
}

/** Input and output names of the cached decoder step graph. */
export const STEP_NAMES = {
  token: "token",
  position: "position",
  reorder: "reorder",
  crossMask: "cross_mask",
  selfKey: (layer: number) => `self_k.${layer}`,
  selfValue: (layer: number) => `self_v.${layer}`,
  crossKey: (layer: number) => `cross_k.${layer}`,
  crossValue: (layer: number) => `cross_v.${layer}`,
  nextKey: (layer: number) => `next_self_k.${layer}`,
  nextValue: (layer: number) => `next_self_v.${layer}`,
  logits: "logits",
} as const;

/**
 * The graph that precomputes every layer's cross-attention keys and values from encoder
 * states [B, T, D] (input "states"; outputs `cross_k.i` and `cross_v.i`, [B, H, T, dh]).
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { crossCacheGraph } from "./model.ts";
 * const { config, weights } = tinyRandomWhisper();
 * const g = crossCacheGraph(new Graph(), { weights, config, batch: 2, frames: 9 });
 * assert.deepEqual(g.outputs.map((v) => v.shape[2]), [9, 9, 9, 9]);
 * ```
 */
export function crossCacheGraph(
  g: Graph,
  options: { weights: WhisperWeights; config: WhisperConfig; batch: number; frames: number },
): Graph {
  const { config, batch, frames } = options;
  const w = weightAccess(g, options.weights);
  const states = g.input("states", { dtype: "float32", shape: [batch, frames, config.dModel] });
  for (let i = 0; i < config.decoderLayers; i++) {
    const [k, v] = crossKeysValues(states, { weights: w, layer: i, heads: config.decoderHeads });
    g.output(k, STEP_NAMES.crossKey(i));
    g.output(v, STEP_NAMES.crossValue(i));
  }
  return g;
}

/**
 * One decoding step with a key/value cache of `capacity` positions, so that step n costs
 * O(capacity) attention work instead of recomputing the n previous tokens. Inputs: `token`
 * [B, 1], `position` [1] (shared by the batch: rows decode in lockstep), `reorder` [B] (the
 * cache row each row continues, for beam search; 0..B-1 otherwise), `self_k.i` / `self_v.i`
 * [B, H, capacity, dh], `cross_k.i` / `cross_v.i` [B, H, T, dh] and `cross_mask` [B, T].
 * Outputs: `logits` [B, V] and the updated caches `next_self_k.i` / `next_self_v.i`.
 *
 * @example
 * ```ts
 * import assert from "@std/assert";
 * import { Graph } from "../graph/builder.ts";
 * import { tinyRandomWhisper } from "./tiny_random.ts";
 * import { decoderStepGraph } from "./model.ts";
 * const { config, weights } = tinyRandomWhisper();
 * const g = decoderStepGraph(new Graph(), { weights, config, batch: 3, frames: 9, capacity: 16 });
 * const logits = g.outputs.find((v) => g.serialName(v) === "logits");
 * assert.deepEqual(logits?.shape, [3, config.vocabSize]);
 * ```
 */
export function decoderStepGraph(
  g: Graph,
  options: {
    weights: WhisperWeights;
    config: WhisperConfig;
    batch: number;
    frames: number;
    capacity: number;
  },
): Graph {
  const { config, batch: b, frames, capacity } = options;
  if (capacity > config.maxTargetPositions) {
    throw new GraphError(
      "whisper decoder step",
      `a cache of ${capacity} positions exceeds the decoder's ${config.maxTargetPositions}`,
    );
  }
  const w = weightAccess(g, options.weights);
  const heads = config.decoderHeads, dh = config.dModel / heads;
  const token = g.input(STEP_NAMES.token, { dtype: "int64", shape: [b, 1] });
  const position = g.input(STEP_NAMES.position, { dtype: "int64", shape: [1] });
  const reorder = g.input(STEP_NAMES.reorder, { dtype: "int64", shape: [b] });
  const crossMask = g.input(STEP_NAMES.crossMask, { dtype: "float32", shape: [b, frames] });
  const cacheShape = [b, heads, capacity, dh], crossShape = [b, heads, frames, dh];
  const embed = w("model.decoder.embed_tokens.weight");
  let x = add(gather(embed, token), gather(w("model.decoder.embed_positions.weight"), position));
  // Cache slot `position` takes the new key and value; slots after it are masked out.
  const slots = g.constant([...Array(capacity).keys()], { dtype: "int64", shape: [capacity] });
  const isNew = reshape(equal(slots, position), [1, 1, capacity, 1]);
  const selfMask = reshape(mul(cast(greater(slots, position), "float32"), -1e9), [
    1,
    1,
    1,
    capacity,
  ]);
  const crossAdd = keyPaddingMask(crossMask);
  const h = (y: Value) => splitHeads(y, heads);
  for (let i = 0; i < config.decoderLayers; i++) {
    const p = `model.decoder.layers.${i}`;
    const cached = (name: string) =>
      gather(g.input(name, { dtype: "float32", shape: cacheShape }), reorder, { axis: 0 });
    const kCache = cached(STEP_NAMES.selfKey(i)), vCache = cached(STEP_NAMES.selfValue(i));
    const [q, k, v] = selfAttentionQkv(
      norm(x, w, `${p}.self_attn_layer_norm`),
      w,
      `${p}.self_attn`,
    );
    const kNext = g.output(where(isNew, { ifTrue: h(k), ifFalse: kCache }), STEP_NAMES.nextKey(i));
    const vNext = g.output(
      where(isNew, { ifTrue: h(v), ifFalse: vCache }),
      STEP_NAMES.nextValue(i),
    );
    const a = mergeHeads(attention(h(q), { k: kNext, v: vNext, mask: selfMask }));
    x = add(x, hfLinear(a, w, `${p}.self_attn.out_proj`));
    const cq = hfLinear(norm(x, w, `${p}.encoder_attn_layer_norm`), w, `${p}.encoder_attn.q_proj`);
    const ck = g.input(STEP_NAMES.crossKey(i), { dtype: "float32", shape: crossShape });
    const cv = g.input(STEP_NAMES.crossValue(i), { dtype: "float32", shape: crossShape });
    const c = mergeHeads(attention(h(cq), { k: ck, v: cv, mask: crossAdd }));
    x = add(x, hfLinear(c, w, `${p}.encoder_attn.out_proj`));
    x = add(x, mlp(norm(x, w, `${p}.final_layer_norm`), w, p));
  }
  x = norm(x, w, "model.decoder.layer_norm");
  g.output(reshape(linearT(x, embed), [b, config.vocabSize]), STEP_NAMES.logits);
  return g;
}
