"""nonzero, and the ops whose output size depends on a mask: masked_select,
masked_scatter; put (flat-index writes) lives here too, next to its twin take.

nonzero: each program counts the non-zeros of its block; an exclusive prefix sum of
the counts (torch.cumsum over #blocks values) gives each block's first output row; a
second pass writes the coordinates of each non-zero at its rank in the block
(tl.cumsum), so the output is in row-major order as torch's. The total is read on the
host (one sync, as torch's): the output's shape depends on it.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from .advanced import _plan, index, index_put_impl_
from .gather import _BLOCK, _values_ok
from .movement import _shares
from .remap import copy_into

RANK = 4


@triton.jit
def _count_kernel(x, counts, numel, BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    v = tl.load(x + offs, mask=offs < numel, other=0)
    tl.store(counts + tl.program_id(0), tl.sum((v != 0).to(tl.int32), 0))


@triton.jit
def _coords_kernel(x, starts, out, numel, o1, o2, o3, NDIM: tl.constexpr, BLOCK: tl.constexpr,
                   INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    nz = (tl.load(x + offs, mask=offs < numel, other=0) != 0) & (offs < numel)
    flag = nz.to(tl.int32)
    row = tl.load(starts + tl.program_id(0)).to(tl.int64) + (tl.cumsum(flag, 0) - flag).to(tl.int64)
    c3 = offs % o3
    r = offs // o3
    c2 = r % o2
    r = r // o2
    c1 = r % o1
    c0 = r // o1
    base = out + row * NDIM
    # the coordinates of the last NDIM of the 4 padded dims
    if NDIM == 4:
        tl.store(base, c0.to(tl.int64), mask=nz)
    if NDIM >= 3:
        tl.store(base + (NDIM - 3), c1.to(tl.int64), mask=nz)
    if NDIM >= 2:
        tl.store(base + (NDIM - 2), c2.to(tl.int64), mask=nz)
    tl.store(base + (NDIM - 1), c3.to(tl.int64), mask=nz)


_count = Launcher(_count_kernel)
_coords = Launcher(_coords_kernel)
_NZ_BLOCK = min(_BLOCK, 1024)   # tl.cumsum over the block: keep it moderate


@impl("nonzero", "nonzero.out")
def nonzero(self, *, out=None):
    if not _values_ok(self) or self.dim() > RANK or self.dim() == 0:
        return NotImplemented
    if out is not None and (out.dtype is not torch.int64 or out.device != self.device or _shares(out, self)):
        return NotImplemented
    x = self.contiguous()
    numel = x.numel()
    nd = self.dim()
    nblocks = cdiv(numel, _NZ_BLOCK)
    i64 = needs_int64(x, extra=numel + _NZ_BLOCK)
    total = 0
    if numel:
        counts = torch.empty(nblocks, dtype=torch.int32, device=x.device)
        _count((nblocks,), x, counts, numel, _NZ_BLOCK, i64)
        ends = torch.cumsum(counts, 0)
        total = int(ends[-1])
    if out is None:
        o = torch.empty((total, nd), dtype=torch.int64, device=x.device)
    else:
        o = out.resize_((total, nd)) if tuple(out.shape) != (total, nd) else out
        if not o.is_contiguous():
            return NotImplemented
    if total:
        starts = ends - counts
        sizes = [1] * (RANK - nd) + list(self.shape)
        _coords((nblocks,), x, starts, o, numel, *sizes[1:], nd, _NZ_BLOCK, i64 or needs_int64(o))
    return o


@impl("masked_select", "masked_select.out")
def masked_select(self, mask, *, out=None):
    if (not _values_ok(self) or not isinstance(mask, torch.Tensor) or mask.dtype is not torch.bool
            or mask.device != self.device):
        return NotImplemented
    try:
        shape = torch.broadcast_shapes(self.shape, mask.shape)
    except RuntimeError:
        return NotImplemented
    if len(shape) == 0:
        shape = (1,)
    x, m = self.expand(shape) if self.dim() else self.reshape(1), mask.expand(shape) if mask.dim() else mask.reshape(1)
    got = index(x, [m])
    if got is NotImplemented or out is None:
        return got
    if out.dtype is not self.dtype or out.device != self.device or _shares(out, self):
        return NotImplemented
    out.resize_(got.shape)
    return NotImplemented if copy_into(got, out) is None else out


def _masked_scatter_into(o, mask, source):
    if (not isinstance(mask, torch.Tensor) or mask.dtype is not torch.bool or not isinstance(source, torch.Tensor)
            or source.dtype is not o.dtype or mask.device != o.device or source.device != o.device):
        return NotImplemented
    try:
        if torch.broadcast_shapes(o.shape, mask.shape) != o.shape:
            return NotImplemented
    except RuntimeError:
        return NotImplemented
    if o.dim() == 0:
        return NotImplemented
    m = mask.expand(o.shape)
    plan = _plan(o, [m])
    if plan is None:
        return NotImplemented
    k = plan[0][0][0]   # the mask's non-zeros: the first result dim
    if source.numel() < k:
        return NotImplemented   # torch's error
    return index_put_impl_(o, [m], source.reshape(-1)[:k])


@impl("masked_scatter_")
def masked_scatter_(self, mask, source):
    if not _values_ok(self) or (isinstance(source, torch.Tensor) and _shares(self, source)):
        return NotImplemented
    return _masked_scatter_into(self, mask, source)


@impl("masked_scatter", "masked_scatter.out")
def masked_scatter(self, mask, source, *, out=None):
    if not _values_ok(self) or not isinstance(source, torch.Tensor):
        return NotImplemented
    if out is None:
        o = torch.empty_like(self)
    elif out.shape == self.shape and out.dtype is self.dtype and not any(_shares(out, t) for t in (self, mask, source)):
        o = out
    else:
        return NotImplemented
    if copy_into(self, o) is None:
        return NotImplemented
    return _masked_scatter_into(o, mask, source)


def _put_into(o, index, source, accumulate):
    if (not isinstance(index, torch.Tensor) or index.dtype is not torch.int64 or not isinstance(source, torch.Tensor)
            or source.numel() != index.numel() or not o.is_contiguous() or index.device != o.device):
        return NotImplemented
    if o.numel() == 0:
        return NotImplemented   # torch's error for a non-empty index; nothing to do otherwise
    return index_put_impl_(o.view(-1), [index.reshape(-1)], source.reshape(-1), accumulate)


@impl("put_")
def put_(self, index, source, accumulate=False):
    if not _values_ok(self) or any(isinstance(t, torch.Tensor) and _shares(self, t) for t in (index, source)):
        return NotImplemented
    r = _put_into(self, index, source, accumulate)
    return r if r is NotImplemented else self


@impl("put", "put.out")
def put(self, index, source, accumulate=False, *, out=None):
    if not _values_ok(self):
        return NotImplemented
    if out is None:
        o = torch.empty(self.shape, dtype=self.dtype, device=self.device)
    elif out.shape == self.shape and out.dtype is self.dtype and out.is_contiguous() and not _shares(out, self):
        o = out
    else:
        return NotImplemented
    if copy_into(self, o) is None:
        return NotImplemented
    r = _put_into(o, index, source, accumulate)
    return r if r is NotImplemented else o
