"""nll_loss_forward / nll_loss_backward for 1-d (C,) and 2-d (N, C) input, and
nll_loss2d_forward / nll_loss2d_backward for (N, C, H, W) input (read in place: the
class stride is H*W).

Forward: a block of rows per program gathers -w[t] * x[row, t] and w[t] (0 where
t == ignore_index); sums go through rows.total in a fixed order. Backward writes the
whole (N, C) gradient in one pass (zeros except at each row's target): no separate fill.
Out-of-range targets: checked on the host under the interpreter (torch raises there);
on a GPU the loss is NaN and the gradient row is left at zero, without a host sync.
Offsets are 64-bit throughout (the kernels are gathers/scatters, not bandwidth-bound
inner loops).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, next_power_of_2
from ..norm.rows import FLOATS, INTERPRETED, acc_dtype, acc_of, total


@triton.jit
def _nll_fwd_kernel(x_ptr, t_ptr, w_ptr, loss_ptr, wrow_ptr, N, C, HW, ignore_index, HAS_W: tl.constexpr,
                    ACC: tl.constexpr, BLOCK: tl.constexpr):
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = rows < N
    t = tl.load(t_ptr + rows, mask=live, other=ignore_index)
    valid = live & (t != ignore_index)
    inside = (t >= 0) & (t < C)
    tc = tl.where(inside & valid, t, 0)
    r64 = rows.to(tl.int64)   # row = (sample, position): x[sample, class, position]
    x = tl.load(x_ptr + (r64 // HW) * C * HW + tc * HW + r64 % HW, mask=valid & inside, other=0.0).to(ACC)
    if HAS_W:
        w = tl.load(w_ptr + tc, mask=valid & inside, other=0.0).to(ACC)
    else:
        w = tl.where(valid, 1.0, 0.0).to(ACC)
    # -x * w as ATen (a -0.0 weight or input gives its sign; Triton's -w is 0 - w); ignored rows +0.0
    loss = tl.where(valid & ~inside, float("nan"), tl.where(valid, (x * -1.0) * w, 0.0))
    tl.store(loss_ptr + rows, loss, mask=live)
    tl.store(wrow_ptr + rows, tl.where(valid, w, 0.0), mask=live)


@triton.jit
def _nll_bwd_kernel(g_ptr, t_ptr, w_ptr, tw_ptr, dx_ptr, N, C, HW, ignore_index, G_PER_ROW: tl.constexpr,
                    MEAN: tl.constexpr, HAS_W: tl.constexpr, ACC: tl.constexpr, ROWS: tl.constexpr,
                    BLOCK: tl.constexpr):
    """A (ROWS x BLOCK) tile of the gradient: -w[t] * g at each row's target, else 0."""
    rows = (tl.program_id(0) * ROWS + tl.arange(0, ROWS)).to(tl.int64)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    live = rows < N
    t = tl.load(t_ptr + rows, mask=live, other=ignore_index)
    valid = live & (t != ignore_index) & (t >= 0) & (t < C)
    tc = tl.where(valid, t, 0)
    if G_PER_ROW:
        g = tl.load(g_ptr + rows, mask=live, other=0.0).to(ACC)
    else:
        g = tl.load(g_ptr).to(ACC)
    if MEAN:
        g = g / tl.load(tw_ptr).to(ACC)
    if HAS_W:
        w = tl.load(w_ptr + tc, mask=valid, other=0.0).to(ACC)
    else:
        w = 1.0
    v = tl.where(valid, (w * -1.0) * g, 0.0)   # -w * g as ATen: a +0.0 weight gives -0.0 (Triton's -w is 0 - w)
    hit = c[None, :] == t[:, None]
    out = tl.where(hit, v[:, None], 0.0)
    off = (rows // HW * C * HW + rows % HW)[:, None] + c[None, :] * HW
    tl.store(dx_ptr + off, out.to(dx_ptr.dtype.element_ty), mask=live[:, None] & (c[None, :] < C))


_fwd = Launcher(_nll_fwd_kernel)
_bwd = Launcher(_nll_bwd_kernel)
_ROWS = 1024


def _targets_ok(target, c, ignore_index):
    if not INTERPRETED or target.numel() == 0:
        return True
    live = target[target != ignore_index]
    return not (live.numel() and (bool((live < 0).any()) or bool((live >= c).any())))


def _ok(self, target, weight, reduction, ignore_index):
    if not (self.dtype in FLOATS and target.dtype is torch.int64 and reduction in (0, 1, 2)
            and self.dim() in (1, 2) and target.dim() == self.dim() - 1 and target.device == self.device):
        return False
    if self.dim() == 1 and reduction == 0:
        return False   # ATen's 1-d 'none' result has its own total_weight convention
    if self.dim() == 2 and target.shape[0] != self.shape[0]:
        return False
    c = self.shape[-1]
    if weight is not None and (weight.dtype is not self.dtype or tuple(weight.shape) != (c,)):
        return False
    return _targets_ok(target, c, ignore_index)


def _nll_forward(x, t, weight, reduction, ignore_index, hw, out_shape):
    """x: (N, C, HW) contiguous, t: N*HW targets; one row per (sample, position)."""
    n, c = t.numel(), x.shape[1]
    loss = torch.empty((n,), dtype=acc_dtype(x.dtype), device=x.device)
    wrow = torch.empty_like(loss)
    if n:
        _fwd((cdiv(n, _ROWS),), x, t, weight.contiguous() if weight is not None else x, loss, wrow,
             n, c, hw, int(ignore_index), weight is not None, acc_of(x.dtype), _ROWS)
    tw = torch.empty((), dtype=x.dtype, device=x.device)
    if reduction == 0:
        tw.zero_()   # ATen leaves total_weight 0 for reduction='none'
        return loss.to(x.dtype).view(out_shape), tw
    out = torch.empty((), dtype=x.dtype, device=x.device)
    total(loss, out, wrow, b_out=tw, by_b=reduction == 1)   # with the total weight: one launch
    return out, tw


@impl("nll_loss_forward", supports=_ok)
def nll_loss_forward(self, target, weight, reduction, ignore_index):
    x = self.reshape(1, -1) if self.dim() == 1 else self
    return _nll_forward(x.contiguous(), target.reshape(-1).contiguous(), weight, reduction, ignore_index, 1,
                        target.shape)


def _ok2d(self, target, weight, reduction, ignore_index):
    if not (self.dtype in FLOATS and target.dtype is torch.int64 and reduction in (0, 1, 2)
            and self.dim() == 4 and target.dim() == 3 and target.device == self.device
            and target.shape == (self.shape[0],) + self.shape[2:]):
        return False
    c = self.shape[1]
    if weight is not None and (weight.dtype is not self.dtype or tuple(weight.shape) != (c,)):
        return False
    return _targets_ok(target, c, ignore_index)


@impl("nll_loss2d_forward", supports=_ok2d)
def nll_loss2d_forward(self, target, weight, reduction, ignore_index):
    n, c, h, w = self.shape
    return _nll_forward(self.contiguous().view(n, c, h * w), target.contiguous().view(-1), weight, reduction,
                        ignore_index, h * w, target.shape)


def _bwd_ok(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    return (_ok(self, target, weight, reduction, ignore_index) and grad_output.dtype is self.dtype
            and total_weight.numel() == 1)


def _nll_backward(grad_output, self, t, weight, reduction, ignore_index, total_weight, n, c, hw):
    dx = torch.empty(self.shape, dtype=self.dtype, device=self.device)
    if n and c:
        block = min(max(next_power_of_2(c), 16), 1024)
        rows = max(1, min(64, 4096 // block))
        _bwd((cdiv(n, rows), cdiv(c, block)), grad_output.contiguous(), t,
             weight.contiguous() if weight is not None else dx, total_weight.contiguous(), dx, n, c, hw,
             int(ignore_index), reduction == 0, reduction == 1, weight is not None, acc_of(self.dtype), rows,
             block, num_warps=4)
    return dx


@impl("nll_loss_backward", supports=_bwd_ok)
def nll_loss_backward(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    c = self.shape[-1]
    return _nll_backward(grad_output, self, target.reshape(-1).contiguous(), weight, reduction, ignore_index,
                         total_weight, target.numel(), c, 1)


def _bwd2d_ok(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    return (_ok2d(self, target, weight, reduction, ignore_index) and grad_output.dtype is self.dtype
            and total_weight.numel() == 1)


@impl("nll_loss2d_backward", supports=_bwd2d_ok)
def nll_loss2d_backward(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    _, c, h, w = self.shape
    return _nll_backward(grad_output, self, target.contiguous().view(-1), weight, reduction, ignore_index,
                         total_weight, target.numel(), c, h * w)
