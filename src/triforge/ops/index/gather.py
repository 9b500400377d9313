"""Reading along one dim through an index tensor: embedding, index_select, gather, take.

Two kernels:
- rows: out[o, j, :] = src[o, idx[j], :] for a contiguous source -- whole inner rows
  per index (embedding, index_select); a tile of rows x columns per program.
- any: out[c] = src[base(c) + idx[ipos(c)] * dim_stride] with per-dim strides for the
  source and the index (gather, take, index_select of strided sources); rank <= 4
  after dropping size-1 dims.

Bounds: compiled kernels check every index on the device (tl.device_assert, live
through Launcher(device_asserts=True)): an index out of range stops the program with
CUDA's device-side assert, which is what ATen's own CUDA index kernels do, and costs
no host sync. The interpreter cannot raise torch's IndexError from a kernel, so there
the indices are checked on the host first (one aminmax and one sync) and an index out
of range returns NotImplemented: ATen raises its own error.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2
from .coords import block_coords4
from .movement import _DTYPES, _out

_INDEX = (torch.int32, torch.int64)
RANK = 4


DEVICE_CHECKED = not backend().interpreted


def in_range(index, lo, hi) -> bool:
    """Every element of `index` in [lo, hi) (vacuously true when empty)."""
    if index.numel() == 0:
        return True
    mn, mx = torch.aminmax(index)
    mn, mx = int(mn), int(mx)
    return lo <= mn and mx < hi


def checked(index, lo, hi) -> bool:
    """For kernels that assert their indices in [lo, hi) on the device: no host check
    where the asserts are live; in_range elsewhere."""
    return DEVICE_CHECKED or in_range(index, lo, hi)


@triton.jit
def _rows_kernel(src, idx, out, rows, K, N, inner,
                 BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr, INT64: tl.constexpr):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    c = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    if INT64:
        r = r.to(tl.int64)
        c = c.to(tl.int64)
    rmask = r < rows
    v = tl.load(idx + r % K, mask=rmask, other=0)
    tl.device_assert((v >= 0) & (v < N), "index out of range")
    if INT64:
        v = v.to(tl.int64)
    else:   # in range, so it fits: keep the offset arithmetic 32-bit
        v = v.to(tl.int32)
    src_row = (r // K) * N + v
    mask = rmask[:, None] & (c < inner)[None, :]
    x = tl.load(src + src_row[:, None] * inner + c[None, :], mask=mask)
    tl.store(out + r[:, None] * inner + c[None, :], x, mask=mask)


@triton.jit
def _any_kernel(src, idx, out, numel, N, dim_stride,
                o1, o2, o3, a0, a1, a2, a3, i0, i1, i2, i3,
                WRAP: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs, mask, c0, c1, c2, c3 = block_coords4(numel, o1, o2, o3, BLOCK, INT64)
    v = tl.load(idx + (c0 * i0 + c1 * i1 + c2 * i2 + c3 * i3), mask=mask, other=0)
    if WRAP:
        tl.device_assert((v >= -N) & (v < N), "index out of range")
    else:
        tl.device_assert((v >= 0) & (v < N), "index out of range")
    if INT64:
        v = v.to(tl.int64)
    else:   # in range, so it fits: keep the offset arithmetic 32-bit
        v = v.to(tl.int32)
    if WRAP:
        v = tl.where(v < 0, v + N, v)
    x = tl.load(src + (c0 * a0 + c1 * a1 + c2 * a2 + c3 * a3 + v * dim_stride), mask=mask)
    tl.store(out + offs, x, mask=mask)


# the rows kernel (embedding, index_select of contiguous rows): elements and warps per
# program. H200 sweep, 16384 rows of 4096 bf16 from 128256: 2048 elements with 4 warps
# 0.0703 ms, with 8 warps (the elementwise default) 0.0778; torch 0.0768
ROWS_TILE = backend().table("elementwise").get("rows_tile", 2048)
ROWS_WARPS = backend().table("elementwise").get("rows_warps", 4)
_rows = Launcher(_rows_kernel, device_asserts=True)
_any = Launcher(_any_kernel, device_asserts=True)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


def gather_rows(src, dim, idx, out):
    """out (contiguous, shape src with dim -> len(idx)) = src.index_select(dim, idx);
    src contiguous, idx 1-d and in range."""
    outer = 1
    for s in src.shape[:dim]:
        outer *= s
    inner = out.numel() // max(outer * idx.numel(), 1)
    rows = outer * idx.numel()
    if rows == 0 or inner == 0:
        return out
    idx = idx.contiguous()
    block_d = min(next_power_of_2(inner), 1024)
    block_r = max(1, min(64, ROWS_TILE // block_d))
    grid = (cdiv(rows, block_r), cdiv(inner, block_d))
    _rows(grid, src, idx, out, rows, idx.numel(), src.shape[dim], inner, block_r, block_d,
          needs_int64(src, out, extra=(rows + block_r) * inner), num_warps=ROWS_WARPS)
    return out


def gather_any(src, dim, idx, out, src_strides, idx_strides, wrap=False, n=None):
    """out (contiguous) [c] = src[sum c*src_strides + idx[sum c*idx_strides] * stride(dim)]
    where src_strides has 0 at dim. Returns out, or None past RANK dims."""
    dims = [(s, a, i) for s, a, i in zip(out.shape, src_strides, idx_strides) if s != 1]
    if len(dims) > RANK:
        return None
    if out.numel() == 0:
        return out
    dims = [(1, 0, 0)] * (RANK - len(dims)) + dims
    sizes, a, i = zip(*dims)
    numel = out.numel()
    i64 = needs_int64(src, idx, out, extra=numel + _BLOCK)
    _any((cdiv(numel, _BLOCK),), src, idx, out, numel, n if n is not None else src.shape[dim],
         src.stride(dim) if src.dim() else 1, *sizes[1:], *a, *i, wrap, _BLOCK, i64, num_warps=_WARPS)
    return out


def _index_ok(idx) -> bool:
    return isinstance(idx, torch.Tensor) and idx.dtype in _INDEX


def _values_ok(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype in _DTYPES and t.layout is torch.strided


# Below this many elements a row, the rows kernel's tiles are mostly empty lanes (inner
# = 1: 64 elements a program); the flat kernel fills its blocks whatever the shape.
_MIN_ROW = 32


def _select(src, d, index, out):
    inner = 1
    for n in src.shape[d + 1:]:
        inner *= n
    if src.is_contiguous() and inner >= _MIN_ROW:
        return gather_rows(src, d, index, out)
    st = list(src.stride())
    st[d] = 0
    ist = [0] * src.dim()
    ist[d] = index.stride(0) if index.dim() else 0
    r = gather_any(src, d, index, out, st, ist)
    if r is None and src.is_contiguous():   # past the flat kernel's rank
        return gather_rows(src, d, index, out)
    return r


@impl("index_select", "index_select.out", repeat=True)
def index_select(self, dim, index, *, out=None):
    if not (_values_ok(self) and _index_ok(index)) or index.dim() > 1 or index.device != self.device:
        return NotImplemented
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd:
        return NotImplemented
    d = dim % nd
    src = self.reshape(1) if self.dim() == 0 else self
    if not checked(index, 0, src.shape[d]):
        return NotImplemented
    shape = list(src.shape)
    shape[d] = index.numel()
    if self.dim() == 0:
        shape = []
    o = _out(out, shape, self.dtype, self.device, self, index)
    if o is None or not o.is_contiguous():
        return NotImplemented
    r = _select(src, d, index.reshape(-1), o.view(src.shape[:d] + (index.numel(),) + src.shape[d + 1:]))
    return NotImplemented if r is None else o


@impl("embedding", "embedding.out", repeat=True)
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False, *, out=None):
    # padding_idx and the flags only change the backward
    if not (_values_ok(weight) and _index_ok(indices)) or weight.dim() != 2 or indices.device != weight.device:
        return NotImplemented
    if not checked(indices, 0, weight.shape[0]):
        return NotImplemented
    shape = list(indices.shape) + [weight.shape[1]]
    o = _out(out, shape, weight.dtype, weight.device, weight, indices)
    if o is None or not o.is_contiguous():
        return NotImplemented
    flat = indices.reshape(-1)
    r = _select(weight, 0, flat, o.view(flat.numel(), weight.shape[1]))
    return NotImplemented if r is None else o


@impl("gather", "gather.out", repeat=True)
def gather(self, dim, index, *, sparse_grad=False, out=None):
    if not (_values_ok(self) and _index_ok(index)) or index.device != self.device:
        return NotImplemented
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd or max(index.dim(), 1) != nd:
        return NotImplemented
    d = dim % nd
    src = self.reshape(1) if self.dim() == 0 else self
    idx = index.reshape(1) if index.dim() == 0 else index
    if any(idx.shape[k] > src.shape[k] for k in range(nd) if k != d):
        return NotImplemented
    if idx.numel() and not checked(idx, 0, src.shape[d]):
        return NotImplemented
    o = _out(out, index.shape, self.dtype, self.device, self, index)
    if o is None or not o.is_contiguous():
        return NotImplemented
    st = list(src.stride())
    st[d] = 0
    r = gather_any(src, d, idx, o.view(idx.shape), st, list(idx.stride()))
    return NotImplemented if r is None else o


@impl("take", "take.out", repeat=True)
def take(self, index, *, out=None):
    if not _values_ok(self) or not isinstance(index, torch.Tensor) or index.dtype is not torch.int64:
        return NotImplemented
    n = self.numel()
    if index.device != self.device or not checked(index, -n, n):
        return NotImplemented
    o = _out(out, index.shape, self.dtype, self.device, self, index)
    if o is None or not o.is_contiguous():
        return NotImplemented
    if index.numel() == 0:
        return o
    src = self.contiguous().view(-1)
    r = gather_any(src, 0, index, o, [0] * index.dim(), list(index.stride()), wrap=True, n=n)
    return NotImplemented if r is None else o
