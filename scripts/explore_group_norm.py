"""Exploration (GPU): group norm 64x512x1024 bf16, 32 groups (rows of 16384 elements),
forward and forward+backward under other one-block limits and warps of the norm
kernels, torch in the same run.
    python scripts/explore_group_norm.py > group-norm.txt
"""
import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.norm import rows

# (max_single_block, num_warps of one-block rows, num_warps of streamed rows). At aeed363
# (one warps setting for both): (16384, 8) 0.0748 / 0.3917 ms fwd / fwd+bwd, (16384, 16)
# 0.0755 / 0.2932, (8192, 8) 0.0664 / 0.3449, (4096, 8) 0.0657 / 0.3270, (8192, 16)
# 0.0566 / 0.2949 (torch 0.1719 / 0.4630).
SETTINGS = [(8192, 8, 16), (16384, 8, 8), (8192, 16, 16), (16384, 16, 16), (4096, 8, 16)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def main():
    x = torch.randn(64, 512, 1024, dtype=torch.bfloat16, device="cuda", requires_grad=True)
    w = torch.randn(512, dtype=torch.bfloat16, device="cuda", requires_grad=True)
    b = torch.randn(512, dtype=torch.bfloat16, device="cuda", requires_grad=True)
    g = torch.randn_like(x)

    def fwd():
        with torch.no_grad():
            return F.group_norm(x, 32, w, b)

    def fwd_bwd():
        x.grad = w.grad = b.grad = None
        F.group_norm(x, 32, w, b).backward(g)
        return x.grad
    for name, fn in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
        ref = fn().clone()
        scale = ref.float().abs().max().item()   # outputs reach ~20: one bf16 ulp there is 0.125
        row = [f"group_norm {name}: torch {bench(fn):.4f}"]
        for ms, warps, stream in SETTINGS:
            rows.MAX_SINGLE, rows.WARPS, rows.STREAM_WARPS = ms, warps, stream
            with triforge.use():
                err = (fn().float() - ref.float()).abs().max().item()
                t = bench(fn)
            row.append(f"{(ms, warps, stream)} {t:.4f}{'' if err <= 0.02 * scale else f' WRONG {err:.3g}'}")
        rows.MAX_SINGLE, rows.WARPS, rows.STREAM_WARPS = SETTINGS[0]
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
