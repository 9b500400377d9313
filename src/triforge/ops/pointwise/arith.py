"""add and mul through every layer (registry, launcher, int32/int64 offsets).

This is the foundation's first elementwise op, deliberately narrow: same-shape dense
operands of one dtype, or a tensor and a scalar (Python number or 0-dim CPU tensor).
Everything else (broadcasting, mixed dtypes, strides) falls back to ATen visibly until
the pointwise generator (issue 3) replaces this module.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher

_ADD, _MUL = 0, 1
_HALF = (torch.float16, torch.bfloat16)
_FLOAT = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_INT = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


@triton.jit
def _binary_kernel(x_ptr, y_ptr, y_scalar, out_ptr, n, alpha,
                   OP: tl.constexpr, Y_SCALAR: tl.constexpr, HAS_ALPHA: tl.constexpr,
                   UPCAST: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    if Y_SCALAR:
        y = y_scalar
    else:
        y = tl.load(y_ptr + offs, mask=mask)
    if UPCAST:  # half types compute in float32, as torch's opmath does
        x = x.to(tl.float32)
        y = y.to(tl.float32)
    if OP == 0:
        if HAS_ALPHA:
            y = y * alpha
        r = x + y
    else:
        r = x * y
    tl.store(out_ptr + offs, r.to(out_ptr.dtype.element_ty), mask=mask)


_launch = Launcher(_binary_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)
_dense_dtypes = frozenset(d for d in _FLOAT + _INT if d is not torch.float64 or backend().supports_fp64)
_FLOATS, _HALVES = frozenset(_FLOAT), frozenset(_HALF)
_I32_MAX = 2**31 - 1


def _scalar_of(other, dtype):
    """`other` as a kernel scalar for a `dtype` tensor, or None if torch's promotion
    would change the result dtype (or we cannot pass it exactly)."""
    if isinstance(other, torch.Tensor):
        if other.dim() != 0 or other.device.type != "cpu" or other.is_complex():
            return None
        other = other.item()
    t = type(other)
    if dtype in _FLOATS:
        if dtype is torch.float64 and t is float:   # a float kernel arg is fp32
            return None
        return float(other) if t in (int, float, bool) else None
    if t is int or t is bool:
        return int(other)
    return None


def _alpha_ok(alpha, dtype) -> bool:
    t = type(alpha)
    if dtype in _FLOATS:   # fp64 only without a multiply: a float kernel arg is fp32
        return t in (int, float, bool) and (alpha == 1 or dtype is not torch.float64)
    return t is int or t is bool   # torch raises for a float alpha on integers


def _run(op, x, other, out, alpha):
    """Returns out, or NotImplemented when the arguments are outside this kernel."""
    dt = x.dtype
    if dt not in _dense_dtypes or not x.is_contiguous():
        return NotImplemented
    if op == _ADD and not _alpha_ok(alpha, dt):
        return NotImplemented
    if isinstance(other, torch.Tensor) and other.dim() != 0:
        if (other.dtype is not dt or other.shape != x.shape or not other.is_contiguous()
                or other.get_device() != x.get_device()):
            return NotImplemented
        y, ys, scalar = other, 0, False
    else:
        if x.dim() == 0:   # two 0-dim operands promote differently; leave to ATen
            return NotImplemented
        ys = _scalar_of(other, dt)
        if ys is None:
            return NotImplemented
        y, scalar = x, True
    if out is None:
        out = torch.empty_like(x)   # x is contiguous, so this is too
    elif (out.dtype is not dt or out.shape != x.shape or not out.is_contiguous()
          or out.get_device() != x.get_device()):
        return NotImplemented
    n = x.numel()
    if n == 0:
        return out
    has_alpha = op == _ADD and alpha != 1
    a = (float(alpha) if dt in _FLOATS else int(alpha)) if has_alpha else 1
    # int64 offsets once the last block's padded offsets pass int32
    _launch(((n + _BLOCK - 1) // _BLOCK,), x, y, ys, out, n, a, op, scalar, has_alpha,
            dt in _HALVES, _BLOCK, n > _I32_MAX - _BLOCK, num_warps=_WARPS)
    return out


@impl("add.Tensor")
def add(self, other, *, alpha=1):
    return _run(_ADD, self, other, None, alpha)


@impl("add.out")
def add_out(self, other, *, alpha=1, out):
    return _run(_ADD, self, other, out, alpha)


@impl("add_.Tensor")
def add_(self, other, *, alpha=1):
    return _run(_ADD, self, other, self, alpha)


@impl("add.Scalar")
def add_scalar(self, other, alpha=1):
    return _run(_ADD, self, other, None, alpha)


@impl("mul.Tensor")
def mul(self, other):
    return _run(_MUL, self, other, None, 1)


@impl("mul.out")
def mul_out(self, other, *, out):
    return _run(_MUL, self, other, out, 1)


@impl("mul_.Tensor")
def mul_(self, other):
    return _run(_MUL, self, other, self, 1)


@impl("mul.Scalar")
def mul_scalar(self, other):
    return _run(_MUL, self, other, None, 1)
