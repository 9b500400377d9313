"""Comparisons and predicates (bool results), logical and bitwise ops, maximum/minimum
and fmax/fmin."""
from __future__ import annotations

import triton
import triton.language as tl

import torch

from ...codegen.pointwise import Pointwise
from .family import binary, declare, unary


@triton.jit
def _eq(a, b):
    return a == b


@triton.jit
def _ne(a, b):
    return a != b


@triton.jit
def _lt(a, b):
    return a < b


@triton.jit
def _le(a, b):
    return a <= b


@triton.jit
def _gt(a, b):
    return a > b


@triton.jit
def _ge(a, b):
    return a >= b


@triton.jit
def _maximum(a, b):
    return tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _minimum(a, b):
    return tl.minimum(a, b, propagate_nan=tl.PropagateNan.ALL)


for _name, _fn in (("eq", _eq), ("ne", _ne), ("lt", _lt), ("le", _le), ("gt", _gt), ("ge", _ge)):
    binary(_name, Pointwise(_fn, 2, promotion="ALWAYS_BOOL"))
binary("maximum", Pointwise(_maximum, 2))
binary("minimum", Pointwise(_minimum, 2))


@triton.jit
def _fmax(a, b):
    return tl.where(a != a, b, tl.where(b != b, a, tl.maximum(a, b)))


@triton.jit
def _fmin(a, b):
    return tl.where(a != a, b, tl.where(b != b, a, tl.minimum(a, b)))


@triton.jit
def _isnan(a):
    return a != a


@triton.jit
def _isinf(a):
    return tl.abs(a) == float("inf")


@triton.jit
def _isposinf(a):
    return a == float("inf")


@triton.jit
def _isneginf(a):
    return a == -float("inf")


@triton.jit
def _logical_and(a, b):
    return (a != 0) & (b != 0)


@triton.jit
def _logical_or(a, b):
    return (a != 0) | (b != 0)


@triton.jit
def _logical_xor(a, b):
    return (a != 0) ^ (b != 0)


@triton.jit
def _logical_not(a):
    return a == 0


@triton.jit
def _bitwise_and(a, b):
    return a & b


@triton.jit
def _bitwise_or(a, b):
    return a | b


@triton.jit
def _bitwise_xor(a, b):
    return a ^ b


@triton.jit
def _bitwise_not(a):
    # not `~a`: Triton's interpreter builds it from a -1 constant that uint8 cannot hold
    if a.dtype.is_int_unsigned():
        return a ^ ((a ^ a) - 1)
    else:
        return -1 - a


@triton.jit
def _bool_not(a):
    return a == 0


binary("fmax", Pointwise(_fmax, 2))
binary("fmin", Pointwise(_fmin, 2))
# (isfinite decomposes above the backend into ops served here)
for _name, _fn in (("isnan", _isnan), ("isinf", _isinf), ("isposinf", _isposinf), ("isneginf", _isneginf)):
    unary(_name, Pointwise(_fn, 1, promotion="ALWAYS_BOOL"))
for _name, _fn in (("logical_and", _logical_and), ("logical_or", _logical_or), ("logical_xor", _logical_xor)):
    # out= may be any dtype (torch casts the bools); in place keeps self's dtype
    binary(_name, Pointwise(_fn, 2, promotion="ALWAYS_BOOL"))
unary("logical_not", Pointwise(_logical_not, 1, promotion="ALWAYS_BOOL"))
for _name, _fn in (("bitwise_and", _bitwise_and), ("bitwise_or", _bitwise_or), ("bitwise_xor", _bitwise_xor)):
    binary(_name, Pointwise(_fn, 2), ints_only=True)
_NOT_INT, _NOT_BOOL = Pointwise(_bitwise_not, 1), Pointwise(_bool_not, 1)


def _bitwise_not_call(self, out=None):
    if self.dtype.is_floating_point or self.is_complex():
        return NotImplemented   # torch raises
    return (_NOT_BOOL if self.dtype is torch.bool else _NOT_INT)(self, out=out)


declare(lambda self: _bitwise_not_call(self), "bitwise_not", pw=_NOT_INT)
declare(lambda self: _bitwise_not_call(self, self), "bitwise_not_", pw=_NOT_INT)
declare(lambda self, *, out: _bitwise_not_call(self, out), "bitwise_not.out", pw=_NOT_INT)
