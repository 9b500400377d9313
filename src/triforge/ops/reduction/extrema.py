"""amax, amin, aminmax, max/min (full and .dim with indices), argmax, argmin.

NaN wins (its first index for the index ops); ties keep the first index, as torch.
A reduction over an empty extent goes to ATen, which raises as torch does."""
from __future__ import annotations

import torch

from ...registry import impl
from . import engine as E
from .common import REAL, dims_of, dims_ok, extent, on_device, out_ok, write_out

_AMAX, _AMIN = E.Spec(E.ID, E.MAX), E.Spec(E.ID, E.MIN)
_ARGMAX, _ARGMIN = E.Spec(E.ID, E.ARGMAX), E.Spec(E.ID, E.ARGMIN)
# one read for both (two reductions were 0.78x torch: H100 scan_vs_torch.py at 66f9761,
# aminmax dim=-1 of 4096x4096 bf16, 37.1 us against 28.9)
_MINMAX = E.Spec(E.ID, E.MINMAX)


def _ok(x, dims, bool_ok=True):
    return ((x.dtype in REAL and (bool_ok or x.dtype is not torch.bool)) and on_device(x)
            and dims_ok(x, dims) and extent(x, dims) > 0)


def _ext(spec, x, dim, keepdim, out=None):
    dims = dims_of(x, dim)
    if not _ok(x, dims):
        return NotImplemented
    if out is not None and not out_ok(out, x.dtype, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    res = E.reduce(x, dims, keepdim, spec, x.dtype)
    return res if out is None else write_out(out, res)


@impl("amax", repeat=True)
def amax(self, dim=(), keepdim=False):
    return _ext(_AMAX, self, dim, keepdim)


@impl("amin", repeat=True)
def amin(self, dim=(), keepdim=False):
    return _ext(_AMIN, self, dim, keepdim)


@impl("amax.out", repeat=True)
def amax_out(self, dim=(), keepdim=False, *, out):
    return _ext(_AMAX, self, dim, keepdim, out)


@impl("amin.out", repeat=True)
def amin_out(self, dim=(), keepdim=False, *, out):
    return _ext(_AMIN, self, dim, keepdim, out)


@impl("max", repeat=True)
def max_all(self):
    return _ext(_AMAX, self, None, False)


@impl("min", repeat=True)
def min_all(self):
    return _ext(_AMIN, self, None, False)


def _with_index(spec, x, dim, keepdim):
    dims = [dim]
    if not _ok(x, dims):
        return NotImplemented
    return E.reduce(x, dims, keepdim, spec, x.dtype, want_index=True)


@impl("max.dim", repeat=True)
def max_dim(self, dim, keepdim=False):
    return _with_index(_ARGMAX, self, dim, keepdim)


@impl("min.dim", repeat=True)
def min_dim(self, dim, keepdim=False):
    return _with_index(_ARGMIN, self, dim, keepdim)


def _with_index_out(spec, x, dim, keepdim, values, indices):
    shape = E.out_shape(x, [dim], keepdim)
    if not (out_ok(values, x.dtype, shape) and out_ok(indices, torch.int64, shape)):
        return NotImplemented
    res = _with_index(spec, x, dim, keepdim)
    if res is NotImplemented:
        return res
    write_out(values, res[0])
    write_out(indices, res[1])
    return values, indices


@impl("max.dim_max", repeat=True)
def max_dim_out(self, dim, keepdim=False, *, max, max_values):
    return _with_index_out(_ARGMAX, self, dim, keepdim, max, max_values)


@impl("min.dim_min", repeat=True)
def min_dim_out(self, dim, keepdim=False, *, min, min_indices):
    return _with_index_out(_ARGMIN, self, dim, keepdim, min, min_indices)


def _arg(spec, x, dim, keepdim, out=None):
    if not (x.dtype in REAL and x.dtype is not torch.bool):
        return NotImplemented
    if dim is None:
        # over the flattened tensor; keepdim gives all-ones dims
        if x.numel() == 0 or not on_device(x):
            return NotImplemented
        res = E.reduce(x.reshape(-1), [0], False, spec, x.dtype, want_value=False, want_index=True)
        if keepdim:
            res = res.reshape([1] * x.dim())
    else:
        if not _ok(x, [dim]):
            return NotImplemented
        if out is not None and not out_ok(out, torch.int64, E.out_shape(x, [dim], keepdim)):
            return NotImplemented
        res = E.reduce(x, [dim], keepdim, spec, x.dtype, want_value=False, want_index=True)
    if out is not None:
        if not out_ok(out, torch.int64, res.shape):
            return NotImplemented
        return write_out(out, res)
    return res


@impl("argmax", repeat=True)
def argmax(self, dim=None, keepdim=False):
    return _arg(_ARGMAX, self, dim, keepdim)


@impl("argmin", repeat=True)
def argmin(self, dim=None, keepdim=False):
    return _arg(_ARGMIN, self, dim, keepdim)


@impl("argmax.out", repeat=True)
def argmax_out(self, dim=None, keepdim=False, *, out):
    return _arg(_ARGMAX, self, dim, keepdim, out)


@impl("argmin.out", repeat=True)
def argmin_out(self, dim=None, keepdim=False, *, out):
    return _arg(_ARGMIN, self, dim, keepdim, out)


@impl("aminmax", repeat=True)
def aminmax(self, *, dim=None, keepdim=False):
    dims = dims_of(self, dim)
    if not _ok(self, dims):
        return NotImplemented
    return E.reduce(self, dims, keepdim, _MINMAX, self.dtype, want_index=True)


@impl("max.unary_out", repeat=True)
def max_all_out(self, *, out):
    return _ext(_AMAX, self, None, False, out)


@impl("min.unary_out", repeat=True)
def min_all_out(self, *, out):
    return _ext(_AMIN, self, None, False, out)


@impl("aminmax.out", repeat=True)
def aminmax_out(self, *, dim=None, keepdim=False, min, max):
    shape = E.out_shape(self, dims_of(self, dim), keepdim)
    if not (out_ok(min, self.dtype, shape) and out_ok(max, self.dtype, shape)):
        return NotImplemented
    res = aminmax(self, dim=dim, keepdim=keepdim)
    if res is NotImplemented:
        return res
    return write_out(min, res[0]), write_out(max, res[1])
