/**
 * Test-only writers of the formats lib/whisper/import_*.ts read, written from the formats'
 * descriptions (CTranslate2 model.bin, whisper.cpp ggml, torch.save zip + pickle), so the
 * importers can be checked on small models with known weights.
 */
import type { Tensor } from "../lib/graph/params.ts";
import { expectedShapes, type WhisperWeights } from "../lib/whisper/checkpoint.ts";
import type { WhisperConfig } from "../lib/whisper/config.ts";
import { halfToFloat } from "../lib/graph/safetensors.ts";
import { hfNameOfOpenai } from "../lib/whisper/import_common.ts";
import { createRng, fillNormal } from "../lib/random.ts";

/** A small model: width 32 (ggml's quant blocks need rows of 32), 2 heads, 1 + 1 layers. */
export const SMALL: WhisperConfig = {
  dModel: 32,
  encoderLayers: 1,
  decoderLayers: 1,
  encoderHeads: 2,
  decoderHeads: 2,
  encoderFfn: 64,
  decoderFfn: 64,
  nMels: 4,
  // 256 byte tokens, eot, sot, 99 languages, 6 task tokens, 1501 timestamps.
  vocabSize: 1864,
  maxSourcePositions: 10,
  maxTargetPositions: 12,
  eosTokenId: 256,
  decoderStartTokenId: 257,
};

/** Seeded weights for every tensor of `config`. */
export function randomWeights(config: WhisperConfig, seed = 0): Record<string, Tensor> {
  const rng = createRng(seed);
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of expectedShapes(config)) {
    const data = fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), rng);
    out[name] = { shape, data };
  }
  return out;
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/** IEEE half bits of `x`, rounded to nearest even (normal and subnormal range). */
export function halfBits(x: number): number {
  f32[0] = x;
  const b = u32[0], sign = (b >>> 16) & 0x8000, exp = ((b >>> 23) & 0xff) - 112;
  let mant = b & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  const round = (v: number, shift: number) => {
    const rest = v & ((1 << shift) - 1), half = 1 << (shift - 1);
    const h = v >>> shift;
    return rest > half || (rest === half && h & 1) ? h + 1 : h;
  };
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    return sign | round(mant, 14 - exp);
  }
  // A carry out of the mantissa correctly bumps the exponent.
  return sign | ((exp << 10) + round(mant, 13));
}

/** `x` rounded through float16. */
export const viaHalf = (x: number): number => halfToFloat(halfBits(x));

/** Little-endian byte builder. */
class Bytes {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  raw(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
  num(kind: "u8" | "u16" | "u32" | "i32" | "f32", v: number): this {
    const size = kind === "u8" ? 1 : kind === "u16" ? 2 : 4;
    const b = new Uint8Array(size), view = new DataView(b.buffer);
    if (kind === "u8") view.setUint8(0, v);
    else if (kind === "u16") view.setUint16(0, v, true);
    else if (kind === "u32") view.setUint32(0, v, true);
    else if (kind === "i32") view.setInt32(0, v, true);
    else view.setFloat32(0, v, true);
    return this.raw(b);
  }
  text(s: string): this {
    return this.raw(new TextEncoder().encode(s));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    this.chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
    return out;
  }
}

const f32Bytes = (data: Float32Array) => new Uint8Array(data.slice().buffer);
const f16Bytes = (data: Float32Array) =>
  new Uint8Array(Uint16Array.from(data, (x) => halfBits(x)).buffer);

// ---------------------------------------------------------------------------------------
// CTranslate2

/** How {@link writeCt2} stores weights, as ct2-transformers-converter's --quantization. */
export type Ct2Quant = "float32" | "float16" | "int8" | "int8_float16";

/** A CTranslate2 variable before encoding. */
type Ct2Var =
  | { kind: "float"; shape: number[]; data: Float32Array; quantizable: boolean }
  | { kind: "int"; dtype: 1 | 2; value: number };

const cat = (...ts: Float32Array[]) => {
  const out = new Float32Array(ts.reduce((n, t) => n + t.length, 0));
  ts.reduce((at, t) => (out.set(t, at), at + t.length), 0);
  return out;
};

/** The CTranslate2 WhisperSpec variables of HF-named weights (fused QKV / KV, zero k bias). */
function ct2Variables(w: WhisperWeights, config: WhisperConfig): Map<string, Ct2Var> {
  const vars = new Map<string, Ct2Var>();
  const put = (name: string, t: Tensor, quantizable = false) =>
    vars.set(name, { kind: "float", shape: [...t.shape], data: t.data, quantizable });
  const norm = (ct2: string, hf: string) => {
    put(`${ct2}/gamma`, w[`${hf}.weight`]);
    put(`${ct2}/beta`, w[`${hf}.bias`]);
  };
  const linear = (ct2: string, hf: string) => {
    put(`${ct2}/weight`, w[`${hf}.weight`], true);
    put(`${ct2}/bias`, w[`${hf}.bias`]);
  };
  const fused = (ct2: string, hf: string, parts: string[]) => {
    const ws = parts.map((p) => w[`${hf}.${p}.weight`].data);
    const bs = parts.map((p) =>
      p === "k_proj" ? new Float32Array(config.dModel) : w[`${hf}.${p}.bias`].data
    );
    const d = config.dModel;
    put(`${ct2}/weight`, { shape: [parts.length * d, d], data: cat(...ws) }, true);
    put(`${ct2}/bias`, { shape: [parts.length * d], data: cat(...bs) });
  };
  for (const conv of ["conv1", "conv2"]) linear(`encoder/${conv}`, `model.encoder.${conv}`);
  put("encoder/position_encodings/encodings", w["model.encoder.embed_positions.weight"]);
  norm("encoder/layer_norm", "model.encoder.layer_norm");
  put("decoder/embeddings/weight", w["model.decoder.embed_tokens.weight"], true);
  put("decoder/position_encodings/encodings", w["model.decoder.embed_positions.weight"]);
  norm("decoder/layer_norm", "model.decoder.layer_norm");
  vars.set("encoder/num_heads", { kind: "int", dtype: 2, value: config.encoderHeads });
  vars.set("decoder/num_heads", { kind: "int", dtype: 2, value: config.decoderHeads });
  vars.set("decoder/pre_norm", { kind: "int", dtype: 1, value: 1 });
  for (const side of ["encoder", "decoder"] as const) {
    const layers = side === "encoder" ? config.encoderLayers : config.decoderLayers;
    for (let i = 0; i < layers; i++) {
      const ct2 = `${side}/layer_${i}`, hf = `model.${side}.layers.${i}`;
      norm(`${ct2}/self_attention/layer_norm`, `${hf}.self_attn_layer_norm`);
      fused(`${ct2}/self_attention/linear_0`, `${hf}.self_attn`, ["q_proj", "k_proj", "v_proj"]);
      linear(`${ct2}/self_attention/linear_1`, `${hf}.self_attn.out_proj`);
      norm(`${ct2}/ffn/layer_norm`, `${hf}.final_layer_norm`);
      linear(`${ct2}/ffn/linear_0`, `${hf}.fc1`);
      linear(`${ct2}/ffn/linear_1`, `${hf}.fc2`);
      if (side === "decoder") {
        norm(`${ct2}/attention/layer_norm`, `${hf}.encoder_attn_layer_norm`);
        linear(`${ct2}/attention/linear_0`, `${hf}.encoder_attn.q_proj`);
        fused(`${ct2}/attention/linear_1`, `${hf}.encoder_attn`, ["k_proj", "v_proj"]);
        linear(`${ct2}/attention/linear_2`, `${hf}.encoder_attn.out_proj`);
      }
    }
  }
  return vars;
}

/**
 * A CTranslate2 model.bin (binary version 6, WhisperSpec revision 3) of HF-named weights.
 * int8 modes quantise each quantizable weight per output row (q = round(w * 127 / max|row|),
 * scale stored beside it as `<name>_scale`), as the converter does.
 */
export function writeCt2(
  weights: WhisperWeights,
  config: WhisperConfig,
  options: { quant?: Ct2Quant; spec?: string; drop?: string } = {},
): Uint8Array {
  const quant = options.quant ?? "float32";
  const encoded: [string, number[], number, Uint8Array][] = [];
  for (const [name, v] of ct2Variables(weights, config)) {
    if (name === options.drop) continue;
    if (v.kind === "int") {
      const b = new Uint8Array(v.dtype);
      if (v.dtype === 1) b[0] = v.value;
      else new DataView(b.buffer).setInt16(0, v.value, true);
      encoded.push([name, [], v.dtype, b]);
    } else if (v.quantizable && quant.startsWith("int8")) {
      const rows = v.shape[0], per = v.data.length / rows;
      const q = new Int8Array(v.data.length), scale = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        const row = v.data.subarray(r * per, (r + 1) * per);
        const amax = row.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 127;
        scale[r] = 127 / amax;
        row.forEach((x, j) => (q[r * per + j] = Math.round(x * scale[r])));
      }
      encoded.push([name, v.shape, 1, new Uint8Array(q.buffer)]);
      encoded.push([`${name}_scale`, [rows], 0, f32Bytes(scale)]);
    } else {
      const half = quant === "float16" || quant === "int8_float16";
      encoded.push([name, v.shape, half ? 4 : 0, half ? f16Bytes(v.data) : f32Bytes(v.data)]);
    }
  }
  encoded.sort(([a], [b]) => (a < b ? -1 : 1));
  const out = new Bytes();
  const str = (s: string) =>
    out.num("u16", new TextEncoder().encode(s).length + 1).text(s).num("u8", 0);
  out.num("u32", 6);
  str(options.spec ?? "WhisperSpec");
  out.num("u32", 3).num("u32", encoded.length);
  for (const [name, shape, dtype, bytes] of encoded) {
    str(name);
    out.num("u8", shape.length);
    shape.forEach((d) => out.num("u32", d));
    out.num("u8", dtype).num("u32", bytes.length).raw(bytes);
  }
  const aliases = [["decoder/projection/weight", "decoder/embeddings/weight"]];
  if (quant.startsWith("int8")) {
    aliases.push(["decoder/projection/weight_scale", "decoder/embeddings/weight_scale"]);
  }
  out.num("u32", aliases.length);
  for (const [alias, target] of aliases) {
    str(alias);
    str(target);
  }
  return out.bytes();
}

// ---------------------------------------------------------------------------------------
// whisper.cpp ggml

/** The openai-whisper names of `config`'s tensors, with their HF names. */
export function openaiNames(config: WhisperConfig): [string, string][] {
  const names = [
    "encoder.conv1.weight",
    "encoder.conv1.bias",
    "encoder.conv2.weight",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "encoder.ln_post.weight",
    "encoder.ln_post.bias",
    "decoder.token_embedding.weight",
    "decoder.positional_embedding",
    "decoder.ln.weight",
    "decoder.ln.bias",
  ];
  const block = (side: string, i: number, parts: string[]) => {
    for (const p of parts) {
      names.push(`${side}.blocks.${i}.${p}.weight`);
      if (p !== "attn.key" && p !== "cross_attn.key") names.push(`${side}.blocks.${i}.${p}.bias`);
    }
  };
  const self = ["attn.query", "attn.key", "attn.value", "attn.out", "attn_ln"];
  const mlp = ["mlp.0", "mlp.2", "mlp_ln"];
  const cross = ["cross_attn.query", "cross_attn.key", "cross_attn.value", "cross_attn.out"];
  for (let i = 0; i < config.encoderLayers; i++) block("encoder", i, [...self, ...mlp]);
  for (let i = 0; i < config.decoderLayers; i++) {
    block("decoder", i, [...self, ...cross, "cross_attn_ln", ...mlp]);
  }
  return names.map((n) => [n, hfNameOfOpenai(n)!]);
}

/** ggml tensor types {@link writeGgml} can write. */
export type GgmlType = "f32" | "f16" | "q4_0" | "q4_1" | "q5_0" | "q5_1" | "q8_0";
const GGML_IDS: Record<GgmlType, number> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q5_0: 6,
  q5_1: 7,
  q8_0: 8,
};

/**
 * Quantises `x` (a multiple of 32 long) as whisper.cpp's reference quantisers do; returns the
 * blocks and the values they decode to.
 */
export function quantize(
  x: Float32Array,
  type: GgmlType,
): { bytes: Uint8Array; values: Float32Array } {
  const out = new Bytes(), values = new Float32Array(x.length);
  for (let at = 0; at < x.length; at += 32) {
    const blk = x.subarray(at, at + 32);
    if (type === "q8_0") {
      const d = viaHalf(blk.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
      const q = Int8Array.from(blk, (v) => (d ? Math.round(v / d) : 0));
      out.num("u16", halfBits(d)).raw(new Uint8Array(q.buffer));
      q.forEach((v, j) => (values[at + j] = v * d));
      continue;
    }
    const five = type.startsWith("q5"), levels = five ? 31 : 15;
    const withMin = type.endsWith("_1");
    let d: number, m = 0, q: number[];
    if (withMin) {
      const lo = Math.min(...blk), hi = Math.max(...blk);
      d = viaHalf((hi - lo) / levels);
      m = viaHalf(lo);
      q = [...blk].map((v) => Math.min(levels, Math.max(0, Math.round(d ? (v - m) / d : 0))));
    } else {
      // Signed: the value of largest magnitude maps to -8 (or -16), as ggml does.
      const max = blk.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
      const off = (levels + 1) / 2;
      d = viaHalf(max / -off);
      q = [...blk].map((v) => Math.min(levels, Math.max(0, Math.round(d ? v / d + off : off))));
    }
    const off = withMin ? 0 : (levels + 1) / 2;
    out.num("u16", halfBits(d));
    if (withMin) out.num("u16", halfBits(m));
    if (five) {
      let high = 0;
      q.forEach((v, j) => (high |= ((v >> 4) & 1) << j));
      out.num("u32", high >>> 0);
    }
    const nibbles = new Uint8Array(16);
    for (let j = 0; j < 16; j++) nibbles[j] = (q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4);
    out.raw(nibbles);
    q.forEach((v, j) => (values[at + j] = (v - off) * d + m));
  }
  return { bytes: out.bytes(), values };
}

/**
 * A whisper.cpp ggml file of HF-named weights. f16 files keep vectors, conv biases and
 * positional embeddings in f32 (as convert-pt-to-ggml does); quantised files quantise the
 * 2-D matrices and keep conv weights f16. Returns the file and, per HF name, the values the
 * stored tensor decodes to.
 */
export function writeGgml(
  weights: WhisperWeights,
  config: WhisperConfig,
  options: { type?: GgmlType } = {},
): { bytes: Uint8Array; decoded: Record<string, Float32Array> } {
  const type = options.type ?? "f32";
  const out = new Bytes();
  out.num("u32", 0x67676d6c);
  const c = config;
  for (
    const v of [
      c.vocabSize,
      c.maxSourcePositions,
      c.dModel,
      c.encoderHeads,
      c.encoderLayers,
      c.maxTargetPositions,
      c.dModel,
      c.decoderHeads,
      c.decoderLayers,
      c.nMels,
      type === "f32" ? 0 : 1,
    ]
  ) out.num("i32", v);
  out.num("i32", c.nMels).num("i32", 5);
  for (let i = 0; i < c.nMels * 5; i++) out.num("f32", i / 10);
  out.num("i32", 3);
  for (const token of ["a", "b", "hello"]) out.num("u32", token.length).text(token);
  const decoded: Record<string, Float32Array> = {};
  for (const [openai, hf] of openaiNames(config)) {
    const t = weights[hf];
    const convBias = /conv[12]\.bias$/.test(openai);
    const shape = convBias ? [t.shape[0], 1] : [...t.shape];
    const small = shape.length < 2 || convBias || openai.endsWith("positional_embedding");
    let kind: GgmlType = small ? "f32" : type === "f32" ? "f32" : "f16";
    if (type.startsWith("q") && shape.length === 2 && !small) kind = type;
    let bytes: Uint8Array;
    if (kind === "f32") [bytes, decoded[hf]] = [f32Bytes(t.data), t.data];
    else if (kind === "f16") [bytes, decoded[hf]] = [f16Bytes(t.data), t.data.map(viaHalf)];
    else {
      const q = quantize(t.data, kind);
      [bytes, decoded[hf]] = [q.bytes, q.values];
    }
    const name = new TextEncoder().encode(openai);
    out.num("i32", shape.length).num("i32", name.length).num("i32", GGML_IDS[kind]);
    [...shape].reverse().forEach((d) => out.num("i32", d));
    out.raw(name).raw(bytes);
  }
  return { bytes: out.bytes(), decoded };
}

// ---------------------------------------------------------------------------------------
// torch.save (zip of a pickle)

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Uint8Array) => {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** A zip of stored (uncompressed) entries. */
export function zip(entries: [string, Uint8Array][]): Uint8Array {
  const out = new Bytes(), central = new Bytes();
  for (const [name, data] of entries) {
    const offset = out.length, crc = crc32(data), n = new TextEncoder().encode(name).length;
    out.num("u32", 0x04034b50).num("u16", 20).num("u16", 0).num("u16", 0).num("u32", 0)
      .num("u32", crc).num("u32", data.length).num("u32", data.length).num("u16", n)
      .num("u16", 0).text(name).raw(data);
    central.num("u32", 0x02014b50).num("u16", 20).num("u16", 20).num("u16", 0).num("u16", 0)
      .num("u32", 0).num("u32", crc).num("u32", data.length).num("u32", data.length)
      .num("u16", n).num("u16", 0).num("u16", 0).num("u16", 0).num("u16", 0).num("u32", 0)
      .num("u32", offset).text(name);
  }
  const at = out.length, size = central.length;
  out.raw(central.bytes());
  out.num("u32", 0x06054b50).num("u16", 0).num("u16", 0).num("u16", entries.length)
    .num("u16", entries.length).num("u32", size).num("u32", at).num("u16", 0);
  return out.bytes();
}

/** Pickle (protocol 2) emitter for the subset torch.save uses. */
class Pickle {
  readonly out = new Bytes();
  /** Opcodes and raw text, one byte per character (the opcodes above 0x7f too). */
  op(code: string): this {
    this.out.raw(Uint8Array.from(code, (ch) => ch.charCodeAt(0)));
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.out.text("X").num("u32", b.length).raw(b);
    return this;
  }
  int(v: number): this {
    this.out.text("J").num("i32", v);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(`c${module}\n${name}\n`);
  }
  tuple(items: number[]): this {
    this.op("(");
    items.forEach((v) => this.int(v));
    return this.op("t");
  }
}

/**
 * An openai-whisper checkpoint (`{"dims": ..., "model_state_dict": OrderedDict}`) of
 * HF-named weights, as torch.save writes it. Matrices are float16 storages; the first 2-D
 * one is saved transposed (a strided view) to exercise stride handling. Returns the file and
 * the values each tensor decodes to.
 */
export function writePt(
  weights: WhisperWeights,
  config: WhisperConfig,
): { bytes: Uint8Array; decoded: Record<string, Float32Array> } {
  const p = new Pickle(), storages: [string, Uint8Array][] = [];
  const decoded: Record<string, Float32Array> = {};
  const c = config;
  const dims: [string, number][] = [
    ["n_mels", c.nMels],
    ["n_vocab", c.vocabSize],
    ["n_audio_ctx", c.maxSourcePositions],
    ["n_audio_state", c.dModel],
    ["n_audio_head", c.encoderHeads],
    ["n_audio_layer", c.encoderLayers],
    ["n_text_ctx", c.maxTargetPositions],
    ["n_text_state", c.dModel],
    ["n_text_head", c.decoderHeads],
    ["n_text_layer", c.decoderLayers],
  ];
  p.op("\x80\x02}(").str("dims").op("}(");
  dims.forEach(([k, v]) => p.str(k).int(v));
  p.op("u").str("model_state_dict").global("collections", "OrderedDict").op(")R(");
  let transposed = false;
  for (const [openai, hf] of openaiNames(config)) {
    const t = weights[hf], key = String(storages.length);
    const half = t.shape.length >= 2;
    let data = t.data,
      stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    if (t.shape.length === 2 && !transposed) {
      // Store the transpose and describe the tensor as a strided view of it.
      transposed = true;
      const [r, k] = t.shape;
      data = Float32Array.from(
        { length: r * k },
        (_, i) => t.data[(i % r) * k + Math.floor(i / r)],
      );
      stride = [1, r];
    }
    storages.push([key, half ? f16Bytes(data) : f32Bytes(data)]);
    decoded[hf] = half ? t.data.map(viaHalf) : t.data;
    p.str(openai).global("torch._utils", "_rebuild_tensor_v2").op("((").str("storage")
      .global("torch", half ? "HalfStorage" : "FloatStorage").str(key).str("cpu")
      .int(data.length).op("tQ").int(0).tuple([...t.shape]).tuple(stride).op("\x89")
      .global("collections", "OrderedDict").op(")RtR");
  }
  p.op("uu.");
  const files: [string, Uint8Array][] = [["archive/data.pkl", p.out.bytes()]];
  for (const [key, b] of storages) files.push([`archive/data/${key}`, b]);
  files.push(["archive/version", new TextEncoder().encode("3\n")]);
  return { bytes: zip(files), decoded };
}
