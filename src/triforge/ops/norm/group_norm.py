"""Group norm's backward: per-(sample, channel) sums first, then everything from them.

One program a (sample, channel) span of HW elements sums g * xhat and g (xhat with its
group's statistics). The weight and bias grads are those sums added over samples (a
fixed order). dx needs, per (sample, group), sum(g * w * xhat) and sum(g * w) over the
group: sum_c w_c * (the channel sums), so the dx kernel reads g and x once more and
never walks a group row for its sums (the row kernel read a long group row twice).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, scratch
from .rows import acc_dtype, acc_of, col_sums, warps_for


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
    hb = min(max(next_power_of_2(HW), 16), 2048)
    _gn_channel((ns * C,), g, x, mean, rstd, sw, sb, C, CPG, HW, acc_of(x.dtype), hb, i64, num_warps=warps_for(hb))
    dx = dw = db = None
    if need_dx:
        dx = torch.empty_like(x)
        blk = min(_DX_BLOCK, max(next_power_of_2(n), 16))
        _gn_dx((rows, cdiv(n, blk)), g, x, w.contiguous() if w is not None else x, mean, rstd, sw, sb, dx, n, C, G,
               CPG, HW, w is not None, acc_of(x.dtype), blk, max(next_power_of_2(CPG), 1), i64,
               num_warps=warps_for(blk))
    if need_dw or need_db:
        sums = col_sums([sw, sb] if need_dw and need_db else [sw] if need_dw else [sb], x.dtype)
        dw = sums[0] if need_dw else None
        db = sums[-1] if need_db else None
    return dx, dw, db
