"""Copies and dtype conversion: clone, _to_copy, copy_ -- any strides on both sides."""
from __future__ import annotations

import torch
import triton
import triton.language as tl  # noqa: F401  (the interpreter needs tl visible to the kernel)

from ...codegen.pointwise import Pointwise
from .family import declare


@triton.jit
def _identity(a):
    return a


# NO_OPMATH: compute in the source dtype, so a copy is exact and a conversion rounds once.
_COPY = Pointwise(_identity, 1, promotion="NO_OPMATH", copy=True)
_PRESERVE = (None, torch.preserve_format)


def _same_device(a, b) -> bool:
    return a.device == b.device


def _clone(self, memory_format=None):
    if memory_format in _PRESERVE:
        return _COPY(self)
    if memory_format is torch.contiguous_format:
        return _COPY(self, out=torch.empty(self.shape, dtype=self.dtype, device=self.device))
    return NotImplemented


def _to_copy(self, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
             memory_format=None):
    if (layout not in (None, torch.strided) or pin_memory or not isinstance(self, torch.Tensor)
            or (device is not None and torch.device(device) != self.device)
            or memory_format not in _PRESERVE + (torch.contiguous_format,)):
        return NotImplemented
    dt = dtype or self.dtype
    if self.is_complex() or dt.is_complex:
        return NotImplemented
    if memory_format is torch.contiguous_format:
        out = torch.empty(self.shape, dtype=dt, device=self.device)
    else:
        out = torch.empty_like(self, dtype=dt)   # preserve: torch's rule for the layout
    return _COPY(self, out=out)


def _copy_(self, src, non_blocking=False):
    if not isinstance(src, torch.Tensor) or not _same_device(self, src) or src.is_complex() or self.is_complex():
        return NotImplemented
    if self.data_ptr() == src.data_ptr() and self.stride() == src.stride() and self.shape == src.shape:
        return self if self.dtype is src.dtype else NotImplemented
    return _COPY(src, out=self)


declare(_clone, "clone", pw=_COPY)
declare(_to_copy, "_to_copy", pw=_COPY)
declare(_copy_, "copy_", pw=_COPY)
