"""sort (stable or not, either direction) and topk, for values of at most 32 bits (and
full sorts of few rows of 64-bit values, rank.py).

Every element becomes one uint64 packed word (keys.py): an order-preserving key of the
value (NaN largest, -0.0 as +0.0), inverted for an ascending sort, above the complement
of its index. The best element then has the largest packed word and equal values keep
their index order, so one descending bitonic `tl.sort` (or `tl.topk`) gives a stable
sort, NaN placement and tie order as torch's stable sort. Values are re-read by index
(the exact input bits, -0.0 and NaN payloads kept).

A row is one block up to the backend's max_single_block (a full sort: up to where the
network measured faster than torch, _network_ok). Longer rows: topk by group
maxima (group_select.py), or past what its descent holds by radix select up to
radix_select.MAX_K (radix_select.py; a backend's table may send those to ATen). A full
sort of few rows counts each element's place instead (rank.py), which uses the whole GPU
and takes 64-bit values and rows up to rank.MAX_N; other full sorts of values of at most
32 bits take the radix sort (radix_sort.py) where the backend's table turns it on; 64-bit
rows and topk with a larger k go to ATen.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, next_power_of_2
from .group_select import group_topk, group_topk_ok
from .keys import key, packed, packed32, write_best
from .radix_select import MAX_K, radix_topk
from . import radix_sort, rank


@triton.jit
def _packed(x_ptr, row_base, cols, N, LARGEST: tl.constexpr, BITS: tl.constexpr, PACK32: tl.constexpr):
    m = cols < N
    k = key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST)
    if PACK32:   # (one return: the compiler wants every return of one type)
        p = tl.where(m, packed32(k, cols, BITS), 0).to(tl.uint32)
    else:
        p = tl.where(m, packed(k, cols, BITS), 0).to(tl.uint64)
    return p


@triton.jit
def _sort_rows_kernel(x_ptr, v_ptr, i_ptr, N, K, LARGEST: tl.constexpr, BITS: tl.constexpr,
                      BLOCK: tl.constexpr, KB: tl.constexpr, TOPK: tl.constexpr, PACK32: tl.constexpr):
    row = tl.program_id(0)
    row_base = row.to(tl.int64) * N
    p = _packed(x_ptr, row_base, tl.arange(0, BLOCK), N, LARGEST, BITS, PACK32)
    if TOPK:
        best = tl.topk(p, KB)
    else:
        best = tl.sort(p, descending=True)
    write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, KB)


_rows = Launcher(_sort_rows_kernel)
_cfg = backend().table("sort")
_MAX, _WARPS = _cfg.get("max_single_block", 4096), _cfg.get("num_warps", 8)
# 32-bit packed words for 8/16-bit dtypes (keys.packed32): H100, 16384 rows of 4096 bf16,
# 6.11 ms with 64-bit words, 5.44 with 32 (torch 1.36; 274beb5).
_PACK32 = _cfg.get("pack32", False)


def _pack32(bits: int, block: int) -> bool:
    """Whether a row sort of `bits`-wide values in `block` lanes packs 32-bit words."""
    return _PACK32 and bits <= 16 and block <= 1 << 16
# A full sort's warps by (word bits, block): the table's entry for the largest block it
# lists at or below this one, else num_warps (topk keeps num_warps).
_SORT_WARPS = _cfg.get("sort_warps", {})


def _sort_warps(word_bits: int, block: int) -> int:
    listed = [b for (w, b) in _SORT_WARPS if w == word_bits and b <= block]
    return _SORT_WARPS[(word_bits, max(listed))] if listed else _WARPS


# Keys are 32 bits (_packed): float64 would be ordered by its float32 rounding (1 + 1e-12
# tied with 1.0, 1e300 with inf) and int64 truncated, so both go to ATen.
_DTYPES = (frozenset(backend().float_dtypes()) - {torch.float64}) | {torch.bool, torch.uint8, torch.int8, torch.int16,
                                                                     torch.int32}
# ...but a full sort of few rows compares them at their own width (rank.py)
_WIDE = frozenset({torch.int64} | ({torch.float64} & set(backend().float_dtypes())))


# Full sorts the network serves (sort() itself; unique and mode call _select directly).
# H100 explore_sort_crossover.py (sort-crossover-at-e0ae0b4.txt), x torch: rows of 256-512
# 1.9-5.0x in every dtype; of 1024 1.1-2.9x in bf16, and 1.0-2.8x with 64-bit words up to
# 1024 rows but 0.80-0.87x at 16384; of 2048 0.35-0.49x past 64 rows (0.92-1.09x at 64),
# of 4096 0.26-0.75x (one program a row, ~100 us each however idle the GPU). Longer rows
# go to ATen (visibly) unless rank.py takes them (few rows).
_NET_MAX_N = _cfg.get("network_max_n", _MAX)
_NET_MAX_ROWS = _cfg.get("network_max_rows", {})   # (word bits, block) -> most rows


def _network_ok(dtype, rows: int, n: int) -> bool:
    if n > _NET_MAX_N:
        return False
    block = next_power_of_2(n)
    bits = 32 if _pack32(dtype.itemsize * 8, block) else 64
    cap = _NET_MAX_ROWS.get((bits, block))
    return cap is None or rows <= cap


def _dim_ok(self, dim) -> bool:
    nd = max(self.dim(), 1)
    return isinstance(dim, int) and -nd <= dim < nd


def _last(self, dim) -> bool:
    return self.dim() == 0 or dim % self.dim() == self.dim() - 1


def _rows_of(self, dim):
    """(contiguous copy with `dim` last, rows, N). (No view where `dim` is already last:
    the host time of small sorts is mostly such calls, ~3 us each.)"""
    x = self.reshape(1) if self.dim() == 0 else self
    if not _last(self, dim):
        x = x.movedim(dim, -1)
    x = x.contiguous()
    n = x.shape[-1]
    return x, x.numel() // max(n, 1), n


def _finish(self, dim, vals, idx):
    if self.dim() == 0:
        return vals.reshape(()), idx.reshape(())
    if _last(self, dim):
        return vals, idx
    return vals.movedim(-1, dim), idx.movedim(-1, dim)


# Full sorts that neither the network nor rank.py takes: the radix sort (radix_sort.py),
# where the backend's table turns it on (off on GPUs until explore_vocab_sort.py has timed
# it against torch there).
RADIX_SORT = _cfg.get("radix_sort", False)


def _radix_chosen(dtype, rows: int, n: int) -> bool:
    return (RADIX_SORT and radix_sort.ok(dtype, n) and not rank.chosen(dtype, rows, n)
            and not (n <= _MAX and _network_ok(dtype, rows, n)))


def _select(self, k, dim, largest, full_sort):
    x, rows, n = _rows_of(self, dim)
    vals = torch.empty(x.shape[:-1] + (k,), dtype=x.dtype, device=x.device)
    idx = torch.empty(vals.shape, dtype=torch.int64, device=x.device)
    if full_sort and rows and rank.chosen(x.dtype, rows, n):
        rank.rank_sort(x, rows, n, largest, vals, idx)
    elif full_sort and rows and _radix_chosen(x.dtype, rows, n):
        radix_sort.radix_sort(x, rows, n, bool(largest), vals, idx)
    elif rows and k:
        kb = max(2, next_power_of_2(k))   # tl.topk(x, 1) reduces to a scalar
        if n <= _MAX:
            block = next_power_of_2(n) if full_sort else max(kb, next_power_of_2(n))
            bits = x.element_size() * 8
            pack32 = _pack32(bits, block)
            warps = _sort_warps(32 if pack32 else 64, block) if full_sort else _WARPS
            _rows((rows,), x, vals, idx, n, k, bool(largest), bits, block, block if full_sort else kb,
                  not full_sort, pack32, num_warps=warps)
        elif group_topk_ok(n, k):
            group_topk(x, k, largest, vals, idx)
        else:
            radix_topk(x, k, largest, vals, idx)
    return _finish(self, dim, vals, idx)


# The radix select (k past the group descent) measured 0.31x torch at k=600 over
# 4096 x 128256 bf16 on the H100 (15e5198): a backend may send those calls to ATen.
RADIX = _cfg.get("radix_topk", True)


def _long_topk_ok(n, k) -> bool:
    return n <= _MAX or group_topk_ok(n, k) or (RADIX and k <= MAX_K)


def _sort_ok(self, *, stable=None, dim=-1, descending=False, **_):
    if not (self.layout is torch.strided and _dim_ok(self, dim)) or self.dim() == 0:
        return self.dim() == 0 and self.dtype in _DTYPES
    n = self.shape[dim]
    rows = self.numel() // max(n, 1)
    return (self.dtype in _DTYPES and n <= _MAX and _network_ok(self.dtype, rows, n)) or (
        self.dtype in _DTYPES | _WIDE and rank.chosen(self.dtype, rows, n)) or (
        self.dtype in _DTYPES and _radix_chosen(self.dtype, rows, n))


@impl("sort.stable", supports=_sort_ok)
def sort_stable(self, *, stable=None, dim=-1, descending=False):
    n = 1 if self.dim() == 0 else self.shape[dim]
    return _select(self, n, dim, descending, True)


@impl("sort.values_stable", supports=_sort_ok)
def sort_values_stable(self, *, stable=None, dim=-1, descending=False, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented   # ATen raises torch's out= dtype error
    v, i = sort_stable(self, stable=stable, dim=dim, descending=descending)
    values.resize_(v.shape).copy_(v)
    indices.resize_(i.shape).copy_(i)
    return values, indices


def _sort_default_ok(self, dim=-1, descending=False, **_):
    return _sort_ok(self, dim=dim)


# sort.default / sort.values are CompositeExplicitAutograd over sort.stable: served here
# too, so the call is one triforge op in the coverage table.
@impl("sort", supports=_sort_default_ok)
def sort_default(self, dim=-1, descending=False):
    return sort_stable(self, dim=dim, descending=descending)


@impl("sort.values", supports=_sort_default_ok)
def sort_values(self, dim=-1, descending=False, *, values, indices):
    return sort_values_stable(self, dim=dim, descending=descending, values=values, indices=indices)


def _topk_ok(self, k, dim=-1, largest=True, sorted=True, **_):
    if not (self.dtype in _DTYPES and self.layout is torch.strided and _dim_ok(self, dim)):
        return False
    n = 1 if self.dim() == 0 else self.shape[dim]
    return 0 <= k <= n and _long_topk_ok(n, k)


@impl("topk", supports=_topk_ok)
def topk(self, k, dim=-1, largest=True, sorted=True):
    # Always sorted: sorted=False lets torch return any order.
    return _select(self, k, dim, largest, False)


@impl("topk.values", supports=_topk_ok)
def topk_values(self, k, dim=-1, largest=True, sorted=True, *, values, indices):
    if values.dtype is not self.dtype or indices.dtype is not torch.int64:
        return NotImplemented
    v, i = topk(self, k, dim, largest, sorted)
    values.resize_(v.shape).copy_(v)
    indices.resize_(i.shape).copy_(i)
    return values, indices
