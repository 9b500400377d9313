"""kthvalue and median by a radix select on one row held in registers.

One program per row loads it once as order-preserving keys (keys.py: NaN the largest,
-0.0 as +0.0) and resolves the k-th smallest key 8 bits at a time from the top: a
histogram of the digit over the elements whose higher digits match the prefix so far,
whose running sum names the digit holding the k-th; 1 pass for 8-bit dtypes, 2 for
16-bit, 4 for 32-bit. The index is the first occurrence (lowest index along the dim) of
that key, which torch leaves unspecified ("not necessarily the first occurrence"); the
value is re-read there, so -0.0 and NaN payloads are the input's bits.

NaN orders above +inf, as in torch's kthvalue. median propagates NaN as torch does: a
row holding NaN gives NaN at its first NaN -- with NaN the largest key, that is the
(n - NaNs + 1)-th smallest key, so the kernel only changes k. Otherwise the lower median.
Rows longer than the backend's select_max go to ATen, as do 64-bit dtypes (32-bit keys)
and bool (torch has no bool kernel for either op: ATen raises its error).

H100, median of 4096 x 4096 (torch bf16 357 us, fp32 363): the full stable row sort this
replaced 976 us in bf16; this 128 us bf16, 273 fp32. Rows of 37 (65536 of them, fp32):
0.85x torch, one row per program leaving most of a warp idle.
"""
from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, next_power_of_2
from .keys import key
from .sort import _DTYPES, _dim_ok, _rows_of

_SEL_DTYPES = _DTYPES - {torch.bool}


@triton.jit
def _kth_kernel(x_ptr, v_ptr, i_ptr, N, K, NAN: tl.constexpr, BITS: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    cols = tl.arange(0, BLOCK)
    m = cols < N
    k = key(tl.load(x_ptr + base + cols, mask=m, other=0), BITS, True)
    want = K
    if NAN:   # median: a NaN anywhere makes the answer the first NaN, the largest key
        nans = tl.sum((m & (k == (1 << BITS) - 1)).to(tl.int32))
        want = tl.where(nans > 0, N - nans + 1, K)
    prefix = tl.zeros((), tl.uint32)
    for p in tl.static_range(BITS // 8):
        lo = BITS - 8 * (p + 1)
        sel = m
        if p > 0:   # (a shift by the full 32 bits is undefined: the first digit has no prefix)
            sel = m & ((k >> (lo + 8)) == prefix)
        hist = tl.histogram(((k >> lo) & 0xFF).to(tl.int32), 256, mask=sel)
        below = tl.cumsum(hist, 0) < want   # the bins wholly before the want-th key
        d = tl.sum(below.to(tl.int32))
        want -= tl.sum(tl.where(below, hist, 0))
        prefix = (prefix << 8) | d.to(tl.uint32)
    idx = tl.min(tl.where(m & (k == prefix), cols, BLOCK)).to(tl.int64)
    tl.store(v_ptr + row, tl.load(x_ptr + base + idx))
    tl.store(i_ptr + row, idx)


_kth = Launcher(_kth_kernel)
_cfg = backend().table("sort")
_MAX = _cfg.get("select_max", 16384)
# warps by (key bits, block): the entries of the narrowest listed bits holding the dtype's,
# of those the largest block at or below the row's (a 16384 block spills on few warps)
_WARPS = _cfg.get("select_warps", {(32, 1): 4, (32, 4096): 8, (32, 16384): 16})


@functools.cache
def _warps(bits: int, block: int) -> int:
    w = min(b for b, _ in _WARPS if b >= bits)
    return _WARPS[(w, max(b for k, b in _WARPS if k == w and b <= block))]


def _n(self, dim):
    return 1 if self.dim() == 0 else self.shape[dim]


def _rows_ok(self, dim):
    return (self.dtype in _SEL_DTYPES and self.layout is torch.strided and _dim_ok(self, dim)
            and 0 < _n(self, dim) <= _MAX)


def _select(self, dim, keepdim, k, median):
    x, rows, n = _rows_of(self, dim)
    vals = torch.empty(x.shape[:-1], dtype=x.dtype, device=x.device)
    idx = torch.empty(vals.shape, dtype=torch.int64, device=x.device)
    if rows:
        bits, block = x.element_size() * 8, next_power_of_2(n)
        _kth((rows,), x, vals, idx, n, k, median and x.is_floating_point(), bits, block,
             num_warps=_warps(bits, block))
    if keepdim and self.dim():
        vals, idx = vals.unsqueeze(dim), idx.unsqueeze(dim)
    return vals, idx


def _out(values, indices, v, i):
    values.resize_(v.shape).copy_(v)
    indices.resize_(i.shape).copy_(i)
    return values, indices


def _kth_ok(self, k, dim=-1, keepdim=False, **_):
    return _rows_ok(self, dim) and 1 <= k <= _n(self, dim)


@impl("kthvalue", supports=_kth_ok)
def kthvalue(self, k, dim=-1, keepdim=False):
    return _select(self, dim, keepdim, k, False)


@impl("kthvalue.values", supports=_kth_ok)
def kthvalue_out(self, k, dim=-1, keepdim=False, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented
    return _out(values, indices, *kthvalue(self, k, dim, keepdim))


def _med_ok(self, dim, keepdim=False, **_):
    return _rows_ok(self, dim)


@impl("median.dim", supports=_med_ok)
def median_dim(self, dim, keepdim=False):
    return _select(self, dim, keepdim, (_n(self, dim) - 1) // 2 + 1, True)


@impl("median.dim_values", supports=_med_ok)
def median_dim_out(self, dim, keepdim=False, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented
    return _out(values, indices, *median_dim(self, dim, keepdim))


@impl("median", supports=lambda self: self.dtype in _SEL_DTYPES and 0 < self.numel() <= _MAX)
def median(self):
    return median_dim(self.reshape(-1), 0)[0].reshape(())
