"""Exploration (GPU): the long-row walk (blocks.walk_plan) on fewer programs than SMs.
Its second read (the row backwards) hits L2 only where the rows all programs hold in
flight fit there: 132 programs x 256 KB rows is ~34 MB read plus as much written between
a chunk's two reads. Fewer programs, each with more loads in flight (bigger chunks),
shrink that window. softmax and layer_norm forward, bf16 1024x131072 and 2048x128256,
torch in the same run. Needs TRIFORGE_FASTPATH=0.
    TRIFORGE_FASTPATH=0 python scripts/explore_walk_width.py > walk_width.txt
Outcome, H200 at d3f942b (sweeps-NVIDIA_H200/moments-and-walk-width-2026-11-28.txt):
one program an SM with 32 KB chunks stays best everywhere (softmax 1024x131072 185.3
us, 70.2%); 0.5 an SM 318.8 us -- one SM cannot pull twice its share.
"""
import torch
import torch.nn.functional as F

import triforge
from triforge.bench.timing import device_ms
from triforge.ops import blocks
from triforge.ops import softmax as S

CONFIGS = [   # (per_sm, chunk_bytes, num_warps)
    (1, 32768, 32), (0.75, 32768, 32), (0.5, 32768, 32), (0.5, 65536, 32), (0.75, 65536, 32), (1, 65536, 32),
    (0.5, 16384, 32), (1.5, 16384, 16), (2, 16384, 16),
]


def bench(fn):
    return device_ms(fn, False, None)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    ops = {"softmax": lambda x, w: torch.softmax(x, -1),
           "layer_norm": lambda x, w: F.layer_norm(x, x.shape[-1:], w, w)}
    for rows, n in ((1024, 131072), (2048, 128256)):
        x = torch.randn(rows, n, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, device="cuda", dtype=torch.bfloat16)
        o = torch.empty_like(x)
        t_copy = bench(lambda: o.copy_(x))
        for name, fn in ops.items():
            ref = fn(x.double(), w.double())
            t_torch = bench(lambda: fn(x, w))
            print(f"{name} bf16 {rows}x{n}: copy {t_copy * 1e3:.1f} us, torch {t_torch * 1e3:.1f} us", flush=True)
            for per_sm, chunk, warps in CONFIGS:
                blocks.WALK.update(per_sm=per_sm, chunk_bytes=chunk, num_warps=warps)
                S._plans.clear()
                with triforge.use():
                    err = (fn(x, w).double() - ref).abs().max().item()
                    t = bench(lambda: fn(x, w))
                print(f"  {per_sm}/SM chunk {chunk} w{warps}: {t * 1e3:.1f} us {100 * t_copy / t:.1f}% of copy, "
                      f"{t_torch / t:.3f}x torch, err {err:.1e}", flush=True)


if __name__ == "__main__":
    main()
