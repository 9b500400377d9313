"""all, any (full, dim, dims) and count_nonzero: a sum / product of (x != 0)."""
from __future__ import annotations

import torch

from ...registry import impl
from . import engine as E
from .common import REAL, dims_of, dims_ok, on_device, out_ok, write_out

# any = sum of (x != 0) (0 for an empty extent); all = product (1 for an empty extent)
_ANY = E.Spec(E.NONZERO, E.SUM)
_ALL = E.Spec(E.NONZERO, E.PROD)


def _logical(spec, x, dim, keepdim, out=None):
    dims = dims_of(x, dim)
    # uint8 inputs give uint8 results in torch: ATen serves those
    if x.dtype not in REAL or x.dtype is torch.uint8 or not on_device(x) or not dims_ok(x, dims):
        return NotImplemented
    if out is not None and not out_ok(out, torch.bool, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    res = E.reduce(x, dims, keepdim, spec, torch.bool, acc=torch.int64)
    return res if out is None else write_out(out, res)


@impl("all", repeat=True)
def all_(self):
    return _logical(_ALL, self, None, False)


@impl("any", repeat=True)
def any_(self):
    return _logical(_ANY, self, None, False)


@impl("all.dim", "all.dims", repeat=True)
def all_dim(self, dim=None, keepdim=False):
    return _logical(_ALL, self, dim, keepdim)


@impl("any.dim", "any.dims", repeat=True)
def any_dim(self, dim=None, keepdim=False):
    return _logical(_ANY, self, dim, keepdim)


@impl("all.out", "all.dims_out", repeat=True)
def all_out(self, dim=None, keepdim=False, *, out):
    return _logical(_ALL, self, dim, keepdim, out)


@impl("any.out", "any.dims_out", repeat=True)
def any_out(self, dim=None, keepdim=False, *, out):
    return _logical(_ANY, self, dim, keepdim, out)


@impl("all.all_out", repeat=True)
def all_all_out(self, *, out):
    return _logical(_ALL, self, None, False, out)


@impl("any.all_out", repeat=True)
def any_all_out(self, *, out):
    return _logical(_ANY, self, None, False, out)


@impl("count_nonzero.dim_IntList", repeat=True)
def count_nonzero(self, dim):
    dims = dims_of(self, dim)
    if self.dtype not in REAL or not on_device(self) or not dims_ok(self, dims):
        return NotImplemented
    return E.reduce(self, dims, False, _ANY, torch.int64, acc=torch.int64)


@impl("count_nonzero", repeat=True)
def count_nonzero_all(self, dim=None):
    return count_nonzero(self, dim)


@impl("count_nonzero.out", "count_nonzero.dim_IntList_out", repeat=True)
def count_nonzero_out(self, dim=None, *, out):
    if not out_ok(out, torch.int64, E.out_shape(self, dims_of(self, dim), False)):
        return NotImplemented
    res = count_nonzero(self, dim)
    return res if res is NotImplemented else write_out(out, res)
