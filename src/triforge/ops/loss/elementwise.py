"""mse_loss, smooth_l1_loss, huber_loss, binary_cross_entropy: forward and backward,
one kernel pair.

Forward with reduction 'none' writes the elementwise loss; 'sum'/'mean' write one
partial sum per program and rows.total adds them in order (deterministic). Backward is
elementwise: g * dloss/dinput (g a scalar for sum/mean, scaled by 1/n for mean).
Same-shape, same-dtype operands only; broadcasting calls go to ATen.
l1_loss and kl_div are CompositeImplicitAutograd in torch (they decompose into
pointwise ops and reductions): nothing to register. binary_cross_entropy_with_logits
is served forward only: torch differentiates it with pointwise ops (no backward op).
Its broadcast weight / pos_weight are expanded to the input's shape first (a copy).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, scratch
from ...runtime.constants import f64_tensor
from ..blocks import block_range
from ..norm.rows import FLOATS, INTERPRETED, acc_dtype, acc_of, f64_scalars, total
from ..pointwise.activation import log1p_exp
from ..pointwise.explog import log1p

MSE, SMOOTH_L1, HUBER, BCE, BCE_LOGITS = 0, 1, 2, 3, 4
_BLOCK = backend().table("elementwise").get("BLOCK", 2048)


@triton.jit
def _loss_value(a, b, KIND: tl.constexpr, param):
    d = a - b
    z = tl.abs(d)
    if KIND == 0:
        return d * d
    elif KIND == 1:
        return tl.where(z < param, 0.5 * z * z / param, z - 0.5 * param)
    elif KIND == 2:
        return tl.where(z < param, 0.5 * z * z, param * (z - 0.5 * param))
    else:   # binary cross entropy, logs clamped at -100 as torch
        # as ATen: (t - 1) max(log1p(-x), -100) - t max(log(x), -100), whose zeros carry torch's
        # sign (-(...) here was 0 - (...): +0.0 at x = t = 1). log1p, not log(1 - x): at x =
        # 1e-8, t = 0 the loss is 1e-8 where log(1 - x) rounds to 0 (and -x keeps -0.0's sign)
        l0 = tl.maximum(log1p(a * -1.0), -100.0)
        v = (b - 1.0) * l0 - b * tl.maximum(tl.log(a), -100.0)
        # an input outside [0, 1] (or NaN): torch raises; here NaN. tl.maximum does not
        # propagate NaN by default (maxnum on NVIDIA), so log(<0) alone would give -100.
        return tl.where((a >= 0.0) & (a <= 1.0), v, float("nan"))


@triton.jit
def _loss_fwd_kernel(a_ptr, b_ptr, w_ptr, pw_ptr, out_ptr, n, param, coef_ptr, COEF: tl.constexpr,
                     HAS_W: tl.constexpr, HAS_PW: tl.constexpr,
                     KIND: tl.constexpr, REDUCE: tl.constexpr,
                     ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs, mask = block_range(n, BLOCK, INT64)
    a = tl.load(a_ptr + offs, mask=mask, other=0.0).to(ACC)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0).to(ACC)
    if COEF:
        param = tl.load(coef_ptr)
    if KIND == 4:   # with logits: (1 - t) * x + (1 + (pw - 1) * t) * softplus(-x)
        # softplus(-x) through log1p, as ATen's log_sigmoid: log(e + 1) is 0 for e < eps/2
        # (x = 20, t = 1 gave 0, not 2e-9)
        sp = log1p_exp(a * -1.0)
        if HAS_PW:
            sp = sp * (1.0 + (tl.load(pw_ptr + offs, mask=mask, other=1.0).to(ACC) - 1.0) * b)
        v = (1.0 - b) * a + sp
    else:
        v = _loss_value(a, b, KIND, param)
    if HAS_W:
        v = v * tl.load(w_ptr + offs, mask=mask, other=0.0).to(ACC)
    if REDUCE:
        tl.store(out_ptr + tl.program_id(0), tl.sum(tl.where(mask, v, 0.0), 0))
    else:
        tl.store(out_ptr + offs, v.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _loss_bwd_kernel(g_ptr, a_ptr, b_ptr, w_ptr, out_ptr, n, param, scale, coef_ptr,
                     COEF: tl.constexpr,
                     HAS_W: tl.constexpr, KIND: tl.constexpr,
                     G_SCALAR: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs, mask = block_range(n, BLOCK, INT64)
    a = tl.load(a_ptr + offs, mask=mask, other=0.0).to(ACC)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0).to(ACC)
    if COEF:   # float64: the exact scalars, before any use (scale included)
        param = tl.load(coef_ptr)
        scale = tl.load(coef_ptr + 1)
    if G_SCALAR:
        g = tl.load(g_ptr).to(ACC) * scale
    else:
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
    d = a - b
    if KIND == 0:
        dv = 2.0 * d
    elif KIND == 1:
        dv = tl.where(d < -param, -1.0, tl.where(d > param, 1.0, d / param))
    elif KIND == 2:
        dv = tl.where(d < -param, -param, tl.where(d > param, param, d))
    else:
        dv = d / tl.maximum((1.0 - a) * a, 1e-12)
    if HAS_W:
        dv = dv * tl.load(w_ptr + offs, mask=mask, other=0.0).to(ACC)
    tl.store(out_ptr + offs, (g * dv).to(out_ptr.dtype.element_ty), mask=mask)


_fwd = Launcher(_loss_fwd_kernel)
_bwd = Launcher(_loss_bwd_kernel)


def _forward(a, b, reduction, kind, param, w=None, pw=None):
    a, b = a.contiguous(), b.contiguous()
    wt = a if w is None else w.contiguous()
    pwt = a if pw is None else pw.contiguous()
    n = a.numel()
    exact, coef = f64_scalars(a.dtype, a.device, param) if kind != MSE else (False, None)
    coef = a if coef is None else coef
    big = needs_int64(a)
    if reduction == 0:
        out = torch.empty_like(a)
        if n:
            _fwd((cdiv(n, _BLOCK),), a, b, wt, pwt, out, n, float(param), coef, exact, w is not None,
                 pw is not None, kind,
                 False, acc_of(a.dtype), _BLOCK, big)
        return out
    progs = cdiv(n, _BLOCK)
    part = scratch((progs,), acc_dtype(a.dtype), a.device)
    if n:
        _fwd((progs,), a, b, wt, pwt, part, n, float(param), coef, exact, w is not None, pw is not None, kind,
             True,
             acc_of(a.dtype), _BLOCK, big)
    out = torch.empty((), dtype=a.dtype, device=a.device)
    if reduction == 2:
        return total(part, out)
    # the mean of nothing is 0 / 0: NaN, as torch
    if part.dtype is not torch.float64:   # torch's mean divides in float32 too: n as a float32 argument
        return total(part, out, div=float(n))
    count = f64_tensor((float(n),), a.device)   # exact (made once per n; a call the C++ entry won't repeat)
    return total(part, out, count)


def _backward(g, a, b, reduction, kind, param, w=None):
    a, b = a.contiguous(), b.contiguous()
    n = a.numel()
    out = torch.empty_like(a)
    if n:
        scalar = reduction != 0
        scale = (1.0 / n) if reduction == 1 else 1.0
        exact, coef = f64_scalars(a.dtype, a.device, param, scale)
        _bwd((cdiv(n, _BLOCK),), g.contiguous(), a, b, a if w is None else w.contiguous(), out, n,
             float(param), scale, a if coef is None else coef, exact, w is not None, kind, scalar,
             acc_of(a.dtype), _BLOCK, needs_int64(a))
    return out


def _ok(self, target, reduction=1, *param):
    return (self.dtype in FLOATS and target.dtype is self.dtype and self.shape == target.shape
            and self.device == target.device and reduction in (0, 1, 2))


def _bwd_ok(grad_output, self, target, reduction, *param):
    return _ok(self, target, reduction) and grad_output.dtype is self.dtype and (
        grad_output.shape == self.shape if reduction == 0 else grad_output.numel() == 1)


@impl("mse_loss", supports=_ok, repeat=True)
def mse_loss(self, target, reduction=1):
    return _forward(self, target, reduction, MSE, 0.0)


@impl("mse_loss_backward", supports=_bwd_ok, repeat=True)
def mse_loss_backward(grad_output, self, target, reduction):
    return _backward(grad_output, self, target, reduction, MSE, 0.0)


def _beta_ok(self, target, reduction=1, beta=1.0):
    return _ok(self, target, reduction) and beta > 0   # beta == 0 is l1: ATen


def _beta_bwd_ok(grad_output, self, target, reduction, beta):
    return _bwd_ok(grad_output, self, target, reduction) and beta > 0


@impl("smooth_l1_loss", supports=_beta_ok, repeat=True)
def smooth_l1_loss(self, target, reduction=1, beta=1.0):
    return _forward(self, target, reduction, SMOOTH_L1, beta)


@impl("smooth_l1_loss_backward", supports=_beta_bwd_ok, repeat=True)
def smooth_l1_loss_backward(grad_output, self, target, reduction, beta):
    return _backward(grad_output, self, target, reduction, SMOOTH_L1, beta)


@impl("huber_loss", supports=_beta_ok, repeat=True)
def huber_loss(self, target, reduction=1, delta=1.0):
    return _forward(self, target, reduction, HUBER, delta)


@impl("huber_loss_backward", supports=_beta_bwd_ok, repeat=True)
def huber_loss_backward(grad_output, self, target, reduction, delta):
    return _backward(grad_output, self, target, reduction, HUBER, delta)


# -- binary cross entropy -----------------------------------------------------------------
def _bce_ok(self, target, weight=None, reduction=1):
    if not (_ok(self, target, reduction) and (weight is None or (weight.dtype is self.dtype
                                                                 and weight.shape == self.shape))):
        return False
    # torch raises for inputs outside [0, 1]; under the interpreter let it (host check).
    # On a GPU (no host sync) such an input gives NaN.
    return not INTERPRETED or self.numel() == 0 or bool(((self >= 0) & (self <= 1)).all())


def _bce_bwd_ok(grad_output, self, target, weight=None, reduction=1):
    return _bce_ok(self, target, weight, reduction) and _bwd_ok(grad_output, self, target, reduction)


@impl("binary_cross_entropy", supports=_bce_ok, repeat=True)
def binary_cross_entropy(self, target, weight=None, reduction=1):
    return _forward(self, target, reduction, BCE, 0.0, weight)


@impl("binary_cross_entropy_backward", supports=_bce_bwd_ok, repeat=True)
def binary_cross_entropy_backward(grad_output, self, target, weight=None, reduction=1):
    return _backward(grad_output, self, target, reduction, BCE, 0.0, weight)


# -- binary cross entropy with logits ---------------------------------------------------------
def _full(p, x):
    """p broadcast to x's shape, contiguous (None stays None); False when it does not broadcast."""
    if p is None:
        return None
    if p.dtype is not x.dtype or p.device != x.device:
        return False
    try:
        return p.expand(x.shape).contiguous()
    except RuntimeError:
        return False


def _logits_ok(self, target, weight=None, pos_weight=None, reduction=1):
    return (_ok(self, target, reduction) and _full(weight, self) is not False
            and _full(pos_weight, self) is not False)


@impl("binary_cross_entropy_with_logits", supports=_logits_ok, repeat=True)
def binary_cross_entropy_with_logits(self, target, weight=None, pos_weight=None, reduction=1):
    return _forward(self, target, reduction, BCE_LOGITS, 0.0, _full(weight, self), _full(pos_weight, self))
