"""Filling and creation: fill_, zero_, full, full_like, zeros_like, ones_like."""
from __future__ import annotations

import torch
import triton
import triton.language as tl  # noqa: F401  (the interpreter needs tl visible to the kernels)

from ...codegen.pointwise import Pointwise
from .family import declare
from .select import _fill_value


@triton.jit
def _fill(value):
    return value


# NO_OPMATH: the value is converted straight to the tensor's dtype, as torch's fill_
_FILL = Pointwise(_fill, 0, promotion="NO_OPMATH")
_PRESERVE = (None, torch.preserve_format)


def _fits(v, dtype) -> bool:
    """Whether torch converts `v` to `dtype` without its overflow error."""
    if dtype is torch.bool or v != v or v in (float("inf"), -float("inf")):
        return True   # NaN and infinities fill float tensors (floats never reach ints here)
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min <= v <= info.max


def _fill_(self, value):
    v = _fill_value(value)
    if (v is None or self.is_complex() or (type(v) is float and not self.dtype.is_floating_point)
            or not _fits(v, self.dtype)):
        return NotImplemented   # torch's conversions (float into int) and overflow errors stand
    if self.dtype is torch.bool:
        v = bool(v)
    return _FILL(params=(v,), out=self)


def _like(self, value, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    if (layout not in (None, torch.strided) or pin_memory or memory_format not in _PRESERVE
            or (device is not None and torch.device(device) != self.device)):
        return NotImplemented
    out = torch.empty_like(self, dtype=dtype) if dtype is not None else torch.empty_like(self)
    return _fill_(out, value)


def _full(size, fill_value, *, dtype=None, layout=None, device=None, pin_memory=None):
    if layout not in (None, torch.strided) or pin_memory or type(fill_value) not in (bool, int, float):
        return NotImplemented
    if dtype is None:   # torch infers the dtype from the value
        dtype = {bool: torch.bool, int: torch.int64, float: torch.get_default_dtype()}[type(fill_value)]
    return _fill_(torch.empty(size, dtype=dtype, device=device), fill_value)


declare(_fill_, "fill_.Scalar", "fill_.Tensor", pw=_FILL)
declare(lambda self: _fill_(self, 0), "zero_", pw=_FILL)
declare(lambda self, fill_value, **kw: _like(self, fill_value, **kw), "full_like", pw=_FILL)
declare(lambda self, **kw: _like(self, 0, **kw), "zeros_like", pw=_FILL)
declare(lambda self, **kw: _like(self, 1, **kw), "ones_like", pw=_FILL)
declare(_full, "full", pw=_FILL)
