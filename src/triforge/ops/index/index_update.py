"""index_add, index_copy, index_fill: a 1-d index along one dim, broadcast over the other
dims, through the scatter kernel (see scatter.py for duplicates and determinism).
index_add with alpha != 1 goes to ATen."""
from __future__ import annotations

import torch

from ...registry import impl
from .gather import _index_ok, _values_ok, checked
from .scatter import ADD, STORE, apply


def _walk(self, dim, index, source, wrap=False, int64_only=False):
    """(dim, walk) for the call, or None where ATen should run (and raise)."""
    if not (_values_ok(self) and _index_ok(index)) or index.dim() > 1 or index.device != self.device:
        return None
    if int64_only and index.dtype is not torch.int64:
        return None
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd:
        return None
    d = dim % nd
    shape = list(self.shape) if self.dim() else [1]
    n = shape[d]
    shape[d] = index.numel()
    if isinstance(source, torch.Tensor) and (
            not _values_ok(source) or source.dtype is not self.dtype or source.device != self.device
            or list(source.shape if source.dim() else [1]) != shape):
        return None
    if not checked(index, -n if wrap else 0, n):   # (the scatter kernel asserts on a GPU)
        return None
    strides = [0] * nd
    strides[d] = index.stride(0) if index.dim() else 0
    return d, {"shape": shape, "idx_strides": strides, "wrap": wrap}


def _source(source, shape):
    return source.reshape(shape) if source.dim() == 0 else source


def _add(self, dim, index, source, alpha, inplace=False, out=None):
    if alpha != 1 or not isinstance(source, torch.Tensor):
        return NotImplemented
    w = _walk(self, dim, index, source)
    if w is None:
        return NotImplemented
    return apply(self, w[0], index, _source(source, w[1]["shape"]), ADD, inplace, out, **w[1])


@impl("index_add", "index_add.out")
def index_add(self, dim, index, source, *, alpha=1, out=None):
    return _add(self, dim, index, source, alpha, out=out)


@impl("index_add_")
def index_add_(self, dim, index, source, *, alpha=1):
    return _add(self, dim, index, source, alpha, inplace=True)


def _copy(self, dim, index, source, inplace=False, out=None):
    w = _walk(self, dim, index, source, int64_only=True)
    if w is None or not isinstance(source, torch.Tensor):
        return NotImplemented
    return apply(self, w[0], index, _source(source, w[1]["shape"]), STORE, inplace, out, **w[1])


@impl("index_copy", "index_copy.out")
def index_copy(self, dim, index, source, *, out=None):
    return _copy(self, dim, index, source, out=out)


@impl("index_copy_")
def index_copy_(self, dim, index, source):
    return _copy(self, dim, index, source, inplace=True)


def _fill(self, dim, index, value, inplace=False, out=None):
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.device.type not in ("cpu", self.device.type):
            return NotImplemented
        value = value.item()
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not self.dtype.is_floating_point):
        return NotImplemented
    w = _walk(self, dim, index, None, wrap=True, int64_only=True)
    if w is None:
        return NotImplemented
    return apply(self, w[0], index, value, STORE, inplace, out, **w[1])


@impl("index_fill.int_Scalar", "index_fill.int_Tensor", "index_fill.int_Scalar_out", "index_fill.int_Tensor_out")
def index_fill(self, dim, index, value, *, out=None):
    return _fill(self, dim, index, value, out=out)


@impl("index_fill_.int_Scalar", "index_fill_.int_Tensor")
def index_fill_(self, dim, index, value):
    return _fill(self, dim, index, value, inplace=True)
