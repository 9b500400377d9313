"""Exploration (GPU): the single-block sort (ops/sort/sort.py: one row per program, a
bitonic tl.sort of packed words) over num_warps, which the table fixes at 8 unswept.
Fewer warps keep more of the network's stages inside a thread or a warp (shuffles, not
shared memory). Each checked against torch's stable sort, timed against torch.sort in
the same run.
    python scripts/explore_sort_warps.py > sort-warps.txt
"""
import torch
import triton.testing

import triforge
from triforge.ops.sort import sort as S

CASES = [((16384, 4096), torch.bfloat16), ((65536, 1024), torch.bfloat16), ((262144, 256), torch.bfloat16),
         ((16384, 4096), torch.float32), ((65536, 1024), torch.float32)]
# at d3394a1 the float32 case compiled for over two minutes at 1 or 2 warps (64-bit words)
WARPS = (4, 8, 16, 32)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=60, return_mode="median")


def main():
    for shape, dtype in CASES:
        x = torch.randn(shape, device="cuda").to(dtype)
        rv, ri = torch.sort(x, dim=-1, stable=True)
        t_torch = bench(lambda: torch.sort(x, dim=-1))
        print(f"{tuple(shape)} {dtype}: torch {t_torch:.3f} ms", flush=True)
        for w in WARPS:
            S._WARPS = w
            try:
                with triforge.use():
                    v, i = torch.sort(x, dim=-1, stable=True)
                    ok = torch.equal(i, ri) and torch.equal(v, rv)
                    t = bench(lambda: torch.sort(x, dim=-1))
            except Exception as e:  # noqa: BLE001 -- resources
                print(f"  warps {w}: {type(e).__name__}: {str(e)[:120]}", flush=True)
                continue
            print(f"  warps {w}: {t:.3f} ms {t_torch / t:.3f}x torch {'ok' if ok else 'WRONG'}", flush=True)
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()
