"""Group norm's backward: per-(sample, channel) sums first, then everything from them.

The weight and bias grads are the per-(sample, channel) sums of g * xhat and g (xhat
with its group's statistics) added over samples (a fixed order). dx needs, per (sample,
group), sum(g * w * xhat) and sum(g * w) over the group: sum_c w_c * (the channel sums).

Many (sample, group) rows of up to one block: a persistent grid takes a row at a time,
its channel sums and dx from one read (_gn_row_kernel). Otherwise one program a
(sample, channel) span for the sums, then a dx kernel that reads g and x once more,
both spread over many more programs than there are rows.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, scratch, sm_count
from .rows import BWD_SMEM, BWD_STAGES, BWD_WARP_ELEMS, acc_dtype, acc_of, col_sums, warps_for

_cfg = backend().table("norm")
# dx wanted, rows of up to gn_one elements (channels and positions each padded to a power
# of two) and at least gn_row_min_per_sm rows an SM: _gn_row_kernel, one program an SM,
# a warp per bwd_warp_elems elements, the loads staged within bwd_smem. H200
# sweep_group_norm_bwd.py at 4bec3f3+, bf16, us (torch): 64x512x1024 in 32 groups (rows of
# 16x1024) 102.6 -> 84.2 (292.2), 16x1280x256 (rows of 40x256) 32.3 -> 28.9 (63.2).
# Longer rows walked twice by a persistent grid (forward, then backwards from L2) were
# no faster than the two kernels' 2.5 reads, or slower (64x512x1024: 88.3-196.0 us).
# The forward's counterpart (one program an SM, a row's statistics and y from one read,
# 2 stages) was slower than one program a row reading it three times: bench at 12b450d
# plus it, 64x512x1024 group_norm forward 0.0540 -> 0.0757 ms (torch 0.168); not kept.
ROW_MIN_PER_SM = _cfg.get("gn_row_min_per_sm", 2)
ONE_ELEMS = _cfg.get("gn_one", 16384)


@triton.jit
def _gn_channel_kernel(g_ptr, x_ptr, mean_ptr, rstd_ptr, dw_ptr, db_ptr, C, CPG, HW,
                       ACC: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """Group norm: per (sample, channel) row of HW elements, sum g*xhat and g."""
    nc = tl.program_id(0)
    if INT64:
        nc = nc.to(tl.int64)
    stat = (nc // C) * (C // CPG) + (nc % C) // CPG
    mean = tl.load(mean_ptr + stat).to(ACC)
    rstd = tl.load(rstd_ptr + stat).to(ACC)
    cols = tl.arange(0, BLOCK)
    sw = tl.zeros([BLOCK], ACC)
    sb = tl.zeros([BLOCK], ACC)
    for start in range(0, HW, BLOCK):
        c = start + cols
        mask = c < HW
        g = tl.load(g_ptr + nc * HW + c, mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + nc * HW + c, mask=mask, other=0.0).to(ACC)
        sw += tl.where(mask, g * (x - mean) * rstd, 0.0)
        sb += g
    tl.store(dw_ptr + nc, tl.sum(sw, 0))
    tl.store(db_ptr + nc, tl.sum(sb, 0))


@triton.jit
def _gn_dx_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, sw_ptr, sb_ptr, dx_ptr, N, C, G, CPG, HW,
                  HAS_W: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr, CB: tl.constexpr,
                  INT64: tl.constexpr):
    """Program (sample * G + group, block of the group's N = CPG * HW elements)."""
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    grp = row % G
    ch = tl.arange(0, CB)
    cm = ch < CPG
    cidx = (row // G) * C + grp * CPG + ch
    sw = tl.load(sw_ptr + cidx, mask=cm, other=0.0).to(ACC)
    sb = tl.load(sb_ptr + cidx, mask=cm, other=0.0).to(ACC)
    if HAS_W:
        wc = tl.load(w_ptr + grp * CPG + ch, mask=cm, other=0.0).to(ACC)
        sw = sw * wc
        sb = sb * wc
    c1 = tl.sum(sw, 0) / N
    c2 = tl.sum(sb, 0) / N
    mean = tl.load(mean_ptr + row).to(ACC)
    rstd = tl.load(rstd_ptr + row).to(ACC)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    offs = row * N + cols
    g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
    if HAS_W:
        g = g * tl.load(w_ptr + grp * CPG + cols // HW, mask=mask, other=0.0).to(ACC)
    xhat = (tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC) - mean) * rstd
    tl.store(dx_ptr + offs, ((g - c2 - xhat * c1) * rstd).to(dx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _gn_row_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, sw_ptr, sb_ptr, dx_ptr, rows, C, G, CPG, HW,
                   HAS_W: tl.constexpr, ACC: tl.constexpr, CB: tl.constexpr, HB: tl.constexpr,
                   STAGES: tl.constexpr, INT64: tl.constexpr):
    """A persistent grid over (sample, group) rows (row = sample * G + group) of up to
    CB channels x HB positions: a row's channel sums of g*xhat and g (into sw/sb at
    (sample, channel)) and its dx from one read of g and x, the next rows' loads staged
    STAGES deep."""
    cb = tl.arange(0, CB)
    hb = tl.arange(0, HB)
    cm = cb < CPG
    m = cm[:, None] & (hb < HW)[None, :]
    n = CPG * HW
    span = n.to(tl.int64) if INT64 else n
    for row in tl.range(tl.program_id(0), rows, tl.num_programs(0), num_stages=STAGES):
        grp = row % G
        offs = row * span + cb[:, None] * HW + hb[None, :]
        cidx = (row // G) * C + grp * CPG + cb
        mean = tl.load(mean_ptr + row).to(ACC)
        rstd = tl.load(rstd_ptr + row).to(ACC)
        g = tl.load(g_ptr + offs, mask=m, other=0.0).to(ACC)
        xhat = tl.where(m, (tl.load(x_ptr + offs, mask=m, other=0.0).to(ACC) - mean) * rstd, 0.0)
        sw = tl.sum(g * xhat, 1)
        sb = tl.sum(g, 1)
        tl.store(sw_ptr + cidx, sw, mask=cm)
        tl.store(sb_ptr + cidx, sb, mask=cm)
        if HAS_W:
            wc = tl.load(w_ptr + grp * CPG + cb, mask=cm, other=0.0).to(ACC)
            sw = sw * wc
            sb = sb * wc
            g = g * wc[:, None]
        c1 = tl.sum(sw, 0) / n
        c2 = tl.sum(sb, 0) / n
        tl.store(dx_ptr + offs, ((g - c2 - xhat * c1) * rstd).to(dx_ptr.dtype.element_ty), mask=m)


_gn_row = Launcher(_gn_row_kernel)
_gn_channel = Launcher(_gn_channel_kernel)
_gn_dx = Launcher(_gn_dx_kernel)
_DX_BLOCK = 2048


def backward(g, x, mean, rstd, w, rows, n, G, CPG, HW, C, need_dx, need_dw, need_db):
    """(dx, dw, db) of group norm over rows = samples * G groups of n = CPG * HW elements
    (contiguous g, x, statistics), non-empty."""
    ns = rows // G
    pdtype = acc_dtype(x.dtype)
    i64 = needs_int64(x)
    # scratch: the per-(sample, channel) sums pass between this call's launches only, so
    # the C++ entry may repeat the call with fresh ones (a torch.empty kept it in Python)
    sw = scratch((ns, C), pdtype, x.device)
    sb = scratch((ns, C), pdtype, x.device)
    dx = dw = db = None
    cp, hp = next_power_of_2(CPG), next_power_of_2(HW)
    if need_dx and cp * hp <= ONE_ELEMS and rows >= ROW_MIN_PER_SM * sm_count(x.device):
        dx = torch.empty_like(x)
        stages = max(1, min(BWD_STAGES, BWD_SMEM // (2 * cp * hp * x.element_size())))
        _gn_row((min(rows, sm_count(x.device)),), g, x, w.contiguous() if w is not None else x, mean, rstd, sw, sb,
                dx, rows, C, G, CPG, HW, w is not None, acc_of(x.dtype), cp, hp, stages, i64,
                num_warps=max(1, min(16, cp * hp // BWD_WARP_ELEMS)))
    else:
        hb = min(max(next_power_of_2(HW), 16), 2048)
        _gn_channel((ns * C,), g, x, mean, rstd, sw, sb, C, CPG, HW, acc_of(x.dtype), hb, i64,
                    num_warps=warps_for(hb))
        if need_dx:
            dx = torch.empty_like(x)
            blk = min(_DX_BLOCK, max(next_power_of_2(n), 16))
            _gn_dx((rows, cdiv(n, blk)), g, x, w.contiguous() if w is not None else x, mean, rstd, sw, sb, dx, n, C,
                   G, CPG, HW, w is not None, acc_of(x.dtype), blk, max(next_power_of_2(CPG), 1), i64,
                   num_warps=warps_for(blk))
    if need_dw or need_db:
        sums = col_sums([sw, sb] if need_dw and need_db else [sw] if need_dw else [sb], x.dtype)
        dw = sums[0] if need_dw else None
        db = sums[-1] if need_db else None
    return dx, dw, db
