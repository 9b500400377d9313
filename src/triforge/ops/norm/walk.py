"""Many long rows of layer/rms/group norm, forward: a persistent row walk (blocks.walk_plan).

One program a row reads a streamed row three times (mean, centred variance, write).
Here each program of a persistent grid walks whole rows in two passes: per-lane Welford
means and sums of squared deviations (joined across lanes by Chan's formula, so no
E[x^2] - E[x]^2 cancellation), with the next chunk's load in flight; then the write
pass walks the row backwards, so its first reads come from L2. H200 at d3693e4
(scripts/explore_long_rows_pipe.py, its shifted-sums twin of this kernel), layer_norm
1024x131072 bf16: 268.7 -> 186.0 us (torch 329.1).

At one program an SM the instructions an element cost as much time as the bytes (one
SM issues 128 lane-operations a clock: 20 an element over 1M elements an SM is ~80 us at
1.98 GHz). Per-lane Welford (~9 an element) measured 217.5 us at 32cb1d1 where the
explore's shifted sums (3) took 186; so the sums here are shifted too, each lane by its
own first element: a lane's sum of squares about its own sample loses at most its count
x eps of the lane's spread (the sample lies within it), and Chan's formula joins the lanes
with positive terms only.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ...runtime import Launcher
from ..blocks import WALK, load_hinted, walk_plan

# Rows of at least this many bytes walk (the backend's "walk" table), where enough rows fill the grid.
MIN_BYTES = WALK.get("min_bytes", 98304)


@triton.jit
def _norm_walk_kernel(x_ptr, w_ptr, b_ptr, y_ptr, mean_ptr, rstd_ptr, R, N, G, CPG, HW, eps,
                      RMS: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr,
                      C: tl.constexpr, INT64: tl.constexpr):
    cols = tl.arange(0, C)
    nch = tl.cdiv(N, C)
    # chunks each lane sees
    cnt = ((tl.maximum(N - cols, 0) + C - 1) // C).to(ACC)
    for row in range(tl.program_id(0), R, tl.num_programs(0)):
        base = row * N.to(tl.int64) if INT64 else row * N
        pbase = (row % G) * CPG
        nxt = load_hinted(x_ptr + base + cols, cols < N, 0.0, 1)
        k = nxt.to(ACC)   # each lane's shift: its first element
        s1 = tl.zeros([C], ACC)
        s2 = tl.zeros([C], ACC)
        for i in range(0, nch):
            x = nxt.to(ACC)
            c = i * C + cols
            cn = c + C
            nxt = load_hinted(x_ptr + base + cn, cn < N, 0.0, 1)
            if RMS:
                s2 += x * x
            else:
                d = tl.where(c < N, x - k, 0.0)
                s1 += d
                s2 += d * d
        if RMS:
            mean = 0.0
            var = tl.sum(s2, 0) / N
        else:
            live = cnt > 0
            nl = tl.where(live, cnt, 1.0)
            mu = k + s1 / nl   # lane means
            mean = tl.sum(tl.where(live, cnt * mu, 0.0), 0) / N
            dm = mu - mean
            m2 = tl.where(live, tl.maximum(s2 - s1 * s1 / nl, 0.0) + cnt * dm * dm, 0.0)
            var = tl.sum(m2, 0) / N
        rstd = 1.0 / tl.sqrt(var + eps)
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
