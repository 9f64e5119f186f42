"""PyTorch CPU reference benchmark for the flowt2s ONNX training step.

Usage:
  .venv/bin/python scripts/bench_torch.py < cases.jsonl     # one JSON case per stdin line
  .venv/bin/python scripts/bench_torch.py case.json         # file: one object, a list, or JSON lines

Input: one JSON object per case. Blank lines and lines starting with '#' are skipped.
  {"kind":"mlp","batch":B,"din":Din,"hidden":H,"dout":Dout}
  {"kind":"block","batch":B,"seq":T,"d":d,"heads":H,"variant":"eager"|"sdpa"}  (variant omitted: both)
  Optional fields: seed (0), threads (2), warmup (3), min_seconds (3), min_steps (5).

Output: one JSON object per line, one per (case, variant), flushed as it is produced:
  {"kind","variant","case","torch","threads","params","warmup","steps","ms_median","ms_mean",
   "loss_first" (first warmup step), "loss_last" (last timed step),
   "flops_per_step","gflops" (flops_per_step / median step seconds),"gflops_mean"}
  A failing case prints {"case":..., "error": "..."} and the run goes on.

Train step (float32): forward, loss = mean((out - target)^2), backward,
clip_grad_norm_(max_norm=1.0) over all params (g *= min(1, 1/(global_l2 + 1e-6))),
AdamW(lr=1e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0.01; decoupled decay
p *= 1 - lr*wd applies to every parameter, biases and LN included).
Weights are [in, out] and used as a @ W. Random data/init: numpy default_rng(seed):
x, target ~ N(0,1) first, then weights ~ N(0, 0.02) in parameter-name order; biases 0, LN scales 1.

FLOPs (matmuls only, 2*M*N*K each; step = 3x forward):
  mlp:   3 * (2*B*Din*H + 2*B*H*Dout)
  block: 3 * (4 * 2*B*T*d*d + 2 * 2*B*T*d*4d + 2 * 2*B*H*T*T*dh)

Check mode: {"kind":..., "check":true, "init":"path.json", "steps":3, "heads":H (block),
"variant":"eager"|"sdpa" (default eager)} loads {"params":{name:{"shape","data"}},
"x":{"shape","data"},"target":{"shape","data"}} and prints
  {"kind","variant","check":true,"losses":[loss per step],"params":{name:[flat data after steps]}}
Parameter names: mlp: w1 b1 w2 b2; block: ln1.scale ln1.bias attn.q.w attn.q.b attn.k.w
attn.v.w attn.v.b attn.o.w attn.o.b ln2.scale ln2.bias mlp.fc1.w mlp.fc1.b mlp.fc2.w mlp.fc2.b.
"""
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def param_shapes(kind, c):
    """Ordered {name: shape} for a case (dims come from the case fields)."""
    if kind == "mlp":
        return {"w1": [c["din"], c["hidden"]], "b1": [c["hidden"]],
                "w2": [c["hidden"], c["dout"]], "b2": [c["dout"]]}
    d = c["d"]
    return {"ln1.scale": [d], "ln1.bias": [d], "attn.q.w": [d, d], "attn.q.b": [d],
            "attn.k.w": [d, d], "attn.v.w": [d, d], "attn.v.b": [d],
            "attn.o.w": [d, d], "attn.o.b": [d], "ln2.scale": [d], "ln2.bias": [d],
            "mlp.fc1.w": [d, 4 * d], "mlp.fc1.b": [4 * d],
            "mlp.fc2.w": [4 * d, d], "mlp.fc2.b": [d]}


def random_init(kind, c):
    rng = np.random.default_rng(c.get("seed", 0))
    if kind == "mlp":
        xs, ts = [c["batch"], c["din"]], [c["batch"], c["dout"]]
    else:
        xs = ts = [c["batch"], c["seq"], c["d"]]
    x = rng.standard_normal(xs, dtype=np.float32)
    target = rng.standard_normal(ts, dtype=np.float32)
    params = {}
    for name, shape in param_shapes(kind, c).items():
        if name.endswith("scale"):
            params[name] = np.ones(shape, np.float32)
        elif len(shape) == 1:  # biases
            params[name] = np.zeros(shape, np.float32)
        else:
            params[name] = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
    return params, x, target


def load_init(path):
    with open(path) as f:
        obj = json.load(f)
    arr = lambda t: np.asarray(t["data"], np.float32).reshape(t["shape"])
    return {k: arr(v) for k, v in obj["params"].items()}, arr(obj["x"]), arr(obj["target"])


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g + b


def mlp_forward(p, x, variant):
    return gelu_erf(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]


def block_forward(p, x, heads, variant):
    B, T, d = x.shape
    dh = d // heads
    split = lambda t: t.reshape(B, T, heads, dh).transpose(1, 2)  # [B,H,T,dh]
    if variant == "eager":
        a = layer_norm(x, p["ln1.scale"], p["ln1.bias"])
        q, k = split(a @ p["attn.q.w"] + p["attn.q.b"]), split(a @ p["attn.k.w"])
        v = split(a @ p["attn.v.w"] + p["attn.v.b"])
        mask = torch.triu(torch.full((T, T), -1e9, dtype=x.dtype), diagonal=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, d)
        x1 = x + o @ p["attn.o.w"] + p["attn.o.b"]
        b = layer_norm(x1, p["ln2.scale"], p["ln2.bias"])
        return x1 + gelu_erf(b @ p["mlp.fc1.w"] + p["mlp.fc1.b"]) @ p["mlp.fc2.w"] + p["mlp.fc2.b"]
    # sdpa: idiomatic PyTorch ops, same math (F.linear takes [out, in] weights)
    lin = lambda t, w, bias=None: F.linear(t, w.t(), bias)
    a = F.layer_norm(x, (d,), p["ln1.scale"], p["ln1.bias"], eps=1e-5)
    q, k = split(lin(a, p["attn.q.w"], p["attn.q.b"])), split(lin(a, p["attn.k.w"]))
    v = split(lin(a, p["attn.v.w"], p["attn.v.b"]))
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, d)
    x1 = x + lin(o, p["attn.o.w"], p["attn.o.b"])
    b = F.layer_norm(x1, (d,), p["ln2.scale"], p["ln2.bias"], eps=1e-5)
    h = F.gelu(lin(b, p["mlp.fc1.w"], p["mlp.fc1.b"]))
    return x1 + lin(h, p["mlp.fc2.w"], p["mlp.fc2.b"])


class Trainer:
    def __init__(self, kind, params, x, target, heads=None, variant="eager"):
        self.p = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in params.items()}
        self.x, self.target = torch.from_numpy(x), torch.from_numpy(target)
        self.fwd = (lambda p, t: mlp_forward(p, t, variant)) if kind == "mlp" else \
            (lambda p, t: block_forward(p, t, heads, variant))
        self.opt = torch.optim.AdamW(list(self.p.values()), lr=1e-3, betas=(0.9, 0.999),
                                     eps=1e-8, weight_decay=0.01)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = torch.mean((self.fwd(self.p, self.x) - self.target) ** 2)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.p.values()), max_norm=1.0)
        self.opt.step()
        return loss.item()


def flops_per_step(kind, c):
    B = c["batch"]
    if kind == "mlp":
        fwd = 2 * B * c["din"] * c["hidden"] + 2 * B * c["hidden"] * c["dout"]
    else:
        T, d, H = c["seq"], c["d"], c["heads"]
        fwd = 4 * 2 * B * T * d * d + 2 * 2 * B * T * d * 4 * d + 2 * 2 * B * H * T * T * (d // H)
    return 3 * fwd


def variants(kind, c, default):
    if kind == "mlp":
        return ["eager"]
    v = c.get("variant", default)
    return ["eager", "sdpa"] if v in (None, "both") else [v]


def check_kind(c):
    if c.get("kind") not in ("mlp", "block"):
        raise ValueError(f"unknown kind {c.get('kind')!r} (expected 'mlp' or 'block')")
    if c.get("variant") not in (None, "both", "eager", "sdpa"):
        raise ValueError(f"unknown variant {c['variant']!r} (expected 'eager', 'sdpa' or 'both')")
    return c["kind"]


def run_check(c):
    kind = check_kind(c)
    params, x, target = load_init(c["init"])
    out = []
    for variant in variants(kind, c, "eager"):
        tr = Trainer(kind, params, x, target, c.get("heads"), variant)
        losses = [tr.step() for _ in range(c.get("steps", 3))]
        out.append({"kind": kind, "variant": variant, "check": True, "losses": losses,
                    "params": {k: v.detach().reshape(-1).tolist() for k, v in tr.p.items()}})
    return out


def run_bench(c):
    kind = check_kind(c)
    params, x, target = random_init(kind, c)
    warmup, min_s, min_steps = c.get("warmup", 3), c.get("min_seconds", 3.0), c.get("min_steps", 5)
    flops = flops_per_step(kind, c)
    out = []
    for variant in variants(kind, c, None):
        tr = Trainer(kind, params, x, target, c.get("heads"), variant)
        first = None
        for _ in range(warmup):
            loss = tr.step()
            first = loss if first is None else first
        times, t_start = [], time.perf_counter()
        while len(times) < min_steps or time.perf_counter() - t_start < min_s:
            t0 = time.perf_counter()
            loss = tr.step()
            times.append(time.perf_counter() - t0)
            first = loss if first is None else first
        med, mean = statistics.median(times), statistics.fmean(times)
        out.append({"kind": kind, "variant": variant, "case": c, "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "params": sum(v.size for v in params.values()),
                    "warmup": warmup, "steps": len(times), "ms_median": med * 1e3, "ms_mean": mean * 1e3,
                    "loss_first": first, "loss_last": loss, "flops_per_step": flops,
                    "gflops": flops / med / 1e9, "gflops_mean": flops / mean / 1e9})
    return out


def read_cases(argv):
    if len(argv) > 1:
        text = open(argv[1]).read()
        try:
            obj = json.loads(text)
            return obj if isinstance(obj, list) else [obj]
        except json.JSONDecodeError:
            lines = text.splitlines()
    else:
        lines = sys.stdin
    return (json.loads(l) for l in lines if l.strip() and not l.lstrip().startswith("#"))


def main(argv):
    for c in read_cases(argv):
        try:
            torch.set_num_threads(int(c.get("threads", 2)))
            results = run_check(c) if c.get("check") else run_bench(c)
        except Exception as e:  # report and continue with the next case
            results = [{"case": c, "error": f"{type(e).__name__}: {e}"}]
        for r in results:
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main(sys.argv)
