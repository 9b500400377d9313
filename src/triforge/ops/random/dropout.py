"""native_dropout (mask drawn in-kernel from Philox: one read of x, one write of the
output and of the bool mask) and native_dropout_backward.

As ATen: keep with probability 1-p, scale kept values by 1/(1-p) (0 when p == 1), and
out = x * mask * scale, so a NaN that is dropped stays NaN, as torch's does."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from ...runtime.constants import f64_tensor
from ..blocks import block_range
from .philox import philox_block, seed_and_offset, u01


@triton.jit
def _drop_one(x_ptr, y_ptr, m_ptr, idx, N, r, p, scale):
    mask = idx < N
    x = tl.load(x_ptr + idx, mask=mask, other=0.0)
    keep = u01(r) >= p
    if x.dtype == tl.float64:
        y = x * keep.to(tl.float64) * scale
    else:
        y = x.to(tl.float32) * keep.to(tl.float32) * scale
    tl.store(y_ptr + idx, y.to(y_ptr.dtype.element_ty), mask=mask)
    tl.store(m_ptr + idx, keep, mask=mask)


@triton.jit
def _dropout_kernel(x_ptr, y_ptr, m_ptr, s_ptr, N, seed, offset, p, scale, F64: tl.constexpr, Q: tl.constexpr,
                    INT64: tl.constexpr):
    if F64:   # float64 input: the scale in double precision (scalar float args are float32)
        scale = tl.load(s_ptr)
    pid = tl.program_id(0)
    r0, r1, r2, r3 = philox_block(seed, offset, pid, Q, INT64)
    if INT64:
        i0 = pid.to(tl.int64) * (4 * Q) + tl.arange(0, Q)
    else:
        i0 = pid * (4 * Q) + tl.arange(0, Q)
    _drop_one(x_ptr, y_ptr, m_ptr, i0, N, r0, p, scale)
    _drop_one(x_ptr, y_ptr, m_ptr, i0 + Q, N, r1, p, scale)
    _drop_one(x_ptr, y_ptr, m_ptr, i0 + 2 * Q, N, r2, p, scale)
    _drop_one(x_ptr, y_ptr, m_ptr, i0 + 3 * Q, N, r3, p, scale)


@triton.jit
def _dropout_bwd_kernel(g_ptr, m_ptr, o_ptr, s_ptr, N, scale, F64: tl.constexpr, BLOCK: tl.constexpr,
                        INT64: tl.constexpr):
    if F64:
        scale = tl.load(s_ptr)
    idx, mask = block_range(N, BLOCK, INT64)
    g = tl.load(g_ptr + idx, mask=mask, other=0.0)
    m = tl.load(m_ptr + idx, mask=mask, other=0)
    acc = tl.float64 if g.dtype == tl.float64 else tl.float32
    y = g.to(acc) * (m.to(acc) * scale)
    tl.store(o_ptr + idx, y.to(o_ptr.dtype.element_ty), mask=mask)


_fwd = Launcher(_dropout_kernel)
_bwd = Launcher(_dropout_bwd_kernel)
_cfg = backend().table("random")
_Q, _WARPS = _cfg.get("dropout_Q", _cfg.get("Q", 1024)), _cfg.get("num_warps", 4)
_BLOCK = backend().table("elementwise").get("BLOCK", 1024)
_FLOATS = frozenset(backend().float_dtypes()) | {torch.float64}


def _fwd_ok(input, p, train):
    return input.dtype in _FLOATS and input.layout is torch.strided and 0.0 <= p <= 1.0


@impl("native_dropout", supports=_fwd_ok)
def native_dropout(input, p, train):
    if train is not None and not train:
        return input.clone(), torch.ones_like(input, dtype=torch.bool)
    n = input.numel()
    if n == 0:   # as ATen: the input itself and an empty mask of its dtype
        return input, torch.empty_like(input)
    x = input.contiguous()
    y = torch.empty_like(x)
    m = torch.empty_like(x, dtype=torch.bool)
    p1m = 1.0 - p
    scale = 0.0 if p1m == 0 else 1.0 / p1m
    progs = cdiv(n, 4 * _Q)
    seed, off = seed_and_offset(None, x.device)
    f64 = x.dtype is torch.float64
    s = f64_tensor((scale,), x.device) if f64 else y
    _fwd((progs,), x, y, m, s, n, seed, off, float(p), scale, f64, _Q, progs * 4 * _Q > 2**31 - 1,
         num_warps=_WARPS)
    return y, m


def _bwd_ok(grad_output, mask, scale):
    return (grad_output.dtype in _FLOATS and mask.shape == grad_output.shape and mask.device == grad_output.device
            and (mask.dtype is torch.bool or mask.dtype.is_floating_point))


@impl("native_dropout_backward", supports=_bwd_ok)
def native_dropout_backward(grad_output, mask, scale):
    g = grad_output.contiguous()
    m = mask.contiguous()
    out = torch.empty_like(g)
    n = g.numel()
    if n:
        f64 = g.dtype is torch.float64
        s = f64_tensor((float(scale),), g.device) if f64 else out
        _bwd((cdiv(n, _BLOCK),), g, m, out, s, n, float(scale), f64, _BLOCK,
             needs_int64(g, extra=n + _BLOCK), num_warps=4)
    return out
