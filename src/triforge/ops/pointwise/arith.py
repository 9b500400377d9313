"""Arithmetic: add, sub, rsub, mul, div (true division), addcmul, addcdiv, lerp -- every
overload, on the pointwise generator (broadcasting, strides, scalars, torch's type
promotion, out=, in-place)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl  # noqa: F401  (the interpreter needs tl visible to the kernels)

from ...codegen.pointwise import Pointwise
from .family import _alpha_ok, _has_bool, binary, declare


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _add_alpha(a, b, alpha):
    return a + b * alpha


@triton.jit
def _sub(a, b):
    return a - b


@triton.jit
def _sub_alpha(a, b, alpha):
    return a - b * alpha


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _div(a, b):
    return a / b


binary("add", Pointwise(_add, 2), alpha=Pointwise(_add_alpha, 2))
binary("sub", Pointwise(_sub, 2), alpha=Pointwise(_sub_alpha, 2), bool_ok=False)
binary("mul", Pointwise(_mul, 2))
_DIV = Pointwise(_div, 2, promotion="INT_TO_FLOAT")
binary("div", _DIV)


@triton.jit
def _rsub(a, b):
    return b - a


@triton.jit
def _rsub_alpha(a, b, alpha):
    return b - a * alpha


@triton.jit
def _addcmul(a, t1, t2, value):
    return a + value * t1 * t2


@triton.jit
def _addcdiv(a, t1, t2, value):
    return a + value * (t1 / t2)


@triton.jit
def _lerp(a, end, w):
    # torch's formula: exact at both ends
    return tl.where(tl.abs(w) < 0.5, a + w * (end - a), end - (end - a) * (1.0 - w))


_RSUB, _RSUB_ALPHA = Pointwise(_rsub, 2), Pointwise(_rsub_alpha, 2)


def _rsub_call(self, other, alpha=1):
    if not _alpha_ok(self, other, alpha) or _has_bool(self, other):
        return NotImplemented
    if alpha == 1 and type(alpha) is not float:
        return _RSUB(self, other)
    return _RSUB_ALPHA(self, other, params=(alpha,))


declare(lambda self, other, *, alpha=1: _rsub_call(self, other, alpha), "rsub.Tensor", pw=_RSUB)
declare(lambda self, other, alpha=1: _rsub_call(self, other, alpha), "rsub.Scalar", pw=_RSUB)

_ADDCMUL, _ADDCDIV = Pointwise(_addcmul, 3), Pointwise(_addcdiv, 3)


def _addc(pw, self, t1, t2, value, out=None, ints_ok=True):
    ts = (self, t1, t2)
    if any(not isinstance(t, torch.Tensor) for t in ts) or type(value) not in (int, float, bool):
        return NotImplemented
    ints = any(not t.dtype.is_floating_point for t in ts)
    if ints and (not ints_ok or type(value) is float):
        return NotImplemented   # torch raises (integer division, float value for integers)
    if out is self and torch.broadcast_shapes(*(t.shape for t in ts)) != self.shape:
        return NotImplemented
    return pw(self, t1, t2, params=(value,), out=out)


for _name, _pw, _ints in (("addcmul", _ADDCMUL, True), ("addcdiv", _ADDCDIV, False)):
    declare(lambda s, a, b, *, value=1, _pw=_pw, _i=_ints: _addc(_pw, s, a, b, value, ints_ok=_i),
            _name, pw=_pw)
    declare(lambda s, a, b, *, value=1, _pw=_pw, _i=_ints: _addc(_pw, s, a, b, value, s, _i),
            f"{_name}_", pw=_pw)
    declare(lambda s, a, b, *, value=1, out, _pw=_pw, _i=_ints: _addc(_pw, s, a, b, value, out, _i),
            f"{_name}.out", pw=_pw)

_LERP_S, _LERP_T = Pointwise(_lerp, 2), Pointwise(_lerp, 3)


def _lerp_call(self, end, weight, out=None):
    if not (isinstance(end, torch.Tensor) and self.dtype.is_floating_point and end.dtype is self.dtype):
        return NotImplemented   # torch requires one floating dtype
    if out is self and torch.broadcast_shapes(self.shape, end.shape, *(
            [weight.shape] if isinstance(weight, torch.Tensor) else [])) != self.shape:
        return NotImplemented
    if isinstance(weight, torch.Tensor):
        if weight.dtype is not self.dtype:
            return NotImplemented
        return _LERP_T(self, end, weight, out=out)
    if type(weight) not in (int, float):
        return NotImplemented
    return _LERP_S(self, end, params=(weight,), out=out)


declare(lambda s, e, w: _lerp_call(s, e, w), "lerp.Scalar", "lerp.Tensor", pw=_LERP_S)
declare(lambda s, e, w: _lerp_call(s, e, w, s), "lerp_.Scalar", "lerp_.Tensor", pw=_LERP_S)
declare(lambda s, e, w, *, out: _lerp_call(s, e, w, out), "lerp.Scalar_out", "lerp.Tensor_out", pw=_LERP_S)
