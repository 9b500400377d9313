"""var, std, var_mean, std_mean (correction overloads), linalg_vector_norm, logsumexp.

var/std of rows that fit one tile: each program takes the mean from the tile it holds,
then sums the squared deviations from it (two passes over registers, one read;
logsumexp's max likewise). Elsewhere (columns, long or few rows), half and float32
inputs are read once (engine MOMENT2): float64 sums of d = x - K and d^2, K the first
element of each reduced extent, give sum((x - mean)^2) = sum d^2 - (sum d)^2 / n. The
cancellation there grows with (K - mean)^2 / var, at most n (K is one of the n values),
and float64 sums keep it below float32's rounding for n < 2^24; float64 inputs, and
longer extents, read twice -- the mean (K + sum d / n, MOMENT2's second output), then the
squared deviations from it. A constant extent thus has its exact mean and variance 0 on
every path (one-tile rows: blocks.centred_moments, from registers), as
torch's. H100 bench,
var over dim 0 of 16384x4096 bf16: read twice 0.1394 ms against torch's 0.1020 (its
one-pass Welford) at 4d18f92, read once 0.0905 against 0.1023 at 6eb8920. The mean
between the passes is scratch and var_mean's mean comes out of the var launch, so the
C++ entry repeats these calls: H100 scan_vs_torch.py at 32beb0a, 4096x4096 bf16, the
calls in Python were host-bound and erratic (var_mean dim=-1
74-113 us against torch's 44, var dim=0 86-127 against 90, logsumexp dim=0 94-133
against 137)."""
from __future__ import annotations

import math
import struct

import torch

from ...backends import current as backend
from ...registry import impl
from . import engine as E
from .common import FLOATS, dims_of, dims_ok, extent, on_device, out_ok, write_out

_MEAN = E.Spec(E.ID, E.SUM, E.DIV)
_VAR = E.Spec(E.SQ_DEV, E.SUM, E.DIV)
_STD = E.Spec(E.SQ_DEV, E.SUM, E.SQRT_DIV)
_VAR1 = E.Spec(E.ID, E.MOMENT2, E.DIV)
_STD1 = E.Spec(E.ID, E.MOMENT2, E.SQRT_DIV)
_ONE_READ = (torch.float16, torch.bfloat16, torch.float32)


def _moments(x, dim, correction, keepdim, std, want_mean):
    dims = dims_of(x, dim)
    if x.dtype not in FLOATS or not on_device(x) or not dims_ok(x, dims):
        return NotImplemented
    n = extent(x, dims)
    corr = 1.0 if correction is None else float(correction)
    acc = E.acc_dtype(x.dtype, E.SUM)
    spec, div = (_STD if std else _VAR), max(n - corr, 0.0)
    if 0 < n < 2**24 and x.dtype in _ONE_READ and backend().supports_fp64 and not E.one_tile_rows(x, dims):
        return E.reduce(x, dims, keepdim, _STD1 if std else _VAR1, x.dtype, p=float(n), div=div,
                        shift=_first(x, dims), want_index=want_mean, acc=torch.float64)
    # rows of one tile take their mean from it: one pass; var_mean's mean is the var
    # launch's second output (the shift it used), in x's dtype. Elsewhere the mean comes
    # from a first read as k + sum(x - k) / n (MOMENT2's second output), k the extent's
    # first element, so a constant extent's mean, and so its variance, is exact
    return E.reduce(x, dims, keepdim, spec, x.dtype, div=div, want_index=want_mean,
                    shift_fn=lambda: E.reduce(x, dims, True, _VAR1, acc, p=float(n), shift=_first(x, dims),
                                              want_value=False, want_index=True, acc=acc, temp=True))


def _first(x, dims):
    """The first element of each reduced extent, keepdim-shaped (a view of x): the shift
    K of MOMENT2's sums. Made only where used (one-tile rows take none: host time)."""
    for d in (dims or range(x.dim())):
        x = x.narrow(d, 0, 1)
    return x


@impl("var.correction", repeat=True)
def var(self, dim=None, *, correction=None, keepdim=False):
    return _moments(self, dim, correction, keepdim, False, False)


@impl("std.correction", repeat=True)
def std(self, dim=None, *, correction=None, keepdim=False):
    return _moments(self, dim, correction, keepdim, True, False)


@impl("var_mean.correction", repeat=True)
def var_mean(self, dim=None, *, correction=None, keepdim=False):
    return _moments(self, dim, correction, keepdim, False, True)


@impl("std_mean.correction", repeat=True)
def std_mean(self, dim=None, *, correction=None, keepdim=False):
    return _moments(self, dim, correction, keepdim, True, True)


def _moments_out(self, dim, correction, keepdim, std, out):
    if not out_ok(out, self.dtype, E.out_shape(self, dims_of(self, dim), keepdim)):
        return NotImplemented
    res = _moments(self, dim, correction, keepdim, std, False)
    return res if res is NotImplemented else write_out(out, res)


@impl("var.correction_out", repeat=True)
def var_out(self, dim=None, *, correction=None, keepdim=False, out):
    return _moments_out(self, dim, correction, keepdim, False, out)


@impl("std.correction_out", repeat=True)
def std_out(self, dim=None, *, correction=None, keepdim=False, out):
    return _moments_out(self, dim, correction, keepdim, True, out)


def _norm_spec(ord):
    if ord == 0:
        return E.Spec(E.NONZERO, E.SUM), 1.0
    if ord == 1:
        return E.Spec(E.ABS, E.SUM), 1.0
    if ord == 2:
        return E.Spec(E.SQ_DEV, E.SUM, E.SQRT_DIV), 1.0   # SQ_DEV without a shift: x*x
    if ord == math.inf:
        return E.Spec(E.ABS, E.MAX), 1.0
    if ord == -math.inf:
        return E.Spec(E.ABS, E.MIN), 1.0
    return E.Spec(E.ABS_POW, E.SUM, E.ROOT), float(ord)


def _as_f32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]


def _norm(x, ord, dim, keepdim, dtype, out=None):
    dims = dims_of(x, dim)
    rd = dtype or x.dtype
    if (x.dtype not in FLOATS or rd not in FLOATS or isinstance(ord, complex) or not on_device(x)
            or not dims_ok(x, dims)):
        return NotImplemented
    ord = float(ord)
    # the kernel takes p as a float32 argument: a float64 norm of another p goes to ATen
    if rd is torch.float64 and not math.isinf(ord) and ord != _as_f32(ord):
        return NotImplemented
    # empty extents: torch raises for inf/-inf/negative orders; ATen owns those
    if extent(x, dims) == 0 and (ord < 0 or math.isinf(ord)):
        return NotImplemented
    if out is not None and not out_ok(out, rd, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    spec, p = _norm_spec(ord)
    src = x if dtype is None else x.to(dtype)
    res = E.reduce(src, dims, keepdim, spec, rd, p=p)
    return res if out is None else write_out(out, res)


@impl("linalg_vector_norm", repeat=True)
def vector_norm(self, ord=2, dim=None, keepdim=False, *, dtype=None):
    return _norm(self, ord, dim, keepdim, dtype)


@impl("linalg_vector_norm.out", repeat=True)
def vector_norm_out(self, ord=2, dim=None, keepdim=False, *, dtype=None, out):
    return _norm(self, ord, dim, keepdim, dtype, out)


_AMAX = E.Spec(E.ID, E.MAX)
_LSE = E.Spec(E.EXP_DEV, E.SUM, E.LOG_ADD)


def _logsumexp(x, dim, keepdim, out=None):
    dims = dims_of(x, dim)
    # integer inputs are promoted by torch; empty extents give -inf through ATen
    if x.dtype not in FLOATS or not on_device(x) or not dims_ok(x, dims) or extent(x, dims) == 0:
        return NotImplemented
    if out is not None and not out_ok(out, x.dtype, E.out_shape(x, dims, keepdim)):
        return NotImplemented
    res = E.reduce(x, dims, keepdim, _LSE, x.dtype,
                   shift_fn=lambda: E.reduce(x, dims, True, _AMAX, E.acc_dtype(x.dtype, E.MAX), temp=True))
    return res if out is None else write_out(out, res)


@impl("logsumexp", repeat=True)
def logsumexp(self, dim, keepdim=False):
    return _logsumexp(self, dim, keepdim)


@impl("logsumexp.out", repeat=True)
def logsumexp_out(self, dim, keepdim=False, *, out):
    return _logsumexp(self, dim, keepdim, out)
