"""Exploration (GPU): float64 reductions that scan_vs_torch.py --dtype float64 found slow
at 03b9080 (aminmax dim=-1 0.33x torch, vector_norm inf 0.78x, max.dim 0.94x), over the
engine's row block (max_block_r) and row warps, against torch in the same run. Each
checked against torch.
    python scripts/explore_fp64_reduce.py > fp64-reduce.txt
("WRONG" on sums: a float sum's order differs from torch's; the check is bitwise.)
"""
import torch
import triton.testing

import triforge
from triforge.runtime import fastpath
from triforge.ops.reduction import engine as E


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


CASES = [
    ("aminmax dim=-1", lambda x: torch.aminmax(x, dim=-1)),
    ("amax dim=-1", lambda x: x.amax(-1)),
    ("sum dim=-1", lambda x: x.sum(-1)),
    ("max.dim -1", lambda x: x.max(-1)),
    ("norm inf all", lambda x: torch.linalg.vector_norm(x, float("inf"))),
    ("aminmax all", lambda x: torch.aminmax(x)),
]


CONFIGS = ((4096, 8), (2048, 8), (1024, 8), (512, 8), (4096, 16), (2048, 16), (1024, 4), (512, 4))


def same(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return all(same(p, q) for p, q in zip(a, b))


def main():
    print(torch.cuda.get_device_name(), flush=True)
    saved = E.MAX_BLOCK_R, E.ROW_WARPS
    for dtype in (torch.float64, torch.float32):
        x = torch.randn(4096, 4096, device="cuda", dtype=dtype)
        for name, fn in CASES:
            want = fn(x)
            t0 = bench(lambda: fn(x))
            line = f"{name:16s} {str(dtype):14s} torch {t0 * 1e3:7.1f} us"
            for block, warps in CONFIGS:
                E.MAX_BLOCK_R, E.ROW_WARPS = block, warps
                E._plans.clear()
                fastpath.module().clear_recipes()   # else the C++ entry repeats the last launches
                with triforge.use():
                    ok = same(fn(x), want)
                    t = bench(lambda: fn(x))
                line += f" | {block}/{warps}w {t * 1e3:7.1f} {t0 / t:5.2f}x{'' if ok else ' WRONG'}"
            print(line, flush=True)
    E.MAX_BLOCK_R, E.ROW_WARPS = saved
    E._plans.clear()


if __name__ == "__main__":
    main()
