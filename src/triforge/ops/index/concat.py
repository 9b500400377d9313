"""cat of contiguous tensors into a contiguous output in one launch per GROUP inputs.

cat (and stack) was one remap launch per input: 8 launches of a few microseconds of
GPU work each, spaced by ~12 us of host time, so an 8-way cat of 64 MB ran at 0.35x
torch on the H100 (benchmarks/results). Here every input is a (outer, w_j) matrix and
the output an (outer, W) one; the grid covers the inputs' blocks end to end and each
program copies one block of one input (a scalar branch picks the input).
"""
from __future__ import annotations

import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64

GROUP = 8   # inputs per launch: pointers are kernel arguments


@triton.jit
def _piece(src, out, pid, b_lo, b_hi, w, W, col, outer, BLOCK: tl.constexpr):
    if (pid >= b_lo) & (pid < b_hi):
        e = (pid - b_lo) * BLOCK + tl.arange(0, BLOCK)
        m = e < outer * w
        row = e // w
        x = tl.load(src + e, mask=m)
        tl.store(out + (row * W + col + (e - row * w)), x, mask=m)


@triton.jit
def _cat_kernel(out, outer, W,
                s0, s1, s2, s3, s4, s5, s6, s7,
                w0, w1, w2, w3, w4, w5, w6, w7,
                c0, c1, c2, c3, c4, c5, c6, c7,
                b0, b1, b2, b3, b4, b5, b6, b7, b8,
                N: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    _piece(s0, out, pid, b0, b1, w0, W, c0, outer, BLOCK)
    if N > 1:
        _piece(s1, out, pid, b1, b2, w1, W, c1, outer, BLOCK)
    if N > 2:
        _piece(s2, out, pid, b2, b3, w2, W, c2, outer, BLOCK)
    if N > 3:
        _piece(s3, out, pid, b3, b4, w3, W, c3, outer, BLOCK)
    if N > 4:
        _piece(s4, out, pid, b4, b5, w4, W, c4, outer, BLOCK)
    if N > 5:
        _piece(s5, out, pid, b5, b6, w5, W, c5, outer, BLOCK)
    if N > 6:
        _piece(s6, out, pid, b6, b7, w6, W, c6, outer, BLOCK)
    if N > 7:
        _piece(s7, out, pid, b7, b8, w7, W, c7, outer, BLOCK)


_launch = Launcher(_cat_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


def cat_contiguous(tensors, d, out):
    """out (contiguous) = cat(tensors, d) for contiguous tensors of out's dtype."""
    outer = 1
    for n in out.shape[:d]:
        outer *= n
    W = out.numel() // max(outer, 1)
    parts, col = [], 0
    for t in tensors:
        w = t.numel() // max(outer, 1)
        if t.numel():
            parts.append((t, w, col))
        col += w
    i64 = needs_int64(out, extra=out.numel() + _BLOCK * GROUP)
    for g in range(0, len(parts), GROUP):
        group = parts[g:g + GROUP]
        bounds = [0]
        for t, _, _ in group:
            bounds.append(bounds[-1] + cdiv(t.numel(), _BLOCK))
        pad = GROUP - len(group)
        srcs = [t for t, _, _ in group] + [out] * pad
        ws = [w for _, w, _ in group] + [1] * pad
        cols = [c for _, _, c in group] + [0] * pad
        bounds += [bounds[-1]] * pad
        _launch((bounds[-1],), out, outer, W, *srcs, *ws, *cols, *bounds, len(group), _BLOCK, i64,
                num_warps=_WARPS)
    return out
