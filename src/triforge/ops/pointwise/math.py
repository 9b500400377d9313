"""Unary math on the pointwise generator. Functions Triton's interpreter lacks
(libdevice) are written here from exp/log so the same source runs everywhere."""
from __future__ import annotations

import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import unary


@triton.jit
def _neg(a):
    return -a


@triton.jit
def _abs(a):
    return tl.abs(a)


@triton.jit
def _reciprocal(a):
    return 1.0 / a


@triton.jit
def _sqrt(a):
    return tl.sqrt(a)


@triton.jit
def _rsqrt(a):
    return 1.0 / tl.sqrt(a)   # tl.rsqrt is approximate on GPUs; torch's rsqrt is not


@triton.jit
def _exp(a):
    return tl.exp(a)


@triton.jit
def _log(a):
    return tl.log(a)


@triton.jit
def _sin(a):
    return tl.sin(a)


@triton.jit
def _cos(a):
    return tl.cos(a)


@triton.jit
def _sigmoid(a):
    return 1.0 / (1.0 + tl.exp(-a))


@triton.jit
def tanh(a):
    """tanh from exp: (1 - e) / (1 + e) with e = exp(-2|a|), and the odd series below
    |a| = 1/16 where 1 - e would cancel (series error < 1e-10 relative there)."""
    x = tl.abs(a)
    e = tl.exp(-2.0 * x)
    big = (1.0 - e) / (1.0 + e)
    x2 = x * x
    small = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))))
    t = tl.where(x < 0.0625, small, big)
    return tl.where(a < 0, -t, t)


@triton.jit
def _tanh(a):
    return tanh(a)


unary("neg", Pointwise(_neg, 1), bool_ok=False)
unary("abs", Pointwise(_abs, 1), bool_ok=False)
for _name, _fn in (("reciprocal", _reciprocal), ("sqrt", _sqrt), ("rsqrt", _rsqrt), ("exp", _exp),
                   ("log", _log), ("sin", _sin), ("cos", _cos), ("sigmoid", _sigmoid), ("tanh", _tanh)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT"))
