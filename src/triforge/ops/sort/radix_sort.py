"""Full stable sort of long rows: a least-significant-digit radix sort over keys.key's
order-preserving keys, 8 bits a pass (one pass for 8-bit values, two for 16-bit, four
for 32-bit).

A pass is three launches over (row, tile of T) programs:
  hist    -- each tile's count of every digit, stored digit-major (row, digit, tile);
  scan    -- a row's exclusive prefix over (digit, tile): where each tile's elements of
             each digit start;
  scatter -- each tile sorts (digit, position) words with tl.sort, so an element's rank
             among its tile's equal digits is its sorted slot minus its digit's first slot
             (the tile histogram's exclusive prefix); it writes key and index at its
             row's offset plus that rank.
Equal digits keep tile order and position order, so every pass is stable and so is the
sort: torch's stable order (NaN largest, -0.0 equal to 0.0). The last pass writes the
values re-read by index (their exact bits) and int64 indices. Passes read and write
separate key/index buffers (a scatter lands in other tiles' places).

The counts and offsets are int32 (row, 256, tiles): 4096 x 128256 in tiles of 2048 is
264 MB each, written and read again every pass beside ~2.4 GB of keys, indices and
values -- the first thing to shrink (wider tiles, 16-bit counts) if it measures slow.
scripts/explore_vocab_sort.py times it against torch (issue 7: 4096 x 128256 bf16 >= 2x);
until a GPU run has, the backends' tables leave it off there (sort.RADIX_SORT).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, next_power_of_2
from .keys import key

_cfg = backend().table("sort")
TILE, WARPS = _cfg.get("radix_sort_tile", 2048), _cfg.get("radix_sort_warps", 8)
DTYPES = frozenset({torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.float16, torch.bfloat16,
                    torch.float32})


@triton.jit
def _keys(x_ptr, k_ptr, cols, m, BITS: tl.constexpr, FIRST: tl.constexpr, LARGEST: tl.constexpr):
    """The tile's uint32 keys: from the values on the first pass, else from the key buffer
    (16-bit keys stored offset into int16, 32-bit ones bitcast into int32)."""
    if FIRST:
        k = key(tl.load(x_ptr + cols, mask=m, other=0), BITS, LARGEST)
    elif BITS == 32:
        k = tl.load(k_ptr + cols, mask=m, other=0).to(tl.uint32, bitcast=True)
    else:
        k = (tl.load(k_ptr + cols, mask=m, other=0).to(tl.int32) + 32768).to(tl.uint32)
    return k


@triton.jit
def _hist_kernel(x_ptr, k_ptr, cnt_ptr, N, tiles, SHIFT: tl.constexpr, BITS: tl.constexpr, FIRST: tl.constexpr,
                 LARGEST: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1)
    cols = t * T + tl.arange(0, T)
    m = cols < N
    k = _keys(x_ptr + row * N, k_ptr + row * N, cols, m, BITS, FIRST, LARGEST)
    h = tl.histogram(((k >> SHIFT) & 255).to(tl.int32), 256, mask=m)
    tl.store(cnt_ptr + (row * 256 + tl.arange(0, 256)) * tiles + t, h)


@triton.jit
def _scan_kernel(cnt_ptr, off_ptr, tiles, TP: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    d = tl.arange(0, 256)
    t = tl.arange(0, TP)
    offs = (row * 256 + d[:, None]) * tiles + t[None, :]
    m = (t < tiles)[None, :] & (d < 256)[:, None]
    c = tl.load(cnt_ptr + offs, mask=m, other=0)
    per_digit = tl.sum(c, 1)
    base = tl.cumsum(per_digit, 0) - per_digit
    tl.store(off_ptr + offs, base[:, None] + tl.cumsum(c, 1) - c, mask=m)


@triton.jit
def _scatter_kernel(x_ptr, k_ptr, i_ptr, off_ptr, ko_ptr, io_ptr, N, tiles, SHIFT: tl.constexpr,
                    BITS: tl.constexpr, FIRST: tl.constexpr, LAST: tl.constexpr, LARGEST: tl.constexpr,
                    T: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1)
    pos = tl.arange(0, T)
    cols = t * T + pos
    m = cols < N
    base = row * N
    k = _keys(x_ptr + base, k_ptr + base, cols, m, BITS, FIRST, LARGEST)
    if FIRST:
        idx = cols
    else:
        idx = tl.load(i_ptr + base + cols, mask=m, other=0)
    d = ((k >> SHIFT) & 255).to(tl.int32)
    h = tl.histogram(d, 256, mask=m)
    first = tl.cumsum(h, 0) - h   # each digit's first slot in the sorted tile
    # (digit, position) words; lanes past the row sort last, as digit 511
    s = tl.sort((tl.where(m, d, 511).to(tl.uint32) << 16) | pos.to(tl.uint32))
    sd = (s >> 16).to(tl.int32)
    sp = (s & 0xFFFF).to(tl.int32)
    ok = sd < 256
    sd = tl.where(ok, sd, 0)
    dest = base + tl.load(off_ptr + (row * 256 + sd) * tiles + t, mask=ok, other=0) + pos - tl.gather(first, sd, 0)
    src = tl.gather(idx, sp, 0)
    if LAST:
        tl.store(ko_ptr + dest, tl.load(x_ptr + base + src, mask=ok, other=0), mask=ok)
        tl.store(io_ptr + dest, src.to(tl.int64), mask=ok)
    else:
        ks = tl.gather(k, sp, 0)
        if BITS == 32:
            tl.store(ko_ptr + dest, ks.to(tl.int32, bitcast=True), mask=ok)
        else:
            tl.store(ko_ptr + dest, (ks.to(tl.int32) - 32768).to(tl.int16), mask=ok)
        tl.store(io_ptr + dest, src, mask=ok)


_hist = Launcher(_hist_kernel)
_scan = Launcher(_scan_kernel)
_scatter = Launcher(_scatter_kernel)


def ok(dtype, n: int) -> bool:
    """Whether rows of n values of dtype can take the radix sort (int32 indices and
    offsets; tile positions in 16 bits)."""
    return dtype in DTYPES and 1 < n < 2**31 and TILE <= 1 << 16


def radix_sort(x, rows: int, n: int, descending: bool, vals, idx):
    """Stable sort of the rows of contiguous (rows, n) x into vals and idx (int64)."""
    bits = 8 if x.dtype is torch.bool else x.element_size() * 8
    tiles = cdiv(n, TILE)
    cnt = torch.empty((rows, 256, tiles), dtype=torch.int32, device=x.device)
    off = torch.empty_like(cnt)
    passes = bits // 8
    kdt = torch.int32 if bits == 32 else torch.int16
    bufs = [(torch.empty((rows, n), dtype=kdt, device=x.device), torch.empty((rows, n), dtype=torch.int32,
                                                                            device=x.device))
            for _ in range(min(passes - 1, 2))]
    largest = not descending   # keys ascending: the larger value's key first when descending
    grid = (rows, tiles)
    src = (x, x)
    for p in range(passes):
        first, last = p == 0, p == passes - 1
        dst = (vals, idx) if last else bufs[p % 2]
        _hist(grid, x, src[0], cnt, n, tiles, 8 * p, bits, first, largest, TILE, num_warps=WARPS)
        _scan((rows,), cnt, off, tiles, next_power_of_2(tiles), num_warps=WARPS)
        _scatter(grid, x, src[0], src[1], off, dst[0], dst[1], n, tiles, 8 * p, bits, first, last, largest, TILE,
                 num_warps=WARPS)
        src = dst
    return vals, idx
