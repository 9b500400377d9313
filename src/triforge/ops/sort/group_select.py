"""topk of long rows by group maxima: one read of the row, then a descent over tiny data.

Cut a row into groups of G consecutive elements and order the groups by (their largest
key, descending; group index, ascending). The k best elements (key descending, index
ascending) all lie in the k best groups: were an element's group ranked below k others,
each of those holds an element (its first maximal one) ranked above that element. The
lemma applies to groups of group maxima as well, so:

1. _group_max_kernel reads the row once, in parallel chunks, and writes two levels of
   maxima: m1 (a key per G elements) and m2 (a key per G*G elements), 1/G and 1/G^2 of
   the row's bytes; a third (m3) where k needs groups of 4 and the row is long.
2. The descent (_descend_row), by the row's last chunk program to finish (arrival
   counters), or under graph capture by a launch of its own: the KB best of the top
   level (one tl.topk), then the KB best of the KB*G entries of the level below under
   them, down to m1, then of the KB*G elements of the row under those; the last topk
   is sorted, best first, ties in index order (packed words).

Nothing depends on the values' distribution: ascending rows, ties and NaN cost what
random rows cost, where the running-bound pass (radix_select.py) overflowed its scratch
and re-read ascending rows by radix select (0.33x torch on the H100).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, cdiv, next_power_of_2, scratch
from ...runtime.arrivals import arrivals
from .keys import key, packed, packed32, write_at, write_best


@triton.jit
def _stored(v, BITS: tl.constexpr):
    """A key back from its int16 / int32 store (no sign extension)."""
    if BITS <= 16:
        k = (v.to(tl.int32) & 0xFFFF).to(tl.uint32)
    else:
        k = v.to(tl.uint32, bitcast=True)
    return k


@triton.jit
def _word(k, pos, BITS: tl.constexpr, W32: tl.constexpr):
    if W32:   # (one return: the compiler wants every return of one type)
        w = packed32(k, pos, BITS).to(tl.uint32)
    else:
        w = packed(k, pos, BITS).to(tl.uint64)
    return w


@triton.jit
def _group_of(w, W32: tl.constexpr):
    if W32:
        g = ((w & 0xFFFF) ^ 0xFFFF).to(tl.int64)
    else:
        g = ((w & 0xFFFFFFFF).to(tl.uint32) ^ 0xFFFFFFFF).to(tl.int64)
    return g


@triton.jit
def _expand(src, n, w, BITS: tl.constexpr, G: tl.constexpr, KB: tl.constexpr, W32: tl.constexpr):
    """The KB best words among the G entries of a level of maxima (src, n long) under each
    group in w (words of the level above; 0 = no group). Read from L2 (.cg): other
    programs of the same launch may have stored them."""
    pos = _group_of(w, W32)[:, None] * G + tl.arange(0, G)[None, :]
    m = (w != 0)[:, None] & (pos < n)
    k = _stored(tl.load(src + pos, mask=m, other=0, cache_modifier=".cg"), BITS)
    return tl.topk(tl.reshape(tl.where(m, _word(k, pos, BITS, W32), 0), (KB * G,)), KB)


@triton.jit
def _leaves(x_ptr, row, N, w, K, v_ptr, i_ptr, LARGEST: tl.constexpr, BITS: tl.constexpr, G: tl.constexpr,
            KB: tl.constexpr, W32: tl.constexpr):
    """The row's K best elements under the groups in w, written out. With 32-bit words an
    element is named by its slot among the groups taken in index order (its column may
    pass 16 bits), so slot order is column order and ties still go to the lower index."""
    row_base = row * N
    if W32:
        g = tl.sort(tl.where(w != 0, _group_of(w, W32), N))   # no group: past the row
        pos = g[:, None] * G + tl.arange(0, G)[None, :]
        m = pos < N
        k = key(tl.load(x_ptr + row_base + pos, mask=m, other=0), BITS, LARGEST)
        slot = tl.arange(0, KB)[:, None] * G + tl.arange(0, G)[None, :]
        best = tl.topk(tl.reshape(tl.where(m, packed32(k, slot, BITS), 0), (KB * G,)), KB)
        s = ((best & 0xFFFF) ^ 0xFFFF).to(tl.int32)
        idx = tl.gather(g, s // G, 0) * G + s % G
        write_at(x_ptr, v_ptr, i_ptr, idx, row, row_base, K, KB)
    else:
        pos = _group_of(w, W32)[:, None] * G + tl.arange(0, G)[None, :]
        m = (w != 0)[:, None] & (pos < N)
        k = key(tl.load(x_ptr + row_base + pos, mask=m, other=0), BITS, LARGEST)
        best = tl.topk(tl.reshape(tl.where(m, packed(k, pos, BITS), 0), (KB * G,)), KB)
        write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, KB)


@triton.jit
def _descend_row(x_ptr, m1_ptr, m2_ptr, m3_ptr, v_ptr, i_ptr, row, N, N1, N2, N3, K, LARGEST: tl.constexpr,
                 BITS: tl.constexpr, G: tl.constexpr, KB: tl.constexpr, TOP: tl.constexpr, W32: tl.constexpr,
                 LEVELS: tl.constexpr):
    j = tl.arange(0, TOP)
    if LEVELS == 3:
        k3 = _stored(tl.load(m3_ptr + row * N3 + j, mask=j < N3, other=0, cache_modifier=".cg"), BITS)
        w = tl.topk(tl.where(j < N3, _word(k3, j, BITS, W32), 0), KB)
        w = _expand(m2_ptr + row * N2, N2, w, BITS, G, KB, W32)
    else:
        k2 = _stored(tl.load(m2_ptr + row * N2 + j, mask=j < N2, other=0, cache_modifier=".cg"), BITS)
        w = tl.topk(tl.where(j < N2, _word(k2, j, BITS, W32), 0), KB)
    w = _expand(m1_ptr + row * N1, N1, w, BITS, G, KB, W32)
    _leaves(x_ptr, row, N, w, K, v_ptr, i_ptr, LARGEST, BITS, G, KB, W32)


@triton.jit
def _level(g, c, out_ptr, row, n, PER: tl.constexpr, G: tl.constexpr):
    """The next level's maxima of a chunk's PER maxima g (groups of G), stored."""
    h = tl.max(tl.reshape(g, (PER // G, G)), 1)
    j = c * (PER // G) + tl.arange(0, PER // G)
    tl.store(out_ptr + row * n + j, h.to(out_ptr.dtype.element_ty), mask=j < n)
    return h


@triton.jit
def _group_max_kernel(x_ptr, m1_ptr, m2_ptr, m3_ptr, cnt_ptr, v_ptr, i_ptr, N, N1, N2, N3, chunks, K,
                      LARGEST: tl.constexpr, BITS: tl.constexpr, G: tl.constexpr, CHUNK: tl.constexpr,
                      KB: tl.constexpr, TOP: tl.constexpr, W32: tl.constexpr, LEVELS: tl.constexpr,
                      FUSED: tl.constexpr):
    """A chunk's LEVELS levels of maxima; FUSED: the row's last chunk to arrive (cnt_ptr,
    zero between calls) then descends it, under the other programs' streaming."""
    pid = tl.program_id(0)
    row = (pid // chunks).to(tl.int64)
    c = pid % chunks
    cols = c * CHUNK + tl.arange(0, CHUNK)
    m = cols < N
    k = tl.where(m, key(tl.load(x_ptr + row * N + cols, mask=m, other=0), BITS, LARGEST), 0)
    g1 = _level(k, c, m1_ptr, row, N1, CHUNK, G)
    g2 = _level(g1, c, m2_ptr, row, N2, CHUNK // G, G)
    if LEVELS == 3:
        _level(g2, c, m3_ptr, row, N3, CHUNK // (G * G), G)
    if FUSED:
        tl.debug_barrier()   # every thread's maxima are stored before the count says so
        if tl.atomic_add(cnt_ptr + row, 1, sem="acq_rel") == chunks - 1:
            _descend_row(x_ptr, m1_ptr, m2_ptr, m3_ptr, v_ptr, i_ptr, row, N, N1, N2, N3, K, LARGEST, BITS, G, KB,
                         TOP, W32, LEVELS)
            tl.atomic_xchg(cnt_ptr + row, 0, sem="relaxed")


@triton.jit
def _descend_kernel(x_ptr, m1_ptr, m2_ptr, m3_ptr, v_ptr, i_ptr, N, N1, N2, N3, K, LARGEST: tl.constexpr,
                    BITS: tl.constexpr, G: tl.constexpr, KB: tl.constexpr, TOP: tl.constexpr, W32: tl.constexpr,
                    LEVELS: tl.constexpr):
    _descend_row(x_ptr, m1_ptr, m2_ptr, m3_ptr, v_ptr, i_ptr, tl.program_id(0).to(tl.int64), N, N1, N2, N3, K,
                 LARGEST, BITS, G, KB, TOP, W32, LEVELS)


_maxima = Launcher(_group_max_kernel)
_descend = Launcher(_descend_kernel)
# Per key width (8 and 16 bits share 16's): elements per program of the maxima pass, its
# warps, the descent's warps when a launch of its own, whether the descent runs in the
# maxima launch (arrival counters), 32-bit words for 16-bit keys.
_CFG = {16: {"chunk": 4096, "warps": 4, "descend_warps": 4, "fuse": True, "w32": True},
        32: {"chunk": 4096, "warps": 4, "descend_warps": 4, "fuse": True, "w32": False}}
_CFG = {b: {**d, **backend().table("sort").get("group", {}).get(b, {})} for b, d in _CFG.items()}
WORDS = 4096    # the descent's topk runs over KB * G packed words in registers
FUSE_WORDS = 2048   # past this, the descent's registers would slow the maxima launch
MAX_TOP = 4096  # the top level is one tl.topk


def _group(kb):
    """Elements per group: 16 up to k = 128, then fewer (at least 4), as the descent's
    words allow."""
    return max(4, min(16, 2048 // kb))


def _levels(n, kb):
    """Levels of maxima whose top one fits MAX_TOP (2 or 3), or None."""
    g = _group(kb)
    return next((lv for lv in (2, 3) if cdiv(n, g ** lv) <= MAX_TOP), None)


# A backend may cap k: on the H100 (5003dfa) k = 600 and 1024 over 4096 x 128256 bf16
# (groups of 4, three levels) took 5.08 ms, 0.78x torch; k = 256 2.97x.
MAX_KB = backend().table("sort").get("group_max_kb", 1024)


def group_topk_ok(n, k) -> bool:
    kb = max(2, next_power_of_2(k))
    return kb <= MAX_KB and kb * _group(kb) <= WORDS and _levels(n, kb) is not None


def group_topk(x, k, largest, vals, idx, **over):
    """vals, idx (rows, k) = the k best of each row of x (rows, n) contiguous, best first,
    ties in index order; group_topk_ok(n, k). Keyword overrides of _CFG are for sweeps.
    Under CUDA graph capture (no arrival counters) the descent is a launch of its own."""
    rows, n = x.shape
    bits = x.element_size() * 8
    cfg = {**_CFG[max(bits, 16)], **over}
    kb = max(2, next_power_of_2(k))
    G = _group(kb)
    levels = _levels(n, kb)
    chunk = max(cfg["chunk"], G ** levels)
    n1, n2, n3 = cdiv(n, G), cdiv(n, G ** 2), cdiv(n, G ** 3)
    top = max(kb, next_power_of_2(n3 if levels == 3 else n2))
    w32 = cfg["w32"] and bits <= 16 and n1 < 0xFFFF   # m1's positions as 16 bits, none all-ones
    mtype = torch.int16 if bits <= 16 else torch.int32   # keys as stored (_stored)
    m1, m2 = scratch((rows, n1), mtype, x.device), scratch((rows, n2), mtype, x.device)
    m3 = scratch((rows, n3), mtype, x.device) if levels == 3 else m2
    cnt = arrivals(x.device, rows) if cfg["fuse"] and kb * G <= FUSE_WORDS else None
    chunks = cdiv(n, chunk)
    _maxima((rows * chunks,), x, m1, m2, m3, m1 if cnt is None else cnt, vals, idx, n, n1, n2, n3, chunks, k,
            bool(largest), bits, G, chunk, kb, top, w32, levels, cnt is not None, num_warps=cfg["warps"])
    if cnt is None:   # 16 words a thread at most
        _descend((rows,), x, m1, m2, m3, vals, idx, n, n1, n2, n3, k, bool(largest), bits, G, kb, top, w32,
                 levels, num_warps=max(cfg["descend_warps"], kb * G // 512))
    return vals, idx
