"""Inverse trigonometric and hyperbolic functions (atan2, asin, acos, atan, asinh, acosh,
atanh) from sqrt/log/log1p and one arctangent kernel, so the same source runs where
there is no libdevice (the interpreter).

Accuracy: the arctangent is a Taylor series after reducing the argument to
|u| <= tan(pi/8), summed to 1e-14 relative in float64 (16 terms) and 1e-8 in float32
(9 terms); the other functions are written so no step cancels (1 - x*x as (1-x)(1+x),
log1p for arguments near 1). (arctan2 / arcsin... are CompositeImplicit aliases that
reach these kernels.)"""
from __future__ import annotations

import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import binary, unary
from .math import log1p, signbit

_PI = tl.constexpr(3.141592653589793)
_PI_2 = tl.constexpr(1.5707963267948966)
_PI_4 = tl.constexpr(0.7853981633974483)
_LN2 = tl.constexpr(0.6931471805599453)
_TAN_PI_8 = tl.constexpr(0.41421356237309503)
_BIG = tl.constexpr(67108864.0)   # 2^26: past it sqrt(x*x +- 1) == x to float64 rounding


@triton.jit
def atan01(t):
    """atan(t) for t in [0, 1]: t > tan(pi/8) is moved to pi/4 + atan((t-1)/(t+1))."""
    hi = t > _TAN_PI_8
    u = tl.where(hi, (t - 1.0) / (t + 1.0), t)
    s = u * u
    # sum_k (-1)^k s^k / (2k+1); the series' error is below its first omitted term
    if t.dtype == tl.float64:
        p = s * 0.0 - 1.0 / 31.0
        p = p * s + 1.0 / 29.0
        p = p * s - 1.0 / 27.0
        p = p * s + 1.0 / 25.0
        p = p * s - 1.0 / 23.0
        p = p * s + 1.0 / 21.0
        p = p * s - 1.0 / 19.0
        p = p * s + 1.0 / 17.0
    else:
        p = s * 0.0 + 1.0 / 17.0
    p = p * s - 1.0 / 15.0
    p = p * s + 1.0 / 13.0
    p = p * s - 1.0 / 11.0
    p = p * s + 1.0 / 9.0
    p = p * s - 1.0 / 7.0
    p = p * s + 1.0 / 5.0
    p = p * s - 1.0 / 3.0
    p = p * s + 1.0
    r = u * p
    # (a where() of two constants would be float32: pi/4 off by 2e-8 in float64)
    return tl.where(hi, r + _PI_4, r)


@triton.jit
def atan2(y, x):
    """C's atan2, signed zeros and infinities included: the angle of the smaller over
    the larger magnitude, then reflected into the quadrant."""
    ax = tl.abs(x)
    ay = tl.abs(y)
    mx = tl.maximum(ax, ay)
    mn = tl.minimum(ax, ay)
    t = mn / tl.where(mx == 0, 1.0, mx)
    t = tl.where(mn == float("inf"), 1.0, t)   # both infinite: the diagonal
    r = atan01(t)
    r = tl.where(ay > ax, _PI_2 - r, r)
    r = tl.where(signbit(x), _PI - r, r)
    r = tl.where(signbit(y), -r, r)
    return tl.where((x != x) | (y != y), x + y, r)


@triton.jit
def _atan2(y, x):
    return atan2(y, x)


@triton.jit
def _atan(a):
    x = tl.abs(a)
    inv = x > 1.0
    r = atan01(tl.where(inv, 1.0 / x, x))
    r = tl.where(inv, _PI_2 - r, r)
    return tl.where(signbit(a), -r, r)


@triton.jit
def _asin(a):
    return atan2(a, tl.sqrt((1.0 - a) * (1.0 + a)))   # |a| > 1: sqrt of a negative, NaN


@triton.jit
def _acos(a):
    return atan2(tl.sqrt((1.0 - a) * (1.0 + a)), a)


@triton.jit
def _asinh(a):
    x = tl.abs(a)
    # x + x^2 / (1 + sqrt(1 + x^2)) == sqrt(1 + x^2) - 1 + x, without the cancellation
    r = log1p(x + x * x / (1.0 + tl.sqrt(1.0 + x * x)))
    r = tl.where(x > _BIG, tl.log(x) + _LN2, r)
    return tl.where(signbit(a), -r, r)


@triton.jit
def _acosh(a):
    t = a - 1.0   # exact near 1, where log(a + sqrt(a*a - 1)) would cancel
    r = log1p(t + tl.sqrt(t * (t + 2.0)))
    r = tl.where(a > _BIG, tl.log(a) + _LN2, r)
    return tl.where(a < 1.0, float("nan"), r)


@triton.jit
def _atanh(a):
    x = tl.abs(a)
    r = 0.5 * log1p(2.0 * x / (1.0 - x))   # x == 1: inf; x > 1: log of a negative, NaN
    return tl.where(signbit(a), -r, r)


for _name, _fn in (("atan", _atan), ("asin", _asin), ("acos", _acos), ("asinh", _asinh), ("acosh", _acosh),
                   ("atanh", _atanh)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT"))
_ATAN2 = Pointwise(_atan2, 2, promotion="INT_TO_FLOAT")
binary("atan2", _ATAN2)
