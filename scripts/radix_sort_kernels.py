"""Exploration (GPU; run by explore_radix_sort.py, not served): sort of long rows as a
stable LSD radix sort, segmented by row. Correct on the H100 (indices and values equal
to torch's stable sort) but too slow to serve: 4096 x 128256 bf16, torch 19.96 ms --
the first form (a [C, 2^D] int32 one-hot cumsum) 91.6 ms at best; this one (4 digits'
counts per int64 word) 60.5 ms with 4-bit digits, 52.6 ms with 3-bit (0.38x torch);
16384 x 4096 5.9 ms (torch 1.36, the bitonic sort.py 5.4). The profile gave 16-17 ms a
4-bit pass where moving its bytes takes ~1.4. (The usual fast in-tile ranking is a warp's
match/ballot, which Triton does not expose.) 6-bit digits were wrong on 64 x 128256
descending in both forms (not found; 3-, 4-, 5- and 8-bit digits were right). One- and
two-warp programs (every scan in a warp, more programs an SM) did not change it: 47.4 ms
at best (2-bit digits, 512-element tiles), about 5.6 ms a pass whatever the digit width,
so the cost is per tile (its chain of atomics, look-back and loads), not the ranking alone.

Every element's order key (keys.key, flipped so that the output runs in ascending key
order) is consumed D bits a pass, lowest digit first. A pass moves each element of a
tile of C to

    row base + (elements of the row with a smaller digit)      [from _hist_kernel]
             + (elements of this digit in earlier tiles)        [look-back]
             + (elements of this digit earlier in this tile)    [one-hot cumsum]

so equal digits keep their order and, pass after pass, equal keys keep their index
order: the output is torch's stable sort, NaN placement included (keys.py).

- _hist_kernel reads the keys once and counts every pass's digits per row (integer
  atomics: the same counts whatever order they land in).
- Between passes an element travels as one word, (key bits not yet consumed) << IB |
  column, 32 bits where they fit (16-bit keys: after the first pass) and 64 otherwise.
  The last pass writes the column as the int64 index and the value re-read from the
  input by it (the exact bits: -0.0 and NaN payloads, which the key folds).
- Look-back (the decoupled look-back of single-pass scans): each tile publishes its
  digit counts, flagged 1, as soon as it has them, then adds up its predecessors' --
  stopping at the first flagged 2, which carries the inclusive prefix -- and publishes
  its own inclusive prefix flagged 2. Tiles take their number from a ticket counter in
  the order they start, so every tile a tile waits on has started, and it publishes
  its counts before it waits on anyone: no tile waits forever, whatever the residency.
  Flag and count share one int32 word per digit, so a reader never sees one without
  the other. Under the interpreter programs run in order and never wait.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from triforge.backends import current as backend
from triforge.runtime import Launcher, cdiv
from triforge.ops.sort.keys import key

_cfg = backend().table("sort")
DIGIT = _cfg.get("radix_digit", 4)
TILE = _cfg.get("radix_tile", 1024)
WARPS = _cfg.get("radix_warps", 8)
ROW_MAJOR = False
# counts travel as count << 2 | flag in an int32
MAX_N = 1 << 29


@triton.jit
def _order_key(x, BITS: tl.constexpr, LARGEST: tl.constexpr):
    """Ascending key: the first element of the sorted row has the smallest."""
    k = key(x, BITS, LARGEST)
    if BITS == 32:
        return k ^ 0xFFFFFFFF
    return k ^ ((1 << BITS) - 1)


@triton.jit
def _hist_kernel(x_ptr, hist_ptr, N, T, ROWS, TPP, LARGEST: tl.constexpr, BITS: tl.constexpr, D: tl.constexpr,
                 PASSES: tl.constexpr, PP: tl.constexpr, C: tl.constexpr):
    """hist[row, pass, digit] += the counts of that digit over TPP tiles of a row, for every
    pass at once (PP: PASSES' power of two).
    Neighbouring programs take different rows, so their atomics do not queue on the same
    counters."""
    R: tl.constexpr = 1 << D
    pid = tl.program_id(0)
    row = pid % ROWS
    t0 = (pid // ROWS) * TPP
    base = row.to(tl.int64) * N
    W: tl.constexpr = R // 4
    ps = tl.arange(0, PP)
    words = tl.arange(0, W)
    acc = tl.zeros([PP, W], tl.int64)   # 4 digits' counts a word, as in _ranks
    for t in range(t0, tl.minimum(t0 + TPP, T)):
        cols = t * C + tl.arange(0, C)
        m = cols < N
        k = _order_key(tl.load(x_ptr + base + cols, mask=m, other=0), BITS, LARGEST)
        dig = ((k[None, :] >> (ps * D)[:, None]) & (R - 1)).to(tl.int32)   # [PP, C]
        one = tl.where(m[None, :], tl.full([PP, C], 1, tl.int64) << ((dig & 3) * 16).to(tl.int64), 0)
        acc += tl.sum(tl.where((dig >> 2)[:, None, :] == words[None, :, None], one[:, None, :], 0), 2)
    bins = tl.arange(0, R)
    sel = tl.where((bins >> 2)[None, :, None] == words[None, None, :], acc[:, None, :], 0)   # [PP, R, W]
    h = ((tl.sum(sel, 2) >> ((bins & 3) * 16).to(tl.int64)[None, :]) & 0xFFFF).to(tl.int32)
    tl.atomic_add(hist_ptr + row * (PASSES * R) + ps[:, None] * R + bins[None, :], h,
                  mask=(ps < PASSES)[:, None], sem="relaxed")


@triton.jit
def _look_back(status_ptr, slot, t, counts, R: tl.constexpr):
    """This tile's exclusive prefix of digit counts over the earlier tiles of its row;
    publishes its own counts (flag 1) before and its inclusive prefix (flag 2) after."""
    bins = tl.arange(0, R)
    own = status_ptr + slot * R + bins
    excl = tl.zeros([R], tl.int32)
    if t == 0:
        tl.atomic_xchg(own, (counts << 2) | 2, sem="release")
    else:
        tl.atomic_xchg(own, (counts << 2) | 1, sem="release")
        done = tl.zeros([R], tl.int32)
        s = slot - 1
        first = slot - t
        while (s >= first) & (tl.min(done, 0) == 0):
            v = tl.load(status_ptr + s * R + bins, volatile=True)
            flag = v & 3
            if tl.min(tl.where(done != 0, 1, flag), 0) != 0:   # all still needed have landed
                excl += tl.where(done != 0, 0, v >> 2)
                done = tl.where(flag == 2, 1, done)
                s -= 1
        tl.atomic_xchg(own, ((excl + counts) << 2) | 2, sem="release")
    return excl


@triton.jit
def _ranks(d, m, R: tl.constexpr, C: tl.constexpr):
    """(each element's count of equal digits before it in the tile, the tile's count of
    every digit). Four digits share an int64 word, 16 bits each, so the running counts
    of R digits take R / 4 scans: a one-hot word per element, scanned along the tile
    (the exclusive count stays below C <= 2^16, so no field carries into the next)."""
    W: tl.constexpr = R // 4
    words = tl.arange(0, W)
    one = tl.where(m, tl.full([C], 1, tl.int64) << ((d & 3) * 16).to(tl.int64), 0)
    oh = tl.where((d >> 2)[None, :] == words[:, None], one[None, :], 0)   # [W, C]
    excl = tl.cumsum(oh, 1) - oh
    mine = tl.sum(tl.where((d >> 2)[None, :] == words[:, None], excl, 0), 0)
    rank = ((mine >> ((d & 3) * 16).to(tl.int64)) & 0xFFFF).to(tl.int32)
    tot = tl.sum(oh, 1)   # [W]
    bins = tl.arange(0, R)
    tw = tl.sum(tl.where((bins >> 2)[:, None] == words[None, :], tot[None, :], 0), 1)   # [R]
    return rank, ((tw >> ((bins & 3) * 16).to(tl.int64)) & 0xFFFF).to(tl.int32)


@triton.jit
def _pass_kernel(x_ptr, src_ptr, dst_ptr, v_ptr, i_ptr, hist_ptr, status_ptr, ticket_ptr, N, T, ROWS,
                 ROW_MAJOR: tl.constexpr, LARGEST: tl.constexpr, BITS: tl.constexpr, D: tl.constexpr, P: tl.constexpr,
                 PASSES: tl.constexpr, IB: tl.constexpr, WIDE_OUT: tl.constexpr, C: tl.constexpr):
    """Pass P: digit P of every element of one tile moves it to its place in dst (the last
    pass: the sorted values and their int64 indices)."""
    R: tl.constexpr = 1 << D
    tile = tl.atomic_add(ticket_ptr, 1, sem="relaxed")
    if ROW_MAJOR:
        row = tile // T
        t = tile % T
    else:   # a row's tiles one wave apart: a tile's predecessor has long published
        row = tile % ROWS
        t = tile // ROWS
    cols = t * C + tl.arange(0, C)
    m = cols < N
    row_base = row.to(tl.int64) * N
    if P == 0:
        rest = _order_key(tl.load(x_ptr + row_base + cols, mask=m, other=0), BITS, LARGEST)
        col = cols
    else:
        w = tl.load(src_ptr + row_base + cols, mask=m, other=0)
        col = (w & ((1 << IB) - 1)).to(tl.int32)
        rest = w >> IB
    d = (rest & (R - 1)).to(tl.int32)
    rank, counts = _ranks(d, m, R, C)
    excl = _look_back(status_ptr, row * T + t, t, counts, R)
    bins = tl.arange(0, R)
    h = tl.load(hist_ptr + (row * PASSES + P) * R + bins)
    dest = rank + tl.gather(tl.cumsum(h, 0) - h + excl, d, 0)
    if P == PASSES - 1:
        tl.store(v_ptr + row_base + dest, tl.load(x_ptr + row_base + col, mask=m), mask=m)
        tl.store(i_ptr + row_base + dest, col.to(tl.int64), mask=m)
    else:
        if WIDE_OUT:
            nw = ((rest.to(tl.uint64) >> D) << IB) | col.to(tl.uint64)
        else:
            nw = ((rest.to(tl.uint32) >> D) << IB) | col.to(tl.uint32)
        tl.store(dst_ptr + row_base + dest, nw, mask=m)


_hist = Launcher(_hist_kernel)
_pass = Launcher(_pass_kernel)


def radix_sort_ok(n: int) -> bool:   # (TILE <= 2^15: _ranks' 16-bit fields)
    return 1 <= n < MAX_N


def radix_sort(x: torch.Tensor, descending: bool, vals: torch.Tensor, idx: torch.Tensor):
    """vals, idx (rows x n, contiguous) = the stable sort of each row of x (contiguous)."""
    n = x.shape[-1]
    rows = x.numel() // n
    bits = x.element_size() * 8
    d, c = DIGIT, TILE
    passes = cdiv(bits, d)
    ib = max(1, (n - 1).bit_length())
    T = cdiv(n, c)
    dev = x.device
    hist = torch.zeros((rows, passes, 1 << d), dtype=torch.int32, device=dev)
    tpp = max(1, (1 << 15) // c)   # a 16-bit count field holds its tiles' counts
    _hist((rows * cdiv(T, tpp),), x, hist, n, T, rows, tpp, bool(descending), bits, d, passes,
          triton.next_power_of_2(passes), c, num_warps=WARPS)
    status = torch.empty((rows * T, 1 << d), dtype=torch.int32, device=dev)
    tickets = torch.zeros((passes,), dtype=torch.int32, device=dev)
    bufs = [None, None]
    src = x
    for p in range(passes):
        wide = p < passes - 1 and bits - d * (p + 1) + ib > 32
        dst = x
        if p < passes - 1:
            wdt = torch.uint64 if wide else torch.uint32
            dst = bufs[p % 2]
            if dst is None or dst.dtype is not wdt:
                dst = bufs[p % 2] = torch.empty((rows, n), dtype=wdt, device=dev)
        status.zero_()
        _pass((rows * T,), x, src, dst, vals, idx, hist, status, tickets[p:], n, T, rows, ROW_MAJOR,
              bool(descending), bits, d, p,
              passes, ib, wide, c, num_warps=WARPS)
        src = dst
    return vals, idx
