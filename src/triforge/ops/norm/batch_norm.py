"""native_batch_norm (+ the _native_batch_norm_legit* forms) and native_batch_norm_backward.

Input (N, C, *) is read as N*C contiguous spans of HW elements. Statistics: each
channel's samples are cut into slices (enough programs to fill the device); a program
gives its slice's mean and sum of squared deviations, and a second kernel merges the
slices of a channel in order (Chan's pairwise formula), writes save_mean /
save_invstd and updates the running stats as torch does
(running = (1 - momentum) * running + momentum * stat, with the unbiased variance).
Normalising is one program per (sample, channel, HW block). The backward's per-channel
sums of g and g * (x - mean) use the same slices, then rows.col_sums; dx is elementwise.
Every sum has a fixed order: deterministic, no atomics.

On CUDA with cuDNN enabled, F.batch_norm goes to cudnn_batch_norm: served below (nvidia only).
The forward's three launches repeat in the C++ entry (repeat=True): its Python path
made the bench's 32x64x3136 case host-bound (0.03 to 0.12 ms from one H100 host to the
next, the kernels ~0.03 ms).
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, scratch
from ..blocks import first_chunk_mean
from .rows import FLOATS, GROUPS, INTERPRETED, acc_of, col_sums, f64_scalars


@triton.jit
def _bn_partial_kernel(x_ptr, g_ptr, mean_ptr, part_ptr, N, C, HW, per,
                       GRAD: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """Program (s, c): samples [s*per, (s+1)*per) of channel c. Statistics: the slice's
    mean and sum of squared deviations (two passes; the second mostly from cache).
    GRAD: the slice's sums of g and g * (x - mean), mean read from mean_ptr. Results go
    to part[0, s, c] and part[1, s, c]."""
    s = tl.program_id(0)
    c = tl.program_id(1)
    if INT64:
        c = c.to(tl.int64)
    cols = tl.arange(0, BLOCK)
    n0 = s * per
    n1 = tl.minimum(n0 + per, N)
    plane = tl.num_programs(0) * C
    if GRAD:
        mean = tl.load(mean_ptr + c).to(ACC)
        a = tl.zeros([BLOCK], ACC)
        b = tl.zeros([BLOCK], ACC)
        for n in range(n0, n1):
            base = (n * C + c) * HW
            for start in range(0, HW, BLOCK):
                h = start + cols
                m = h < HW
                g = tl.load(g_ptr + base + h, mask=m, other=0.0).to(ACC)
                x = tl.load(x_ptr + base + h, mask=m, other=0.0).to(ACC)
                a += g
                b += tl.where(m, g * (x - mean), 0.0)
        tl.store(part_ptr + s * C + c, tl.sum(a, 0))
        tl.store(part_ptr + plane + s * C + c, tl.sum(b, 0))
    else:   # sums shifted by k, the channel's first block's mean: a constant channel's mean is exact
        k = first_chunk_mean(x_ptr + c * HW, HW, BLOCK, ACC)
        a = tl.zeros([BLOCK], ACC)
        for n in range(n0, n1):
            base = (n * C + c) * HW
            for start in range(0, HW, BLOCK):
                h = start + cols
                a += tl.where(h < HW, tl.load(x_ptr + base + h, mask=h < HW, other=0.0).to(ACC) - k, 0.0)
        local = k + tl.sum(a, 0) / ((n1 - n0) * HW)
        q = tl.zeros([BLOCK], ACC)
        for n in range(n0, n1):
            base = (n * C + c) * HW
            for start in range(0, HW, BLOCK):
                h = start + cols
                x = tl.load(x_ptr + base + h, mask=h < HW, other=0.0).to(ACC)
                q += tl.where(h < HW, (x - local) * (x - local), 0.0)
        tl.store(part_ptr + s * C + c, local)
        tl.store(part_ptr + plane + s * C + c, tl.sum(q, 0))


@triton.jit
def _bn_finalize_kernel(part_ptr, mean_ptr, invstd_ptr, rm_ptr, rv_ptr, coef_ptr, N, C, HW, per, S,
                        momentum, eps, UPDATE: tl.constexpr, COEF: tl.constexpr, ACC: tl.constexpr,
                        BLOCK: tl.constexpr):
    """Merge the S slices of each channel in order (Chan et al.'s pairwise update), write
    mean and invstd, update the running stats (unbiased variance), as torch."""
    c = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    cm = c < C
    cnt = tl.zeros([BLOCK], ACC)
    mean = tl.zeros([BLOCK], ACC)
    m2 = tl.zeros([BLOCK], ACC)
    for s in range(S):
        nb = (tl.minimum(per, N - s * per) * HW).to(ACC)
        mb = tl.load(part_ptr + s * C + c, mask=cm, other=0.0).to(ACC)
        qb = tl.load(part_ptr + S * C + s * C + c, mask=cm, other=0.0).to(ACC)
        tot = cnt + nb
        delta = mb - mean
        # the first slice's weight is exactly 1 (a GPU's fp32 division may round nb / nb
        # below it: a constant channel's mean an ulp off, H200)
        mean = mean + delta * tl.where(cnt == 0, 1.0, nb / tot)
        m2 = m2 + qb + delta * delta * (cnt * nb / tot)
        cnt = tot
    M = N * HW
    if COEF:   # float64: momentum and eps exactly (Triton passes Python floats as float32)
        momentum = tl.load(coef_ptr)
        eps = tl.load(coef_ptr + 1)
    tl.store(mean_ptr + c, mean.to(mean_ptr.dtype.element_ty), mask=cm)
    tl.store(invstd_ptr + c, (1.0 / tl.sqrt(m2 / M + eps)).to(invstd_ptr.dtype.element_ty), mask=cm)
    if UPDATE:
        rm = tl.load(rm_ptr + c, mask=cm, other=0.0).to(ACC)
        rv = tl.load(rv_ptr + c, mask=cm, other=0.0).to(ACC)
        tl.store(rm_ptr + c, ((1.0 - momentum) * rm + momentum * mean).to(rm_ptr.dtype.element_ty), mask=cm)
        rv_new = (1.0 - momentum) * rv + momentum * (m2 / (M - 1))
        tl.store(rv_ptr + c, rv_new.to(rv_ptr.dtype.element_ty), mask=cm)


@triton.jit
def _bn_apply_kernel(x_ptr, g_ptr, out_ptr, mean_ptr, invstd_ptr, w_ptr, b_ptr, s1_ptr, s2_ptr, C, HW, M, eps,
                     coef_ptr, COEF: tl.constexpr, MODE: tl.constexpr, FROM_VAR: tl.constexpr,
                     HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
                     INT64: tl.constexpr):
    """MODE 0: y = (x - mean) * invstd * w + b. MODE 1: training dx. MODE 2: eval dx
    (g * invstd * w). FROM_VAR: invstd_ptr holds a variance (eval: running_var)."""
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    c = row % C
    h = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = h < HW
    off = row * HW + h
    mean = tl.load(mean_ptr + c).to(ACC)
    if FROM_VAR:
        if COEF:   # float64: eps exactly, from coef[1]
            eps = tl.load(coef_ptr + 1)
        invstd = 1.0 / tl.sqrt(tl.load(invstd_ptr + c).to(ACC) + eps)
    else:
        invstd = tl.load(invstd_ptr + c).to(ACC)
    if HAS_W:
        w = tl.load(w_ptr + c).to(ACC)
    else:
        w = 1.0
    if MODE == 0:
        x = tl.load(x_ptr + off, mask=m, other=0.0).to(ACC)
        y = (x - mean) * invstd * w
        if HAS_B:
            y += tl.load(b_ptr + c).to(ACC)
        tl.store(out_ptr + off, y.to(out_ptr.dtype.element_ty), mask=m)
    elif MODE == 1:
        x = tl.load(x_ptr + off, mask=m, other=0.0).to(ACC)
        g = tl.load(g_ptr + off, mask=m, other=0.0).to(ACC)
        sg = tl.load(s1_ptr + c).to(ACC)
        sgx = tl.load(s2_ptr + c).to(ACC)
        dx = (g - sg / M - (x - mean) * invstd * invstd * sgx / M) * invstd * w
        tl.store(out_ptr + off, dx.to(out_ptr.dtype.element_ty), mask=m)
    else:
        g = tl.load(g_ptr + off, mask=m, other=0.0).to(ACC)
        tl.store(out_ptr + off, (g * invstd * w).to(out_ptr.dtype.element_ty), mask=m)


_partial = Launcher(_bn_partial_kernel)
_finalize = Launcher(_bn_finalize_kernel)
_apply = Launcher(_bn_apply_kernel)


def _geom(x):
    n, c = x.shape[0], x.shape[1]
    return n, c, math.prod(x.shape[2:])


def _hw_block(hw):
    return min(max(next_power_of_2(hw), 16), 1024)


def _splits(n, c):
    """(slices per channel, samples per slice): enough programs to fill the device."""
    s = max(1, min(n, (4 * GROUPS) // max(c, 1)))
    per = cdiv(n, s)
    return cdiv(n, per), per


def _param_dtype_ok(x, *params):
    ps = [p for p in params if p is not None]
    if not ps:
        return True
    dt = ps[0].dtype
    if any(p.dtype is not dt or p.dim() != 1 or p.shape[0] != x.shape[1] or p.device != x.device for p in ps):
        return False
    return dt is x.dtype or dt is torch.float32


def _stat_dtype(x, *params):
    """ATen: float32 statistics for half inputs on CUDA, or with float32 parameters;
    otherwise (CPU) the input dtype."""
    mixed = any(p is not None and p.dtype is not x.dtype for p in params)
    if x.dtype in (torch.float16, torch.bfloat16) and (mixed or not INTERPRETED):
        return torch.float32
    return x.dtype


def _fwd_ok(input, weight, bias, running_mean, running_var, training, momentum, eps):
    return (input.dtype in FLOATS and input.dim() >= 2 and input.shape[1] > 0
            and _param_dtype_ok(input, weight, bias, running_mean, running_var)
            and (training or (running_mean is not None and running_var is not None))
            and (running_mean is None) == (running_var is None))


def _bn_forward(input, weight, bias, running_mean, running_var, training, momentum, eps):
    x = input.contiguous()
    n, c, hw = _geom(x)
    y = torch.empty_like(x)
    sd = _stat_dtype(x, weight, bias, running_mean, running_var)
    acc = acc_of(x.dtype)
    big = needs_int64(x)
    exact, coef = f64_scalars(x.dtype, x.device, float(momentum or 0.0), float(eps))
    if training:
        mean = torch.empty((c,), dtype=sd, device=x.device)
        invstd = torch.empty((c,), dtype=sd, device=x.device)
        update = running_mean is not None
        blk = _hw_block(hw)
        sp, per = _splits(n, c)
        part = scratch((2, sp, c), torch.float64 if x.dtype is torch.float64 else torch.float32, x.device)
        _partial((sp, c), x, x, x, part, n, c, hw, per, False, acc, blk, big, num_warps=4)
        cb = min(max(next_power_of_2(c), 16), 1024)
        _finalize((cdiv(c, cb),), part, mean, invstd, running_mean if update else mean,
                  running_var if update else mean, coef if exact else part, n, c, hw, per, sp,
                  float(momentum), float(eps), update, exact, acc, cb, num_warps=4)
        src_mean, src_inv, from_var = mean, invstd, False
    else:
        mean = torch.empty((0,), dtype=sd, device=x.device)
        invstd = torch.empty((0,), dtype=sd, device=x.device)
        src_mean, src_inv, from_var = running_mean, running_var, True
    if x.numel():
        blk = _hw_block(hw)
        _apply((n * c, cdiv(hw, blk)), x, x, y, src_mean, src_inv,
               weight if weight is not None else x, bias if bias is not None else x, x, x, c, hw, n * hw,
               float(eps), coef if exact else x, exact, 0, from_var, weight is not None, bias is not None, acc, blk,
               big, num_warps=4)
    return y, mean, invstd


@impl("native_batch_norm", supports=_fwd_ok, repeat=True)
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    if training and input.numel() == 0:
        return NotImplemented
    return _bn_forward(input, weight, bias, running_mean, running_var, training, momentum, eps)


@impl("_native_batch_norm_legit", supports=_fwd_ok, repeat=True)
def native_batch_norm_legit(input, weight, bias, running_mean, running_var, training, momentum, eps):
    return native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _no_stats_ok(input, weight, bias, training, momentum, eps):
    return training and _fwd_ok(input, weight, bias, None, None, True, momentum, eps)


@impl("_native_batch_norm_legit.no_stats", supports=_no_stats_ok, repeat=True)
def native_batch_norm_legit_no_stats(input, weight, bias, training, momentum, eps):
    return native_batch_norm(input, weight, bias, None, None, True, momentum, eps)


def _no_training_ok(input, weight, bias, running_mean, running_var, momentum, eps):
    return _fwd_ok(input, weight, bias, running_mean, running_var, False, momentum, eps)


@impl("_native_batch_norm_legit_no_training", supports=_no_training_ok, repeat=True)
def native_batch_norm_legit_no_training(input, weight, bias, running_mean, running_var, momentum, eps):
    return _bn_forward(input, weight, bias, running_mean, running_var, False, momentum, eps)


def _bwd_ok(grad_out, input, weight, running_mean, running_var, save_mean, save_invstd, train, eps, output_mask):
    if not (input.dtype in FLOATS and input.dim() >= 2 and grad_out.dtype is input.dtype
            and grad_out.shape == input.shape and input.numel() > 0
            and _param_dtype_ok(input, weight, running_mean, running_var)):
        return False
    if train:
        return (save_mean is not None and save_invstd is not None and save_mean.numel() == input.shape[1]
                and save_invstd.numel() == input.shape[1])
    return running_mean is not None and running_var is not None


@impl("native_batch_norm_backward", supports=_bwd_ok)
def native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean, save_invstd,
                               train, eps, output_mask):
    x = input.contiguous()
    g = grad_out.contiguous()
    n, c, hw = _geom(x)
    acc = acc_of(x.dtype)
    big = needs_int64(x)
    blk = _hw_block(hw)
    pdt = torch.float64 if x.dtype is torch.float64 else torch.float32
    if train:
        mean, inv, from_var = save_mean.contiguous(), save_invstd.contiguous(), False
    else:
        mean, inv, from_var = running_mean.contiguous(), running_var.contiguous(), True
    need_sums = train and output_mask[0] or output_mask[1] or output_mask[2]
    s1 = s2 = None
    if need_sums:
        sp, per = _splits(n, c)
        part = torch.empty((2, sp, c), dtype=pdt, device=x.device)
        _partial((sp, c), x, g, mean, part, n, c, hw, per, True, acc, blk, big, num_warps=4)
        s1, s2 = col_sums([part[0], part[1]], pdt)
    dx = dw = db = None
    if output_mask[0]:
        dx = torch.empty_like(x)
        exact, coef = f64_scalars(x.dtype, x.device, 0.0, float(eps)) if from_var else (False, None)
        _apply((n * c, cdiv(hw, blk)), x, g, dx, mean, inv, weight if weight is not None else x, x,
               s1 if s1 is not None else x, s2 if s2 is not None else x, c, hw, n * hw, float(eps),
               coef if exact else x, exact, 1 if train else 2, from_var, weight is not None, False, acc, blk, big,
               num_warps=4)
    wdt = weight.dtype if weight is not None else x.dtype
    if output_mask[1]:
        invc = inv.to(pdt) if not from_var else torch.rsqrt(inv.to(pdt) + eps)
        dw = (s2 * invc).to(wdt)
    if output_mask[2]:
        db = s1.to(wdt)
    return dx, dw, db


# -- the cuDNN entry points ---------------------------------------------------------------
# On CUDA, F.batch_norm reaches aten::cudnn_batch_norm (not native_batch_norm) whenever
# cuDNN is enabled and takes the call (weight and bias given, input of 3+ dims, float32
# parameters for half inputs...). Its autograd formula calls cudnn_batch_norm_backward
# in training. Declared for the nvidia backend only; the CPU has no kernel for them.
def _cudnn_ok(input, weight, bias, running_mean, running_var, training, exponential_average_factor, epsilon):
    # float32 parameters (any input dtype _fwd_ok takes), or the input's own dtype
    # (float32 / float64: torch routes float64 through cuDNN too)
    return (weight is not None
            and _fwd_ok(input, weight, bias, running_mean, running_var, training, exponential_average_factor,
                        epsilon))


@impl("cudnn_batch_norm", supports=_cudnn_ok, backends=("nvidia",), repeat=True)
def cudnn_batch_norm(input, weight, bias, running_mean, running_var, training, exponential_average_factor,
                     epsilon):
    if training and input.numel() == 0:
        return NotImplemented
    y, mean, invstd = _bn_forward(input, weight, bias, running_mean, running_var, training,
                                  exponential_average_factor, epsilon)
    return y, mean, invstd, torch.empty((0,), dtype=torch.uint8, device=input.device)


def _cudnn_bwd_ok(input, grad_output, weight, running_mean, running_var, save_mean, save_var, epsilon,
                  reserveSpace):
    return weight is not None and _bwd_ok(grad_output, input, weight, running_mean, running_var, save_mean,
                                          save_var, True, epsilon, (True, True, True))


@impl("cudnn_batch_norm_backward", supports=_cudnn_bwd_ok, backends=("nvidia",))
def cudnn_batch_norm_backward(input, grad_output, weight, running_mean, running_var, save_mean, save_var, epsilon,
                              reserveSpace):
    # cuDNN's save_var is the inverse standard deviation, as native_batch_norm's save_invstd
    return native_batch_norm_backward(grad_output, input, weight, running_mean, running_var, save_mean, save_var,
                                      True, epsilon, (True, True, True))
