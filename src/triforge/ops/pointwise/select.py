"""where and masked_fill: a bool operand that selects, and takes no part in promotion."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import declare


@triton.jit
def _where(c, a, b):
    return tl.where(c != 0, a, b)


@triton.jit
def _masked_fill(a, m, value):
    return tl.where(m != 0, value, a)


_WHERE = Pointwise(_where, 3, promoted=(1, 2))
_MASKED_FILL = Pointwise(_masked_fill, 2, promoted=(0,))


def _where_call(condition, self, other, out=None):
    if not isinstance(condition, torch.Tensor) or condition.dtype is not torch.bool:
        return NotImplemented   # torch raises for a non-bool condition (uint8 deprecated)
    return _WHERE(condition, self, other, out=out)


# (where with Scalar operands decomposes above the backend into where.self)
declare(lambda c, s, o: _where_call(c, s, o), "where.self", pw=_WHERE)
declare(lambda c, s, o, *, out: _where_call(c, s, o, out), "where.self_out", pw=_WHERE)


def _fill_value(value):
    """A Python number, or None: a 0-dim CPU tensor is read; others go to ATen."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.device.type != "cpu" or value.is_complex():
            return None
        return value.item()
    return value if type(value) in (bool, int, float) else None


def _masked_fill_call(self, mask, value, out=None):
    v = _fill_value(value)
    if v is None or not isinstance(mask, torch.Tensor) or mask.dtype is not torch.bool:
        return NotImplemented
    if out is self and torch.broadcast_shapes(self.shape, mask.shape) != self.shape:
        return NotImplemented   # in-place cannot grow self: torch raises
    if (type(v) is float and not self.dtype.is_floating_point) or (
            self.dtype is torch.bool and type(v) is not bool):
        return NotImplemented   # torch's conversion rules for the value (it may raise)
    return _MASKED_FILL(self, mask, params=(v,), out=out)


declare(lambda s, m, v: _masked_fill_call(s, m, v), "masked_fill.Scalar", "masked_fill.Tensor",
        pw=_MASKED_FILL)
declare(lambda s, m, v: _masked_fill_call(s, m, v, s), "masked_fill_.Scalar", "masked_fill_.Tensor",
        pw=_MASKED_FILL)
