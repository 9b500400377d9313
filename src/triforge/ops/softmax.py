"""softmax and log_softmax, forward (aten::_softmax, aten::_log_softmax) and backward
(aten::_softmax_backward_data, aten::_log_softmax_backward_data).

Innermost dim: one row per program, either one block (N <= the backend's
max_single_block) or streamed in chunks: an online max+sum pass, then a write pass.
Other dims (inner > 1): a program owns BLOCK_I contiguous inner columns of one outer
index and walks the softmax dim in BLOCK_N steps, so every load runs along the
contiguous inner dim (the row kernel would read with stride `inner`). One LOG flag
turns each kernel into its log_softmax twin.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..backends import current as backend
from ..registry import impl
from ..runtime import Launcher, cdiv, needs_int64, next_power_of_2, scratch
from ..runtime.autotune import Tuner, bucket
from .blocks import WALK, in_piece, load_hinted, row_piece, row_piece_last_first, split_pieces, walk_plan


@triton.jit
def _row_base(row, N, inner, INT64: tl.constexpr):
    if INT64:
        row = row.to(tl.int64)
    return (row // inner) * N * inner + row % inner


@triton.jit
def _fwd_value(x, row_max, total, LOG: tl.constexpr):
    if LOG:
        return x - row_max - tl.log(total)
    return tl.exp(x - row_max) / total


@triton.jit
def _bwd_term(g, y, LOG: tl.constexpr):
    """What the backward sums along the dim: g*y (softmax), g (log_softmax)."""
    if LOG:
        return g
    return g * y


@triton.jit
def _bwd_value(g, y, dot, LOG: tl.constexpr):
    if LOG:
        return g - tl.exp(y) * dot
    return y * (g - dot)


@triton.jit
def _online(m, s, x):
    """One step of the online max+sum: (running max, running sum of exp(x - max))."""
    # NaN must win: GPU max drops it (the interpreter's numpy keeps it), and a lane that saw
    # only -inf and then NaN would otherwise count as dead and lose the NaN (H100 tests)
    m_new = tl.maximum(m, x, propagate_nan=tl.PropagateNan.ALL)
    dead = m_new == -float("inf")   # lane saw only -inf so far: keep its sum at 0
    s = tl.where(dead, 0.0, s * tl.exp(m - m_new) + tl.exp(x - m_new))
    return m_new, s


@triton.jit
def _online_one_exp(m, s, x):
    """_online with one exp an element (the walk is issue-bound, blocks.py): exp(-|x - m|)
    is exp(m - x) where x raises the lane's max, else exp(x - m). -inf adds nothing; a NaN
    makes s NaN (and m stays), so the row's total must keep dead lanes' s."""
    d = x - m
    e = tl.exp(-tl.abs(d))
    up = d > 0
    s = tl.where(x == -float("inf"), s, tl.where(up, s * e + 1.0, s + e))
    return tl.where(up, x, m), s


@triton.jit
def _softmax_fwd_kernel(x_ptr, y_ptr, N, inner, ACC: tl.constexpr, SINGLE: tl.constexpr,
                        BLOCK: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    base = _row_base(tl.program_id(0), N, inner, INT64)
    cols = tl.arange(0, BLOCK)
    if SINGLE:
        mask = cols < N
        x = tl.load(x_ptr + base + cols * inner, mask=mask, other=-float("inf")).to(ACC)
        z = x - tl.max(x, 0)
        e = tl.exp(z)
        if LOG:
            y = z - tl.log(tl.sum(e, 0))
        else:
            y = e / tl.sum(e, 0)
        tl.store(y_ptr + base + cols * inner, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        m = tl.full([BLOCK], -float("inf"), ACC)
        s = tl.zeros([BLOCK], ACC)
        for start in range(0, N, BLOCK):
            c = start + cols
            x = tl.load(x_ptr + base + c * inner, mask=c < N, other=-float("inf")).to(ACC)
            m, s = _online(m, s, x)
        row_max = tl.max(m, 0)
        total = tl.sum(tl.where(m == -float("inf"), 0.0, s * tl.exp(m - row_max)), 0)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            x = tl.load(x_ptr + base + c * inner, mask=mask, other=-float("inf")).to(ACC)
            y = _fwd_value(x, row_max, total, LOG)
            tl.store(y_ptr + base + c * inner, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_walk_kernel(x_ptr, y_ptr, R, N, ACC: tl.constexpr, C: tl.constexpr, INT64: tl.constexpr,
                         LOG: tl.constexpr):
    """Long rows, a persistent grid walking whole rows (blocks.walk_plan): the online
    max+sum with the next chunk's load in flight, then the write pass backwards."""
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N.to(tl.int64) if INT64 else row * N
        m = tl.full([C], -float("inf"), ACC)
        s = tl.zeros([C], ACC)
        nxt = load_hinted(x_ptr + base + cols, cols < N, -float("inf"), 1)
        for i in range(0, nch):
            x = nxt.to(ACC)
            c = (i + 1) * C + cols
            nxt = load_hinted(x_ptr + base + c, c < N, -float("inf"), 1)
            m, s = _online_one_exp(m, s, x)
        row_max = tl.max(m, 0)
        # a lane that saw no finite value keeps its s: 0, or NaN after a NaN
        total = tl.sum(tl.where(m == -float("inf"), s, s * tl.exp(m - row_max)), 0)
        if LOG:
            shift = tl.log(total)
        else:
            shift = 1.0 / total   # a multiply an element, not a division (issue-bound)
        c = (nch - 1) * C + cols
        nxt = load_hinted(x_ptr + base + c, c < N, -float("inf"), 2)
        for i in range(0, nch):
            x = nxt.to(ACC)
            cc = (nch - 1 - i) * C + cols
            c = cc - C
            nxt = load_hinted(x_ptr + base + c, (c >= 0) & (c < N), -float("inf"), 2)
            if LOG:
                y = x - row_max - shift
            else:
                y = tl.exp(x - row_max) * shift
            tl.store(y_ptr + base + cc, y.to(y_ptr.dtype.element_ty), mask=cc < N, eviction_policy="evict_first")


@triton.jit
def _softmax_bwd_walk_kernel(g_ptr, y_ptr, gi_ptr, R, N, ACC: tl.constexpr, C: tl.constexpr, INT64: tl.constexpr,
                             LOG: tl.constexpr):
    """The backward's walk (as _softmax_walk_kernel): the row's sum of _bwd_term with the
    next chunk's loads in flight (log_softmax reads g alone there), then the write pass
    backwards."""
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N.to(tl.int64) if INT64 else row * N
        acc = tl.zeros([C], ACC)
        ng = load_hinted(g_ptr + base + cols, cols < N, 0.0, 1)
        if not LOG:
            ny = load_hinted(y_ptr + base + cols, cols < N, 0.0, 1)
        for i in range(0, nch):
            g = ng.to(ACC)
            c = (i + 1) * C + cols
            ng = load_hinted(g_ptr + base + c, c < N, 0.0, 1)
            if LOG:
                acc += g
            else:
                y = ny.to(ACC)
                ny = load_hinted(y_ptr + base + c, c < N, 0.0, 1)
                acc += g * y
        dot = tl.sum(acc, 0)
        c = (nch - 1) * C + cols
        ng = load_hinted(g_ptr + base + c, c < N, 0.0, 2)
        ny = load_hinted(y_ptr + base + c, c < N, 0.0, 2)
        for i in range(0, nch):
            g = ng.to(ACC)
            y = ny.to(ACC)
            cc = (nch - 1 - i) * C + cols
            c = cc - C
            ng = load_hinted(g_ptr + base + c, (c >= 0) & (c < N), 0.0, 2)
            ny = load_hinted(y_ptr + base + c, (c >= 0) & (c < N), 0.0, 2)
            tl.store(gi_ptr + base + cc, _bwd_value(g, y, dot, LOG).to(gi_ptr.dtype.element_ty), mask=cc < N,
                     eviction_policy="evict_first")


@triton.jit
def _softmax_part_kernel(x_ptr, part_ptr, N, L, S, ACC: tl.constexpr, BLOCK: tl.constexpr,
                         INT64: tl.constexpr):
    """Split rows, pass 1: (max, sum of exp(x - max)) of columns [s*L, (s+1)*L)."""
    row, s = row_piece(INT64)
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    m = tl.full([BLOCK], -float("inf"), ACC)
    t = tl.zeros([BLOCK], ACC)
    for start in range(0, L, BLOCK):
        c = start + cols
        x = tl.load(x_ptr + base + c, mask=in_piece(c, s, L, N), other=-float("inf")).to(ACC)
        m, t = _online(m, t, x)
    pm = tl.max(m, 0)
    ps = tl.sum(tl.where(m == -float("inf"), 0.0, t * tl.exp(m - pm)), 0)
    off = (row * S + s) * 2
    tl.store(part_ptr + off, pm)
    tl.store(part_ptr + off + 1, ps)


@triton.jit
def _softmax_split_kernel(x_ptr, y_ptr, part_ptr, N, L, S, ACC: tl.constexpr, BLOCK: tl.constexpr,
                          SP: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    """Split rows, pass 2: every program combines its row's S partials (a few dozen
    numbers) and writes its own columns."""
    row, s = row_piece_last_first(INT64)
    k = tl.arange(0, SP)
    pm = tl.load(part_ptr + (row * S + k) * 2, mask=k < S, other=-float("inf"))
    ps = tl.load(part_ptr + (row * S + k) * 2 + 1, mask=k < S, other=0.0)
    row_max = tl.max(pm, 0)
    total = tl.sum(tl.where(pm == -float("inf"), 0.0, ps * tl.exp(pm - row_max)), 0)
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    for start in range(0, L, BLOCK):
        c = start + cols
        mask = in_piece(c, s, L, N)
        x = tl.load(x_ptr + base + c, mask=mask, other=-float("inf")).to(ACC)
        y = _fwd_value(x, row_max, total, LOG)
        tl.store(y_ptr + base + c, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_bwd_part_kernel(g_ptr, y_ptr, part_ptr, N, L, S, ACC: tl.constexpr, BLOCK: tl.constexpr,
                             INT64: tl.constexpr, LOG: tl.constexpr):
    """Backward over split rows, pass 1: the sum of _bwd_term over columns [s*L, (s+1)*L)."""
    row, s = row_piece(INT64)
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], ACC)
    for start in range(0, L, BLOCK):
        c = start + cols
        mask = in_piece(c, s, L, N)
        g = tl.load(g_ptr + base + c, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + base + c, mask=mask, other=0.0).to(ACC)
        acc += _bwd_term(g, y, LOG)
    tl.store(part_ptr + row * S + s, tl.sum(acc, 0))


@triton.jit
def _softmax_bwd_split_kernel(g_ptr, y_ptr, gi_ptr, part_ptr, N, L, S, ACC: tl.constexpr, BLOCK: tl.constexpr,
                              SP: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    """Backward over split rows, pass 2: the row's S partial sums added in a fixed order,
    then this program's columns written."""
    row, s = row_piece_last_first(INT64)
    k = tl.arange(0, SP)
    dot = tl.sum(tl.load(part_ptr + row * S + k, mask=k < S, other=0.0), 0)
    base = row * N + s * L
    cols = tl.arange(0, BLOCK)
    for start in range(0, L, BLOCK):
        c = start + cols
        mask = in_piece(c, s, L, N)
        g = tl.load(g_ptr + base + c, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + base + c, mask=mask, other=0.0).to(ACC)
        tl.store(gi_ptr + base + c, _bwd_value(g, y, dot, LOG).to(gi_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_bwd_kernel(g_ptr, y_ptr, gi_ptr, N, inner, ACC: tl.constexpr, SINGLE: tl.constexpr,
                        BLOCK: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    base = _row_base(tl.program_id(0), N, inner, INT64)
    cols = tl.arange(0, BLOCK)
    if SINGLE:
        mask = cols < N
        g = tl.load(g_ptr + base + cols * inner, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + base + cols * inner, mask=mask, other=0.0).to(ACC)
        dot = tl.sum(_bwd_term(g, y, LOG), 0)
        tl.store(gi_ptr + base + cols * inner, _bwd_value(g, y, dot, LOG).to(gi_ptr.dtype.element_ty), mask=mask)
    else:
        acc = tl.zeros([BLOCK], ACC)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            g = tl.load(g_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            y = tl.load(y_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            acc += _bwd_term(g, y, LOG)
        dot = tl.sum(acc, 0)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            g = tl.load(g_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            y = tl.load(y_ptr + base + c * inner, mask=mask, other=0.0).to(ACC)
            tl.store(gi_ptr + base + c * inner, _bwd_value(g, y, dot, LOG).to(gi_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _col_offsets(N, inner, BLOCK_I: tl.constexpr, INT64: tl.constexpr):
    """(base offsets [BLOCK_I], column mask) of this program's inner columns."""
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    n_ib = tl.cdiv(inner, BLOCK_I)
    i = (pid % n_ib) * BLOCK_I + tl.arange(0, BLOCK_I)
    return (pid // n_ib) * N * inner + i, i < inner


@triton.jit
def _softmax_fwd_col_kernel(x_ptr, y_ptr, N, inner, ACC: tl.constexpr, BLOCK_N: tl.constexpr,
                            BLOCK_I: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    base, cmask = _col_offsets(N, inner, BLOCK_I, INT64)
    rows = tl.arange(0, BLOCK_N)
    m = tl.full([BLOCK_N, BLOCK_I], -float("inf"), ACC)
    s = tl.zeros([BLOCK_N, BLOCK_I], ACC)
    for start in range(0, N, BLOCK_N):
        r = start + rows
        mask = (r < N)[:, None] & cmask[None, :]
        x = tl.load(x_ptr + base[None, :] + r[:, None] * inner, mask=mask, other=-float("inf")).to(ACC)
        m, s = _online(m, s, x)
    col_max = tl.max(m, 0)
    total = tl.sum(tl.where(m == -float("inf"), 0.0, s * tl.exp(m - col_max[None, :])), 0)
    for start in range(0, N, BLOCK_N):
        r = start + rows
        mask = (r < N)[:, None] & cmask[None, :]
        offs = base[None, :] + r[:, None] * inner
        x = tl.load(x_ptr + offs, mask=mask, other=-float("inf")).to(ACC)
        y = _fwd_value(x, col_max[None, :], total[None, :], LOG)
        tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_bwd_col_kernel(g_ptr, y_ptr, gi_ptr, N, inner, ACC: tl.constexpr, BLOCK_N: tl.constexpr,
                            BLOCK_I: tl.constexpr, INT64: tl.constexpr, LOG: tl.constexpr):
    base, cmask = _col_offsets(N, inner, BLOCK_I, INT64)
    rows = tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N, BLOCK_I], ACC)
    for start in range(0, N, BLOCK_N):
        r = start + rows
        mask = (r < N)[:, None] & cmask[None, :]
        offs = base[None, :] + r[:, None] * inner
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(ACC)
        acc += _bwd_term(g, y, LOG)
    dot = tl.sum(acc, 0)[None, :]
    for start in range(0, N, BLOCK_N):
        r = start + rows
        mask = (r < N)[:, None] & cmask[None, :]
        offs = base[None, :] + r[:, None] * inner
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(ACC)
        tl.store(gi_ptr + offs, _bwd_value(g, y, dot, LOG).to(gi_ptr.dtype.element_ty), mask=mask)


_fwd = Launcher(_softmax_fwd_kernel)
_walk = Launcher(_softmax_walk_kernel)
_bwalk = Launcher(_softmax_bwd_walk_kernel)
_bwd = Launcher(_softmax_bwd_kernel)
_fwd_col = Launcher(_softmax_fwd_col_kernel)
_part = Launcher(_softmax_part_kernel)
_split = Launcher(_softmax_split_kernel)
_bpart = Launcher(_softmax_bwd_part_kernel)
_bsplit = Launcher(_softmax_bwd_split_kernel)
_bwd_col = Launcher(_softmax_bwd_col_kernel)
_cfg = backend().table("softmax")
_MAX_SINGLE, _CHUNK = _cfg.get("max_single_block", 8192), _cfg.get("chunk", 2048)
_WARPS = _cfg.get("num_warps", 4)
# column kernels: inner columns per program and the tile size (elements) per step
_COL_I, _COL_TILE = _cfg.get("col_inner", 64), _cfg.get("col_tile", 4096)
# few long rows (forward and backward): rows split into pieces so that about this many
# programs run
_SPLIT_PROGRAMS = _cfg.get("split_programs", 1024)
# many rows of at least this many bytes: the persistent walk (_softmax_walk_kernel, _softmax_bwd_walk_kernel).
# The backward's from 64 KB: H200 sweep_walk.py at 83686be, one program a row -> walk, bf16
# softmax backward 4096x32768 318.4 -> 203.8 us (61.6% -> 96.3% of the copy ceiling,
# 2.11x torch), 2730x49152 321.5 -> 206.8, 1024x131072 321.9 -> 270.0; float32 4096x32768
# 626.8 -> 403.1 (log_softmax backward's rows there also ran a y.log() each call: faster
# too, by 10-15%, not timed alone). Rows between one block and 64 KB not measured.
_WALK_MIN_BYTES = WALK.get("min_bytes", 98304)
_WALK_BWD_MIN_BYTES = WALK.get("bwd_min_bytes", 65536)
_HALF = (torch.float16, torch.bfloat16)
_dtypes = frozenset(backend().float_dtypes())
# num_warps per (row-length bucket, dtype), tuned once per device and cached on disk.
_fwd_tuner = Tuner("softmax_fwd", _fwd.src_hash, [{"num_warps": w} for w in dict.fromkeys((_WARPS, 4, 8, 16))])


def _geometry(x, dim):
    """(rows, N, inner) of a contiguous tensor reduced along `dim`."""
    if x.dim() == 0:
        return 1, 1, 1
    d = dim % x.dim()
    n = x.shape[d]
    inner = 1
    for s in x.shape[d + 1:]:
        inner *= s
    return x.numel() // max(n, 1), n, inner


_plans: dict = {}   # (launcher, shape, dtype, dim, log) -> (launcher, grid, trailing args, num_warps)


def _launch_rows(row_launcher, col_launcher, tensors, x, dim, log, tuner=None):
    """Launch over the rows of `x` along `dim`. The geometry, flags and tuned warps of a
    shape are worked out once and cached: the host path of a repeated call is a dict
    lookup and the launch (a plan saves ~5 us per small softmax on an H100 host)."""
    key = (row_launcher, x.shape, x.dtype, dim, log)
    plan = _plans.get(key)
    if plan is None:
        plan = _make_plan(row_launcher, col_launcher, tensors, x, dim, log, tuner)
        if len(_plans) > 4096:
            _plans.clear()
        _plans[key] = plan
    launcher, grid, tail, warps = plan
    if launcher is _part or launcher is _bpart:   # split rows: partials, then the write pass
        rows, S, L, SP, acc, i64 = tail
        pdtype = torch.float64 if acc is tl.float64 else torch.float32
        n = x.shape[-1]
        if launcher is _part:
            part = scratch((rows, S, 2), pdtype, x.device)
            _part(grid, x, part, n, L, S, acc, _CHUNK, i64, num_warps=warps)
            _split(grid, x, tensors[1], part, n, L, S, acc, _CHUNK, SP, i64, log, num_warps=warps)
        else:
            g, y, gi = tensors
            part = scratch((rows, S), pdtype, x.device)
            _bpart(grid, g, y, part, n, L, S, acc, _CHUNK, i64, log, num_warps=warps)
            _bsplit(grid, g, y, gi, part, n, L, S, acc, _CHUNK, SP, i64, log, num_warps=warps)
        return
    launcher(grid, *tensors, *tail, num_warps=warps)


def _split_plan(part, rows, n, acc, x):
    """Few rows longer than one block: pieces of whole chunks, ~_SPLIT_PROGRAMS programs
    in all (8 rows of 131072 ran one program a row: 0.67x torch on the H200, forward;
    the backward, one row sum and one elementwise pass like the forward, is split the
    same way -- not yet timed)."""
    sl = split_pieces(rows, n, _CHUNK, _SPLIT_PROGRAMS)
    if sl is None:
        return None
    S, L = sl
    return part, (rows, S), (rows, S, L, next_power_of_2(S), acc, needs_int64(x)), _WARPS


def _make_plan(launcher, col_launcher, tensors, x, dim, log, tuner):
    rows, n, inner = _geometry(x, dim)
    acc = tl.float64 if x.dtype is torch.float64 else tl.float32   # torch's accumulate type
    if inner == 1 and launcher in (_fwd, _bwd) and n > _MAX_SINGLE:
        min_bytes = _WALK_MIN_BYTES if launcher is _fwd else _WALK_BWD_MIN_BYTES
        wp = walk_plan(rows, n, x.element_size(), x.device, min_bytes)
        if wp is not None:
            programs, chunk, warps = wp
            return _walk if launcher is _fwd else _bwalk, (programs,), (rows, n, acc, chunk, needs_int64(x), log), warps
    if inner == 1 and launcher in (_fwd, _bwd) and n > _MAX_SINGLE:
        plan = _split_plan(_part if launcher is _fwd else _bpart, rows, n, acc, x)
        if plan is not None:
            return plan
    if inner > 1:
        bi = min(next_power_of_2(inner), _COL_I)
        bn = min(next_power_of_2(n), max(1, _COL_TILE // bi))
        grid = ((rows // inner) * cdiv(inner, bi),)
        return col_launcher, grid, (n, inner, acc, bn, bi, needs_int64(x), log), _WARPS
    single = n <= _MAX_SINGLE
    block = next_power_of_2(n) if single else _CHUNK
    tail = (n, inner, acc, single, block, needs_int64(x), log)
    grid = (rows,)
    warps = _WARPS
    if tuner is not None and single:
        cfg = tuner.best((bucket(n), str(x.dtype)) + (("log",) if log else ()),
                         lambda c: launcher(grid, *tensors, *tail, num_warps=c["num_warps"]))
        warps = cfg["num_warps"]
    return launcher, grid, tail, warps


# ATen takes half_to_float for float16 on CUDA only; elsewhere torch's error stands.
_HALF_TO_FLOAT = frozenset((torch.float16,) if not backend().interpreted else ())


def _fwd_ok(self, dim, half_to_float):
    return self.dtype in _dtypes and (not half_to_float or self.dtype in _HALF_TO_FLOAT)


def _forward(self, dim, half_to_float, log):
    x = self.contiguous()
    out = torch.empty_like(x, dtype=torch.float32) if half_to_float else torch.empty_like(x)
    if x.numel():
        _launch_rows(_fwd, _fwd_col, (x, out), x, dim, log, _fwd_tuner)
    return out


@impl("_softmax", supports=_fwd_ok, repeat=True)
def softmax(self, dim, half_to_float):
    return _forward(self, dim, half_to_float, False)


@impl("_log_softmax", supports=_fwd_ok, repeat=True)
def log_softmax(self, dim, half_to_float):
    return _forward(self, dim, half_to_float, True)


def _bwd_ok(grad_output, output, dim, input_dtype):
    """As ATen's CUDA kernel: grad and output of one dtype; grad_input of that dtype, or
    float16 after a half_to_float forward. Anything else goes to ATen (which raises)."""
    dt = output.dtype
    return (dt in _dtypes and grad_output.dtype is dt and grad_output.shape == output.shape
            and (input_dtype is dt or (dt is torch.float32 and input_dtype in _HALF_TO_FLOAT)))


def _backward(grad_output, output, dim, input_dtype, log):
    g = grad_output.contiguous()
    y = output.contiguous()
    gi = torch.empty_like(g) if input_dtype is g.dtype else torch.empty_like(g, dtype=input_dtype)
    if g.numel():
        _launch_rows(_bwd, _bwd_col, (g, y, gi), g, dim, log)
    return gi


@impl("_softmax_backward_data", supports=_bwd_ok, repeat=True)
def softmax_backward(grad_output, output, dim, input_dtype):
    return _backward(grad_output, output, dim, input_dtype, False)


@impl("_log_softmax_backward_data", supports=_bwd_ok, repeat=True)
def log_softmax_backward(grad_output, output, dim, input_dtype):
    return _backward(grad_output, output, dim, input_dtype, True)


def _out_ok(out, like, dtype):
    return out.dtype == dtype and out.device == like.device and (out.shape == like.shape or out.numel() == 0)


def _forward_out(self, dim, half_to_float, log, out):
    if not _out_ok(out, self, torch.float32 if half_to_float else self.dtype):
        return NotImplemented
    res = _forward(self, dim, half_to_float, log)
    if out.shape != res.shape:
        out.resize_(res.shape)
    return out.copy_(res)


@impl("_softmax.out", supports=lambda s, d, h, **kw: _fwd_ok(s, d, h), repeat=True)
def softmax_out(self, dim, half_to_float, *, out):
    return _forward_out(self, dim, half_to_float, False, out)


@impl("_log_softmax.out", supports=lambda s, d, h, **kw: _fwd_ok(s, d, h), repeat=True)
def log_softmax_out(self, dim, half_to_float, *, out):
    return _forward_out(self, dim, half_to_float, True, out)


def _backward_out(grad_output, output, dim, input_dtype, log, out):
    if not _out_ok(out, grad_output, input_dtype):
        return NotImplemented
    res = _backward(grad_output, output, dim, input_dtype, log)
    if out.shape != res.shape:
        out.resize_(res.shape)
    return out.copy_(res)


@impl("_softmax_backward_data.out", supports=lambda g, y, d, t, **kw: _bwd_ok(g, y, d, t), repeat=True)
def softmax_backward_out(grad_output, output, dim, input_dtype, *, grad_input):
    return _backward_out(grad_output, output, dim, input_dtype, False, grad_input)


@impl("_log_softmax_backward_data.out", supports=lambda g, y, d, t, **kw: _bwd_ok(g, y, d, t), repeat=True)
def log_softmax_backward_out(grad_output, output, dim, input_dtype, *, out):
    return _backward_out(grad_output, output, dim, input_dtype, True, out)
