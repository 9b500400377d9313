"""The Hopper GEMM: persistent programs that read tiles through TMA tensor descriptors.

One program per SM walks output tiles pid, pid + PROGRAMS, ... in the swizzled order
of kernels._tile; each tile's K loop loads A and B blocks through host-built
descriptors (out-of-bounds rows and columns read as zeros, so no masks) and the result
goes out through C's descriptor (clipped at the edges). WS: Triton's automatic warp
specialisation of the tile loop (producer warps issue the TMA loads, consumer warps the
wgmma); FLAT: the tile and K loops flattened into one pipelined loop; SUB: C goes out as two
half-width TMA stores (C's descriptor block is BLOCK_N // 2 wide), staging half as much in
shared memory (H100: 14336->4096 0.97 -> 1.09x cuBLAS, backends/nvidia.py "tma16").

A_T / B_T: the operand is stored K-major the other way round (A as (K, M) rows, B as
(N, K) rows, e.g. F.linear's weight): its descriptor covers the stored matrix and each
loaded block is transposed in registers, no copy.

H100, bf16, same run as cuBLAS (scripts/explore_tma_gemm.py at 97ec9b2): 8192^3 0.97x
with 128x256x64 WS+FLAT, where the pointer-based tiled kernel reached 0.80x; Llama-3-8B
projections with 4096 tokens 0.98-1.01x (tiled: 0.84-0.90x).

tma_bmm_kernel: the same tile (_tma_tile) over a batch of products (bmm, baddbmm). The
persistent programs walk (batch, tile) pairs, batch-major, each batch's tiles in the
swizzled order. A batched operand's descriptor is 3-d with block [1, rows, cols], so
a tile never straddles two matrices (a flattened 2-d descriptor would read the next
batch's rows as the last tile's tail) and C's out-of-bounds rows are clipped per
matrix; an operand shared by every batch (batch stride 0, torch.matmul's broadcast)
keeps a 2-d descriptor, so no descriptor has a zero stride (whether the driver's
encoder takes one was not tried). On sm90 the 3-d loads compile to the same TMA copies
into shared memory feeding wgmma (the reshape folds into the shared-memory view; same
shared memory as the 2-d kernel per config). Aimed at output-bound shapes
(32x 4096x128 @ 128x4096: 1 GiB written, K only two blocks), where the pointer kernel
ran at 0.65x torch on an H100: the persistent loop lets a tile's TMA store drain while
the next tile's loads are in flight. H100, same run as torch: 0.94x at a432211, 0.91x at
1c9cac9 (benchmarks/results).
"""
from __future__ import annotations

import triton
import triton.language as tl

from .kernels import _tile


@triton.jit
def _block(desc, bid, row, col, BATCHED: tl.constexpr, T: tl.constexpr, R: tl.constexpr, C: tl.constexpr):
    """The (R, C) block at (row, col) of matrix `bid` (BATCHED: a 3-d descriptor) or of the
    descriptor's one matrix. T: the descriptor holds the transposed matrix."""
    if BATCHED:
        if T:
            x = desc.load([bid, col, row]).reshape(C, R).T
        else:
            x = desc.load([bid, row, col]).reshape(R, C)
    else:
        if T:
            x = desc.load([col, row]).T
        else:
            x = desc.load([row, col])
    return x


@triton.jit
def _tma_tile(a_desc, b_desc, c_desc, x_ptr, bid, pid_m, pid_n, M, N, k_tiles, sxb, sxm, sxn, alpha, beta,
              HAS_BIAS: tl.constexpr, A_T: tl.constexpr, B_T: tl.constexpr, A_BATCHED: tl.constexpr,
              B_BATCHED: tl.constexpr, C_BATCHED: tl.constexpr, UPCAST: tl.constexpr,
              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, INT64: tl.constexpr,
              SUB: tl.constexpr):
    """One output tile: c[bid] = alpha * a[bid] @ b[bid] + beta * x[bid] over rows pid_m and
    columns pid_n (x only if HAS_BIAS; bid and sxb unused where nothing is batched)."""
    off_m = pid_m * BLOCK_M
    off_n = pid_n * BLOCK_N
    acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
    for ki in range(k_tiles):
        off_k = ki * BLOCK_K
        a = _block(a_desc, bid, off_m, off_k, A_BATCHED, A_T, BLOCK_M, BLOCK_K)
        b = _block(b_desc, bid, off_k, off_n, B_BATCHED, B_T, BLOCK_K, BLOCK_N)
        if UPCAST:   # the interpreter's dot multiplies bf16 bit patterns (kernels._k_loop)
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc)
    out = acc * alpha
    if HAS_BIAS:
        rm = off_m + tl.arange(0, BLOCK_M)
        rn = off_n + tl.arange(0, BLOCK_N)
        if INT64:
            rm = rm.to(tl.int64)
            rn = rn.to(tl.int64)
        mask = (rm[:, None] < M) & (rn[None, :] < N)
        xp = x_ptr + rm[:, None] * sxm + rn[None, :] * sxn
        if C_BATCHED:
            if INT64:
                xp += bid.to(tl.int64) * sxb
            else:
                xp += bid * sxb
        x = tl.load(xp, mask=mask, other=0.0)
        out += beta * x.to(tl.float32)
    out = out.to(c_desc.dtype)
    if SUB:   # two half-width stores (C's descriptor block is BLOCK_N // 2 wide)
        o0, o1 = out.reshape(BLOCK_M, 2, BLOCK_N // 2).permute(0, 2, 1).split()
        if C_BATCHED:
            c_desc.store([bid, off_m, off_n], o0.reshape(1, BLOCK_M, BLOCK_N // 2))
            c_desc.store([bid, off_m, off_n + BLOCK_N // 2], o1.reshape(1, BLOCK_M, BLOCK_N // 2))
        else:
            c_desc.store([off_m, off_n], o0)
            c_desc.store([off_m, off_n + BLOCK_N // 2], o1)
    elif C_BATCHED:
        c_desc.store([bid, off_m, off_n], out.reshape(1, BLOCK_M, BLOCK_N))
    else:
        c_desc.store([off_m, off_n], out)


@triton.jit
def tma_gemm_kernel(a_desc, b_desc, c_desc, x_ptr, M, N, K, sxm, sxn, alpha, beta,
                    HAS_BIAS: tl.constexpr, A_T: tl.constexpr, B_T: tl.constexpr, UPCAST: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                    GROUP_M: tl.constexpr, PROGRAMS: tl.constexpr, WS: tl.constexpr, FLAT: tl.constexpr,
                    INT64: tl.constexpr, SUB: tl.constexpr):
    """c = alpha * a @ b + beta * x (x: the bias, read through its strides, only if HAS_BIAS)."""
    k_tiles = tl.cdiv(K, BLOCK_K)
    tiles = tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N)
    for tile in tl.range(tl.program_id(0), tiles, PROGRAMS, flatten=FLAT, warp_specialize=WS):
        pid_m, pid_n = _tile(tile, M, N, BLOCK_M, BLOCK_N, GROUP_M)
        _tma_tile(a_desc, b_desc, c_desc, x_ptr, 0, pid_m, pid_n, M, N, k_tiles, 0, sxm, sxn, alpha, beta,
                  HAS_BIAS, A_T, B_T, False, False, False, UPCAST, BLOCK_M, BLOCK_N, BLOCK_K, INT64, SUB)


@triton.jit
def tma_bmm_kernel(a_desc, b_desc, c_desc, x_ptr, BATCH, M, N, K, sxb, sxm, sxn, alpha, beta,
                   HAS_BIAS: tl.constexpr, A_T: tl.constexpr, B_T: tl.constexpr,
                   A_BATCHED: tl.constexpr, B_BATCHED: tl.constexpr, UPCAST: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                   GROUP_M: tl.constexpr, PROGRAMS: tl.constexpr, WS: tl.constexpr, FLAT: tl.constexpr,
                   INT64: tl.constexpr, SUB: tl.constexpr):
    """c[i] = alpha * a[i] @ b[i] + beta * x[i] for i < BATCH. c: a 3-d descriptor; a and b
    3-d where A_BATCHED / B_BATCHED, else one 2-d matrix shared by every batch; x (only
    if HAS_BIAS) read through its strides, sxb 0 where it broadcasts over batches."""
    k_tiles = tl.cdiv(K, BLOCK_K)
    per_batch = tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N)
    for tile in tl.range(tl.program_id(0), BATCH * per_batch, PROGRAMS, flatten=FLAT, warp_specialize=WS):
        bid = tile // per_batch
        pid_m, pid_n = _tile(tile - bid * per_batch, M, N, BLOCK_M, BLOCK_N, GROUP_M)
        _tma_tile(a_desc, b_desc, c_desc, x_ptr, bid, pid_m, pid_n, M, N, k_tiles, sxb, sxm, sxn, alpha, beta,
                  HAS_BIAS, A_T, B_T, A_BATCHED, B_BATCHED, True, UPCAST, BLOCK_M, BLOCK_N, BLOCK_K, INT64, SUB)
