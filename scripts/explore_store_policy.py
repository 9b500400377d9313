"""Exploration (GPU): cache policy of the norm forward's stores of y (rows.FWD_STORE,
blocks.store_hinted: 0 default, 1 evict_last, 2 evict_first, 4 streaming .cs) on
16384x4096 bf16, where issue 4 asks <= 0.095 ms and the forward reads x and writes y at
0.0957 (H100, a12b701). Variants alternate over rounds with torch in each; medians.
    python scripts/explore_store_policy.py > store_policy.txt
"""
import statistics

import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.norm import layer_norm

POLICIES = [0, 4, 2, 1]
ROUNDS = 5


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def main():
    print(torch.cuda.get_device_name(), flush=True)
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    w, b = (torch.randn(4096, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    cases = [("layer_norm fwd", lambda: F.layer_norm(x, (4096,), w, b)),
             ("rms_norm fwd", lambda: F.rms_norm(x, (4096,), w))]
    base = layer_norm.FWD_STORE
    for name, fn in cases:
        ref = fn()
        t_torch, times = [], {p: [] for p in POLICIES}
        for _ in range(ROUNDS):
            t_torch.append(bench(fn))
            for p in POLICIES:
                layer_norm.FWD_STORE = p
                with triforge.use():
                    out = fn()
                    assert torch.allclose(out.float(), ref.float(), rtol=2e-2, atol=2e-2), name
                    times[p].append(bench(fn))
        tt = statistics.median(t_torch)
        row = " | ".join(f"{p}: {statistics.median(times[p]) * 1e3:.1f} us" for p in POLICIES)
        print(f"{name:16s} torch {tt * 1e3:.1f} us | {row}", flush=True)
    layer_norm.FWD_STORE = base


if __name__ == "__main__":
    main()
