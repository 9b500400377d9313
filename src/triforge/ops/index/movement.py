"""Data movement: cat, stack, flip, roll, repeat, padding, narrow_copy, the *_scatter
view-inverses and diag_embed -- each a call (or a few) of the remap kernel; cat of
contiguous tensors has its own one-launch kernel (concat.py).

Arguments torch rejects (bad dims, pads too wide for reflection, shape mismatches) and
combinations not handled here (mixed dtypes in cat, out= tensors that need resizing)
return NotImplemented: ATen then runs, and raises its own errors.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher
from .concat import CatPlan, cat_contiguous
from .remap import CLAMP, CONST, FLIP, MOD, PLAIN, REFLECT, copy_into, remap

_DTYPES = frozenset((torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16,
                     torch.int32, torch.int64, torch.uint8, torch.bool))


def _ok(*ts) -> bool:
    return all(isinstance(t, torch.Tensor) and t.dtype in _DTYPES and t.layout is torch.strided for t in ts)


def _shares(a, b) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() and a.numel() and b.numel()


def _out(out, shape, dtype, device, *inputs):
    """The output tensor: a fresh one, or `out` when it already fits (else None: ATen
    resizes or raises)."""
    if out is None:
        return torch.empty(shape, dtype=dtype, device=device)
    if (tuple(out.shape) != tuple(shape) or out.dtype is not dtype or out.device != device
            or any(_shares(out, t) for t in inputs)):
        return None
    return out


def _dim(d, nd):
    if not -max(nd, 1) <= d < max(nd, 1):
        return None
    return d % max(nd, 1)


def _run(src, dst, dims, value=0):
    return NotImplemented if remap(src, dst, dims, value) is None else dst


# -- cat / stack ------------------------------------------------------------------------
def _cat_ok(tensors, dim):
    if not tensors or not _ok(*tensors):
        return False
    t0 = tensors[0]
    nd = t0.dim()
    if nd == 0 or _dim(dim, nd) is None:
        return False
    d = dim % nd
    for t in tensors:   # same dtype/device/rank, equal off-dim sizes; no legacy 1-d empties
        if (t.dtype is not t0.dtype or t.device != t0.device or t.dim() != nd
                or any(t.shape[i] != t0.shape[i] for i in range(nd) if i != d)):
            return False
        # torch keeps channels_last when every input is; plain contiguous output here
        if nd in (4, 5) and t.numel() and not t.is_contiguous() and (
                t.is_contiguous(memory_format=torch.channels_last if nd == 4 else torch.channels_last_3d)):
            return False
    return True


def _cat_into(tensors, d, out):
    if out.is_contiguous() and all(t.is_contiguous() and t.dtype is out.dtype for t in tensors):
        return cat_contiguous(tensors, d, out)
    pos = 0
    for t in tensors:
        n = t.shape[d]
        if n and t.numel() and remap(t, out.narrow(d, pos, n), [(PLAIN, s, 0) for s in t.shape]) is None:
            return NotImplemented
        pos += n
    return out


_cat_plans: dict = {}


def _cat_fast(tensors, dim):
    """A new output from contiguous inputs: checks and geometry once per pattern."""
    try:
        key = (dim, *[(t.shape, t.dtype, t.device) for t in tensors])
    except AttributeError:
        return None
    plan = _cat_plans.get(key)
    if plan is None:
        if len(_cat_plans) > 1024:
            _cat_plans.clear()
        plan = False
        if _cat_ok(tensors, dim):
            d = dim % tensors[0].dim()
            shape = list(tensors[0].shape)
            shape[d] = sum(t.shape[d] for t in tensors)
            plan = CatPlan(tensors, d, shape)
        _cat_plans[key] = plan
    if not plan or not all(t.is_contiguous() for t in tensors):
        return None
    return plan.run(tensors)


@impl("cat", "cat.out", repeat=True)
def cat(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if out is None and tensors:
        r = _cat_fast(tensors, dim)
        if r is not None:
            return r
    if not _cat_ok(tensors, dim):
        return NotImplemented
    d = dim % tensors[0].dim()
    shape = list(tensors[0].shape)
    shape[d] = sum(t.shape[d] for t in tensors)
    o = _out(out, shape, tensors[0].dtype, tensors[0].device, *tensors)
    return NotImplemented if o is None else _cat_into(tensors, d, o)


@impl("stack", "stack.out", repeat=True)
def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors or not _ok(*tensors):
        return NotImplemented
    t0 = tensors[0]
    d = _dim(dim, t0.dim() + 1)
    if d is None or any(t.shape != t0.shape or t.dtype is not t0.dtype or t.device != t0.device for t in tensors):
        return NotImplemented
    shape = list(t0.shape)
    shape.insert(d, len(tensors))
    o = _out(out, shape, t0.dtype, t0.device, *tensors)
    if o is None:
        return NotImplemented
    return _cat_into([t.unsqueeze(d) for t in tensors], d, o)


# -- flip / roll / repeat -----------------------------------------------------------------
@impl("flip", "flip.out", repeat=True)
def flip(self, dims, *, out=None):
    if not _ok(self):
        return NotImplemented
    nd = self.dim()
    ds = [_dim(d, nd) for d in dims]
    if None in ds or len(set(ds)) != len(ds):
        return NotImplemented
    o = _out(out, self.shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    return _run(self, o, [(FLIP if i in ds else PLAIN, n, 0) for i, n in enumerate(self.shape)])


@impl("roll", "roll.out", repeat=True)
def roll(self, shifts, dims=(), *, out=None):
    if not _ok(self):
        return NotImplemented
    shifts, dims = list(shifts), list(dims)
    if not dims:   # roll of the flattened tensor, reshaped back
        if len(shifts) != 1 or not self.is_contiguous() or out is not None:
            return NotImplemented
        flat = roll(self.view(-1), shifts, [0])
        return flat if flat is NotImplemented else flat.view(self.shape)
    nd = self.dim()
    ds = [_dim(d, nd) for d in dims]
    if len(shifts) != len(dims) or None in ds or len(set(ds)) != len(ds):
        return NotImplemented
    o = _out(out, self.shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    modes = [(PLAIN, n, 0) for n in self.shape]
    for d, s in zip(ds, shifts):
        n = self.shape[d]
        if n and s % n:
            modes[d] = (MOD, n, (n - s % n) % n)
    return _run(self, o, modes)


@impl("repeat", "repeat.out", repeat=True)
def repeat(self, repeats, *, out=None):
    repeats = list(repeats)
    if not _ok(self) or len(repeats) < self.dim() or any(r < 0 for r in repeats):
        return NotImplemented
    lead = len(repeats) - self.dim()
    src = self.view((1,) * lead + tuple(self.shape))
    shape = [r * n for r, n in zip(repeats, src.shape)]
    o = _out(out, shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    return _run(src, o, [(MOD if r > 1 else PLAIN, n, 0) for r, n in zip(repeats, src.shape)])


# -- padding ------------------------------------------------------------------------------
def _pad(self, pad, mode, value=0, out=None, ndims=None):
    """pad = (lo_last, hi_last, lo_prev, hi_prev, ...) as torch gives it."""
    if not _ok(self) or len(pad) % 2 or len(pad) // 2 > self.dim():
        return NotImplemented
    k = len(pad) // 2
    if ndims is not None and (k != ndims or self.dim() not in (ndims + 1, ndims + 2)):
        return NotImplemented
    shape, dims = list(self.shape), [(PLAIN, n, 0) for n in self.shape]
    for j in range(k):
        d = self.dim() - 1 - j
        lo, hi, n = pad[2 * j], pad[2 * j + 1], self.shape[d]
        size = n + lo + hi
        if size < 0:
            return NotImplemented
        if mode == REFLECT and (lo >= n or hi >= n or lo < 0 or hi < 0):
            return NotImplemented
        if mode == CLAMP and (n == 0 or lo < 0 or hi < 0):
            return NotImplemented
        shape[d] = size
        dims[d] = (mode, n, lo)
    if mode != CONST and self.numel() == 0:
        return NotImplemented   # torch's error for empty batch dims
    o = _out(out, shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    return _run(self, o, dims, value)


@impl("constant_pad_nd", "constant_pad_nd.out", repeat=True)
def constant_pad_nd(self, pad, value=0, *, out=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return NotImplemented
    if isinstance(value, float) and not self.dtype.is_floating_point:
        # F.pad passes a float; torch truncates it into an integer dtype, or raises on overflow
        if self.dtype is torch.bool or not math.isfinite(value):
            return NotImplemented
        info = torch.iinfo(self.dtype)
        if not info.min <= int(value) <= info.max:
            return NotImplemented
        value = int(value)
    return _pad(self, list(pad), CONST, value, out)


def _padder(mode, ndims):
    def pad(self, padding, *, out=None):
        return _pad(self, list(padding), mode, 0, out, ndims)
    return pad


for _name, _mode, _nd in (("reflection_pad1d", REFLECT, 1), ("reflection_pad2d", REFLECT, 2),
                          ("replication_pad1d", CLAMP, 1), ("replication_pad2d", CLAMP, 2),
                          ("replication_pad3d", CLAMP, 3)):
    impl(_name, _name + ".out", module=__name__)(_padder(_mode, _nd))


# -- copies of views, and their inverses ----------------------------------------------------
def _view_or_none(make):
    try:
        return make()
    except (RuntimeError, IndexError, TypeError):
        return None


@impl("narrow_copy", "narrow_copy.out", repeat=True)
def narrow_copy(self, dim, start, length, *, out=None):
    if not _ok(self) or self.dim() == 0:
        return NotImplemented
    v = _view_or_none(lambda: self.narrow(dim, start, length))
    if v is None:
        return NotImplemented
    o = _out(out, v.shape, self.dtype, self.device, self)
    return NotImplemented if o is None else _run(v, o, [(PLAIN, n, 0) for n in v.shape])


def _scatter_view(self, src, view_of, out):
    """out = self with view_of(out) replaced by src (the view ops' functional inverses)."""
    if not _ok(self, src) or src.dtype is not self.dtype or src.device != self.device:
        return NotImplemented
    o = _out(out, self.shape, self.dtype, self.device, self, src)
    if o is None:
        return NotImplemented
    if out is None:
        o = torch.empty_like(self, memory_format=torch.contiguous_format)
    v = _view_or_none(lambda: view_of(o))
    if v is None or v.shape != src.shape or _overlapping(v):
        return NotImplemented
    if copy_into(self, o) is None or copy_into(src, v) is None:
        return NotImplemented
    return o


def _overlapping(v) -> bool:
    """Whether distinct coordinates of view v can alias (then writes race)."""
    dims = sorted((abs(st), n) for n, st in zip(v.shape, v.stride()) if n > 1)
    span = 1
    for st, n in dims:
        if st < span:
            return True
        span = st * n
    return False


@impl("slice_scatter", "slice_scatter.out", repeat=True)
def slice_scatter(self, src, dim=0, start=None, end=None, step=1, *, out=None):
    if step is None or step < 1 or self.dim() == 0:
        return NotImplemented
    d = _dim(dim, self.dim())
    if d is None:
        return NotImplemented
    return _scatter_view(self, src, lambda t: t[(slice(None),) * d + (slice(start, end, step),)], out)


@impl("select_scatter", "select_scatter.out", repeat=True)
def select_scatter(self, src, dim, index, *, out=None):
    if self.dim() == 0:
        return NotImplemented
    return _scatter_view(self, src, lambda t: t.select(dim, index), out)


@impl("as_strided_scatter", "as_strided_scatter.out", repeat=True)
def as_strided_scatter(self, src, size, stride, storage_offset=None, *, out=None):
    if not self.is_contiguous():
        return NotImplemented   # the clone's storage layout decides what the strides mean
    return _scatter_view(self, src, lambda t: t.as_strided(size, stride, storage_offset), out)


@impl("diag_embed", "diag_embed.out", repeat=True)
def diag_embed(self, offset=0, dim1=-2, dim2=-1, *, out=None):
    if not _ok(self) or self.dim() == 0:
        return NotImplemented
    nd = self.dim() + 1
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 is None or d2 is None or d1 == d2:
        return NotImplemented
    m = self.shape[-1] + abs(offset)
    shape = list(self.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, m)
    o = _out(out, shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    zero = torch.zeros((), dtype=self.dtype, device=self.device).expand(shape)
    if copy_into(zero, o) is None:
        return NotImplemented
    diag = o.diagonal(offset, d1, d2)
    return NotImplemented if copy_into(self, diag) is None else o


# -- repeat_interleave(repeats): the index vector [0]*r0 + [1]*r1 + ... ----------------------
@triton.jit
def _repeat_index_kernel(ends, counts, out, BLOCK: tl.constexpr):
    j = tl.program_id(0)
    end = tl.load(ends + j)
    start = end - tl.load(counts + j)
    for s in range(start, end, BLOCK):
        p = s + tl.arange(0, BLOCK)
        tl.store(out + p, (tl.zeros([BLOCK], tl.int64) + j).to(out.dtype.element_ty), mask=p < end)


_repeat_index = Launcher(_repeat_index_kernel)


@impl("repeat_interleave.Tensor", "repeat_interleave.Tensor_out")
def repeat_interleave(repeats, *, output_size=None, out=None):
    from .gather import _INDEX, in_range
    if not isinstance(repeats, torch.Tensor) or repeats.dtype not in _INDEX or repeats.dim() > 1:
        return NotImplemented
    r = repeats.reshape(-1)
    if not in_range(r, 0, 2**62):
        return NotImplemented   # negative repeats: torch's error
    ends = torch.cumsum(r, 0)
    total = int(ends[-1]) if r.numel() else 0
    if output_size is not None and output_size != total:
        return NotImplemented
    o = _out(out, (total,), repeats.dtype, repeats.device, repeats)
    if o is None:
        return NotImplemented
    if total:
        _repeat_index((r.numel(),), ends, r, o, 1024 if r.device.type != "cpu" else 4096)
    return o
