"""Exploration (GPU): the rows kernel's tile (gather.py's ROWS_TILE elements a program,
ROWS_WARPS) for embedding in bf16 / float32 / float64, timed against torch's embedding
in the same run, each result checked against torch's.
    python scripts/explore_rows_tile.py > rows-tile.txt
"""
import torch
import torch.nn.functional as F
import triton.testing

import triforge
from triforge.ops.index import gather
from triforge.runtime import fastpath

TILES = [(2048, 4), (512, 4), (1024, 4), (4096, 4), (4096, 8), (8192, 8)]


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


def main():
    for dtype, rows in ((torch.bfloat16, 128256), (torch.float32, 128256), (torch.float64, 32768)):
        w = torch.randn(rows, 4096, device="cuda", dtype=dtype)
        ids = torch.randint(0, rows, (16384,), device="cuda")
        ref = F.embedding(ids, w)
        t0 = bench(lambda: F.embedding(ids, w))
        line = f"{str(dtype):15s} torch {t0 * 1e3:7.1f} us"
        for tile, warps in TILES:
            gather.ROWS_TILE, gather.ROWS_WARPS = tile, warps
            fastpath.module().clear_recipes()
            with triforge.use():
                ok = torch.equal(F.embedding(ids, w), ref)
                t = bench(lambda: F.embedding(ids, w))
            line += f" | {tile}/{warps}w {t * 1e3:7.1f} us {t0 / t:5.3f}x{'' if ok else ' WRONG'}"
        print(line, flush=True)
        w = ids = ref = None
        torch.cuda.empty_cache()
    print(torch.cuda.get_device_name(), flush=True)


if __name__ == "__main__":
    main()
