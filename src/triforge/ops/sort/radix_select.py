"""topk of long rows by radix select: where group_select.py's levels of maxima do not
reach (rows past 4096 * G^3 elements, k past its table's cap where a backend allows).

Per row (persistent programs walk rows pid, pid + programs, ...), _radix: a read builds
the histogram of the top FIRST bits of every key and keeps the elements whose top digit
is at least the running k-th best digit (which only grows, so they are a superset of
those at or above the final one). If they fit in CAP, the remaining digits resolve on
`buf` in registers; if not but the final digit's bucket fits, a second read keeps
exactly that bucket; otherwise (many equal keys, such as a row of zeros) every remaining
digit costs a read. The k winners -- keys above the threshold, then the threshold's ties
in index order (torch's stable order) -- are compacted into `cand`, then sorted as
packed words (keys.py): best first, ties in index order.

History on the H100 (4096 x 128256 bf16, k=50, torch 3.85 ms): a chunked bitonic topk
11.4 ms; this radix select alone 6.3 ms; ahead of it a bound pass (a running lower bound
of the k-th best from group maxima, its survivors kept by atomic slots) 1.64 ms. The
group maxima descent replaced both: 0.557 ms (15e5198).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, next_power_of_2, sm_count
from .keys import key, packed, write_best


@triton.jit
def _pick(hist, want):
    """The digit d holding the want-th best key (want >= 1, counted from the top) and how
    many keys lie in digits above d. With fewer than want keys in all, d is 0."""
    bins = tl.arange(0, hist.shape[0])
    ge = tl.cumsum(hist, 0, reverse=True)
    d = tl.max(tl.where(ge >= want, bins, 0))
    return d, tl.sum(tl.where(bins > d, hist, 0))


@triton.jit
def _keep(x_ptr, row_base, N, buf, d_fixed, K,
          ADAPT: tl.constexpr, LARGEST: tl.constexpr, BITS: tl.constexpr, FIRST: tl.constexpr,
          BLOCK: tl.constexpr, CAP: tl.constexpr):
    """One read of the row: the top digit's histogram, and the elements whose top digit is
    >= d (ADAPT: the running k-th best digit; else d_fixed) copied into buf in index
    order, as many as fit. Returns (histogram, how many were kept or would have been)."""
    hist = tl.zeros((1 << FIRST,), tl.int32)
    count = 0
    d = tl.zeros((), tl.int32) + d_fixed
    for start in range(0, N, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        m = cols < N
        k = key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST)
        top = (k >> (BITS - FIRST)).to(tl.int32)
        hist += tl.histogram(top, 1 << FIRST, mask=m)
        if ADAPT:
            d, _ = _pick(hist, K)
        sel = m & (top >= d)
        pos = count + tl.cumsum(sel.to(tl.int32), 0) - 1
        tl.store(buf + pos, packed(k, cols, BITS), mask=sel & (pos < CAP))
        count += tl.sum(sel.to(tl.int32))
    return hist, count


@triton.jit
def _digit_hist(k, valid, prefix, HI: tl.constexpr):
    """Histogram of bits [LO, HI) of the keys whose bits above HI equal prefix,
    LO = max(HI - 8, 0)."""
    LO: tl.constexpr = (HI - 8) * (HI > 8)
    return tl.histogram(((k >> LO) & ((1 << (HI - LO)) - 1)).to(tl.int32), 256, mask=valid & ((k >> HI) == prefix))


@triton.jit
def _resolve(h, prefix, want, HI: tl.constexpr):
    """The threshold's prefix extended by the digit of h holding the want-th best key, and
    the rank left to find within it."""
    LO: tl.constexpr = (HI - 8) * (HI > 8)
    d, gt = _pick(h, want)
    return (prefix << (HI - LO)) | d.to(tl.uint32), want - gt


@triton.jit
def _row_digit(x_ptr, row_base, N, prefix, want,
               LARGEST: tl.constexpr, BITS: tl.constexpr, HI: tl.constexpr, BLOCK: tl.constexpr):
    """_resolve over a read of the whole row."""
    h = tl.zeros((256,), tl.int32)
    for start in range(0, N, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        m = cols < N
        k = key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST)
        h += _digit_hist(k, m, prefix, HI)
    return _resolve(h, prefix, want, HI)


@triton.jit
def _emit(p, k, valid, thr, want, taken, ties, cand):
    """Append to cand (in order) the keys above thr and the ties of thr while fewer than
    want ties have been taken; returns the updated (taken, ties seen)."""
    eq = valid & (k == thr)
    take = (valid & (k > thr)) | (eq & (ties + tl.cumsum(eq.to(tl.int32), 0) - 1 < want))
    pos = taken + tl.cumsum(take.to(tl.int32), 0) - 1
    tl.store(cand + pos, p, mask=take)
    return taken + tl.sum(take.to(tl.int32)), ties + tl.sum(eq.to(tl.int32))


@triton.jit
def _radix(x_ptr, row_base, N, buf, cand, K, LARGEST: tl.constexpr, BITS: tl.constexpr, FIRST: tl.constexpr,
           REST: tl.constexpr, BLOCK: tl.constexpr, CAP: tl.constexpr):
    """The K winners of the row, in any order, into cand by radix select."""
    hist, count = _keep(x_ptr, row_base, N, buf, 0, K, True, LARGEST, BITS, FIRST, BLOCK, CAP)
    d, gt = _pick(hist, K)
    prefix = d.to(tl.uint32)
    want = K - gt
    if (count > CAP) & (gt + tl.sum(tl.where(tl.arange(0, 1 << FIRST) == d, hist, 0)) <= CAP):
        tl.debug_barrier()
        _, count = _keep(x_ptr, row_base, N, buf, d, K, False, LARGEST, BITS, FIRST, BLOCK, CAP)
    if count <= CAP:
        tl.debug_barrier()
        j = tl.arange(0, CAP)
        valid = j < count
        p = tl.load(buf + j, mask=valid, other=0)
        k = (p >> (64 - BITS)).to(tl.uint32)
        for s in tl.static_range(REST):
            prefix, want = _resolve(_digit_hist(k, valid, prefix, BITS - FIRST - 8 * s), prefix, want,
                                    BITS - FIRST - 8 * s)
        _emit(p, k, valid, prefix, want, 0, 0, cand)
    else:   # a bucket past CAP: each remaining digit reads the row
        for s in tl.static_range(REST):
            prefix, want = _row_digit(x_ptr, row_base, N, prefix, want, LARGEST, BITS, BITS - FIRST - 8 * s, BLOCK)
        taken = 0
        ties = 0
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            m = cols < N
            k = key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST)
            taken, ties = _emit(packed(k, cols, BITS), k, m, prefix, want, taken, ties, cand)


@triton.jit
def _radix_topk_kernel(x_ptr, buf_ptr, cand_ptr, v_ptr, i_ptr, rows, N, K,
                       LARGEST: tl.constexpr, BITS: tl.constexpr, FIRST: tl.constexpr, REST: tl.constexpr,
                       BLOCK: tl.constexpr, CAP: tl.constexpr, KB: tl.constexpr):
    pid = tl.program_id(0)
    buf = buf_ptr + pid.to(tl.int64) * CAP
    cand = cand_ptr + pid.to(tl.int64) * KB
    progs = tl.num_programs(0)
    for i in range(tl.cdiv(rows - pid, progs)):
        row = pid + i * progs
        row_base = row.to(tl.int64) * N
        tl.debug_barrier()   # the last row's reads of buf and cand are done
        _radix(x_ptr, row_base, N, buf, cand, K, LARGEST, BITS, FIRST, REST, BLOCK, CAP)
        tl.debug_barrier()
        j = tl.arange(0, KB)
        best = tl.sort(tl.load(cand + j, mask=j < K, other=0), descending=True)
        write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, KB)


_radix_rows = Launcher(_radix_topk_kernel)
_cfg = backend().table("sort")
FIRST = _cfg.get("radix_first", 8)
CAP = _cfg.get("radix_cap", 4096)
BLOCK = _cfg.get("radix_block", 2048)
WARPS = _cfg.get("radix_warps", 8)
PER_SM = _cfg.get("radix_per_sm", 2)
MAX_K = 1024


def radix_topk(x, k, largest, vals, idx, first=None, cap=None, block=None, warps=None, per_sm=None):
    """vals, idx (rows, k) = the k best of each row of x (rows, n) contiguous, best first,
    ties in index order; 0 < k <= MAX_K. Keyword overrides are for sweeps."""
    rows, n = x.shape
    bits = x.element_size() * 8
    first = min(first or FIRST, bits)
    kb = max(2, next_power_of_2(k))
    # a block is at least kb elements, and the finish picks kb of cap
    cap, block, warps = max(cap or CAP, kb), max(block or BLOCK, kb), warps or WARPS
    programs = min(rows, sm_count(x.device) * (per_sm or PER_SM))
    buf = torch.empty((programs, cap), dtype=torch.uint64, device=x.device)
    cand = torch.empty((programs, kb), dtype=torch.uint64, device=x.device)
    _radix_rows((programs,), x, buf, cand, vals, idx, rows, n, k, bool(largest), bits, first,
                cdiv(bits - first, 8), block, cap, kb, num_warps=warps)
    return vals, idx
