"""Exploration (GPU): full sorts of few rows by counting places (ops/sort/rank.py)
against sort.py's one-program-per-row bitonic network and torch.sort, over rows, row
length and dtype; then 1-d unique. Each checked against torch's stable sort, timed in
the same run.
    python scripts/explore_rank_sort.py [--tiles | --wall] > rank-sort.txt
"""
import sys

import torch
import triton.testing

import triforge
from triforge.ops.sort import rank
from triforge.runtime import fastpath

from host_cost import per_call   # (scripts/ is on sys.path when run as a script)

SHAPES = [(1, 1024), (1, 2048), (1, 4096), (2, 4096), (1, 5792), (8, 2048), (32, 1024), (128, 512)]
DTYPES = (torch.bfloat16, torch.float32, torch.int64, torch.float64)
# (BLOCK_I, BLOCK_J, warps) tried on (1, 4096) and (8, 4096)
TILES = ((32, 256, 4), (64, 256, 4), (16, 512, 4), (32, 512, 8), (128, 128, 8))


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


def sort_case(shape, dtype):
    x = (torch.randn(shape, device="cuda") * 100).to(dtype)
    rv, ri = torch.sort(x, dim=-1, stable=True)
    t_torch = bench(lambda: torch.sort(x, dim=-1, stable=True))
    line = f"{str(shape):14s} {str(dtype):15s} torch {t_torch * 1e3:8.1f} us"
    for name, work in (("network", 0), ("rank", 1 << 40)):
        rank.MAX_WORK, rank.MIN_N = work, 0
        fastpath.module().clear_recipes()   # else the C++ entry repeats the last launches
        with triforge.use(), triforge.coverage() as cov:
            v, i = torch.sort(x, dim=-1, stable=True)
            if "sort.stable" not in cov.served():
                line += f" | {name}: aten"
                continue
            ok = torch.equal(i, ri) and torch.equal(v, rv)
            t = bench(lambda: torch.sort(x, dim=-1, stable=True))
        line += f" | {name} {t * 1e3:8.1f} us {t_torch / t:5.2f}x {'ok' if ok else 'WRONG'}"
    print(line, flush=True)


def tiles():
    rank.MAX_WORK, rank.MIN_N = 1 << 40, 0
    for shape in ((1, 4096), (8, 4096), (1, 16384)):
        x = torch.randn(shape, device="cuda")
        ri = torch.sort(x, dim=-1, stable=True)[1]
        line = f"tiles {str(shape):12s}"
        for bi, bj, w in TILES:
            rank._BLOCK_I, rank._BLOCK_J, rank._WARPS = bi, bj, w
            fastpath.module().clear_recipes()
            with triforge.use():
                ok = torch.equal(torch.sort(x, dim=-1, stable=True)[1], ri)
                t = bench(lambda: torch.sort(x, dim=-1, stable=True))
            line += f" | {bi}x{bj}/{w}w {t * 1e3:7.1f} us {'ok' if ok else 'WRONG'}"
        print(line, flush=True)
    rank._BLOCK_I, rank._BLOCK_J, rank._WARPS = TILES[0]


def wall_cases():
    """The chosen path (the table's policy) against torch, do_bench and wall clock (a loop
    of calls synchronized once: these calls are short enough that do_bench's per-call
    events also time the host)."""
    for shape, dtype in (((1, 2048), torch.float32), ((1, 4096), torch.float32), ((1, 4096), torch.bfloat16),
                         ((1, 4096), torch.int64), ((1, 4096), torch.float64), ((2, 4096), torch.float32),
                         ((8, 2048), torch.float32), ((32, 1024), torch.float32)):
        x = (torch.randn(shape, device="cuda") * 100).to(dtype)
        fn = lambda: torch.sort(x, dim=-1, stable=True)   # noqa: E731
        b0, w0 = bench(fn), per_call(fn, 300)
        with triforge.use(), triforge.coverage() as cov:
            fn()
            b1, w1 = bench(fn), per_call(fn, 300)
        path = "triforge" if "sort.stable" in cov.served() else "aten"
        print(f"wall sort {str(shape):10s} {str(dtype):15s} ({path}): do_bench torch {b0 * 1e3:6.1f} us, triforge "
              f"{b1 * 1e3:6.1f} us | wall torch {w0:6.1f} us, triforge {w1:6.1f} us ({w0 / w1:4.2f}x)",
              flush=True)
    for n in (4096, 16384):
        ids = torch.randint(0, 4096, (n,), device="cuda")
        fn = lambda: torch.unique(ids)   # noqa: E731
        b0, w0 = bench(fn), per_call(fn, 300)
        with triforge.use():
            b1, w1 = bench(fn), per_call(fn, 300)
        print(f"wall unique {n:6d} int64: do_bench torch {b0 * 1e3:6.1f} us, triforge {b1 * 1e3:6.1f} us | "
              f"wall torch {w0:6.1f} us, triforge {w1:6.1f} us ({w0 / w1:4.2f}x)", flush=True)


def unique_case(n):
    ids = torch.randint(0, 4096, (n,), device="cuda")
    want = torch.unique(ids, return_inverse=True, return_counts=True)
    t_torch = bench(lambda: torch.unique(ids))
    with triforge.use():
        got = torch.unique(ids, return_inverse=True, return_counts=True)
        ok = all(torch.equal(a, b) for a, b in zip(got, want))
        t = bench(lambda: torch.unique(ids))
    print(f"unique {n:6d} int64: torch {t_torch * 1e3:7.1f} us triforge {t * 1e3:7.1f} us "
          f"{t_torch / t:5.2f}x {'ok' if ok else 'WRONG'}", flush=True)


def main():
    print(torch.cuda.get_device_name(), flush=True)
    if "--wall" in sys.argv:
        wall_cases()
        return
    saved = rank.MAX_WORK, rank.MIN_N
    if "--tiles" in sys.argv:
        tiles()
    for shape in SHAPES:
        for dtype in DTYPES:
            sort_case(shape, dtype)
    rank.MAX_WORK, rank.MIN_N = saved
    for n in (4096, 16384):
        unique_case(n)


if __name__ == "__main__":
    main()
