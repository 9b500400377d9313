"""Relay: a row's two passes (reduce, then write) in one launch, the second pass reading
its piece while it is still in L2.

Rows are cut into K pieces of BLOCK columns; `units` = rows * K pieces in row order. A
persistent grid's programs draw tickets t from an atomic counter (so tickets are taken in
the order programs really ask, and a program asks for its next one while working on
this one, whose loads are then in flight). Ticket t reduces piece t and publishes its
partial (part[t]), then counts itself in at its row's arrival counter. It then writes
piece t - D: it waits until that row's K partials have arrived, combines them in a fixed
order (deterministic) and writes the piece. Between a piece's first read and its
second, about D pieces are read twice and written once by the whole device, so a lag D
of a few resident waves keeps the second read in L2 (a row walked by one program,
blocks.walk_plan, re-reads after the device has streamed whole rows: from DRAM at
131072 columns).

No deadlock: a ticket waits only for the reduce halves of lower tickets (D >= K), which
never wait, held by programs already running; the lowest unfinished ticket can always
go on. The Triton interpreter runs programs one after another: the first draws and
works every ticket in order, and never spins.

Counters (runtime.arrivals: one zeroed buffer a stream) are left at zero: the last
ticket drawn resets the ticket counter, and a row's last writer its row's.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ..backends import current as backend
from ..runtime import cdiv, sm_count
from ..runtime.arrivals import arrivals

RELAY = backend().table("relay")


@triton.jit
def relay_ticket(cnt_ptr, units, D):
    """The next ticket: 0, 1, ... in the order programs ask. Every program asks until it
    holds two tickets past the work (units + D), so units + D + 2 * programs are drawn;
    the last one drawn sets the counter back to zero."""
    t = tl.atomic_add(cnt_ptr, 1, sem="relaxed")
    if t == units + D + 2 * tl.num_programs(0) - 1:
        tl.atomic_xchg(cnt_ptr, 0, sem="relaxed")
    return t


@triton.jit
def relay_start(cnt_ptr, units, D):
    """A program's first two tickets (the second's pieces load while the first's work)."""
    t = relay_ticket(cnt_ptr, units, D)
    return t, relay_ticket(cnt_ptr, units, D)


@triton.jit
def relay_pieces(t, N, K, D, units, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """Ticket t's two pieces as (row, offsets, mask): the one it reduces (piece t, if
    t < units) and the one it writes (piece t - D, if t >= D); masked off past the work."""
    cols = tl.arange(0, BLOCK)
    s = tl.minimum(t, units - 1)
    w = tl.minimum(tl.maximum(t - D, 0), units - 1)
    if INT64:
        s = s.to(tl.int64)
        w = w.to(tl.int64)
    srow = s // K
    sc = (s % K) * BLOCK + cols
    wrow = w // K
    wc = (w % K) * BLOCK + cols
    return (srow, srow * N + sc, (sc < N) & (t < units),
            wrow, wrow * N + wc, (wc < N) & (t >= D) & (t < units + D))


@triton.jit
def relay_arrive(cnt_ptr, row):
    """Count this program's partial of `row` in, after its stores (every thread's: the
    barrier, then a release)."""
    tl.debug_barrier()
    tl.atomic_add(cnt_ptr + 1 + row, 1, sem="release")


@triton.jit
def relay_wait(cnt_ptr, row, K):
    """Until all K partials of `row` are in; their loads must bypass L1 (load_hinted 3)."""
    n = tl.atomic_add(cnt_ptr + 1 + row, 0, sem="acquire")
    while n < K:
        n = tl.atomic_add(cnt_ptr + 1 + row, 0, sem="acquire")


@triton.jit
def relay_leave(cnt_ptr, row, K):
    """A writer of `row` past its wait; the last of K sets the counter back to 0 (no
    program of this launch reads it again)."""
    if tl.atomic_add(cnt_ptr + 1 + row, 1, sem="relaxed") == 2 * K - 1:
        tl.atomic_xchg(cnt_ptr + 1 + row, 0, sem="relaxed")


def relay_plan(rows: int, n: int, elem_size: int, device):
    """(block, K, lag, units, programs, num_warps) of a relay (a persistent grid of
    `programs`) over `rows` rows of n
    columns, or None where it is not the plan: rows under the table's min_bytes, or of
    more pieces than max_pieces (each writer loads its row's K partials)."""
    if not RELAY.get("enabled", False) or n * elem_size < RELAY.get("min_bytes", 98304):
        return None
    block = max(1, RELAY.get("piece_bytes", 16384) // elem_size)
    K = cdiv(n, block)
    if K > RELAY.get("max_pieces", 64):
        return None
    units = rows * K
    sms = sm_count(device)
    lag = max(K, min(units, RELAY.get("lag_per_sm", 4) * sms))
    return block, K, lag, units, min(RELAY.get("per_sm", 2) * sms, units + lag), RELAY.get("num_warps", 8)


def relay_counters(device, rows: int):
    """The counters of a relay over `rows` rows: the ticket's, then one a row; None under
    CUDA graph capture (runtime.arrivals), where the caller takes its two-launch plan."""
    return arrivals(device, rows + 1)
