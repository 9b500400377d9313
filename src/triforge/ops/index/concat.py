"""cat of contiguous tensors into a new contiguous output in one launch per GROUP inputs.

cat (and stack) was one remap launch per input: 8 launches of a few microseconds of
GPU work each, spaced by ~12 us of host time, so an 8-way cat of 64 MB ran at 0.35x
torch on the H100 (benchmarks/results). Here every input is an (outer, w_j) matrix and
the output an (outer, W) one; the grid covers the inputs' blocks end to end and each
program copies one block of one input (a scalar branch picks the input). Block bounds
and column offsets are derived in the kernel from the widths, and everything else
about a call is planned once per argument pattern: the host path was 54 us a call
against torch's 35 (H200 host), which made an 8-way cat of 64 MB host-bound.
Tried and not kept (H100, e355e41): two-dimensional [rows, cols] tiles, so that 16-byte
multiples of widths and offsets would reach Triton's vectoriser -- an 8-way cat of 64 MB
along dim 1 went from 86.7% to 87.9% of the copy ceiling and along dim 0 from 90.1% to
88.6%, each within the runs' spread (torch's own copies sit at 88-90% at this size).
Also tried (H100, 49352e4, reverted): L2 eviction policies on cat's and the row gather's
loads and stores (evict_first loads; evict_first or streaming stores) -- every variant
within 2.5% of the default on cat dim 0 / dim 1 and embedding, the default among the
best (sweeps-NVIDIA_H100_80GB_HBM3/copy-policy-at-49352e4.txt). The policy that helps
read-only kernels (reduction.engine.READ_POLICY) does nothing for copies.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv

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
def _cat_kernel(out, outer, W, col0,
                s0, s1, s2, s3, s4, s5, s6, s7,
                w0, w1, w2, w3, w4, w5, w6, w7,
                N: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
        outer = outer.to(tl.int64)
    # unused slots have width 0: empty block ranges
    b1 = tl.cdiv(outer * w0, BLOCK)
    b2 = b1 + tl.cdiv(outer * w1, BLOCK)
    b3 = b2 + tl.cdiv(outer * w2, BLOCK)
    b4 = b3 + tl.cdiv(outer * w3, BLOCK)
    b5 = b4 + tl.cdiv(outer * w4, BLOCK)
    b6 = b5 + tl.cdiv(outer * w5, BLOCK)
    b7 = b6 + tl.cdiv(outer * w6, BLOCK)
    b8 = b7 + tl.cdiv(outer * w7, BLOCK)
    _piece(s0, out, pid, 0, b1, w0, W, col0, outer, BLOCK)
    if N > 1:
        _piece(s1, out, pid, b1, b2, w1, W, col0 + w0, outer, BLOCK)
    if N > 2:
        _piece(s2, out, pid, b2, b3, w2, W, col0 + w0 + w1, outer, BLOCK)
    if N > 3:
        _piece(s3, out, pid, b3, b4, w3, W, col0 + w0 + w1 + w2, outer, BLOCK)
    if N > 4:
        _piece(s4, out, pid, b4, b5, w4, W, col0 + w0 + w1 + w2 + w3, outer, BLOCK)
    if N > 5:
        _piece(s5, out, pid, b5, b6, w5, W, col0 + w0 + w1 + w2 + w3 + w4, outer, BLOCK)
    if N > 6:
        _piece(s6, out, pid, b6, b7, w6, W, col0 + w0 + w1 + w2 + w3 + w4 + w5, outer, BLOCK)
    if N > 7:
        _piece(s7, out, pid, b7, b8, w7, W, col0 + w0 + w1 + w2 + w3 + w4 + w5 + w6, outer, BLOCK)


_launch = Launcher(_cat_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


class CatPlan:
    """One argument pattern of cat (shapes, dtype, device, dim) of contiguous inputs."""
    __slots__ = ("shape", "dtype", "device", "launches")

    def __init__(self, tensors, d, shape):
        t0 = tensors[0]
        self.shape, self.dtype, self.device = shape, t0.dtype, t0.device
        outer = 1
        for n in shape[:d]:
            outer *= n
        numel = outer
        for n in shape[d:]:
            numel *= n
        W = numel // max(outer, 1)
        ws = [t.numel() // max(outer, 1) for t in tensors]
        i64 = numel + _BLOCK * GROUP > 2**31 - 1
        self.launches = []
        col = 0
        for g in range(0, len(tensors), GROUP):
            gw = ws[g:g + GROUP]
            blocks = sum(cdiv(outer * w, _BLOCK) for w in gw)
            if blocks:
                pad = GROUP - len(gw)
                self.launches.append((g, len(gw), pad, (blocks,), (outer, W, col),
                                      (*gw, *[0] * pad, len(gw), _BLOCK, i64)))
            col += sum(gw)

    def run(self, tensors, out=None):
        if out is None:
            out = torch.empty(self.shape, dtype=self.dtype, device=self.device)
        for g, n, pad, grid, head, tail in self.launches:
            _launch(grid, out, *head, *tensors[g:g + n], *[out] * pad, *tail, num_warps=_WARPS)
        return out


def cat_contiguous(tensors, d, out):
    """out (contiguous) = cat(tensors, d) for contiguous tensors of out's dtype."""
    return CatPlan(tensors, d, list(out.shape)).run(tensors, out)
