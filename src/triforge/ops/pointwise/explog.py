"""exp, expm1, sinh and cosh accurate to the last bits in float32; log1p; and the cheaper
forms (LOW) that a float32 computation stored in a half type takes.

Kahan's forms on tl.exp / tl.log keep the relative accuracy that exp(x) - 1 and log(1 + x)
lose near 0:
  expm1(x) = (u - 1) x / log(u), u = exp(x) rounded;  log1p(x) = log(u) x / (u - 1), u = 1 + x.
float64 uses both (tl.exp / tl.log are libdevice's accurate exp and log there). In float32
tl.exp is an approximate ex2 of a rounded argument (63 ulps at x = 87, H100) and the expm1
form costs a tl.log (a libdevice expansion) and a division. So float32 writes exp out:
- Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2 (k ln2_hi exact, so r is exact up to the
  ln2_lo term), expm1(r) = r + r^2 Q(r) with Q of degree 5, and 2^k from the bits:
  expm1(x) = 2^k expm1(r) + (2^k - 1), both terms exact below k = 25; exp(x) = 2^k (1 +
  expm1(r)), 2^k in two factors so the subnormal results round once;
- sinh and cosh from exp(|x|) / 2 = 2^(k-2) exp(r), doubled last (finite up to
  |x| = ln(2 max) ~ 89.4, where exp overflows at 88.7), -/+ tl.exp(-|x|) / 2 (at most half
  of cosh, under a seventh of sinh past 1: its few ulps shrink accordingly; 1 / (4 e) cost a
  division), and sinh below |x| = 1 an odd polynomial of degree 11 (the difference cancels).
log1p keeps Kahan's form in float32: fdlibm's reduction written out (1 + x = 2^k (1 + f),
log(1 + f) from s = f / (2 + f) and a degree-3 polynomial in s^2, the rounding of 1 + x
added back as (x - (u - 1)) / u) reached 0.75 ulps against 3.1, but ran at 0.68x torch in
bf16 against 0.81x: its two divisions and the bit work cost more than one tl.log.
LOW (a half result, 8 or 11 bits, cannot show a few float32 ulps): exp, sinh, cosh on
tl.exp, and log1p as three terms of its series below 2^-5, else tl.log(1 + x).

H100, 8192^2, x torch in the same process (explog-ab-at-131da33.txt), 131da33 -> f8953f7:
bf16 expm1 0.74 -> 1.05, elu / selu / celu 0.77-0.79 -> 1.11-1.14, sinh 0.37 -> 0.97,
log1p 0.81 -> 0.97, softplus 0.98 -> 1.16, mish 0.77 -> 0.86, logaddexp 0.94 -> 0.99, exp,
cosh, tanh 1.00-1.01 both; float32 1.00x (sinh 0.68 -> 1.00), and its max error in ulps
against float64: exp 63 -> 0.96, expm1 63 -> 1.4, sinh / cosh 103 -> 1.6 / 1.4.
The coefficients come from scripts/fit_float32_special.py (weighted minimax against
mpmath, rounded to float32 one at a time): Q to 2.4e-9 relative to expm1(r), the sinh
polynomial to 5.2e-9 relative to sinh."""
from __future__ import annotations

import triton
import triton.language as tl

LOG2E = tl.constexpr(1.4426950408889634)
LN2_HI = tl.constexpr(0.693145751953125)        # ln 2 to 16 bits: k * LN2_HI is exact for |k| < 256
LN2_LO = tl.constexpr(1.4286068203094173e-06)   # ln 2 - LN2_HI
LN2 = tl.constexpr(0.6931471805599453)
_ROUND = tl.constexpr(12582912.0)               # 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer


@triton.jit
def pow2_f32(k):
    """2^k as a float32 from its bits, for int32 k in [-126, 127]."""
    return ((k + 127) << 23).to(tl.float32, bitcast=True)


@triton.jit
def exp_reduce_f32(x):
    """x = k ln2 + r, |r| <= ln2/2 (plus x log2e's rounding): (k as int32, expm1(r)), for
    |x| < 2^22 ln2."""
    k = (x * LOG2E + _ROUND) - _ROUND
    r = (x - k * LN2_HI) - k * LN2_LO
    q = 0.00019845957 * r + 0.0013941642
    q = q * r + 0.0083333915
    q = q * r + 0.041666348
    q = q * r + 0.16666666
    q = q * r + 0.5
    return k.to(tl.int32), r + r * (r * q)


@triton.jit
def _exp_split_f32(x):
    """(m, s) with exp(x) = m s for x in [-115, 89] (clamped): 2^k in two factors, since k
    reaches 128 just below the overflow at 88.72 and -166 at the clamp; the product m s
    (or a m s) rounds once into the subnormals."""
    ki, p = exp_reduce_f32(tl.minimum(tl.maximum(x, -115.0), 89.0))
    h = ki >> 1
    return (p + 1.0) * pow2_f32(ki - h), pow2_f32(h)


@triton.jit
def exp_f32(x):
    """exp(x) to ~1 ulp (tl.exp: 63 ulps at x = 87 on the H100, its ex2 taking x log2e rounded)."""
    m, s = _exp_split_f32(x)
    return tl.where(x != x, x, m * s)


@triton.jit
def exp_any(x, LOW: tl.constexpr = False):
    """exp in the computation's dtype: tl.exp in float64 (libdevice's) and for half results
    (LOW), exp_f32 for float32 results."""
    if x.dtype == tl.float64 or LOW:
        y = tl.exp(x)
    else:
        y = exp_f32(x)
    return y


@triton.jit
def exp_times(x, a, LOW: tl.constexpr = False):
    """(exp(x), a exp(x)), each rounded once in float32 results: a exp(x) keeps its
    digits where exp(x) alone is subnormal (silu's a e^a from a = -87.3: -100 e^-100 is
    50 ulps off as a times the rounded e^-100)."""
    if x.dtype == tl.float64 or LOW:
        e = tl.exp(x)
        ae = a * e
    else:   # (below -115 both round to 0: |a| e^-|a| < 2^-150 from |a| = 109)
        m, s = _exp_split_f32(x)
        e = tl.where(x != x, x, m * s)
        ae = tl.where(x < -115.0, a * 0.0, (a * m) * s)   # (a * 0: NaN for infinite a, as a e^-inf)
    return e, ae


@triton.jit
def sigmoid_parts(a, LOW: tl.constexpr = False):
    """(sigmoid(a), 1 - sigmoid(a)) from e = exp(-|a|) <= 1: 1 / (1 + e) and e / (1 + e),
    so neither overflows nor cancels (1 / (1 + exp(-a)) is 0 from a = -88.7, where
    sigmoid is still 2e-39, and 1 - that loses every digit for large a). One division
    each in float32 results (e times 1 / (1 + e) was 2.3 ulps off)."""
    e = exp_any(-tl.abs(a), LOW)
    d = 1.0 + e
    pos = a >= 0
    if LOW:
        r = 1.0 / d
        q = e * r
        s, t = tl.where(pos, r, q), tl.where(pos, q, r)
    else:
        s = tl.where(pos, 1.0, e) / d
        t = tl.where(pos, e, 1.0) / d
    return s, t


@triton.jit
def _expm1_f32(x):
    # below -30 the result is -1 in float32; from 88.73 on it is inf (2^128 e^r overflows)
    ki, p = exp_reduce_f32(tl.minimum(tl.maximum(x, -30.0), 89.0))
    h = pow2_f32(ki - 1)
    t = h * 2.0   # 2^k: inf only at k = 128, which takes the branch that scales last
    y = tl.where(ki > 24, ((p + 1.0) * h) * 2.0, p * t + (t - 1.0))
    y = tl.where(x == 0.0, x, y)   # -0.0 keeps its sign
    return tl.where(x != x, x, y)


@triton.jit
def expm1(x):
    if x.dtype == tl.float64:
        u = tl.exp(x)
        r = tl.where(u == 1.0, x, tl.where(u - 1.0 == -1.0, -1.0, (u - 1.0) * (x / tl.log(u))))
        y = tl.where(u == float("inf"), u, r)
    else:
        y = _expm1_f32(x)
    return y


@triton.jit
def log1p(x, LOW: tl.constexpr = False):
    if LOW:   # a half result: below 2^-5 three terms of the series (the next: < 2^-17 of it), else
        # the log of 1 + x rounded (which moves it < 2^-19 there); 0.81x -> 0.97x torch in bf16
        y = tl.where(tl.abs(x) < 0.03125, x * (1.0 + x * (-0.5 + x * 0.33333334)), tl.log(1.0 + x))
    else:
        u = 1.0 + x
        r = tl.where(u == 1.0, x, tl.log(u) * (x / (u - 1.0)))
        y = tl.where(u == float("inf"), u, r)
    return y


@triton.jit
def half_exp_f32(a):
    """(exp(a) / 2, exp(-a) / 2) for a >= 0: exp(a) / 2 finite up to ln(2 max); the second
    from tl.exp (with 1 / (4 e) instead, bf16 8192^2 on the H100: sinh 0.82x, cosh 0.94x)."""
    ki, p = exp_reduce_f32(tl.minimum(a, 89.5))
    return ((p + 1.0) * pow2_f32(ki - 2)) * 2.0, 0.5 * tl.exp(-a)


@triton.jit
def sinh_f32(x, LOW: tl.constexpr = False):
    a = tl.abs(x)
    if LOW:   # a half result: tl.exp's few ulps (at 89, 5e-6 from rounding a - ln2) cannot show
        e = tl.exp(a - LN2)
        ie = 0.5 * tl.exp(-a)
    else:
        e, ie = half_exp_f32(a)
    z = a * a
    small = a + a * (z * (0.16666667 + z * (0.00833335 + z * (0.0001983616 + z * 2.8169516e-06))))
    y = tl.where(a < 1.0, small, e - ie)
    y = tl.where(x.to(tl.int32, bitcast=True) < 0, y * -1.0, y)   # sinh(-0.0) is -0.0
    return tl.where(x != x, x, y)


@triton.jit
def cosh_f32(x):
    e, ie = half_exp_f32(tl.abs(x))
    return tl.where(x != x, x, e + ie)
