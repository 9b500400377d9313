"""Activations (torch.nn.functional's pointwise ones) and the backward ops autograd calls."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import declare, unary
from .explog import exp_any, exp_times, sigmoid_parts
from .math import expm1, log1p


@triton.jit
def _relu(a):
    return tl.where((a > 0) | (a != a), a, 0)   # NaN stays NaN, as torch's


@triton.jit
def _silu(a, LOW: tl.constexpr):
    # a sigmoid(a) from e = exp(-|a|) (see explog.sigmoid_parts): exp_f32 for float32 results (~1 ulp, where tl.exp's
    # rounded ex2 argument is 63 ulps off at |a| = 87), tl.exp for half ones (LOW); and
    # finite from a = -88.7 on, where a / (1 + exp(-a)) is -0 (torch's form too)
    e, ae = exp_times(-tl.abs(a), a, LOW)
    return tl.where(a >= 0, a, ae) / (1.0 + e)


@triton.jit
def _silu_backward(g, a, LOW: tl.constexpr):
    s, t = sigmoid_parts(a, LOW)   # t = 1 - s, without the cancellation
    return g * s * (1.0 + a * t)


@triton.jit
def _sigmoid_backward(g, y):
    return g * y * (1.0 - y)


@triton.jit
def _tanh_backward(g, y):
    return g * (1.0 - y * y)


@triton.jit
def _threshold_backward(g, a, threshold):
    return tl.where(a <= threshold, 0.0, g)


@triton.jit
def _gelu(a):
    return a * 0.5 * (1.0 + tl.erf(a * 0.7071067811865476))


# gelu's tanh form as torch writes it, 0.5 a (1 + tanh(u)), u = sqrt(2/pi) (a + 0.044715 a^3),
# is a sigmoid: a s, s = 1 / (1 + exp(-2u)) -- one exp and one division, no tanh (H100 bf16
# 8192^2, x torch: 0.958 -> 1.000, backward 0.938 -> 1.026; explog-ab-at-131da33.txt run D),
# and nothing cancels where 1 + tanh(u) did (float32: ~1% off from a = -4, 0 from -5.5;
# float64 0 from -7.5). With t = exp(-2|u|), never past 1, s is
# 1 / (1 + t) or t / (1 + t): no overflow either (exp(-2u) overflowed from a = -10, where
# the result is still 3e-38).
@triton.jit
def _gelu_tanh_parts(a, LOW: tl.constexpr):
    v = -1.5957691216057308 * (a + 0.044715 * a * a * a)   # -2u
    t = exp_any(-tl.abs(v), LOW)
    r = 1.0 / (1.0 + t)
    return tl.where(v <= 0, r, t * r), t, r


@triton.jit
def _gelu_tanh(a, LOW: tl.constexpr):
    s, t, r = _gelu_tanh_parts(a, LOW)
    return a * s


@triton.jit
def _gelu_backward(g, a):
    cdf = 0.5 * (1.0 + tl.erf(a * 0.7071067811865476))
    pdf = tl.exp(-0.5 * a * a) * 0.3989422804014327
    return g * (cdf + a * pdf)


@triton.jit
def _gelu_tanh_backward(g, a, LOW: tl.constexpr):
    # d/da a s = s + a s (1 - s) 2u', s (1 - s) = t / (1 + t)^2 for either sign of u
    s, t, r = _gelu_tanh_parts(a, LOW)
    return g * (s + a * (1.5957691216057308 * (1.0 + 0.134145 * a * a)) * (t * r) * r)


unary("relu", Pointwise(_relu, 1), bool_ok=False)
unary("silu", Pointwise(_silu, 1, low=True), float_only=True)

_SILU_BWD = Pointwise(_silu_backward, 2, low=True)
_SIGMOID_BWD = Pointwise(_sigmoid_backward, 2)
_TANH_BWD = Pointwise(_tanh_backward, 2)
_THRESHOLD_BWD = Pointwise(_threshold_backward, 2)
_GELU = {"none": Pointwise(_gelu, 1), "tanh": Pointwise(_gelu_tanh, 1, low=True)}
_GELU_BWD = {"none": Pointwise(_gelu_backward, 2), "tanh": Pointwise(_gelu_tanh_backward, 2, low=True)}


def _floats(*ts) -> bool:
    return all(t.dtype.is_floating_point for t in ts)


def _bwd(pw):
    def fn(grad_output, x, *, out=None):
        if not _floats(grad_output, x):
            return NotImplemented
        return pw(grad_output, x, out=out)
    return fn


_silu_bwd, _sigmoid_bwd, _tanh_bwd = _bwd(_SILU_BWD), _bwd(_SIGMOID_BWD), _bwd(_TANH_BWD)
declare(lambda g, x: _silu_bwd(g, x), "silu_backward", pw=_SILU_BWD)
declare(lambda g, x, *, grad_input: _silu_bwd(g, x, out=grad_input), "silu_backward.grad_input", pw=_SILU_BWD)
declare(lambda g, y: _sigmoid_bwd(g, y), "sigmoid_backward", pw=_SIGMOID_BWD)
declare(lambda g, y, *, grad_input: _sigmoid_bwd(g, y, out=grad_input), "sigmoid_backward.grad_input",
        pw=_SIGMOID_BWD)
declare(lambda g, y: _tanh_bwd(g, y), "tanh_backward", pw=_TANH_BWD)
declare(lambda g, y, *, grad_input: _tanh_bwd(g, y, out=grad_input), "tanh_backward.grad_input", pw=_TANH_BWD)


def _threshold_bwd(g, x, threshold, out=None):
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        return NotImplemented
    return _THRESHOLD_BWD(g, x, params=(threshold,), out=out)


declare(lambda g, x, threshold: _threshold_bwd(g, x, threshold), "threshold_backward", pw=_THRESHOLD_BWD)
declare(lambda g, x, threshold, *, grad_input: _threshold_bwd(g, x, threshold, grad_input),
        "threshold_backward.grad_input", pw=_THRESHOLD_BWD)


def _gelu_call(x, approximate="none", out=None):
    pw = _GELU.get(approximate)
    if pw is None or not x.dtype.is_floating_point:
        return NotImplemented
    return pw(x, out=out)


def _gelu_bwd(g, x, approximate="none", out=None):
    pw = _GELU_BWD.get(approximate)
    if pw is None or not _floats(g, x):
        return NotImplemented
    return pw(g, x, out=out)


declare(lambda x, *, approximate="none": _gelu_call(x, approximate), "gelu", pw=_GELU["none"])
declare(lambda x, *, approximate="none": _gelu_call(x, approximate, x), "gelu_", pw=_GELU["none"])
declare(lambda x, *, approximate="none", out: _gelu_call(x, approximate, out), "gelu.out", pw=_GELU["none"])
declare(lambda g, x, *, approximate="none": _gelu_bwd(g, x, approximate), "gelu_backward", pw=_GELU["none"])
declare(lambda g, x, *, approximate="none", grad_input: _gelu_bwd(g, x, approximate, grad_input),
        "gelu_backward.grad_input", pw=_GELU["none"])


# -- the rest of torch.nn.functional's pointwise activations ----------------------------
@triton.jit
def _leaky_relu(a, slope):
    return tl.where(a > 0, a, a * slope)


@triton.jit
def _leaky_relu_backward(g, a, slope):
    return tl.where(a > 0, g, g * slope)


@triton.jit
def _elu(a, alpha, scale, input_scale):
    # expm1 as ATen: exp(x) - 1 cancels for small |x| (elu(-1e-8) was 0 in float32, and
    # elu(-0.0) +0.0 where torch's is -0.0)
    return tl.where(a > 0, a * scale, expm1(a * input_scale) * alpha * scale)


@triton.jit
def _elu_backward_input(g, a, alpha, scale, input_scale):
    return tl.where(a > 0, g * scale, g * input_scale * alpha * scale * tl.exp(a * input_scale))


@triton.jit
def _elu_backward_result(g, y, alpha, scale, input_scale):
    # y = alpha*scale*(exp(x*input_scale) - 1) where x <= 0, so the derivative is (y + alpha*scale)*input_scale
    return tl.where(y > 0, g * scale, g * input_scale * (y + alpha * scale))


@triton.jit
def _hardtanh(a, lo, hi):
    return tl.minimum(tl.maximum(a, lo, propagate_nan=tl.PropagateNan.ALL), hi, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _hardtanh_backward(g, a, lo, hi):
    return tl.where((a <= lo) | (a >= hi), 0.0, g)


@triton.jit
def _hardsigmoid(a):
    return tl.minimum(tl.maximum(a + 3.0, 0.0, propagate_nan=tl.PropagateNan.ALL), 6.0,
                      propagate_nan=tl.PropagateNan.ALL) / 6.0


@triton.jit
def _hardsigmoid_backward(g, a):
    return tl.where((a > -3.0) & (a < 3.0), g / 6.0, 0.0)


@triton.jit
def _hardswish(a):
    return a * tl.minimum(tl.maximum(a + 3.0, 0.0, propagate_nan=tl.PropagateNan.ALL), 6.0,
                          propagate_nan=tl.PropagateNan.ALL) / 6.0


@triton.jit
def _hardswish_backward(g, a):
    return tl.where(a < -3.0, 0.0, tl.where(a <= 3.0, g * (a / 3.0 + 0.5), g))


@triton.jit
def log1p_exp(z, LOW: tl.constexpr = False):
    """log(1 + exp(z)) without overflow: max(z, 0) + log1p(exp(-|z|)) (log(1 + e) rounds
    to 0 once e < eps/2: softplus(-20) was 0 in float32 where torch's log1p gives 2.1e-9)."""
    return tl.maximum(z, 0.0) + log1p(tl.exp(-tl.abs(z)), LOW)


@triton.jit
def _softplus(a, beta, threshold, LOW: tl.constexpr):
    z = a * beta
    return tl.where(z > threshold, a, log1p_exp(z, LOW) / beta)


@triton.jit
def _softplus_backward(g, a, beta, threshold, LOW: tl.constexpr):
    # g sigmoid(z) as silu's a sigmoid(a): g e / (1 + e) below 0, e = exp(-|z|), rounded once
    # (g / (1 + exp(-z)) was 0 from z = -88.7)
    z = a * beta
    e, ge = exp_times(-tl.abs(z), g, LOW)
    return tl.where(z > threshold, g, tl.where(z >= 0, g, ge) / (1.0 + e))


@triton.jit
def _mish_parts(a, LOW: tl.constexpr):
    """(e, n) with e = exp(a), n = e (e + 2): tanh(softplus(a)) = tanh(log(1 + e)) =
    ((1 + e)^2 - 1) / ((1 + e)^2 + 1) = n / (n + 2), one exp and one division where
    tanh(log1p(exp)) took two exps, a log and a division (H100 bf16 8192^2, x torch: 0.77 ->
    1.35, backward 0.91 -> 1.76; explog-ab-at-131da33.txt run D); no step cancels. Past
    a = 20 the quotient is 1 in float64 too (and n would overflow)."""
    e = exp_any(tl.minimum(a, 20.0), LOW)
    return e, e * (e + 2.0)


@triton.jit
def _mish(a, LOW: tl.constexpr):
    e, n = _mish_parts(a, LOW)
    return a * (n / (n + 2.0))


@triton.jit
def _mish_backward(g, a, LOW: tl.constexpr):
    # d/da a tanh(sp(a)) = t + a sigmoid(a) (1 - t^2), 1 - t^2 = 4 (n + 1) / (n + 2)^2
    e, n = _mish_parts(a, LOW)
    r = 1.0 / (n + 2.0)
    return g * (n * r + a * (e / (1.0 + e)) * ((4.0 * n + 4.0) * r * r))


@triton.jit
def _threshold(a, threshold, value):
    return tl.where(a <= threshold, value, a)


@triton.jit
def _glu(a, b, LOW: tl.constexpr):
    e, ae = exp_times(-tl.abs(b), a, LOW)   # a sigmoid(b) as silu's (a / (1 + exp(-b)) was 0 from b = -88.7)
    return tl.where(b >= 0, a, ae) / (1.0 + e)


_LEAKY, _LEAKY_BWD = Pointwise(_leaky_relu, 1), Pointwise(_leaky_relu_backward, 2)
_ELU, _ELU_BWD_X, _ELU_BWD_Y = Pointwise(_elu, 1), Pointwise(_elu_backward_input, 2), Pointwise(_elu_backward_result, 2)
_HARDTANH, _HARDTANH_BWD = Pointwise(_hardtanh, 1), Pointwise(_hardtanh_backward, 2)
_HSIG, _HSIG_BWD = Pointwise(_hardsigmoid, 1), Pointwise(_hardsigmoid_backward, 2)
_HSWISH, _HSWISH_BWD = Pointwise(_hardswish, 1), Pointwise(_hardswish_backward, 2)
_SOFTPLUS, _SOFTPLUS_BWD = Pointwise(_softplus, 1, low=True), Pointwise(_softplus_backward, 2, low=True)
_MISH, _MISH_BWD = Pointwise(_mish, 1, low=True), Pointwise(_mish_backward, 2, low=True)
_THRESHOLD = Pointwise(_threshold, 1)
_GLU = Pointwise(_glu, 2, low=True)


def _nums(*vs) -> bool:
    return all(type(v) in (int, float) for v in vs)


def _act(pw, x, params=(), out=None, grad=None):
    """x (and grad) floating, parameters plain numbers; else ATen decides."""
    ts = (x,) if grad is None else (grad, x)
    if not all(isinstance(t, torch.Tensor) and t.dtype.is_floating_point for t in ts) or not _nums(*params):
        return NotImplemented
    return pw(*ts, params=params, out=out)


declare(lambda x, negative_slope=0.01: _act(_LEAKY, x, (negative_slope,)), "leaky_relu", pw=_LEAKY)
declare(lambda x, negative_slope=0.01: _act(_LEAKY, x, (negative_slope,), x), "leaky_relu_", pw=_LEAKY)
declare(lambda x, negative_slope=0.01, *, out: _act(_LEAKY, x, (negative_slope,), out), "leaky_relu.out",
        pw=_LEAKY)


def _leaky_bwd(g, x, negative_slope, self_is_result, out=None):
    if self_is_result and negative_slope < 0:   # ATen raises: the result cannot tell the sign
        return NotImplemented
    return _act(_LEAKY_BWD, x, (negative_slope,), out, grad=g)


declare(lambda g, x, negative_slope, self_is_result: _leaky_bwd(g, x, negative_slope, self_is_result),
        "leaky_relu_backward", pw=_LEAKY_BWD)
declare(lambda g, x, negative_slope, self_is_result, *, grad_input:
        _leaky_bwd(g, x, negative_slope, self_is_result, grad_input), "leaky_relu_backward.grad_input", pw=_LEAKY_BWD)

declare(lambda x, alpha=1, scale=1, input_scale=1: _act(_ELU, x, (alpha, scale, input_scale)), "elu", pw=_ELU)
declare(lambda x, alpha=1, scale=1, input_scale=1: _act(_ELU, x, (alpha, scale, input_scale), x), "elu_",
        pw=_ELU)
declare(lambda x, alpha=1, scale=1, input_scale=1, *, out: _act(_ELU, x, (alpha, scale, input_scale), out),
        "elu.out", pw=_ELU)


def _elu_bwd(g, alpha, scale, input_scale, is_result, x_or_y, *, grad_input=None):
    pw = _ELU_BWD_Y if is_result else _ELU_BWD_X
    return _act(pw, x_or_y, (alpha, scale, input_scale), grad_input, grad=g)


declare(_elu_bwd, "elu_backward", "elu_backward.grad_input", pw=_ELU_BWD_X)

declare(lambda x, min_val=-1, max_val=1: _act(_HARDTANH, x, (min_val, max_val)), "hardtanh", pw=_HARDTANH)
declare(lambda x, min_val=-1, max_val=1: _act(_HARDTANH, x, (min_val, max_val), x), "hardtanh_", pw=_HARDTANH)
declare(lambda x, min_val=-1, max_val=1, *, out: _act(_HARDTANH, x, (min_val, max_val), out), "hardtanh.out",
        pw=_HARDTANH)
declare(lambda g, x, min_val, max_val: _act(_HARDTANH_BWD, x, (min_val, max_val), grad=g), "hardtanh_backward",
        pw=_HARDTANH_BWD)
declare(lambda g, x, min_val, max_val, *, grad_input: _act(_HARDTANH_BWD, x, (min_val, max_val), grad_input, grad=g),
        "hardtanh_backward.grad_input", pw=_HARDTANH_BWD)

for _name, _pw, _bwd_pw in (("hardsigmoid", _HSIG, _HSIG_BWD), ("hardswish", _HSWISH, _HSWISH_BWD),
                            ("mish", _MISH, _MISH_BWD)):
    declare(lambda x, _pw=_pw: _act(_pw, x), _name, pw=_pw)
    declare(lambda x, _pw=_pw: _act(_pw, x, out=x), f"{_name}_", pw=_pw)
    declare(lambda x, *, out, _pw=_pw: _act(_pw, x, out=out), f"{_name}.out", pw=_pw)
    declare(lambda g, x, _pw=_bwd_pw: _act(_pw, x, grad=g), f"{_name}_backward", pw=_bwd_pw)
    declare(lambda g, x, *, grad_input, _pw=_bwd_pw: _act(_pw, x, out=grad_input, grad=g),
            f"{_name}_backward.grad_input", pw=_bwd_pw)

declare(lambda x, beta=1, threshold=20: _act(_SOFTPLUS, x, (beta, threshold)), "softplus", pw=_SOFTPLUS)
declare(lambda x, beta=1, threshold=20, *, out: _act(_SOFTPLUS, x, (beta, threshold), out), "softplus.out",
        pw=_SOFTPLUS)
declare(lambda g, x, beta, threshold: _act(_SOFTPLUS_BWD, x, (beta, threshold), grad=g), "softplus_backward",
        pw=_SOFTPLUS_BWD)
declare(lambda g, x, beta, threshold, *, grad_input: _act(_SOFTPLUS_BWD, x, (beta, threshold), grad_input, grad=g),
        "softplus_backward.grad_input", pw=_SOFTPLUS_BWD)

declare(lambda x, threshold, value: _act(_THRESHOLD, x, (threshold, value)), "threshold", pw=_THRESHOLD)
declare(lambda x, threshold, value: _act(_THRESHOLD, x, (threshold, value), x), "threshold_", pw=_THRESHOLD)
declare(lambda x, threshold, value, *, out: _act(_THRESHOLD, x, (threshold, value), out), "threshold.out",
        pw=_THRESHOLD)


def _glu_call(x, dim=-1, out=None):
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point or x.dim() == 0:
        return NotImplemented
    n = x.shape[dim]
    if n % 2:
        return NotImplemented   # torch raises: halving an odd dimension
    a, b = x.narrow(dim, 0, n // 2), x.narrow(dim, n // 2, n // 2)   # strided views: no copies
    return _GLU(a, b, out=out)


declare(lambda x, dim=-1: _glu_call(x, dim), "glu", pw=_GLU)
declare(lambda x, dim=-1, *, out: _glu_call(x, dim, out), "glu.out", pw=_GLU)


@triton.jit
def _glu_backward(g, a, b, half, LOW: tl.constexpr):
    s, t = sigmoid_parts(b, LOW)   # t = 1 - s without the cancellation
    return tl.where(half == 0, g * s, g * a * s * t)


# One launch writes both halves of grad_input: it is viewed with `dim` split into
# (2, n/2), the operands broadcast along the new size-2 dim, and `half` (0 or 1 along
# it, loaded as stored) picks the formula.
_GLU_BWD = Pointwise(_glu_backward, 4, promoted=(0, 1, 2), low=True)
_halves: dict = {}


def _half_index(device, nd, dim):
    key = (device, nd, dim)
    t = _halves.get(key)
    if t is None:
        shape = [1] * nd
        shape[dim] = 2
        t = _halves[key] = torch.tensor([0, 1], dtype=torch.int8, device=device).view(shape)
    return t


def _glu_bwd(g, x, dim, out=None):
    if not (_floats(g, x) and g.dtype is x.dtype) or x.dim() == 0 or not -x.dim() <= dim < x.dim():
        return NotImplemented
    dim %= x.dim()
    n = x.shape[dim]
    shape = list(x.shape)
    shape[dim] = n // 2
    if n % 2 or list(g.shape) != shape or (out is not None and out.shape != x.shape):
        return NotImplemented   # torch raises, or resizes out
    h = n // 2
    if out is None:
        out = torch.empty_like(x)
    res = _GLU_BWD(g.unsqueeze(dim), x.narrow(dim, 0, h).unsqueeze(dim), x.narrow(dim, h, h).unsqueeze(dim),
                   _half_index(x.device, x.dim() + 1, dim), out=out.unflatten(dim, (2, h)))
    return NotImplemented if res is NotImplemented else out


declare(lambda g, x, dim: _glu_bwd(g, x, dim), "glu_backward", pw=_GLU_BWD)
declare(lambda g, x, dim, *, grad_input: _glu_bwd(g, x, dim, grad_input), "glu_backward.grad_input", pw=_GLU_BWD)

# celu is an op of its own at the backend (selu decomposes to elu above it)


def _celu(x, alpha=1.0, out=None):
    if type(alpha) not in (int, float) or alpha == 0:
        return NotImplemented   # torch raises for alpha 0
    return _act(_ELU, x, (alpha, 1, 1.0 / alpha), out)


declare(lambda x, alpha=1.0: _celu(x, alpha), "celu", pw=_ELU)
declare(lambda x, alpha=1.0: _celu(x, alpha, x), "celu_", pw=_ELU)
