"""cumsum, cumprod, cummax, cummin along any dim.

The tensor is viewed as (outer, N, inner). Innermost scans (inner == 1): a tile of
BLOCK_A rows x BLOCK_N columns per program, scanned with tl.associative_scan, looping
along the row with a carry (so rows of any length keep a fixed register tile). Other
dims: a tile of BLOCK_N x BLOCK_I contiguous inner columns, scanned along axis 0.
cummax/cummin follow torch's CPU/CUDA rule: NaN wins and the latest NaN or the latest
of equal values gives the index."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2
from .common import FLOATS, INTS, REAL, on_device, out_ok, write_out


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _later_wins(av, ai, bv, bi, IS_MAX: tl.constexpr):
    """(bv, bi) replaces (av, ai): NaN beats numbers, then the larger (smaller) value,
    then the larger index. Commutative, so any combine order gives one answer."""
    an = av != av
    bn = bv != bv
    if IS_MAX:
        better = bv > av
    else:
        better = bv < av
    same = (bv == av) | (an & bn)
    return (bn & ~an) | ((an == bn) & (better | (same & (bi > ai))))


@triton.jit
def _cmax(av, ai, bv, bi):
    t = _later_wins(av, ai, bv, bi, True)
    return tl.where(t, bv, av), tl.where(t, bi, ai)


@triton.jit
def _cmin(av, ai, bv, bi):
    t = _later_wins(av, ai, bv, bi, False)
    return tl.where(t, bv, av), tl.where(t, bi, ai)


@triton.jit
def _scan_kernel(x_ptr, y_ptr, i_ptr, M, N, inner, OP: tl.constexpr, ACC: tl.constexpr, INIT: tl.constexpr,
                 COL: tl.constexpr, BLOCK_A: tl.constexpr, BLOCK_N: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    lanes = tl.arange(0, BLOCK_A)
    if COL:   # tile [BLOCK_N, BLOCK_A]: scan axis 0, lanes are inner columns
        n_ib = tl.cdiv(inner, BLOCK_A)
        i = (pid % n_ib) * BLOCK_A + lanes
        a_mask = i < inner
        base = (pid // n_ib) * N * inner + i
        step = inner
    else:     # tile [BLOCK_N, BLOCK_A] too, lanes are rows: scan axis 0 along the row
        a = pid * BLOCK_A + lanes
        a_mask = a < M
        base = a * N
        step = 1
    rows = tl.arange(0, BLOCK_N)
    carry = tl.full([BLOCK_A], INIT, ACC)
    carry_i = tl.full([BLOCK_A], -1, tl.int64)
    for start in range(0, N, BLOCK_N):
        r = start + rows
        mask = (r < N)[:, None] & a_mask[None, :]
        offs = base[None, :] + r[:, None] * step
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        x = tl.where(mask, x, INIT)
        if OP == 0:
            s = tl.associative_scan(x, 0, _add) + carry[None, :]
            carry = carry + tl.sum(x, 0)
        elif OP == 1:
            s = tl.associative_scan(x, 0, _mul) * carry[None, :]
            carry = carry * tl.reduce(x, 0, _mul)
        else:
            xi = tl.where(mask, tl.zeros([BLOCK_N, BLOCK_A], tl.int64) + r[:, None], -1)
            if OP == 2:
                s, si = tl.associative_scan((x, xi), 0, _cmax)
                s, si = _cmax(carry[None, :], carry_i[None, :], s, si)
                cv, ci = tl.reduce((x, xi), 0, _cmax)
                carry, carry_i = _cmax(carry, carry_i, cv, ci)
            else:
                s, si = tl.associative_scan((x, xi), 0, _cmin)
                s, si = _cmin(carry[None, :], carry_i[None, :], s, si)
                cv, ci = tl.reduce((x, xi), 0, _cmin)
                carry, carry_i = _cmin(carry, carry_i, cv, ci)
            tl.store(i_ptr + offs, si, mask=mask)
        tl.store(y_ptr + offs, s.to(y_ptr.dtype.element_ty), mask=mask)


_launch = Launcher(_scan_kernel)
_cfg = backend().table("reduction")
_TILE = _cfg.get("scan_tile", 4096)
_MAX_N = _cfg.get("scan_max_block", 1024)
_COL_I = _cfg.get("col_block", 64)
_WARPS = _cfg.get("num_warps", 4)
_TL = {torch.float32: tl.float32, torch.float64: tl.float64, torch.int64: tl.int64}


def _init(op, acc):
    if op == 0:
        return 0
    if op == 1:
        return 1
    if acc.is_floating_point:
        return float("-inf") if op == 2 else float("inf")
    info = torch.iinfo(acc)
    return info.min if op == 2 else info.max


def tiles(M, n, inner, tile=None, max_n=None, col_i=None):
    """(BLOCK_A, BLOCK_N, programs) of a scan of M lanes of n elements (inner > 1: the
    lanes are inner columns): at most `tile` elements a tile either way. (Column tiles
    once took max_n x col_i = 1024 x 128 elements, whose scan asked 256 KB of shared
    memory on the H100: cumsum over dim 0 of 4096x4096 failed to compile.)"""
    tile, max_n, col_i = tile or _TILE, max_n or _MAX_N, col_i or _COL_I
    bn = min(next_power_of_2(n), max_n)
    if inner > 1:
        ba = min(next_power_of_2(inner), col_i)
        return ba, min(bn, max(1, tile // ba)), (M // inner) * cdiv(inner, ba)
    ba = min(max(1, tile // bn), next_power_of_2(M))
    return ba, bn, cdiv(M, ba)


def scan(x, dim, op, out_dtype, acc):
    """Scan `x` along `dim`; op 0 sum, 1 prod, 2 max, 3 min (2/3 also return int64 indices)."""
    xc = x.contiguous()
    y = torch.empty(x.shape, dtype=out_dtype, device=x.device)
    idx = torch.empty(x.shape, dtype=torch.int64, device=x.device) if op >= 2 else None
    if xc.numel():
        d = dim % max(x.dim(), 1)
        n = x.shape[d] if x.dim() else 1
        inner = 1
        for s in x.shape[d + 1:]:
            inner *= s
        M = xc.numel() // n
        ba, bn, programs = tiles(M, n, inner)
        _launch((programs,), xc, y, idx if idx is not None else y, M, n, inner, op, _TL[acc], _init(op, acc),
                inner > 1, ba, bn, needs_int64(xc), num_warps=_WARPS)
    return y if idx is None else (y, idx)


def _dim_ok(x, dim):
    nd = max(x.dim(), 1)
    return -nd <= dim < nd


def _cum(op, x, dim, dtype, out=None):
    if x.dtype not in REAL or not on_device(x) or not _dim_ok(x, dim):
        return NotImplemented
    rd = dtype or (torch.int64 if x.dtype in INTS else x.dtype)
    # a float input into an integer dtype: torch truncates each element first
    if rd not in REAL or rd is torch.bool or (x.dtype in FLOATS and rd in INTS):
        return NotImplemented
    if out is not None and not out_ok(out, rd, x.shape):
        return NotImplemented
    acc = torch.float64 if rd is torch.float64 else (torch.float32 if rd in FLOATS else torch.int64)
    res = scan(x, dim, op, rd, acc)
    return res if out is None else write_out(out, res)


@impl("cumsum", repeat=True)
def cumsum(self, dim, *, dtype=None):
    return _cum(0, self, dim, dtype)


@impl("cumsum.out", repeat=True)
def cumsum_out(self, dim, *, dtype=None, out):
    return _cum(0, self, dim, dtype, out)


@impl("cumprod", repeat=True)
def cumprod(self, dim, *, dtype=None):
    return _cum(1, self, dim, dtype)


@impl("cumprod.out", repeat=True)
def cumprod_out(self, dim, *, dtype=None, out):
    return _cum(1, self, dim, dtype, out)


def _cumext(op, x, dim):
    if x.dtype not in REAL or not on_device(x) or not _dim_ok(x, dim):
        return NotImplemented
    acc = torch.float64 if x.dtype is torch.float64 else (torch.float32 if x.dtype in FLOATS else torch.int64)
    return scan(x, dim, op, x.dtype, acc)


@impl("cummax", repeat=True)
def cummax(self, dim):
    return _cumext(2, self, dim)


@impl("cummin", repeat=True)
def cummin(self, dim):
    return _cumext(3, self, dim)


def _helper(op, x, values, indices, dim):
    if not (out_ok(values, x.dtype, x.shape) and out_ok(indices, torch.int64, x.shape)):
        return NotImplemented
    res = _cumext(op, x, dim)
    if res is NotImplemented:
        return res
    write_out(values, res[0])
    write_out(indices, res[1])


@impl("_cummax_helper", repeat=True)
def cummax_helper(self, values, indices, dim):
    return _helper(2, self, values, indices, dim)


@impl("_cummin_helper", repeat=True)
def cummin_helper(self, values, indices, dim):
    return _helper(3, self, values, indices, dim)


def _inplace(op, x, dim, dtype):
    if dtype is not None and dtype != x.dtype:
        return NotImplemented
    res = _cum(op, x, dim, x.dtype)   # in place: the result keeps self's dtype (bool: ATen)
    if res is NotImplemented:
        return NotImplemented
    return x.copy_(res)


@impl("cumsum_", repeat=True)
def cumsum_inplace(self, dim, *, dtype=None):
    return _inplace(0, self, dim, dtype)


@impl("cumprod_", repeat=True)
def cumprod_inplace(self, dim, *, dtype=None):
    return _inplace(1, self, dim, dtype)


def _cumext_out(op, x, dim, values, indices):
    if _helper(op, x, values, indices, dim) is NotImplemented:
        return NotImplemented
    return values, indices


@impl("cummax.out", repeat=True)
def cummax_out(self, dim, *, values, indices):
    return _cumext_out(2, self, dim, values, indices)


@impl("cummin.out", repeat=True)
def cummin_out(self, dim, *, values, indices):
    return _cumext_out(3, self, dim, values, indices)
