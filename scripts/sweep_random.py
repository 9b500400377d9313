"""Sweep (GPU): dropout's Philox block (Q counters per program, warps) and multinomial's
race (row pieces per SM, Q, warps) against torch in the same run. Issue 7 asks dropout
at 8192x8192 >= 90% of the copy ceiling and one multinomial sample from 256 x 128256
>= 2x torch.
    python scripts/sweep_random.py > random.txt
"""
import itertools

import torch
import triton.testing

import triforge
from triforge.ops.random import dropout as dr
from triforge.ops.random import multinomial as mn


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")


def main():
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    moved = x.numel() * (2 + 2 + 1)   # read x, write y and the bool mask
    t_torch = bench(lambda: torch.ops.aten.native_dropout(x, 0.1, True))
    print(f"dropout 8192^2 bf16 p=0.1: torch {t_torch:.4f} ms ({moved / t_torch / 1e6:.0f} GB/s)", flush=True)
    for q, warps in itertools.product((256, 512, 1024, 2048), (4, 8)):
        dr._Q, dr._WARPS = q, warps
        with triforge.use():
            t = bench(lambda: torch.ops.aten.native_dropout(x, 0.1, True))
        print(f"  Q={q} warps={warps}: {t:.4f} ms {t_torch / t:.2f}x {moved / t / 1e6:.0f} GB/s", flush=True)
    p = torch.softmax(torch.randn(256, 128256, device="cuda"), -1).to(torch.bfloat16)
    t_torch = bench(lambda: torch.multinomial(p, 1))
    print(f"multinomial 1 of 256 x 128256 bf16: torch {t_torch:.4f} ms", flush=True)
    for waves, q, warps in itertools.product((0, 2, 4, 8, 16), (256, 512), (4, 8)):
        mn._WAVES, mn._Q, mn._WARPS = waves, q, warps
        with triforge.use():
            t = bench(lambda: torch.multinomial(p, 1))
        print(f"  waves={waves} Q={q} warps={warps}: {t:.4f} ms {t_torch / t:.2f}x", flush=True)


if __name__ == "__main__":
    main()
