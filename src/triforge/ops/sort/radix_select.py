"""topk of long rows: a bound pass, then radix select where the bound lets too much by.

The chunked bitonic path this replaces ran a tl.topk per 4096-element chunk and measured
11.4 ms on an H100 for 4096 x 128256 bf16 with k=50 (torch 3.8 ms): sorting networks do
log^2 work per element where a selection needs far less.

Per row (persistent programs walk rows pid, pid + programs, ...):
1. The bound pass (_bound_pass, _bound_topk_kernel): one read of the row keeps, in the
   program's scratch `buf`, every element at or above tau, a lower bound of the k-th
   best key that rises as the row goes by (from group maxima). If at most CAP pass --
   random rows: a few hundred -- one tl.topk over them gives the k winners.
2. Otherwise the row is flagged for _radix_topk_kernel, a second launch: a radix select
   (_radix). A read builds the histogram of the top FIRST bits of every key and keeps
   the elements whose top digit is at least the running k-th best digit (which only
   grows, so they are a superset of those at or above the final one). If they fit in
   CAP, the remaining digits resolve on `buf` in registers; if not but the final digit's
   bucket fits, a second read keeps exactly that bucket; otherwise (many equal keys,
   such as a row of zeros) every remaining digit costs a read. The k winners -- keys
   above the threshold, then the threshold's ties in index order (torch's stable order)
   -- are compacted into `cand`.
3. The winners are sorted as packed words (keys.py): best first, ties in index order.

H100, bf16 4096 x 128256, k=50 (torch 3.85 ms): 3.68 ms with tau from two bitonic sorts
of group maxima per block (1c9cac9); 2.28 ms by counting, 2048-element blocks, 8
programs per SM (bd6aa17). An ablation there (scripts/explore_topk.py) put the read
alone at 0.37 ms, tau's counting each block at +0.42, the atomic slots at +0.66, and the
finish with the radix select compiled into the same kernel at +0.77 (its registers).
With the radix select in its own kernel and tau recounted every 4th block: 1.64 ms,
2.34x (ad0e39c). A histogram radix select alone took 6.3 ms.
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
def _kth_largest(v, K):
    """The K-th largest of the small vector v, by counting (each element against all):
    a few layout exchanges where a bitonic sort of v takes one per stage."""
    ge = tl.sum((v[None, :] >= v[:, None]).to(tl.int32), 1)   # ge[i] = #{j : v[j] >= v[i]}
    return tl.max(tl.where(ge >= K, v, 0), 0)


@triton.jit
def _block_keys(x_ptr, row_base, start, N, LARGEST: tl.constexpr, BITS: tl.constexpr, BLOCK: tl.constexpr):
    """The keys of the row's block at start (0 past N), and its columns."""
    cols = start + tl.arange(0, BLOCK)
    m = cols < N
    return tl.where(m, key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST), 0), cols


@triton.jit
def _append(k, cols, N, buf, cnt, tau, BITS: tl.constexpr, CAP: tl.constexpr):
    """The keys at or above tau take slots of buf by atomic increments of cnt (any order;
    a cumsum per block measured slower: 2.22 ms where the atomics gave 1.52 in
    explore_topk.py's ablation, H100 at d9e2104)."""
    sel = (cols < N) & (k >= tau)
    pos = tl.atomic_add(cnt + tl.zeros(k.shape, tl.int32), 1, mask=sel, sem="relaxed")
    tl.store(buf + pos, packed(k, cols, BITS), mask=sel & (pos < CAP))


@triton.jit
def _bound_pass(x_ptr, row_base, N, buf, cnt, K, LARGEST: tl.constexpr, BITS: tl.constexpr, BLOCK: tl.constexpr,
                CAP: tl.constexpr, KB: tl.constexpr, EVERY: tl.constexpr):
    """One read of the row that keeps in buf every element whose key is at least tau, a
    lower bound of the k-th best key that rises as the row goes by. Each block is KB
    groups, and group j of every block joins one running group j (an elementwise max);
    maxima of distinct groups are distinct elements, so the K-th largest of the KB
    running maxima (found by counting, every EVERY blocks) bounds the k-th best from
    below (random rows: ~450 of 128256 pass). A first read for the whole row's tau, then
    a second keeping ~100, measured no faster on the H100 (1.66 ms against 1.64 at
    ad0e39c). Returns (tau, how many passed)."""
    G: tl.constexpr = BLOCK // KB
    best = tl.zeros((KB,), tl.uint32)
    tau = tl.zeros((), tl.uint32)
    for start in range(0, N, BLOCK):
        k, cols = _block_keys(x_ptr, row_base, start, N, LARGEST, BITS, BLOCK)
        best = tl.maximum(best, tl.max(tl.reshape(k, (KB, G)), 1))
        if (start // BLOCK) % EVERY == 0:
            tau = _kth_largest(best, K)
        _append(k, cols, N, buf, cnt, tau, BITS, CAP)
    return tau, tl.atomic_add(cnt, 0, sem="relaxed")


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
def _bound_topk_kernel(x_ptr, buf_ptr, cand_ptr, cnt_ptr, over_ptr, v_ptr, i_ptr, rows, N, K,
                       LARGEST: tl.constexpr, BITS: tl.constexpr, BLOCK: tl.constexpr, CAP: tl.constexpr,
                       KB: tl.constexpr, EVERY: tl.constexpr):
    """Each row by the bound pass; over[row] = 1 where more than CAP passed (that row is
    left to _radix_topk_kernel), else 0."""
    pid = tl.program_id(0)
    buf = buf_ptr + pid.to(tl.int64) * CAP
    cand = cand_ptr + pid.to(tl.int64) * KB
    cnt = cnt_ptr + pid
    progs = tl.num_programs(0)
    for i in range(tl.cdiv(rows - pid, progs)):
        row = pid + i * progs
        row_base = row.to(tl.int64) * N
        tl.debug_barrier()   # the last row's reads of buf and cand are done
        tl.atomic_xchg(cnt, 0, sem="relaxed")
        tl.debug_barrier()
        tau, count = _bound_pass(x_ptr, row_base, N, buf, cnt, K, LARGEST, BITS, BLOCK, CAP, KB, EVERY)
        tl.debug_barrier()
        tl.store(over_ptr + row, (count > CAP).to(tl.int32))
        if count <= CAP:
            j = tl.arange(0, CAP)
            p = tl.load(buf + j, mask=j < count, other=0)
            top = tl.topk(tl.where((p >> (64 - BITS)).to(tl.uint32) >= tau, p, 0).to(tl.uint64), KB)
            tl.store(cand + tl.arange(0, KB), top)
            tl.debug_barrier()
            j = tl.arange(0, KB)
            best = tl.sort(tl.load(cand + j, mask=j < K, other=0), descending=True)
            write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, KB)


@triton.jit
def _radix_topk_kernel(x_ptr, buf_ptr, cand_ptr, over_ptr, v_ptr, i_ptr, rows, N, K,
                       LARGEST: tl.constexpr, BITS: tl.constexpr, FIRST: tl.constexpr, REST: tl.constexpr,
                       BLOCK: tl.constexpr, CAP: tl.constexpr, KB: tl.constexpr, ALL: tl.constexpr):
    """The rows the bound pass let too many by (ascending rows, many ties), or ALL rows
    (no bound pass ran), by radix select. A kernel of its own: compiled into the bound
    pass's, its registers cut how many programs an SM holds for every row."""
    pid = tl.program_id(0)
    buf = buf_ptr + pid.to(tl.int64) * CAP
    cand = cand_ptr + pid.to(tl.int64) * KB
    progs = tl.num_programs(0)
    for i in range(tl.cdiv(rows - pid, progs)):
        row = pid + i * progs
        if ALL or tl.load(over_ptr + row) != 0:
            row_base = row.to(tl.int64) * N
            tl.debug_barrier()
            _radix(x_ptr, row_base, N, buf, cand, K, LARGEST, BITS, FIRST, REST, BLOCK, CAP)
            tl.debug_barrier()
            j = tl.arange(0, KB)
            best = tl.sort(tl.load(cand + j, mask=j < K, other=0), descending=True)
            write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, KB)


_bound = Launcher(_bound_topk_kernel)
_radix_rows = Launcher(_radix_topk_kernel)
_cfg = backend().table("sort")
FIRST = _cfg.get("radix_first", 8)
CAP = _cfg.get("radix_cap", 4096)
BLOCK = _cfg.get("radix_block", 2048)
WARPS = _cfg.get("radix_warps", 8)
PER_SM = _cfg.get("radix_per_sm", 2)
EVERY = _cfg.get("radix_every", 1)   # blocks per recount of tau (one read)
MAX_K = 1024
# Beyond this many winners (rounded up to a power of 2) the rows skip the bound pass:
# its tau counts a [KB, KB] comparison per block in registers (k=50: 64 x 64), which
# at KB 1024 would be a million per block. Not measured on a GPU past k=50.
BOUND_MAX_KB = 128


def radix_topk(x, k, largest, vals, idx, first=None, cap=None, block=None, warps=None, per_sm=None, every=None):
    """vals, idx (rows, k) = the k best of each row of x (rows, n) contiguous, best first,
    ties in index order; 0 < k <= MAX_K. Keyword overrides are for sweeps."""
    rows, n = x.shape
    bits = x.element_size() * 8
    first = min(first or FIRST, bits)
    kb = max(2, next_power_of_2(k))
    # a block is kb groups of at least one element, and the finish picks kb of cap
    cap, block, warps = max(cap or CAP, kb), max(block or BLOCK, kb), warps or WARPS
    programs = min(rows, sm_count(x.device) * (per_sm or PER_SM))
    buf = torch.empty((programs, cap), dtype=torch.uint64, device=x.device)
    cand = torch.empty((programs, kb), dtype=torch.uint64, device=x.device)
    cnt = torch.empty(programs, dtype=torch.int32, device=x.device)
    over = torch.empty(rows, dtype=torch.int32, device=x.device)
    bound = kb <= BOUND_MAX_KB
    if bound:
        _bound((programs,), x, buf, cand, cnt, over, vals, idx, rows, n, k, bool(largest), bits, block, cap, kb,
               every or EVERY, num_warps=warps)
    _radix_rows((programs,), x, buf, cand, over, vals, idx, rows, n, k, bool(largest), bits, first,
                cdiv(bits - first, 8), block, cap, kb, not bound, num_warps=warps)
    return vals, idx
