"""The Hopper GEMM: persistent programs that read tiles through TMA tensor descriptors.

One program per SM walks output tiles pid, pid + PROGRAMS, ... in the swizzled order
of kernels._tile; each tile's K loop loads A and B blocks through host-built
descriptors (out-of-bounds rows and columns read as zeros, so no masks) and the result
goes out through C's descriptor (clipped at the edges). WS: Triton's automatic warp
specialisation of the tile loop (producer warps issue the TMA loads, consumer warps the
wgmma); FLAT: the tile and K loops flattened into one pipelined loop.

A_T / B_T: the operand is stored K-major the other way round (A as (K, M) rows, B as
(N, K) rows, e.g. F.linear's weight): its descriptor covers the stored matrix and each
loaded block is transposed in registers, no copy.

H100, bf16, same run as cuBLAS (scripts/explore_tma_gemm.py at 97ec9b2): 8192^3 0.97x
with 128x256x64 WS+FLAT, where the pointer-based tiled kernel reached 0.80x; Llama-3-8B
projections with 4096 tokens 0.98-1.01x (tiled: 0.84-0.90x).
"""
from __future__ import annotations

import triton
import triton.language as tl

from .kernels import _tile


@triton.jit
def tma_gemm_kernel(a_desc, b_desc, c_desc, x_ptr, M, N, K, sxm, sxn, alpha, beta,
                    HAS_BIAS: tl.constexpr, A_T: tl.constexpr, B_T: tl.constexpr, UPCAST: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                    GROUP_M: tl.constexpr, PROGRAMS: tl.constexpr, WS: tl.constexpr, FLAT: tl.constexpr,
                    INT64: tl.constexpr):
    """c = alpha * a @ b + beta * x (x: the bias, read through its strides, only if HAS_BIAS)."""
    k_tiles = tl.cdiv(K, BLOCK_K)
    tiles = tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N)
    for tile in tl.range(tl.program_id(0), tiles, PROGRAMS, flatten=FLAT, warp_specialize=WS):
        pid_m, pid_n = _tile(tile, M, N, BLOCK_M, BLOCK_N, GROUP_M)
        off_m = pid_m * BLOCK_M
        off_n = pid_n * BLOCK_N
        acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for ki in range(k_tiles):
            off_k = ki * BLOCK_K
            if A_T:
                a = a_desc.load([off_k, off_m]).T
            else:
                a = a_desc.load([off_m, off_k])
            if B_T:
                b = b_desc.load([off_n, off_k]).T
            else:
                b = b_desc.load([off_k, off_n])
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
            x = tl.load(x_ptr + rm[:, None] * sxm + rn[None, :] * sxn, mask=mask, other=0.0)
            out += beta * x.to(tl.float32)
        c_desc.store([off_m, off_n], out.to(c_desc.dtype))
