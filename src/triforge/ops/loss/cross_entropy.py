"""F.cross_entropy with class indices as one fused kernel per pass.

aten::cross_entropy_loss is CompositeImplicitAutograd: torch decomposes it into
_log_softmax + nll_loss above the backend keys, so a kernel at the CUDA/CPU key would
never be reached (and one there would bypass autograd). It is declared with
`autograd=True`: the registry puts it at AutogradCUDA / AutogradCPU, and the function
below owns autograd through a torch.autograd.Function. Returning NotImplemented (or a
call under inference_mode, which skips the Autograd key) runs torch's decomposition.

Forward: one program per row streams the logits once with an online max+sum and
produces the row's loss, its log-sum-exp (saved for backward) and the row's weight
(w[target], 0 when ignored: the denominator of reduction='mean'); no log-softmax is
materialised. The gradient is
    g_row * ((1-eps) * w_t * (softmax - onehot) + eps/C * (sum(w) * softmax - w)).
For reduction sum/mean with an input that needs grad, the forward writes it (for
grad_output 1; the mean's denominator comes from a small kernel over the targets first)
in a second pass over the row, and backward only rescales it in place when
grad_output != 1 (each program reads grad_output and returns at once when it is 1).
Measured (H100, 4096x128256 bf16): the second pass does not find the row in L2 -- with
one program per row far more rows are in flight than L2 holds, and grids small enough to
keep them there read too slowly -- so forward+backward moves three passes of the
logits, at the copy ceiling (1.04 ms; torch 3.09). L2 policies (HINTS, the table's
ce_grad_hints) keep more of each row there for the second pass: the first pass's loads
evict_last, the gradient's stores streaming, the second pass's loads evict_first --
0.940 ms on the H100 (explore_ce_hints.py). reduction='none' (per-row grad_output),
and a second backward through a retained graph, run the backward kernel: one program per
(row, column block). Reductions add per-row losses in a fixed order: deterministic.

Under torch.inference_mode the Autograd key is skipped, so torch's decomposition runs
(no_grad is fine). The coverage table cannot see this op: its TorchDispatchMode sits
below autograd; tests check that no _log_softmax / nll_loss of the decomposition ran.

A target outside [0, C) that is not ignore_index: under the interpreter the host checks
and defers to torch (which raises); on a GPU the row's loss is NaN (no host sync).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, sm_count
from ..blocks import load_hinted
from ..norm.rows import CHUNK, FLOATS, INTERPRETED, WARPS, acc_of, f64_scalars, total


@triton.jit
def _ce_online(x_raw, c, mask, m, s, sx, sw, w_ptr, HAS_W: tl.constexpr, SMOOTH: tl.constexpr, ACC: tl.constexpr):
    """One chunk [NG, K] into the per-group running max m and sum s (and the smoothing sums)."""
    x = x_raw.to(ACC)
    m_new = tl.maximum(m, tl.max(x, 1))
    live = m_new != -float("inf")
    safe = tl.where(live, m_new, 0.0)
    s = tl.where(live, s * tl.exp(m - safe) + tl.sum(tl.exp(x - safe[:, None]), 1), 0.0)
    if SMOOTH:
        if HAS_W:
            w = tl.load(w_ptr + c, mask=mask, other=0.0).to(ACC)
        else:
            w = tl.where(mask, 1.0, 0.0).to(ACC)
        sx += tl.where(mask, w * x, 0.0)
        sw += w
    return m_new, s, sx, sw


@triton.jit
def _ce_grad(x_raw, c, mask, t, lse, wt, scale, keep, spread, sw_total, w_ptr, dx_ptr,
             HAS_W: tl.constexpr, SMOOTH: tl.constexpr, ACC: tl.constexpr, HINTS: tl.constexpr = 0):
    """d(loss)/dx of one chunk, stored at dx_ptr + c."""
    p = tl.exp(x_raw.to(ACC) - lse)
    d = wt * (p - tl.where(c == t, 1.0, 0.0))
    if SMOOTH:
        if HAS_W:
            w = tl.load(w_ptr + c, mask=mask, other=0.0).to(ACC)
        else:
            w = 1.0
        d = keep * d + spread * (sw_total * p - w)
    if HINTS & 2:   # streamed past L2, which the row's own logits need for the second pass
        tl.store(dx_ptr + c, (scale * d).to(dx_ptr.dtype.element_ty), mask=mask, cache_modifier=".cs")
    else:
        tl.store(dx_ptr + c, (scale * d).to(dx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _ce_fwd_kernel(x_ptr, t_ptr, w_ptr, loss_ptr, lse_ptr, wrow_ptr, dx_ptr, den_ptr, C, ignore_index, keep, spread,
                   coef_ptr, COEF: tl.constexpr, HAS_W: tl.constexpr, SMOOTH: tl.constexpr, GRAD: tl.constexpr,
                   MEAN: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, K: tl.constexpr,
                   INT64: tl.constexpr, HINTS: tl.constexpr):
    """One row per program: its loss and log-sum-exp. GRAD: also d(loss)/dx for
    grad_output 1 (divided by the mean's denominator, read from den_ptr) in a second
    pass: the row's last chunk from registers, then the others backwards, the most
    recently read (the likeliest still in L2) first. HINTS (with GRAD), bits: 1 the first
    pass's loads evict_last, 2 the gradient's stores streaming (.cs), 4 the second pass's
    loads evict_first."""
    P1: tl.constexpr = 1 if (GRAD and (HINTS & 1)) else 0
    P2: tl.constexpr = 2 if (HINTS & 4) else 0
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    base = x_ptr + row * C
    cols = tl.arange(0, BLOCK)
    # The online max+sum runs per group of K neighbouring columns (one thread's vector):
    # a group rescales its sum once per step, so a step costs BLOCK + BLOCK/K exps
    # instead of 2*BLOCK with one running max per column. The exps bound the forward:
    # 2 per logit was 0.41 ms for 4096x128256 on both the H100 and the H200.
    NG: tl.constexpr = BLOCK // K
    grp = tl.arange(0, NG)[:, None] * K + tl.arange(0, K)[None, :]
    m = tl.full([NG], -float("inf"), ACC)
    s = tl.zeros([NG], ACC)
    sx = tl.zeros([NG, K], ACC)   # sum of w_c * x_c, for label smoothing
    sw = tl.zeros([NG, K], ACC)   # sum of w_c
    last = (C - 1) // BLOCK * BLOCK   # the last chunk's first column
    for start in range(0, last, BLOCK):
        c = start + grp
        x_raw = load_hinted(base + c, None, None, P1)
        m, s, sx, sw = _ce_online(x_raw, c, c < C, m, s, sx, sw, w_ptr, HAS_W, SMOOTH, ACC)
    c_last = last + grp
    mask_last = c_last < C
    x_last = load_hinted(base + c_last, mask_last, -float("inf"), P1)
    m, s, sx, sw = _ce_online(x_last, c_last, mask_last, m, s, sx, sw, w_ptr, HAS_W, SMOOTH, ACC)
    row_max = tl.max(m, 0)
    lse = row_max + tl.log(tl.sum(tl.where(m == -float("inf"), 0.0, s * tl.exp(m - row_max)), 0))
    t = tl.load(t_ptr + row)
    valid = t != ignore_index
    inside = (t >= 0) & (t < C)
    tc = tl.where(inside, t, 0)
    xt = tl.load(base + tc).to(ACC)
    if HAS_W:
        wt = tl.load(w_ptr + tc).to(ACC)
    else:
        wt = 1.0
    loss = wt * (lse - xt)
    if SMOOTH:
        if COEF:
            keep = tl.load(coef_ptr)
            spread = tl.load(coef_ptr + 1)
        loss = keep * loss + spread * (tl.sum(tl.sum(sw, 1), 0) * lse - tl.sum(tl.sum(sx, 1), 0))
    bad = valid & (~inside)
    loss = tl.where(bad, float("nan"), tl.where(valid, loss, 0.0))
    if GRAD:
        scale = tl.where(valid & inside, 1.0, 0.0)
        if MEAN:
            scale = scale / tl.load(den_ptr).to(ACC)
        sw_total = tl.sum(tl.sum(sw, 1), 0)
        dx_row = dx_ptr + row * C
        _ce_grad(x_last, c_last, mask_last, t, lse, wt, scale, keep, spread, sw_total, w_ptr, dx_row,
                 HAS_W, SMOOTH, ACC, HINTS)
        for i in range(0, last // BLOCK):
            c = last - (i + 1) * BLOCK + cols
            _ce_grad(load_hinted(base + c, None, None, P2), c, c < C, t, lse, wt, scale, keep, spread, sw_total,
                     w_ptr, dx_row, HAS_W, SMOOTH, ACC, HINTS)
    tl.store(loss_ptr + row, loss)
    tl.store(lse_ptr + row, lse)
    tl.store(wrow_ptr + row, tl.where(valid, wt, 0.0))


@triton.jit
def _ce_bwd_kernel(x_ptr, t_ptr, w_ptr, lse_ptr, wrow_ptr, g_ptr, den_ptr, sw_ptr, dx_ptr, C, ignore_index,
                   keep, spread, coef_ptr, COEF: tl.constexpr, G_PER_ROW: tl.constexpr, MEAN: tl.constexpr,
                   HAS_W: tl.constexpr, SMOOTH: tl.constexpr,
                   ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = c < C
    wt = tl.load(wrow_ptr + row).to(ACC)   # 0 for an ignored row
    if G_PER_ROW:
        g = tl.load(g_ptr + row).to(ACC)
    else:
        g = tl.load(g_ptr).to(ACC)
    if MEAN:
        g = g / tl.load(den_ptr).to(ACC)
    t = tl.load(t_ptr + row)
    lse = tl.load(lse_ptr + row).to(ACC)
    x = tl.load(x_ptr + row * C + c, mask=mask, other=0.0).to(ACC)
    p = tl.exp(x - lse)
    d = wt * (p - tl.where(c == t, 1.0, 0.0))
    if SMOOTH:
        if COEF:
            keep = tl.load(coef_ptr)
            spread = tl.load(coef_ptr + 1)
        live = tl.where(t != ignore_index, 1.0, 0.0)   # torch zeroes an ignored row's smoothing term
        if HAS_W:
            w = tl.load(w_ptr + c, mask=mask, other=0.0).to(ACC)
            sw = tl.load(sw_ptr).to(ACC)
        else:
            w = 1.0
            sw = C * 1.0
        d = keep * d + live * spread * (sw * p - w)
    tl.store(dx_ptr + row * C + c, (g * d).to(dx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _ce_den_kernel(t_ptr, w_ptr, den_ptr, N, C, ignore_index, HAS_W: tl.constexpr, ACC: tl.constexpr,
                   BLOCK: tl.constexpr):
    """The mean's denominator, sum of w[target] over live rows, in a fixed order."""
    rows = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], ACC)
    for start in range(0, N, BLOCK):
        r = start + rows
        t = tl.load(t_ptr + r, mask=r < N, other=ignore_index)
        live = (t != ignore_index) & (t >= 0) & (t < C)
        if HAS_W:
            acc += tl.load(w_ptr + tl.where(live, t, 0), mask=live, other=0.0).to(ACC)
        else:
            acc += tl.where(live, 1.0, 0.0)
    tl.store(den_ptr, tl.sum(acc, 0))


@triton.jit
def _scale_kernel(dx_ptr, g_ptr, n, ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """dx *= g, skipped entirely when g == 1 (loss.backward() on the loss itself). A
    persistent grid: one program per block would start ~128k programs only to read g."""
    g = tl.load(g_ptr).to(ACC)
    if g != 1.0:
        step = tl.num_programs(0) * BLOCK
        start = tl.program_id(0) * BLOCK
        if INT64:
            step = step.to(tl.int64)
            start = start.to(tl.int64)
        for b in tl.range(start, n, step):
            offs = b + tl.arange(0, BLOCK)
            mask = offs < n
            v = tl.load(dx_ptr + offs, mask=mask, other=0.0).to(ACC)
            tl.store(dx_ptr + offs, (v * g).to(dx_ptr.dtype.element_ty), mask=mask)


_den = Launcher(_ce_den_kernel)
_scale = Launcher(_scale_kernel)
_fwd = Launcher(_ce_fwd_kernel)
_bwd = Launcher(_ce_bwd_kernel)
_REDUCTIONS = (0, 1, 2)   # none, mean, sum


def _block(c, most=CHUNK):
    return min(max(next_power_of_2(c), 16), most)


_cfg = backend().table("loss")
# The forward that also writes the gradient (a second pass over each row) in larger
# blocks: H100, 4096x128256 bf16 forward+backward 1.082 ms with 4096-column blocks,
# 1.038 with 16384 (about the copy ceiling for three passes over the logits; grids that
# keep only an L2's worth of rows in flight, so that the second pass reads L2, were
# slower: 1.07-1.48 ms).
GRAD_BLOCK = _cfg.get("ce_grad_block", CHUNK)
GRAD_WARPS = _cfg.get("ce_grad_warps", 2 * WARPS)
GRAD_HINTS = _cfg.get("ce_grad_hints", 0)   # _ce_fwd_kernel's HINTS


def _forward(x, target, weight, reduction, ignore_index, smoothing, need_grad):
    """(loss, state for backward or None). need_grad: d(loss)/dx will be asked for; the
    mean's denominator, the smoothed weights' total and, for sum/mean, the gradient itself
    are computed only then (an inference call is one launch and its total)."""
    rows, c = x.shape
    acc = torch.float64 if x.dtype is torch.float64 else torch.float32
    loss = torch.empty((rows,), dtype=acc, device=x.device)   # its own: 'none' may return it
    lse, wrow = torch.empty((2, rows), dtype=acc, device=x.device).unbind(0)
    smooth = smoothing > 0.0
    block = _block(c)
    coef = None
    if smooth:
        _, coef = f64_scalars(x.dtype, x.device, 1.0 - smoothing, smoothing / c)
    # For sum/mean the gradient for grad_output 1 is written now, while the row is
    # hot (saves the backward's full re-read of the logits); backward then only
    # scales it when grad_output != 1. 'none' needs per-row grads: backward computes.
    grad_now = reduction != 0 and need_grad and rows > 0 and c > 0
    den = None
    if reduction == 1 and need_grad:
        den = torch.empty((), dtype=acc, device=x.device)
        _den((1,), target, weight if weight is not None else x, den, rows, c, ignore_index, weight is not None,
             acc_of(x.dtype), 1024)
    dx = torch.empty_like(x) if grad_now else None
    warps = 2 * WARPS
    if grad_now:
        block, warps = _block(c, GRAD_BLOCK), GRAD_WARPS
    if rows:
        _fwd((rows,), x, target, weight if weight is not None else x, loss, lse, wrow,
             dx if grad_now else x, den if den is not None else loss, c, ignore_index,
             1.0 - smoothing, smoothing / c, coef if coef is not None else x, coef is not None,
             weight is not None, smooth, grad_now, reduction == 1, acc_of(x.dtype), block, min(8, block),
             needs_int64(x), GRAD_HINTS if grad_now else 0, num_warps=max(1, min(warps, block // 256)))
    if reduction == 0:
        out = loss.to(x.dtype)
    else:
        out = torch.empty((), dtype=x.dtype, device=x.device)
        total(loss, out, wrow if reduction == 1 else None)
    if not need_grad:
        return out, None
    sw = None
    if smooth and weight is not None:
        sw = total(weight, torch.empty((), dtype=acc, device=x.device))
    return out, (dx, (x, target, weight, lse, wrow, den, sw, coef))


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, target, weight, reduction, ignore_index, smoothing):
        out, state = _forward(x, target, weight, reduction, ignore_index, smoothing, ctx.needs_input_grad[0])
        ctx.dx, saved = state if state is not None else (None, ())
        ctx.save_for_backward(*saved)
        ctx.args = (reduction, smoothing)
        ctx.ignore_index = ignore_index
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        if not ctx.needs_input_grad[0]:
            return None, None, None, None, None, None
        x, target, weight, lse, wrow, den, sw, coef = ctx.saved_tensors
        reduction, smoothing = ctx.args
        rows, c = x.shape
        dx, ctx.dx = ctx.dx, None   # a second backward (retain_graph) recomputes below
        if dx is not None:
            n = dx.numel()
            programs = min(cdiv(n, 4096), 8 * sm_count(dx.device))
            _scale((programs,), dx, grad, n, acc_of(x.dtype), 4096,
                   needs_int64(dx, extra=n + programs * 4096), num_warps=8)
            return dx, None, None, None, None, None
        dx = torch.empty_like(x)
        if rows and c:
            block = _block(c)
            _bwd((rows, cdiv(c, block)), x, target, weight if weight is not None else x, lse, wrow,
                 grad.contiguous(), den if den is not None else lse, sw if sw is not None else lse, dx, c,
                 ctx.ignore_index, 1.0 - smoothing, smoothing / c, coef if coef is not None else lse,
                 coef is not None, reduction == 0, reduction == 1, weight is not None,
                 smoothing > 0.0, acc_of(x.dtype), block, needs_int64(x),
                 num_warps=max(1, min(WARPS, block // 256)))
        return dx, None, None, None, None, None


def _ok(self, target, weight=None, reduction=1, ignore_index=-100, label_smoothing=0.0):
    if not (self.dtype in FLOATS and self.dim() >= 1 and target.dtype is torch.int64
            and reduction in _REDUCTIONS and 0.0 <= label_smoothing <= 1.0 and target.device == self.device):
        return False
    c = self.shape[0] if self.dim() == 1 else self.shape[1]
    if self.dim() == 1:
        if target.dim() != 0:
            return False
    elif target.dim() != self.dim() - 1 or target.shape[0] != self.shape[0] \
            or tuple(target.shape[1:]) != tuple(self.shape[2:]):
        return False
    if weight is not None and (weight.dtype is not self.dtype or tuple(weight.shape) != (c,)
                               or weight.device != self.device or (weight.requires_grad and torch.is_grad_enabled())):
        return False   # (a weight needing grad: torch raises that its derivative is not implemented)
    if INTERPRETED and target.numel():   # torch raises for a target out of range; let it
        live = target[target != ignore_index]
        if live.numel() and (bool((live < 0).any()) or bool((live >= c).any())):
            return False
    return c > 0


@impl("cross_entropy_loss", autograd=True, supports=_ok)
def cross_entropy_loss(self, target, weight=None, reduction=1, ignore_index=-100, label_smoothing=0.0):
    if self.dim() == 1:
        x, t = self.unsqueeze(0), target.reshape(1)
    elif self.dim() == 2:
        x, t = self, target
    else:   # (N, C, d1, ...): classes last, one row per position
        x, t = self.movedim(1, -1).reshape(-1, self.shape[1]), target.reshape(-1)
    args = (x.contiguous(), t.contiguous(), weight.contiguous() if weight is not None else None, reduction,
            int(ignore_index), float(label_smoothing))
    if torch.is_grad_enabled() and self.requires_grad:
        out = _CrossEntropy.apply(*args)
    else:   # no graph to record: the Function's bookkeeping is host time for nothing
        out = _forward(*args, False)[0]
    if reduction == 0:
        out = out.reshape(target.shape)
    return out
