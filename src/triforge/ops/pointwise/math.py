"""Unary math on the pointwise generator. Functions Triton's interpreter lacks
(libdevice) are written here from exp/log so the same source runs everywhere."""
from __future__ import annotations

import triton
import triton.language as tl

import torch

from ...codegen.pointwise import Pointwise, promote
from .compare import _maximum, _minimum
from .explog import cosh_f32, exp_any, expm1, log1p, sigmoid_parts, sinh_f32
from .family import binary, declare, unary


@triton.jit
def _neg(a):
    # Triton's -a is 0 - a, which leaves +0.0 at +0.0 (and neg(-0.0) right only by luck):
    # times -1 flips the sign bit of every float, zeros and NaN included
    if a.dtype.is_floating():
        r = a * -1.0
    else:
        r = -a
    return r


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
def _exp(a, LOW: tl.constexpr):
    return exp_any(a, LOW)


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
def _sigmoid(a, LOW: tl.constexpr):
    return sigmoid_parts(a, LOW)[0]


@triton.jit
def tanh(a, LOW: tl.constexpr = False):
    """tanh from exp: (1 - e) / (1 + e) with e = exp(-2|a|), and an odd polynomial below
    |a| = 5/8, where 1 - e would pass on more than 0.4x e's error (float32 tl.exp is an
    approximate ex2). The series below 1/16 it replaces reached 12.9 float32 ulps just past
    1/16 on the H100 (explog-ab-at-131da33.txt); the polynomial (float32 coefficients from
    scripts/fit_float32_special.py, 2.7e-9 relative; float64 keeps the series' first terms
    there: 6e-11) costs two more FMAs."""
    x = tl.abs(a)
    e = tl.exp(-2.0 * x)
    big = (1.0 - e) / (1.0 + e)
    z = x * x
    if a.dtype == tl.float64 or LOW:   # LOW (a half result): the series' 13 ulps cannot show
        small = x * (1.0 + z * (-1.0 / 3.0 + z * (2.0 / 15.0 + z * (-17.0 / 315.0))))
        t = tl.where(x < 0.0625, small, big)
    else:
        p = 0.0021429588 * z - 0.008177395
        p = p * z + 0.021700703
        p = p * z - 0.053946763
        p = p * z + 0.13333206
        p = p * z - 0.3333333
        t = tl.where(x < 0.625, x + x * (z * p), big)
    return tl.where(signbit(a), t * -1.0, t)   # tanh(-0.0) is -0.0 (a < 0 missed it; Triton's -t is 0 - t)


@triton.jit
def _tanh(a, LOW: tl.constexpr):
    return tanh(a, LOW)


unary("neg", Pointwise(_neg, 1), bool_ok=False)
unary("abs", Pointwise(_abs, 1), bool_ok=False)
for _name, _fn in (("reciprocal", _reciprocal), ("sqrt", _sqrt), ("rsqrt", _rsqrt), ("exp", _exp),
                   ("log", _log), ("sin", _sin), ("cos", _cos), ("sigmoid", _sigmoid), ("tanh", _tanh)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT", low=_name in ("exp", "tanh", "sigmoid")))


# pow(Tensor, Scalar) for the exponents LLM code uses, each exact as torch computes it
# (x*x for 2, sqrt for 0.5...); the others take the general pow below.
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


@triton.jit
def _pow_minus_two(a, e):
    return 1.0 / (a * a)


# the exponent takes part in promotion (pow(int, 2) is int) and is otherwise unused
_POW = {2: Pointwise(_pow2, 2), 3: Pointwise(_pow3, 2), 1: Pointwise(_pow1, 2),
        0.5: Pointwise(_pow_half, 2), -0.5: Pointwise(_pow_minus_half, 2), -1: Pointwise(_pow_minus_one, 2),
        -2: Pointwise(_pow_minus_two, 2)}


@triton.jit
def pow_float(x, y):
    """C's pow: exp(y log|x|) with the sign of odd integer powers, and its special cases
    (x**0 and 1**y are 1 even for NaN, (-1)**inf is 1, negative**non-integer is NaN).
    The error is |y log x| ulps: 1e-13 relative at most in float64."""
    ax = tl.abs(x)
    r = tl.exp(y * tl.log(ax))
    # (nested where()s, not &: a scalar exponent's conditions are 0-d, and the
    # interpreter's & of a 0-d and a block bool fails)
    integral = tl.floor(y) == y          # +-inf count as even integers
    odd = tl.where(integral, tl.floor(y * 0.5) != y * 0.5, False)
    r = tl.where(signbit(x), tl.where(odd, r * -1.0, r), r)   # (-0.0) ** odd is -0.0 (Triton's -r is 0 - r)
    r = tl.where(x < 0, tl.where(ax != float("inf"), tl.where(integral, r, float("nan")), r), r)
    r = tl.where(ax == 1.0, tl.where(tl.abs(y) == float("inf"), 1.0, r), r)
    r = tl.where(x == 1.0, 1.0, r)
    return tl.where(y == 0, 1.0, r)


@triton.jit
def _pow_float(x, y):
    return pow_float(x, y)


@triton.jit
def _pow_float_wide(x, y):
    # float32 results in float64: exp(y log x) in float32 is off by |y log x| float32
    # ulps (5e-6 relative near overflow), torch's powf by one or two
    return pow_float(x.to(tl.float64), y.to(tl.float64))


@triton.jit
def _pow_int(a, b):
    """Integer powers by squaring, wrapping as torch's; negative exponents as torch's
    powi: 1 for base 1, +-1 for base -1, 0 otherwise."""
    # all three block-shaped before the loop (one operand may be a scalar): a compiled
    # loop may not change a carried value from scalar to block
    z = a * 0 + b * 0
    e = tl.where(b < 0, 0, b) + z
    r = z + 1
    base = a + z
    for _ in range(a.dtype.primitive_bitwidth):
        r = tl.where((e & 1) != 0, r * base, r)
        base = base * base
        e = e >> 1
    if a.dtype.is_int_signed():
        neg = tl.where(a == 1, 1, tl.where(a == -1, 1 - 2 * (b & 1), 0))
        r = tl.where(b < 0, neg.to(a.dtype), r)
    return r


_POW_F, _POW_WIDE, _POW_I = Pointwise(_pow_float, 2), Pointwise(_pow_float_wide, 2), Pointwise(_pow_int, 2)


def _pow(self, exponent, out=None):
    """Every pow overload: self and exponent each a tensor or a Python number."""
    for o in (self, exponent):
        if isinstance(o, torch.Tensor) and o.is_complex() or not isinstance(o, (torch.Tensor, int, float)):
            return NotImplemented   # complex: ATen
    _, result = promote("DEFAULT", (self, exponent))
    if result is torch.bool:
        return NotImplemented   # torch raises ("pow" not implemented for 'Bool')
    if result.is_floating_point:
        return (_POW_WIDE if result is torch.float32 else _POW_F)(self, exponent, out=out)
    if type(exponent) is int and not 0 <= exponent <= torch.iinfo(result).max:
        return NotImplemented   # torch raises: a negative power, or one the dtype cannot hold
    return _POW_I(self, exponent, out=out)


def _pow_scalar(self, exponent, out=None):
    if (type(exponent) in (int, float) and exponent in _POW and self.dtype is not torch.bool
            and (self.dtype.is_floating_point or (exponent > 0 and type(exponent) is int))):
        return _POW[exponent](self, exponent, out=out)
    return _pow(self, exponent, out)


declare(lambda self, exponent: _pow_scalar(self, exponent), "pow.Tensor_Scalar", pw=_POW_F)
declare(lambda self, exponent, *, out: _pow_scalar(self, exponent, out), "pow.Tensor_Scalar_out", pw=_POW_F)
declare(lambda self, exponent: _pow_scalar(self, exponent, self), "pow_.Scalar", pw=_POW_F)
declare(lambda self, exponent: _pow(self, exponent), "pow.Tensor_Tensor", "pow.Scalar", pw=_POW_F)
declare(lambda self, exponent, *, out: _pow(self, exponent, out), "pow.Tensor_Tensor_out", "pow.Scalar_out",
        pw=_POW_F)
declare(lambda self, exponent: _pow(self, exponent, self), "pow_.Tensor", pw=_POW_F)


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
_SIGN = Pointwise(_sign, 1)
unary("sign", _SIGN, bool_ok=False)
unary("sgn", _SIGN, bool_ok=False)   # real dtypes; complex (z / |z|) is not in the generator: ATen


def _round_call(self, out=None):
    if not self.dtype.is_floating_point:
        return NotImplemented   # integers: ATen returns a copy
    return _ROUND(self, out=out)


_ROUND = Pointwise(_round, 1)
declare(lambda self: _round_call(self), "round", pw=_ROUND)
declare(lambda self: _round_call(self, self), "round_", pw=_ROUND)
declare(lambda self, *, out: _round_call(self, out), "round.out", pw=_ROUND)


@triton.jit
def _round_scaled(a, ten_pow):
    return div_exact(_round(a * ten_pow), ten_pow)


@triton.jit
def _round_coarse(a, ten_pow):
    return _round(div_exact(a, ten_pow)) * ten_pow


# torch's order of operations (round(x * 10^d) / 10^d, or round(x / 10^-d) * 10^-d, in
# opmath with 10^d rounded to it), so that ties fall the same way
_ROUND_SCALED, _ROUND_COARSE = Pointwise(_round_scaled, 1), Pointwise(_round_coarse, 1)


def _round_decimals(self, decimals, out=None):
    if not self.dtype.is_floating_point or type(decimals) is not int:
        return NotImplemented   # integers: torch raises
    if decimals == 0:
        return _ROUND(self, out=out)
    if abs(decimals) > (308 if self.dtype is torch.float64 else 38):
        return NotImplemented   # 10^d past the computation dtype's range (NaN in torch)
    pw = _ROUND_SCALED if decimals > 0 else _ROUND_COARSE
    return pw(self, params=(float(10 ** abs(decimals)),), out=out)


declare(lambda self, *, decimals: _round_decimals(self, decimals), "round.decimals", pw=_ROUND_SCALED)
declare(lambda self, *, decimals: _round_decimals(self, decimals, self), "round_.decimals", pw=_ROUND_SCALED)
declare(lambda self, *, decimals, out: _round_decimals(self, decimals, out), "round.decimals_out",
        pw=_ROUND_SCALED)


@triton.jit
def _clamp(a, lo, hi):
    return tl.minimum(tl.maximum(a, lo, propagate_nan=tl.PropagateNan.ALL), hi,
                      propagate_nan=tl.PropagateNan.ALL)


# Bounds take part in promotion (clamp(int, 0.5) is float), as torch's result_type;
# one bound is maximum / minimum with NaN propagation.
_CLAMP, _CLAMP_MIN, _CLAMP_MAX = Pointwise(_clamp, 3), Pointwise(_maximum, 2), Pointwise(_minimum, 2)


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


# -- exponentials and logarithms (expm1 / log1p / sinh / cosh in explog.py) ---------------
@triton.jit
def _log1p(a, LOW: tl.constexpr):
    return log1p(a, LOW)


@triton.jit
def _expm1(a):
    return expm1(a)


@triton.jit
def _exp2(a):
    return tl.exp2(a)


@triton.jit
def _log2(a):
    return tl.log2(a)


@triton.jit
def _log10(a):
    return tl.log2(a) * 0.30102999566398119521


for _name, _fn in (("log1p", _log1p), ("expm1", _expm1), ("exp2", _exp2), ("log2", _log2), ("log10", _log10)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT", low=_name == "log1p"))


@triton.jit
def _logaddexp(a, b, LOW: tl.constexpr):
    m = tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)
    r = m + log1p(tl.exp(-tl.abs(a - b)), LOW)
    return tl.where((a == b) & (tl.abs(a) == float("inf")), a, r)   # inf, inf: not inf - inf


@triton.jit
def _logaddexp2(a, b, LOW: tl.constexpr):
    m = tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)
    r = m + log1p(tl.exp2(-tl.abs(a - b)), LOW) * 1.4426950408889634
    return tl.where((a == b) & (tl.abs(a) == float("inf")), a, r)


@triton.jit
def _xlogy(x, y):
    r = tl.where(x == 0, 0.0, x * tl.log(y))
    return tl.where(y != y, y, r)   # NaN y gives NaN even where x == 0, as torch


def _floats_only(self, other) -> bool:
    return all(not isinstance(o, torch.Tensor) or o.dtype.is_floating_point for o in (self, other)) and \
        type(other) is not bool


_LAE, _LAE2 = Pointwise(_logaddexp, 2, low=True), Pointwise(_logaddexp2, 2, low=True)
for _name, _pw in (("logaddexp", _LAE), ("logaddexp2", _LAE2)):
    declare(lambda s, o, _pw=_pw: _pw(s, o) if _floats_only(s, o) else NotImplemented, _name, pw=_pw)
    declare(lambda s, o, *, out, _pw=_pw: _pw(s, o, out=out) if _floats_only(s, o) else NotImplemented,
            f"{_name}.out", pw=_pw)
binary("xlogy", Pointwise(_xlogy, 2, promotion="INT_TO_FLOAT"))


# -- division with rounding, remainders (floating point; integers go to ATen, which
# -- raises on division by zero where a kernel cannot) --------------------------------------
@triton.jit
def div_exact(a, b):
    """IEEE-rounded division (Triton's fp32 `/` may be approximate; fp64's is exact)."""
    if a.dtype == tl.float64:
        return a / b
    else:
        return tl.div_rn(a, b)


@triton.jit
def _div_trunc(a, b):
    return trunc(div_exact(a, b))   # an approximate quotient could cross an integer


@triton.jit
def _div_floor(a, b):
    """torch's floor division of floats (Python's //): from fmod, corrected for sign."""
    q = div_exact(a, b)
    mod = a % b
    d = div_exact(a - mod, b)
    d = tl.where((mod != 0) & ((b < 0) != (mod < 0)), d - 1.0, d)
    f = tl.floor(d)
    f = tl.where(d - f > 0.5, f + 1.0, f)
    r = tl.where(d != 0, f, 0.0 * q)   # a zero keeps the sign of a / b
    return tl.where(b == 0, q, r)


@triton.jit
def _remainder(a, b):
    mod = a % b
    return tl.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


@triton.jit
def _fmod(a, b):
    return a % b


_DIV_MODE = {"trunc": Pointwise(_div_trunc, 2), "floor": Pointwise(_div_floor, 2)}
_REM, _FMOD = Pointwise(_remainder, 2), Pointwise(_fmod, 2)


def _div_mode(self, other, rounding_mode, out=None):
    if rounding_mode is None:
        from .arith import _DIV
        return _DIV(self, other, out=out)
    pw = _DIV_MODE.get(rounding_mode)
    if pw is None or not _floats_only(self, other) or any(
            isinstance(o, torch.Tensor) and o.dtype in (torch.float16, torch.bfloat16) for o in (self, other)):
        return NotImplemented   # half types: ATen rounds the quotient to the half type first
    return pw(self, other, out=out)


declare(lambda s, o, *, rounding_mode: _div_mode(s, o, rounding_mode), "div.Tensor_mode", "div.Scalar_mode",
        pw=_DIV_MODE["floor"])
declare(lambda s, o, *, rounding_mode: _div_mode(s, o, rounding_mode, s), "div_.Tensor_mode",
        "div_.Scalar_mode", pw=_DIV_MODE["floor"])
declare(lambda s, o, *, rounding_mode, out: _div_mode(s, o, rounding_mode, out), "div.out_mode",
        "div.Scalar_mode_out", pw=_DIV_MODE["floor"])
for _name, _pw in (("remainder", _REM), ("fmod", _FMOD)):
    binary(_name, _pw, floats_only=True)
declare(lambda s, o: _div_mode(s, o, "floor"), "floor_divide", "floor_divide.Scalar", pw=_DIV_MODE["floor"])
declare(lambda s, o, *, out: _div_mode(s, o, "floor", out), "floor_divide.out", "floor_divide.Scalar_out",
        pw=_DIV_MODE["floor"])
declare(lambda s, o: _div_mode(s, o, "floor", s), "floor_divide_.Tensor", "floor_divide_.Scalar",
        pw=_DIV_MODE["floor"])


@triton.jit
def _nan_to_num(a, nan, posinf, neginf):
    r = tl.where(a != a, nan, a)
    r = tl.where(a == float("inf"), posinf, r)
    return tl.where(a == -float("inf"), neginf, r)


_NAN_TO_NUM = Pointwise(_nan_to_num, 1)


def _nan_to_num_call(self, nan=None, posinf=None, neginf=None, out=None):
    if not self.dtype.is_floating_point or any(v is not None and type(v) not in (int, float)
                                               for v in (nan, posinf, neginf)):
        return NotImplemented   # integers: a copy (ATen)
    info = torch.finfo(self.dtype)
    params = (0.0 if nan is None else nan, info.max if posinf is None else posinf,
              info.min if neginf is None else neginf)
    return _NAN_TO_NUM(self, params=params, out=out)


declare(lambda s, nan=None, posinf=None, neginf=None: _nan_to_num_call(s, nan, posinf, neginf),
        "nan_to_num", pw=_NAN_TO_NUM)
declare(lambda s, nan=None, posinf=None, neginf=None: _nan_to_num_call(s, nan, posinf, neginf, s),
        "nan_to_num_", pw=_NAN_TO_NUM)
declare(lambda s, nan=None, posinf=None, neginf=None, *, out: _nan_to_num_call(s, nan, posinf, neginf, out),
        "nan_to_num.out", pw=_NAN_TO_NUM)



# -- hyperbolic, erf, logit, sign bits, hypot --------------------------------------------------
@triton.jit
def _half_exp(x):
    """exp(x) / 2 as (exp(x/2) / 2) exp(x/2): finite up to x = ln(2 max), where exp(x)
    itself overflows ln 2 earlier (88.7 / 709.8 against 89.4 / 710.5)."""
    h = tl.exp(0.5 * x)
    return (0.5 * h) * h


@triton.jit
def _sinh(a, LOW: tl.constexpr):
    if a.dtype == tl.float64:
        r = 0.5 * (expm1(a) - expm1(-a))   # no cancellation near 0
        # past exp's overflow sinh is still finite (libm, CUDA: sinh(89.0) is 2.2e38 in float32)
        big = _half_exp(tl.abs(a))
        y = tl.where(tl.abs(r) == float("inf"), tl.where(a < 0, big * -1.0, big), r)
    else:
        y = sinh_f32(a, LOW)
    return y


@triton.jit
def _cosh(a, LOW: tl.constexpr):
    if a.dtype == tl.float64 or LOW:
        r = 0.5 * (tl.exp(a) + tl.exp(-a))
        y = tl.where(r == float("inf"), _half_exp(tl.abs(a)), r)   # as sinh's
    else:
        y = cosh_f32(a)
    return y


@triton.jit
def _tan(a):
    return tl.sin(a) / tl.cos(a)


@triton.jit
def _erf(a):
    return tl.erf(a)


@triton.jit
def signbit(a):
    """The sign bit (so -0.0 and negative NaNs count), by the bits of a float."""
    if a.dtype == tl.float64:
        return a.to(tl.int64, bitcast=True) < 0
    elif a.dtype == tl.float32:
        return a.to(tl.int32, bitcast=True) < 0
    else:
        return a < 0


@triton.jit
def _signbit(a):
    return signbit(a)


@triton.jit
def _copysign(a, b):
    m = tl.abs(a)
    return tl.where(signbit(b), m * -1.0, m)


@triton.jit
def _hypot(a, b):
    x = tl.abs(a)
    y = tl.abs(b)
    m = tl.maximum(x, y)
    n = tl.minimum(x, y)
    q = n / tl.where(m == 0, 1.0, m)
    r = tl.where(m == 0, 0.0, m * tl.sqrt(1.0 + q * q))
    r = tl.where((a != a) | (b != b), a + b, r)   # NaN ...
    return tl.where((x == float("inf")) | (y == float("inf")), float("inf"), r)   # ... unless an inf


@triton.jit
def _logit(a):
    return tl.log(a / (1.0 - a))


@triton.jit
def _logit_eps(a, eps):
    x = tl.minimum(tl.maximum(a, eps), 1.0 - eps)
    x = tl.where(a != a, a, x)
    return tl.log(x / (1.0 - x))


for _name, _fn in (("sinh", _sinh), ("cosh", _cosh), ("tan", _tan), ("erf", _erf)):
    unary(_name, Pointwise(_fn, 1, promotion="INT_TO_FLOAT", low=_name in ("sinh", "cosh")))
unary("signbit", Pointwise(_signbit, 1, promotion="ALWAYS_BOOL"))
binary("copysign", Pointwise(_copysign, 2, promotion="INT_TO_FLOAT"))
binary("hypot", Pointwise(_hypot, 2), floats_only=True)
_LOGIT, _LOGIT_EPS = Pointwise(_logit, 1, promotion="INT_TO_FLOAT"), Pointwise(_logit_eps, 1, promotion="INT_TO_FLOAT")


def _logit_call(self, eps=None, out=None):
    if eps is None:
        return _LOGIT(self, out=out)
    if type(eps) not in (int, float):
        return NotImplemented
    return _LOGIT_EPS(self, params=(eps,), out=out)


declare(lambda s, eps=None: _logit_call(s, eps), "logit", pw=_LOGIT)
declare(lambda s, eps=None: _logit_call(s, eps, s), "logit_", pw=_LOGIT)
declare(lambda s, eps=None, *, out: _logit_call(s, eps, out), "logit.out", pw=_LOGIT)
