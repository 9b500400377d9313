"""Unary math on the pointwise generator. Functions Triton's interpreter lacks
(libdevice) are written here from exp/log so the same source runs everywhere."""
from __future__ import annotations

import triton
import triton.language as tl

import torch

from ...codegen.pointwise import Pointwise
from .family import declare, unary


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


# pow(Tensor, Scalar) for the exponents LLM code uses, each exact as torch computes it
# (x*x for 2, sqrt for 0.5...); other exponents go to ATen until a general pow lands.
@triton.jit
def _pow2(a, e):
    return a * a


@triton.jit
def _pow3(a, e):
    return a * a * a


@triton.jit
def _pow1(a, e):
    return a


@triton.jit
def _pow_half(a, e):
    return tl.sqrt(a)


@triton.jit
def _pow_minus_half(a, e):
    return 1.0 / tl.sqrt(a)


@triton.jit
def _pow_minus_one(a, e):
    return 1.0 / a


# the exponent takes part in promotion (pow(int, 2) is int) and is otherwise unused
_POW = {2: Pointwise(_pow2, 2), 3: Pointwise(_pow3, 2), 1: Pointwise(_pow1, 2),
        0.5: Pointwise(_pow_half, 2), -0.5: Pointwise(_pow_minus_half, 2), -1: Pointwise(_pow_minus_one, 2)}


def _pow_scalar(self, exponent, out=None):
    if type(exponent) not in (int, float) or exponent not in _POW or self.dtype is torch.bool:
        return NotImplemented
    if not self.dtype.is_floating_point and (exponent < 0 or type(exponent) is float):
        return NotImplemented   # integer results / errors: ATen's rules
    return _POW[exponent](self, exponent, out=out)


declare(lambda self, exponent: _pow_scalar(self, exponent), "pow.Tensor_Scalar", pw=_POW[2])
declare(lambda self, exponent, *, out: _pow_scalar(self, exponent, out), "pow.Tensor_Scalar_out", pw=_POW[2])
declare(lambda self, exponent: _pow_scalar(self, exponent, self), "pow_.Scalar", pw=_POW[2])
