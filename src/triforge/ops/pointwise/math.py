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


@triton.jit
def _floor(a):
    return tl.floor(a)


@triton.jit
def _ceil(a):
    return tl.ceil(a)


@triton.jit
def trunc(a):
    return tl.where(a < 0, tl.ceil(a), tl.floor(a))


@triton.jit
def _trunc(a):
    return trunc(a)


@triton.jit
def _frac(a):
    return a - trunc(a)


@triton.jit
def _round(a):
    """Half to even, as torch.round: floor, then the tie goes to the even neighbour.
    NaN and infinities pass through."""
    f = tl.floor(a)
    d = a - f
    odd = f - 2.0 * tl.floor(f * 0.5)
    r = tl.where(d > 0.5, f + 1.0, tl.where(d < 0.5, f, f + odd))
    return tl.where(tl.abs(a) < float("inf"), r, a)


@triton.jit
def _sign(a):
    return (a > 0).to(a.dtype) - (a < 0).to(a.dtype)   # as ATen: sign(NaN) is 0


# integers: ATen returns a copy; the copy op serves that
unary("floor", Pointwise(_floor, 1), float_only=True)
unary("ceil", Pointwise(_ceil, 1), float_only=True)
unary("trunc", Pointwise(_trunc, 1), float_only=True)
unary("frac", Pointwise(_frac, 1), float_only=True)
unary("sign", Pointwise(_sign, 1), bool_ok=False)


def _round_call(self, out=None):
    if not self.dtype.is_floating_point:
        return NotImplemented   # integers: ATen returns a copy
    return _ROUND(self, out=out)


_ROUND = Pointwise(_round, 1)
declare(lambda self: _round_call(self), "round", pw=_ROUND)
declare(lambda self: _round_call(self, self), "round_", pw=_ROUND)
declare(lambda self, *, out: _round_call(self, out), "round.out", pw=_ROUND)


@triton.jit
def _clamp(a, lo, hi):
    return tl.minimum(tl.maximum(a, lo, propagate_nan=tl.PropagateNan.ALL), hi,
                      propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _clamp_min(a, lo):
    return tl.maximum(a, lo, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _clamp_max(a, hi):
    return tl.minimum(a, hi, propagate_nan=tl.PropagateNan.ALL)


# Bounds take part in promotion (clamp(int, 0.5) is float), as torch's result_type.
_CLAMP, _CLAMP_MIN, _CLAMP_MAX = Pointwise(_clamp, 3), Pointwise(_clamp_min, 2), Pointwise(_clamp_max, 2)


def _bound_ok(v) -> bool:
    return v is None or (type(v) in (int, float) and v == v) or (
        isinstance(v, torch.Tensor) and not v.is_complex())


def _clamp_call(self, min=None, max=None, out=None):
    if self.dtype is torch.bool or not (_bound_ok(min) and _bound_ok(max)) or (min is None and max is None):
        return NotImplemented   # NaN bounds, bool: ATen's rules
    if out is self:
        bounds = [b for b in (min, max) if isinstance(b, torch.Tensor)]
        if any(torch.broadcast_shapes(self.shape, b.shape) != self.shape for b in bounds):
            return NotImplemented   # in place cannot grow self: torch raises
    if min is None:
        return _CLAMP_MAX(self, max, out=out)
    if max is None:
        return _CLAMP_MIN(self, min, out=out)
    return _CLAMP(self, min, max, out=out)


declare(lambda self, min=None, max=None: _clamp_call(self, min, max), "clamp", "clamp.Tensor", pw=_CLAMP)
declare(lambda self, min=None, max=None: _clamp_call(self, min, max, self), "clamp_", "clamp_.Tensor", pw=_CLAMP)
declare(lambda self, min=None, max=None, *, out: _clamp_call(self, min, max, out), "clamp.out", "clamp.Tensor_out",
        pw=_CLAMP)
declare(lambda self, min: _clamp_call(self, min, None), "clamp_min", "clamp_min.Tensor", pw=_CLAMP_MIN)
declare(lambda self, min: _clamp_call(self, min, None, self), "clamp_min_", "clamp_min_.Tensor", pw=_CLAMP_MIN)
declare(lambda self, min, *, out: _clamp_call(self, min, None, out), "clamp_min.out", "clamp_min.Tensor_out",
        pw=_CLAMP_MIN)
declare(lambda self, max: _clamp_call(self, None, max), "clamp_max", "clamp_max.Tensor", pw=_CLAMP_MAX)
declare(lambda self, max: _clamp_call(self, None, max, self), "clamp_max_", "clamp_max_.Tensor", pw=_CLAMP_MAX)
declare(lambda self, max, *, out: _clamp_call(self, None, max, out), "clamp_max.out", "clamp_max.Tensor_out",
        pw=_CLAMP_MAX)
