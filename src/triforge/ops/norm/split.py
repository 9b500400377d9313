"""Few long rows of layer/rms/group norm, forward and dx: each row cut into pieces.

One program a row leaves most of the device idle when there are few rows (8 rows of
131072: 8 programs, each walking its row three times). Here every (row, piece)
program first reduces its own piece, then a second launch has every program combine
its row's few dozen partials in a fixed order (deterministic) and write its piece.

Forward partials are each piece's sum (shifted by k, the row's first chunk's mean, so
that a constant row's mean comes out exact: blocks.first_chunk_mean) and its sum of squares about the piece's own mean;
Chan's parallel formula joins them, so no E[x^2] - E[x]^2 cancellation creeps
in (rms norm only needs the sums of squares). Backward partials are the two row sums
of dx, sum(g*w*xhat) and sum(g*w).
"""
from __future__ import annotations

import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, next_power_of_2, scratch
from ..blocks import first_chunk_mean, in_piece, row_piece, row_piece_last_first, split_pieces
from ..reduction.engine import ID, SUM, Spec, reduce
from .rows import CHUNK, SPLIT_PROGRAMS, acc_dtype

# long_backward's first pass: RB rows x BLOCK columns a step, its warps, and at most
# LONG_GROUP_ROWS rows summed into one row of weight-grad partials (so the partials stay
# small beside g and x where there are rows to spare). H200 sweep
# (explore_norm_long_bwd.py at 6e34969, TRIFORGE_FASTPATH=0), us, layer_norm bwd
# 1024x131072 / rms_norm bwd 8192x16384 bf16 (torch 585.6 / 522.7): (2, 2048, w4, 64 rows
# a group) 375.3 / 348.1; (1, 4096, w8, 32) 382.1 / 351.4; (2, 4096, w8, 32) 405.6 / 348.6;
# (8, 1024, w8, 32) 490.6 / 424.7 -- before long_backward 606 / 389.
_long = backend().table("norm").get("long_backward", {})
LONG_GROUP_ROWS = _long.get("group_rows", 64)
LONG_ROWS, LONG_BLOCK, LONG_WARPS = _long.get("rows", 2), _long.get("block", 2048), _long.get("warps", 4)
# Rows of more pieces than this have their dx sums added up by the reduction engine first:
# every dx program loads all of its row's sums (16M columns: 8192 pieces, 64 KB each).
LONG_MAX_SUMS = _long.get("max_sums", 64)


@triton.jit
def _stats_part_kernel(x_ptr, part_ptr, N, L, S, RMS: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
                       INT64: tl.constexpr):
    row, s = row_piece(INT64)
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    off = (row * S + s) * 3
    if RMS:
        pmean = 0.0
    else:   # sums shifted by k, the row's first chunk's mean (_norm_split_kernel adds it back)
        k = first_chunk_mean(x_ptr + row * N, N, BLOCK, ACC)
        t = tl.zeros([BLOCK], ACC)
        for start in range(0, L, BLOCK):
            c = start + cols
            m = in_piece(c, s, L, N)
            t += tl.where(m, tl.load(x_ptr + base + c, mask=m, other=0.0).to(ACC) - k, 0.0)
        total = tl.sum(t, 0)
        pmean = k + total / tl.minimum(L, N - s * L)
        tl.store(part_ptr + off, total)
        tl.store(part_ptr + off + 2, k)
    q = tl.zeros([BLOCK], ACC)
    for start in range(0, L, BLOCK):   # the piece is in L1/L2 from the loop above
        c = start + cols
        mask = in_piece(c, s, L, N)
        xc = tl.where(mask, tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - pmean, 0.0)
        q += xc * xc
    tl.store(part_ptr + off + 1, tl.sum(q, 0))


@triton.jit
def _norm_split_kernel(x_ptr, w_ptr, b_ptr, y_ptr, mean_ptr, rstd_ptr, part_ptr, N, L, S, G, CPG, HW, eps,
                       RMS: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr,
                       BLOCK: tl.constexpr, SP: tl.constexpr, INT64: tl.constexpr):
    row, s = row_piece_last_first(INT64)
    k = tl.arange(0, SP)
    km = k < S
    q = tl.load(part_ptr + (row * S + k) * 3 + 1, mask=km, other=0.0)
    if RMS:
        mean = 0.0
        m2 = tl.sum(q, 0)
    else:
        t = tl.load(part_ptr + (row * S + k) * 3, mask=km, other=0.0)   # shifted by the row's k
        cnt = tl.where(km, tl.minimum(L, N - k * L), 1).to(ACC)
        shifted = tl.sum(t, 0) / N
        d = t / cnt - shifted
        m2 = tl.sum(q, 0) + tl.sum(tl.where(km, cnt * d * d, 0.0), 0)
        mean = tl.load(part_ptr + row * S * 3 + 2) + shifted
    rstd = 1.0 / tl.sqrt(m2 / N + eps)
    pbase = (row % G) * CPG
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    for start in range(0, L, BLOCK):
        c = start + cols
        mask = in_piece(c, s, L, N)
        y = (tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - mean) * rstd
        if HAS_W:
            y = y * tl.load(w_ptr + pbase + (s * L + c) // HW, mask=mask, other=0.0).to(ACC)
        if HAS_B:
            y = y + tl.load(b_ptr + pbase + (s * L + c) // HW, mask=mask, other=0.0).to(ACC)
        tl.store(y_ptr + base + c, y.to(y_ptr.dtype.element_ty), mask=mask)
    if s == 0:
        if not RMS:
            tl.store(mean_ptr + row, mean.to(mean_ptr.dtype.element_ty))
        tl.store(rstd_ptr + row, rstd.to(rstd_ptr.dtype.element_ty))


@triton.jit
def _dx_terms(g_ptr, x_ptr, w_ptr, base, pbase, s, L, N, HW, c, mean, rstd, HAS_W: tl.constexpr,
              ACC: tl.constexpr):
    """(g*w, xhat, mask) at columns c of piece s."""
    mask = in_piece(c, s, L, N)
    g = tl.load(g_ptr + base + c, mask=mask, other=0.0).to(ACC)
    if HAS_W:
        g = g * tl.load(w_ptr + pbase + (s * L + c) // HW, mask=mask, other=0.0).to(ACC)
    xhat = tl.where(mask, (tl.load(x_ptr + base + c, mask=mask, other=0.0).to(ACC) - mean) * rstd, 0.0)
    return g, xhat, mask


@triton.jit
def _row_stats(mean_ptr, rstd_ptr, row, RMS: tl.constexpr, ACC: tl.constexpr):
    rstd = tl.load(rstd_ptr + row).to(ACC)
    if RMS:
        mean = 0.0
    else:
        mean = tl.load(mean_ptr + row).to(ACC)
    return mean, rstd


@triton.jit
def _dx_part_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, part_ptr, N, L, S, G, CPG, HW,
                    RMS: tl.constexpr, HAS_W: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
                    INT64: tl.constexpr):
    row, s = row_piece(INT64)
    mean, rstd = _row_stats(mean_ptr, rstd_ptr, row, RMS, ACC)
    base = row * N + s * L
    pbase = (row % G) * CPG
    cols = tl.arange(0, BLOCK)
    s1 = tl.zeros([BLOCK], ACC)
    s2 = tl.zeros([BLOCK], ACC)
    for start in range(0, L, BLOCK):
        g, xhat, _ = _dx_terms(g_ptr, x_ptr, w_ptr, base, pbase, s, L, N, HW, start + cols, mean, rstd, HAS_W, ACC)
        s1 += xhat * g
        s2 += g
    off = (row * S + s) * 2
    tl.store(part_ptr + off, tl.sum(s1, 0))
    tl.store(part_ptr + off + 1, tl.sum(s2, 0))


@triton.jit
def _dx_split_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, part_ptr, N, L, S, G, CPG, HW,
                     RMS: tl.constexpr, HAS_W: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
                     SP: tl.constexpr, INT64: tl.constexpr):
    row, s = row_piece_last_first(INT64)
    mean, rstd = _row_stats(mean_ptr, rstd_ptr, row, RMS, ACC)
    k = tl.arange(0, SP)
    c1 = tl.sum(tl.load(part_ptr + (row * S + k) * 2, mask=k < S, other=0.0), 0) / N
    c2 = tl.sum(tl.load(part_ptr + (row * S + k) * 2 + 1, mask=k < S, other=0.0), 0) / N
    base = row * N + s * L
    pbase = (row % G) * CPG
    cols = tl.arange(0, BLOCK)
    for start in range(0, L, BLOCK):
        c = start + cols
        g, xhat, mask = _dx_terms(g_ptr, x_ptr, w_ptr, base, pbase, s, L, N, HW, c, mean, rstd, HAS_W, ACC)
        if RMS:
            dx = (g - xhat * c1) * rstd
        else:
            dx = (g - c2 - xhat * c1) * rstd
        tl.store(dx_ptr + base + c, dx.to(dx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _long_load(g_ptr, x_ptr, mean_ptr, rstd_ptr, r, r1, N, c, cmask, RB: tl.constexpr, RMS: tl.constexpr,
               ACC: tl.constexpr):
    """Rows r .. r+RB-1 (those below r1) of g and x at columns c, and their statistics."""
    rr = r + tl.arange(0, RB)
    rm = rr < r1
    m = rm[:, None] & cmask[None, :]
    offs = rr[:, None] * N + c[None, :]
    g = tl.load(g_ptr + offs, mask=m, other=0.0)
    x = tl.load(x_ptr + offs, mask=m, other=0.0)
    rstd = tl.load(rstd_ptr + rr, mask=rm, other=0.0).to(ACC)
    if RMS:
        mean = tl.zeros([RB], ACC)
    else:
        mean = tl.load(mean_ptr + rr, mask=rm, other=0.0).to(ACC)
    return rr, rm, m, g, x, mean, rstd


@triton.jit
def _long_part_kernel(g_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, part_ptr, dw_ptr, db_ptr, rows, per, N, S,
                      RMS: tl.constexpr, HAS_W: tl.constexpr, NEED_DX: tl.constexpr, ACC: tl.constexpr,
                      RB: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """Long rows' backward with weight grads, program (row group, piece s of BLOCK
    columns): the group's sums of g*xhat and g over the piece's columns (dw and db
    partials, row `group`), and for every row its piece's two dx row sums (NEED_DX,
    S pieces a row), which _dx_split_kernel adds up. RB rows a step; the next step's
    loads are issued before this step's sums."""
    pg = tl.program_id(0)
    s = tl.program_id(1)
    if INT64:
        pg = pg.to(tl.int64)
    c = s * BLOCK + tl.arange(0, BLOCK)
    cmask = c < N
    if HAS_W:
        w = tl.load(w_ptr + c, mask=cmask, other=0.0).to(ACC)[None, :]
    dw = tl.zeros([RB, BLOCK], ACC)
    db = tl.zeros([RB, BLOCK], ACC)
    r0 = pg * per
    r1 = tl.minimum(r0 + per, rows)
    rr, rm, m, g_n, x_n, mean_n, rstd_n = _long_load(g_ptr, x_ptr, mean_ptr, rstd_ptr, r0, r1, N, c, cmask,
                                                     RB, RMS, ACC)
    for r in range(r0, r1, RB):
        rows_c, rmask, mask, g, x, mean, rstd = rr, rm, m, g_n.to(ACC), x_n, mean_n, rstd_n
        rr, rm, m, g_n, x_n, mean_n, rstd_n = _long_load(g_ptr, x_ptr, mean_ptr, rstd_ptr, r + RB, r1, N, c,
                                                         cmask, RB, RMS, ACC)
        xhat = tl.where(mask, (x.to(ACC) - mean[:, None]) * rstd[:, None], 0.0)
        dw += g * xhat
        db += g
        if NEED_DX:
            if HAS_W:
                g = g * w
            off = (rows_c * S + s) * 2
            tl.store(part_ptr + off, tl.sum(g * xhat, 1), mask=rmask)
            tl.store(part_ptr + off + 1, tl.sum(g, 1), mask=rmask)
    tl.store(dw_ptr + pg * N + c, tl.sum(dw, 0), mask=cmask)
    if not RMS:
        tl.store(db_ptr + pg * N + c, tl.sum(db, 0), mask=cmask)


_long_part = Launcher(_long_part_kernel)
_stats_part = Launcher(_stats_part_kernel)
_norm_split = Launcher(_norm_split_kernel)
_dx_part = Launcher(_dx_part_kernel)
_dx_split = Launcher(_dx_split_kernel)


def plan(rows: int, n: int):
    """(S, L) where rows of n elements (longer than one block) are few enough to split."""
    return split_pieces(rows, n, CHUNK, SPLIT_PROGRAMS)


def _part(rows, S, x, width=2):
    return scratch((rows, S, width), acc_dtype(x.dtype), x.device)


def forward(pl, x, w_, b_, y, mean, rstd, rows, n, G, CPG, HW, eps, rms, has_w, has_b, acc, i64, warps):
    S, L = pl
    part = _part(rows, S, x, 3)   # a piece's shifted sum, sum of squares about its mean, the shift
    _stats_part((rows, S), x, part, n, L, S, rms, acc, CHUNK, i64, num_warps=warps)
    _norm_split((rows, S), x, w_, b_, y, mean, rstd, part, n, L, S, G, CPG, HW, eps, rms, has_w, has_b, acc,
                CHUNK, next_power_of_2(S), i64, num_warps=warps)


def dx(pl, g, x, w_, mean, rstd, dx_, rows, n, G, CPG, HW, rms, has_w, acc, i64, warps):
    S, L = pl
    part = _part(rows, S, x)
    _dx_part((rows, S), g, x, w_, mean, rstd, part, n, L, S, G, CPG, HW, rms, has_w, acc, CHUNK, i64,
             num_warps=warps)
    _dx_split((rows, S), g, x, w_, mean, rstd, dx_, part, n, L, S, G, CPG, HW, rms, has_w, acc, CHUNK,
              next_power_of_2(S), i64, num_warps=warps)


def long_backward(g, x, w_, mean, rstd, dx_, rows, n, rms, has_w, acc, i64, warps):
    """Rows longer than one block, weight grads wanted: one pass over g and x gives the
    dw/db partials of row groups and each row's dx sums per piece, a second writes dx
    (dx_ None: no second pass). Returns the (groups, n) partials (dw, db; db is dw's
    buffer for rms). Before, one program a row took two passes for dx and a third for
    the partials, one row of partials per 1-4 rows (as large as the input): H200
    1024x131072 bf16 layer_norm backward 0.607 ms, torch 0.590."""
    S = triton.cdiv(n, LONG_BLOCK)
    per = max(1, min(LONG_GROUP_ROWS, rows * S // SPLIT_PROGRAMS))
    P = triton.cdiv(rows, per)
    wp = scratch((P, n), acc_dtype(x.dtype), x.device)
    bp = wp if rms else scratch((P, n), acc_dtype(x.dtype), x.device)
    need_dx = dx_ is not None
    part = _part(rows, S, x) if need_dx else wp
    _long_part((P, S), g, x, w_, mean, rstd, part, wp, bp, rows, per, n, S, rms, has_w, need_dx, acc, LONG_ROWS,
               LONG_BLOCK, i64, num_warps=LONG_WARPS)
    if need_dx:   # pieces of CHUNK columns, each adding up the row's S sums
        if S > LONG_MAX_SUMS:
            part = reduce(part, [1], True, Spec(ID, SUM), part.dtype)   # (rows, 1, 2), in a fixed order
            S = 1
        _dx_split((rows, triton.cdiv(n, CHUNK)), g, x, w_, mean, rstd, dx_, part, n, CHUNK, S, 1, n, 1, rms, has_w,
                  acc, CHUNK, next_power_of_2(S), i64, num_warps=warps)
    return wp, bp
