"""Pieces shared by the row-wise norm and loss kernels.

A "row" is the contiguous span one program normalises or reduces. Rows up to the
backend's `max_single_block` live in registers as one block; longer rows are
streamed in chunks. Sums that cross programs (weight/bias grads, a loss's mean) are
deterministic: every program writes its partial result to its own slot and a second
kernel adds the slots in a fixed order (no float atomics).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, next_power_of_2
from ...runtime.constants import f64_tensor
from ..reduction.engine import ID, SUM, Spec, reduce

_cfg = backend().table("norm")
MAX_SINGLE = _cfg.get("max_single_block", 8192)
CHUNK = _cfg.get("chunk", 2048)
WARPS = _cfg.get("num_warps", 8)
# Programs of a kernel that walks rows in groups (one partial per program): enough to
# fill the device a few times over, few enough that the second pass is tiny.
GROUPS = _cfg.get("row_groups", 528)
# Few rows longer than one block are cut into pieces, about this many in all (split.py).
SPLIT_PROGRAMS = _cfg.get("split_programs", 1024)
FLOATS = frozenset(backend().float_dtypes())
INTERPRETED = backend().interpreted


def acc_of(dtype):
    """torch's accumulate type: float64 for float64, float32 otherwise."""
    return tl.float64 if dtype is torch.float64 else tl.float32


def acc_dtype(dtype):
    return torch.float64 if dtype is torch.float64 else torch.float32


def row_block(n: int):
    """(single, BLOCK) for rows of n elements."""
    if n <= MAX_SINGLE:
        return True, max(next_power_of_2(n), 1)
    return False, CHUNK


# Backward rows per step of a program (one-block rows): elements a step keeps in flight.
BWD_TILE = _cfg.get("bwd_tile", 4096)
BWD_GROUPS = _cfg.get("bwd_row_groups", GROUPS)
# Backward programs take rows pid, pid + P, pid + 2P, ... (in ROWS steps) instead of a
# block of consecutive rows each, so at any moment the grid reads one window of g and x.
# H100 explore_interleave.py norm at 3ffd0af, 16384x4096 bf16, blocks -> interleaved (264
# programs; 528, 396 and 132 slower): layer_norm 155.2 -> 149.7 us, rms_norm 152.8 ->
# 147.8 (torch 333 / 328); bench at a12b701: 0.1493 / 0.1474 ms, 90.0% / 91.1% of the copy
# ceiling (c7b792d: 0.1540 / 0.1519).
BWD_INTERLEAVE = _cfg.get("bwd_interleave", True)
# The forward's stores of y under an L2 policy gained nothing: H100 at 20735df, 16384x4096
# bf16 layer_norm / rms_norm forward, us (torch 120.9 / 112.0), default 95.3 / 94.9,
# streaming (.cs) 95.8 / 95.1, evict_first 95.4 / 95.0, evict_last 95.7 / 96.1
# (norm-fwd-store-policy-at-20735df.txt); evict_first reads of x were slower too.


def bwd_rows(block: int) -> int:
    return max(1, BWD_TILE // block)


# Rows streamed in chunks (longer than one block) run this many warps.
STREAM_WARPS = _cfg.get("stream_warps", WARPS)


def warps_for(block: int, single: bool = True) -> int:
    return max(1, min(WARPS, block // 256)) if single else STREAM_WARPS


@triton.jit
def _total_kernel(a_ptr, b_ptr, out_ptr, bout_ptr, n, div, DIVIDE: tl.constexpr, B_OUT: tl.constexpr,
                  BLOCK: tl.constexpr, ACC: tl.constexpr):
    """out = sum(a) (DIVIDE 1: / sum(b); 2: / div), one program, a fixed order; B_OUT:
    sum(b) into bout too (nll_loss's total weight, without a launch of its own)."""
    cols = tl.arange(0, BLOCK)
    sa = tl.zeros([BLOCK], ACC)
    sb = tl.zeros([BLOCK], ACC)
    for start in range(0, n, BLOCK):
        c = start + cols
        sa += tl.load(a_ptr + c, mask=c < n, other=0.0).to(ACC)
        if DIVIDE == 1 or B_OUT:
            sb += tl.load(b_ptr + c, mask=c < n, other=0.0).to(ACC)
    total = tl.sum(sa, 0)
    if DIVIDE == 1 or B_OUT:
        total_b = tl.sum(sb, 0)
        if B_OUT:
            tl.store(bout_ptr, total_b.to(bout_ptr.dtype.element_ty))
        if DIVIDE == 1:
            total = total / total_b
    if DIVIDE == 2:
        total = total / div
    tl.store(out_ptr, total.to(out_ptr.dtype.element_ty))


_total = Launcher(_total_kernel)


def col_sum(part: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """part[P, N].sum(0) as `dtype`, in a fixed order: the reduction engine's column
    strategy. (Its own kernel here, one program per 1024 columns walking all P rows,
    ran 4 programs for N = 4096 and cost layer_norm backward 0.25 ms on the H200.)"""
    return reduce(part, [0], False, Spec(ID, SUM), dtype)


@triton.jit
def _col_tile_sum(src, dst, P, N, cols, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, ACC: tl.constexpr):
    rows = tl.arange(0, BLOCK_P)
    cmask = (cols < N)[None, :]
    acc = tl.zeros([BLOCK_P, BLOCK_C], ACC)
    for p0 in range(0, P, BLOCK_P):
        r = p0 + rows
        acc += tl.load(src + r[:, None] * N + cols[None, :], mask=(r < P)[:, None] & cmask, other=0.0).to(ACC)
    tl.store(dst + cols, tl.sum(acc, 0).to(dst.dtype.element_ty), mask=cols < N)


@triton.jit
def _col_sums_kernel(a_ptr, b_ptr, oa_ptr, ob_ptr, P, N, ACC: tl.constexpr, BLOCK_P: tl.constexpr,
                     BLOCK_C: tl.constexpr):
    """Program (column block, k): column sums of partials a (k = 0) or b (k = 1)."""
    cols = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    if tl.program_id(1) == 0:
        _col_tile_sum(a_ptr, oa_ptr, P, N, cols, BLOCK_P, BLOCK_C, ACC)
    else:
        _col_tile_sum(b_ptr, ob_ptr, P, N, cols, BLOCK_P, BLOCK_C, ACC)


_col_sums = Launcher(_col_sums_kernel)
# Partials of at most this many rows take _col_sums: one launch for dw and db, every
# program a column strip of all rows (a few tile loads); more rows go to the engine.
COL_SUMS_MAX_P = _cfg.get("col_sums_max_p", 1024)
COL_SUMS_BC, COL_SUMS_TILE = _cfg.get("col_sums_cols", 32), _cfg.get("col_sums_tile", 4096)   # strip width, tile


def col_sums(parts, dtype):
    """[p.sum(0) for p in parts] (one or two (P, N) partials, same shape) as `dtype`,
    in a fixed order, in one launch."""
    P, n = parts[0].shape
    if P > COL_SUMS_MAX_P or n == 0 or not all(p.is_contiguous() for p in parts):
        return [col_sum(p, dtype) for p in parts]
    outs = [torch.empty((n,), dtype=dtype, device=p.device) for p in parts]
    bc = COL_SUMS_BC
    bp = min(max(next_power_of_2(P), 1), max(1, COL_SUMS_TILE // bc))
    a, b = parts[0], parts[-1]
    _col_sums((cdiv(n, bc), len(parts)), a, b, outs[0], outs[-1], P, n, acc_of(a.dtype), bp, bc, num_warps=4)
    return outs


def total(a: torch.Tensor, out: torch.Tensor, b: torch.Tensor | None = None, div: float | None = None, *,
          b_out: torch.Tensor | None = None, by_b: bool = True):
    """out (0-dim) = sum(a), sum(a) / sum(b), or sum(a) / div (a float32 argument: for
    float32 accumulators): a's partials summed in order. b_out (0-dim): sum(b) as well,
    in the same launch (by_b False: out is then sum(a) alone)."""
    n = a.numel()
    block = min(4096, max(next_power_of_2(n), 16))
    mode = 1 if b is not None and by_b else 2 if div is not None else 0
    _total((1,), a, a if b is None else b, out, out if b_out is None else b_out, n, 1.0 if div is None else float(div),
           mode, b_out is not None, block, acc_of(a.dtype), num_warps=4)
    return out


def f64_scalars(dtype, device, *values):
    """Triton passes Python floats as float32; a float64 op that needs its scalar
    arguments exactly gets them from a small float64 tensor instead (flag, tensor),
    made once per values (runtime/constants.py)."""
    if dtype is torch.float64:
        return True, f64_tensor(values, device)
    return False, None


def groups_for(rows: int) -> int:
    """Programs of the backward over one-block rows."""
    return max(1, min(rows, BWD_GROUPS))
