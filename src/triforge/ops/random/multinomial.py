"""multinomial by the exponential race: a row's sample is argmax_i p_i / E_i with
E_i ~ Exp(1) i.i.d., which picks i with probability p_i / sum(p) (no normalisation
pass needed). Programs per (row, sample) stream their pieces of the row once, drawing
the E_i from Philox in-kernel (a second small kernel picks among the pieces' winners);
torch's own path for one sample writes the draws, divides and runs an argmax (three
passes). The same program records whether the row is a valid
distribution (finite, >= 0, positive sum); a bad row sends the call to ATen, which
raises torch's error (one host sync per call, as torch's CPU check).

Several samples without replacement: the same race, ranked. The num_samples largest
keys p_i / E_i, in order, are distributed exactly as drawing one sample at a time
without replacement (each draw proportional to the remaining p). Keys are float64
(E from 52 random bits, so the smallest E -- the winners' -- keep full relative
precision) and packed as `key bits >> 24 << 24 | (2**24 - 1 - i)` into one uint64
(ties, at 2**-28 relative, go to the lower index): one `tl.topk` ranks them (up to
4 samples: repeated maxima). A row is
one block up to the sort table's max_single_block (4096 on an H100, 256 under the
interpreter); longer rows (up to torch's 2**24 categories) keep each chunk's best
next_pow2(num_samples) words and one program per row merges them, while that
candidate list stays within 4 blocks -- under the interpreter only: on GPUs long
rows go to ATen (slower than torch, measured below). Rows with fewer positive
categories than num_samples go to ATen (torch 2.13 then returns zero-probability categories, in
topk's tie order, rather than raising), as do invalid rows.

Served: one sample, any number with replacement, and several without replacement
within the limits above; the rest goes to ATen."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, next_power_of_2, sm_count
from .philox import generator_ok, seed_and_offset, u01_open, u01_wide_open


@triton.jit
def _race(p_ptr, row_base, live, start, lanes, N, r, best_k, best_i, bad, total):
    c = start + lanes[None, :]
    m = live[:, None] & (c < N)
    p = tl.load(p_ptr + row_base[:, None] + c, mask=m, other=0.0).to(tl.float32)
    bad = bad | (m & ((p < 0) | (p != p) | (tl.abs(p) == float("inf"))))  # noqa: PLR0124 (NaN test)
    total += p
    key = tl.where(m, p / -tl.log(u01_open(r)), -1.0)
    better = key > best_k
    best_i = tl.where(better, c, best_i)
    best_k = tl.where(better, key, best_k)
    return best_k, best_i, bad, total


@triton.jit
def _multinomial_kernel(p_ptr, out_ptr, flag_ptr, part_ptr, N, S, P, PIECE, seed, offset, R: tl.constexpr,
                        Q: tl.constexpr, SPLIT: tl.constexpr):
    """R (row, sample) pairs per program (1 on a GPU; more under the interpreter, whose
    cost is per program), each streamed in blocks of 4Q columns over the program's piece
    of PIECE columns (a multiple of 4Q: a column draws the same numbers however the row
    is split). SPLIT: the pieces' partial results go to part_ptr for _combine_kernel."""
    pair = tl.program_id(0) * R + tl.arange(0, R)     # row * S + sample
    live = pair < P
    row = pair // S
    row_base = row.to(tl.int64) * N
    lanes = tl.arange(0, Q)
    best_k = tl.full([R, Q], -2.0, tl.float32)
    best_i = tl.zeros([R, Q], tl.int32)
    bad = best_i < 0
    total = tl.zeros([R, Q], tl.float32)
    o = tl.cast(offset, tl.uint64)
    zero = tl.zeros([R, Q], tl.uint32)
    o_lo = (o & 0xFFFFFFFF).to(tl.uint32) + zero
    o_hi = ((o >> 32).to(tl.uint32) ^ 0x54524946) + zero
    c_hi = pair.to(tl.uint32)[:, None] + zero
    lo = tl.program_id(1) * PIECE
    for start in range(lo, tl.minimum(lo + PIECE, N), 4 * Q):
        c_lo = (start // 4 + lanes).to(tl.uint32)[None, :] + zero
        r0, r1, r2, r3 = tl.philox(seed, c_lo, c_hi, o_lo, o_hi)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start, lanes, N, r0, best_k, best_i, bad, total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + Q, lanes, N, r1, best_k, best_i, bad,
                                           total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + 2 * Q, lanes, N, r2, best_k, best_i,
                                           bad, total)
        best_k, best_i, bad, total = _race(p_ptr, row_base, live, start + 3 * Q, lanes, N, r3, best_k, best_i,
                                           bad, total)
    k = tl.max(best_k, 1)
    i = tl.min(tl.where(best_k == k[:, None], best_i, N), 1)
    b = tl.max(bad.to(tl.int32), 1)
    t = tl.sum(total, 1)
    if SPLIT:   # (key, index, bad, total) of each (pair, piece)
        at = (pair.to(tl.int64) * tl.num_programs(1) + tl.program_id(1)) * 4
        tl.store(part_ptr + at, k, mask=live)
        tl.store(part_ptr + at + 1, i.to(tl.float32, bitcast=True), mask=live)
        tl.store(part_ptr + at + 2, b.to(tl.float32, bitcast=True), mask=live)
        tl.store(part_ptr + at + 3, t, mask=live)
    else:
        _finish(out_ptr, flag_ptr, pair, row, live, S, i, b, t)


@triton.jit
def _finish(out_ptr, flag_ptr, pair, row, live, S, i, bad, total):
    tl.store(out_ptr + pair, i.to(tl.int64), mask=live)
    flag = tl.where(bad > 0, 1, tl.where(total > 0, 0, 2))
    tl.store(flag_ptr + row, flag.to(tl.int32), mask=live & (pair % S == 0))


@triton.jit
def _combine_kernel(part_ptr, out_ptr, flag_ptr, N, S, P, PIECES, R: tl.constexpr, PB: tl.constexpr):
    """The winner of each pair's pieces: the largest key, the lowest index among equal
    keys (as one unsplit program picks), any bad value, the total."""
    pair = tl.program_id(0) * R + tl.arange(0, R)
    live = pair < P
    j = tl.arange(0, PB)
    m = live[:, None] & (j < PIECES)[None, :]
    at = (pair.to(tl.int64)[:, None] * PIECES + j[None, :]) * 4
    k = tl.load(part_ptr + at, mask=m, other=-3.0)
    i = tl.load(part_ptr + at + 1, mask=m, other=0.0).to(tl.int32, bitcast=True)
    b = tl.load(part_ptr + at + 2, mask=m, other=0.0).to(tl.int32, bitcast=True)
    t = tl.load(part_ptr + at + 3, mask=m, other=0.0)
    best = tl.max(k, 1)
    win = tl.min(tl.where(m & (k == best[:, None]), i, N), 1)
    _finish(out_ptr, flag_ptr, pair, pair // S, live, S, win, tl.max(b, 1), tl.sum(t, 1))


_IB = tl.constexpr(24)   # index bits of a packed word: torch allows 2**24 categories
_MASK = tl.constexpr((1 << 24) - 1)
_FEW = tl.constexpr(4)    # up to this many samples: repeated max instead of a bitonic topk


@triton.jit
def _best(packed, KB: tl.constexpr):
    """The KB largest (distinct) words of each row, largest first. A few: KB max
    reductions (the interpreter's bitonic network costs a Python loop per element)."""
    if KB <= _FEW:
        j = tl.arange(0, KB)[None, :]
        best = tl.zeros([packed.shape[0], KB], tl.uint64)
        for t in tl.static_range(KB):
            top = tl.max(packed, 1)[:, None]
            best = tl.where(j == t, top, best)
            packed = tl.where(packed == top, 0, packed).to(tl.uint64)
        return best
    else:
        return tl.topk(packed, KB)


@triton.jit
def _ranked_kernel(p_ptr, out_ptr, cand_ptr, flag_ptr, N, K, ROWS, seed, offset, R: tl.constexpr,
                   CHUNK: tl.constexpr, KB: tl.constexpr, DIRECT: tl.constexpr):
    """Program (row block, chunk): each of R rows' best KB packed keys in the chunk
    (R: 1 on a GPU, more under the interpreter, whose cost is per program). DIRECT
    (one chunk per row): the rows' first K samples and verdicts (0: served), else the
    candidates and the chunk's positive counts (-1: a bad value) for _merge_kernel."""
    rows = tl.program_id(0) * R + tl.arange(0, R)
    c = tl.program_id(1)
    cols = c * CHUNK + tl.arange(0, CHUNK)
    live = rows < ROWS
    m = live[:, None] & (cols < N)[None, :]
    p = tl.load(p_ptr + rows.to(tl.int64)[:, None] * N + cols[None, :], mask=m, other=0.0).to(tl.float64)
    bad = tl.max((m & ((p < 0) | (p != p) | (tl.abs(p) == float("inf")))).to(tl.int32), 1)  # noqa: PLR0124
    pos = m & (p > 0)
    count = tl.sum(pos.to(tl.int32), 1)
    o = tl.cast(offset, tl.uint64)
    zero = tl.zeros([R, CHUNK], tl.uint32)
    r0, r1, _, _ = tl.philox(seed, cols.to(tl.uint32)[None, :] + zero, rows.to(tl.uint32)[:, None] + zero,
                             zero + (o & 0xFFFFFFFF).to(tl.uint32), zero + ((o >> 32).to(tl.uint32) ^ 0x54524946))
    key = p / -tl.log(u01_wide_open(r0, r1))
    # positive keys stay above every zero-probability one, however small
    kb = tl.where(pos, tl.maximum(key.to(tl.uint64, bitcast=True) >> _IB, 1), 0).to(tl.uint64)
    packed = tl.where(m, (kb << _IB) | (cols ^ _MASK)[None, :].to(tl.uint64), 0).to(tl.uint64)
    best = _best(packed, KB)
    j = tl.arange(0, KB)
    if DIRECT:
        idx = ((best & _MASK) ^ _MASK).to(tl.int64)
        tl.store(out_ptr + rows.to(tl.int64)[:, None] * K + j[None, :], idx, mask=live[:, None] & (j < K)[None, :])
        tl.store(flag_ptr + rows, ((bad > 0) | (count < K)).to(tl.int32), mask=live)
    else:
        chunks = tl.num_programs(1)
        at = (rows.to(tl.int64)[:, None] * chunks + c) * KB + j[None, :]
        tl.store(cand_ptr + at, best, mask=live[:, None])
        tl.store(flag_ptr + rows * chunks + c, tl.where(bad > 0, -1, count), mask=live)


@triton.jit
def _merge_kernel(cand_ptr, counts_ptr, out_ptr, flag_ptr, M, C, K, ROWS, R: tl.constexpr, MB: tl.constexpr,
                  CB: tl.constexpr, KB: tl.constexpr):
    rows = tl.program_id(0) * R + tl.arange(0, R)
    live = rows < ROWS
    j = tl.arange(0, MB)
    cand = tl.load(cand_ptr + rows.to(tl.int64)[:, None] * M + j[None, :], mask=live[:, None] & (j < M)[None, :],
                   other=0)
    best = _best(cand, KB)
    k = tl.arange(0, KB)
    idx = ((best & _MASK) ^ _MASK).to(tl.int64)
    tl.store(out_ptr + rows.to(tl.int64)[:, None] * K + k[None, :], idx, mask=live[:, None] & (k < K)[None, :])
    cc = tl.arange(0, CB)
    counts = tl.load(counts_ptr + rows[:, None] * C + cc[None, :], mask=live[:, None] & (cc < C)[None, :], other=0)
    tl.store(flag_ptr + rows, ((tl.min(counts, 1) < 0) | (tl.sum(counts, 1) < K)).to(tl.int32), mask=live)


_run = Launcher(_multinomial_kernel)
_combine = Launcher(_combine_kernel)
_ranked = Launcher(_ranked_kernel)
_merge = Launcher(_merge_kernel)
_cfg = backend().table("random")
_Q, _R, _WARPS = _cfg.get("race_Q", 256), _cfg.get("race_rows", 1), _cfg.get("race_warps", 4)
# Few (row, sample) pairs over long rows: each row is split into pieces until the grid has
# about race_waves programs per SM. H100, 256 x 128256 bf16, one program per row: 0.169
# ms against torch's 0.308, 388 GB/s: latency-bound at 2 programs per SM.
_WAVES = _cfg.get("race_waves", 8)
_sort_cfg = backend().table("sort")
_MAX, _CHUNK, _SORT_WARPS = (_sort_cfg.get("max_single_block", 4096), _sort_cfg.get("chunk", 4096),
                             _sort_cfg.get("num_warps", 8))
_FLOATS = frozenset(backend().float_dtypes()) | {torch.float64}


# The chunked long-row path measured 0.23-0.88x torch on an H200 (bf16, 128256
# categories: 256 rows k=2 602 vs 533 us, k=50 1815 vs 530 us; 64 x 32000 k=50 155 vs
# 123 us): on GPUs long rows go to ATen, as sort.py's long topk. (Correct: the
# interpreter runs it, and so do the tests.) Single-block rows measured 1.7-3x faster.
_LONG_ROWS = backend().interpreted


def _ranked_fits(n, k) -> bool:
    kb = next_power_of_2(k)
    return n <= _MAX or (_LONG_ROWS and kb <= _CHUNK // 2 and cdiv(n, _CHUNK) * kb <= 4 * _MAX)


def _ok(self, num_samples, replacement=False, *, generator=None):
    return (self.dtype in _FLOATS and self.dim() in (1, 2) and num_samples > 0 and self.numel() > 0
            and 0 < self.shape[-1] <= 2**24 and generator_ok(generator, self.device)
            and (replacement or num_samples == 1
                 or (num_samples <= self.shape[-1] and _ranked_fits(self.shape[-1], num_samples))))


def _without_replacement(p, rows, n, k, generator):
    out = torch.empty((rows, k), dtype=torch.int64, device=p.device)
    flags = torch.empty(rows, dtype=torch.int32, device=p.device)
    seed, off = seed_and_offset(generator, p.device)
    kb = next_power_of_2(k)
    r = min(_R, next_power_of_2(rows))
    if n <= _MAX:
        block = max(kb, next_power_of_2(n))
        _ranked((cdiv(rows, r), 1), p, out, out, flags, n, k, rows, seed, off, r, block, kb, True,
                num_warps=_SORT_WARPS)
    else:
        chunks = cdiv(n, _CHUNK)
        cand = torch.empty((rows, chunks * kb), dtype=torch.uint64, device=p.device)
        counts = torch.empty((rows, chunks), dtype=torch.int32, device=p.device)
        _ranked((cdiv(rows, r), chunks), p, out, cand, counts, n, k, rows, seed, off, r, _CHUNK, kb, False,
                num_warps=_SORT_WARPS)
        _merge((cdiv(rows, r),), cand, counts, out, flags, chunks * kb, chunks, k, rows, r,
               next_power_of_2(chunks * kb), next_power_of_2(chunks), kb, num_warps=_SORT_WARPS)
    return out, flags


@impl("multinomial", supports=_ok)
def multinomial(self, num_samples, replacement=False, *, generator=None):
    p = self.contiguous()
    rows = 1 if p.dim() == 1 else p.shape[0]
    n = p.shape[-1]
    if replacement or num_samples == 1:
        out = torch.empty((rows, num_samples), dtype=torch.int64, device=p.device)
        flags = torch.empty(rows, dtype=torch.int32, device=p.device)
        seed, off = seed_and_offset(generator, p.device)
        pairs = rows * num_samples
        blocks = cdiv(n, 4 * _Q)
        pieces = max(1, min(blocks, cdiv(_WAVES * sm_count(p.device), cdiv(pairs, _R))))
        piece = cdiv(blocks, pieces) * 4 * _Q
        pieces = cdiv(n, piece)
        # one piece per row: nothing to combine (p stands in for the unused partials pointer)
        part = torch.empty((pairs, pieces, 4), dtype=torch.float32, device=p.device) if pieces > 1 else p
        _run((cdiv(pairs, _R), pieces), p, out, flags, part, n, num_samples, pairs, piece, seed, off, _R, _Q,
             pieces > 1, num_warps=_WARPS)
        if pieces > 1:
            _combine((cdiv(pairs, _R),), part, out, flags, n, num_samples, pairs, pieces, _R,
                     next_power_of_2(pieces), num_warps=_WARPS)
    else:
        out, flags = _without_replacement(p, rows, n, num_samples, generator)
    if bool(flags.any()):   # not a distribution (or too few categories): ATen's behaviour
        return NotImplemented
    return out if self.dim() == 2 else out.view(num_samples)
