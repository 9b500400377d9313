"""Stable sort of few rows by counting: an element's place in its row is the number of
elements that go before it (a better key, or an equal key at a lower index), so it is
written straight to out[place]. n^2 compares per row, but spread over n / BLOCK_I
programs per row, where sort.py's bitonic network sorts a row in one program on one SM
-- a 4096-long row took one program ~100 us however idle the rest of the GPU was, and a
1-d unique of 4096 int64 ran two such sorts (0.28-0.40x torch, scan_vs_torch.py at
03b9080). Keys are compared at their own width, so float64 and int64 sort here too
(their values do not fit sort.py's 32-bit packed words).

Order: floats with -0.0 equal to 0.0 and every NaN equal and above +inf (torch's), the
exact input bits written back (the value is re-read by index).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64
from .keys import key, key64

_cfg = backend().table("sort")
# rows * n^2 compares at most, rows no longer than MAX_N; values of at most 32 bits only
# in rows of at least MIN_N (shorter ones sort fast in sort.py's one program a row).
# H100, explore_rank_sort.py (16x512 tiles; the commit adding this file), us, torch / network /
# rank: one row of 4096 float32 33.8 / 138.8 / 14.8, bf16 26.3 / 36.1 / 13.4, int64
# 45.9 / - / 17.9; 2 rows of 4096 float32 33.5 / 138.8 / 20.8; 8 rows of 2048 float32
# 30.7 / 74.9 / 20.1; 32 rows of 1024 float32 30.5 / 10.6 / 20.3, bf16 24.8 / 8.2 / 20.8;
# one row of 16384 (2^28 compares) 39-101 / - / 123-265: past ~2^25 torch's radix sort wins.
MAX_WORK = _cfg.get("rank_max_work", 1 << 25)
MAX_N = _cfg.get("rank_max_n", 8192)
MIN_N = _cfg.get("rank_min_n", 2048)
# (1, 4096) / (8, 4096) / (1, 16384) float32, us: 16x512 4 warps 13.5 / 63 / 123,
# 32x256 4 warps 34.5 / 97 / 195, 64x256 4 warps 29.8 / 74 / 143, 32x512 8 warps
# 23.9 / 110 / 206: many short programs of long strips
_BLOCK_I, _BLOCK_J, _WARPS = 16, 512, 4


@triton.jit
def _key(v, BITS: tl.constexpr):
    """An order-preserving key, larger for a larger value: uint32 up to 32 bits, int64
    for 64-bit values (keys.py)."""
    if BITS == 64:
        k = key64(v)
    else:
        k = key(v, BITS, True)
    return k


@triton.jit
def _rank_kernel(x_ptr, v_ptr, i_ptr, N, DESC: tl.constexpr, BITS: tl.constexpr, WRITE_VALS: tl.constexpr,
                 BLOCK_I: tl.constexpr, BLOCK_J: tl.constexpr, INT64: tl.constexpr):
    row = tl.program_id(1)
    if INT64:
        base = row.to(tl.int64) * N
    else:
        base = row * N
    i = tl.program_id(0) * BLOCK_I + tl.arange(0, BLOCK_I)
    mi = i < N
    xi = tl.load(x_ptr + base + i, mask=mi, other=0)
    ki = _key(xi, BITS)[:, None]
    place = tl.zeros([BLOCK_I], tl.int32)
    for j0 in range(0, N, BLOCK_J):
        j = j0 + tl.arange(0, BLOCK_J)
        kj = _key(tl.load(x_ptr + base + j, mask=j < N, other=0), BITS)[None, :]
        if DESC:
            better = kj > ki
        else:
            better = kj < ki
        before = (better | ((kj == ki) & (j[None, :] < i[:, None]))) & (j < N)[None, :]
        place += tl.sum(before.to(tl.int32), 1)
    out = base + place
    tl.store(i_ptr + out, i.to(tl.int64), mask=mi)
    if WRITE_VALS:
        tl.store(v_ptr + out, xi, mask=mi)


_launch = Launcher(_rank_kernel)


def chosen(dtype, rows: int, n: int) -> bool:
    """Whether a full sort of (rows, n) values of `dtype` runs here."""
    fits = 1 < n <= MAX_N and rows <= 65535 and rows * n * n <= MAX_WORK
    return fits and (dtype.itemsize == 8 or n >= MIN_N)


def rank_sort(x, rows, n, descending, vals=None, idx=None):
    """Stable sort of each of the `rows` rows of n elements of contiguous `x` into vals
    (None: indices only) and idx (int64), both contiguous as x; returns idx."""
    if idx is None:
        idx = torch.empty(x.shape, dtype=torch.int64, device=x.device)
    if rows and n:
        bits = 8 if x.dtype is torch.bool else x.element_size() * 8
        _launch((cdiv(n, _BLOCK_I), rows), x, idx if vals is None else vals, idx, n, bool(descending), bits,
                vals is not None, _BLOCK_I, _BLOCK_J, needs_int64(x, idx), num_warps=_WARPS)
    return idx
