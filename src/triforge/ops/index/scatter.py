"""Writing along one dim through an index tensor: scatter (src / value), scatter_add,
scatter(reduce="add"), scatter_reduce(sum / mean).

One kernel walks the index tensor (rank <= 4 after dropping size-1 dims) and writes
dst[base(c) + idx[c] * stride(dim)] from src[c] (or a scalar):
- STORE: duplicates leave one of the written values, as torch documents;
- ADD: atomic adds; float16/bfloat16 accumulate into a float32 copy, rounded once at
  the end. Atomic float sums are not bit-reproducible, so with
  torch.use_deterministic_algorithms(True) (not warn_only) float adds go to ATen, whose
  deterministic path takes over -- as torch's own CUDA kernel does.
scatter_reduce mean: float sums and exact counts by atomic adds, then one division.
multiply / prod / amax / amin return NotImplemented (ATen): no atomic multiply, and
atomic float max does not propagate NaN as torch does.
Indices are range-checked on the host (see gather.py); ATen raises torch's errors.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, needs_int64
from .coords import block_coords4
from .gather import _BLOCK, _WARPS, RANK, _index_ok, _values_ok, in_range
from .movement import _shares
from .remap import copy_into, f32_exact

STORE, ADD = 0, 1
_HALF = (torch.float16, torch.bfloat16)
# atomic adds exist for these (half types through their float32 copy)
_ADDABLE = frozenset((torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int64))


@triton.jit
def _scatter_kernel(dst, idx, src, value, numel, dim_stride, N,
                    o1, o2, o3, i0, i1, i2, i3, s0, s1, s2, s3, t0, t1, t2, t3,
                    MODE: tl.constexpr, HAS_SRC: tl.constexpr, WRAP: tl.constexpr, BLOCK: tl.constexpr,
                    INT64: tl.constexpr):
    offs, mask, c0, c1, c2, c3 = block_coords4(numel, o1, o2, o3, BLOCK, INT64)
    v = tl.load(idx + (c0 * i0 + c1 * i1 + c2 * i2 + c3 * i3), mask=mask, other=0)
    if INT64:
        v = v.to(tl.int64)
    else:
        v = v.to(tl.int32)
    if WRAP:
        v = tl.where(v < 0, v + N, v)
    if HAS_SRC:
        x = tl.load(src + (c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3), mask=mask)
    else:
        x = tl.zeros([BLOCK], dst.dtype.element_ty) + tl.cast(value, dst.dtype.element_ty)
    x = x.to(dst.dtype.element_ty)
    ptr = dst + (c0 * t0 + c1 * t1 + c2 * t2 + c3 * t3 + v * dim_stride)
    if MODE == 0:
        tl.store(ptr, x, mask=mask)
    else:
        tl.atomic_add(ptr, x, mask=mask, sem="relaxed")


_launch = Launcher(_scatter_kernel)


def _args_ok(self, dim, index, src):
    """torch's shape rules for scatter/gather-style calls (errors: ATen raises them)."""
    if not (_values_ok(self) and _index_ok(index)) or index.device != self.device:
        return None
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd or max(index.dim(), 1) != nd:
        return None
    d = dim % nd
    if isinstance(src, torch.Tensor):
        if not _values_ok(src) or src.dtype is not self.dtype or src.device != self.device:
            return None
        if max(src.dim(), 1) != nd:
            return None
    elif isinstance(src, bool) or not isinstance(src, (int, float)):
        return None
    if index.numel() == 0:
        return d
    s = self.reshape(1) if self.dim() == 0 else self
    i = index.reshape(1) if index.dim() == 0 else index
    if any(i.shape[k] > s.shape[k] for k in range(nd) if k != d):
        return None
    if isinstance(src, torch.Tensor):
        sv = src.reshape(1) if src.dim() == 0 else src
        if any(i.shape[k] > sv.shape[k] for k in range(nd)):
            return None
    if not in_range(index, 0, s.shape[d]):
        return None
    return d


def _scatter_into(dst, d, index, src, mode, shape=None, idx_strides=None, wrap=False):
    """dst (any strides) <- src along dim d through index; dst already holds self.
    The walk covers index's shape, or `shape` with the index read at `idx_strides`
    (index_add/index_copy/index_fill: a 1-d index broadcast over the other dims)."""
    nd = max(dst.dim(), 1)
    dv = dst.reshape(1) if dst.dim() == 0 else dst   # a 0-dim tensor's view keeps its storage
    iv = index.reshape(1) if index.dim() == 0 else index
    if shape is None:
        shape, idx_strides = list(iv.shape), list(iv.stride())
    numel = 1
    for n in shape:
        numel *= n
    if numel == 0:
        return dst
    has_src = isinstance(src, torch.Tensor)
    sv = (src.reshape(1) if src.dim() == 0 else src) if has_src else None
    tst = [0 if k == d else dv.stride(k) for k in range(nd)]
    sst = list(sv.stride()) if has_src else [0] * nd
    dims = [(n, a, b, c) for n, a, b, c in zip(shape, idx_strides, sst, tst) if n != 1]
    if len(dims) > RANK:
        return None
    dims = [(1, 0, 0, 0)] * (RANK - len(dims)) + dims
    sizes, ist, sst, tst = zip(*dims)
    value = 0
    if not has_src:
        value = float(src) if dst.dtype.is_floating_point else int(src)
        if dst.dtype is torch.float64 and not f32_exact(value):
            return None
    i64 = needs_int64(dv, iv, *([sv] if has_src else []), extra=numel + _BLOCK)
    _launch((triton.cdiv(numel, _BLOCK),), dv, iv, sv if has_src else iv, value, numel, dv.stride(d), dv.shape[d],
            *sizes[1:], *ist, *sst, *tst, mode, has_src, wrap, _BLOCK, i64, num_warps=_WARPS)
    return dst


def _nondeterministic_refused(dtype) -> bool:
    return (dtype.is_floating_point and torch.are_deterministic_algorithms_enabled()
            and not torch.is_deterministic_algorithms_warn_only_enabled())


def _result(self, out, inplace):
    """Where the result goes: self (in-place), out=, or a fresh copy of self."""
    if inplace:
        return self
    if out is not None:
        if out.shape != self.shape or out.dtype is not self.dtype or out.device != self.device:
            return None
        if out is not self:
            if _shares(out, self):
                return None
            copy_into(self, out)
        return out
    o = torch.empty_like(self)
    copy_into(self, o)
    return o


def _scatter(self, dim, index, src, mode, inplace=False, out=None, zero_first=False):
    d = _args_ok(self, dim, index, src)
    if d is None:
        return NotImplemented
    return apply(self, d, index, src, mode, inplace, out, zero_first)


def apply(self, d, index, src, mode, inplace=False, out=None, zero_first=False, **walk):
    """The result of writing src into (a copy of) self through index; `walk` as in
    _scatter_into. Arguments already checked against torch's rules."""
    if mode == ADD and (self.dtype not in _ADDABLE or _nondeterministic_refused(self.dtype)):
        return NotImplemented
    others = [index] + ([src] if isinstance(src, torch.Tensor) else [])
    if any(_shares(t, x) for t in (self, out) if t is not None for x in others):
        return NotImplemented
    o = _result(self, out, inplace)
    if o is None:
        return NotImplemented
    if mode == ADD and o.dtype in _HALF:   # accumulate in float32, round once
        acc = torch.empty(o.shape, dtype=torch.float32, device=o.device)
        copy_into(o, acc)
        s32 = src
        if isinstance(src, torch.Tensor):
            s32 = torch.empty(src.shape, dtype=torch.float32, device=src.device)
            copy_into(src, s32)
        if zero_first and _scatter_into(acc, d, index, 0.0, STORE, **walk) is None:
            return NotImplemented
        if _scatter_into(acc, d, index, s32, ADD, **walk) is None:
            return NotImplemented
        copy_into(acc, o)
        return o
    if zero_first and _scatter_into(o, d, index, 0, STORE, **walk) is None:
        return NotImplemented
    return NotImplemented if _scatter_into(o, d, index, src, mode, **walk) is None else o


# -- scatter -------------------------------------------------------------------------------
@impl("scatter.src", "scatter.value", "scatter.src_out", "scatter.value_out")
def scatter(self, dim, index, src=None, *, value=None, out=None):
    return _scatter(self, dim, index, src if src is not None else value, STORE, out=out)


@impl("scatter_.src", "scatter_.value")
def scatter_(self, dim, index, src=None, *, value=None):
    return _scatter(self, dim, index, src if src is not None else value, STORE, inplace=True)


def _reduce_mode(reduce):
    return ADD if reduce == "add" else None   # "multiply": ATen


@impl("scatter.reduce", "scatter.value_reduce", "scatter.reduce_out", "scatter.value_reduce_out")
def scatter_reduce_legacy(self, dim, index, src=None, *, value=None, reduce, out=None):
    mode = _reduce_mode(reduce)
    if mode is None:
        return NotImplemented
    return _scatter(self, dim, index, src if src is not None else value, mode, out=out)


@impl("scatter_.reduce", "scatter_.value_reduce")
def scatter_reduce_legacy_(self, dim, index, src=None, *, value=None, reduce):
    mode = _reduce_mode(reduce)
    if mode is None:
        return NotImplemented
    return _scatter(self, dim, index, src if src is not None else value, mode, inplace=True)


# -- scatter_add / scatter_reduce ------------------------------------------------------------
@impl("scatter_add", "scatter_add.out")
def scatter_add(self, dim, index, src, *, out=None):
    if not isinstance(src, torch.Tensor):
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, out=out)


@impl("scatter_add_")
def scatter_add_(self, dim, index, src):
    if not isinstance(src, torch.Tensor):
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, inplace=True)


@triton.jit
def _mean_kernel(acc, cnt, numel, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    a = tl.load(acc + offs, mask=mask)
    c = tl.load(cnt + offs, mask=mask)
    tl.store(acc + offs, tl.where(c > 0, a / tl.maximum(c, 1), a), mask=mask)   # untouched: self


_mean = Launcher(_mean_kernel)


def _scatter_mean(self, dim, index, src, include_self, inplace, out):
    """sum and count through atomic adds (the count is exact), then sum / count where
    an index landed. Floats only: torch rounds integer means its own way."""
    d = _args_ok(self, dim, index, src)
    if d is None or not self.dtype.is_floating_point or _nondeterministic_refused(self.dtype):
        return NotImplemented
    if any(_shares(t, x) for t in (self, out) if t is not None for x in (index, src)):
        return NotImplemented
    o = _result(self, out, inplace)
    if o is None:
        return NotImplemented
    wide = torch.float64 if o.dtype is torch.float64 else torch.float32
    acc = torch.empty(o.shape, dtype=wide, device=o.device)
    cnt = torch.empty(o.shape, dtype=wide, device=o.device)
    s = torch.empty(src.shape, dtype=wide, device=o.device)
    copy_into(o, acc)
    copy_into(src, s)
    copy_into(torch.ones((), dtype=wide, device=o.device).expand(o.shape) if include_self
              else torch.zeros((), dtype=wide, device=o.device).expand(o.shape), cnt)
    if not include_self and _scatter_into(acc, d, index, 0.0, STORE) is None:
        return NotImplemented
    if _scatter_into(acc, d, index, s, ADD) is None or _scatter_into(cnt, d, index, 1.0, ADD) is None:
        return NotImplemented
    n = acc.numel()
    if n:
        _mean((triton.cdiv(n, _BLOCK),), acc, cnt, n, _BLOCK, num_warps=_WARPS)
    copy_into(acc, o)
    return o


def _two(self, dim, index, src, reduce, include_self, inplace=False, out=None):
    if not isinstance(src, torch.Tensor) or self.dtype is torch.bool:
        return NotImplemented
    if reduce == "mean":
        return _scatter_mean(self, dim, index, src, include_self, inplace, out)
    if reduce != "sum":
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, inplace=inplace, out=out, zero_first=not include_self)


@impl("scatter_reduce.two", "scatter_reduce.two_out")
def scatter_reduce(self, dim, index, src, reduce, *, include_self=True, out=None):
    return _two(self, dim, index, src, reduce, include_self, out=out)


@impl("scatter_reduce_.two")
def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return _two(self, dim, index, src, reduce, include_self, inplace=True)
