"""One kernel for the data-movement ops: out[c] = src[map(c)], dim by dim.

Every dim of the output has a mode saying where its coordinate reads from:
    PLAIN    src = c                                  copy, cat, narrow_copy, *_scatter
    FLIP     src = n-1-c                              flip
    MOD      src = (c + k) % n                        roll (k = n - shift), repeat (k = 0)
    CONST    src = c - lo, outside [0, n) -> value    constant_pad_nd
    REFLECT  src = reflect(c - lo) in [0, n)          reflection_pad*
    CLAMP    src = clamp(c - lo, 0, n-1)              replication_pad*
with arbitrary (element) strides on both sides, so inputs of any layout are read where
they lie and outputs may be views (a slice of cat's output, a diagonal). Rank <= 4
after merging neighbouring PLAIN dims; more returns None and the op falls back.
"""
from __future__ import annotations

import math
import struct

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64
from .coords import block_coords4

PLAIN, FLIP, MOD, CONST, REFLECT, CLAMP = range(6)
RANK = 4


@triton.jit
def _src_coord(c, n, k, MODE: tl.constexpr):
    """(source coordinate, valid) of output coordinate c along one dim."""
    if MODE == 0:
        j = c
    elif MODE == 1:
        j = n - 1 - c
    elif MODE == 2:
        j = (c + k) % n
    elif MODE == 3:
        j = c - k
    elif MODE == 4:
        j = c - k
        j = tl.where(j < 0, -j, j)
        j = tl.where(j >= n, 2 * (n - 1) - j, j)
    else:
        j = tl.minimum(tl.maximum(c - k, 0), n - 1)
    if MODE == 3:
        ok = (j >= 0) & (j < n)
    else:
        ok = j >= 0   # always: every other mode lands in [0, n)
    return j, ok


@triton.jit
def _remap_kernel(src, dst, numel, value,
                  o0, o1, o2, o3,            # output sizes
                  d0, d1, d2, d3,            # output strides
                  a0, a1, a2, a3,            # source strides
                  n0, n1, n2, n3,            # source sizes
                  k0, k1, k2, k3,            # per-dim shift / pad offset
                  M0: tl.constexpr, M1: tl.constexpr, M2: tl.constexpr, M3: tl.constexpr,
                  HAS_CONST: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs, mask, c0, c1, c2, c3 = block_coords4(numel, o1, o2, o3, BLOCK, INT64)
    j0, v0 = _src_coord(c0, n0, k0, M0)
    j1, v1 = _src_coord(c1, n1, k1, M1)
    j2, v2 = _src_coord(c2, n2, k2, M2)
    j3, v3 = _src_coord(c3, n3, k3, M3)
    ok = v0 & v1 & v2 & v3
    src_off = j0 * a0 + j1 * a1 + j2 * a2 + j3 * a3
    dst_off = c0 * d0 + c1 * d1 + c2 * d2 + c3 * d3
    if HAS_CONST:
        x = tl.load(src + src_off, mask=mask & ok, other=0)
        x = tl.where(ok, x, tl.cast(value, src.dtype.element_ty))
    else:
        x = tl.load(src + src_off, mask=mask)
    tl.store(dst + dst_off, x.to(dst.dtype.element_ty), mask=mask)


_launch = Launcher(_remap_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


def f32_exact(v: float) -> bool:
    """Whether float `v` survives the trip as a kernel argument: Triton passes Python
    floats as float32, so a float64 fill of 0.1 would come out rounded."""
    if not math.isfinite(v):
        return True
    if abs(v) > 3.4e38:
        return False
    return struct.unpack("f", struct.pack("f", v))[0] == v


def _merge(dims):
    """Merge neighbouring PLAIN dims that are contiguous with each other on both sides;
    drop size-1 PLAIN dims. dims: [out_size, out_stride, src_stride, src_size, k, mode]."""
    out = []
    for d in dims:
        size, ost, sst, _, _, mode = d
        if mode == PLAIN and size == 1:
            continue
        if out and mode == PLAIN and out[-1][5] == PLAIN:
            p = out[-1]
            if p[1] == ost * size and p[2] == sst * size:
                out[-1] = [p[0] * size, ost, sst, p[3] * size, 0, PLAIN]
                continue
        out.append(list(d))
    return out


def remap(src, dst, dims, value=0):
    """dst[c] = src[map(c)]: dims lists per output dim (mode, source size, k) with the
    output's sizes taken from dst. Returns dst, or None (rank too high after merging)."""
    full = [[dst.shape[i], dst.stride(i), src.stride(i), n, k, mode] for i, (mode, n, k) in enumerate(dims)]
    merged = _merge(full)
    if len(merged) > RANK:
        return None
    numel = dst.numel()
    if numel == 0:
        return dst
    merged = [[1, 0, 0, 1, 0, PLAIN]] * (RANK - len(merged)) + merged
    cols = list(zip(*merged))
    has_const = CONST in cols[5]
    if has_const and isinstance(value, float) and not src.dtype.is_floating_point:
        return None
    grid = (cdiv(numel, _BLOCK),)
    i64 = needs_int64(src, dst, extra=numel + _BLOCK)
    val = value if has_const else 0
    if has_const and src.dtype.is_floating_point:
        val = float(val)
        if src.dtype is torch.float64 and not f32_exact(val):
            return None
    elif has_const:
        val = int(val)
    _launch(grid, src, dst, numel, val, *cols[0], *cols[1], *cols[2], *cols[3], *cols[4], *cols[5],
            has_const, _BLOCK, i64, num_warps=_WARPS)
    return dst


def copy_into(src, dst):
    """dst.copy_(src) for same-shape tensors of any strides (dst may be a view)."""
    return remap(src, dst, [(PLAIN, n, 0) for n in dst.shape])
