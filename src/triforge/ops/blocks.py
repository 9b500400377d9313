"""The first steps of kernels: a flat block of elements, a piece of a split row, a
persistent walk over long rows."""
import triton
import triton.language as tl

from ..backends import current as backend
from ..runtime import cdiv, sm_count


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


# centred_moments' two sums in one tree on a GPU (one cross-warp exchange, not two): H200
# diag_moments.py at a7fd371, fused / two tl.sum, var dim=-1 40.7 / 42.0 us, var_mean
# 42.6 / 42.9, layer_norm fwd 71.6 / 71.1 (one run each). The interpreter runs a tuple
# combine element by element in Python, so there two tl.sum
_FUSE_SUMS = tl.constexpr(not backend().interpreted)


@triton.jit
def _add2(a, b, c, d):
    return a + c, b + d


@triton.jit
def centred_moments(x, mask, n, AXIS: tl.constexpr):
    """(mean, sum of squared deviations) along AXIS of x's n masked elements (x holding 0
    where masked), from registers: k = sum / n, then the sums s1 and s2 of d = x - k and
    d^2; mean = k + s1 / n and m2 = s2 - s1 (mean - k). The second step takes out k's
    rounding: a constant extent has d exact, s1 and s2 exact, mean - k = d, so its mean
    comes out exact and m2 exactly 0, as torch's Welford kernels give them (a row that
    normalises to exactly 0). A sum shifted by the first element was exact too, but an
    element far from the rest there cost the others their low digits (float32, a first
    element of 1e4 before values near 1: var_mean's mean of 300 6e-4 off, H200); and
    three reductions (k, then the mean, then the squares) cost var dim=-1 of 16384x4096
    bf16 0.0383 -> 0.0467 ms on the H200. This form: 0.0412 ms (a7fd371, fast division;
    IEEE division since, +2.4 us in diag_moments.py), layer_norm fwd 0.0738 (0.0726
    unshifted, not exact)."""
    k = exact_quotient(tl.sum(x, AXIS), n)
    if AXIS == 0:
        kb = k
    else:
        kb = tl.expand_dims(k, AXIS)
    d = tl.where(mask, x - kb, 0.0)
    if _FUSE_SUMS:
        s1, s2 = tl.reduce((d, d * d), AXIS, _add2)
    else:
        s1 = tl.sum(d, AXIS)
        s2 = tl.sum(d * d, AXIS)
    return moments_from_sums(k, s1, s2, n)


@triton.jit
def centred_step(x, mask, k, s1, s2, RMS: tl.constexpr):
    """One chunk of a streamed row's sums: s1 and s2 take d = x - k and d^2
    (moments_from_sums); RMS: s2 takes x^2 alone (x already 0 where masked)."""
    if RMS:
        s2 += x * x
    else:
        d = tl.where(mask, x - k, 0.0)
        s1 += d
        s2 += d * d
    return s1, s2


@triton.jit
def row_moments(k, s1, s2, n, RMS: tl.constexpr):
    """(mean, m2) of a streamed row from centred_step's sums; RMS: (0, sum of squares)."""
    if RMS:
        mean = 0.0
        m2 = tl.sum(s2, 0)
    else:
        mean, m2 = moments_from_sums(k, tl.sum(s1, 0), tl.sum(s2, 0), n)
    return mean, m2


@triton.jit
def exact_quotient(total, n):
    """total / n rounded once (IEEE), the k of moments_from_sums: a GPU's fast float32
    division was contracted into x - k (an fma with the unrounded quotient), which left
    d an ulp-fraction off mean - k and a constant row's m2 off 0 (H200: float32 rows of
    20 x 0.3, var 5.8e-17)."""
    if total.dtype == tl.float32:
        q = tl.math.div_rn(total, tl.zeros_like(total) + n)
    else:
        q = total / n
    return q


@triton.jit
def moments_from_sums(k, s1, s2, n):
    """(mean, m2) from s1 and s2, the sums of d = x - k and d^2 over n elements, k an
    estimate of their mean (exact_quotient of their sum): mean = k + s1 / n, m2 = s2 -
    s1 (mean - k), where mean - k is exact. A constant extent has every d equal, s1 and
    s2 exact, mean - k = d: its mean comes out exact and m2 exactly 0."""
    mean = k + s1 / n
    m2 = s2 - s1 * (mean - k)
    return mean, tl.where(m2 < 0, 0.0, m2)   # NaN stays (tl.maximum drops it on a GPU)


@triton.jit
def first_chunk_mean(ptr, N, BLOCK: tl.constexpr, ACC: tl.constexpr):
    """The mean of ptr[0 : min(N, BLOCK)]: the shift k of sums of x - k over an extent too
    long for registers. k + sum(x - k) / N is then exact for a constant extent (the
    second term takes out k's rounding), and k, an average, is near the extent's values
    (a first element far from the rest would cost every other one its low digits)."""
    cols = tl.arange(0, BLOCK)
    m = cols < N
    return exact_quotient(tl.sum(tl.load(ptr + cols, mask=m, other=0.0).to(ACC), 0), tl.minimum(N, BLOCK))


@triton.jit
def row_piece(INT64: tl.constexpr):
    """(row, piece) of a program that owns one piece of a split row: grid (rows, pieces)."""
    row = tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    return row, tl.program_id(1)


@triton.jit
def row_piece_last_first(INT64: tl.constexpr):
    """row_piece for a split row's second pass: the grid's first programs take the pieces
    the first pass (dispatched in grid order) read last, the likeliest still in L2."""
    row = tl.num_programs(0) - 1 - tl.program_id(0)
    if INT64:
        row = row.to(tl.int64)
    return row, tl.num_programs(1) - 1 - tl.program_id(1)


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


# Long rows that take two passes (softmax, layer_norm): a persistent grid, `per_sm`
# programs an SM, each walking whole rows. Its first pass keeps the next chunk's load in
# flight, and its second pass walks the row backwards, so the chunks read last come again
# from L2. H200 scripts/explore_long_rows_pipe.py at d3693e4, 1024x131072 bf16 (copy
# ceiling 129.3 us): one program a row (the old path) 227.7 us softmax / 268.7 layer_norm,
# walk 32 warps, 16384-element chunks 185.9 / 186.0 (69.6% of the ceiling, 1.58x / 1.77x
# torch); 8 or 16 warps, smaller chunks or tl.range staging slower; 256x524288 softmax
# 262.5 -> 220.9 us; holding the row's head in registers (round 2) slower. It stays under
# issue 4's 80%: 768 MB in 186 us is 4.13 TB/s, so the second read comes mostly from
# DRAM. Rows of 16384 (one chunk) walk at 43%: the walk is for long rows only. At one
# program an SM, instructions an element count as much as bytes (softmax.py's
# _online_one_exp, norm/walk.py's shift): served kernels at b1e79c0 (sweep_walk.py,
# walk-ab-at-b1e79c0.txt), bf16 1024x131072 one program a row -> walk: softmax 227.4 ->
# 183.7 us (70.7%), layer_norm 268.1 -> 184.1 (70.6%), rms_norm 211.6 -> 172.3 (75.4%);
# float32 2048x65536 softmax 402.8 -> 321.8 (80.8%). Where it starts (min_bytes), swept
# with the first kernels (32268d4, walk-at-32268d4.txt), rows of N at 256 MB, one
# program a row -> walk, % of the copy ceiling: bf16 softmax N =
# 32768 61.5 -> 51.2, 65536 59.0 -> 58.6, 128256 56.7 -> 64.4, 262144 49.6 -> 59.5;
# layer_norm 32768 63.6 -> 51.0, 65536 47.8 -> 59.5; float32 softmax 24576 (96 KB rows)
# 66.8 -> 73.5, 65536 64.2 -> 81.2, layer_norm 24576 51.5 -> 69.9. Rows of up to 64 KB
# stay one a program: all the resident rows fit L2, so their second read hits it. (Not
# re-swept with the faster kernels of b1e79c0, which may pay from shorter rows on.) The
# bf16 config spills a little at the 64-register cap of 1024 threads (scripts/
# walk_registers.sh: softmax 32 B a thread, layer_norm 352 B); not yet measured against a
# spill-free one (8192-element chunks measured slower in the exploration, 202.6 us).
# Fewer programs than SMs, to shrink what lies between a chunk's two reads, only slowed
# it: H200 explore_walk_width.py at d3f942b, softmax 1024x131072 bf16, 1 / 0.75 / 0.5
# per SM 185.3 / 226.8 / 318.8 us (64 KB chunks slower still); 2 per SM on 16 warps
# 195.7. A one-launch relay of row pieces (568e9b5) was slower too (relay-explore.txt).
WALK = backend().table("walk")


def walk_plan(rows: int, n: int, elem_size: int, device, min_bytes: int):
    """(programs, chunk, num_warps) of a row walk over `rows` rows of n elements, or None
    where one program a row (or split rows, for few of them) is the better plan: rows
    of fewer than min_bytes, or fewer rows than the walk's programs."""
    programs = max(1, int(sm_count(device) * WALK.get("per_sm", 1)))
    if n * elem_size < min_bytes or rows < programs:
        return None
    return programs, max(1, WALK.get("chunk_bytes", 32768) // elem_size), WALK.get("num_warps", 32)
