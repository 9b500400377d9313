"""Exploration (GPU; correctness also under the interpreter): a stable sort of long
16-bit rows (issue 7: 4096 x 128256 bf16 >= 2x torch, which falls back to ATen today) as
a least-significant-digit radix sort, two passes of 8 bits over keys.key's 16-bit key.

A pass is three launches over (row, tile of T) programs:
  hist    -- each tile's count of every digit, stored digit-major (row, digit, tile);
  scan    -- a row's exclusive prefix over (digit, tile): where each tile's elements of
             each digit go;
  scatter -- each tile sorts (digit, position) words with tl.sort, so an element's rank
             among its tile's equal digits is its sorted slot minus its digit's first slot
             (the tile histogram's exclusive prefix); it writes key and index to its row's
             offset plus that rank.
Equal digits keep tile order and position order, so every pass is stable, and so the
sort: torch's stable order (NaN last ascending, -0.0 and 0.0 as equal). The last pass
writes values re-read by index (their exact bits) and int64 indices.
Traffic a pass per element: the key read twice and written once with a 4-byte index
(values and 8-byte indices in the last): ~28 bytes an element for both passes, 14.7 GB
at 4096 x 128256, ~3.6 ms at the H200's copy rate, against torch's 18.2 ms.
    python scripts/explore_vocab_sort.py            # GPU: check, then time against torch
    TRITON_INTERPRET=1 python scripts/explore_vocab_sort.py   # tiny rows, check only
"""
import os
import sys

import torch
import triton
import triton.language as tl

from triforge.ops.sort.keys import key

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _tile_keys(x_ptr, k_ptr, row, cols, m, FIRST: tl.constexpr, LARGEST: tl.constexpr):
    if FIRST:
        return key(tl.load(x_ptr + row * 0 + cols, mask=m, other=0), 16, LARGEST)
    return (tl.load(k_ptr + cols, mask=m, other=0).to(tl.int32) + 32768).to(tl.uint32)


@triton.jit
def hist_kernel(x_ptr, k_ptr, cnt_ptr, N, tiles, SHIFT: tl.constexpr, FIRST: tl.constexpr,
                LARGEST: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1)
    local = t * T + tl.arange(0, T)
    m = local < N
    k = _tile_keys(x_ptr + row * N, k_ptr + row * N, row, local, m, FIRST, LARGEST)
    h = tl.histogram(((k >> SHIFT) & 255).to(tl.int32), 256, mask=m)
    tl.store(cnt_ptr + (row * 256 + tl.arange(0, 256)) * tiles + t, h)


@triton.jit
def scan_kernel(cnt_ptr, off_ptr, tiles, TP: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    d = tl.arange(0, 256)
    t = tl.arange(0, TP)
    p = cnt_ptr + (row * 256 + d[:, None]) * tiles + t[None, :]
    m = (t < tiles)[None, :] & (d < 256)[:, None]
    c = tl.load(p, mask=m, other=0)
    per_digit = tl.sum(c, 1)
    base = tl.cumsum(per_digit, 0) - per_digit
    within = tl.cumsum(c, 1) - c
    tl.store(off_ptr + (row * 256 + d[:, None]) * tiles + t[None, :], base[:, None] + within, mask=m)


@triton.jit
def scatter_kernel(x_ptr, k_ptr, i_ptr, off_ptr, ko_ptr, io_ptr, N, tiles, SHIFT: tl.constexpr,
                   FIRST: tl.constexpr, LAST: tl.constexpr, LARGEST: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1)
    pos = tl.arange(0, T)
    local = t * T + pos
    m = local < N
    k = _tile_keys(x_ptr + row * N, k_ptr + row * N, row, local, m, FIRST, LARGEST)
    if FIRST:
        idx = local
    else:
        idx = tl.load(i_ptr + row * N + local, mask=m, other=0)
    d = ((k >> SHIFT) & 255).to(tl.int32)
    h = tl.histogram(d, 256, mask=m)
    first = tl.cumsum(h, 0) - h                       # a digit's first slot in the sorted tile
    word = (tl.where(m, d, 511).to(tl.uint32) << 16) | pos.to(tl.uint32)
    s = tl.sort(word)
    sd = (s >> 16).to(tl.int32)
    sp = (s & 0xFFFF).to(tl.int32)
    ok = sd < 256
    sdc = tl.where(ok, sd, 0)
    rank = pos - tl.gather(first, sdc, 0)
    dest = tl.load(off_ptr + (row * 256 + sdc) * tiles + t, mask=ok, other=0) + rank
    ks = tl.gather(k, sp, 0)
    iS = tl.gather(idx, sp, 0)
    if LAST:
        v = tl.load(x_ptr + row * N + iS, mask=ok, other=0)
        tl.store(ko_ptr + row * N + dest, v, mask=ok)
        tl.store(io_ptr + row * N + dest, iS.to(tl.int64), mask=ok)
    else:
        tl.store(ko_ptr + row * N + dest, (ks.to(tl.int32) - 32768).to(tl.int16), mask=ok)
        tl.store(io_ptr + row * N + dest, iS, mask=ok)


def radix_sort(x, descending=False, T=2048, warps=8):
    rows, n = x.shape
    tiles = triton.cdiv(n, T)
    tp = triton.next_power_of_2(tiles)
    cnt = torch.empty((rows, 256, tiles), dtype=torch.int32, device=x.device)
    off = torch.empty_like(cnt)
    k1 = torch.empty((rows, n), dtype=torch.int16, device=x.device)
    i1 = torch.empty((rows, n), dtype=torch.int32, device=x.device)
    vals = torch.empty_like(x)
    idx = torch.empty((rows, n), dtype=torch.int64, device=x.device)
    largest = not descending
    grid = (rows, tiles)
    hist_kernel[grid](x, k1, cnt, n, tiles, 0, True, largest, T, num_warps=warps)
    scan_kernel[(rows,)](cnt, off, tiles, tp, num_warps=warps)
    scatter_kernel[grid](x, k1, i1, off, k1, i1, n, tiles, 0, True, False, largest, T, num_warps=warps)
    hist_kernel[grid](x, k1, cnt, n, tiles, 8, False, largest, T, num_warps=warps)
    scan_kernel[(rows,)](cnt, off, tiles, tp, num_warps=warps)
    scatter_kernel[grid](x, k1, i1, off, vals, idx, n, tiles, 8, False, True, largest, T, num_warps=warps)
    return vals, idx


def check(x, T, descending):
    v, i = radix_sort(x, descending, T)
    rv, ri = torch.sort(x, dim=-1, stable=True, descending=descending)
    same = torch.equal(i, ri) and torch.equal(v.view(torch.int16), rv.view(torch.int16))
    print(f"  {tuple(x.shape)} T={T} descending={descending}: "
          f"{'same as torch' if same else 'DIFFERS'}", flush=True)
    return same


def main():
    dev = "cpu" if INTERPRET else "cuda"
    torch.manual_seed(0)
    shapes = [(3, 300), (2, 64), (1, 1000)] if INTERPRET else [(8, 128256), (64, 50000), (4096, 128256)]
    Ts = (64,) if INTERPRET else (2048,)
    ok = True
    for dtype in (torch.bfloat16, torch.float16):
        for shape in shapes:
            x = torch.randn(shape, device=dev).to(dtype)
            x[0, :7] = torch.tensor([float("nan"), -0.0, 0.0, float("inf"), -float("inf"), 1.0, 1.0])
            x[-1, -3:] = float("nan")
            for T in Ts:
                for desc in (False, True):
                    ok &= check(x, T, desc)
    if INTERPRET:
        sys.exit(0 if ok else 1)
    from triforge.bench.timing import device_ms
    x = torch.randn(4096, 128256, device="cuda", dtype=torch.bfloat16)
    t_torch = device_ms(lambda: torch.sort(x, -1), False, None)
    print(f"sort 4096x128256 bf16: torch {t_torch:.3f} ms", flush=True)
    for T, w in ((2048, 8), (1024, 4), (4096, 16), (2048, 4), (4096, 8)):
        t = device_ms(lambda: radix_sort(x, False, T, w), False, None)
        print(f"  radix T={T} w{w}: {t:.3f} ms, {t_torch / t:.2f}x torch", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
