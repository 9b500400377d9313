"""Flash attention, forward and backward, behind F.scaled_dot_product_attention.

Route: triforge registers aten::scaled_dot_product_attention itself, at the backend's
Autograd key (impl(..., autograd=True)), and owns autograd through a
torch.autograd.Function. Below SDPA torch picks among flash / efficient / cudnn / math
kernels per call (`_fused_sdp_choice`) by mask, dtype, head dim and GQA, each with its
own backward op; catching SDPA above that choice makes every call with the supported
arguments reach these kernels -- masks and GQA included -- and runs the same route on
the GPU and under the interpreter. inference=True registers the same function at the
backend key too: torch.inference_mode skips the Autograd key, and the backend key is
reached only then (the Autograd-key kernel comes first otherwise). What the predicate
declines (dropout_p = 1, a mask that needs a gradient, float64, head dim > 256...) runs
torch's decomposition: its flash/efficient/math ops then show in the coverage table.
Where the C++ entry is in use, the plain calls (4-d, no mask, no dropout) never enter
Python: runtime/fastpath.cpp's SdpaKernel runs them as a C++ autograd function over
triforge::_flash_fwd / _flash_bwd (below), which the entry repeats like any other op,
host TMA descriptors included. H100 host_cost.py at dd4f013, host-bound b4 h16 s512 d64
causal, us per call: forward 79 -> 17 (torch 21), forward+backward 504 -> 208 (torch 267).

Dropout is Philox (tl.rand) keyed by a seed drawn from torch's CPU generator per call
(reproducible under torch.manual_seed; not torch's own random stream) and by (batch *
head, row * S + col); the backward regenerates the mask. Offsets are 32-bit: beyond
L * S = 2^31 the pattern repeats.

Semantics follow torch's math path: is_causal is top-left aligned (query i sees keys
j <= i, also when Lq != Lk: `torch.ones(L, S).tril()`); a row whose keys are all masked
gives zeros (and zero gradients), as torch's safe softmax does.

Kernels: scores in the log2 domain (exp2; scale * log2(e) folded into one multiply),
online softmax over key blocks of BLOCK_N, log-sum-exp (log2) saved per query row for
the backward. Head dims that are not a power of two (80, 96, 192) run in a padded block
with masked loads. The backward is two kernels and no atomics, so it is deterministic:
dK/dV per key block (looping over the query blocks and, for GQA, over the q heads of
its group -- the group reduction happens in registers), and dQ per query block.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, next_power_of_2, scratch
from . import flash_tma
from .online import online_step

_LOG2E = 1.4426950408889634


@triton.jit
def _dot(a, b, PREC: tl.constexpr):
    """tl.dot with fp32 accumulation. PREC "upcast": operands go to float32 first -- the
    interpreter multiplies bfloat16 bit patterns as integers otherwise; bf16/fp16 products
    are exact in float32, so this is what the GPU's tensor cores compute."""
    if PREC == "upcast":
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    else:
        return tl.dot(a, b, input_precision=PREC)


@triton.jit
def _scores(q, k_ptrs, m_ptrs, offs_m, cols, L, S, qk_scale, dmask,
            CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, BOUNDS: tl.constexpr, DPAD: tl.constexpr,
            PREC: tl.constexpr):
    """One tile of log2-domain scores q @ k^T, masked. BOUNDS: the tile may cross the key
    end or the causal diagonal; otherwise every (row, col) of it is in range."""
    if BOUNDS:
        k = tl.load(k_ptrs, mask=(cols[:, None] < S) & dmask[None, :], other=0.0)
    elif DPAD:
        k = tl.load(k_ptrs, mask=dmask[None, :], other=0.0)
    else:
        k = tl.load(k_ptrs)
    s = _dot(q, tl.trans(k), PREC) * qk_scale
    if MASK_KIND != 0:
        inb = (offs_m[:, None] < L) & (cols[None, :] < S)
        if MASK_KIND == 1:
            keep = tl.load(m_ptrs, mask=inb, other=0) != 0
            s = tl.where(keep, s, -float("inf"))
        else:
            s += tl.load(m_ptrs, mask=inb, other=0.0).to(tl.float32) * 1.4426950408889634
    if BOUNDS:
        ok = cols[None, :] < S
        if CAUSAL:
            ok = ok & (cols[None, :] <= offs_m[:, None])
        s = tl.where(ok, s, -float("inf"))
    return s


@triton.jit
def _dropped(p, seed, rows, cols, S, p_drop, rp_scale):
    """Dropout of probabilities p[rows, cols]: Philox keyed by (seed + batch*head, row * S
    + col), so the backward regenerates the forward's mask without storing it."""
    keep = tl.rand(seed, rows * S + cols) >= p_drop
    return tl.where(keep, p * rp_scale, 0.0)


@triton.jit
def _fwd_tile(acc, m_i, l_i, q, k_ptrs, v_ptrs, m_ptrs, offs_m, cols, L, S, qk_scale, dmask,
              seed, p_drop, rp_scale,
              CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, BOUNDS: tl.constexpr, DPAD: tl.constexpr,
              PREC: tl.constexpr, DROPOUT: tl.constexpr):
    s = _scores(q, k_ptrs, m_ptrs, offs_m, cols, L, S, qk_scale, dmask, CAUSAL, MASK_KIND, BOUNDS, DPAD, PREC)
    p, alpha, m_new, l_i = online_step(m_i, l_i, s)
    if BOUNDS:
        v = tl.load(v_ptrs, mask=(cols[:, None] < S) & dmask[None, :], other=0.0)
    elif DPAD:
        v = tl.load(v_ptrs, mask=dmask[None, :], other=0.0)
    else:
        v = tl.load(v_ptrs)
    if DROPOUT:   # the normaliser l_i sums the kept and the dropped
        p = _dropped(p, seed, offs_m[:, None], cols[None, :], S, p_drop, rp_scale)
    acc = acc * alpha[:, None] + _dot(p.to(v.dtype), v, PREC)
    return acc, m_new, l_i


@triton.jit
def _attn_fwd_kernel(Q, K, V, O, LSE, MASK,
                     sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd,
                     sob, soh, som, sod, smb, smh, smm, smn,
                     H, G, L, S, qk_scale, seed, p_drop, rp_scale,
                     D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                     CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, PREC: tl.constexpr, DROPOUT: tl.constexpr):
    start_m = tl.program_id(0)
    if CAUSAL:   # the last query blocks see the most keys: start them first (shorter tail)
        start_m = tl.num_programs(0) - 1 - start_m
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // G
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    dmask = offs_d < D
    DPAD: tl.constexpr = BLOCK_D != D
    q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd,
                mask=(offs_m[:, None] < L) & dmask[None, :], other=0.0)
    k_ptrs = K + b * skb + hk * skh + offs_n[:, None] * skn + offs_d[None, :] * skd
    v_ptrs = V + b * svb + hk * svh + offs_n[:, None] * svn + offs_d[None, :] * svd
    m_ptrs = MASK + b * smb + h * smh + offs_m[:, None] * smm + offs_n[None, :] * smn
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    # Key blocks [0, full) need no bounds/diagonal masks; [full, hi) do.
    if CAUSAL:
        hi = tl.minimum(S, (start_m + 1) * BLOCK_M)
        full = tl.minimum(((start_m * BLOCK_M + 1) // BLOCK_N) * BLOCK_N, (S // BLOCK_N) * BLOCK_N)
    else:
        hi = S
        full = (S // BLOCK_N) * BLOCK_N
    for n0 in range(0, full, BLOCK_N):
        acc, m_i, l_i = _fwd_tile(acc, m_i, l_i, q, k_ptrs + n0 * skn, v_ptrs + n0 * svn, m_ptrs + n0 * smn,
                                  offs_m, n0 + offs_n, L, S, qk_scale, dmask, seed + bh, p_drop, rp_scale,
                                  CAUSAL, MASK_KIND, False, DPAD, PREC, DROPOUT)
    for n0 in range(full, hi, BLOCK_N):
        acc, m_i, l_i = _fwd_tile(acc, m_i, l_i, q, k_ptrs + n0 * skn, v_ptrs + n0 * svn, m_ptrs + n0 * smn,
                                  offs_m, n0 + offs_n, L, S, qk_scale, dmask, seed + bh, p_drop, rp_scale,
                                  CAUSAL, MASK_KIND, True, DPAD, PREC, DROPOUT)
    empty = l_i == 0.0   # every key masked: torch gives zeros
    out = acc / tl.where(empty, 1.0, l_i)[:, None]
    # lse = +inf for an empty row makes its backward probabilities exp2(s - inf) = 0.
    lse = tl.where(empty, float("inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    rows = offs_m < L
    tl.store(LSE + bh.to(tl.int64) * L + offs_m, lse, mask=rows)
    tl.store(O + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :] * sod,
             out.to(O.dtype.element_ty), mask=rows[:, None] & dmask[None, :])


@triton.jit
def _bwd_delta_kernel(O, DO, DELTA, sob, soh, som, sod, sdb, sdh, sdm, sdd, H, L,
                      D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """delta_i = sum_d dO[i, d] * O[i, d]: the row term of the softmax backward."""
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    mk = (offs_m[:, None] < L) & (offs_d[None, :] < D)
    o = tl.load(O + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :] * sod, mask=mk, other=0.0)
    do = tl.load(DO + b * sdb + h * sdh + offs_m[:, None] * sdm + offs_d[None, :] * sdd, mask=mk, other=0.0)
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)
    tl.store(DELTA + bh.to(tl.int64) * L + offs_m, delta, mask=offs_m < L)


@triton.jit
def _bwd_dkdv_kernel(Q, K, V, DO, LSE, DELTA, MASK, DK, DV,
                     sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd,
                     sdb, sdh, sdm, sdd, smb, smh, smm, smn,
                     sdkb, sdkh, sdkn, sdkd, sdvb, sdvh, sdvn, sdvd,
                     H, HK, G, L, S, qk_scale, sm_scale, seed, p_drop, rp_scale,
                     D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                     CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, PREC: tl.constexpr, DROPOUT: tl.constexpr):
    """dK, dV of one key block of one kv head: sums over every query block and every q
    head of the GQA group in registers (no atomics)."""
    start_n = tl.program_id(0)
    bhk = tl.program_id(1)
    b = (bhk // HK).to(tl.int64)
    hk = (bhk % HK).to(tl.int64)
    offs_n = start_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_m0 = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    dmask = offs_d < D
    kv_mask = (offs_n[:, None] < S) & dmask[None, :]
    k = tl.load(K + b * skb + hk * skh + offs_n[:, None] * skn + offs_d[None, :] * skd, mask=kv_mask, other=0.0)
    v = tl.load(V + b * svb + hk * svh + offs_n[:, None] * svn + offs_d[None, :] * svd, mask=kv_mask, other=0.0)
    dk = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    lo = 0
    if CAUSAL:   # query rows before this block's first key see none of it
        lo = ((start_n * BLOCK_N) // BLOCK_M) * BLOCK_M
    for g in range(0, G):
        h = hk * G + g
        row0 = (b * H + h) * L
        for m0 in range(lo, L, BLOCK_M):
            offs_m = m0 + offs_m0
            rows = offs_m < L
            qm = rows[:, None] & dmask[None, :]
            q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd, mask=qm, other=0.0)
            do = tl.load(DO + b * sdb + h * sdh + offs_m[:, None] * sdm + offs_d[None, :] * sdd, mask=qm, other=0.0)
            lse = tl.load(LSE + row0 + offs_m, mask=rows, other=float("inf"))
            delta = tl.load(DELTA + row0 + offs_m, mask=rows, other=0.0)
            # transposed scores: [BLOCK_N, BLOCK_M]
            st = _dot(k, tl.trans(q), PREC) * qk_scale
            if MASK_KIND != 0:
                mp = MASK + b * smb + h * smh + offs_m[None, :] * smm + offs_n[:, None] * smn
                inb = rows[None, :] & (offs_n[:, None] < S)
                if MASK_KIND == 1:
                    st = tl.where(tl.load(mp, mask=inb, other=0) != 0, st, -float("inf"))
                else:
                    st += tl.load(mp, mask=inb, other=0.0).to(tl.float32) * 1.4426950408889634
            ok = offs_n[:, None] < S
            if CAUSAL:
                ok = ok & (offs_n[:, None] <= offs_m[None, :])
            pt = tl.where(ok, tl.math.exp2(st - lse[None, :]), 0.0)
            dpt = _dot(v, tl.trans(do), PREC)
            if DROPOUT:   # dS = P * (Z * dP - delta), Z the kept/(1-p) mask
                zt = _dropped(tl.full([BLOCK_N, BLOCK_M], 1.0, tl.float32), seed + b * H + h,
                              offs_m[None, :], offs_n[:, None], S, p_drop, rp_scale)
                dv += _dot((pt * zt).to(do.dtype), do, PREC)
                dst = pt * (zt * dpt - delta[None, :])
            else:
                dv += _dot(pt.to(do.dtype), do, PREC)
                dst = pt * (dpt - delta[None, :])
            dk += _dot(dst.to(q.dtype), q, PREC)
    dk *= sm_scale
    tl.store(DK + b * sdkb + hk * sdkh + offs_n[:, None] * sdkn + offs_d[None, :] * sdkd,
             dk.to(DK.dtype.element_ty), mask=kv_mask)
    tl.store(DV + b * sdvb + hk * sdvh + offs_n[:, None] * sdvn + offs_d[None, :] * sdvd,
             dv.to(DV.dtype.element_ty), mask=kv_mask)


@triton.jit
def _bwd_dq_kernel(Q, K, V, DO, LSE, DELTA, MASK, DQ,
                   sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd,
                   sdb, sdh, sdm, sdd, smb, smh, smm, smn, sdqb, sdqh, sdqm, sdqd,
                   H, G, L, S, qk_scale, sm_scale, seed, p_drop, rp_scale,
                   D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                   CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, PREC: tl.constexpr, DROPOUT: tl.constexpr):
    start_m = tl.program_id(0)
    if CAUSAL:   # the last query blocks see the most keys: start them first (shorter tail)
        start_m = tl.num_programs(0) - 1 - start_m
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // G
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n0 = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    dmask = offs_d < D
    rows = offs_m < L
    qm = rows[:, None] & dmask[None, :]
    q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd, mask=qm, other=0.0)
    do = tl.load(DO + b * sdb + h * sdh + offs_m[:, None] * sdm + offs_d[None, :] * sdd, mask=qm, other=0.0)
    row0 = bh.to(tl.int64) * L
    lse = tl.load(LSE + row0 + offs_m, mask=rows, other=float("inf"))
    delta = tl.load(DELTA + row0 + offs_m, mask=rows, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    hi = S
    if CAUSAL:
        hi = tl.minimum(S, (start_m + 1) * BLOCK_M)
    for n0 in range(0, hi, BLOCK_N):
        offs_n = n0 + offs_n0
        kv_mask = (offs_n[:, None] < S) & dmask[None, :]
        k = tl.load(K + b * skb + hk * skh + offs_n[:, None] * skn + offs_d[None, :] * skd, mask=kv_mask, other=0.0)
        v = tl.load(V + b * svb + hk * svh + offs_n[:, None] * svn + offs_d[None, :] * svd, mask=kv_mask, other=0.0)
        s = _dot(q, tl.trans(k), PREC) * qk_scale
        if MASK_KIND != 0:
            mp = MASK + b * smb + h * smh + offs_m[:, None] * smm + offs_n[None, :] * smn
            inb = rows[:, None] & (offs_n[None, :] < S)
            if MASK_KIND == 1:
                s = tl.where(tl.load(mp, mask=inb, other=0) != 0, s, -float("inf"))
            else:
                s += tl.load(mp, mask=inb, other=0.0).to(tl.float32) * 1.4426950408889634
        ok = offs_n[None, :] < S
        if CAUSAL:
            ok = ok & (offs_n[None, :] <= offs_m[:, None])
        p = tl.where(ok, tl.math.exp2(s - lse[:, None]), 0.0)
        dp = _dot(do, tl.trans(v), PREC)
        if DROPOUT:
            dp = _dropped(dp, seed + bh, offs_m[:, None], offs_n[None, :], S, p_drop, rp_scale)
        ds = p * (dp - delta[:, None])
        dq += _dot(ds.to(k.dtype), k, PREC)
    dq *= sm_scale
    tl.store(DQ + b * sdqb + h * sdqh + offs_m[:, None] * sdqm + offs_d[None, :] * sdqd,
             dq.to(DQ.dtype.element_ty), mask=qm)


@triton.jit
def _dropout_scale_kernel(Z, seed, L, S, p_drop, rp_scale, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    bh = tl.program_id(2)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    z = _dropped(tl.full([BLOCK_M, BLOCK_N], 1.0, tl.float32), seed + bh, rows[:, None], cols[None, :],
                 S, p_drop, rp_scale)
    tl.store(Z + bh.to(tl.int64) * L * S + rows[:, None] * S + cols[None, :], z,
             mask=(rows[:, None] < L) & (cols[None, :] < S))


_fwd = Launcher(_attn_fwd_kernel)
_delta = Launcher(_bwd_delta_kernel)
_dkdv = Launcher(_bwd_dkdv_kernel)
_dq = Launcher(_bwd_dq_kernel)
_zlaunch = Launcher(_dropout_scale_kernel)

_b = backend()
_cfg = _b.table("attention")
# float64 falls back: the kernels keep scores and statistics in float32.
_DTYPES = frozenset((torch.float16, torch.bfloat16, torch.float32))
_HEAD_DIMS = 256


# Used where the backend has no "attention" table (GPUs other than Hopper: untuned).
_FWD = ((64, (128, 64, 4, 3)), (128, (128, 64, 8, 3)), (256, (64, 32, 4, 2)))
_BWD = ((64, (32, 128, 128, 32, 4, 3)), (128, (32, 64, 64, 32, 4, 2)), (256, (16, 32, 32, 16, 4, 1)))


def _fwd_config(d, rows="fwd"):
    """(BLOCK_M, BLOCK_N, num_warps, num_stages) for head dim d from the table's `rows`
    ("fwd", or "fwd32": float32's own)."""
    for bound, cfg in _cfg.get(rows, _FWD):
        if d <= bound:
            return cfg
    return cfg


def _bwd_config(d, rows="bwd"):
    """(BLOCK_M, BLOCK_N of the dK/dV kernel, BLOCK_M, BLOCK_N of the dQ kernel, num_warps,
    num_stages): each kernel keeps its own side's block large and streams the other. `rows`:
    the table's "bwd", or "bwd32" (float32's own)."""
    for bound, cfg in _cfg.get(rows, _BWD):
        if d <= bound:
            return cfg
    return cfg


# float32 inputs keep float32's precision (TF32 alone is off by ~1e-3): as tf32x3 where the
# matmul table sets fp32_x3 (gemm.py's x3), else IEEE. H100 explore_attention_fp32.py at
# 1315828, x torch's float32 SDPA, fwd / fwd+bwd, IEEE -> tf32x3: b4 h16 s1024 d64 causal
# 0.35 / 0.29 -> 1.18 / 1.04, d128 0.21 / 0.20 -> 0.41 / 0.67, s2048 d128 causal 0.21 / 0.21 ->
# 0.43 / 0.70; error against float64 at or under IEEE's (out 2.8e-7 / 3.3e-7, torch 4.6e-7)
_FP32 = "tf32x3" if _b.table("matmul").get("fp32_x3") else "ieee"


def _prec(dtype):
    if _b.interpreted and dtype in (torch.float16, torch.bfloat16):
        return "upcast"
    if dtype is torch.float32:
        return _FP32
    return "ieee" if dtype is torch.float64 else "tf32"


def _rp(p_drop):
    return 1.0 / (1.0 - p_drop)


def _seed() -> int:
    """Dropout seed from torch's CPU generator: reproducible under torch.manual_seed, and no
    device sync. Below 2^30 so seed + batch*head stays a 32-bit int."""
    return int(torch.randint(0, 1 << 30, (), dtype=torch.int64))


def dropout_scale(B, H, L, S, p_drop, seed, device=None):
    """The (B, H, L, S) factor (0 or 1/(1-p)) the kernels apply to the probabilities for
    `seed`: the dropout tests build their reference from it."""
    z = torch.empty((B, H, L, S), dtype=torch.float32, device=device or _b.device_type)
    if z.numel():
        _zlaunch((cdiv(L, 16), cdiv(S, 16), B * H), z, seed, L, S, p_drop, _rp(p_drop), 16, 16)
    return z


def _mask_args(mask, B, H, L, S):
    """(kind, tensor, strides) of attn_mask broadcast to (B, H, L, S): broadcast dims get
    stride 0, so the kernel reads each mask element where torch would."""
    if mask is None:
        return 0, None, (0, 0, 0, 0)
    m = mask.expand(B, H, L, S)
    if m.dtype is torch.bool:
        return 1, m.view(torch.uint8), m.stride()
    return 2, m, m.stride()


def _forward(q, k, v, kind, mask, mstr, causal, scale, p_drop=0.0, seed=0):
    B, H, L, D = q.shape
    HK, S = k.shape[1], k.shape[2]
    own = q.dtype is torch.float32 and mask is None and "fwd32" in _cfg
    BM, BN, warps, stages = _fwd_config(D, "fwd32" if own else "fwd")
    if q.dtype is torch.float32 and not _b.interpreted and not own:
        # 4-byte tiles: the half-precision tiles would need up to 295 KB of shared memory
        # (d128 + additive mask, sm90 compile); the H100 has 227 KB per block. The table's
        # float32 rows serve unmasked calls only.
        BM, BN, stages = min(BM, 64), min(BN, 32), min(stages, 2)
    # Output in (B, L, H, D) storage, as torch's flash kernel returns it: a Hugging Face
    # model's transpose(1, 2).reshape afterwards is then a view.
    out = torch.empty((B, L, H, D), dtype=q.dtype, device=q.device).transpose(1, 2)
    lse = torch.empty((B, H, L), dtype=torch.float32, device=q.device)
    if out.numel() == 0:
        return out, lse
    if kind == 0 and p_drop == 0 and flash_tma.forward(q, k, v, out, lse, causal, scale):
        return out, lse
    grid = (cdiv(L, BM), B * H)
    _fwd(grid, q, k, v, out, lse, mask if mask is not None else q,
         *q.stride(), *k.stride(), *v.stride(), *out.stride(), *mstr,
         H, H // HK, L, S, scale * _LOG2E, seed, p_drop, _rp(p_drop),
         D, BM, BN, max(16, next_power_of_2(D)), causal, kind, _prec(q.dtype), p_drop > 0,
         num_warps=warps, num_stages=stages)
    return out, lse


def _backward(do, q, k, v, out, lse, kind, mask, mstr, causal, scale, p_drop=0.0, seed=0):
    B, H, L, D = q.shape
    HK, S = k.shape[1], k.shape[2]
    own = q.dtype is torch.float32 and mask is None and "bwd32" in _cfg
    KM, KN, QM, QN, warps, stages = _bwd_config(D, "bwd32" if own else "bwd")
    if q.dtype is torch.float32 and not _b.interpreted and not own:   # see _forward
        KM, KN, QM, QN, stages = min(KM, 32), min(KN, 32), min(QM, 32), min(QN, 32), 1
    BD = max(16, next_power_of_2(D))
    dq = torch.empty_like(q)
    dk = torch.empty_like(k)
    dv = torch.empty_like(v)
    if S == 0 or L == 0:   # no scores: every gradient is zero
        return dq.zero_(), dk.zero_(), dv.zero_()
    if B * H == 0:
        return dq, dk, dv
    delta = scratch((B, H, L), torch.float32, q.device)
    _delta((cdiv(L, QM), B * H), out, do, delta, *out.stride(), *do.stride(), H, L, D, QM, BD,
           num_warps=4)
    if kind == 0 and p_drop == 0 and flash_tma.backward(do, q, k, v, lse, delta, dq, dk, dv, causal, scale):
        return dq, dk, dv
    m = mask if mask is not None else q
    prec = _prec(q.dtype)
    _dkdv((cdiv(S, KN), B * HK), q, k, v, do, lse, delta, m, dk, dv,
          *q.stride(), *k.stride(), *v.stride(), *do.stride(), *mstr, *dk.stride(), *dv.stride(),
          H, HK, H // HK, L, S, scale * _LOG2E, scale, seed, p_drop, _rp(p_drop),
          D, KM, KN, BD, causal, kind, prec, p_drop > 0,
          num_warps=warps, num_stages=stages)
    _dq((cdiv(L, QM), B * H), q, k, v, do, lse, delta, m, dq,
        *q.stride(), *k.stride(), *v.stride(), *do.stride(), *mstr, *dq.stride(),
        H, H // HK, L, S, scale * _LOG2E, scale, seed, p_drop, _rp(p_drop),
        D, QM, QN, BD, causal, kind, prec, p_drop > 0,
        num_warps=warps, num_stages=stages)
    return dq, dk, dv


class _FlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, mask, causal, scale, p_drop):
        B, H, L, _ = q.shape
        kind, m, mstr = _mask_args(mask, B, H, L, k.shape[2])
        seed = _seed() if p_drop > 0 else 0
        out, lse = _forward(q, k, v, kind, m, mstr, causal, scale, p_drop, seed)
        ctx.save_for_backward(q, k, v, out, lse, m if m is not None else None)
        ctx.meta = (kind, mstr, causal, scale, p_drop, seed)
        return out

    @staticmethod
    @once_differentiable   # no double backward: create_graph=True raises instead of a wrong answer
    def backward(ctx, do):
        q, k, v, out, lse, m = ctx.saved_tensors
        kind, mstr, causal, scale, p_drop, seed = ctx.meta
        dq, dk, dv = _backward(do, q, k, v, out, lse, kind, m, mstr, causal, scale, p_drop, seed)
        return dq, dk, dv, None, None, None, None


def _supported(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *, scale=None,
               enable_gqa=False):
    q, k, v = query, key, value
    if q.dim() not in (3, 4) or k.dim() != q.dim() or v.dim() != q.dim():
        return False
    dt = q.dtype
    if dt not in _DTYPES or k.dtype is not dt or v.dtype is not dt:
        return False
    if q.device != k.device or q.device != v.device or q.device.type != _b.device_type:
        return False
    if not 0.0 <= dropout_p < 1.0 or (is_causal and attn_mask is not None):
        return False   # p = 1: torch's all-zero answer; causal + mask: torch's to decide
    D = q.shape[-1]
    if D == 0 or D > _HEAD_DIMS or k.shape[-1] != D or v.shape[-1] != D:
        return False
    if k.shape[-2] != v.shape[-2] or k.shape[:-2] != v.shape[:-2] or q.shape[0] != k.shape[0]:
        return False
    if q.dim() == 4:
        hq, hk = q.shape[1], k.shape[1]
        if hq != hk and not (enable_gqa and hk > 0 and hq % hk == 0):
            return False
    if attn_mask is not None:
        if attn_mask.device != q.device or attn_mask.requires_grad:
            return False
        if attn_mask.dtype not in (torch.bool, torch.float32, dt):   # what torch accepts
            return False
        target = tuple(q.shape[:-1]) + (k.shape[-2],)
        if attn_mask.dim() > len(target):
            return False
        try:
            if torch.broadcast_shapes(attn_mask.shape, target) != torch.Size(target):
                return False
        except RuntimeError:
            return False
    return True


# The plain calls' route where the C++ entry is in use (runtime/fastpath.cpp, SdpaKernel):
# a C++ autograd function over these two ops, which the entry repeats without Python.
_LIB = torch.library.Library("triforge", "FRAGMENT")
_LIB.define("_flash_fwd(Tensor q, Tensor k, Tensor v, bool causal, float scale) -> (Tensor, Tensor)")
_LIB.define("_flash_bwd(Tensor grad, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, bool causal, "
            "float scale) -> (Tensor, Tensor, Tensor)")


def _flash_fwd(q, k, v, causal, scale):
    return _forward(q, k, v, 0, None, (0, 0, 0, 0), causal, scale)


def _flash_bwd(grad, q, k, v, out, lse, causal, scale):
    return _backward(grad, q, k, v, out, lse, 0, None, (0, 0, 0, 0), causal, scale)


@impl("scaled_dot_product_attention", supports=_supported, autograd=True, inference=True,
      native=("sdpa", (("_flash_fwd", _flash_fwd), ("_flash_bwd", _flash_bwd))))
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *,
                                 scale=None, enable_gqa=False):
    three = query.dim() == 3
    q, k, v = (t.unsqueeze(0) for t in (query, key, value)) if three else (query, key, value)
    mask = attn_mask
    if mask is not None and three:
        mask = mask.unsqueeze(0) if mask.dim() == 3 else mask
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    out = _FlashAttention.apply(q, k, v, mask, bool(is_causal), sc, float(dropout_p))
    return out.squeeze(0) if three else out
