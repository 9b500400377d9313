"""bincount and histc: atomic adds into a zeroed output.

Both have a data-dependent size or range, so each syncs once with the host (bincount:
the largest value; histc with min == max: the data range), as torch does. Float sums
accumulate by atomics, so their order (last-bit rounding) varies run to run, as
torch's CUDA kernels do. A negative bincount input or a non-finite histc range goes to
ATen, which raises torch's error.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from ..blocks import block_range


@triton.jit
def _bincount_kernel(x_ptr, w_ptr, out_ptr, n, HAS_W: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    idx, m = block_range(n, BLOCK, INT64)
    b = tl.load(x_ptr + idx, mask=m, other=0).to(tl.int64)
    if HAS_W:
        w = tl.load(w_ptr + idx, mask=m, other=0).to(out_ptr.dtype.element_ty)
    else:
        w = tl.full([BLOCK], 1, out_ptr.dtype.element_ty)
    tl.atomic_add(out_ptr + b, w, mask=m)


@triton.jit
def _histc_kernel(x_ptr, out_ptr, n, lo, hi, bins, BLOCK: tl.constexpr, INT64: tl.constexpr):
    idx, m = block_range(n, BLOCK, INT64)
    x = tl.load(x_ptr + idx, mask=m, other=0)
    acc = tl.float64 if x.dtype == tl.float64 else tl.float32
    x = x.to(acc)
    lo_ = tl.cast(lo, acc)
    hi_ = tl.cast(hi, acc)
    inside = m & (x >= lo_) & (x <= hi_)
    b = ((x - lo_) * bins / (hi_ - lo_)).to(tl.int64)
    b = tl.minimum(tl.maximum(b, 0), bins - 1)
    tl.atomic_add(out_ptr + b, tl.full([BLOCK], 1, out_ptr.dtype.element_ty), mask=inside)


_bin = Launcher(_bincount_kernel)
_hist = Launcher(_histc_kernel)
_BLOCK = backend().table("elementwise").get("BLOCK", 1024)
_INTS = frozenset((torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64))
_WEIGHTS = frozenset(backend().float_dtypes()) | {torch.float64} | _INTS


def _bc_ok(self, weights=None, minlength=0):
    if self.dtype not in _INTS or self.dim() != 1 or minlength < 0:
        return False
    return weights is None or (weights.dtype in _WEIGHTS and weights.shape == self.shape
                               and weights.device == self.device)


@impl("bincount", supports=_bc_ok)
def bincount(self, weights=None, minlength=0):
    n = self.numel()
    size = minlength
    if n:
        lo, hi = torch.aminmax(self)
        if int(lo) < 0:
            return NotImplemented   # torch: "bincount only supports 1-d non-negative integral inputs"
        size = max(int(hi) + 1, minlength)
    dtype = torch.int64 if weights is None else (torch.float32 if weights.dtype is torch.float32 else torch.float64)
    out = torch.zeros(size, dtype=dtype, device=self.device)
    if n:
        x = self.contiguous()
        w = weights.contiguous() if weights is not None else x
        _bin((cdiv(n, _BLOCK),), x, w, out, n, weights is not None, _BLOCK,
             needs_int64(x, extra=n + _BLOCK), num_warps=4)
    return out


_HIST = frozenset((torch.float32, torch.float64))


def _hc_ok(self, bins=100, min=0, max=0, **_):
    return (self.dtype in _HIST and bins > 0 and math.isfinite(min) and math.isfinite(max) and min <= max)


def _histc(self, bins, lo, hi, out=None):
    x = self.contiguous().reshape(-1)
    n = x.numel()
    if lo == hi and n:
        a, b = torch.aminmax(x)
        lo, hi = float(a), float(b)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return NotImplemented   # torch raises: range of [nan, nan] / inf is not finite
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    res = torch.zeros(bins, dtype=self.dtype, device=self.device) if out is None else \
        out.resize_(bins).zero_()
    if n:
        _hist((cdiv(n, _BLOCK),), x, res, n, float(lo), float(hi), int(bins), _BLOCK,
              needs_int64(x, extra=n + _BLOCK), num_warps=4)
    return res


@impl("histc", supports=_hc_ok)
def histc(self, bins=100, min=0, max=0):
    return _histc(self, bins, float(min), float(max))


@impl("histc.out", supports=lambda self, bins=100, min=0, max=0, *, out: _hc_ok(self, bins, min, max)
      and out.dtype is self.dtype)
def histc_out(self, bins=100, min=0, max=0, *, out):
    return _histc(self, bins, float(min), float(max), out)
