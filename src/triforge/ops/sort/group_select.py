"""topk of long rows by group maxima: one read of the row, then a descent over tiny data.

Cut a row into groups of G consecutive elements and order the groups by (their largest
key, descending; group index, ascending). The k best elements (key descending, index
ascending) all lie in the k best groups: were an element's group ranked below k others,
each of those holds an element (its first maximal one) ranked above that element. The
lemma applies to groups of group maxima as well, so:

1. _group_max_kernel reads the row once, in parallel chunks, and writes two levels of
   maxima: m1 (a key per G elements) and m2 (a key per G*G elements), 1/G and 1/G^2 of
   the row's bytes.
2. The descent (_descend_row), by the row's last chunk program to finish (arrival
   counters), or under graph capture by a launch of its own: the KB best of m2 (one
   tl.topk), then the KB best of the KB*G entries of m1 under them, then of the KB*G
   elements of the row under those; the last topk is sorted, best first, ties in index
   order (packed words).

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
from .keys import key, packed, write_best


@triton.jit
def _stored(v, BITS: tl.constexpr):
    """A key back from its int16 / int32 store (no sign extension)."""
    if BITS <= 16:
        k = (v.to(tl.int32) & 0xFFFF).to(tl.uint32)
    else:
        k = v.to(tl.uint32, bitcast=True)
    return k


@triton.jit
def _expand(src, n, w, KEYED: tl.constexpr, LARGEST: tl.constexpr, BITS: tl.constexpr, G: tl.constexpr,
            KB: tl.constexpr):
    """The KB best packed words among the G entries of src under each group in w (packed
    words of the level above; 0 = no group). Maxima are read from L2 (.cg): other
    programs of the same launch may have stored them."""
    g = ((w & 0xFFFFFFFF).to(tl.uint32) ^ 0xFFFFFFFF).to(tl.int64)
    pos = g[:, None] * G + tl.arange(0, G)[None, :]
    m = (w != 0)[:, None] & (pos < n)
    if KEYED:
        k = key(tl.load(src + pos, mask=m, other=0), BITS, LARGEST)
    else:
        k = _stored(tl.load(src + pos, mask=m, other=0, cache_modifier=".cg"), BITS)
    return tl.topk(tl.reshape(tl.where(m, packed(k, pos, BITS), 0), (KB * G,)), KB)


@triton.jit
def _descend_row(x_ptr, m1_ptr, m2_ptr, v_ptr, i_ptr, row, N, N1, N2, K, LARGEST: tl.constexpr,
                 BITS: tl.constexpr, G: tl.constexpr, KB: tl.constexpr, TOP: tl.constexpr):
    j = tl.arange(0, TOP)
    k2 = _stored(tl.load(m2_ptr + row * N2 + j, mask=j < N2, other=0, cache_modifier=".cg"), BITS)
    w = tl.topk(tl.where(j < N2, packed(k2, j, BITS), 0), KB)
    w = _expand(m1_ptr + row * N1, N1, w, False, LARGEST, BITS, G, KB)
    w = _expand(x_ptr + row * N, N, w, True, LARGEST, BITS, G, KB)
    write_best(x_ptr, v_ptr, i_ptr, w, row, row * N, K, KB)


@triton.jit
def _group_max_kernel(x_ptr, m1_ptr, m2_ptr, cnt_ptr, v_ptr, i_ptr, N, N1, N2, chunks, K,
                      LARGEST: tl.constexpr, BITS: tl.constexpr, G: tl.constexpr, CHUNK: tl.constexpr,
                      KB: tl.constexpr, TOP: tl.constexpr, FUSED: tl.constexpr):
    """A chunk's two levels of maxima; FUSED: the row's last chunk to arrive (cnt_ptr,
    zero between calls) then descends it, under the other programs' streaming."""
    pid = tl.program_id(0)
    row = (pid // chunks).to(tl.int64)
    c = pid % chunks
    cols = c * CHUNK + tl.arange(0, CHUNK)
    m = cols < N
    k = tl.where(m, key(tl.load(x_ptr + row * N + cols, mask=m, other=0), BITS, LARGEST), 0)
    g1 = tl.max(tl.reshape(k, (CHUNK // G, G)), 1)
    j1 = c * (CHUNK // G) + tl.arange(0, CHUNK // G)
    tl.store(m1_ptr + row * N1 + j1, g1.to(m1_ptr.dtype.element_ty), mask=j1 < N1)
    g2 = tl.max(tl.reshape(g1, (CHUNK // (G * G), G)), 1)
    j2 = c * (CHUNK // (G * G)) + tl.arange(0, CHUNK // (G * G))
    tl.store(m2_ptr + row * N2 + j2, g2.to(m2_ptr.dtype.element_ty), mask=j2 < N2)
    if FUSED:
        tl.debug_barrier()   # every thread's maxima are stored before the count says so
        if tl.atomic_add(cnt_ptr + row, 1, sem="acq_rel") == chunks - 1:
            _descend_row(x_ptr, m1_ptr, m2_ptr, v_ptr, i_ptr, row, N, N1, N2, K, LARGEST, BITS, G, KB, TOP)
            tl.atomic_xchg(cnt_ptr + row, 0, sem="relaxed")


@triton.jit
def _descend_kernel(x_ptr, m1_ptr, m2_ptr, v_ptr, i_ptr, N, N1, N2, K, LARGEST: tl.constexpr,
                    BITS: tl.constexpr, G: tl.constexpr, KB: tl.constexpr, TOP: tl.constexpr):
    _descend_row(x_ptr, m1_ptr, m2_ptr, v_ptr, i_ptr, tl.program_id(0).to(tl.int64), N, N1, N2, K, LARGEST, BITS,
                 G, KB, TOP)


_maxima = Launcher(_group_max_kernel)
_descend = Launcher(_descend_kernel)
_cfg = backend().table("sort")
CHUNK = _cfg.get("group_chunk", 4096)     # elements per program of the maxima pass
WARPS = _cfg.get("group_warps", 4)
DESCEND_WARPS = _cfg.get("descend_warps", 4)
FUSE = _cfg.get("group_fuse", True)   # the descent in the maxima launch (arrival counters)
WORDS = 2048    # the descent's topk runs over KB * G packed words in registers
MAX_TOP = 4096  # m2 is one tl.topk: rows up to MAX_TOP * G * G elements (2^20 at G = 16)


def _group(kb):
    """Elements per group: 16 up to k = 128, then fewer, as the descent's words allow."""
    return max(4, min(16, WORDS // kb))


def group_topk_ok(n, k) -> bool:
    kb = max(2, next_power_of_2(k))
    return kb * _group(kb) <= WORDS and cdiv(n, _group(kb) ** 2) <= MAX_TOP


def group_topk(x, k, largest, vals, idx, chunk=None, warps=None, descend_warps=None, fuse=None):
    """vals, idx (rows, k) = the k best of each row of x (rows, n) contiguous, best first,
    ties in index order; group_topk_ok(n, k). Keyword overrides are for sweeps. Under
    CUDA graph capture (no arrival counters) the descent is a launch of its own."""
    rows, n = x.shape
    bits = x.element_size() * 8
    kb = max(2, next_power_of_2(k))
    G = _group(kb)
    chunk = max(chunk or CHUNK, G * G)
    n1, n2 = cdiv(n, G), cdiv(n, G * G)
    top = max(kb, next_power_of_2(n2))
    mtype = torch.int16 if bits <= 16 else torch.int32   # keys as stored (_stored)
    m1, m2 = scratch((rows, n1), mtype, x.device), scratch((rows, n2), mtype, x.device)
    cnt = arrivals(x.device, rows) if (FUSE if fuse is None else fuse) else None
    chunks = cdiv(n, chunk)
    _maxima((rows * chunks,), x, m1, m2, m1 if cnt is None else cnt, vals, idx, n, n1, n2, chunks, k,
            bool(largest), bits, G, chunk, kb, top, cnt is not None, num_warps=warps or WARPS)
    if cnt is None:
        _descend((rows,), x, m1, m2, vals, idx, n, n1, n2, k, bool(largest), bits, G, kb, top,
                 num_warps=descend_warps or DESCEND_WARPS)
    return vals, idx
