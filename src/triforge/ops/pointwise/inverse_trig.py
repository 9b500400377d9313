"""Inverse trigonometric and hyperbolic functions (atan2, asin, acos, atan, asinh, acosh,
atanh) from sqrt/log/log1p and one arctangent kernel, so the same source runs where
there is no libdevice (the interpreter).

Accuracy: the arctangent is a Taylor series after reducing the argument to
|u| <= tan(pi/8), summed to 1e-14 relative in float64 (16 terms); the other functions
are written so no step cancels (1 - x*x as (1-x)(1+x), log1p for arguments near 1).
(arctan2 / arcsin... are CompositeImplicit aliases that reach these kernels.)

float32 (and the half types, which compute in float32) takes cheaper paths for atan,
atan2, asin and acos, within 2 float32 ulps (1.1 to 1.5 measured): the arctangent is one
minimax polynomial on [0, 1] (no reduction, so no division), and asin / acos do not go
through atan2 (a sqrt and two divisions) but use an odd polynomial for asin on [0, 1/2]
and asin(x) = pi/2 - 2 asin(sqrt((1 - x) / 2)) above (one sqrt, no division). pi/2 and
pi are added as float32 head + tail where the head's rounding (up to 0.7 ulp of the
result) would show. Coefficients: weighted minimax against mpmath, rounded to float32
one at a time (scripts/fit_float32_special.py)."""
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
# float32 paths: the constants above round to float32 there; these are what that drops
_PI_LO32 = tl.constexpr(-8.742278012618954e-08)     # pi - float32(pi)
_PI_2_LO32 = tl.constexpr(-4.371139006309477e-08)   # pi/2 - float32(pi/2)


@triton.jit
def atan01(t):
    """atan(t) for t in [0, 1]."""
    if t.dtype == tl.float64:
        r = _atan01_f64(t)
    else:
        # atan(t) = t + t s A(s), s = t^2: A minimax on [0, 1], 3.8e-9 relative to atan
        s = t * t
        p = -0.0017936132 * s + 0.010914571
        p = p * s - 0.031177785
        p = p * s + 0.057957537
        p = p * s - 0.08403447
        p = p * s + 0.10952184
        p = p * s - 0.14264241
        p = p * s + 0.19998547
        p = p * s - 0.333333
        r = t + (t * s) * p
    return r


@triton.jit
def _atan01_f64(t):
    """t > tan(pi/8) is moved to pi/4 + atan((t-1)/(t+1))."""
    hi = t > _TAN_PI_8
    u = tl.where(hi, (t - 1.0) / (t + 1.0), t)
    s = u * u
    # sum_k (-1)^k s^k / (2k+1); the series' error is below its first omitted term
    p = s * 0.0 - 1.0 / 31.0
    p = p * s + 1.0 / 29.0
    p = p * s - 1.0 / 27.0
    p = p * s + 1.0 / 25.0
    p = p * s - 1.0 / 23.0
    p = p * s + 1.0 / 21.0
    p = p * s - 1.0 / 19.0
    p = p * s + 1.0 / 17.0
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
    if x.dtype == tl.float64:
        r = tl.where(ay > ax, _PI_2 - r, r)
        r = tl.where(signbit(x), _PI - r, r)
        r = tl.where(signbit(y), r * -1.0, r)
    else:
        r = tl.where(ay > ax, (_PI_2 - r) + _PI_2_LO32, r)
        r = tl.where(signbit(x), (_PI - r) + _PI_LO32, r)
        r = tl.where(signbit(y), r * -1.0, r)   # (-r is 0 - r in Triton: atan2(-0, 1) would be +0)
    return tl.where((x != x) | (y != y), x + y, r)


@triton.jit
def _atan2(y, x):
    return atan2(y, x)


@triton.jit
def _atan(a):
    x = tl.abs(a)
    inv = x > 1.0
    r = atan01(tl.where(inv, 1.0 / x, x))
    if a.dtype == tl.float64:
        r = tl.where(inv, _PI_2 - r, r)
        r = tl.where(signbit(a), r * -1.0, r)
    else:
        r = tl.where(inv, (_PI_2 - r) + _PI_2_LO32, r)
        r = tl.where(signbit(a), r * -1.0, r)   # (-r is 0 - r in Triton: atan(-0) would be +0)
    return r


@triton.jit
def asin_parts32(a):
    """float32: big = |a| > 1/2, and s, q with asin(s) = s + q, where s = a (signed) if
    not big, else s = sqrt((1 - |a|) / 2) and asin(|a|) = pi/2 - 2 asin(s). |a| > 1:
    the sqrt of a negative, NaN."""
    x = tl.abs(a)
    big = x > 0.5
    z = tl.where(big, (1.0 - x) * 0.5, x * x)   # exact for big
    s = tl.where(big, tl.sqrt(z), a)
    # asin(s) = s + s z P(z), z = s^2 in [0, 1/4]: P minimax, 1.1e-9 relative to asin
    p = 0.037516568 * z + 0.014438526
    p = p * z + 0.03180774
    p = p * z + 0.04451695
    p = p * z + 0.07500504
    p = p * z + 0.1666666
    return big, s, (s * z) * p


@triton.jit
def _asin(a):
    if a.dtype == tl.float64:
        r = atan2(a, tl.sqrt((1.0 - a) * (1.0 + a)))   # |a| > 1: sqrt of a negative, NaN
    else:
        big, s, q = asin_parts32(a)
        # pi/2 - 2 s - 2 q: h = pi/2 - 2s is exact for |a| <= 0.69 (Sterbenz); above, its
        # rounding error e is recovered (Fast2Sum, |pi/2| > |2s|): left in, it would cost
        # up to 1 ulp where the result is just below 1
        h = _PI_2 - 2.0 * s
        e = (_PI_2 - h) - 2.0 * s
        r = tl.where(big, h + ((_PI_2_LO32 - 2.0 * q) + e), s + q)
        r = tl.where(big & (a < 0), -r, r)
    return r


@triton.jit
def _acos(a):
    if a.dtype == tl.float64:
        r = atan2(tl.sqrt((1.0 - a) * (1.0 + a)), a)
    else:
        big, s, q = asin_parts32(a)
        # acos = pi/2 - asin(a) for |a| <= 1/2; 2 asin(s) above 1/2, pi - 2 asin(s) below -1/2
        r = _PI_2 - (s + (q - _PI_2_LO32))
        r = tl.where(big, tl.where(a < 0, (_PI - 2.0 * s) + (_PI_LO32 - 2.0 * q), 2.0 * (s + q)), r)
    return r


@triton.jit
def _asinh(a):
    x = tl.abs(a)
    if a.dtype == tl.float64:
        # x + x^2 / (1 + sqrt(1 + x^2)) == sqrt(1 + x^2) - 1 + x, without the cancellation
        r = log1p(x + x * x / (1.0 + tl.sqrt(1.0 + x * x)))
        r = tl.where(x > _BIG, tl.log(x) + _LN2, r)
    else:
        # float32: below 1/2 a polynomial (1.0e-9 relative, scripts/fit_float32_special.py),
        # above log(x + sqrt(x^2 + 1)) -- one log, no division, where log1p of the form
        # above took two divisions and a second log for large x. H100 8192^2, x torch:
        # bf16 0.51 -> 0.84, float32 0.86 -> 1.00; max error 3.4 -> 4.3 ulps, just past 1/2
        # (explog-ab-at-131da33.txt run E)
        z = x * x
        p = 0.009167696 * z - 0.019979972
        p = p * z + 0.030012948
        p = p * z - 0.04461325
        p = p * z + 0.07499889
        p = p * z - 0.16666666
        big = x > 4096.0   # sqrt(x^2 + 1) is x there (and x^2 would overflow from 1.8e19)
        r = tl.log(tl.where(big, x, x + tl.sqrt(z + 1.0))) + tl.where(big, _LN2, 0.0)
        r = tl.where(x < 0.5, x + x * (z * p), r)
    return tl.where(signbit(a), r * -1.0, r)


@triton.jit
def _acosh(a, LOW: tl.constexpr):
    t = a - 1.0   # exact near 1, where log(a + sqrt(a*a - 1)) would cancel
    r = log1p(t + tl.sqrt(t * (t + 2.0)), LOW)
    r = tl.where(a > _BIG, tl.log(a) + _LN2, r)
    return tl.where(a < 1.0, float("nan"), r)


@triton.jit
def _atanh(a, LOW: tl.constexpr):
    x = tl.abs(a)
    r = 0.5 * log1p(2.0 * x / (1.0 - x), LOW)   # x == 1: inf; x > 1: log of a negative, NaN
    return tl.where(signbit(a), r * -1.0, r)


for _name, _fn in (("atan", _atan), ("asin", _asin), ("acos", _acos), ("asinh", _asinh), ("acosh", _acosh),
                   ("atanh", _atanh)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT", low=_name in ("acosh", "atanh")))
_ATAN2 = Pointwise(_atan2, 2, promotion="INT_TO_FLOAT")
binary("atan2", _ATAN2)
