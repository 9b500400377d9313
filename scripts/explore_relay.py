"""Exploration (GPU): softmax forward over long rows through the relay (ops/relay.py:
reduce a piece, write a piece D tickets behind, one launch) against the persistent walk
(blocks.walk_plan), torch in the same run. Sweeps the relay's piece size, lag and warps.
Needs TRIFORGE_FASTPATH=0 (the C++ entry would replay the first call's launches).
    TRIFORGE_FASTPATH=0 python scripts/explore_relay.py > relay.txt
"""
import torch

import triforge
from triforge.bench.timing import device_ms
from triforge.ops import relay
from triforge.ops import softmax as S
from triforge.runtime.arrivals import _arrivals


def bench(fn):
    return device_ms(fn, False, None)


CONFIGS = [   # (piece_bytes, lag_per_sm, num_warps, per_sm)
    (16384, 4, 8, 2), (16384, 4, 8, 4), (16384, 4, 16, 1), (16384, 4, 16, 2), (16384, 2, 8, 2), (16384, 8, 8, 2),
    (32768, 4, 16, 1), (32768, 2, 16, 2), (8192, 4, 8, 2), (8192, 8, 4, 4),
]


def main():
    print(torch.cuda.get_device_name(), flush=True)
    shapes = [(1024, 131072, torch.bfloat16), (2048, 128256, torch.bfloat16), (256, 524288, torch.bfloat16),
              (2048, 65536, torch.float32), (4096, 32768, torch.bfloat16)]
    for rows, n, dtype in shapes:
        x = torch.randn(rows, n, device="cuda", dtype=dtype)
        o = torch.empty_like(x)
        t_copy = bench(lambda: o.copy_(x))
        ceil_ms = t_copy
        ref = torch.softmax(x.double(), -1)
        t_torch = bench(lambda: torch.softmax(x, -1))
        print(f"softmax {str(dtype)[6:]} {rows}x{n}: copy {t_copy * 1e3:.1f} us, torch {t_torch * 1e3:.1f} us",
              flush=True)
        variants = [("walk", None)] + [(f"relay piece {c[0]} lag {c[1]}/SM w{c[2]} {c[3]}/SM", c) for c in CONFIGS]
        for label, cfg in variants:
            if cfg is None:
                relay.RELAY["enabled"] = False
            else:
                relay.RELAY.update(enabled=True, min_bytes=0, piece_bytes=cfg[0], lag_per_sm=cfg[1],
                                   num_warps=cfg[2], per_sm=cfg[3], max_pieces=1 << 20)
            S._plans.clear()
            with triforge.use():
                out = torch.softmax(x, -1)
                err = (out.double() - ref).abs().max().item()
                t = bench(lambda: torch.softmax(x, -1))
            zero = all(int(v.abs().sum()) == 0 for v in _arrivals.values())
            print(f"  {label}: {t * 1e3:.1f} us {100 * ceil_ms / t:.1f}% of copy, {t_torch / t:.3f}x torch, "
                  f"err {err:.1e}, counters zero {zero}", flush=True)


if __name__ == "__main__":
    main()
