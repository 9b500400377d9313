"""arange and linspace: values from the element's index (arange(...) and linspace(...)
reach these through ATen's composite, which sizes `out` and calls the .out overloads)."""
from __future__ import annotations

import math
import struct

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher
from .family import declare

_FLOAT_TL = {torch.float16: tl.float32, torch.bfloat16: tl.float32, torch.float32: tl.float32,
             torch.float64: tl.float64}


@triton.jit
def _scalar(v, BITS: tl.constexpr, COMPUTE: tl.constexpr):
    if BITS:   # a float64 value passed as its int64 bits (a float argument would be fp32)
        return tl.cast(tl.cast(tl.cast(v, tl.int64), tl.float64, bitcast=True), COMPUTE)
    else:
        return tl.cast(v, COMPUTE)


@triton.jit
def _arange_kernel(out, n, start, step, BITS: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
                   INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    i = pid * BLOCK + tl.arange(0, BLOCK)
    v = _scalar(start, BITS, COMPUTE) + i.to(COMPUTE) * _scalar(step, BITS, COMPUTE)
    tl.store(out + i, v.to(out.dtype.element_ty), mask=i < n)


@triton.jit
def _linspace_kernel(out, n, start, end, step, BITS: tl.constexpr, COMPUTE: tl.constexpr,
                     BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    i = pid * BLOCK + tl.arange(0, BLOCK)
    s = _scalar(start, BITS, COMPUTE)
    e = _scalar(end, BITS, COMPUTE)
    d = _scalar(step, BITS, COMPUTE)
    # as torch: from the start for the first half, from the end for the second
    v = tl.where(i < n // 2, s + d * i.to(COMPUTE), e - d * (n - i - 1).to(COMPUTE))
    tl.store(out + i, v.to(out.dtype.element_ty), mask=i < n)


_ARANGE, _LINSPACE = Launcher(_arange_kernel), Launcher(_linspace_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


def _bits(v: float) -> int:
    return struct.unpack("<q", struct.pack("<d", float(v)))[0]


def _args(values, dtype):
    """Kernel scalars and the BITS flag for a computation in `dtype`'s accumulate type."""
    if dtype is torch.float64:
        return [_bits(v) for v in values], True
    return [float(v) if dtype.is_floating_point else int(v) for v in values], False


def _out_ok(out) -> bool:
    return out.dim() <= 1 and out.is_contiguous() and not out.is_complex() and out.dtype is not torch.bool


def _arange_out(start, end, step=1, *, out):
    nums = (start, end, step)
    if not _out_ok(out) or any(type(v) not in (int, float) for v in nums):
        return NotImplemented
    ints = not out.dtype.is_floating_point
    if (ints and any(type(v) is float for v in nums)) or step == 0 or not all(map(math.isfinite, nums)):
        return NotImplemented   # ATen's rules and errors
    if (end - start) / step < 0:
        return NotImplemented   # torch raises: bounds inconsistent with the step sign
    size = math.ceil((end - start) / step) if not ints else -((start - end) // step)
    if out.numel() != size:
        out.resize_(size)
    if size == 0:
        return out
    vals, bits = _args(nums[::2], out.dtype)
    compute = _FLOAT_TL[out.dtype] if not ints else tl.int64
    _ARANGE(((size + _BLOCK - 1) // _BLOCK,), out, size, vals[0], vals[1], bits, compute, _BLOCK,
            size > 2**31 - 1 - _BLOCK, num_warps=_WARPS)
    return out


def _linspace_out(start, end, steps, *, out):
    if (not _out_ok(out) or not out.dtype.is_floating_point or type(steps) is not int or steps < 0
            or any(type(v) not in (int, float) or not math.isfinite(v) for v in (start, end))):
        return NotImplemented   # integers, complex, tensor bounds: ATen
    if out.numel() != steps:
        out.resize_(steps)
    if steps == 0:
        return out
    if steps == 1:
        end = start   # torch: a single point is the start
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    vals, bits = _args((start, end, step), out.dtype)
    _LINSPACE(((steps + _BLOCK - 1) // _BLOCK,), out, steps, *vals, bits, _FLOAT_TL[out.dtype], _BLOCK,
              steps > 2**31 - 1 - _BLOCK, num_warps=_WARPS)
    return out


declare(_arange_out, "arange.start_out")
declare(_linspace_out, "linspace.out")


def _factory_ok(layout, pin_memory) -> bool:
    return layout in (None, torch.strided) and not pin_memory


def _arange(start, end=None, step=1, *, dtype=None, layout=None, device=None, pin_memory=None):
    if end is None:
        start, end = 0, start
    if not _factory_ok(layout, pin_memory) or any(type(v) not in (int, float) for v in (start, end, step)):
        return NotImplemented
    if dtype is None:   # torch: int64 unless a bound or the step is a float
        dtype = torch.get_default_dtype() if any(type(v) is float for v in (start, end, step)) else torch.int64
    return _arange_out(start, end, step, out=torch.empty(0, dtype=dtype, device=device))


def _linspace(start, end, steps, *, dtype=None, layout=None, device=None, pin_memory=None):
    if not _factory_ok(layout, pin_memory):
        return NotImplemented
    out = torch.empty(0, dtype=dtype or torch.get_default_dtype(), device=device)
    return _linspace_out(start, end, steps, out=out)


# The factory overloads too, so that coverage sees the op the program called.
declare(lambda end, **kw: _arange(end, **kw), "arange")
declare(lambda start, end, **kw: _arange(start, end, **kw), "arange.start")
declare(lambda start, end, step=1, **kw: _arange(start, end, step, **kw), "arange.start_step")
declare(_linspace, "linspace")
declare(lambda end, *, out: _arange_out(0, end, 1, out=out), "arange.out")
