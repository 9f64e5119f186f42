#!/usr/bin/env bash
# Needs .cache/whisper/base (README: Getting real weights) and .cache/exp/data5.jsonl: the en, de,
# fr, es and ru lines of data/sentences.jsonl (grep them out).
# The README's experiment: each recipe on the same 15-minute budget, Whisper base, 5 languages.
cd "$(dirname "$0")/.."
for r in distill unrolled inversion; do
  npx -y deno@2.9.6 task train --recipe $r --whisper .cache/whisper/base --size small \
    --data .cache/exp/data5.jsonl --batch 8 --steps 2000 --invert-steps 10 --minutes 15 \
    --out .cache/exp/$r --force --quiet --threads 2 > .cache/exp/$r.train.log 2>&1
  npx -y deno@2.9.6 task eval --checkpoint .cache/exp/$r/checkpoint.safetensors \
    --data .cache/exp/data5.jsonl --nfe 16 --seeds 3 --threads 2 > .cache/exp/$r.eval.log 2>&1
done
echo finished > .cache/exp/DONE
# Raw (non-EMA) weights; "unrolled" sampled as it trains (4 uniform Euler steps).
for spec in "distill 16 -1" "unrolled 4 0" "inversion 16 -1"; do
  set -- $spec
  npx -y deno@2.9.6 task eval --checkpoint .cache/exp/$1/checkpoint.safetensors --data .cache/exp/data5.jsonl \
    --nfe $2 --sway=$3 --seeds 3 --threads 2 --weights params --out .cache/exp/$1/params
done
