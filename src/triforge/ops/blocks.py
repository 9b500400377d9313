"""The first steps of kernels: a flat block of elements, a piece of a split row."""
import triton
import triton.language as tl

from ..runtime import cdiv


@triton.jit
def block_range(n, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """This program's BLOCK flat indices (int64 when offsets may pass 2**31) and which of
    them are < n."""
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    idx = pid * BLOCK + tl.arange(0, BLOCK)
    return idx, idx < n


@triton.jit
def load_hinted(ptr, mask, other, POLICY: tl.constexpr):
    """tl.load with an L2 eviction policy: 1 evict_last, 2 evict_first, 0 the default
    (the interpreter ignores them); 3 cached in L2 only (.cg), for what other programs
    of the same launch stored (an L1 is not coherent with other SMs' stores)."""
    if POLICY == 1:
        v = tl.load(ptr, mask=mask, other=other, eviction_policy="evict_last")
    elif POLICY == 2:
        v = tl.load(ptr, mask=mask, other=other, eviction_policy="evict_first")
    elif POLICY == 3:
        v = tl.load(ptr, mask=mask, other=other, cache_modifier=".cg")
    else:
        v = tl.load(ptr, mask=mask, other=other)
    return v


@triton.jit
def row_piece(INT64: tl.constexpr):
    """(row, piece) of a program that owns one piece of a split row: grid (rows, pieces)."""
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    return row, tl.program_id(1)


@triton.jit
def in_piece(c, s, L, N):
    """Columns c of piece s (of L columns) that lie inside a row of N."""
    return (c < L) & (s * L + c < N)


def split_pieces(rows: int, n: int, chunk: int, programs: int):
    """(S, L): few rows longer than one block cut into S pieces of L columns (whole
    chunks), about `programs` pieces in all, at most 256 a row; None where that leaves
    one piece a row (then one program a row already fills the device)."""
    S = min(cdiv(n, chunk), programs // max(rows, 1), 256)
    if S < 2:
        return None
    L = cdiv(cdiv(n, S), chunk) * chunk
    return cdiv(n, L), L
