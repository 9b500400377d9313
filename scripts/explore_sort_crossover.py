"""Exploration (GPU): where sort.py's one-program-a-row network stops beating torch.sort
-- full sorts over row length, row count and dtype, the network (rank.py off) and rank.py
(forced on, where its row limit allows) each checked against torch's stable sort and
timed against torch in the same run.
    python scripts/explore_sort_crossover.py > sort-crossover.txt
"""
import torch
import triton.testing

import triforge
from triforge.ops.sort import rank
from triforge.runtime import fastpath

NS = (256, 512, 1024, 2048, 4096)
ROWS = (64, 1024, 16384)
DTYPES = (torch.bfloat16, torch.float32, torch.int32)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=5, rep=30, return_mode="median")


def main():
    saved = rank.MAX_WORK, rank.MIN_N
    for dtype in DTYPES:
        for n in NS:
            for rows in ROWS:
                x = (torch.randn(rows, n, device="cuda") * 1000).to(dtype)
                rv, ri = torch.sort(x, dim=-1, stable=True)
                t0 = bench(lambda: torch.sort(x, dim=-1))
                line = f"{str(dtype):15s} n={n:5d} rows={rows:6d} torch {t0 * 1e3:8.1f} us"
                for name, work in (("network", 0), ("rank", 1 << 40)):
                    if name == "rank" and (n > rank.MAX_N or rows * n * n > 1 << 31):
                        continue
                    rank.MAX_WORK, rank.MIN_N = work, 0
                    fastpath.module().clear_recipes()
                    with triforge.use():
                        v, i = torch.sort(x, dim=-1, stable=True)
                        ok = torch.equal(v, rv) and torch.equal(i, ri)
                        t = bench(lambda: torch.sort(x, dim=-1))
                    line += f" | {name} {t * 1e3:8.1f} us {t0 / t:5.2f}x{'' if ok else ' WRONG'}"
                print(line, flush=True)
    rank.MAX_WORK, rank.MIN_N = saved
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()
