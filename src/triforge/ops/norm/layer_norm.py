"""native_layer_norm, _fused_rms_norm, native_group_norm: forward and backward.

All three normalise contiguous rows: layer/rms norm a row of prod(normalized_shape)
elements, group norm the C/G*HxW elements of one (sample, group). One forward and one
backward kernel serve them; the affine parameter of element `col` of row `row` is
((row % G) * CPG + col // HW), which is `col` for layer/rms norm (G=1, HW=1).

Few rows longer than one block (fewer than the backend's split_programs) are cut into
pieces, forward and dx, by split.py; many long rows (walk.py) are walked by a persistent
grid, forward; otherwise one program normalises a row.

Backward: dx per row; weight/bias grads per program over a group of rows (partials in
registers when the row is one block; longer rows: split.long_backward, whose one pass
over g and x gives both the partials and dx's row sums), then a second kernel adds
the partials in order (deterministic, no float atomics). Group norm's backward
(group_norm.py) starts from per-(sample, channel) sums: its weight grads are those
added over samples, and its dx takes the group sums from them.

Statistics dtype follows ATen per backend: on CUDA mean/rstd are float32 for half
inputs; on the CPU (the interpreter backend) they are the input dtype.

rms_norm: F.rms_norm calls aten::_fused_rms_norm on torch 2.11+; that op has a CUDA
kernel and a derivatives.yaml backward (_fused_rms_norm_backward), and on the CPU it is
CompositeImplicitAutograd (and the backward has no CPU kernel), so the two are declared
for the nvidia backend only; under the interpreter F.rms_norm decomposes and the
tests call these kernels directly.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, needs_int64, scratch
from ..blocks import centred_moments, centred_step, exact_quotient, row_moments
from . import group_norm, split, walk
from .rows import FLOATS, INTERPRETED, acc_dtype, acc_of, bwd_plan, col_sums, row_block, warps_for


@triton.jit
def _norm_fwd_kernel(x_ptr, w_ptr, b_ptr, y_ptr, mean_ptr, rstd_ptr, N, G, CPG, HW, eps,
                     RMS: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr,
                     SINGLE: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    base = row * N
    pbase = (row % G) * CPG
    cols = tl.arange(0, BLOCK)
    if SINGLE:
        mask = cols < N
        x = tl.load(x_ptr + base + cols, mask=mask, other=0.0).to(ACC)
        if RMS:
            rstd = 1.0 / tl.sqrt(tl.sum(x * x, 0) / N + eps)
            y = x * rstd
        else:   # a constant row's mean exact, its m2 exactly 0 (blocks.centred_moments)
            mean, m2 = centred_moments(x, mask, N, 0)
            rstd = 1.0 / tl.sqrt(m2 / N + eps)
            y = (x - mean) * rstd
        if HAS_W:
            y = y * tl.load(w_ptr + pbase + cols // HW, mask=mask, other=0.0).to(ACC)
        if HAS_B:
            y = y + tl.load(b_ptr + pbase + cols // HW, mask=mask, other=0.0).to(ACC)
        tl.store(y_ptr + base + cols, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        k = 0.0
        if not RMS:   # k: the plain mean, corrected by the centred pass below
            s = tl.zeros([BLOCK], ACC)
            for start in range(0, N, BLOCK):
                c = start + cols
                s += tl.load(x_ptr + base + c, mask=c < N, other=0.0).to(ACC)
            k = exact_quotient(tl.sum(s, 0), N)
        s1 = tl.zeros([BLOCK], ACC)
        q = tl.zeros([BLOCK], ACC)
        for start in range(0, N, BLOCK):   # centred second pass: no E[x^2]-E[x]^2 cancellation
            c = start + cols
            x = tl.load(x_ptr + base + c, mask=c < N, other=0.0).to(ACC)
            s1, q = centred_step(x, c < N, k, s1, q, RMS)
        mean, m2 = row_moments(k, s1, q, N, RMS)
        rstd = 1.0 / tl.sqrt(m2 / N + eps)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            y = (tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - mean) * rstd
            if HAS_W:
                y = y * tl.load(w_ptr + pbase + c // HW, mask=mask, other=0.0).to(ACC)
            if HAS_B:
                y = y + tl.load(b_ptr + pbase + c // HW, mask=mask, other=0.0).to(ACC)
            tl.store(y_ptr + base + c, y.to(y_ptr.dtype.element_ty), mask=mask)
    if not RMS:
        tl.store(mean_ptr + row, mean.to(mean_ptr.dtype.element_ty))
    tl.store(rstd_ptr + row, rstd.to(rstd_ptr.dtype.element_ty))


@triton.jit
def _norm_bwd_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, dw_ptr, db_ptr, rows, N, G, CPG, HW,
                     RMS: tl.constexpr, HAS_W: tl.constexpr, NEED_DX: tl.constexpr, PARTIALS: tl.constexpr,
                     ACC: tl.constexpr, SINGLE: tl.constexpr, BLOCK: tl.constexpr, ROWS: tl.constexpr,
                     STAGES: tl.constexpr, HOIST_W: tl.constexpr, INT64: tl.constexpr):
    """dx of rows pid*ROWS + k*P*ROWS (P programs: at any moment the grid reads one window
    of g and x); with PARTIALS (one-block rows, G == 1) also this program's partial sums
    of g*xhat and g into row `pid` of dw/db. One-block rows go ROWS at a time, their loads
    staged STAGES deep in shared memory by the pipeliner; HOIST_W (G == 1, few elements a
    thread) loads w once. H200 16384x4096 bf16 (explore_norm_bwd_pipe.py), us with the
    partials' column sums: registers holding the next step by hand, 264 programs, 116 /
    128 (rms / layer); staged 3 deep, 8192 elements a step, 132 programs, 111 / 114."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    step = tl.num_programs(0) * ROWS
    if SINGLE:
        cm = cols < N
        if HOIST_W:
            w = tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
        dw = tl.zeros([ROWS, BLOCK], ACC)
        db = tl.zeros([ROWS, BLOCK], ACC)
        for r in tl.range(pid * ROWS, rows, step, num_stages=STAGES):
            row = r + tl.arange(0, ROWS)
            rmask = row < rows
            if INT64:
                row = row.to(tl.int64)
            mask = rmask[:, None] & cm[None, :]
            offs = (row * N)[:, None] + cols[None, :]
            g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
            x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
            rstd = tl.load(rstd_ptr + row, mask=rmask, other=0.0).to(ACC)[:, None]
            if RMS:
                xhat = x * rstd
            else:
                xhat = tl.where(mask, (x - tl.load(mean_ptr + row, mask=rmask, other=0.0).to(ACC)[:, None]) * rstd,
                                0.0)
            if PARTIALS:
                dw += g * xhat
                if not RMS:   # rms norm has no bias
                    db += g
            if NEED_DX:
                if HOIST_W:
                    g = g * w
                elif HAS_W:   # one-block rows are layer/rms norm's: G == 1, w indexed by column
                    g = g * tl.load(w_ptr + cols, mask=cm, other=0.0).to(ACC)[None, :]
                c1 = (tl.sum(xhat * g, 1) / N)[:, None]
                if RMS:
                    dx = (g - xhat * c1) * rstd
                else:
                    dx = (g - (tl.sum(g, 1) / N)[:, None] - xhat * c1) * rstd
                tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
        if PARTIALS:
            off = pid.to(tl.int64) * N + cols
            tl.store(dw_ptr + off, tl.sum(dw, 0), mask=cm)
            if not RMS:
                tl.store(db_ptr + off, tl.sum(db, 0), mask=cm)
    else:
        for r in range(pid, rows, step):   # streamed rows: ROWS is 1
            row = r
            if INT64:
                row = row.to(tl.int64)
            base = row * N
            pbase = (row % G) * CPG
            rstd = tl.load(rstd_ptr + row).to(ACC)
            if RMS:
                mean = 0.0
            else:
                mean = tl.load(mean_ptr + row).to(ACC)
            s1 = tl.zeros([BLOCK], ACC)
            s2 = tl.zeros([BLOCK], ACC)
            for start in range(0, N, BLOCK):
                c = start + cols
                mask = c < N
                g = tl.load(g_ptr + base + c, mask=mask, other=0.0).to(ACC)
                if HAS_W:
                    g = g * tl.load(w_ptr + pbase + c // HW, mask=mask, other=0.0).to(ACC)
                xhat = tl.where(mask, (tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - mean) * rstd, 0.0)
                s1 += xhat * g
                s2 += g
            c1 = tl.sum(s1, 0) / N
            c2 = tl.sum(s2, 0) / N
            for start in range(0, N, BLOCK):
                c = start + cols
                mask = c < N
                g = tl.load(g_ptr + base + c, mask=mask, other=0.0).to(ACC)
                if HAS_W:
                    g = g * tl.load(w_ptr + pbase + c // HW, mask=mask, other=0.0).to(ACC)
                xhat = (tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - mean) * rstd
                if RMS:
                    dx = (g - xhat * c1) * rstd
                else:
                    dx = (g - c2 - xhat * c1) * rstd
                tl.store(dx_ptr + base + c, dx.to(dx_ptr.dtype.element_ty), mask=mask)


_fwd = Launcher(_norm_fwd_kernel)
_bwd = Launcher(_norm_bwd_kernel)


def _stat_dtype(dtype):
    # ATen's CUDA kernels keep half statistics in float32; its CPU kernels in the input dtype.
    return dtype if INTERPRETED else acc_dtype(dtype)


def _forward(x, w, b, eps, rows, n, stat_shape, rms, G=1, CPG=None, HW=1, stat_dtype=None):
    x = x.contiguous()
    y = torch.empty_like(x)
    sd = acc_dtype(x.dtype) if rms else stat_dtype or _stat_dtype(x.dtype)   # rms: rstd in the computation dtype
    mean = torch.empty(stat_shape, dtype=sd, device=x.device) if not rms else x
    rstd = torch.empty(stat_shape, dtype=sd, device=x.device)
    if rows and n:
        single, block = row_block(n)
        w_ = w.contiguous() if w is not None else x
        b_ = b.contiguous() if b is not None else x
        cpg = n if CPG is None else CPG
        wl = None if single else walk.plan(rows, n, x)
        pl = None if single or wl is not None else split.plan(rows, n)
        if wl is not None:
            walk.forward(wl, x, w_, b_, y, mean, rstd, rows, n, G, cpg, HW, float(eps), rms, w is not None,
                         b is not None, acc_of(x.dtype), needs_int64(x))
        elif pl is not None:
            split.forward(pl, x, w_, b_, y, mean, rstd, rows, n, G, cpg, HW, float(eps), rms, w is not None,
                          b is not None, acc_of(x.dtype), needs_int64(x), warps_for(block))
        else:
            _fwd((rows,), x, w_, b_, y, mean, rstd, n, G, cpg, HW, float(eps), rms, w is not None,
                 b is not None, acc_of(x.dtype), single, block, needs_int64(x), num_warps=warps_for(block, single))
    elif rows:   # empty rows: torch gives NaN statistics (0/0)
        rstd.fill_(float("nan"))
        if not rms:
            mean.fill_(float("nan"))
    return y, (None if rms else mean), rstd


def _backward(g, x, mean, rstd, w, rows, n, rms, mask, G=1, CPG=None, HW=1, C=None):
    """(dx, dw, db) per output mask; dw/db in w's dtype."""
    g = g.contiguous()
    x = x.contiguous()
    need_dx, need_dw, need_db = mask   # the caller clears dw/db where there is no weight/bias
    need_wb = need_dw or need_db
    dx = torch.empty_like(x) if need_dx else None
    pdtype = acc_dtype(x.dtype)
    width = C if C is not None else n
    dw = db = None
    if rows == 0 or n == 0:
        if need_dx:
            dx.zero_()
        z = torch.zeros((width,), dtype=x.dtype, device=x.device)
        return dx, (z if need_dw else None), (z.clone() if need_db else None)
    if G > 1 or HW > 1:
        return group_norm.backward(g, x, mean, rstd, w, rows, n, G, CPG, HW, C, need_dx, need_dw, need_db)
    single, block, per, p, warps, stages, hoist = bwd_plan(rows, n, rms, x.element_size(), x.device)
    w_ = w.contiguous() if w is not None else x
    mean_ = mean if mean is not None else rstd
    wp = bp = x
    if need_wb and not single:   # one pass over g and x for the weight grads and dx's row sums
        wp, bp = split.long_backward(g, x, w_, mean_, rstd, dx, rows, n, rms, w is not None, acc_of(x.dtype),
                                     needs_int64(x), warps_for(block))
    else:   # weight grads (one-block rows only here) as partials in the dx programs' registers
        if need_wb:
            wp = scratch((p, n), pdtype, x.device)
            bp = wp if rms else scratch((p, n), pdtype, x.device)   # rms: no db written
        pl = None if single or not need_dx else split.plan(rows, n)
        if pl is not None:
            split.dx(pl, g, x, w_, mean_, rstd, dx, rows, n, G, n if CPG is None else CPG, HW, rms, w is not None,
                     acc_of(x.dtype), needs_int64(x), warps_for(block))
        elif need_dx or need_wb:
            _bwd((p,), g, x, w_, mean_, rstd, dx if need_dx else x, wp, bp, rows, n, G, n if CPG is None else CPG, HW,
                 rms, w is not None, need_dx, need_wb, acc_of(x.dtype), single, block, per, stages,
                 hoist and w is not None, needs_int64(x), num_warps=warps)
    if need_wb:
        sums = col_sums([wp, bp] if need_dw and need_db else [wp] if need_dw else [bp], x.dtype)
        dw = sums[0] if need_dw else None
        db = sums[-1] if need_db else None
    return dx, dw, db


# -- layer norm -------------------------------------------------------------------------
def _param_ok(p, x, shape):
    return p is None or (p.dtype is x.dtype and tuple(p.shape) == tuple(shape) and p.device == x.device)


def _ln_ok(input, normalized_shape, weight, bias, eps):
    k = len(normalized_shape)
    return (input.dtype in FLOATS and 0 < k <= input.dim()
            and tuple(input.shape[input.dim() - k:]) == tuple(normalized_shape)
            and _param_ok(weight, input, normalized_shape) and _param_ok(bias, input, normalized_shape))


def _split(x, normalized_shape):
    n = math.prod(normalized_shape)
    axis = x.dim() - len(normalized_shape)
    rows = math.prod(x.shape[:axis])
    stat_shape = tuple(x.shape[:axis]) + (1,) * len(normalized_shape)
    return rows, n, stat_shape


@impl("native_layer_norm", supports=_ln_ok, repeat=True)
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    rows, n, stat_shape = _split(input, normalized_shape)
    return _forward(input, weight, bias, eps, rows, n, stat_shape, rms=False)


def _ln_bwd_ok(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask):
    return (_ln_ok(input, normalized_shape, weight, bias, 0.0) and grad_out.dtype is input.dtype
            and grad_out.shape == input.shape and mean.dtype is rstd.dtype)


@impl("native_layer_norm_backward", supports=_ln_bwd_ok, repeat=True)
def native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask):
    rows, n, _ = _split(input, normalized_shape)
    mask = (output_mask[0], output_mask[1] and weight is not None, output_mask[2] and bias is not None)
    dx, dw, db = _backward(grad_out, input, mean.contiguous(), rstd.contiguous(), weight, rows, n, False, mask)
    return dx, (dw.view(weight.shape) if dw is not None else None), (db.view(bias.shape) if db is not None else None)


# -- rms norm ---------------------------------------------------------------------------
# On the CPU _fused_rms_norm is CompositeImplicitAutograd only and its backward has no
# kernel at all, so there is nothing to override: the interpreter tests call these directly.
_RMS_BACKENDS = ("nvidia",)

def _rms_ok(input, normalized_shape, weight, eps):
    return _ln_ok(input, normalized_shape, weight, None, 0.0)


@impl("_fused_rms_norm", supports=_rms_ok, backends=_RMS_BACKENDS, repeat=True)
def fused_rms_norm(input, normalized_shape, weight, eps):
    rows, n, stat_shape = _split(input, normalized_shape)
    if eps is None:   # torch's default: the machine epsilon of the computation dtype
        eps = torch.finfo(acc_dtype(input.dtype)).eps
    y, _, rstd = _forward(input, weight, None, eps, rows, n, stat_shape, rms=True)
    return y, rstd


def _rms_bwd_ok(grad_out, input, normalized_shape, rstd, weight, output_mask):
    return _rms_ok(input, normalized_shape, weight, 0.0) and grad_out.dtype is input.dtype \
        and grad_out.shape == input.shape


@impl("_fused_rms_norm_backward", supports=_rms_bwd_ok, backends=_RMS_BACKENDS, repeat=True)
def fused_rms_norm_backward(grad_out, input, normalized_shape, rstd, weight, output_mask):
    rows, n, _ = _split(input, normalized_shape)
    mask = (output_mask[0], output_mask[1] and weight is not None, False)
    dx, dw, _ = _backward(grad_out, input, None, rstd.contiguous(), weight, rows, n, True, mask)
    return dx, (dw.view(weight.shape) if dw is not None else None)


# -- group norm -------------------------------------------------------------------------
def _gn_ok(input, weight, bias, N, C, HxW, group, eps):
    return (input.dtype in FLOATS and group > 0 and C % group == 0 and input.numel() == N * C * HxW
            and _param_ok(weight, input, (C,)) and _param_ok(bias, input, (C,)))


@impl("native_group_norm", supports=_gn_ok, repeat=True)
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    cpg = C // group
    # ATen's group norm statistics are in the input's dtype on CUDA too (layer norm's are float32)
    y, mean, rstd = _forward(input, weight, bias, eps, N * group, cpg * HxW, (N, group), rms=False,
                             G=group, CPG=cpg, HW=HxW, stat_dtype=input.dtype)
    return y, mean, rstd


def _gn_bwd_ok(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask):
    return (_gn_ok(input, weight, None, N, C, HxW, group, 0.0) and grad_out.dtype is input.dtype
            and grad_out.shape == input.shape and mean.dtype is rstd.dtype)


@impl("native_group_norm_backward", supports=_gn_bwd_ok, repeat=True)
def native_group_norm_backward(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask):
    cpg = C // group
    mask = (output_mask[0], output_mask[1] and weight is not None, output_mask[2] and weight is not None)
    return _backward(grad_out, input, mean.contiguous(), rstd.contiguous(), weight, N * group, cpg * HxW,
                     False, mask, G=group, CPG=cpg, HW=HxW, C=C)
