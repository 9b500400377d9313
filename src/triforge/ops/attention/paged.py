"""Decode attention over a paged KV cache: the custom ops triforge::reshape_and_cache and
triforge::paged_attention (torch.library custom ops with fake implementations, so
torch.compile traces them).

Cache layout: key_cache, value_cache [num_blocks, block_size, num_kv_heads, head_dim];
token p of sequence s lives in block block_tables[s, p // block_size] at offset
p % block_size. slot_mapping gives each new token its slot (block * block_size +
offset); a negative slot (padding) is skipped.

paged_attention: query [num_seqs, num_heads, head_dim] (one new token per sequence) or
[num_seqs, q_len, num_heads, head_dim] (the last q_len tokens of each context, causal
among themselves). context_lens counts the tokens in the cache, new ones included.
sliding_window > 0: query position i sees keys p with i - sliding_window < p <= i.
soft_cap > 0: scores (after scale) become soft_cap * tanh(score / soft_cap).

Flash-decoding: one program per (sequence, kv head, split of the context); it serves
all q heads of its GQA group (and all q_len tokens) as the rows of one tile, so each K/V
element is read once per split. Splits write partial (max, sum, acc) to a float32
workspace and a combine kernel merges them; with one split the program writes the
output directly. The split count comes from the block table's capacity (no host sync
on context_lens); splits past a sequence's end exit at once.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, next_power_of_2
from .online import online_step

_LOG2E = 1.4426950408889634


@triton.jit
def _reshape_and_cache_kernel(K, V, KC, VC, SLOT, skt, skh, skd, svt, svh, svd,
                              kcb, kcs, kch, kcd, vcb, vcs, vch, vcd, BS, H, D,
                              BLOCK_H: tl.constexpr, BLOCK_D: tl.constexpr):
    t = tl.program_id(0).to(tl.int64)
    slot = tl.load(SLOT + t).to(tl.int64)
    if slot >= 0:
        blk = slot // BS
        off = slot % BS
        hs = tl.arange(0, BLOCK_H)
        ds = tl.arange(0, BLOCK_D)
        m = (hs[:, None] < H) & (ds[None, :] < D)
        k = tl.load(K + t * skt + hs[:, None] * skh + ds[None, :] * skd, mask=m)
        v = tl.load(V + t * svt + hs[:, None] * svh + ds[None, :] * svd, mask=m)
        tl.store(KC + blk * kcb + off * kcs + hs[:, None] * kch + ds[None, :] * kcd, k, mask=m)
        tl.store(VC + blk * vcb + off * vcs + hs[:, None] * vch + ds[None, :] * vcd, v, mask=m)


@triton.jit
def _paged_attn_kernel(Q, KC, VC, BT, CTX, O, TMP_O, TMP_M, TMP_L,
                       sqs, sqt, sqh, sqd, kcb, kcs, kch, kcd, vcb, vcs, vch, vcd,
                       sbt, sos, sot, soh, sod,
                       BS, HK, NSPLIT, SPLIT, qk_scale, soft_cap, window,
                       G: tl.constexpr, QLEN: tl.constexpr, D: tl.constexpr,
                       BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                       SOFTCAP: tl.constexpr, WINDOW: tl.constexpr, DIRECT: tl.constexpr,
                       PREC: tl.constexpr):
    s = tl.program_id(0).to(tl.int64)
    hk = tl.program_id(1).to(tl.int64)
    split = tl.program_id(2)
    ctx = tl.load(CTX + s)
    rows = tl.arange(0, BLOCK_R)           # row r: q head hk * G + r // QLEN, token r % QLEN
    g = rows // QLEN
    t = rows % QLEN
    rmask = rows < G * QLEN
    h = hk * G + g
    pos = ctx - QLEN + t                   # the query token's position in its context
    ds = tl.arange(0, BLOCK_D)
    dmask = ds < D
    q = tl.load(Q + s * sqs + t[:, None] * sqt + h[:, None] * sqh + ds[None, :] * sqd,
                mask=rmask[:, None] & dmask[None, :], other=0.0)
    lo = split * SPLIT
    hi = tl.minimum(lo + SPLIT, ctx)
    if WINDOW:   # keys before the oldest row's window are never read
        first = ((tl.maximum(ctx - QLEN - window + 1, 0)) // BLOCK_N) * BLOCK_N
        lo = tl.maximum(lo, first)
    m_i = tl.full([BLOCK_R], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_R], tl.float32)
    acc = tl.zeros([BLOCK_R, BLOCK_D], tl.float32)
    ns = tl.arange(0, BLOCK_N)
    for n0 in range(lo, hi, BLOCK_N):
        p = n0 + ns
        pm = p < hi
        blk = tl.load(BT + s * sbt + p // BS, mask=pm, other=0).to(tl.int64)
        off = p % BS
        kv_m = pm[:, None] & dmask[None, :]
        k = tl.load(KC + blk[:, None] * kcb + off[:, None] * kcs + hk * kch + ds[None, :] * kcd, mask=kv_m, other=0.0)
        v = tl.load(VC + blk[:, None] * vcb + off[:, None] * vcs + hk * vch + ds[None, :] * vcd, mask=kv_m, other=0.0)
        if PREC == "upcast":
            sc = tl.dot(q.to(tl.float32), tl.trans(k.to(tl.float32)), input_precision="ieee")
        else:
            sc = tl.dot(q, tl.trans(k), input_precision=PREC)
        sc = sc * qk_scale
        if SOFTCAP:   # cap * tanh(x / cap), tanh from exp2 (portable, saturates to +-1)
            x = sc / soft_cap
            sc = soft_cap * (1.0 - 2.0 / (tl.math.exp2(x * 2.8853900817779268) + 1.0))
        sc = sc * 1.4426950408889634
        ok = pm[None, :] & (p[None, :] <= pos[:, None])
        if WINDOW:
            ok = ok & (p[None, :] > pos[:, None] - window)
        sc = tl.where(ok, sc, -float("inf"))
        pr, alpha, m_new, l_i = online_step(m_i, l_i, sc)
        if PREC == "upcast":
            pv = tl.dot(pr.to(v.dtype).to(tl.float32), v.to(tl.float32), input_precision="ieee")
        else:
            pv = tl.dot(pr.to(v.dtype), v, input_precision=PREC)
        acc = acc * alpha[:, None] + pv
        m_i = m_new
    if DIRECT:
        out = acc / tl.where(l_i == 0.0, 1.0, l_i)[:, None]
        tl.store(O + s * sos + t[:, None] * sot + h[:, None] * soh + ds[None, :] * sod,
                 out.to(O.dtype.element_ty), mask=rmask[:, None] & dmask[None, :])
    else:
        w = ((s * HK + hk) * NSPLIT + split) * BLOCK_R + rows
        tl.store(TMP_M + w, m_i)
        tl.store(TMP_L + w, l_i)
        tl.store(TMP_O + w[:, None] * BLOCK_D + ds[None, :], acc)


@triton.jit
def _paged_combine_kernel(O, TMP_O, TMP_M, TMP_L, sos, sot, soh, sod, HK, NSPLIT,
                          G: tl.constexpr, QLEN: tl.constexpr, D: tl.constexpr,
                          BLOCK_R: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr):
    """Merge the splits of one output row: out = sum_i e^(m_i - M) acc_i / sum_i e^(m_i - M) l_i."""
    sh = tl.program_id(0).to(tl.int64)      # s * HK + hk
    r = tl.program_id(1)
    s = sh // HK
    hk = sh % HK
    sp = tl.arange(0, BLOCK_S)
    ds = tl.arange(0, BLOCK_D)
    w = (sh * NSPLIT + sp) * BLOCK_R + r
    spm = sp < NSPLIT
    m = tl.load(TMP_M + w, mask=spm, other=-float("inf"))
    l = tl.load(TMP_L + w, mask=spm, other=0.0)
    acc = tl.load(TMP_O + w[:, None] * BLOCK_D + ds[None, :], mask=spm[:, None], other=0.0)
    mx = tl.max(m, 0)
    mx = tl.where(mx == -float("inf"), 0.0, mx)
    f = tl.math.exp2(m - mx)
    tot = tl.sum(l * f, 0)
    out = tl.sum(acc * f[:, None], 0) / tl.where(tot == 0.0, 1.0, tot)
    h = hk * G + r // QLEN
    t = r % QLEN
    tl.store(O + s * sos + t * sot + h * soh + ds * sod, out.to(O.dtype.element_ty), mask=ds < D)


_cache_launch = Launcher(_reshape_and_cache_kernel)
_attn_launch = Launcher(_paged_attn_kernel)
_combine_launch = Launcher(_paged_combine_kernel)
_b = backend()
_cfg = _b.table("paged_attention")
# Tokens per key tile and per split. Predictions, not swept: 8k contexts in 512-token
# splits give 16 splits x 256 (seq, kv head) = 4096 programs on the 132 SMs of an H100.
_BLOCK_N = _cfg.get("BLOCK_N", 64)
_SPLIT = _cfg.get("split", 512)
_WARPS = _cfg.get("num_warps", 4)
_STAGES = _cfg.get("num_stages", 2)


def _prec(dtype):
    if _b.interpreted and dtype in (torch.float16, torch.bfloat16):
        return "upcast"   # the interpreter's dot cannot take bfloat16 (see flash._dot)
    return "ieee" if dtype is torch.float32 else "tf32"


@torch.library.custom_op("triforge::reshape_and_cache", mutates_args=("key_cache", "value_cache"))
def reshape_and_cache(key: torch.Tensor, value: torch.Tensor, key_cache: torch.Tensor,
                      value_cache: torch.Tensor, slot_mapping: torch.Tensor) -> None:
    """key, value [num_tokens, num_kv_heads, head_dim] -> the cache slots in slot_mapping."""
    T, H, D = key.shape
    if key_cache.dtype != key.dtype or value_cache.dtype != value.dtype:
        raise ValueError("reshape_and_cache: cache and new keys/values must have one dtype")
    if key_cache.shape[2:] != (H, D) or value_cache.shape[2:] != (H, D) or value.shape != key.shape:
        raise ValueError("reshape_and_cache: shapes of key/value and the caches disagree")
    if T == 0:
        return
    _cache_launch((T,), key, value, key_cache, value_cache, slot_mapping, *key.stride(), *value.stride(),
                  *key_cache.stride(), *value_cache.stride(), key_cache.shape[1], H, D,
                  next_power_of_2(H), next_power_of_2(D), num_warps=4)


@reshape_and_cache.register_fake
def _(key, value, key_cache, value_cache, slot_mapping):
    return None


@torch.library.custom_op("triforge::paged_attention", mutates_args=())
def paged_attention(query: torch.Tensor, key_cache: torch.Tensor, value_cache: torch.Tensor,
                    block_tables: torch.Tensor, context_lens: torch.Tensor, scale: float,
                    sliding_window: int = 0, soft_cap: float = 0.0) -> torch.Tensor:
    q = query if query.dim() == 4 else query.unsqueeze(1)
    S, QLEN, HQ, D = q.shape
    BS, HK = key_cache.shape[1], key_cache.shape[2]
    if HQ % HK or key_cache.shape[3] != D or value_cache.shape != key_cache.shape:
        raise ValueError("paged_attention: q heads must be a multiple of kv heads, head dims equal")
    if key_cache.dtype != q.dtype or value_cache.dtype != q.dtype:
        raise ValueError("paged_attention: query and caches must have one dtype")
    G = HQ // HK
    out = torch.empty((S, QLEN, HQ, D), dtype=q.dtype, device=q.device)
    if out.numel() == 0:
        return out if query.dim() == 4 else out.squeeze(1)
    cap = block_tables.shape[1] * BS
    nsplit = max(1, cdiv(cap, _SPLIT))
    rows = max(16, next_power_of_2(G * QLEN))
    bd = max(16, next_power_of_2(D))
    direct = nsplit == 1
    if direct:
        tmp_o = tmp_m = tmp_l = out
    else:
        tmp_m = torch.empty((S, HK, nsplit, rows), dtype=torch.float32, device=q.device)
        tmp_l = torch.empty_like(tmp_m)
        tmp_o = torch.empty((S, HK, nsplit, rows, bd), dtype=torch.float32, device=q.device)
    _attn_launch((S, HK, nsplit), q, key_cache, value_cache, block_tables, context_lens, out,
                 tmp_o, tmp_m, tmp_l, *q.stride(), *key_cache.stride(), *value_cache.stride(),
                 block_tables.stride(0), *out.stride(), BS, HK, nsplit, _SPLIT, float(scale),
                 float(soft_cap) if soft_cap > 0 else 1.0, int(sliding_window),
                 G, QLEN, D, rows, _BLOCK_N, bd, soft_cap > 0, sliding_window > 0, direct, _prec(q.dtype),
                 num_warps=_WARPS, num_stages=_STAGES)
    if not direct:
        _combine_launch((S * HK, G * QLEN), out, tmp_o, tmp_m, tmp_l, *out.stride(), HK, nsplit,
                        G, QLEN, D, rows, next_power_of_2(nsplit), bd, num_warps=4)
    return out if query.dim() == 4 else out.squeeze(1)


@paged_attention.register_fake
def _(query, key_cache, value_cache, block_tables, context_lens, scale, sliding_window=0, soft_cap=0.0):
    return torch.empty_like(query, memory_format=torch.contiguous_format)
