"""erfc and erfinv without libdevice (the interpreter has neither), accurate in float32
and float64.

erfc(z) = t exp(-z^2) f(t), t = 2 / (2 + z) for z >= 0: f is smooth on t in (0, 1]
and is summed as a Chebyshev series (coefficients fitted for triforge with mpmath at
40 digits; 25 terms reach 3e-16 relative).
1 - erf(z) would lose everything past z ~ 3 to cancellation.

erfinv: a polynomial first guess (fitted the same way, 4e-5 relative) refined by
Halley steps on erf(x) - y, with the residual taken as (1 - y) - erfc(x) near |y| = 1
where erf(x) - y would cancel.

float32 (and the half types, which compute in float32) has its own path for both, with
direct polynomials and no tl.exp / tl.log / tl.erf (on a GPU tl.log and tl.erf are
~30-instruction expansions and tl.exp an approximate ex2 of a rounded argument; in the
interpreter numpy's float32 exp / log are off by up to 2.4 / 3.8 ulps):
- erfinv: no Halley step (the float64 one costs an erf, an erfc, two exps and two
  divisions): -log2((1-a)(1+a)) from the float's exponent and a degree-7 polynomial in
  its mantissa, then erfinv as a degree-10 polynomial in it (|y| < 0.999) or degree-5
  in its square root; within 1.6 ulps;
- erfc: the same exp(-z^2) t f(t) form with t = 1 / (1 + z), f of degree 12 in Horner
  form (the Clenshaw recurrence costs two operations a term), a first-order correction
  for the rounding of 1 + z, and exp(-z^2) written out (exact Cody-Waite reduction,
  degree-6 polynomial, 2^k from bits) instead of two tl.exp; within 3.8 ulps: the
  float32 roundings of the division, the Horner steps and the products add up (2 ulps
  would need double-float steps, costing more than this path saves).
Half results (LOW, codegen/pointwise.py) take the same forms at lower degrees (erfinv's
log2 4, central 6, tail 3; erfc's f 7, without the Taylor step): 5e-5 relative at
worst, where a faithful half rounding needs ~2e-4. H200 bf16 8192^2, x torch: erfinv
0.53 -> 0.64 (still compute-bound), erfc 0.92 -> 1.07.
The coefficients come from scripts/fit_float32_special.py (weighted minimax against
mpmath, rounded to float32 one at a time)."""
from __future__ import annotations

import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import unary
from .explog import LN2_HI as _LN2_HI, LN2_LO as _LN2_LO, LOG2E as _LOG2E
from .math import signbit

_SQRT_PI_2 = tl.constexpr(0.88622692545275801365)   # sqrt(pi) / 2
# 1.5 * 2^23 + 191: adding it rounds a float32 below 2^22 in magnitude to an integer k
# and leaves k + 191 in the low mantissa bits, so (bits << 23) is the float 2^(k + 64)
_ROUND_BIAS = tl.constexpr(12583103.0)
_TWO_M64 = tl.constexpr(5.421010862427522e-20)   # 2^-64
_SQRT_HALF_BITS = tl.constexpr(0x3F3504F3)       # float32 sqrt(1/2)


@triton.jit
def erfc_pos(z, LOW: tl.constexpr = False):
    """erfc(z) for z >= 0 (or NaN); LOW: a half-type result (codegen/pointwise.py)."""
    if z.dtype == tl.float64:
        e = _erfc_pos_f64(z)
    else:
        e = _erfc_pos_f32(z, LOW)
    return e


@triton.jit
def _erfc_pos_f64(z):
    z = tl.where(z > 30.0, 30.0, z)   # erfc(30) underflows float64: keeps inf - inf out
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    u2 = 2.0 * u
    # Clenshaw's recurrence b_k = c_k + 2u b_{k+1} - b_{k+2}, highest term first
    b1 = u * 0.0 - 2.2782966239546465e-16
    b2 = u * 0.0
    b1, b2 = 1.5729349381685912e-15 + u2 * b1 - b2, b1
    b1, b2 = -2.358726385710632e-15 + u2 * b1 - b2, b1
    b1, b2 = -1.2895042755032325e-14 + u2 * b1 - b2, b1
    b1, b2 = 7.418725748596617e-14 + u2 * b1 - b2, b1
    b1, b2 = -6.14560021379063e-14 + u2 * b1 - b2, b1
    b1, b2 = -8.586422843251796e-13 + u2 * b1 - b2, b1
    b1, b2 = 3.5714931488477042e-12 + u2 * b1 - b2, b1
    b1, b2 = 2.0612138554721698e-12 + u2 * b1 - b2, b1
    b1, b2 = -6.160390105204585e-11 + u2 * b1 - b2, b1
    b1, b2 = 1.4320822712256225e-10 + u2 * b1 - b2, b1
    b1, b2 = 6.347058278362811e-10 + u2 * b1 - b2, b1
    b1, b2 = -4.154721631015199e-09 + u2 * b1 - b2, b1
    b1, b2 = -1.2962846852306563e-09 + u2 * b1 - b2, b1
    b1, b2 = 8.234608827419493e-08 + u2 * b1 - b2, b1
    b1, b2 = -1.4297608181169865e-07 + u2 * b1 - b2, b1
    b1, b2 = -1.5154665553171482e-06 + u2 * b1 - b2, b1
    b1, b2 = 5.442441645505016e-06 + u2 * b1 - b2, b1
    b1, b2 = 3.278031574173137e-05 + u2 * b1 - b2, b1
    b1, b2 = -0.0001607582991537808 + u2 * b1 - b2, b1
    b1, b2 = -0.0011128447433526325 + u2 * b1 - b2, b1
    b1, b2 = 0.003671142395836639 + u2 * b1 - b2, b1
    b1, b2 = 0.06509515882878653 + u2 * b1 - b2, b1
    b1, b2 = 0.3554369212704985 + u2 * b1 - b2, b1
    f = 0.5770337386164697 + u * b1 - b2
    # exp(-z^2) as exp(-h^2) exp(-(z-h)(z+h)) with h = z to 8 fraction bits (h^2 exact):
    # exp(-z*z) would carry z*z's rounding times z^2 (5e-6 relative at z = 9 in float32)
    h = tl.floor(z * 256.0) * 0.00390625
    return t * (tl.exp(-h * h) * tl.exp(-(z - h) * (z + h))) * f


@triton.jit
def _erfc_pos_f32(z, LOW: tl.constexpr):
    # past 10.5 erfc is 0 in float32 (from 10.06); the clamp also keeps 2^k in range
    z = tl.where(z > 10.5, 10.5, z)
    # erfc(z) exp(z^2) = G(z) = t f(t), t = 1 / d, d = 1 + z: f to 1e-8 relative on
    # z <= 9.25 (where the result stops being normal), as a polynomial in t - 0.4. The
    # result is scaled by 2^-64 from here on (see below), for free in the division.
    d = 1.0 + z
    t = _TWO_M64 / d
    if LOW:   # half results: f to 5.1e-6 relative (degree 7), d's rounding left in
        u = t * 18446744073709551616.0 - 0.65
        f = 0.3609564 * u + 0.14434922
        f = f * u - 0.31154543
        f = f * u + 0.18240555
        f = f * u + 0.068947166
        f = f * u - 0.3874326
        f = f * u + 0.3578148
        f = f * u + 0.9176758
        g = t * f
    else:
        u = t * 18446744073709551616.0 - 0.4   # 2^64 t - 0.4
        f = 0.39282513 * u - 1.3595055
        f = f * u + 1.82283
        f = f * u - 0.96823007
        f = f * u - 0.34541512
        f = f * u + 0.9271503
        f = f * u - 0.58163816
        f = f * u - 0.12421612
        f = f * u + 0.52653074
        f = f * u - 0.30080414
        f = f * u - 0.32164386
        f = f * u + 0.54669935
        f = f * u + 0.80396354
        g = t * f
        # t is 1/d for z' = d - 1 (exact), not for z, and d's rounding would reach the
        # result about 1:1 (1 ulp near z = 0): one Taylor step G(z) = G(z') + (z - z') G',
        # where G' = 2 z G - 2/sqrt(pi) (that times 2^-64: 6.1e-20)
        g = g + (z - (d - 1.0)) * ((z + z) * g - 6.116955721761694e-20)
    # exp(-z^2) = exp(hi + lo): zh is z with its 12 low mantissa bits cleared, so
    # hi = -zh^2 is exact (-z*z would carry z*z's rounding times z^2: 5e-6 at z = 9)
    zh = (z.to(tl.int32, bitcast=True) & -4096).to(tl.float32, bitcast=True)
    hi = -zh * zh
    lo = (zh - z) * (z + zh)   # in (-0.082, 0]
    # = 2^k exp(r), k = round(hi / ln 2), r = (hi - k ln2_hi) + (lo - k ln2_lo) in
    # [-0.44, 0.35], the first part exact (Sterbenz); 2^k from k's bits, as 2^(k+64):
    # normal down to z = 10.5, and with the 2^-64 above results past z = 9.2 round
    # once into the subnormals
    m = hi * _LOG2E + _ROUND_BIAS
    k = m - _ROUND_BIAS
    r = (hi - k * _LN2_HI) + (lo - k * _LN2_LO)
    q = 0.0013267773 * r + 0.008372536
    q = q * r + 0.041678075
    q = q * r + 0.16666482
    q = q * r + 0.49999958
    q = q * r + 1.0
    q = q * r   # exp(r) - 1 (1.1e-8 relative to exp(r)): g exp(r) as g + g q rounds once
    scale = (m.to(tl.int32, bitcast=True) << 23).to(tl.float32, bitcast=True)
    return (g + g * q) * scale


@triton.jit
def erfc(a, LOW: tl.constexpr = False):
    e = erfc_pos(tl.abs(a), LOW)
    return tl.where(a < 0, 2.0 - e, e)


@triton.jit
def _erfc(a, LOW: tl.constexpr):
    return erfc(a, LOW)


@triton.jit
def _erfinv(y, LOW: tl.constexpr):
    if y.dtype == tl.float64:
        x = _erfinv_f64(y)
    else:
        x = _erfinv_f32(y, LOW)
    return x


@triton.jit
def _erfinv_f64(y):
    a = tl.abs(y)
    w = -tl.log((1.0 - a) * (1.0 + a))
    v = w - 2.5
    p = -3.3475424488103585e-06 * v - 6.570188903730345e-07
    p = p * v + 0.00021885606153128942
    p = p * v - 0.0012653016048928746
    p = p * v - 0.00417983890408898
    p = p * v + 0.24664966315662412
    p = p * v + 1.5014104349393136
    v = tl.sqrt(w) - 3.0
    q = 0.00017085257211399204 * v - 0.0015292986127624815
    q = q * v + 0.005241909390231127
    q = q * v - 0.009195419170011413
    q = q * v + 0.010198449734460893
    q = q * v + 1.0019781369100895
    q = q * v + 2.8329089418463647
    x = a * tl.where(w < 5.0, p, q)
    near_one = a > 0.5
    one_minus = 1.0 - a   # exact where it is used
    # Halley: x -= d / (1 + x d), d = residual / erf'(x); cubic convergence from 4e-5
    r = tl.where(near_one, one_minus - erfc_pos(x), tl.erf(x) - a)
    d = r * _SQRT_PI_2 * tl.exp(x * x)
    x = x - d / (1.0 + x * d)
    r = tl.where(near_one, one_minus - erfc_pos(x), tl.erf(x) - a)
    d = r * _SQRT_PI_2 * tl.exp(x * x)
    x = x - d / (1.0 + x * d)
    x = tl.where(a == 1.0, float("inf"), x)
    x = tl.where(a > 1.0, float("nan"), x)
    return tl.where(signbit(y), x * -1.0, x)


@triton.jit
def _erfinv_f32(y, LOW: tl.constexpr):
    a = tl.abs(y)
    q = (1.0 - a) * (1.0 + a)   # 1 - a exact where it matters (a > 1/2)
    # w = -log2(q) by hand: q = m 2^e with m in [sqrt(1/2), sqrt(2)), log2(m) = f R(f),
    # f = m - 1 (R to 2e-7 relative: w's error reaches x at most ~0.1x that)
    d = q.to(tl.int32, bitcast=True) - _SQRT_HALF_BITS
    f = ((d & 0x7FFFFF) + _SQRT_HALF_BITS).to(tl.float32, bitcast=True) - 1.0
    if LOW:   # half results: 5.0e-5 relative (degree 4)
        p = 0.2547521 * f - 0.39089292
        p = p * f + 0.4853066
        p = p * f - 0.72055495
        p = p * f + 1.4426463
    else:
        p = -0.14581183 * f + 0.23404267
        p = p * f - 0.24887694
        p = p * f + 0.28709868
        p = p * f - 0.36023962
        p = p * f + 0.48092324
        p = p * f - 0.7213528
        p = p * f + 1.442695
    w = -(d >> 23).to(tl.float32) - f * p
    if LOW:
        x = _erfinv_low(a, w)
    else:
        x = _erfinv_full(a, w)
    x = tl.where(a < 1.0, x, tl.where(a == 1.0, float("inf"), float("nan")))
    return tl.where(signbit(y), x * -1.0, x)   # (-x is 0 - x in Triton: erfinv(-0) would be +0)


@triton.jit
def _erfinv_low(a, w):
    """erfinv(a) from w = -log2((1-a)(1+a)) for half results: 9.6e-6 relative below
    w = 9 (degree 6 in w - 2, of erfinv(a) / a - 1), 1.3e-5 above (degree 3 in sqrt(w))."""
    v = w - 2.0
    c = -2.174958e-07 * v + 2.0407886e-06
    c = c * v + 3.928846e-05
    c = c * v - 0.00070992496
    c = c * v + 0.0007593154
    c = c * v + 0.17332377
    c = c * v + 0.2236169
    v = tl.sqrt(w) - 3.7390718
    g = -0.0015332462 * v + 0.004333938
    g = g * v + 0.8358826
    g = g * v + 2.9461324
    return tl.where(w < 9.0, a + a * c, g)


@triton.jit
def _erfinv_full(a, w):
    # w < 9 (a < 0.999): erfinv(a) = K a + a (P(w) + 1 - K), P = erfinv(a) / a - 1 to
    # 1e-8 relative to erfinv(a) / a, in w - 2. K a is exact and K (1, or 2 past w = 3.5,
    # where erfinv(a) / a passes 1.5) keeps the rest below 1/2 in magnitude, so that its
    # roundings stay well below the result's ulp (with erfinv(a) = a (1 + P) they added
    # up to 2 ulps near erfinv(a) = 2, where a float32 ulp is smallest)
    top = w > 3.5
    v = w - 2.0
    c = 1.6320398e-11 * v - 5.8074984e-10
    c = c * v + 7.2000423e-09
    c = c * v - 1.107292e-08
    c = c * v - 5.9418653e-07
    c = c * v + 4.3079885e-06
    c = c * v + 3.7745573e-05
    c = c * v - 0.00072266505
    c = c * v + 0.0007720178
    c = c * v + 0.17334239
    c = c * v + tl.where(top, -0.7763893, 0.2236107)   # 0.2236107 - 1 is exact
    # w in [9, 23] (23 at a = 1 - 2^-24): erfinv(a) = Q(sqrt(w)), 3.5e-8 relative
    v = tl.sqrt(w) - 4.200992
    g = -7.983547e-05 * v + 0.0002987625
    g = g * v - 0.0009897419
    g = g * v + 0.0021610567
    g = g * v + 0.8387207
    g = g * v + 3.333015
    return tl.where(w < 9.0, tl.where(top, a + a, a) + a * c, g)


unary("erfc", Pointwise(_erfc, 1, promotion="INT_TO_FLOAT", low=True))
unary("erfinv", Pointwise(_erfinv, 1, promotion="INT_TO_FLOAT", low=True))
