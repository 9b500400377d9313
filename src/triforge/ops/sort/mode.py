"""mode along a dim: a stable ascending row sort (unique.argsort_rows), then one program
per row finds its longest run of equal values; among runs of equal length the first,
i.e. the smallest value, as torch. The index is that of the run's last element in
stable order (the largest index holding the mode); torch leaves the index open, and
its CPU kernel also reports the last of its (unstable) sorted run. -0.0 and 0.0 count
as one value, reported with the sign of the element at the returned index.

A float row holding NaN sends the call to ATen: torch's CPU kernel sorts NaN with `<`
(no order), so its answer there follows its sort's internals (one host sync reads the
flag). Rows longer than sort's max_single_block go to ATen; so does an empty reduced
dim (ATen raises).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, next_power_of_2
from .sort import _MAX, _dim_ok, _rows_of
from .unique import DTYPES, _flag_nan, _run_starts, argsort_rows


@triton.jit
def _later(a, b):
    return tl.maximum(a, b)


@triton.jit
def _mode_kernel(x_ptr, p_ptr, v_ptr, i_ptr, flag_ptr, n, NAN: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    base = row.to(tl.int64) * n
    i = tl.arange(0, BLOCK)
    s, v, j = _run_starts(x_ptr, p_ptr, base, i, n, True, False)
    start = tl.associative_scan(tl.where(s, i, 0), 0, _later)
    # the length so far of the run holding i: the largest is a longest run's full length,
    # and the first position reaching it ends the first (smallest) longest run
    cnt = tl.where(i < n, i - start + 1, 0)
    pos = tl.min(tl.where(cnt == tl.max(cnt, 0), i, BLOCK), 0)
    idx = tl.sum(tl.where(i == pos, j, 0), 0)
    tl.store(v_ptr + row, tl.load(x_ptr + base + idx))
    tl.store(i_ptr + row, idx)
    if NAN:
        _flag_nan(flag_ptr, v, i < n)


_mode_l = Launcher(_mode_kernel)


def _n(self, dim):
    return 1 if self.dim() == 0 else self.shape[dim]


def _mode_ok(self, dim=-1, keepdim=False, **_):
    return (self.dtype in DTYPES and self.layout is torch.strided and _dim_ok(self, dim)
            and 0 < _n(self, dim) <= _MAX)


@impl("mode", supports=_mode_ok)
def mode(self, dim=-1, keepdim=False):
    x, rows, n = _rows_of(self, dim)
    shape = x.shape[:-1]
    vals = torch.empty(rows, dtype=self.dtype, device=self.device)
    idx = torch.empty(rows, dtype=torch.int64, device=self.device)
    if rows:
        nan = self.dtype.is_floating_point
        flag = torch.empty(1, dtype=torch.int32, device=self.device).zero_() if nan else idx
        perm = argsort_rows(x.view(rows, n))
        _mode_l((rows,), x, perm, vals, idx, flag, n, nan, next_power_of_2(n), num_warps=4)
        if nan and int(flag[0]):
            return NotImplemented
    vals, idx = vals.view(shape), idx.view(shape)
    if keepdim and self.dim():
        vals, idx = vals.unsqueeze(dim), idx.unsqueeze(dim)
    return vals, idx


@impl("mode.values", supports=_mode_ok)
def mode_out(self, dim=-1, keepdim=False, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented   # ATen raises torch's out= dtype error
    got = mode(self, dim, keepdim)
    if got is NotImplemented:
        return got
    values.resize_(got[0].shape).copy_(got[0])
    indices.resize_(got[1].shape).copy_(got[1])
    return values, indices
