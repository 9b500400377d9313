"""Activations used by LLMs and the backward ops autograd calls for them."""
from __future__ import annotations

import triton
import triton.language as tl

from ...codegen.pointwise import Pointwise
from .family import declare, unary
from .math import tanh


@triton.jit
def _relu(a):
    return tl.where((a > 0) | (a != a), a, 0)   # NaN stays NaN, as torch's


@triton.jit
def _silu(a):
    return a / (1.0 + tl.exp(-a))


@triton.jit
def _silu_backward(g, a):
    s = 1.0 / (1.0 + tl.exp(-a))
    return g * s * (1.0 + a * (1.0 - s))


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


@triton.jit
def _gelu_tanh(a):
    inner = 0.7978845608028654 * (a + 0.044715 * a * a * a)
    return 0.5 * a * (1.0 + tanh(inner))


@triton.jit
def _gelu_backward(g, a):
    cdf = 0.5 * (1.0 + tl.erf(a * 0.7071067811865476))
    pdf = tl.exp(-0.5 * a * a) * 0.3989422804014327
    return g * (cdf + a * pdf)


@triton.jit
def _gelu_tanh_backward(g, a):
    k = 0.7978845608028654
    inner = k * (a + 0.044715 * a * a * a)
    t = tanh(inner)
    d_inner = k * (1.0 + 3.0 * 0.044715 * a * a)
    return g * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * d_inner)


unary("relu", Pointwise(_relu, 1), bool_ok=False)
unary("silu", Pointwise(_silu, 1), float_only=True)

_SILU_BWD = Pointwise(_silu_backward, 2)
_SIGMOID_BWD = Pointwise(_sigmoid_backward, 2)
_TANH_BWD = Pointwise(_tanh_backward, 2)
_THRESHOLD_BWD = Pointwise(_threshold_backward, 2)
_GELU = {"none": Pointwise(_gelu, 1), "tanh": Pointwise(_gelu_tanh, 1)}
_GELU_BWD = {"none": Pointwise(_gelu_backward, 2), "tanh": Pointwise(_gelu_tanh_backward, 2)}


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
