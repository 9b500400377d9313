"""sum, mean, nansum, prod (dim and full overloads, with dtype= and out=)."""
from __future__ import annotations

import torch

from ...registry import impl
from . import engine as E
from .common import (
    FLOATS,
    INTS,
    REAL,
    dims_of,
    dims_ok,
    extent,
    on_device,
    out_ok,
    write_out,
)

_SUM = E.Spec(E.ID, E.SUM)
_NANSUM = E.Spec(E.NAN_ZERO, E.SUM)
_MEAN = E.Spec(E.ID, E.SUM, E.DIV)
_PROD = E.Spec(E.ID, E.PROD)


def _result_dtype(x, dtype):
    if dtype is not None:
        return dtype
    return torch.int64 if x.dtype in INTS else x.dtype


def _ok(x, dims, dtype):
    """Real dtypes only; a float input summed into an integer dtype goes to ATen (torch
    truncates each element first)."""
    if x.dtype not in REAL or not on_device(x) or not dims_ok(x, dims):
        return False
    if dtype is not None and (dtype not in REAL or (x.dtype in FLOATS and dtype in INTS)):
        return False
    return True


def _sum_like(spec, x, dim, keepdim, dtype, out=None):
    dims = dims_of(x, dim)
    if not _ok(x, dims, dtype):
        return NotImplemented
    rd = _result_dtype(x, dtype)
    acc = E.acc_dtype(rd, spec.comb)
    if out is not None and not out_ok(out, rd, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    res = E.reduce(x, dims, keepdim, spec, rd, acc=acc)
    return res if out is None else write_out(out, res)


@impl("sum.dim_IntList", repeat=True)
def sum_dim(self, dim, keepdim=False, *, dtype=None):
    return _sum_like(_SUM, self, dim, keepdim, dtype)


@impl("sum", repeat=True)
def sum_all(self, *, dtype=None):
    return _sum_like(_SUM, self, None, False, dtype)


@impl("sum.IntList_out", repeat=True)
def sum_out(self, dim, keepdim=False, *, dtype=None, out):
    return _sum_like(_SUM, self, dim, keepdim, dtype, out)


@impl("nansum", repeat=True)
def nansum(self, dim=None, keepdim=False, *, dtype=None):
    return _sum_like(_NANSUM if self.dtype in FLOATS else _SUM, self, dim, keepdim, dtype)


@impl("nansum.out", repeat=True)
def nansum_out(self, dim=None, keepdim=False, *, dtype=None, out):
    return _sum_like(_NANSUM if self.dtype in FLOATS else _SUM, self, dim, keepdim, dtype, out)


def _mean(x, dim, keepdim, dtype, out=None):
    dims = dims_of(x, dim)
    rd = dtype or x.dtype
    # torch: mean of integers raises; dtype= must be floating
    if x.dtype not in FLOATS or rd not in FLOATS or not on_device(x) or not dims_ok(x, dims):
        return NotImplemented
    if out is not None and not out_ok(out, rd, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    res = E.reduce(x, dims, keepdim, _MEAN, rd, div=float(extent(x, dims)), acc=E.acc_dtype(rd, E.SUM))
    return res if out is None else write_out(out, res)


@impl("mean.dim", repeat=True)
def mean_dim(self, dim, keepdim=False, *, dtype=None):
    return _mean(self, dim, keepdim, dtype)


@impl("mean", repeat=True)
def mean_all(self, *, dtype=None):
    return _mean(self, None, False, dtype)


@impl("mean.out", repeat=True)
def mean_out(self, dim, keepdim=False, *, dtype=None, out):
    return _mean(self, dim, keepdim, dtype, out)


@impl("prod", repeat=True)
def prod(self, *, dtype=None):
    return _sum_like(_PROD, self, None, False, dtype)


@impl("prod.dim_int", repeat=True)
def prod_dim(self, dim, keepdim=False, *, dtype=None):
    return _sum_like(_PROD, self, [dim], keepdim, dtype)


@impl("prod.int_out", repeat=True)
def prod_out(self, dim, keepdim=False, *, dtype=None, out):
    return _sum_like(_PROD, self, [dim], keepdim, dtype, out)


@impl("sum.out", repeat=True)
def sum_all_out(self, *, dtype=None, out):
    return _sum_like(_SUM, self, None, False, dtype, out)


@impl("prod.out", repeat=True)
def prod_all_out(self, *, dtype=None, out):
    return _sum_like(_PROD, self, None, False, dtype, out)


@impl("mean.dtype_out", repeat=True)
def mean_all_out(self, *, dtype=None, out):
    return _mean(self, None, False, dtype, out)
