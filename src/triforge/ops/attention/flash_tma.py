"""Flash attention through TMA tensor descriptors (Hopper), for the common case: no
attn_mask, no dropout, 16-bit q/k/v with head dim 64 or 128 whose strides TMA can
address (any (B, H, S, D) view with a unit inner stride: the transposed (B, S, H, D)
layout Hugging Face models pass included). Everything else runs flash.py's pointer
kernels, whose tiles, masks, log-sum-exp and deterministic two-kernel backward these
reproduce. The forward runs where the backend table has "fwd_tma" configs, the backward
where it has "bwd_tma" ones.

Q, K and V blocks come through 4-d descriptors (one [1, 1, rows, D] block; rows past L
or S read as zeros, and the scores of key columns past S are masked), O goes out through
one (clipped at L). H100, bf16, b4 h32 s4096, against torch SDPA in the same run:
explored at 456d859 (scripts/explore_attention.py), causal d128 0.884x where the pointer
kernel reached 0.771x (128x128 tiles, 8 warps, 3 stages), non-causal 0.816x (0.771x),
causal d64 0.943x (0.892x, 128x64 tiles, 4 stages); in the bench at 1511f5a, 0.877x,
0.871x and 0.896x (the pointer kernel 0.761x, 0.760x, 0.786x at 1c9cac9). The backward
(explore_attention.py --bwd at 274beb5, forward+backward against torch's): causal d128
0.792x where flash.py's backward gave 0.698x, non-causal 0.825x (0.779x), d64 0.890x
(0.764x), 64-row blocks in both kernels, 4 warps, 2 stages. Folding a positive scale
into exp2's argument (explore_attention.py --fold at c1d0394, alternating): non-causal
d128 0.855x -> 0.883x, d64 0.883x -> 0.925x, causal d128 within the runs' noise. dK/dV/dQ
as tl.dot's accumulator operand (ab_attention_bwd.py, 43561df vs a783cba): no change
beyond that noise (fwd+bwd causal d128 0.82-0.89x either way).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

from ...backends import current as backend
from ...runtime import Launcher, cdiv
from .online import online_step, online_step_scaled


@triton.jit
def _tile(acc, m_i, l_i, q, k_desc, v_desc, b, hk, n0, offs_m, S, qk_scale,
          CAUSAL: tl.constexpr, BOUNDS: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr,
          UPCAST: tl.constexpr, FOLD: tl.constexpr):
    k = k_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    v = v_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    if UPCAST:   # the interpreter's dot multiplies 16-bit bit patterns
        k = k.to(tl.float32)
        v = v.to(tl.float32)
        q = q.to(tl.float32)
    s = tl.dot(q, k.T)
    if not FOLD:
        s = s * qk_scale
    if BOUNDS:   # the tile crosses the key end or the causal diagonal
        cols = n0 + tl.arange(0, BLOCK_N)
        ok = cols[None, :] < S
        if CAUSAL:
            ok = ok & (cols[None, :] <= offs_m[:, None])
        s = tl.where(ok, s, -float("inf"))
    if FOLD:
        p, alpha, m_new, l_i = online_step_scaled(m_i, l_i, s, qk_scale)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
    else:
        p, alpha, m_new, l_i = online_step(m_i, l_i, s)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
    return acc, m_new, l_i


@triton.jit
def _query_block(H, G, BLOCK_M: tl.constexpr, CAUSAL: tl.constexpr):
    """Program (query block, batch * head): (bh, b, h, kv head, first row, rows). Causal:
    the last query blocks see the most keys, so they start first (a shorter tail)."""
    start_m = tl.program_id(0)
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - start_m
    bh = tl.program_id(1)
    h = bh % H
    m0 = start_m * BLOCK_M
    return bh, bh // H, h, h // G, m0, m0 + tl.arange(0, BLOCK_M)


@triton.jit
def _attn_fwd_tma_kernel(q_desc, k_desc, v_desc, o_desc, LSE, H, G, L, S, qk_scale,
                         D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr,
                         UPCAST: tl.constexpr, FOLD: tl.constexpr):
    bh, b, h, hk, m0, offs_m = _query_block(H, G, BLOCK_M, CAUSAL)
    q = q_desc.load([b, h, m0, 0]).reshape(BLOCK_M, D)
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    if CAUSAL:   # as flash.py: key blocks [0, full) need no masks, [full, hi) do
        hi = tl.minimum(S, m0 + BLOCK_M)
        full = tl.minimum(((m0 + 1) // BLOCK_N) * BLOCK_N, (S // BLOCK_N) * BLOCK_N)
    else:
        hi = S
        full = (S // BLOCK_N) * BLOCK_N
    for n0 in range(0, full, BLOCK_N):
        acc, m_i, l_i = _tile(acc, m_i, l_i, q, k_desc, v_desc, b, hk, n0, offs_m, S, qk_scale,
                              CAUSAL, False, BLOCK_N, D, UPCAST, FOLD)
    for n0 in range(full, hi, BLOCK_N):
        acc, m_i, l_i = _tile(acc, m_i, l_i, q, k_desc, v_desc, b, hk, n0, offs_m, S, qk_scale,
                              CAUSAL, True, BLOCK_N, D, UPCAST, FOLD)
    empty = l_i == 0.0
    out = acc / tl.where(empty, 1.0, l_i)[:, None]
    lse = tl.where(empty, float("inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    tl.store(LSE + bh.to(tl.int64) * L + offs_m, lse, mask=offs_m < L)
    o_desc.store([b, h, m0, 0], out.to(o_desc.dtype).reshape(1, 1, BLOCK_M, D))


@triton.jit
def _dkdv_tile(dk, dv, k, v, q_desc, do_desc, LSE, DELTA, b, h, bh, m0, offs_n, L, qk_scale,
               CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, D: tl.constexpr, UPCAST: tl.constexpr):
    """One query block's share of dK, dV. Query rows past L read as zeros with lse = inf
    (probability 0); key rows past S only reach dK/dV rows the store clips, so only
    the causal diagonal needs a mask."""
    q = q_desc.load([b, h, m0, 0]).reshape(BLOCK_M, D)
    do = do_desc.load([b, h, m0, 0]).reshape(BLOCK_M, D)
    offs_m = m0 + tl.arange(0, BLOCK_M)
    rows = offs_m < L
    lse = tl.load(LSE + bh.to(tl.int64) * L + offs_m, mask=rows, other=float("inf"))
    delta = tl.load(DELTA + bh.to(tl.int64) * L + offs_m, mask=rows, other=0.0)
    if UPCAST:
        q = q.to(tl.float32)
        do = do.to(tl.float32)
    st = tl.dot(k, q.T) * qk_scale                       # [BLOCK_N, BLOCK_M]
    pt = tl.math.exp2(st - lse[None, :])
    if CAUSAL:
        pt = tl.where(offs_n[:, None] <= offs_m[None, :], pt, 0.0)
    dv = tl.dot(pt.to(do.dtype), do, dv)
    dpt = tl.dot(v, do.T)
    dk = tl.dot((pt * (dpt - delta[None, :])).to(q.dtype), q, dk)
    return dk, dv


@triton.jit
def _attn_bwd_dkdv_tma_kernel(q_desc, k_desc, v_desc, do_desc, dk_desc, dv_desc, LSE, DELTA,
                              H, HK, G, L, S, qk_scale, sm_scale,
                              D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                              CAUSAL: tl.constexpr, UPCAST: tl.constexpr):
    """dK, dV of one key block of one kv head, summed over the query blocks and the q
    heads of its GQA group in registers (no atomics), as flash.py's kernel."""
    start_n = tl.program_id(0)
    bhk = tl.program_id(1)
    b = bhk // HK
    hk = bhk % HK
    n0 = start_n * BLOCK_N
    offs_n = n0 + tl.arange(0, BLOCK_N)
    k = k_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    v = v_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    if UPCAST:
        k = k.to(tl.float32)
        v = v.to(tl.float32)
    dk = tl.zeros([BLOCK_N, D], tl.float32)
    dv = tl.zeros([BLOCK_N, D], tl.float32)
    lo = 0
    diag = 0
    if CAUSAL:   # rows before the block's first key see none of it; [lo, diag) cross the diagonal
        lo = (n0 // BLOCK_M) * BLOCK_M
        diag = tl.minimum(tl.cdiv(n0 + BLOCK_N, BLOCK_M) * BLOCK_M, tl.cdiv(L, BLOCK_M) * BLOCK_M)
    for g in range(G):
        h = hk * G + g
        bh = b * H + h
        for m0 in range(lo, diag, BLOCK_M):
            dk, dv = _dkdv_tile(dk, dv, k, v, q_desc, do_desc, LSE, DELTA, b, h, bh, m0, offs_n, L, qk_scale,
                                True, BLOCK_M, D, UPCAST)
        for m0 in range(tl.maximum(lo, diag), L, BLOCK_M):
            dk, dv = _dkdv_tile(dk, dv, k, v, q_desc, do_desc, LSE, DELTA, b, h, bh, m0, offs_n, L, qk_scale,
                                False, BLOCK_M, D, UPCAST)
    dk *= sm_scale
    dk_desc.store([b, hk, n0, 0], dk.to(dk_desc.dtype).reshape(1, 1, BLOCK_N, D))
    dv_desc.store([b, hk, n0, 0], dv.to(dv_desc.dtype).reshape(1, 1, BLOCK_N, D))


@triton.jit
def _dq_tile(dq, q, do, lse, delta, k_desc, v_desc, b, hk, n0, offs_m, qk_scale,
             CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr, UPCAST: tl.constexpr):
    """One key block's share of dQ. Key rows past S read as zeros: their probabilities
    meet zero rows of K in ds @ K, so only the causal diagonal needs a mask."""
    k = k_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    v = v_desc.load([b, hk, n0, 0]).reshape(BLOCK_N, D)
    if UPCAST:
        k = k.to(tl.float32)
        v = v.to(tl.float32)
    s = tl.dot(q, k.T) * qk_scale
    p = tl.math.exp2(s - lse[:, None])
    if CAUSAL:
        p = tl.where(n0 + tl.arange(0, BLOCK_N)[None, :] <= offs_m[:, None], p, 0.0)
    dp = tl.dot(do, v.T)
    return tl.dot((p * (dp - delta[:, None])).to(k.dtype), k, dq)


@triton.jit
def _attn_bwd_dq_tma_kernel(q_desc, k_desc, v_desc, do_desc, dq_desc, LSE, DELTA, H, G, L, S, qk_scale, sm_scale,
                            D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                            CAUSAL: tl.constexpr, UPCAST: tl.constexpr):
    bh, b, h, hk, m0, offs_m = _query_block(H, G, BLOCK_M, CAUSAL)
    rows = offs_m < L
    q = q_desc.load([b, h, m0, 0]).reshape(BLOCK_M, D)
    do = do_desc.load([b, h, m0, 0]).reshape(BLOCK_M, D)
    if UPCAST:
        q = q.to(tl.float32)
        do = do.to(tl.float32)
    lse = tl.load(LSE + bh.to(tl.int64) * L + offs_m, mask=rows, other=float("inf"))
    delta = tl.load(DELTA + bh.to(tl.int64) * L + offs_m, mask=rows, other=0.0)
    dq = tl.zeros([BLOCK_M, D], tl.float32)
    if CAUSAL:   # as the forward: [0, full) unmasked, [full, hi) across the diagonal
        hi = tl.minimum(S, m0 + BLOCK_M)
        full = tl.minimum(((m0 + 1) // BLOCK_N) * BLOCK_N, (S // BLOCK_N) * BLOCK_N)
    else:
        hi = S
        full = S
    for n0 in range(0, full, BLOCK_N):
        dq = _dq_tile(dq, q, do, lse, delta, k_desc, v_desc, b, hk, n0, offs_m, qk_scale, False, BLOCK_N, D, UPCAST)
    for n0 in range(full, hi, BLOCK_N):
        dq = _dq_tile(dq, q, do, lse, delta, k_desc, v_desc, b, hk, n0, offs_m, qk_scale, CAUSAL, BLOCK_N, D,
                      UPCAST)
    dq *= sm_scale
    dq_desc.store([b, h, m0, 0], dq.to(dq_desc.dtype).reshape(1, 1, BLOCK_M, D))


_launch = Launcher(_attn_fwd_tma_kernel)
_dkdv = Launcher(_attn_bwd_dkdv_tma_kernel)
_dq = Launcher(_attn_bwd_dq_tma_kernel)
_b = backend()
_CFG = dict(_b.table("attention").get("fwd_tma", ()))   # head dim -> (BM, BN, warps, stages)
# head dim -> (dK/dV kernel's BM, BN, dQ kernel's BM, BN, warps, stages)
_BWD_CFG = dict(_b.table("attention").get("bwd_tma", ()))
_LOG2E = 1.4426950408889634
# The forward scales scores inside exp2's argument (one FMA a score) and accumulates P@V
# into the rescaled accumulator; that needs a positive scale (the row max of the scaled
# scores is then the scaled row max). Off: the scale multiplies the tile first.
_FOLD_SCALE = True


def _desc(t, block_rows):
    """4-d descriptor of a (B, H, rows, D) view read in [1, 1, block_rows, D] blocks, or
    None where TMA cannot address it (16-byte aligned base and strides, unit inner
    stride). A size-1 dim's stride is never stepped: any aligned value does."""
    size = t.element_size()
    if t.stride(-1) != 1 or t.data_ptr() % 16:
        return None
    strides = []
    for n, s in zip(t.shape[:-1], t.stride()[:-1]):
        if n == 1:
            s = 16 // size
        if s <= 0 or (s * size) % 16:
            return None
        strides.append(s)
    return _descriptor(t, list(t.shape), [*strides, 1], [1, 1, block_rows, t.shape[-1]])


def _descriptor(t, shape, strides, block):
    """TensorDescriptor(t, shape, strides, block) without its __post_init__, whose checks
    _desc has made (alignment, unit inner stride; sizes are positive where its callers
    launch): a backward builds up to 11 of these a call, and the checks were about half
    of their host time (cProfile on the H100 at 67f1075)."""
    d = object.__new__(TensorDescriptor)
    d.base, d.shape, d.strides, d.block_shape, d.padding = t, shape, strides, block, "zero"
    return d


def forward(q, k, v, out, lse, causal, scale) -> bool:
    """out, lse = the attention of (B, H, L, D) q over k, v, if this kernel takes it."""
    B, H, L, D = q.shape
    HK, S = k.shape[1], k.shape[2]
    cfg = _CFG.get(D)
    if cfg is None or q.dtype not in (torch.float16, torch.bfloat16) or L == 0 or S == 0 or B * H == 0:
        return False
    BM, BN, warps, stages = cfg
    descs = (_desc(q, BM), _desc(k, BN), _desc(v, BN), _desc(out, BM))
    if any(d is None for d in descs):
        return False
    _launch((cdiv(L, BM), B * H), *descs, lse, H, H // HK, L, S, scale * _LOG2E, D, BM, BN, causal,
            _b.interpreted, _FOLD_SCALE and scale > 0, num_warps=warps, num_stages=stages)
    return True


def backward(do, q, k, v, lse, delta, dq, dk, dv, causal, scale) -> bool:
    """dq, dk, dv of the attention of (B, H, L, D) q over k, v (no mask, no dropout), given
    the forward's lse and delta = rowsum(dO * O), if these kernels take it."""
    B, H, L, D = q.shape
    HK, S = k.shape[1], k.shape[2]
    cfg = _BWD_CFG.get(D)
    if cfg is None or q.dtype not in (torch.float16, torch.bfloat16) or L == 0 or S == 0 or B * H == 0:
        return False
    KM, KN, QM, QN, warps, stages = cfg
    descs = {"q": (q, KM, QM), "do": (do, KM, QM), "k": (k, KN, QN), "v": (v, KN, QN)}
    ds = {}
    for n, (t, a, c) in descs.items():
        da = _desc(t, a)
        ds[n] = (da, da if c == a else _desc(t, c))   # one descriptor where both kernels' blocks agree
    out = (_desc(dk, KN), _desc(dv, KN), _desc(dq, QM))
    if any(d is None for pair in ds.values() for d in pair) or any(d is None for d in out):
        return False
    qk = scale * _LOG2E
    _dkdv((cdiv(S, KN), B * HK), ds["q"][0], ds["k"][0], ds["v"][0], ds["do"][0], out[0], out[1], lse, delta,
          H, HK, H // HK, L, S, qk, scale, D, KM, KN, causal, _b.interpreted, num_warps=warps, num_stages=stages)
    _dq((cdiv(L, QM), B * H), ds["q"][1], ds["k"][1], ds["v"][1], ds["do"][1], out[2], lse, delta,
        H, H // HK, L, S, qk, scale, D, QM, QN, causal, _b.interpreted, num_warps=warps, num_stages=stages)
    return True
