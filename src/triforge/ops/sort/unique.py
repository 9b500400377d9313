"""unique (_unique2, _unique), unique_consecutive, unique_dim, unique_dim_consecutive.

unique: a stable ascending argsort of the flattened input (sort.py's row sort; int64
and float64 by two stable passes over 32-bit key words, low word first), then runs: a
run starts at sorted position i where x[i] != x[i-1]. Block-local cumsums of the run
starts plus block offsets (reduction's scan) number the runs; one host sync reads their
count to size the outputs. Each run's value is its first element in sorted order,
inverse[j] is the run number of element j, counts come from the runs' start positions.

What torch leaves to its sort, and what triforge does:
- torch.unique always sorts, as ATen does on CPU and CUDA (sorted=False too).
- NaNs: never equal, so each NaN is its own unique value with count 1, after +inf
  (torch 2.13 CPU does the same). Among NaNs, inverse follows index order (the first
  NaN gets the first NaN slot); torch's CPU order among them comes from an unstable
  sort, so only `values[inverse] == x` with NaN-equal-NaN holds for both.
- -0.0 and 0.0 are one value; it keeps the sign of its first occurrence (stable sort);
  torch's CPU unstable sort keeps either sign.
- unique_consecutive (dim=None) needs no sort: the runs of the input as given, any length.

unique_dim: slices along dim compared as tuples. Up to _PAIRS slices, one program
compares every pair of slices column by column (lexicographic less / equal), and a
slice's group number counts the groups' first slices below it. More slices: each column
of the (N, K) slice matrix gets the dense rank of its values (one batched row sort);
pairs of adjacent columns fold into one key rank*N + rank (< 2**24 for N <= 4096) that
is ranked again, halving the columns per round, so ceil(log2 K) rounds leave one
lexicographic rank per slice, and the flat machinery runs on that. Either way each
group returns its first slice (lowest index). A float input holding NaN goes to ATen
(torch orders NaN slices by comparisons that are never true: no order to match); so do
inputs with zero-sized other dims (ATen raises). unique_dim and unique_dim_consecutive
on the CPU return inverse and counts whatever the flags say, as ATen's CPU kernels do.

unique_dim_consecutive: a run starts at slice i when any element differs from slice i-1
(NaN differs from NaN, as ATen's at::equal has it); any N.

Rows longer than sort's max_single_block (sorted paths) go to ATen.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2
from ..blocks import block_range
from ..reduction.scan import scan
from .keys import key64
from .rank import chosen, rank_sort
from .sort import _MAX, _select


@triton.jit
def _words_kernel(x_ptr, lo_ptr, hi_ptr, n, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """A 64-bit value -> two int32 words whose signed order, high word first, is the
    value's order (floats: -0.0 as 0.0, every NaN last)."""
    i, m = block_range(n, BLOCK, INT64)
    b = key64(tl.load(x_ptr + i, mask=m, other=0))
    tl.store(hi_ptr + i, (b >> 32).to(tl.int32), mask=m)
    tl.store(lo_ptr + i, ((b & 0xFFFFFFFF) - 0x80000000).to(tl.int32), mask=m)


@triton.jit
def _take_kernel(src_ptr, idx_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """out[r, j] = src[r, idx[r, j]] over rows of length n."""
    row = tl.program_id(0)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = j < n
    base = row.to(tl.int64) * n
    k = tl.load(idx_ptr + base + j, mask=m, other=0)
    tl.store(out_ptr + base + j, tl.load(src_ptr + base + k, mask=m), mask=m)


@triton.jit
def _cmp(v):
    """Comparable form: 16-bit floats compare as float32 (the interpreter compares
    bfloat16 by its bits: -0.0 != 0.0, NaN == NaN)."""
    if v.dtype.is_floating() and v.dtype.primitive_bitwidth < 32:
        w = v.to(tl.float32)
    else:
        w = v
    return w


@triton.jit
def _run_starts(x_ptr, p_ptr, base, i, n, HAS_PERM: tl.constexpr, MARKS: tl.constexpr):
    """Which positions i of the row at `base` (in sorted order when HAS_PERM) start a run
    of equal values; the values and their indices in the row. MARKS: x holds the starts."""
    m = i < n
    if HAS_PERM:
        j = tl.load(p_ptr + base + i, mask=m, other=0)
        jp = tl.load(p_ptr + base + i - 1, mask=m & (i > 0), other=0)
    else:
        j = i
        jp = i - 1
    v = tl.load(x_ptr + base + j, mask=m, other=0)
    if MARKS:
        s = v != 0
    else:
        vp = tl.load(x_ptr + base + jp, mask=m & (i > 0), other=0)
        s = (i == 0) | (_cmp(v) != _cmp(vp))
    return s & m, v, j


@triton.jit
def _flag_nan(flag_ptr, v, m):
    v = _cmp(v)
    tl.atomic_max(flag_ptr, tl.max((m & (v != v)).to(tl.int32), 0))  # noqa: PLR0124 (NaN test)


@triton.jit
def _count_kernel(x_ptr, p_ptr, bc_ptr, flag_ptr, n, HAS_PERM: tl.constexpr, MARKS: tl.constexpr,
                  NAN: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    i, m = block_range(n, BLOCK, INT64)
    s, v, _ = _run_starts(x_ptr, p_ptr, 0, i, n, HAS_PERM, MARKS)
    tl.store(bc_ptr + tl.program_id(0), tl.sum(s.to(tl.int32), 0))
    if NAN:
        _flag_nan(flag_ptr, v, m)


@triton.jit
def _emit_kernel(x_ptr, p_ptr, incl_ptr, bc_ptr, vals_ptr, inv_ptr, first_ptr, flag_ptr, n,
                 HAS_PERM: tl.constexpr, MARKS: tl.constexpr, OFFSETS: tl.constexpr, VALS: tl.constexpr,
                 INV: tl.constexpr, FIRST: tl.constexpr, NAN: tl.constexpr, BLOCK: tl.constexpr,
                 INT64: tl.constexpr):
    """Grid (rows, blocks). Numbers the runs: inv[row, j] = run of element j; vals and
    first (one row only) get each run's value and sorted start position. OFFSETS: each
    block's first run number is incl - bc of its block; else one block per row."""
    row = tl.program_id(0)
    blk = tl.program_id(1)
    if INT64:
        blk = blk.to(tl.int64)
    i = blk * BLOCK + tl.arange(0, BLOCK)
    base = row.to(tl.int64) * n
    s, v, j = _run_starts(x_ptr, p_ptr, base, i, n, HAS_PERM, MARKS)
    rid = tl.cumsum(s.to(tl.int32), 0).to(tl.int64) - 1
    if OFFSETS:
        rid += tl.load(incl_ptr + blk).to(tl.int64) - tl.load(bc_ptr + blk).to(tl.int64)
    if VALS:
        tl.store(vals_ptr + rid, v, mask=s)
    if INV:
        tl.store(inv_ptr + base + j, rid.to(inv_ptr.dtype.element_ty), mask=i < n)
    if FIRST:
        tl.store(first_ptr + rid, i.to(tl.int64), mask=s)
    if NAN:
        _flag_nan(flag_ptr, v, i < n)


@triton.jit
def _counts_kernel(first_ptr, cnt_ptr, u, n, BLOCK: tl.constexpr, INT64: tl.constexpr):
    r, m = block_range(u, BLOCK, INT64)
    f = tl.load(first_ptr + r, mask=m, other=0)
    nxt = tl.load(first_ptr + r + 1, mask=m & (r + 1 < u), other=n)
    tl.store(cnt_ptr + r, nxt - f, mask=m)


@triton.jit
def _fold_kernel(r_ptr, out_ptr, k, n, BLOCK: tl.constexpr):
    """Row j of out = rank row 2j * n + rank row 2j+1 (0 past the last row)."""
    j = tl.program_id(0)
    i = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = i < n
    a = tl.load(r_ptr + (2 * j).to(tl.int64) * n + i, mask=m, other=0)
    b = tl.load(r_ptr + (2 * j + 1).to(tl.int64) * n + i, mask=m & (2 * j + 1 < k), other=0)
    tl.store(out_ptr + j.to(tl.int64) * n + i, a * n + b, mask=m)


@triton.jit
def _slices_kernel(x_ptr, p_ptr, first_ptr, out_ptr, total, k, HAS_PERM: tl.constexpr, BLOCK: tl.constexpr,
                   INT64: tl.constexpr):
    """out[u, c] = x[slice that starts run u, c] for slices of k elements."""
    e, m = block_range(total, BLOCK, INT64)
    f = tl.load(first_ptr + e // k, mask=m, other=0)
    if HAS_PERM:
        f = tl.load(p_ptr + f, mask=m, other=0)
    tl.store(out_ptr + e, tl.load(x_ptr + f * k + e % k, mask=m), mask=m)


@triton.jit
def _slice_diff_kernel(x_ptr, d_ptr, rows, k, BLOCK_R: tl.constexpr, BLOCK_K: tl.constexpr):
    """d[r] = 1 where slice r differs from slice r-1 in some element (or r == 0)."""
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    rm = r < rows
    rb = r.to(tl.int64) * k
    diff = r == 0
    for c0 in range(0, k, BLOCK_K):
        c = c0 + tl.arange(0, BLOCK_K)
        m = (rm & (r > 0))[:, None] & (c < k)[None, :]
        a = tl.load(x_ptr + rb[:, None] + c[None, :], mask=m)
        b = tl.load(x_ptr + (rb - k)[:, None] + c[None, :], mask=m)
        diff = diff | (tl.max((m & (_cmp(a) != _cmp(b))).to(tl.int32), 1) > 0)
    tl.store(d_ptr + r, diff.to(tl.int8), mask=rm)


@triton.jit
def _pairs_kernel(x_ptr, inv_ptr, cnt_ptr, src_ptr, u_ptr, flag_ptr, n, k, NB: tl.constexpr, WRITE: tl.constexpr,
                  NAN: tl.constexpr):
    """unique_dim of at most NB slices of k elements in one program, by comparing every
    pair: lt[i, j] = slice j < slice i, eq[i, j] = equal. A slice is the first of its
    group when no earlier slice equals it; its rank counts the first slices below it.
    WRITE=False: only the number of groups (and the NaN flag)."""
    i = tl.arange(0, NB)
    im = i < n
    und = im[:, None] & im[None, :]   # equal in the columns so far
    lt = tl.zeros([NB, NB], tl.int1)
    nan = tl.zeros([NB], tl.int1)
    for c in range(k):
        v = _cmp(tl.load(x_ptr + i.to(tl.int64) * k + c, mask=im, other=0))
        if NAN:
            nan = nan | (v != v)  # noqa: PLR0124 (NaN test)
        lt = lt | (und & (v[None, :] < v[:, None]))
        und = und & (v[:, None] == v[None, :])
    earlier = i[None, :] < i[:, None]
    first_j = im & (tl.max((und & earlier.T).to(tl.int32), 0) == 0)
    if WRITE:
        first_i = im & (tl.max((und & earlier).to(tl.int32), 1) == 0)
        rank = tl.sum((lt & first_j[None, :]).to(tl.int32), 1).to(tl.int64)
        tl.store(inv_ptr + i, rank, mask=im)
        tl.store(cnt_ptr + rank, tl.sum(und.to(tl.int64), 1), mask=first_i)
        tl.store(src_ptr + rank, i.to(tl.int64), mask=first_i)
    else:
        tl.store(u_ptr, tl.sum(first_j.to(tl.int32), 0))
        if NAN:
            tl.store(flag_ptr, tl.max(nan.to(tl.int32), 0))


_words = Launcher(_words_kernel)
_take_l = Launcher(_take_kernel)
_count = Launcher(_count_kernel)
_emit = Launcher(_emit_kernel)
_counts = Launcher(_counts_kernel)
_fold = Launcher(_fold_kernel)
_slices = Launcher(_slices_kernel)
_sdiff = Launcher(_slice_diff_kernel)
_pairs = Launcher(_pairs_kernel)
_BLOCK = backend().table("elementwise").get("BLOCK", 1024)
# unique_dim of up to _PAIRS slices: one program compares all pairs (k loads of a
# _PAIRS^2 tile) instead of ~2k row sorts
_PAIRS = 64
_FLOATS = frozenset(backend().float_dtypes())
_WIDE = frozenset({torch.int64} | ({torch.float64} & _FLOATS))
# float64 is not in the set sort.py keys exactly (it keys through float32): its own words
_NARROW = (_FLOATS - {torch.float64}) | {torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32}
DTYPES = _NARROW | _WIDE
assert _MAX * _MAX < 2**31, "fold keys rank*N + rank must fit int32"


def _take(src, idx):
    rows, n = idx.shape
    out = torch.empty_like(src)
    _take_l((rows, cdiv(n, _BLOCK)), src, idx, out, n, _BLOCK, num_warps=4)
    return out


def argsort_rows(x):
    """Stable ascending argsort of each row of a contiguous (rows, n) tensor, n <= _MAX:
    -0.0 ties with 0.0, NaNs last."""
    rows, n = x.shape
    if chosen(x.dtype, rows, n):   # few rows: the whole GPU counts places (rank.py), 64-bit keys whole
        return rank_sort(x, rows, n, False)
    if x.dtype not in _WIDE:
        return _select(x, n, -1, False, True)[1]
    lo = torch.empty(x.shape, dtype=torch.int32, device=x.device)
    hi = torch.empty_like(lo)
    _words((cdiv(x.numel(), _BLOCK),), x, lo, hi, x.numel(), _BLOCK, needs_int64(x, extra=x.numel() + _BLOCK),
           num_warps=4)
    p1 = _select(lo, n, -1, False, True)[1]
    p2 = _select(_take(hi, p1), n, -1, False, True)[1]
    return _take(p1, p2)


def _can_nan(x):
    return x.dtype.is_floating_point


def runs(x, perm=None, *, vals=True, inv_shape=None, counts=True, marks=False, nan_check=False):
    """Runs of equal neighbours of flat contiguous `x` (in `perm` order when given; with
    marks=True x holds int8 run starts). Returns (values, inverse, counts, first, nan):
    inverse shaped inv_shape (None: not computed), first = sorted start positions."""
    n = x.numel()
    dev = x.device
    nb = cdiv(n, _BLOCK)
    i64 = needs_int64(x, extra=nb * _BLOCK + 1)
    bc = torch.empty(nb, dtype=torch.int32, device=dev)
    flag = torch.empty(1, dtype=torch.int32, device=dev).zero_() if nan_check else bc
    p = perm if perm is not None else x
    has_p = perm is not None
    _count((nb,), x, p, bc, flag, n, has_p, marks, nan_check, _BLOCK, i64, num_warps=4)
    incl = scan(bc, 0, 0, torch.int64, torch.int64) if nb > 1 else bc
    u = int(incl[nb - 1])
    nan = nan_check and bool(int(flag[0]))
    out_v = torch.empty(u if vals else 0, dtype=x.dtype, device=dev)
    inv = torch.empty(inv_shape if inv_shape is not None else 0, dtype=torch.int64, device=dev)
    first = torch.empty(u, dtype=torch.int64, device=dev)
    if not nan:
        _emit((1, nb), x, p, incl, bc, out_v, inv, first, flag, n, has_p, marks, nb > 1, vals,
              inv_shape is not None, True, False, _BLOCK, i64, num_warps=4)
    cnt = torch.empty(u if counts else 0, dtype=torch.int64, device=dev)
    if counts and u and not nan:
        _counts((cdiv(u, _BLOCK),), first, cnt, u, n, _BLOCK, i64, num_warps=4)
    return out_v, inv, cnt, first, nan


def _flat(self, sort, want_inv, want_counts):
    x = self.reshape(-1).contiguous()
    n = x.numel()
    if n == 0:
        e = torch.empty(0, dtype=torch.int64, device=x.device)
        return x.new_empty(0), self.new_empty(self.shape if want_inv else 0, dtype=torch.int64), e
    perm = argsort_rows(x.view(1, n)).view(n) if sort else None
    v, inv, cnt, _, _ = runs(x, perm, inv_shape=self.shape if want_inv else None, counts=want_counts)
    return v, inv, cnt


def _flat_ok(self, *_, **__):
    # a bare number: a wrapped-number tensor ATen's C++ made (isin's sort path), boxed
    return isinstance(self, torch.Tensor) and self.dtype in DTYPES and self.layout is torch.strided


def _sorted_ok(self, *_, **__):
    return _flat_ok(self) and (self.numel() <= _MAX or chosen(self.dtype, 1, self.numel()))


@impl("_unique2", supports=_sorted_ok)
def unique2(self, sorted=True, return_inverse=False, return_counts=False):
    return _flat(self, True, return_inverse, return_counts)


@impl("_unique", supports=_sorted_ok)
def unique(self, sorted=True, return_inverse=False):
    return _flat(self, True, return_inverse, False)[:2]


def _reshape_dim(self, dim):
    """(x as a contiguous (N, K) slice matrix, N, K, rest shape) or None where ATen raises."""
    if self.dim() == 0 or not (-self.dim() <= dim < self.dim()):
        return None
    d = dim % self.dim()
    rest = self.shape[:d] + self.shape[d + 1:]
    if any(s == 0 for s in rest):
        return None   # "There are 0 sized dimensions, and they aren't selected": ATen's error
    x = self.movedim(d, 0).contiguous()
    n, k = x.shape[0], 1
    for s in rest:
        k *= s
    return x.view(n, k), n, k, tuple(rest), d


def _slice_out(x2, perm, first, u, k, rest, d):
    out = torch.empty((u,) + rest, dtype=x2.dtype, device=x2.device)
    total = u * k
    if total:
        _slices((cdiv(total, _BLOCK),), x2, perm if perm is not None else first, first, out, total, k,
                perm is not None, _BLOCK, needs_int64(x2, out, extra=total + _BLOCK), num_warps=4)
    return out.movedim(0, d)   # as ATen: computed with dim first, then moved back (a view)


def _empty_dim(x2, rest, d):
    e = torch.empty(0, dtype=torch.int64, device=x2.device)
    return x2.new_empty((0,) + rest).movedim(0, d), e, e.clone()


def _ranks(x2, n, k):
    """(1, n) int32 lexicographic dense ranks of the rows of (n, k) x2, or None (NaN)."""
    keys = x2.t().contiguous()
    rows = k
    block = next_power_of_2(n)
    check = _can_nan(x2)
    flag = torch.empty(1, dtype=torch.int32, device=x2.device).zero_() if check else keys
    while True:
        perm = argsort_rows(keys)
        r = torch.empty((rows, n), dtype=torch.int32, device=x2.device)
        _emit((rows, 1), keys, perm, r, r, r, r, r, flag, n, True, False, False, False, True, False,
              check, block, False, num_warps=4)
        if check:
            if int(flag[0]):
                return None
            check = False
        if rows == 1:
            return r
        rows = cdiv(rows, 2)
        keys = torch.empty((rows, n), dtype=torch.int32, device=x2.device)
        _fold((rows, cdiv(n, _BLOCK)), r, keys, r.shape[0], n, _BLOCK, num_warps=4)


def _unique_dim_pairs(x2, n, k, rest, d):
    dev = x2.device
    nb = next_power_of_2(n)
    nan = _can_nan(x2)
    u = torch.empty(2, dtype=torch.int32, device=dev)
    _pairs((1,), x2, u, u, u, u, u[1:], n, k, nb, False, nan, num_warps=4)
    got = u.tolist()
    if nan and got[1]:
        return NotImplemented
    inv = torch.empty(n, dtype=torch.int64, device=dev)
    cnt = torch.empty(got[0], dtype=torch.int64, device=dev)
    src = torch.empty(got[0], dtype=torch.int64, device=dev)
    _pairs((1,), x2, inv, cnt, src, u, u, n, k, nb, True, False, num_warps=4)
    return _slice_out(x2, None, src, got[0], k, rest, d), inv, cnt


# ATen's CPU kernels of the dim variants fill inverse and counts whatever the flags say;
# its CUDA kernels return empty ones unless asked (seen on torch 2.11, H100)
_ALWAYS = backend().device_type == "cpu"


def _flags(res, return_inverse, return_counts):
    if res is NotImplemented or _ALWAYS:
        return res
    out, inv, cnt = res
    return (out, inv if return_inverse else inv.new_empty(0),
            cnt if return_counts else cnt.new_empty(0))


def _prep_dim(self, dim):
    """((x2, n, k, rest, d), None), or (None, the answer): NotImplemented or the empty result."""
    got = _reshape_dim(self, dim)
    if got is None:
        return None, NotImplemented
    x2, n, _, rest, d = got
    return (None, _empty_dim(x2, rest, d)) if n == 0 else (got, None)


def _unique_dim(self, dim):
    got, done = _prep_dim(self, dim)
    if got is None:
        return done
    x2, n, k, rest, d = got
    if n <= _PAIRS:
        return _unique_dim_pairs(x2, n, k, rest, d)
    if k == 1:
        keys, check = x2.view(n), _can_nan(x2)
    else:
        r = _ranks(x2, n, k)
        if r is None:
            return NotImplemented
        keys, check = r.view(n), False
    perm = argsort_rows(keys.view(1, n)).view(n)
    _, inv, cnt, first, nan = runs(keys, perm, vals=False, inv_shape=(n,), nan_check=check)
    if nan:
        return NotImplemented
    return _slice_out(x2, perm, first, first.numel(), k, rest, d), inv, cnt


def _dim_sorted_ok(self, dim, *_, **__):
    return _flat_ok(self) and self.dim() > 0 and -self.dim() <= dim < self.dim() and self.shape[dim] <= _MAX


@impl("unique_dim", supports=_dim_sorted_ok)
def unique_dim(self, dim, sorted=True, return_inverse=False, return_counts=False):
    return _flags(_unique_dim(self, dim), return_inverse, return_counts)


def _unique_dim_consecutive(self, dim):
    got, done = _prep_dim(self, dim)
    if got is None:
        return done
    x2, n, k, rest, d = got
    marks = torch.empty(n, dtype=torch.int8, device=x2.device)
    br = 16
    _sdiff((cdiv(n, br),), x2, marks, n, k, br, min(next_power_of_2(k), 128), num_warps=4)
    _, inv, cnt, first, _ = runs(marks, vals=False, inv_shape=(n,), marks=True)
    return _slice_out(x2, None, first, first.numel(), k, rest, d), inv, cnt


@impl("unique_dim_consecutive", supports=lambda self, dim, *a, **k: _flat_ok(self))
def unique_dim_consecutive(self, dim, return_inverse=False, return_counts=False):
    return _flags(_unique_dim_consecutive(self, dim), return_inverse, return_counts)


@impl("unique_consecutive", supports=_flat_ok)
def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
    # ATen's test, literally: dim=0 of a 1-D tensor is the flat path, dim=-1 is not
    if dim is None or (dim == 0 and self.dim() == 1):
        return _flat(self, False, return_inverse, return_counts)
    return _flags(_unique_dim_consecutive(self, dim), return_inverse, return_counts)
