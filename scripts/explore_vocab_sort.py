"""Exploration (GPU): the radix sort (ops/sort/radix_sort.py) against torch.sort, for
issue 7's 4096 x 128256 bf16 (>= 2x torch; ATen today: 18.2 ms on the H200) and other
long rows; checks exact agreement with torch's stable sort first (values' bits and
indices, both directions, NaN / +-0 / +-inf, ties), then sweeps the tile and warps.
The GPU tables leave the radix sort off (sort.RADIX_SORT) until this has run.
Predicted: ~28 bytes an element over both passes of a 16-bit sort, 14.7 GB at
4096 x 128256, ~3.6 ms at the copy rate; the tiles' tl.sort adds compute.
    python scripts/explore_vocab_sort.py > vocab_sort.txt
"""
import sys

import torch

from triforge.bench.timing import device_ms
from triforge.ops.sort import radix_sort as R


def run(x, descending):
    rows, n = x.shape
    vals = torch.empty_like(x)
    idx = torch.empty(x.shape, dtype=torch.int64, device=x.device)
    return R.radix_sort(x, rows, n, descending, vals, idx)


def check(x, descending):
    v, i = run(x, descending)
    rv, ri = torch.sort(x, dim=-1, stable=True, descending=descending)
    bits = {1: torch.int8, 2: torch.int16, 4: torch.int32}[x.element_size()]
    same = torch.equal(i, ri) and torch.equal(v.view(bits), rv.view(bits))
    print(f"  {str(x.dtype)[6:]} {tuple(x.shape)} tile {R.TILE} descending={descending}: "
          f"{'same as torch' if same else 'DIFFERS'}", flush=True)
    return same


def main():
    print(torch.cuda.get_device_name(), flush=True)
    torch.manual_seed(0)
    ok = True
    for dtype in (torch.bfloat16, torch.float16, torch.float32, torch.int32):
        for shape in ((8, 128256), (64, 50000), (3, 4097)):
            x = (torch.randn(shape, device="cuda") * 20).to(dtype)
            if dtype.is_floating_point:
                x[0, :7] = torch.tensor([float("nan"), -0.0, 0.0, float("inf"), -float("inf"), 1.0, 1.0])
                x[-1, -3:] = float("nan")
            for desc in (False, True):
                ok &= check(x, desc)
    for rows, n, dtype in ((4096, 128256, torch.bfloat16), (16384, 4096, torch.bfloat16),
                           (1024, 128256, torch.float32)):
        x = torch.randn(rows, n, device="cuda", dtype=dtype)
        t_torch = device_ms(lambda: torch.sort(x, -1), False, None)
        print(f"sort {rows}x{n} {str(dtype)[6:]}: torch {t_torch:.3f} ms", flush=True)
        for tile, warps in ((2048, 8), (1024, 4), (4096, 16), (2048, 4), (4096, 8), (1024, 8)):
            R.TILE, R.WARPS = tile, warps
            t = device_ms(lambda: run(x, False), False, None)
            print(f"  radix tile {tile} w{warps}: {t:.3f} ms, {t_torch / t:.2f}x torch", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
