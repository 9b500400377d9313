"""Many long rows of layer/rms/group norm, forward: a persistent row walk (blocks.walk_plan).

One program a row reads a streamed row three times (mean, centred variance, write).
Here each program of a persistent grid walks whole rows in two passes: sums and sums of
squares of x - k (k the first chunk's mean, below), with the next chunk's load in
flight; then the write pass walks the row backwards, so its first reads come from L2.
H200 at d3693e4 (scripts/explore_long_rows_pipe.py, its twin shifted by the row's first
element), layer_norm 1024x131072 bf16: 268.7 -> 186.0 us (torch 329.1).

At one program an SM the instructions an element cost as much time as the bytes (one
SM issues 128 lane-operations a clock: 20 an element over 1M elements an SM is ~80 us at
1.98 GHz), and so do registers. Per-lane Welford (~9 an element) measured 217.5 us at
32268d4, sums shifted by each lane's first element (a third [C] tensor live) 261.4 us,
where the explore's sums shifted by one number took 186. So the shift here is one number,
the first chunk's mean k: E[(x-k)^2] - E[x-k]^2 loses about eps x (k - mean)^2 / var, and
(k - mean)^2 <= (N / C) var (the first chunk's C elements all lie in the row), so at most
nch x eps of the variance.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ...runtime import Launcher
from ..blocks import WALK, centred_step, exact_quotient, load_hinted, row_moments, walk_plan

# Rows of at least this many bytes walk (the backend's "walk" table), where enough rows fill the grid.
MIN_BYTES = WALK.get("min_bytes", 98304)


@triton.jit
def _norm_walk_kernel(x_ptr, w_ptr, b_ptr, y_ptr, mean_ptr, rstd_ptr, R, N, G, CPG, HW, eps,
                      RMS: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr,
                      C: tl.constexpr, INT64: tl.constexpr):
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N.to(tl.int64) if INT64 else row * N
        pbase = (row % G) * CPG
        x = load_hinted(x_ptr + base + cols, cols < N, 0.0, 1).to(ACC)
        nxt = load_hinted(x_ptr + base + C + cols, C + cols < N, 0.0, 1)   # in flight while k is found
        k = 0.0
        if not RMS:
            k = exact_quotient(tl.sum(x, 0), tl.minimum(N, C))   # the shift: the first chunk's mean
        s1, s2 = centred_step(x, cols < N, k, tl.zeros([C], ACC), tl.zeros([C], ACC), RMS)
        for i in range(1, nch):
            x = nxt.to(ACC)
            c = i * C + cols
            cn = c + C
            nxt = load_hinted(x_ptr + base + cn, cn < N, 0.0, 1)
            s1, s2 = centred_step(x, c < N, k, s1, s2, RMS)
        # (a row holding NaN keeps it: blocks.moments_from_sums clamps by a where)
        mean, m2 = row_moments(k, s1, s2, N, RMS)
        rstd = 1.0 / tl.sqrt(m2 / N + eps)
        c = (nch - 1) * C + cols
        nxt = load_hinted(x_ptr + base + c, c < N, 0.0, 2)
        for i in range(0, nch):
            x = nxt.to(ACC)
            cc = (nch - 1 - i) * C + cols
            c = cc - C
            nxt = load_hinted(x_ptr + base + c, (c >= 0) & (c < N), 0.0, 2)
            mask = cc < N
            y = (x - mean) * rstd
            if HAS_W:
                y = y * tl.load(w_ptr + pbase + cc // HW, mask=mask, other=0.0).to(ACC)
            if HAS_B:
                y = y + tl.load(b_ptr + pbase + cc // HW, mask=mask, other=0.0).to(ACC)
            tl.store(y_ptr + base + cc, y.to(y_ptr.dtype.element_ty), mask=mask, eviction_policy="evict_first")
        if not RMS:
            tl.store(mean_ptr + row, mean.to(mean_ptr.dtype.element_ty))
        tl.store(rstd_ptr + row, rstd.to(rstd_ptr.dtype.element_ty))


_walk = Launcher(_norm_walk_kernel)


def plan(rows: int, n: int, x):
    """(programs, chunk, warps) where the forward walks, else None."""
    return walk_plan(rows, n, x.element_size(), x.device, MIN_BYTES)


def forward(pl, x, w_, b_, y, mean, rstd, rows, n, G, CPG, HW, eps, rms, has_w, has_b, acc, i64):
    programs, chunk, warps = pl
    _walk((programs,), x, w_, b_, y, mean, rstd, rows, n, G, CPG, HW, eps, rms, has_w, has_b, acc, chunk, i64,
          num_warps=warps)
