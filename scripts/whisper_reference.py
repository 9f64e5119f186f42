"""Reference implementations for scripts/whisper_compare.ts (not used by tests).

Runs the same audio and weights through Hugging Face transformers (the converted folder) and,
when a CTranslate2 folder is given, faster-whisper; prints one JSON object per implementation:
text, seconds per stage (warm: the second of two runs), and for transformers the decoder's
teacher-forced cross-entropy on a given transcript.

    .venv/bin/python scripts/whisper_reference.py --model .cache/whisper/tiny.en \
        --audio jfk.wav --text "And so my fellow Americans..." [--ct2 dir] [--threads 2]

Needs: pip install torch==2.13.0 transformers faster-whisper (all CPU).
"""

import argparse
import json
import time
import wave

import numpy as np


def read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as f:
        if f.getsampwidth() != 2 or f.getframerate() != 16000:
            raise SystemExit(f"{path}: the reference reader takes 16 kHz PCM16 only")
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
        pcm = pcm.reshape(-1, f.getnchannels()).mean(axis=1)
    return (pcm / 32768.0).astype(np.float32)


def run_transformers(args, audio):
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizerFast

    torch.set_num_threads(args.threads)
    model = WhisperForConditionalGeneration.from_pretrained(args.model, attn_implementation="sdpa").eval()
    tok = WhisperTokenizerFast.from_pretrained(args.model)
    features = WhisperFeatureExtractor(feature_size=model.config.num_mel_bins)
    multilingual = model.config.vocab_size >= 51865
    prefix = tok.convert_tokens_to_ids(
        ["<|startoftranscript|>"] + (["<|en|>", "<|transcribe|>"] if multilingual else []) + ["<|notimestamps|>"]
    )
    timings, text = {}, ""
    for _ in range(2):  # the second run is the warm one
        t0 = time.perf_counter()
        mel = features(audio, sampling_rate=16000, return_tensors="pt").input_features
        t1 = time.perf_counter()
        with torch.inference_mode():
            states = model.model.encoder(mel).last_hidden_state
            t2 = time.perf_counter()
            ids = torch.tensor([prefix])
            past = None
            out = []
            step_input = ids
            for _ in range(224):  # greedy with a key/value cache, no suppression beyond the prefix
                o = model(encoder_outputs=(states,), decoder_input_ids=step_input, past_key_values=past, use_cache=True)
                past = o.past_key_values
                nxt = int(o.logits[0, -1].argmax())
                if nxt == model.config.eos_token_id:
                    break
                out.append(nxt)
                step_input = torch.tensor([[nxt]])
        t3 = time.perf_counter()
        timings = {"features": t1 - t0, "encode": t2 - t1, "decode": t3 - t2}
        text = tok.decode(out, skip_special_tokens=True).strip()
    target = prefix + tok.encode(" " + args.text, add_special_tokens=False) + [model.config.eos_token_id]
    with torch.inference_mode():
        logits = model(encoder_outputs=(states,), decoder_input_ids=torch.tensor([target[:-1]])).logits[0]
    nll = torch.nn.functional.cross_entropy(logits, torch.tensor(target[1:]), reduction="none")
    ce = float(nll[len(prefix) - 1 :].mean())
    return {"implementation": f"transformers {__import__('transformers').__version__} (torch {torch.__version__}, fp32)",
            "text": text, "seconds": timings, "cross_entropy": ce, "scored_tokens": len(target) - len(prefix)}


def run_faster_whisper(args, audio):
    import faster_whisper

    model = faster_whisper.WhisperModel(args.ct2, device="cpu", cpu_threads=args.threads, compute_type="default")
    text, seconds = "", 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        segments, _ = model.transcribe(audio, language="en", beam_size=1, without_timestamps=True,
                                       temperature=0.0, vad_filter=False, condition_on_previous_text=False)
        text = " ".join(s.text.strip() for s in segments)
        seconds = time.perf_counter() - t0
    return {"implementation": f"faster-whisper {faster_whisper.__version__} (CTranslate2, {args.ct2})",
            "text": text, "seconds": {"total": seconds}}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--audio", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--ct2")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    audio = read_wav(args.audio)
    print(json.dumps(run_transformers(args, audio)), flush=True)
    if args.ct2:
        print(json.dumps(run_faster_whisper(args, audio)), flush=True)


if __name__ == "__main__":
    main()
