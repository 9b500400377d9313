"""softmax forward (aten::_softmax) and backward (aten::_softmax_backward_data).

A row (the softmax dim) is either one block (N <= the backend's max_single_block) or
streamed in chunks: an online max+sum pass, then a write pass. Rows along a
non-innermost dim are read with stride `inner` (correct, not yet coalesced: the
reduction engine of issue 4 replaces this layout).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..backends import current as backend
from ..registry import impl
from ..runtime import Launcher, needs_int64
from ..runtime.autotune import Tuner, bucket


@triton.jit
def _row_base(row, N, inner, INT64: tl.constexpr):
    if INT64:
        row = row.to(tl.int64)
    return (row // inner) * N * inner + row % inner


@triton.jit
def _softmax_fwd_kernel(x_ptr, y_ptr, N, inner, ACC: tl.constexpr, SINGLE: tl.constexpr,
                        BLOCK: tl.constexpr, INT64: tl.constexpr):
    base = _row_base(tl.program_id(0), N, inner, INT64)
    cols = tl.arange(0, BLOCK)
    if SINGLE:
        mask = cols < N
        x = tl.load(x_ptr + base + cols * inner, mask=mask, other=-float("inf")).to(ACC)
        e = tl.exp(x - tl.max(x, 0))
        y = e / tl.sum(e, 0)
        tl.store(y_ptr + base + cols * inner, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        m = tl.full([BLOCK], -float("inf"), ACC)
        s = tl.zeros([BLOCK], ACC)
        for start in range(0, N, BLOCK):
            c = start + cols
            x = tl.load(x_ptr + base + c * inner, mask=c < N, other=-float("inf")).to(ACC)
            m_new = tl.maximum(m, x)
            dead = m_new == -float("inf")   # lane saw only -inf so far: keep its sum at 0
            s = tl.where(dead, 0.0, s * tl.exp(m - m_new) + tl.exp(x - m_new))
            m = m_new
        row_max = tl.max(m, 0)
        total = tl.sum(tl.where(m == -float("inf"), 0.0, s * tl.exp(m - row_max)), 0)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            x = tl.load(x_ptr + base + c * inner, mask=mask, other=-float("inf")).to(ACC)
            y = tl.exp(x - row_max) / total
            tl.store(y_ptr + base + c * inner, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_bwd_kernel(g_ptr, y_ptr, gi_ptr, N, inner, ACC: tl.constexpr, SINGLE: tl.constexpr,
                        BLOCK: tl.constexpr, INT64: tl.constexpr):
    base = _row_base(tl.program_id(0), N, inner, INT64)
    cols = tl.arange(0, BLOCK)
    if SINGLE:
        mask = cols < N
        g = tl.load(g_ptr + base + cols * inner, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + base + cols * inner, mask=mask, other=0.0).to(ACC)
        dot = tl.sum(g * y, 0)
        tl.store(gi_ptr + base + cols * inner, (y * (g - dot)).to(gi_ptr.dtype.element_ty), mask=mask)
    else:
        acc = tl.zeros([BLOCK], ACC)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            g = tl.load(g_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            y = tl.load(y_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            acc += g * y
        dot = tl.sum(acc, 0)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            g = tl.load(g_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            y = tl.load(y_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            tl.store(gi_ptr + base + c * inner, (y * (g - dot)).to(gi_ptr.dtype.element_ty), mask=mask)


_fwd = Launcher(_softmax_fwd_kernel)
_bwd = Launcher(_softmax_bwd_kernel)
_cfg = backend().table("softmax")
_MAX_SINGLE, _CHUNK = _cfg.get("max_single_block", 8192), _cfg.get("chunk", 2048)
_WARPS = _cfg.get("num_warps", 4)
_HALF = (torch.float16, torch.bfloat16)
_dtypes = frozenset(backend().float_dtypes())
# num_warps per (row-length bucket, dtype), tuned once per device and cached on disk.
_fwd_tuner = Tuner("softmax_fwd", _fwd.src_hash, [{"num_warps": w} for w in dict.fromkeys((_WARPS, 4, 8, 16))])


def _geometry(x, dim):
    """(rows, N, inner) of a contiguous tensor reduced along `dim`."""
    if x.dim() == 0:
        return 1, 1, 1
    d = dim % x.dim()
    n = x.shape[d]
    inner = 1
    for s in x.shape[d + 1:]:
        inner *= s
    return x.numel() // max(n, 1), n, inner


_plans: dict = {}   # (launcher, shape, dtype, dim) -> (grid, trailing args, num_warps)


def _launch_rows(launcher, tensors, x, dim, tuner=None):
    """Launch over the rows of `x` along `dim`. The geometry, flags and tuned warps of a
    shape are worked out once and cached: the host path of a repeated call is a dict
    lookup and the launch (a plan saves ~5 us per small softmax on an H100 host)."""
    key = (launcher, x.shape, x.dtype, dim)
    plan = _plans.get(key)
    if plan is None:
        plan = _make_plan(launcher, tensors, x, dim, tuner)
        if len(_plans) > 4096:
            _plans.clear()
        _plans[key] = plan
    grid, tail, warps = plan
    launcher(grid, *tensors, *tail, num_warps=warps)


def _make_plan(launcher, tensors, x, dim, tuner):
    rows, n, inner = _geometry(x, dim)
    single = n <= _MAX_SINGLE
    block = triton.next_power_of_2(n) if single else _CHUNK
    acc = tl.float64 if x.dtype is torch.float64 else tl.float32   # torch's accumulate type
    tail = (n, inner, acc, single, block, needs_int64(x))
    grid = (rows,)
    warps = _WARPS
    if tuner is not None and single:
        cfg = tuner.best((bucket(n), str(x.dtype)),
                         lambda c: launcher(grid, *tensors, *tail, num_warps=c["num_warps"]))
        warps = cfg["num_warps"]
    return grid, tail, warps


# ATen takes half_to_float for float16 on CUDA only; elsewhere torch's error stands.
_HALF_TO_FLOAT = frozenset((torch.float16,) if not backend().interpreted else ())


def _fwd_ok(self, dim, half_to_float):
    return self.dtype in _dtypes and (not half_to_float or self.dtype in _HALF_TO_FLOAT)


@impl("_softmax", supports=_fwd_ok)
def softmax(self, dim, half_to_float):
    x = self.contiguous()
    out = torch.empty_like(x, dtype=torch.float32) if half_to_float else torch.empty_like(x)
    if x.numel():
        _launch_rows(_fwd, (x, out), x, dim, _fwd_tuner)
    return out


def _bwd_ok(grad_output, output, dim, input_dtype):
    """As ATen's CUDA kernel: grad and output of one dtype; grad_input of that dtype, or
    float16 after a half_to_float forward. Anything else goes to ATen (which raises)."""
    dt = output.dtype
    return (dt in _dtypes and grad_output.dtype is dt and grad_output.shape == output.shape
            and (input_dtype is dt or (dt is torch.float32 and input_dtype in _HALF_TO_FLOAT)))


@impl("_softmax_backward_data", supports=_bwd_ok)
def softmax_backward(grad_output, output, dim, input_dtype):
    g = grad_output.contiguous()
    y = output.contiguous()
    gi = torch.empty_like(g) if input_dtype is g.dtype else torch.empty_like(g, dtype=input_dtype)
    if g.numel():
        _launch_rows(_bwd, (g, y, gi), g, dim)
    return gi
