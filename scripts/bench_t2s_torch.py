"""PyTorch CPU reference of one T2S training step, for scripts/bench_t2s.ts (not used by tests).

The same computation as lib/model (recipe "distill"): the CFM network (byte embedding,
ConvNeXt text blocks, adaLN-zero transformer) on x_t of the OT path, the masked flow loss, the
one-step estimate x1_hat = x_t + (1 - t) v read by the frozen Whisper decoder
(transformers' WhisperForConditionalGeneration, weights not trained), loss = flow +
lambda * CE, backward, global-norm clip 1, AdamW. Float32, random data.

Protocol: argv: JSON {"whisper": folder, "batch", "frames", "tokens", "config": {T2SConfig},
"attn": "eager"|"sdpa", "threads"}. Then each stdin line "N" runs N timed steps and prints
{"ms": [per-step ms], "loss": last loss}; the first line printed is {"ready": true, "torch": v}.
"""

import json
import sys
import time

import torch
import torch.nn.functional as F
from transformers import WhisperForConditionalGeneration


def main():
    case = json.loads(sys.argv[1])
    torch.set_num_threads(case["threads"])
    torch.manual_seed(0)
    cfg, b, f, l = case["config"], case["batch"], case["frames"], case["tokens"]
    w, c, k = cfg["width"], cfg["textWidth"], cfg["kernel"]
    whisper = WhisperForConditionalGeneration.from_pretrained(case["whisper"], attn_implementation=case["attn"])
    whisper.eval()
    for p in whisper.parameters():
        p.requires_grad_(False)
    dec, proj = whisper.model.decoder, whisper.proj_out

    def P(*shape, zero=False):
        t = torch.zeros(shape) if zero else torch.randn(shape) * 0.02
        return torch.nn.Parameter(t)

    ps = {"embed": P(257, c), "t1w": P(cfg["timeChannels"], w), "t1b": P(w), "t2w": P(w, w), "t2b": P(w),
          "inw": P(w + c, w), "inb": P(w), "omw": P(w, 2 * w), "omb": P(2 * w), "ow": P(w, w), "ob": P(w)}
    for i in range(cfg["textBlocks"]):
        ps.update({f"x{i}dw": P(c, 1, k), f"x{i}db": P(c), f"x{i}ls": P(c), f"x{i}lb": P(c),
                   f"x{i}f1w": P(c, 2 * c), f"x{i}f1b": P(2 * c), f"x{i}f2w": P(2 * c, c), f"x{i}f2b": P(c)})
    hid = cfg["mlpRatio"] * w
    for i in range(cfg["depth"]):
        ps.update({f"b{i}mw": P(w, 6 * w), f"b{i}mb": P(6 * w), f"b{i}qw": P(w, 3 * w), f"b{i}qb": P(3 * w),
                   f"b{i}ow": P(w, w), f"b{i}ob": P(w), f"b{i}f1w": P(w, hid), f"b{i}f1b": P(hid),
                   f"b{i}f2w": P(hid, w), f"b{i}f2b": P(w)})
    params = list(ps.values())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    half = cfg["timeChannels"] // 2
    freqs = 1000 * torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half) / half)
    inc = torch.log(torch.tensor(10000.0)) / (w // 2 - 1)
    angle = torch.arange(f)[:, None] * torch.exp(-inc * torch.arange(w // 2))[None]
    pos = torch.cat([angle.sin(), angle.cos()], 1)
    heads, dh = cfg["heads"], w // cfg["heads"]

    def modulate(x, shift, scale):
        return x * (1 + scale[:, None]) + shift[:, None]

    def net(xt, t, text, mask):
        keep = mask[..., None]
        x = ps["embed"][text] * keep
        for i in range(cfg["textBlocks"]):
            h = F.conv1d(x.transpose(1, 2), ps[f"x{i}dw"], ps[f"x{i}db"], padding=k // 2, groups=c).transpose(1, 2)
            n = F.layer_norm(h, (c,), ps[f"x{i}ls"], ps[f"x{i}lb"], eps=1e-6)
            x = (x + F.gelu(n @ ps[f"x{i}f1w"] + ps[f"x{i}f1b"]) @ ps[f"x{i}f2w"] + ps[f"x{i}f2b"]) * keep
        ang = t[:, None] * freqs[None]
        cond = F.silu(F.silu(torch.cat([ang.sin(), ang.cos()], 1) @ ps["t1w"] + ps["t1b"]) @ ps["t2w"] + ps["t2b"])
        x = torch.cat([xt, x], 2) @ ps["inw"] + ps["inb"] + pos
        add_mask = ((1 - mask) * -1e9)[:, None, None, :]
        for i in range(cfg["depth"]):
            sa, ca, ga, sm, cm, gm = (cond @ ps[f"b{i}mw"] + ps[f"b{i}mb"]).split(w, 1)
            qkv = modulate(F.layer_norm(x, (w,), eps=1e-6), sa, ca) @ ps[f"b{i}qw"] + ps[f"b{i}qb"]
            q, kk, v = (z.view(b, f, heads, dh).transpose(1, 2) for z in qkv.split(w, 2))
            if case["attn"] == "sdpa":
                a = F.scaled_dot_product_attention(q, kk, v, attn_mask=add_mask)
            else:
                a = torch.softmax(q @ kk.transpose(2, 3) / dh ** 0.5 + add_mask, -1) @ v
            a = a.transpose(1, 2).reshape(b, f, w) @ ps[f"b{i}ow"] + ps[f"b{i}ob"]
            x = x + ga[:, None] * a
            m = F.gelu(modulate(F.layer_norm(x, (w,), eps=1e-6), sm, cm) @ ps[f"b{i}f1w"] + ps[f"b{i}f1b"])
            x = x + gm[:, None] * (m @ ps[f"b{i}f2w"] + ps[f"b{i}f2b"])
        shift, scale = (cond @ ps["omw"] + ps["omb"]).split(w, 1)
        return modulate(F.layer_norm(x, (w,), eps=1e-6), shift, scale) @ ps["ow"] + ps["ob"]

    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(b, f, w, generator=g), torch.randn(b, f, w, generator=g)
    t = torch.rand(b, generator=g)
    text = torch.randint(1, 257, (b, f), generator=g)
    mask = torch.ones(b, f)
    tokens = torch.randint(0, 50000, (b, l), generator=g)
    targets = torch.randint(0, 50000, (b, l), generator=g)
    tmask = torch.ones(b, l)

    def step():
        xt = t[:, None, None] * x1 + (1 - t[:, None, None]) * x0
        v = net(xt, t, text, mask)
        per = ((v - (x1 - x0)) ** 2).sum(2) * mask
        flow = (per.sum(1) / (mask.sum(1) * w)).mean()
        x1hat = xt + (1 - t[:, None, None]) * v
        hidden = dec(input_ids=tokens, encoder_hidden_states=x1hat).last_hidden_state
        nll = F.cross_entropy(proj(hidden).reshape(b * l, -1), targets.reshape(-1), reduction="none")
        loss = flow + 0.1 * (nll * tmask.reshape(-1)).sum() / tmask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    for _ in range(2):
        step()
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        n, ms, loss = int(line), [], 0.0
        for _ in range(n):
            t0 = time.perf_counter()
            loss = step()
            ms.append(1000 * (time.perf_counter() - t0))
        print(json.dumps({"ms": ms, "loss": loss}), flush=True)


if __name__ == "__main__":
    main()
