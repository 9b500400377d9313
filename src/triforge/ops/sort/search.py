"""searchsorted and bucketize: a vectorised binary search, one lane per value.

Comparisons follow ATen's (`!(mid >= v)` moves right for the left side, `!(mid > v)` for
the right side), so NaN values land past every boundary and NaN boundaries (sorted
last) behave as there. A sorter= argument and mixed dtypes go to ATen; a Python number
as the value becomes a 0-dim tensor first (see the end of this file).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from ..blocks import block_range


@triton.jit
def _goes_right(m, v, RIGHT: tl.constexpr):
    """ATen's step: whether the answer lies past boundary m."""
    if m.dtype.is_floating() and m.dtype != tl.float64:
        m = m.to(tl.float32)
    if RIGHT:
        go = (m > v) == 0
    else:
        go = (m >= v) == 0
    return go


@triton.jit
def _search_kernel(seq_ptr, v_ptr, out_ptr, numel, N, INNER, PER_ROW: tl.constexpr, RIGHT: tl.constexpr,
                   STEPS: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """ATen's probes exactly (a NaN boundary makes the steps' test no prefix, so the
    answer depends on which boundaries are probed). Positions in int32 (rows shorter
    than 2^31), the row base in int64."""
    idx, live = block_range(numel, BLOCK, INT64)
    v = tl.load(v_ptr + idx, mask=live, other=0)
    if v.dtype.is_floating() and v.dtype != tl.float64:
        v = v.to(tl.float32)
    row = seq_ptr
    if PER_ROW:   # each row of values searches its own row of the sequence
        row = seq_ptr + (idx // INNER).to(tl.int64) * N
    start = tl.zeros([BLOCK], tl.int32)
    end = tl.zeros([BLOCK], tl.int32) + N
    for _ in tl.static_range(STEPS):
        act = live & (start < end)
        mid = start + (end - start) // 2
        go = _goes_right(tl.load(row + mid, mask=act, other=0), v, RIGHT)
        start = tl.where(act & go, mid + 1, start)
        end = tl.where(act & (go == 0), mid, end)
    tl.store(out_ptr + idx, start.to(out_ptr.dtype.element_ty), mask=live)


_run = Launcher(_search_kernel)
_BLOCK = backend().table("elementwise").get("BLOCK", 1024)
_DTYPES = frozenset(backend().float_dtypes()) | {torch.float64, torch.int8, torch.int16, torch.int32, torch.int64,
                                                 torch.uint8}


def _search(seq, values, out_int32, right, out=None):
    s = seq.contiguous()
    v = values.contiguous()
    n = s.shape[-1]
    res = torch.empty(v.shape, dtype=torch.int32 if out_int32 else torch.int64, device=v.device)
    if v.numel():
        steps = max(1, int(n).bit_length())
        per_row = s.dim() > 1
        inner = v.shape[-1] if v.dim() else 1
        _run((cdiv(v.numel(), _BLOCK),), s, v, res, v.numel(), n, max(inner, 1), per_row, bool(right), steps,
             _BLOCK, needs_int64(v, extra=v.numel() + _BLOCK), num_warps=4)
    if out is not None:
        out.resize_(res.shape).copy_(res)
        return out
    return res


def _shapes_ok(seq, values) -> bool:
    if seq.dim() == 0 or seq.dtype is not values.dtype or seq.dtype not in _DTYPES or seq.device != values.device:
        return False
    if seq.shape[-1] >= 2**31:   # int32 positions
        return False
    if seq.dim() == 1:
        return True
    return values.dim() == seq.dim() and values.shape[:-1] == seq.shape[:-1]


def _side(right, side):
    """right flag, or None where torch raises (side='left' with right=True, unknown side)."""
    if side is None:
        return bool(right)
    if side not in ("left", "right") or (side == "left" and right):
        return None
    return side == "right"


def _ss_ok(sorted_sequence, self, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    if sorter is not None or not isinstance(self, torch.Tensor) or _side(right, side) is None:
        return False
    if out is not None and out.dtype is not (torch.int32 if out_int32 else torch.int64):
        return False
    return _shapes_ok(sorted_sequence, self) and (not out_int32 or sorted_sequence.shape[-1] < 2**31)


@impl("searchsorted.Tensor", supports=_ss_ok)
def searchsorted(sorted_sequence, self, *, out_int32=False, right=False, side=None, sorter=None):
    return _search(sorted_sequence, self, out_int32, _side(right, side))


@impl("searchsorted.Tensor_out", supports=_ss_ok)
def searchsorted_out(sorted_sequence, self, *, out_int32=False, right=False, side=None, sorter=None, out):
    return _search(sorted_sequence, self, out_int32, _side(right, side), out)


def _bk_ok(self, boundaries, *, out_int32=False, right=False, out=None):
    if out is not None and out.dtype is not (torch.int32 if out_int32 else torch.int64):
        return False
    return boundaries.dim() == 1 and _shapes_ok(boundaries, self)


@impl("bucketize.Tensor", supports=_bk_ok)
def bucketize(self, boundaries, *, out_int32=False, right=False):
    return _search(boundaries, self, out_int32, right)


@impl("bucketize.Tensor_out", supports=_bk_ok)
def bucketize_out(self, boundaries, *, out_int32=False, right=False, out):
    return _search(boundaries, self, out_int32, right, out)


# -- a Python number as the value ------------------------------------------------------
# ATen's CUDA kernels for these overloads turn the number into a *wrapped-number* 0-dim
# CUDA tensor and dispatch the Tensor overload with it. Boxing that tensor for a Python
# kernel (triforge's Tensor overloads above) trips torch's INTERNAL ASSERT that a wrapped
# number is on the CPU (found on the H100: torch.searchsorted(cuda_seq, 2.17) raised
# under triforge). So triforge takes the number itself: an ordinary 0-dim tensor of the
# dtype torch computes in (result_type: a number counts by category only), then the
# Tensor overload -- served here, or ATen's own Tensor kernel where triforge declines.
def _number_ok(v) -> bool:
    # every number, complex too (torch's own error then comes from the Tensor overload):
    # a fallback to ATen would re-dispatch the wrapped number into it and hit the assert
    return isinstance(v, (bool, int, float, complex))


def _as_value(number, seq):
    dt = torch.result_type(seq, number)
    return torch.full((), number, dtype=dt, device=seq.device), (seq if seq.dtype is dt else seq.to(dt))


def _ss_scalar_ok(sorted_sequence, self, **_):
    return _number_ok(self)


@impl("searchsorted.Scalar", supports=_ss_scalar_ok)
def searchsorted_scalar(sorted_sequence, self, *, out_int32=False, right=False, side=None, sorter=None):
    v, seq = _as_value(self, sorted_sequence)
    return torch.searchsorted(seq, v, out_int32=out_int32, right=right, side=side, sorter=sorter)


@impl("searchsorted.Scalar_out", supports=_ss_scalar_ok)
def searchsorted_scalar_out(sorted_sequence, self, *, out_int32=False, right=False, side=None, sorter=None, out):
    v, seq = _as_value(self, sorted_sequence)
    return torch.searchsorted(seq, v, out_int32=out_int32, right=right, side=side, sorter=sorter, out=out)


def _bk_scalar_ok(self, boundaries, **_):
    return _number_ok(self)


@impl("bucketize.Scalar", supports=_bk_scalar_ok)
def bucketize_scalar(self, boundaries, *, out_int32=False, right=False):
    v, b = _as_value(self, boundaries)
    return torch.bucketize(v, b, out_int32=out_int32, right=right)


@impl("bucketize.Scalar_out", supports=_bk_scalar_ok)
def bucketize_scalar_out(self, boundaries, *, out_int32=False, right=False, out):
    v, b = _as_value(self, boundaries)
    return torch.bucketize(v, b, out_int32=out_int32, right=right, out=out)


# isin(number, test_elements): ATen's kernels wrap the number on test_elements' device
# and run the Tensor overload, whose sort-based path calls _unique (triforge's) with it:
# on the CPU triforge's _unique got a bare int, on CUDA boxing would assert as above.
def _isin_scalar_ok(element, test_elements, **_):
    # bool and complex numbers: ATen's check raises before it wraps anything
    return isinstance(element, (int, float)) and not isinstance(element, bool)


@impl("isin.Scalar_Tensor", supports=_isin_scalar_ok)
def isin_scalar(element, test_elements, *, assume_unique=False, invert=False):
    v, t = _as_value(element, test_elements)
    return torch.isin(v, t, assume_unique=assume_unique, invert=invert)


@impl("isin.Scalar_Tensor_out", supports=_isin_scalar_ok)
def isin_scalar_out(element, test_elements, *, assume_unique=False, invert=False, out):
    v, t = _as_value(element, test_elements)
    return torch.isin(v, t, assume_unique=assume_unique, invert=invert, out=out)
