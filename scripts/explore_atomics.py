"""Exploration (GPU): why scatter_add / index_add run at 0.6-0.85x torch (scan_vs_torch.py
at 03b9080, 4096x4096). A bare atomic-add kernel in the two access patterns -- random
columns within each row (scatter_add dim 1) and whole rows to random rows (index_add
dim 0) -- over BLOCK and warps, float32 and bfloat16 destinations, against torch's op and
triforge's op in the same run; and which PTX atomic each compiles to (atom returns the
old value, red does not).
    python scripts/explore_atomics.py > atomics.txt
"""
import re

import torch
import triton
import triton.language as tl
import triton.testing

import triforge

N = 4096


@triton.jit
def _add_kernel(dst, idx, src, numel, COLS: tl.constexpr, ROWS_PATTERN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < numel
    r = offs // COLS
    c = offs % COLS
    x = tl.load(src + offs, mask=m)
    if ROWS_PATTERN:   # index_add dim 0: row r of src into row idx[r]
        v = tl.load(idx + r, mask=m, other=0)
        ptr = dst + v * COLS + c
    else:              # scatter_add dim 1: element (r, c) into (r, idx[r, c])
        v = tl.load(idx + offs, mask=m, other=0)
        ptr = dst + r * COLS + v
    tl.atomic_add(ptr, x.to(dst.dtype.element_ty), mask=m, sem="relaxed")


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50, return_mode="median")


def main():
    print(torch.cuda.get_device_name(), flush=True)
    idx2 = torch.randint(0, N, (N, N), device="cuda")
    ids = torch.randint(0, N, (N,), device="cuda")
    for dtype in (torch.float32, torch.bfloat16):
        y = torch.randn(N, N, device="cuda", dtype=dtype)
        dst = torch.zeros(N, N, device="cuda", dtype=dtype)
        for pattern, idx in (("scatter_add dim 1", idx2), ("index_add dim 0", ids)):
            rows = pattern.startswith("index")
            if rows:
                op = lambda: torch.zeros_like(y).index_add(0, ids, y)   # noqa: E731
                bare_t = lambda: dst.index_add_(0, ids, y)   # noqa: E731
            else:
                op = lambda: torch.zeros_like(y).scatter_add(1, idx2, y)   # noqa: E731
                bare_t = lambda: dst.scatter_add_(1, idx2, y)   # noqa: E731
            t_op = bench(op)
            t_bare = bench(bare_t)
            with triforge.use():
                t_tri = bench(op)
                t_tri_bare = bench(bare_t)
            print(f"{pattern} {dtype}: torch op {t_op * 1e3:.1f} us (in place {t_bare * 1e3:.1f}) | "
                  f"triforge op {t_tri * 1e3:.1f} us (in place {t_tri_bare * 1e3:.1f})", flush=True)
            line = "  bare kernel:"
            for block, warps in ((256, 4), (512, 4), (1024, 4), (1024, 8), (2048, 8), (4096, 8)):
                def run():
                    _add_kernel[(triton.cdiv(N * N, block),)](dst, idx, y, N * N, N, rows, block, num_warps=warps)
                run()
                t = bench(run)
                line += f" | {block}/{warps}w {t * 1e3:.1f}"
            print(line, flush=True)
            k = _add_kernel[(1,)](dst, idx, y, N * N, N, rows, 1024, num_warps=4)
            ptx = k.asm["ptx"]
            print("  ptx atomics:", sorted(set(re.findall(r"(?:red|atom)\.[\w.]+", ptx))), flush=True)


if __name__ == "__main__":
    main()
