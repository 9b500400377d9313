"""Sweep (GPU): where the long-row walk (ops/blocks.py walk_plan) beats one program a
row, for softmax / log_softmax forward and layer / rms norm forward, bf16 and float32,
rows of N at ~256 MB. triforge with the walk forced on and off, torch in the same run.
Needs TRIFORGE_FASTPATH=0 (the C++ entry would replay the first call's launches).
    TRIFORGE_FASTPATH=0 python scripts/sweep_walk.py [N,N,...] > walk.txt
"""
import sys

import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops import softmax as S
from triforge.ops.norm import walk


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def main():
    print(torch.cuda.get_device_name(), flush=True)
    y = torch.empty(128 << 20, device="cuda", dtype=torch.bfloat16)
    x0 = torch.randn(128 << 20, device="cuda", dtype=torch.bfloat16)
    t_copy = bench(lambda: y.copy_(x0))
    ceiling = 2 * x0.numel() * 2 / t_copy / 1e6
    print(f"copy 256 MB: {t_copy * 1e3:.1f} us, {ceiling:.0f} GB/s", flush=True)
    ops = {
        "softmax": lambda x, w: torch.softmax(x, -1),
        "log_softmax": lambda x, w: torch.log_softmax(x, -1),
        "layer_norm": lambda x, w: F.layer_norm(x, x.shape[-1:], w, w),
        "rms_norm": lambda x, w: F.rms_norm(x, x.shape[-1:], w, 1e-6),
    }
    for dtype in (torch.bfloat16, torch.float32):
        ns = (24576, 32768, 65536, 128256, 131072, 262144)
        for n in map(int, sys.argv[1].split(",")) if len(sys.argv) > 1 else ns:
            rows = (256 << 20) // (n * 2)
            x = torch.randn(rows, n, device="cuda", dtype=dtype)
            w = torch.randn(n, device="cuda", dtype=dtype)
            moved = 2 * x.numel() * x.element_size()
            for name, fn in ops.items():
                ref = fn(x.double(), w.double()).float()
                t_torch = bench(lambda: fn(x, w))
                line = f"{name} {str(dtype)[6:]} {rows}x{n}: torch {t_torch * 1e3:.1f} us"
                for label, m in (("rows", 1 << 40), ("walk", 1)):
                    S._WALK_MIN_BYTES, walk.MIN_BYTES = m, m
                    S._plans.clear()
                    with triforge.use():
                        out = fn(x, w)
                        err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
                        t = bench(lambda: fn(x, w))
                    pct = 100 * moved / t / 1e6 / ceiling
                    ok = "" if err < 2e-2 else f" WRONG {err:.3g}"
                    line += f" | {label} {t * 1e3:.1f} us {pct:.1f}% {t_torch / t:.3f}x{ok}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
