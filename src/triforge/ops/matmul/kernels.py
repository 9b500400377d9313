"""The matmul kernels: one tiled GEMM (batched, optional bias epilogue, optional split-K)
and the split-K reduction.

Every operand is read through its strides, so transposed, sliced and batch-broadcast
(stride 0) operands need no copies. One kernel serves mm/addmm/bmm/baddbmm/addbmm and,
through stride tricks in ops.py, mv/addmv/dot/vdot/addr.

Program order within a batch: tiles are walked in groups of GROUP_M rows of tiles
(the "swizzled" order), so consecutive programs share A rows and B columns in L2.
Rows and columns past the edge are read clamped (`% M`, `% N`): loads need only the K
mask and the store is masked.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ..blocks import load_hinted


@triton.jit
def _tile(pid, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    grid_m = tl.cdiv(M, BLOCK_M)
    grid_n = tl.cdiv(N, BLOCK_N)
    width = GROUP_M * grid_n
    group = pid // width
    first_m = group * GROUP_M
    size_m = tl.minimum(grid_m - first_m, GROUP_M)
    pid_m = first_m + (pid % width) % size_m
    pid_n = (pid % width) // size_m
    return pid_m, pid_n


@triton.jit
def _k_loop(acc, a_ptrs, b_ptrs, k_lo, k_hi, sak, sbk, ACC: tl.constexpr, PRECISION: tl.constexpr,
            FMA: tl.constexpr, UPCAST: tl.constexpr, BLOCK_K: tl.constexpr, EVICT: tl.constexpr):
    rk = tl.arange(0, BLOCK_K)
    for k in range(k_lo, k_hi, BLOCK_K):
        kmask = rk < k_hi - k
        a = tl.load(a_ptrs, mask=kmask[None, :], other=0.0)
        b = load_hinted(b_ptrs, kmask[:, None], 0.0, EVICT)
        if FMA:
            # float64: tl.dot has no fp64 path on every target Triton 3.6 supports; the
            # broadcast product is exact and portable (float64 is not a speed target).
            # BLOCK_M = 1 (a GEMV, any dtype): Triton rewrites this broadcast-multiply-sum into
            # a tl.dot of default (TF32) precision where the tile allows a dot (seen on the
            # H100 at BLOCK_M 32, error 7.7e-4, and at BLOCK_K 4 wrong results outright); one
            # row does not, and streams the weight faster than a dot tile would (gemm.py).
            acc += tl.sum(a[:, :, None].to(ACC) * b[None, :, :].to(ACC), axis=1)
        else:
            if UPCAST:
                # the interpreter's dot multiplies bfloat16 bit patterns as integers;
                # bf16 and fp16 products are exact in float32, so this is what the GPU computes.
                a = a.to(tl.float32)
                b = b.to(tl.float32)
            acc = tl.dot(a, b, acc, input_precision=PRECISION, out_dtype=ACC)
        a_ptrs += BLOCK_K * sak
        b_ptrs += BLOCK_K * sbk
    return acc


@triton.jit
def _k_loop3(a_ptrs, b_ptrs, k_lo, k_hi, sak, sbk, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
             BLOCK_K: tl.constexpr, EVICT: tl.constexpr):
    """float32 IEEE for a few rows: products accumulated in a [BM, BK, BN] tile and summed
    over K once after the loop -- a shape Triton does not rewrite into a dot (see _k_loop).
    The operands load as 3-d tiles (a [BM, BK, 1], b [1, BK, BN]) so they take the
    accumulator's layout without a per-step conversion through shared memory: H100,
    explore_fp32.py fma3p at f7b4f27, x cuBLAS: M=8 4096->14336 1.14-1.17x (2-d tiles
    broadcast: 0.80x; the FMA dot 0.48x), M=32 0.67x (the FMA dot 0.38x)."""
    rk = tl.arange(0, BLOCK_K)[None, :, None]
    acc = tl.zeros([BLOCK_M, BLOCK_K, BLOCK_N], tl.float32)
    for k in range(k_lo, k_hi, BLOCK_K):
        kmask = rk < k_hi - k
        a = tl.load(a_ptrs, mask=kmask, other=0.0).to(tl.float32)
        b = load_hinted(b_ptrs, kmask, 0.0, EVICT).to(tl.float32)
        acc += a * b
        a_ptrs += BLOCK_K * sak
        b_ptrs += BLOCK_K * sbk
    return tl.sum(acc, axis=1)


@triton.jit
def _epilogue(acc, c_ptr, x_ptr, bid, rm, rn, mask, scb, scm, scn, sxb, sxm, sxn, alpha, beta,
              HAS_BIAS: tl.constexpr, ACC: tl.constexpr):
    """c[bid] tile = alpha * acc + beta * x[bid] tile (x only if HAS_BIAS), in c's dtype."""
    out = acc * alpha
    if HAS_BIAS:
        x = tl.load(x_ptr + bid * sxb + rm[:, None] * sxm + rn[None, :] * sxn, mask=mask, other=0.0)
        out += beta * x.to(ACC)
    tl.store(c_ptr + bid * scb + rm[:, None] * scm + rn[None, :] * scn, out.to(c_ptr.dtype.element_ty), mask=mask)


@triton.jit
def gemm_kernel(a_ptr, b_ptr, c_ptr, x_ptr, o_ptr, cnt_ptr, M, N, K, R, k_split,
                sab, sam, sak, sbb, sbk, sbn, scb, scm, scn, sxb, sxm, sxn, alpha, beta,
                HAS_BIAS: tl.constexpr, PARTIAL: tl.constexpr, FINISH: tl.constexpr, REDUCE: tl.constexpr,
                ACC: tl.constexpr, PRECISION: tl.constexpr, FMA: tl.constexpr, UPCAST: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                GROUP_M: tl.constexpr, INT64: tl.constexpr, EVICT: tl.constexpr):
    """c[b] = alpha * a[b] @ b[b] + beta * x[b]  (x only if HAS_BIAS).

    Grid: (tiles, batches, splits). REDUCE (addbmm): one output, the R batches summed in the
    K loop. FMA: 0 tl.dot, 1 broadcast products summed every K step (float64; the GEMV), 2 a
    3-d accumulator summed once (float32 IEEE, a few rows). PARTIAL (split-K): program (t,
    b, s) covers K range [s*k_split, (s+1)*k_split) and stores its raw float accumulator to
    the workspace c_ptr[s, b, M, N]; splitk_reduce_kernel finishes, or with FINISH the
    tile's last split to arrive: each split counts itself in cnt_ptr[tile] (zero between
    calls), and the one that makes it `splits` sums the workspace in split order -- the
    reduce kernel's sum, bit for bit -- into o_ptr (strides scb, scm, scn) and sets the
    count back to 0. H100, M=1 against 4096->14336 bf16: the GEMM 53.2 us, the reduce launch
    1.8 us and 1.2 us between them (scripts/profile_decode.py at bc1ab5a). EVICT: L2 policy
    of b's loads (blocks.load_hinted; a decode weight, read once)."""
    pid_m, pid_n = _tile(tl.program_id(0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    bid = tl.program_id(1)
    sid = tl.program_id(2)
    if INT64:
        pid_m = pid_m.to(tl.int64)
        pid_n = pid_n.to(tl.int64)
        bid = bid.to(tl.int64)
        sid = sid.to(tl.int64)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ram = rm % M
    rbn = rn % N
    rk = tl.arange(0, BLOCK_K)
    k_lo = sid * k_split
    k_hi = tl.minimum(K, k_lo + k_split)
    acc = tl.zeros([BLOCK_M, BLOCK_N], ACC)
    if FMA == 2:   # never with REDUCE (a skinny path)
        a_ptrs = a_ptr + bid * sab + ram[:, None, None] * sam + (k_lo + rk)[None, :, None] * sak
        b_ptrs = b_ptr + bid * sbb + (k_lo + rk)[None, :, None] * sbk + rbn[None, None, :] * sbn
        acc = _k_loop3(a_ptrs, b_ptrs, k_lo, k_hi, sak, sbk, BLOCK_M, BLOCK_N, BLOCK_K, EVICT)
    elif REDUCE:
        for r in range(R):
            a_ptrs = a_ptr + r * sab + ram[:, None] * sam + (k_lo + rk)[None, :] * sak
            b_ptrs = b_ptr + r * sbb + (k_lo + rk)[:, None] * sbk + rbn[None, :] * sbn
            acc = _k_loop(acc, a_ptrs, b_ptrs, k_lo, k_hi, sak, sbk, ACC, PRECISION, FMA, UPCAST, BLOCK_K, EVICT)
    else:
        a_ptrs = a_ptr + bid * sab + ram[:, None] * sam + (k_lo + rk)[None, :] * sak
        b_ptrs = b_ptr + bid * sbb + (k_lo + rk)[:, None] * sbk + rbn[None, :] * sbn
        acc = _k_loop(acc, a_ptrs, b_ptrs, k_lo, k_hi, sak, sbk, ACC, PRECISION, FMA, UPCAST, BLOCK_K, EVICT)
    mask = (rm[:, None] < M) & (rn[None, :] < N)
    if PARTIAL:
        ws = c_ptr + ((sid * tl.num_programs(1) + bid) * M + rm[:, None]) * N + rn[None, :]
        tl.store(ws, acc, mask=mask)
        if FINISH:
            splits = tl.num_programs(2)
            tile = cnt_ptr + bid * tl.num_programs(0) + tl.program_id(0)
            tl.debug_barrier()   # every thread's partial is stored before the count says so
            if tl.atomic_add(tile, 1, sem="acq_rel") == splits - 1:
                total = tl.zeros([BLOCK_M, BLOCK_N], ACC)
                step = tl.num_programs(1) * M * N
                ws = c_ptr + (bid * M + rm[:, None]) * N + rn[None, :]
                for s in range(splits):   # .cg: from L2, where the other splits' stores are
                    total += tl.load(ws + s * step, mask=mask, other=0.0, cache_modifier=".cg")
                _epilogue(total, o_ptr, x_ptr, bid, rm, rn, mask, scb, scm, scn, sxb, sxm, sxn, alpha, beta,
                          HAS_BIAS, ACC)
                tl.atomic_xchg(tile, 0, sem="relaxed")
    else:
        _epilogue(acc, c_ptr, x_ptr, bid, rm, rn, mask, scb, scm, scn, sxb, sxm, sxn, alpha, beta, HAS_BIAS, ACC)


@triton.jit
def splitk_reduce_kernel(ws_ptr, c_ptr, x_ptr, total, S, M, N, scb, scm, scn, sxb, sxm, sxn,
                         alpha, beta, HAS_BIAS: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """c = alpha * sum_s ws[s] + beta * x, summed in a fixed order (deterministic)."""
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    i = pid * BLOCK + tl.arange(0, BLOCK)
    mask = i < total
    acc = tl.zeros([BLOCK], ws_ptr.dtype.element_ty)
    for s in range(S):
        acc += tl.load(ws_ptr + s * total + i, mask=mask, other=0.0)
    n = i % N
    m = (i // N) % M
    b = i // (M * N)
    out = acc * alpha
    if HAS_BIAS:
        x = tl.load(x_ptr + b * sxb + m * sxm + n * sxn, mask=mask, other=0.0)
        out += beta * x.to(ws_ptr.dtype.element_ty)
    tl.store(c_ptr + b * scb + m * scm + n * scn, out.to(c_ptr.dtype.element_ty), mask=mask)
