"""Sweep (GPU): where the long-row walk (ops/blocks.py walk_plan) beats one program a
row, for softmax / log_softmax forward and layer / rms norm forward, bf16 and float32,
rows of N at ~256 MB. triforge with the walk forced on and off, torch in the same run.
Needs TRIFORGE_FASTPATH=0 (the C++ entry would replay the first call's launches).
    TRIFORGE_FASTPATH=0 python scripts/sweep_walk.py [N,N,... [bwd]] > walk.txt
(bwd: the backward ops only)
"""
import sys

import torch
import torch.nn.functional as F

import triforge
from triforge.bench.timing import device_ms
from triforge.ops import softmax as S
from triforge.ops.norm import walk


def bench(fn):
    return device_ms(fn, False, None)   # the bench's own timing


def main():
    print(torch.cuda.get_device_name(), flush=True)
    y = torch.empty(128 << 20, device="cuda", dtype=torch.bfloat16)
    x0 = torch.randn(128 << 20, device="cuda", dtype=torch.bfloat16)
    t_copy = bench(lambda: y.copy_(x0))
    ceiling = 2 * x0.numel() * 2 / t_copy / 1e6
    print(f"copy 256 MB: {t_copy * 1e3:.1f} us, {ceiling:.0f} GB/s", flush=True)
    bwd = torch.ops.aten._softmax_backward_data
    lbwd = torch.ops.aten._log_softmax_backward_data
    ops = {   # (x, w, y): y a softmax output the backward ops take, x their gradient
        "softmax": lambda x, w, y: torch.softmax(x, -1),
        "log_softmax": lambda x, w, y: torch.log_softmax(x, -1),
        "layer_norm": lambda x, w, y: F.layer_norm(x, x.shape[-1:], w, w),
        "rms_norm": lambda x, w, y: F.rms_norm(x, x.shape[-1:], w, 1e-6),
        "softmax_bwd": lambda x, w, y: bwd(x, y, -1, x.dtype),
        "log_softmax_bwd": lambda x, w, y: lbwd(x, y.log(), -1, x.dtype),
    }
    for dtype in (torch.bfloat16, torch.float32):
        ns = (24576, 32768, 65536, 128256, 131072, 262144)
        for n in map(int, sys.argv[1].split(",")) if len(sys.argv) > 1 else ns:
            rows = (256 << 20) // (n * 2)
            x = torch.randn(rows, n, device="cuda", dtype=dtype)
            w = torch.randn(n, device="cuda", dtype=dtype)
            y = torch.softmax(torch.randn_like(x), -1)
            moved = 2 * x.numel() * x.element_size()
            for name, fn in ops.items():
                if "bwd" not in name and len(sys.argv) > 2:
                    continue
                ref = fn(x.double(), w.double(), y.double()).float()
                t_torch = bench(lambda: fn(x, w, y))
                line = f"{name} {str(dtype)[6:]} {rows}x{n}: torch {t_torch * 1e3:.1f} us"
                for label, m in (("rows", 1 << 40), ("walk", 1)):
                    S._WALK_MIN_BYTES, walk.MIN_BYTES = m, m
                    S._plans.clear()
                    with triforge.use():
                        out = fn(x, w, y)
                        err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
                        t = bench(lambda: fn(x, w, y))
                    pct = 100 * moved * (1.5 if "bwd" in name else 1) / t / 1e6 / ceiling
                    ok = "" if err < 2e-2 else f" WRONG {err:.3g}"
                    line += f" | {label} {t * 1e3:.1f} us {pct:.1f}% {t_torch / t:.3f}x{ok}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
