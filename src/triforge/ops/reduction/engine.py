"""The reduction engine: one kernel that reduces any set of dims, used by every op of
this package (and open to norms/losses).

API
---
    reduce(x, dims, keepdim, spec, out_dtype, *, p=1.0, div=1.0, shift=None,
           want_index=False, want_value=True) -> value | index | (value, index)
    (MINMAX with want_index: (min, max))

`dims`: a list of dims (None or [] = all). `spec` is a `Spec(pre, comb, post, acc)`:
  pre  -- per element before combining: ID, ABS, ABS_POW (|x|^p), NONZERO (x != 0 -> 1/0),
          NAN_ZERO (NaN -> 0), SQ_DEV ((x - shift)^2), EXP_DEV (exp(x - shift))
  comb -- SUM, PROD, MAX, MIN (NaN wins), ARGMAX, ARGMIN (NaN wins, first index on ties),
          MINMAX (min and max in one read: the min as the value, the max in the index's
          place, in the output dtype -- aminmax), MOMENT2 (sums of d = x - shift and of
          d^2 in one read; POST DIV / SQRT_DIV give (sum d^2 - (sum d)^2 / p) / div and
          its root, the second output shift + sum d / p -- var/std and their mean)
  post -- on each result: NONE, DIV (v / div), SQRT_DIV (sqrt(v / div)),
          ROOT (v^(1/p)), LOG_ADD (log(v) + shift)
  acc  -- the accumulation dtype (float32 for half types, float64 for float64, int64 for
          integer sums) -- pick it with `acc_dtype`.
`shift` is a tensor with one value per output element (the keepdim-shaped result of an
earlier reduction, e.g. the mean for var or the max for logsumexp).
The caller checks torch's argument rules first (empty reductions that raise, dtypes):
the engine assumes a non-empty reduced extent for MAX/MIN/ARG* and that `x` is on the
backend's device.

Geometry: the input is viewed as (outer, R, inner) of its storage order (a permuted
dense tensor is reduced without a copy; reduced dims that are not adjacent in storage
are gathered by one permute+copy). Strategies, per shape:
  ROW  (inner == 1): a tile of BLOCK_A rows x BLOCK_R columns per program, looping over
       the row in BLOCK_R chunks (short rows pack several rows into one program);
  COL  (inner > 1): a tile of BLOCK_R reduced rows x BLOCK_A contiguous inner columns,
       so loads run along the contiguous inner dim;
  SPLIT: when the grid has few programs and rows are long, S programs share each
       lane block, taking every S-th tile of its extent (so the grid reads one moving
       window of x); partial results (accumulation dtype, plus indices for ARG*) go to
       an (M, S) workspace, and the last of the S programs to arrive (an integer arrival
       count, runtime/arrivals.py) combines them in split order. Under CUDA graph
       capture, which cannot zero a new counter buffer, a second ROW launch combines
       them instead. No float atomics: the same input gives bitwise the same result
       every run. H100 bench, c7b792d (consecutive chunks, two launches) -> a12b701, ms
       of 16384x4096 bf16: sum all 0.0586 -> 0.0562, sum dim=0 0.0624 -> 0.0601; 8 rows
       of 1M 0.0164 -> 0.0145-0.0153, 4 rows of 131072 0.0084 -> 0.0078
       (reduction-norm-old-new-at-a12b701.txt).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, scratch
from ...runtime.arrivals import arrivals
from ..blocks import centred_moments, load_hinted
from ..pointwise.compare import _maximum, _minimum   # NaN-propagating combines (torch.maximum's)

# pre
ID, ABS, ABS_POW, NONZERO, NAN_ZERO, SQ_DEV, EXP_DEV = range(7)
# comb
SUM, PROD, MAX, MIN, ARGMAX, ARGMIN, MINMAX, MOMENT2 = range(8)
# post
NONE, DIV, SQRT_DIV, ROOT, LOG_ADD = range(5)

_BIG_INDEX = 2**62   # "no element seen yet" index of an ARG* lane


@dataclass(frozen=True)
class Spec:
    pre: int
    comb: int
    post: int = NONE


def acc_dtype(dtype: torch.dtype, comb: int) -> torch.dtype:
    """torch's accumulation type on the GPU: float32 for half types, float64 for float64,
    int64 for integer and bool inputs."""
    if dtype.is_floating_point:
        return torch.float64 if dtype is torch.float64 else torch.float32
    return torch.int64


_TL = {torch.float32: tl.float32, torch.float64: tl.float64, torch.int64: tl.int64}


def _init(comb: int, acc: torch.dtype):
    """The identity of `comb` in `acc` (masked lanes hold it)."""
    if comb in (SUM, MOMENT2):
        return 0
    if comb == PROD:
        return 1
    big = float("inf") if acc.is_floating_point else torch.iinfo(acc).max
    low = float("-inf") if acc.is_floating_point else torch.iinfo(acc).min
    return low if comb in (MAX, ARGMAX) else big


@triton.jit
def _arg_pick(av, ai, bv, bi, IS_MAX: tl.constexpr):
    """True where (av, ai) wins over (bv, bi): NaN first, then the larger (smaller)
    value, then the smaller index."""
    an = av != av
    bn = bv != bv
    if IS_MAX:
        better = av > bv
    else:
        better = av < bv
    return (an & ~bn) | ((an == bn) & (better | ((av == bv) | (an & bn)) & (ai < bi)))


@triton.jit
def _pre(x, shift, p, PRE: tl.constexpr):
    if PRE == 1:
        x = tl.abs(x)
    elif PRE == 2:
        x = tl.exp(p * tl.log(tl.abs(x)))
    elif PRE == 4:
        x = tl.where(x != x, 0.0, x).to(x.dtype)
    elif PRE == 5:
        d = x - shift
        x = d * d
    elif PRE == 6:
        x = tl.exp(x - shift)
    return x


@triton.jit
def _lanes(x_ptr, idx_in_ptr, a_mask, base, step, r0, r_end, r_step, shift, p,
           PRE: tl.constexpr, COMB: tl.constexpr, ACC: tl.constexpr, INIT: tl.constexpr,
           BLOCK_A: tl.constexpr, BLOCK_R: tl.constexpr, IDX_IN: tl.constexpr, STAGES: tl.constexpr,
           EVICT: tl.constexpr, SELF: tl.constexpr):
    """(value, index, shift) of each lane's combine over its elements x[base + r * step],
    r in the tiles [start, start + BLOCK_R) for start = r0, r0 + r_step, ... below r_end.
    The index is the value again unless COMB is ARG*; POST is the caller's. SELF (SUM of
    SQ_DEV or EXP_DEV, each lane's extent one tile): the shift -- the mean, or the max
    (0 where infinite, as torch) -- comes from the tile itself, not from an earlier pass."""
    cols = tl.arange(0, BLOCK_R)
    acc = tl.full([BLOCK_A, BLOCK_R], INIT, ACC)
    if COMB == 6:   # the max's lanes; INIT is the min's identity (int: its max, so -INIT - 1)
        if tl.constexpr(acc.dtype.is_floating()):
            acc_i = -acc
        else:
            acc_i = -acc - 1
    elif COMB == 7:   # the squares' lanes
        acc_i = tl.zeros([BLOCK_A, BLOCK_R], ACC)
    elif COMB >= 4:
        if IDX_IN:
            acc_i = tl.full([BLOCK_A, BLOCK_R], 2**62, tl.int64)
        else:
            # a lane meets its columns in increasing order, so its first column stands
            # until a strictly better value (or a first NaN) comes: ties keep the first
            # index without an index compare, in int32 (rows < 2^31 columns)
            acc_i = tl.zeros([BLOCK_A, BLOCK_R], tl.int32) + (r0 + cols).to(tl.int32)[None, :]
    if SELF:
        r = r0 + cols
        mask = a_mask[:, None] & (r < r_end)[None, :]
        xa = load_hinted(x_ptr + base[:, None] + r[None, :] * step, mask, 0, EVICT).to(ACC)
        if PRE == 5:   # the mean and the squares' sum at once (blocks.centred_moments)
            mean, m2 = centred_moments(xa, mask, (r_end - r0).to(ACC), 1)
            shift = mean[:, None]
        else:
            m = tl.max(tl.where(mask, xa, float("-inf")), 1)[:, None]
            shift = tl.where(tl.abs(m) == float("inf"), 0.0, m)
        if PRE != 5:
            acc = tl.where(mask, _pre(xa, shift, p, PRE), INIT)
    else:
        for start in tl.range(r0, r_end, r_step, num_stages=STAGES):
            r = start + cols
            mask = a_mask[:, None] & (r < r_end)[None, :]
            offs = base[:, None] + r[None, :] * step
            x = load_hinted(x_ptr + offs, mask, 0, EVICT)
            if PRE == 3:   # before any cast: 0.5 is nonzero even when counting in int64
                x = (x != 0).to(ACC)
            else:
                x = _pre(x.to(ACC), shift, p, PRE)
            if COMB == 6:   # masked lanes keep what they hold; the max part of a partial is idx_in's
                if IDX_IN:
                    hi = load_hinted(idx_in_ptr + offs, mask, 0, EVICT).to(ACC)
                else:
                    hi = x
                acc_i = tl.where(mask, tl.maximum(hi, acc_i, propagate_nan=tl.PropagateNan.ALL), acc_i)
            elif COMB == 7:   # a partial's squares are idx_in's
                if IDX_IN:
                    acc_i += load_hinted(idx_in_ptr + offs, mask, 0, EVICT).to(ACC)
                else:
                    x = tl.where(mask, x - shift, 0.0)
                    acc_i += x * x
            x = tl.where(mask, x, INIT)
            if COMB == 0 or COMB == 7:
                acc += x
            elif COMB == 1:
                acc *= x
            elif COMB == 2:   # max.NaN: one instruction on sm80+ (a compare-select chain was 0.84x torch)
                acc = tl.maximum(x, acc, propagate_nan=tl.PropagateNan.ALL)
            elif COMB == 3 or COMB == 6:
                acc = tl.minimum(x, acc, propagate_nan=tl.PropagateNan.ALL)
            elif IDX_IN:
                ri = load_hinted(idx_in_ptr + offs, mask, 0, EVICT)
                # lanes take their first element unconditionally, later ones only if better
                take = mask & ((acc_i == 2**62) | _arg_pick(x, ri, acc, acc_i, COMB == 4))
                acc = tl.where(take, x, acc)
                acc_i = tl.where(take, ri, acc_i)
            else:   # masked lanes hold INIT: never strictly better, never NaN
                if COMB == 4:
                    take = (x > acc) | ((x != x) & (acc == acc))
                else:
                    take = (x < acc) | ((x != x) & (acc == acc))
                acc = tl.where(take, x, acc)
                acc_i = tl.where(take, r.to(tl.int32)[None, :], acc_i)
    if COMB == 0:
        if SELF and PRE == 5:
            v = m2
        else:
            v = tl.sum(acc, 1)
    elif COMB == 1:
        v = tl.reduce(acc, 1, _mul)
    elif COMB == 6:
        v = _extreme(acc, False, INIT)
        vi = _extreme(acc_i, True, -INIT)
    elif COMB == 7:
        v = tl.sum(acc, 1)
        vi = tl.sum(acc_i, 1)
    elif COMB < 4:
        v = _extreme(acc, COMB == 2, INIT)
    else:
        # ARG*: built-in max/min plus a NaN flag (max.f32 drops NaNs on NVIDIA), then the
        # first index among the lanes holding the winner
        nan_lane = acc != acc
        any_nan = tl.max(nan_lane.to(tl.int32), 1) > 0
        clean = tl.where(nan_lane, INIT, acc)
        if COMB == 4:
            best = tl.max(clean, 1)
        else:
            best = tl.min(clean, 1)
        if tl.constexpr(acc.dtype.is_floating()):
            v = tl.where(any_nan, float("nan"), best)
        else:
            v = best
        cand = tl.where(any_nan[:, None], nan_lane, (clean == best[:, None]) & ~nan_lane)
        if IDX_IN:
            vi = tl.min(tl.where(cand, acc_i, 2**62), 1)
        else:   # lanes past the row start at columns >= R: a real lane wins a tie
            vi = tl.min(tl.where(cand, acc_i, 2**31 - 1), 1)
    if COMB < 4:
        vi = v
    return v, vi, shift


@triton.jit
def _extreme(acc, IS_MAX: tl.constexpr, FILL: tl.constexpr):
    """Each lane's max (min), NaN winning. FILL: the identity, which only the
    interpreter's NaN flag path uses."""
    if _TREE_NAN:
        if IS_MAX:
            v = tl.reduce(acc, 1, _maximum)
        else:
            v = tl.reduce(acc, 1, _minimum)
    else:   # built-in max/min plus a NaN flag: exact, and cheap in the interpreter,
        # whose custom combines run element by element in Python
        nan_lane = acc != acc
        clean = tl.where(nan_lane, FILL, acc)
        if IS_MAX:
            v = tl.max(clean, 1)
        else:
            v = tl.min(clean, 1)
        if tl.constexpr(acc.dtype.is_floating()):
            v = tl.where(tl.max(nan_lane.to(tl.int32), 1) > 0, float("nan"), v)
    return v


@triton.jit
def _store(v, vi, off, mask, out_ptr, idx_ptr, shift, p, div, POST: tl.constexpr, COMB: tl.constexpr,
           BLOCK_A: tl.constexpr, WRITE_VAL: tl.constexpr, WRITE_IDX: tl.constexpr):
    """POST on each lane's value, then the value and the second output (ARG*'s index,
    MINMAX's max, a shifted SUM's shift, MOMENT2's mean) stored at off."""
    if COMB == 7 and POST != 0:   # the final store (partials have no POST)
        s1 = v
        # >= 0 as Welford's sum is (rounding may leave a hair below); NaN stays NaN
        m2 = vi - s1 * (s1 / p)
        v = tl.where(m2 < 0, 0.0, m2)
        vi = tl.reshape(shift, [BLOCK_A]) + s1 / p
    if POST == 1:
        v = v / div
    elif POST == 2:
        v = tl.sqrt(v / div)
    elif POST == 3:
        v = tl.where(v == 0, v, tl.exp(tl.log(v) / p))
    elif POST == 4:
        v = tl.log(v) + tl.reshape(shift, [BLOCK_A])
    if WRITE_VAL:
        if out_ptr.dtype.element_ty == tl.int1:
            v = v != 0
        tl.store(out_ptr + off, v.to(out_ptr.dtype.element_ty), mask=mask)
    if COMB >= 4:
        if WRITE_IDX:
            if idx_ptr.dtype.element_ty == tl.int1:   # MINMAX's max of bool
                vi = vi != 0
            tl.store(idx_ptr + off, vi.to(idx_ptr.dtype.element_ty), mask=mask)
    elif WRITE_IDX:   # a SUM's second output is its shift (var_mean's mean)
        tl.store(idx_ptr + off, tl.reshape(shift, [BLOCK_A]).to(idx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _reduce_kernel(x_ptr, out_ptr, idx_ptr, idx_in_ptr, shift_ptr, part_ptr, part_i_ptr, cnt_ptr,
                   M, R, inner, p, div,
                   PRE: tl.constexpr, COMB: tl.constexpr, POST: tl.constexpr, ACC: tl.constexpr,
                   INIT: tl.constexpr, COL: tl.constexpr, BLOCK_A: tl.constexpr, BLOCK_R: tl.constexpr,
                   WRITE_VAL: tl.constexpr, WRITE_IDX: tl.constexpr, IDX_IN: tl.constexpr,
                   HAS_SHIFT: tl.constexpr, INT64: tl.constexpr, STAGES: tl.constexpr, EVICT: tl.constexpr,
                   SPLIT: tl.constexpr, FINISH: tl.constexpr, BLOCK_S: tl.constexpr, SELF: tl.constexpr):
    """Grid (programs, S). Split (S > 1): program (pid, s) takes the tiles s, s + S,
    s + 2S, ... of its lanes' extent, so at any moment the grid reads one contiguous
    window of x. Without FINISH its results (POST NONE) go to out[a, s] for a second
    launch; with FINISH to part[a, s], and the last of the S programs to count itself in
    cnt[pid] (zero between calls) combines part[a, :] in split order -- the second
    launch's combine -- applies POST into out[a] and sets the count back to 0."""
    pid = tl.program_id(0)
    s = tl.program_id(1)
    n_split = tl.num_programs(1)
    if INT64:
        pid = pid.to(tl.int64)
        s = s.to(tl.int64)
    lanes = tl.arange(0, BLOCK_A)
    if COL:
        n_ib = tl.cdiv(inner, BLOCK_A)
        o = pid // n_ib
        i = (pid % n_ib) * BLOCK_A + lanes
        a_mask = i < inner
        a = o * inner + i
        base = o * R * inner + i
        step = inner
    else:
        a = pid * BLOCK_A + lanes
        a_mask = a < M
        base = a * R
        step = 1
    if HAS_SHIFT:
        shift = tl.load(shift_ptr + a, mask=a_mask, other=0.0).to(ACC)[:, None]
        if PRE == 6 or POST == 4:   # logsumexp: an infinite max shifts by 0, as torch
            shift = tl.where(tl.abs(shift) == float("inf"), 0.0, shift)
    else:
        shift = 0.0
    if SPLIT:
        v, vi, shift = _lanes(x_ptr, idx_in_ptr, a_mask, base, step, s * BLOCK_R, R, n_split * BLOCK_R, shift, p,
                              PRE, COMB, ACC, INIT, BLOCK_A, BLOCK_R, IDX_IN, STAGES, EVICT, False)
    else:
        # runtime bounds (start 0, end R), as before the split took every S-th tile:
        # constant ones compiled sum dim=-1 into 32 registers instead of 39 (8 programs
        # of 8 warps on an SM instead of 6), and the H100 read 16384x4096 bf16 slower,
        # 0.0518 against 0.0500-0.0505 ms (bench at 3ffd0af and c7b792d, one run); a
        # runtime step cost argmax over 4096x128256 9% (b7eeeb7)
        r0 = s * R
        v, vi, shift = _lanes(x_ptr, idx_in_ptr, a_mask, base, step, r0, tl.minimum(r0 + R, R), BLOCK_R, shift,
                              p, PRE, COMB, ACC, INIT, BLOCK_A, BLOCK_R, IDX_IN, STAGES, EVICT, SELF)
    if FINISH:
        off = a * n_split + s
        tl.store(part_ptr + off, v, mask=a_mask)
        if COMB == 4 or COMB == 5:
            vi = vi.to(tl.int64)   # the finish's indices are int64 (IDX_IN)
        if COMB >= 4:
            tl.store(part_i_ptr + off, vi, mask=a_mask)
        cnt = cnt_ptr + pid
        tl.debug_barrier()   # every thread's partial is stored before the count says so
        if tl.atomic_add(cnt, 1, sem="acq_rel") == n_split - 1:
            # policy 3 (.cg): from L2, where the other programs' partials are
            v, vi, shift = _lanes(part_ptr, part_i_ptr, a_mask, a * n_split, 1, 0, n_split, BLOCK_S, shift, p,
                                  0, COMB, ACC, INIT, BLOCK_A, BLOCK_S, COMB >= 4, 1, 3, False)
            _store(v, vi, a, a_mask, out_ptr, idx_ptr, shift, p, div, POST, COMB, BLOCK_A, WRITE_VAL, WRITE_IDX)
            tl.atomic_xchg(cnt, 0, sem="relaxed")
    else:
        _store(v, vi, a * n_split + s, a_mask, out_ptr, idx_ptr, shift, p, div, POST, COMB, BLOCK_A,
               WRITE_VAL, WRITE_IDX)


@triton.jit
def _mul(a, b):
    return a * b


# On a GPU max/min end in one NaN-propagating tree (max.NaN on sm80+) instead of the
# NaN flag's two. 16384x4096 bf16 dim=-1: with two trees amax cost 32% more than sum
# (H200 at c20a047: 0.0567 against 0.0429 ms), with one tree 4% (H100 at 6f1a694:
# 0.0589 against 0.0565; 0.0567 with ROW_STAGES 3 at 26c2a99, 1.13x torch). Tried and
# reverted (b0fef0b): ending in a built-in int32 max over order-preserving keys (NaN the
# largest key) -- H100 at 54e9944, amax dim=-1 52.5 -> 60.6 us, dim=0 62.8 -> 65.9, max
# all and float32 unchanged (keyed-extremes-at-54e9944.txt).
_TREE_NAN = tl.constexpr(not backend().interpreted)



_launch = Launcher(_reduce_kernel)
_cfg = backend().table("reduction")
TILE = _cfg.get("tile", 4096)            # elements per program tile
MAX_BLOCK_R = _cfg.get("max_block_r", 4096)
# Extremes (max/min, arg*, aminmax) with 64-bit accumulators: half the columns, and an
# eighth for aminmax's two accumulators. H100 explore_fp64_reduce.py at 55bd13a,
# 4096x4096 float64, us, row block 4096 -> 2048 (-> 512), 8 warps (torch): amax dim=-1
# 68.3 -> 61.3 (60.9), max.dim 67.5 -> 58.3 (62.6), vector_norm inf 79.9 -> 58.8
# (61.8); aminmax dim=-1 189.9 -> 101.0 -> 73.5 (62.0), all 147.2 -> 83.3 -> 63.5
# (65.1). Sums keep 4096 (float64 53.1 -> 58.2 at 2048, torch 60.6), as float32 does.
MAX_BLOCK_R_64 = _cfg.get("max_block_r_64", 2048)
MAX_BLOCK_R_64_PAIR = _cfg.get("max_block_r_64_pair", 512)
COL_BLOCK = _cfg.get("col_block", 64)    # inner columns per COL program
TARGET_PROGRAMS = _cfg.get("target_programs", 264)   # fewer than this: try SPLIT
SPLIT_MIN_R = _cfg.get("split_min_r", 8192)           # ...if rows are at least this long
# ...or, for COL, if a program would loop over this many tiles: (261, 4096) float32 (norm
# weight-grad partials) ran 32 programs of 9 tiles, 0.0183 ms on the H100 (4.3 MB).
COL_SPLIT_STEPS = _cfg.get("col_split_steps", 4)
# Split rows (not columns, not ARG*) finish in their own launch (_reduce_kernel's FINISH)
# rather than in a second one; off only to test the two-launch path that CUDA graph
# capture takes. H100 explore_interleave.py at 3ffd0af, us, two launches -> finish (torch):
# sum all 57.1 -> 56.2 (61.7), 8x1M 16.3 -> 15.2 (18.5), 4x131072 8.4 -> 7.7 (10.5), amax
# 1x131072 7.9 -> 7.3 (10.7); but sum dim=0 59.5 -> 62.2 (70.3), amax dim=0 59.7 -> 60.7,
# argmax all 60.6 -> 73.5: the finish's tile costs the first pass registers.
FINISH_SPLITS = True
WARPS = _cfg.get("col_warps", _cfg.get("num_warps", 4))   # column tiles
ROW_WARPS = _cfg.get("row_warps", WARPS)              # row tiles
# Software-pipeline stages (tl.range) of the loop along a row, for unsplit ROW tiles only.
# H100, 4096x128256 bf16 argmax: 0.386 ms with 1, 0.372 with 3 or 4; the split and COL
# cases (sum all, sum dim=0, few long rows) gained nothing or lost up to 5%.
ROW_STAGES = _cfg.get("row_stages", 1)
# L2 policy of the input's loads (blocks.load_hinted) for inputs of at least STREAM_BYTES,
# which L2 could not keep for a next kernel anyway. evict_first: a kernel that starts with
# L2 full of dirty lines (another kernel's output; do_bench's flush is a 256 MB zero_)
# recycles its own lines before it evicts theirs, so it does not wait for their write-back.
# H100 explore_flush.py at d8d0a90, sum dim=-1 of 128 MB: 54.6 us after the flush, 45.6
# with L2 left clean. Not for kernels that also write: evict_first on the norm forward's
# x read was slower (rms_norm 95.4 -> 96.4 us, read-policy-norms-at-566a74f.txt) and on
# cat and embedding within 2.5% (index/concat.py).
READ_POLICY = _cfg.get("read_policy", 0)
STREAM_BYTES = _cfg.get("stream_bytes", 64 << 20)


def _recipe(x: torch.Tensor, dims):
    """How to view x for the kernel: (perm, copy, outer, R, inner, kept_order). xs =
    x.permute(perm) (perm None: x itself), made contiguous when `copy`, holds x's
    elements with the reduced dims adjacent; kept_order lists x's kept dims in xs's order."""
    nd = x.dim()
    red = sorted({d % nd for d in dims}) if nd and dims else list(range(nd))
    # a dense permuted tensor: walk its storage order instead of copying
    perm = list(range(nd))
    if nd and not x.is_contiguous():
        perm = sorted(range(nd), key=lambda d: (-x.stride(d), d))
        if not x.permute(perm).is_contiguous():
            perm = list(range(nd))
    xs = x.permute(perm)
    pos = [perm.index(d) for d in red]   # reduced dims' positions in xs
    sizes = xs.shape
    # positions of size>1 dims that are reduced must form one run in xs
    big = [q for q in range(nd) if sizes[q] != 1]
    red_big = sorted(q for q in pos if sizes[q] != 1)
    if red_big:
        lo, hi = red_big[0], red_big[-1]
        run = all((q in pos) for q in big if lo <= q <= hi)
    else:
        run = True
    if run and xs.is_contiguous():
        lo, hi = (red_big[0], red_big[-1]) if red_big else (nd, nd - 1)
        outer = _prod(sizes[q] for q in range(nd) if q < lo and q not in pos)
        R = _prod(sizes[q] for q in pos)
        inner = _prod(sizes[q] for q in range(nd) if q > hi and q not in pos)
        kept = [perm[q] for q in range(nd) if q not in pos]
        return (None if perm == list(range(nd)) else perm), False, outer, R, inner, kept
    kept = [d for d in range(nd) if d not in red]
    return kept + red, True, _prod(x.shape[d] for d in kept), _prod(x.shape[d] for d in red), 1, kept


def _prod(it):
    n = 1
    for v in it:
        n *= v
    return n


def out_shape(x, dims, keepdim):
    nd = x.dim()
    red = {d % nd for d in dims} if nd and dims else set(range(nd))
    if keepdim:
        return [1 if d in red else s for d, s in enumerate(x.shape)]
    return [s for d, s in enumerate(x.shape) if d not in red]


class _Plan:
    """What one argument pattern of reduce() needs each call, worked out once: the view
    of x, the output shapes and the launches' constant arguments. (Working them out per
    call was ~25 us of Python on the H200 host, where torch's whole sum takes ~10.)"""
    __slots__ = ("perm", "copy", "kshape", "shape", "inv", "shift_shape", "shift_ranks", "M",
                 "split", "finish", "self_shift", "arg", "idx_dtype", "grid", "tail", "tail_fin", "grid2", "tail2",
                 "part_shape",
                 "warps")

    def run(self, x, shift, out_dtype, acc, want_value, want_index, temp=False):
        xs = x if self.perm is None else x.permute(self.perm)
        if self.copy:
            xs = xs.contiguous()
        dev = x.device
        val = (scratch if temp else torch.empty)(self.kshape, dtype=out_dtype, device=dev) if want_value else None
        idx = torch.empty(self.kshape, dtype=self.idx_dtype or out_dtype, device=dev) if want_index else None
        if shift is not None:
            shift = shift.reshape(self.shift_shape)
            if self.shift_ranks is not None:
                shift = shift.permute(self.shift_ranks)
            shift = shift.contiguous()
        if self.M:
            dummy = xs
            sh = shift if shift is not None else dummy
            vo = val if want_value else dummy
            io = idx if want_index else dummy
            if self.split:
                part = scratch(self.part_shape, acc, dev)
                part_i = scratch(self.part_shape, self.idx_dtype or acc, dev) if self.arg else dummy
                cnt = arrivals(dev, self.grid[0]) if self.finish else None
                if cnt is not None:   # the last split of each lane block finishes it: one launch
                    _launch(self.grid, xs, vo, io, dummy, sh, part, part_i, cnt, *self.tail_fin,
                            num_warps=self.warps)
                else:
                    _launch(self.grid, xs, part, part_i, dummy, sh, dummy, dummy, dummy, *self.tail,
                            num_warps=self.warps)
                    # second pass over the partials: same combine, the op's epilogue
                    _launch(self.grid2, part, vo, io, part_i, sh, dummy, dummy, dummy, *self.tail2,
                            num_warps=self.warps)
            else:
                _launch(self.grid, xs, vo, io, dummy, sh, dummy, dummy, dummy, *self.tail, num_warps=self.warps)
        res = []
        for t in (val, idx):
            if t is not None:
                if self.inv is not None:
                    t = t.permute(self.inv).contiguous()
                res.append(t.reshape(self.shape))
        return res[0] if len(res) == 1 else tuple(res)


_plans: dict = {}


def reduce(x, dims, keepdim, spec: Spec, out_dtype, *, p=1.0, div=1.0, shift=None, shift_fn=None,
           want_value=True, want_index=False, acc=None, temp=False):
    """shift_fn (instead of shift, for SUM of SQ_DEV or EXP_DEV): a function giving the
    shift, called only where the lanes' extents are not one tile each -- where they are,
    each program takes its lanes' shift (mean, max) from its own tile, in one pass.
    want_index on such a SUM: the shift as a second output, in out_dtype (var_mean).
    temp: the result is a buffer between one call's launches (a shift), allocated
    through runtime.scratch so that the C++ entry may repeat the call."""
    acc = acc or acc_dtype(x.dtype, spec.comb)
    key = (x.shape, x.stride(), x.dtype, tuple(dims) if dims else None, keepdim, spec, out_dtype, acc,
           p, div, shift is None, shift_fn is None, want_value, want_index)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) > 4096:
            _plans.clear()
        plan = _plans[key] = _make_plan(x, dims, keepdim, spec, acc, p, div, shift is not None or shift_fn is not None,
                                        want_value, want_index, shift_fn is not None)
    if shift_fn is not None and not plan.self_shift:
        shift = shift_fn()
    return plan.run(x, shift, out_dtype, acc, want_value, want_index, temp)


def _make_plan(x, dims, keepdim, spec, acc, p, div, has_shift, want_value, want_index, self_ok=False):
    pl = _Plan()
    pl.perm, pl.copy, outer, R, inner, kept = _recipe(x, dims)
    pl.shape = out_shape(x, dims, keepdim)
    # outputs in xs's kept order, then viewed back in x's order
    pl.kshape = [x.shape[d] for d in kept]
    ranks = [sorted(kept).index(d) for d in kept]
    ordered = ranks == sorted(ranks)
    pl.inv = None if ordered else [ranks.index(j) for j in range(len(ranks))]
    pl.shift_shape = [x.shape[d] for d in sorted(kept)]   # a keepdim-shaped per-output tensor
    pl.shift_ranks = None if ordered else ranks
    pl.M = M = outer * inner
    col, ba, br, programs = _blocks(M, R, inner, _max_r(acc, spec.comb))
    pl.warps = WARPS if col else ROW_WARPS
    pl.arg = arg = spec.comb >= ARGMAX   # ARG* and MINMAX: two outputs, two partials
    pl.idx_dtype = torch.int64 if spec.comb in (ARGMAX, ARGMIN) else None   # None: out_dtype
    init = _init(spec.comb, acc)
    i64 = needs_int64(x)   # a permutation or dense copy of x reaches no further
    evict = READ_POLICY if x.numel() * x.element_size() >= STREAM_BYTES else 0
    S = _splits(col, R, br, programs)
    pl.split = S > 1
    pl.finish = FINISH_SPLITS and not col and not arg
    pl.self_shift = (self_ok and not col and not pl.split and R <= br and spec.comb == SUM
                     and spec.pre in (SQ_DEV, EXP_DEV))
    if pl.split:
        pl.part_shape = (M, S)
        pl.grid = (programs, S)
        pre_shift = has_shift and (spec.pre in (SQ_DEV, EXP_DEV) or spec.comb == MOMENT2)
        pl.tail = (M, R, inner, float(p), float(div), spec.pre, spec.comb, NONE, _TL[acc], init, col, ba,
                   br, True, arg, False, pre_shift, i64, 1, evict, True, False, 1, False)
        bs = min(next_power_of_2(S), max(1, TILE // ba))
        pl.tail_fin = (M, R, inner, float(p), float(div), spec.pre, spec.comb, spec.post, _TL[acc], init, col, ba,
                       br, want_value, want_index, False, has_shift, i64 or M * S > 2**31 - 1, 1, evict, True, True,
                       bs, False)
        _, ba2, br2, prog2 = _blocks(M, S, 1)
        pl.grid2 = (prog2, 1)
        pl.tail2 = (M, S, 1, float(p), float(div), ID, spec.comb, spec.post, _TL[acc], init, False, ba2, br2,
                    want_value, want_index, arg,
                    has_shift and (spec.post == LOG_ADD or want_index and not arg or spec.comb == MOMENT2),
                    M * S > 2**31 - 1, 1, 0,
                    False, False, 1, False)
    else:
        pl.grid = (programs, 1)
        pl.tail = (M, R, inner, float(p), float(div), spec.pre, spec.comb, spec.post, _TL[acc], init,
                   col, ba, br, want_value, want_index, False, has_shift and not pl.self_shift, i64,
                   _stages(col, R, br, evict), evict, False, False, 1, pl.self_shift)
    return pl


def _splits(col, R, br, programs) -> int:
    """How many programs share each lane block's extent (1: unsplit)."""
    if programs < TARGET_PROGRAMS and (R >= SPLIT_MIN_R or col and cdiv(R, br) >= COL_SPLIT_STEPS):
        return min(cdiv(TARGET_PROGRAMS, programs), cdiv(R, br))
    return 1


_one_tile: dict = {}


def one_tile_rows(x, dims) -> bool:
    """Whether each lane of a reduction of x over dims has its whole extent in one
    program's tile -- where a shift_fn reduction takes its shift from the tile, in one
    pass."""
    key = (x.shape, x.stride(), tuple(dims) if dims else None)
    hit = _one_tile.get(key)
    if hit is None:
        if len(_one_tile) > 4096:
            _one_tile.clear()
        _, _, outer, R, inner, _ = _recipe(x, dims)
        col, _, br, programs = _blocks(outer * inner, R, inner)   # (a SUM's blocks)
        hit = _one_tile[key] = not col and R <= br and _splits(col, R, br, programs) == 1
    return hit


def _stages(col, R, br, evict) -> int:
    """The unsplit row loop's pipeline stages. A pipelined load becomes an asynchronous
    copy, which drops the eviction hint: rows of one tile, which gain nothing from a
    pipeline, load directly when a policy is set (H100, 16384x4096 bf16 sum dim=-1:
    evict_first pipelined 55.8 us, direct 51.8; see READ_POLICY)."""
    if col or (evict and R <= br):
        return 1
    return ROW_STAGES


def _max_r(acc: torch.dtype, comb: int) -> int:
    """A row tile's most columns: fewer for extremes in 64-bit (see MAX_BLOCK_R_64)."""
    if acc.itemsize < 8 or comb in (SUM, PROD, MOMENT2):
        return MAX_BLOCK_R
    return min(MAX_BLOCK_R, MAX_BLOCK_R_64_PAIR if comb == MINMAX else MAX_BLOCK_R_64)


def _blocks(M, R, inner, max_r=None):
    max_r = max_r or MAX_BLOCK_R
    if inner > 1:
        ba = min(next_power_of_2(inner), COL_BLOCK)
        br = min(next_power_of_2(max(R, 1)), max(1, TILE // ba), max_r)
        return True, ba, br, (M // inner) * cdiv(inner, ba)
    br = min(next_power_of_2(max(R, 1)), max_r)
    ba = min(max(1, TILE // br), next_power_of_2(M))
    return False, ba, br, cdiv(M, ba)
