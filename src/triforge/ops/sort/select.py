"""kthvalue and median: one ascending stable row sort (sort.py's kernel), then the k-th
column. Values are exact; among equal values the returned index is the first
occurrence, which torch leaves unspecified ("not necessarily the first occurrence") and
its CPU kernel often does not pick. median propagates NaN as torch does: a row holding
NaN gives NaN and the index of its first NaN (stable: NaNs sort last, in index order).
Rows past one block go to ATen.
"""
from __future__ import annotations

import torch

from ...registry import impl
from .sort import _DTYPES, _MAX, _dim_ok, _select


def _n(self, dim):
    return 1 if self.dim() == 0 else self.shape[dim]


def _rows_ok(self, dim):
    return (self.dtype in _DTYPES and self.layout is torch.strided and _dim_ok(self, dim)
            and 0 < _n(self, dim) <= _MAX)


def _pick(self, dim, keepdim, pos_of):
    """Sort along dim, take column pos_of(sorted values) (a tensor or an int)."""
    vals, idx = _select(self, _n(self, dim), dim, False, True)
    if self.dim() == 0:
        return vals, idx
    vals, idx = vals.movedim(dim, -1), idx.movedim(dim, -1)
    pos = pos_of(vals)
    if isinstance(pos, int):
        v, i = vals[..., pos], idx[..., pos]
    else:
        v, i = vals.gather(-1, pos.unsqueeze(-1)).squeeze(-1), idx.gather(-1, pos.unsqueeze(-1)).squeeze(-1)
    if keepdim:
        v, i = v.unsqueeze(dim), i.unsqueeze(dim)
    return v.contiguous(), i.contiguous()


def _out(values, indices, v, i):
    values.resize_(v.shape).copy_(v)
    indices.resize_(i.shape).copy_(i)
    return values, indices


def _kth_ok(self, k, dim=-1, keepdim=False, **_):
    return _rows_ok(self, dim) and 1 <= k <= _n(self, dim)


@impl("kthvalue", supports=_kth_ok)
def kthvalue(self, k, dim=-1, keepdim=False):
    return _pick(self, dim, keepdim, lambda vals: k - 1)


@impl("kthvalue.values", supports=_kth_ok)
def kthvalue_out(self, k, dim=-1, keepdim=False, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented
    return _out(values, indices, *kthvalue(self, k, dim, keepdim))


def _median_pos(n):
    lower = (n - 1) // 2

    def pos(vals):
        if not vals.is_floating_point():
            return lower
        finite = n - vals.isnan().sum(-1)      # NaNs sort last: the first one sits here
        return torch.where(finite < n, finite, torch.full_like(finite, lower))
    return pos


def _med_ok(self, dim, keepdim=False, **_):
    return _rows_ok(self, dim)


@impl("median.dim", supports=_med_ok)
def median_dim(self, dim, keepdim=False):
    return _pick(self, dim, keepdim, _median_pos(_n(self, dim)))


@impl("median.dim_values", supports=_med_ok)
def median_dim_out(self, dim, keepdim=False, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented
    return _out(values, indices, *median_dim(self, dim, keepdim))


@impl("median", supports=lambda self: self.dtype in _DTYPES and 0 < self.numel() <= _MAX)
def median(self):
    return median_dim(self.reshape(-1), 0)[0].reshape(())
