"""Exploration (GPU; run by explore_radix_walk.py, not served): stable sort of long rows
as a least-significant-digit radix sort, one program per row. Correct on the H100 (every
case equal to torch's stable sort) but too slow to serve -- H100, radix-walk-at-eec3e88:
4096 x 128256 bf16 54.3 ms at best (G=64, one warp; torch 19.96), 16384 x 4096 bf16 4.49
ms (torch 1.36, sort.py's network 3.58), float32 4096 x 128256 127.5 ms (torch 43.4).
A pass over 4096 x 128256 took ~30 ms where its bytes take ~1.5: with 31 one-warp
programs an SM the SM is busy ~420 cycles per 32-element step (the G x G compare, the
256-bin histogram and the gather of run starts), and 64 rows alone ran a pass in ~3-4
ms, so it is instruction throughput, not latency. The counting kernel alone took 4.9
ms for 1 GB. This is the second radix sort explored (radix_sort_kernels.py, with
look-back between tiles of a row, 47-60 ms): Triton exposes no warp match or ballot,
and every stable in-tile ranking built from its ops costs tens of instructions an
element.

A row's key (keys.key: order-preserving, NaN largest, -0.0 as +0.0) is sorted 8 bits a
pass, lowest first: a 16-bit key in two passes, a 32-bit one in four. One kernel first
counts every pass's digits of every row (_count_kernel), so each pass knows where each
digit's run starts in its row. A pass then walks its row in order, a group of G elements
at a time: an element goes to the start of its digit's run plus the number of earlier
elements of the group with the same digit (a G x G compare), and the run starts move on
by the group's digit counts. Walking in order keeps the sort stable, which LSD needs, so
equal values keep index order, as torch's stable sort.

Between passes an element travels as one word: its key's digits not yet sorted above its
column, int32 where they fit in 31 bits (a bf16 row of 128256: 8 + 17), else int64. The
last pass writes the column as the index and re-reads the value by it (the exact input
bits: -0.0 and NaN payloads kept).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from triforge.backends import current as backend
from triforge.runtime import Launcher
from triforge.ops.sort.keys import key

_cfg = backend().table("sort")
_G = _cfg.get("radix_group", 32)
_WARPS = _cfg.get("radix_warps", 1)
_COUNT_BLOCK = 1024


@triton.jit
def _count_kernel(x_ptr, off_ptr, N, BITS: tl.constexpr, LARGEST: tl.constexpr, PASSES: tl.constexpr,
                  BLOCK: tl.constexpr):
    """off[row, p, d]: where digit d of pass p starts in the row (exclusive prefix counts)."""
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    shift = 8 * tl.arange(0, PASSES)[:, None]
    bins = 256 * tl.arange(0, PASSES)[:, None]
    hist = tl.zeros([PASSES * 256], tl.int32)
    for start in range(0, N, BLOCK):
        c = start + tl.arange(0, BLOCK)
        m = c < N
        k = key(tl.load(x_ptr + base + c, mask=m, other=0), BITS, LARGEST)
        d = ((k[None, :] >> shift) & 255).to(tl.int32) + bins
        hist += tl.histogram(tl.reshape(d, [PASSES * BLOCK]), PASSES * 256,
                             mask=tl.reshape(tl.broadcast_to(m[None, :], [PASSES, BLOCK]), [PASSES * BLOCK]))
    h = tl.reshape(hist, [PASSES, 256])
    start = tl.cumsum(h, 1) - h
    tl.store(off_ptr + row * (PASSES * 256) + tl.reshape(bins + tl.arange(0, 256)[None, :], [PASSES * 256]),
             tl.reshape(start, [PASSES * 256]))


@triton.jit
def _pass_kernel(x_ptr, src_ptr, dst_ptr, v_ptr, i_ptr, off_ptr, N, PASS: tl.constexpr, PASSES: tl.constexpr,
                 BITS: tl.constexpr, LARGEST: tl.constexpr, CB: tl.constexpr, G: tl.constexpr):
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    run = tl.load(off_ptr + (row * PASSES + PASS) * 256 + tl.arange(0, 256))
    g = tl.arange(0, G)
    earlier = g[None, :] < g[:, None]
    colmask: tl.constexpr = (1 << CB) - 1
    for start in range(0, N, G):
        c = start + g
        m = c < N
        if PASS == 0:
            k = key(tl.load(x_ptr + base + c, mask=m, other=0), BITS, LARGEST).to(tl.int64)
            d = (k & 255).to(tl.int32)
            col = c.to(tl.int64)
            rest = k >> 8
        else:
            w = tl.load(src_ptr + base + c, mask=m, other=0).to(tl.int64)
            d = ((w >> CB) & 255).to(tl.int32)
            col = w & colmask
            rest = w >> (CB + 8)
        same = (d[:, None] == d[None, :]) & earlier
        place = tl.gather(run, d, 0) + tl.sum(same.to(tl.int32), 1)
        if PASS == PASSES - 1:
            tl.store(i_ptr + base + place, col, mask=m)
            tl.store(v_ptr + base + place, tl.load(x_ptr + base + col, mask=m), mask=m)
        else:
            tl.store(dst_ptr + base + place, ((rest << CB) | col).to(dst_ptr.dtype.element_ty), mask=m)
        run += tl.histogram(d, 256, mask=m)


_count = Launcher(_count_kernel)
_pass = Launcher(_pass_kernel)


def radix_sort(x, rows, n, descending, vals, idx):
    """Stable sort of each of the `rows` rows of n elements of contiguous `x` (at most 32
    bits a value) into vals and idx (int64), contiguous as x."""
    if not (rows and n):
        return
    bits = 8 if x.dtype is torch.bool else x.element_size() * 8
    passes = bits // 8
    largest = not descending   # ascending digits: the first element has the smallest key
    cb = max(1, (n - 1).bit_length())
    off = torch.empty((rows, passes, 256), dtype=torch.int32, device=x.device)
    _count((rows,), x, off, n, bits, largest, passes, _COUNT_BLOCK, num_warps=4)
    src = x
    for p in range(passes):
        if p == passes - 1:
            dst = idx
        else:
            wide = bits - 8 * (p + 1) + cb > 31
            dst = torch.empty((rows, n), dtype=torch.int64 if wide else torch.int32, device=x.device)
        _pass((rows,), x, src, dst, vals, idx, off, n, p, passes, bits, largest, cb, _G, num_warps=_WARPS)
        src = dst
