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
from ...runtime import Launcher, cdiv, next_power_of_2, sm_count
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


# Backward over one-block rows (layer_norm.py's _norm_bwd_kernel): bwd_per_sm programs an
# SM, each taking bwd_tile elements (whole rows) a step, staged bwd_stages deep in shared
# memory within bwd_smem bytes, on a warp per bwd_warp_elems elements of a step (at most
# 8; rows longer than a step, rms norm's 16384, on bwd_wide_warps. H200: rows of a step
# 8192 long ran 1-2% faster on 8 warps than on 16; rms 16384 columns: the kernel alone
# over 4096 rows took 146.7 / 135.8 / 125.3 us on 8 / 16 / 32 warps (explore_norm_bwd_
# reload.py at 4688840), but the bench's 8192x16384 backward took 0.2914 ms on 32 (at
# 38ab1f0) against 0.2640 / 0.2626 on 16 (two runs at 4bec3f3): 16 kept). Rows stay one block
# while BLOCK times the per-program accumulators (dw; layer norm db too) fits
# bwd_acc_elems: rms rows of 16384 go in one block, layer norm's stream.
# H200 explore_norm_bwd_pipe.py at c7e76f6, bf16, us with the partials' column sums,
# served kernel (next rows held in registers, 264 programs) -> staged (132): rms 16384x4096
# 116 -> 111, layer 128 -> 114; 8192x8192 140 -> 113 / 154 -> 115; rms 4096x16384 (then
# streamed, 188 the op) 135. Where rows are longer, the streamed path keeps
# bwd_row_groups programs.
BWD_PER_SM = _cfg.get("bwd_per_sm", 1)
BWD_TILE = _cfg.get("bwd_tile", 8192)
BWD_STAGES = _cfg.get("bwd_stages", 3)
BWD_SMEM = _cfg.get("bwd_smem", 160 << 10)
BWD_WARP_ELEMS = _cfg.get("bwd_warp_elems", 1024)
BWD_WIDE_WARPS = _cfg.get("bwd_wide_warps", 16)
BWD_ACC_ELEMS = _cfg.get("bwd_acc_elems", 2 * MAX_SINGLE)
# w is loaded once per program (not every step) where a thread holds at most this many of
# a row's elements (more: the registers are better spent elsewhere; H200 rms 4096x16384
# on 16 warps, with the column sums, 134.7 us loading w every step against 169.3 hoisted,
# explore_norm_bwd_pipe.py at c7e76f6)
BWD_HOIST_ELEMS = _cfg.get("bwd_hoist_elems", 16)
BWD_GROUPS = _cfg.get("bwd_row_groups", GROUPS)


def bwd_plan(rows: int, n: int, rms: bool, elem_size: int, device):
    """(single, BLOCK, ROWS, programs, num_warps, stages, hoist_w) of the norm backward over
    `rows` rows of n elements."""
    block = max(next_power_of_2(n), 1)
    if block * (1 if rms else 2) > BWD_ACC_ELEMS:
        return False, CHUNK, 1, groups_for(rows), STREAM_WARPS, 1, False
    per = max(1, BWD_TILE // block)
    programs = max(1, min(cdiv(rows, per), sm_count(device) * BWD_PER_SM))
    warps = max(1, min(8, per * block // BWD_WARP_ELEMS)) if per * block <= BWD_TILE else BWD_WIDE_WARPS
    stages = max(1, min(BWD_STAGES, BWD_SMEM // (2 * per * block * elem_size)))
    return True, block, per, programs, warps, stages, block // (32 * warps) <= BWD_HOIST_ELEMS


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
# Strips at least col_sums_cols wide; a tile (one load) of col_sums_tile elements, its
# rows all the partials' up to tile / strip, so fewer partials make wider strips (one
# partial row over 16M columns in 32-column strips was 512K programs: H200 layer_norm
# backward over 4 rows of 16M, 0.89 ms, time_split_rows.py at 4688840).
COL_SUMS_BC, COL_SUMS_TILE = _cfg.get("col_sums_cols", 32), _cfg.get("col_sums_tile", 4096)


def col_sums(parts, dtype):
    """[p.sum(0) for p in parts] (one or two (P, N) partials, same shape) as `dtype`,
    in a fixed order, in one launch."""
    P, n = parts[0].shape
    if P > COL_SUMS_MAX_P or n == 0 or not all(p.is_contiguous() for p in parts):
        return [col_sum(p, dtype) for p in parts]
    outs = [torch.empty((n,), dtype=dtype, device=p.device) for p in parts]
    bp = min(max(next_power_of_2(P), 1), max(1, COL_SUMS_TILE // COL_SUMS_BC))
    bc = max(COL_SUMS_BC, COL_SUMS_TILE // bp)
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
    """Programs of the backward over streamed rows."""
    return max(1, min(rows, BWD_GROUPS))
