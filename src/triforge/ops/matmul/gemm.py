"""Host side of the GEMM: config choice (per-arch table + on-disk tuned choice), split-K
for skinny problems, and the launch.

`gemm(a, b, c, bias, alpha, beta, reduce)` computes, on 3-d strided views,
    c[i] = alpha * a[i] @ b[i] + beta * bias[i]         (reduce=False; bias optional)
    c[0] = alpha * sum_i a[i] @ b[i] + beta * bias[0]   (reduce=True: addbmm)
Every op of the family reduces to this call (ops.py).

Paths, chosen per shape:
  tiled   -- the classic pipelined tile kernel; configs per element size, tuned.
  skinny  -- M <= table["skinny_m"] (decode, mv, dot): BLOCK_M fitted to M, and K split
             across programs until the launch has table["waves"] programs per SM, so the
             whole GPU streams the weight once; partials go to a float32 workspace and
             the tile's last split to arrive (an int32 count per tile) sums them in a
             fixed order (deterministic: no float atomics). Where a split runs fewer
             than table["finish_min_k_blocks"] K blocks, and under CUDA graph capture
             (no counters shared with a replay), a second kernel sums instead.
  float64 -- FMA tiles (see kernels._k_loop), or tl.dot where table["fp64_dot"] (Hopper's
             DMMA: 0.87-1.02x cuBLAS where the FMA tiles ran at 0.008x); tiled or skinny.
  gemv    -- one row (M = 1, any dtype but float64): no tl.dot, a broadcast GEMV
             (table["skinny_gemv"] for float32, ["skinny_gemv16"] for 16-bit): the weight
             in few-column tiles of long K runs. H100 (explore_fp32.py gemv / gemv16): float32
             0.98-1.07x cuBLAS where the FMA dot reached 0.30x; bf16 1.05-1.10x where the
             tl.dot split-K path reached 0.94-1.03x.
  fma3    -- float32 IEEE (TF32 off) on 2..table["fma3_max_m"] rows: no tl.dot, whose FMA
             form reads a decode weight at 0.30-0.48x cuBLAS on the H100: a 3-d accumulator
             (table["skinny_fma3"], BLOCK_M up to the row's; GROUP_M groups a column's row
             tiles so they read its weight from L2); see kernels.gemm_kernel's FMA.

  x3      -- float32 with TF32 off (torch's IEEE products) where table["fp32_x3"] is set
             (Hopper): tl.dot's tf32x3 -- each operand split into a TF32 high part and the
             rest, three TF32 products (the cross terms' NaN from an infinite input dropped,
             so inf and NaN land where IEEE puts them). H100 explore_fp32_x3.py at bdf20f3,
             error against float64 2.4e-7 where cuBLAS's IEEE product has 1.1e-6; x cuBLAS
             1.60-1.64 (F.linear), where the FMA dot reached 0.43-0.45. TF32's B operand must
             be K-contiguous in shared memory for speed (a row-major B: 0.66-0.71x), so a
             product with B N-contiguous runs transposed (c.T = b.T @ a.T: 1.51-1.59x) where
             a is K-contiguous, else on a K-contiguous copy of B (dy.T @ x: 1.40x; 1.13x
             uncopied) up to table["fp32_x3_copy_bytes"]. Skinny rows take it where B is
             K-contiguous (F.linear's decode: M=8 1.48x, M=32 1.42-1.73x against the 3-d
             accumulator's 1.28 / 0.70x, explore_fp32.py at 54db378); one row keeps the GEMV.
             Below ~2^-115 an input's low part falls under what TF32 holds: subnormal
             inputs keep 10 bits at 2^-126's scale (H100: 3.3e-3 relative error on inputs of
             ~1e-39, where IEEE keeps ~20 bits); none is flushed.

  tma     -- where the backend table offers "tma16" configs (Hopper): a 16-bit product
             (mm/addmm, or bmm/baddbmm: B*M*N*K counted) of at least
             table["tma_min_flops"] multiply-adds whose operands and output TMA can
             address (16-byte aligned base, row and batch strides, unit inner stride,
             either orientation of A and B, an operand shared by all batches through
             stride 0), and whose output fills half the SMs with the configs' tiles, runs
             kernels_tma's persistent descriptor kernel (its batched sibling for B > 1;
             addbmm stays tiled). Its launches pass host tensor descriptors, which the
             C++ entry encodes on each repeat (since dd4f013; before, these calls ran
             Python every time, which the threshold was first set against). Lower
             thresholds did not change the main job's step (explore_tma_threshold.py).
"""
from __future__ import annotations

import hashlib
import inspect

import torch
import triton.language as tl
from triton.runtime.errors import OutOfResources
from triton.tools.tensor_descriptor import TensorDescriptor

from ...backends import current as backend
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2, sm_count
from ...runtime import scratch as scratch_buffer
from ...runtime.arrivals import arrivals
from ...runtime.autotune import Tuner, bucket
from . import kernels_tma
from .kernels import gemm_kernel, splitk_reduce_kernel
from .kernels_tma import tma_bmm_kernel, tma_gemm_kernel

_gemm = Launcher(gemm_kernel)
_reduce = Launcher(splitk_reduce_kernel)
_tma = Launcher(tma_gemm_kernel)
_tma_b = Launcher(tma_bmm_kernel)
_b = backend()
_T = _b.table("matmul")
_INTERP = _b.interpreted
_SKINNY_M = _T.get("skinny_m", 64)
_WAVES = _T.get("waves", 4)
_REDUCE_BLOCK = _T.get("reduce_block", 1024)
# The last split finishes its tile (no reduce launch) only where each split runs at least
# this many K blocks: its arrival count's round trip delays the program's exit, which a
# short split feels. H100 bench at fce74de (finishing every split): M=1 4096->14336 0.925
# -> 0.957x torch (6 blocks per split), 14336->4096 0.949 -> 0.995 (7), but M=32
# 4096->4096 0.821 -> 0.739 (2).
_FINISH_STEPS = _T.get("finish_min_k_blocks", 4)
# L2 policy of a skinny product's weight loads (kernels.gemm_kernel's EVICT) for weights of
# STREAM_BYTES and up: read once, so evict_first (see reduction.engine.READ_POLICY).
READ_POLICY = _T.get("read_policy", 0)
STREAM_BYTES = _T.get("stream_bytes", 64 << 20)
_SMEM = _T.get("smem_budget", 160 * 1024)   # bytes of operand pipeline a skinny config may use
# y = grid axis 1 (batches) and z (splits) are limited to 65535 on CUDA.
MAX_BATCH = 65535


def _cfgs(name, default):
    rows = _T.get(name) or default
    # an optional 7th entry (skinny rows): the split-K target in programs per SM
    return [dict(zip(("BM", "BN", "BK", "G", "warps", "stages", "waves"), r)) for r in rows]


_DEFAULT = [(64, 64, 32, 8, 4, 3)]
_tuners = {
    2: Tuner("matmul_tiled16", _gemm.src_hash, _cfgs("tiled16", _DEFAULT)),
    4: Tuner("matmul_tiled32", _gemm.src_hash, _cfgs("tiled32", _DEFAULT)),
    8: Tuner("matmul_fp64", _gemm.src_hash, _cfgs("fp64", [(32, 32, 8, 8, 4, 2)])),
    "skinny": Tuner("matmul_skinny", _gemm.src_hash, _cfgs("skinny", [(16, 64, 128, 1, 4, 3)])),
    "skinny8": Tuner("matmul_skinny_fp64", _gemm.src_hash, _cfgs("skinny_fp64", [(16, 32, 16, 1, 4, 2)])),
    "gemv": Tuner("matmul_gemv_ieee", _gemm.src_hash, _cfgs("skinny_gemv", [(1, 16, 512, 1, 4, 3, 1)])),
    "gemv16": Tuner("matmul_gemv16", _gemm.src_hash, _cfgs("skinny_gemv16", [(1, 4, 2048, 1, 4, 3, 1)])),
    "fma3": Tuner("matmul_fma3_ieee", _gemm.src_hash, _cfgs("skinny_fma3", [(8, 64, 16, 1, 4, 3, 4)])),
}
_FMA3_M = _T.get("fma3_max_m", 8)
# float64 through tl.dot where the table says the target has a float64 MMA (fp64_dot): H100
# explore_fp64.py at 18458fa, x cuBLAS's DGEMM, 2048^3 / 4096^3 / 4096^3 with B transposed:
# the FMA tiles 0.007 / 0.008 / 0.008 (0.4 TFLOP/s), tl.dot 128x64x16 0.87 / 0.92 / 1.02
_F64_DOT = _T.get("fp64_dot", False)
_X3 = _T.get("fp32_x3", False)
_X3_COPY = _T.get("fp32_x3_copy_bytes", 1 << 30)
_tuners["x3"] = Tuner("matmul_tiled32_x3", _gemm.src_hash, _cfgs("tiled32_x3", [(128, 128, 32, 8, 8, 4)]))
_tuners["skinny_x3"] = Tuner("matmul_skinny_x3", _gemm.src_hash, _cfgs("skinny_x3", [(16, 64, 64, 1, 4, 3, 4)]))


def _fma_mode(dtype, prec, M, reduce) -> int:
    """The K loop's form (kernels.gemm_kernel's FMA): 0 tl.dot, 1 broadcast products summed
    each step (float64; one row of any dtype: a GEMV, IEEE even where TF32 is allowed), 2 a
    3-d accumulator (float32 IEEE, a few rows)."""
    if dtype is torch.float64:
        return 0 if _F64_DOT else 1
    if reduce or M > _SKINNY_M:
        return 0
    if M == 1:
        return 1
    return 2 if prec == "ieee" and M <= _FMA3_M else 0


_TMA_ROWS = _T.get("tma16")
_TMA_MIN = _T.get("tma_min_flops", 1 << 32)
# ...and whose output fills at least half the SMs with tiles of the first config's size
# (128x256 on the H100; the configs share it):
# a persistent kernel over fewer tiles leaves SMs idle through a long K, where the tiled
# kernel splits K. H100 explore_tma_threshold.py at c6d733d, us, TMA / tiled (torch):
# 2048x32000 @ 32000x1024 (64 tiles) 306.5 / 195.0 (183.9); 1024x16384 @ 16384x1024
# (32 tiles) 153.0 / 83.4 (58.5); at 88 tiles 160.2 / 167.3 (132.2), 512 tiles
# 55.6 / 66.8 (52.9).
# 60 ms of timing per config: at 4096x4096->14336 the configs lie ~5% apart, and the
# default 20 ms picked one 0.94x cuBLAS where another reached 0.98x (H100)
# keyed by the whole of kernels_tma.py: both kernels share their tile (_tma_tile), which
# a Launcher's src_hash (the kernel function's own source) would not see change
_TMA_HASH = hashlib.sha256(inspect.getsource(kernels_tma).encode()).hexdigest()[:16]
_tma_tuner = Tuner("matmul_tma16", _TMA_HASH, [
    dict(zip(("BM", "BN", "BK", "G", "warps", "stages", "ws", "flat", "sub"), r)) for r in _TMA_ROWS or ()],
    rep_ms=60) if _TMA_ROWS else None


def _sm_count() -> int:
    return _T.get("sms") or sm_count()


def _precision(dtype) -> str | None:
    """tl.dot's input precision: TF32 for float32 only where torch would use it on the GPU
    (torch.backends.cuda.matmul.allow_tf32 / set_float32_matmul_precision)."""
    if dtype is not torch.float32:
        return None
    if not _INTERP and torch._C._get_cublas_allow_tf32():
        return "tf32"
    return "ieee"


def _x3_route(a, b, M, K) -> str | None:
    """How a float32 IEEE product runs as tf32x3 (module docstring): "x3" as it is (B
    K-contiguous), "swap" (c.T = b.T @ a.T), "copy" (B copied K-contiguous), or None (the
    IEEE FMA paths: no table flag, one row, or skinny rows with B N-contiguous)."""
    if not _X3 or M == 1:
        return None
    if b.stride(-2) == 1 or K == 1:
        return "x3"
    if M <= _SKINNY_M:
        return None
    if a.stride(-1) == 1:
        return "swap"
    return "copy" if b.numel() * b.element_size() <= _X3_COPY else None


def _split(cfg, B, M, N, K) -> tuple[int, int]:
    """(splits, K per split) for a skinny problem: enough programs for `waves` per SM,
    each split at least two K blocks long."""
    tiles = cdiv(M, cfg["BM"]) * cdiv(N, cfg["BN"]) * B
    want = cdiv(cfg.get("waves", _WAVES) * _sm_count(), tiles)
    bk = cfg["BK"]
    split = max(1, min(want, K // (2 * bk), 64))
    if split == 1:
        return 1, max(K, 1)
    k_split = cdiv(cdiv(K, split), bk) * bk
    return cdiv(K, k_split), k_split


_plans: dict = {}


def _plan(B, M, N, K, dtype, reduce, prec, mode, run):
    """(config, splits, K per split) for a problem, tuned once per bucketed key."""
    key = (B, M, N, K, dtype, reduce, prec)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    size = dtype.itemsize
    skinny = M <= _SKINNY_M and not reduce
    nodot = mode and size != 8
    if nodot:
        tuner = _tuners["fma3" if mode == 2 else "gemv" if size == 4 else "gemv16"]
    elif skinny:
        tuner = _tuners["skinny_x3" if prec == "tf32x3" else "skinny8" if size == 8 else "skinny"]
    else:
        tuner = _tuners["x3" if prec == "tf32x3" else size if size in (4, 8) else 2]

    def fit(cfg):
        if not skinny:
            return cfg, 1, max(K, 1)
        if nodot:   # BLOCK_M up to M's power of two (1 for the GEMV); a short K (a batched
            # one-row product against 128-long heads) does not run 2048-wide masked blocks
            cfg = dict(cfg, BM=1 if mode == 1 else min(cfg["BM"], next_power_of_2(M)),
                       BK=min(cfg["BK"], max(16, next_power_of_2(K))))
            return (cfg,) + _split(cfg, B, M, N, K)
        # BLOCK_M follows M (tl.dot needs >= 16); BLOCK_M wider than M would re-read nothing
        # but waste registers, narrower would read the weight twice.
        cfg = dict(cfg, BM=max(cfg["BM"], min(64, next_power_of_2(M))))
        # a wider BLOCK_M grows the pipeline's shared memory: halve BLOCK_K until it fits
        # (float32 16x64x256 widened to M=37 needed 256 KiB on H100: OutOfResources, and
        # the first row is the one used untuned, e.g. under CUDA graph capture)
        while (cfg["BM"] + cfg["BN"]) * cfg["BK"] * size * max(cfg["stages"] - 1, 1) > _SMEM and cfg["BK"] > 16:
            cfg = dict(cfg, BK=cfg["BK"] // 2)
        return (cfg,) + _split(cfg, B, M, N, K)

    tkey = (bucket(B), bucket(M), bucket(N), bucket(K), str(dtype), reduce, prec == "tf32")
    best = tuner.best(tkey, lambda c: run(*fit(c)))
    plan = fit(best)
    if len(_plans) > 4096:
        _plans.clear()
    _plans[key] = plan
    return plan


def _s3(t):
    """(batch, row, column) strides of a 3-d operand, or of a 2-d one as one batch."""
    st = t.stride()
    return st if len(st) == 3 else (0, *st)


def _tma_major(t, rows, cols):
    """How TMA can read the matrices of `t` (2-d, or 3-d: its last two dims), rows x cols:
    False row-major, True column-major (read as the transposed matrix), None if neither
    fits its rules."""
    if t.data_ptr() % 16:
        return None
    size = t.element_size()
    s0, s1 = t.stride()[-2:]
    if s1 == 1 and (s0 * size) % 16 == 0 and (s0 >= cols or rows == 1):
        return False
    if s0 == 1 and (s1 * size) % 16 == 0 and (s1 >= rows or cols == 1):
        return True
    return None


def _tma_batched(t, batches):
    """Whether the operand `t` needs a 3-d descriptor (its own matrix per batch), or None
    if its batch stride breaks TMA's rules. False for 2-d operands, one batch, and a
    batch stride of 0 (a matrix shared by every batch: one 2-d descriptor)."""
    if batches == 1 or t.stride(0) == 0:
        return False
    return None if (t.stride(0) * t.element_size()) % 16 else True


def _tma_desc(t, rows, cols, trans, batches, block_r, block_c):
    """Descriptor of t's rows x cols matrices, read in block_r x block_c blocks; trans: t
    stores them transposed (the descriptor covers the stored matrix and its blocks are
    transposed); batches > 1: 3-d, one [1, ...] block per matrix."""
    st = t.stride()
    if trans:
        shape, strides, block = [cols, rows], [st[-1], 1], [block_c, block_r]
    else:
        shape, strides, block = [rows, cols], [st[-2], 1], [block_r, block_c]
    if batches > 1:
        return TensorDescriptor(t, [batches, *shape], [st[0], *strides], [1, *block])
    return TensorDescriptor(t, shape, strides, block)


def _tma_run(a, b, c, bias, alpha, beta, B, M, N, K, a_t, b_t, a_b, b_b):
    """One launch of kernels_tma's kernels (tma_gemm_kernel, or tma_bmm_kernel for B > 1)
    under the tuned config; False where no config fits the card (the tiled kernel runs)."""
    def run(cfg, out=c):
        bm, bn, bk = cfg["BM"], cfg["BN"], cfg["BK"]
        ad = _tma_desc(a, M, K, a_t, B if a_b else 1, bm, bk)
        bd = _tma_desc(b, K, N, b_t, B if b_b else 1, bk, bn)
        sub = bool(cfg.get("sub", 0))
        cd = _tma_desc(out, M, N, False, B, bm, bn // 2 if sub else bn)
        programs = min(_sm_count(), cdiv(M, bm) * cdiv(N, bn) * B)
        x = bias if bias is not None else out
        xs = x.stride()
        meta = (bm, bn, bk, cfg["G"], programs, bool(cfg["ws"]), bool(cfg["flat"]), needs_int64(x), sub)
        if B > 1:
            _tma_b((programs,), ad, bd, cd, x, B, M, N, K, xs[0], xs[1], xs[2], alpha, beta,
                   bias is not None, a_t, b_t, a_b, b_b, _INTERP, *meta,
                   num_warps=cfg["warps"], num_stages=cfg["stages"])
        else:
            _tma((programs,), ad, bd, cd, x, M, N, K, xs[-2], xs[-1], alpha, beta,
                 bias is not None, a_t, b_t, _INTERP, *meta, num_warps=cfg["warps"], num_stages=cfg["stages"])

    def trial(cfg):   # tuning never writes into c, which may alias the bias (addmm_)
        run(cfg, out=torch.empty_like(c))

    # The bias epilogue needs shared memory of its own, which depends on how Triton
    # specialises the bias strides (a unit inner stride loads it vectorised and converts
    # its layout through shared memory): 128x256 tiles that fit without a bias
    # overflowed with one (fp16 addmm on the H100: 245784 > 232448 bytes). So the bias
    # and its stride class are part of the key, and a config that does not fit gives
    # way to the others in table order; where none fits, the tiled kernel runs.
    # Batched products: the batch count's bucket and which operands are batched, too.
    # The stride class is a string: the Tuner's on-disk cache reads a key back as a tuple
    # of JSON values, and a nested tuple would come back as an (unhashable) list, which
    # drops the whole file on load.
    if bias is None:
        bias_kind = None
    else:
        xs = bias.stride()[-2:] if B == 1 else bias.stride()
        bias_kind = "".join("01"[f] for f in (*(s == 0 for s in xs), xs[-1] == 1))
    tkey = (bucket(B), bucket(M), bucket(N), bucket(K), str(a.dtype), a_t, b_t, a_b, b_b, bias_kind)
    cfg = _tma_fit.get(tkey)
    if cfg is None:
        cfg = _tma_tuner.best(tkey, trial)
    if cfg is False:
        return False
    for c_try in [cfg] + [x for x in _tma_tuner.configs if x is not cfg]:
        try:
            run(c_try)
        except OutOfResources:
            continue
        _tma_fit[tkey] = c_try
        return True
    _tma_fit[tkey] = False
    return False


_tma_fit: dict = {}   # key -> the config that ran (or False: none fits)


def _tma_fits(a, b, c, B, M, N, K):
    """(a_t, b_t, a_batched, b_batched) where the TMA kernels take this product (B
    matrices, 2-d or 3-d operands), else None. The output: row-major matrices, and for
    B > 1 16-byte aligned batches that do not overlap (torch's contiguous layout, or
    padded)."""
    if (_tma_tuner is None or a.dtype not in (torch.float16, torch.bfloat16)
            or B * M * N * K < _TMA_MIN or M <= _SKINNY_M
            or B * cdiv(M, _TMA_ROWS[0][0]) * cdiv(N, _TMA_ROWS[0][1]) < _sm_count() // 2):
        return None
    a_t = _tma_major(a, M, K)
    b_t = _tma_major(b, K, N)
    if a_t is None or b_t is None or _tma_major(c, M, N) is not False:
        return None
    a_b = _tma_batched(a, B)
    b_b = _tma_batched(b, B)
    if a_b is None or b_b is None:
        return None
    if B > 1:
        scb = c.stride(0)
        if (scb * c.element_size()) % 16 or scb < M * c.stride(1):
            return None
    return a_t, b_t, a_b, b_b


def gemm(a, b, c, bias=None, alpha=1.0, beta=1.0, reduce=False, blas_alpha=True):
    """See the module docstring. a (B,M,K), b (B,K,N), c (Bc,M,N), bias like c or None --
    or all four 2-d (one batch); strided views of one float dtype on one device. Returns c.
    blas_alpha: alpha == 0 means a and b are not read (BLAS, so cuBLAS and CPU torch:
    NaN/Inf there do not reach c); addr passes False (torch computes alpha*v1*v2)."""
    if a.dim() == 2:   # mm/addmm: no batch (3 unsqueezes cost ~5 us of host time a call)
        B, (M, K), N, Bc = 1, a.shape, b.shape[1], 1
    else:
        B, M, K = a.shape
        N = b.shape[2]
        Bc = c.shape[0]
    if Bc == 0 or M == 0 or N == 0:
        return c
    alpha, beta = float(alpha), float(beta)   # int/bool scalars would compile as integers
    if alpha == 0 and blas_alpha:
        K = 0
    if not reduce:
        lay = _tma_fits(a, b, c, B, M, N, K)
        if lay is not None and _tma_run(a, b, c, bias, alpha, beta, B, M, N, K, *lay):
            return c
    dtype = a.dtype
    prec = _precision(dtype)
    if prec == "ieee" and K > 0:
        route = _x3_route(a, b, M, K)
        if route == "swap":
            gemm(b.mT, a.mT, c.mT, None if bias is None else bias.mT, alpha, beta, reduce, blas_alpha)
            return c
        if route == "copy":
            b = b.mT.contiguous().mT
        if route is not None:
            prec = "tf32x3"
    fma = _fma_mode(dtype, prec, M, reduce)
    f64 = dtype is torch.float64
    if f64 and not fma:
        prec = "ieee"   # the float64 MMA (no TF32 there; Triton's default names one)
    acc = tl.float64 if f64 else tl.float32
    ws_dtype = torch.float64 if f64 else torch.float32
    upcast = _INTERP and not fma and dtype.itemsize == 2   # 16-bit bit patterns (kernels._k_loop)
    has_bias = bias is not None
    if not has_bias:
        bias = c
    R = B if reduce else 1
    evict = READ_POLICY if M <= _SKINNY_M and b.numel() * b.element_size() >= STREAM_BYTES else 0

    def run(cfg, split, k_split, out=c):
        if split > 1:
            ws = scratch_buffer((split, Bc, M, N), ws_dtype, c.device)
            grid = (cdiv(M, cfg["BM"]) * cdiv(N, cfg["BN"]), Bc, split)
            cnt = arrivals(c.device, grid[0] * Bc) if k_split >= _FINISH_STEPS * cfg["BK"] else None
            if cnt is not None:   # the last split of each tile finishes it: one launch
                big = needs_int64(a, b, ws, out, bias)
                _gemm(grid, a, b, ws, bias, out, cnt, M, N, K, R, k_split,
                      *_s3(a), *_s3(b), *_s3(out), *_s3(bias), alpha, beta,
                      has_bias, True, True, reduce, acc, prec, fma, upcast,
                      cfg["BM"], cfg["BN"], cfg["BK"], cfg["G"], big, evict,
                      num_warps=cfg["warps"], num_stages=cfg["stages"])
                return
            big = needs_int64(a, b, ws)
            _gemm(grid, a, b, ws, bias, ws, ws, M, N, K, R, k_split,
                  *_s3(a), *_s3(b),
                  0, 0, 0, 0, 0, 0, 1.0, 0.0,
                  False, True, False, reduce, acc, prec, fma, upcast,
                  cfg["BM"], cfg["BN"], cfg["BK"], cfg["G"], big, evict,
                  num_warps=cfg["warps"], num_stages=cfg["stages"])
            total = Bc * M * N
            big = needs_int64(ws, out, bias)
            _reduce((cdiv(total, _REDUCE_BLOCK),), ws, out, bias, total, split, M, N,
                    *_s3(out), *_s3(bias), alpha, beta, has_bias, _REDUCE_BLOCK, big, num_warps=4)
            return
        big = needs_int64(a, b, out, bias)
        grid = (cdiv(M, cfg["BM"]) * cdiv(N, cfg["BN"]), Bc, 1)
        _gemm(grid, a, b, out, bias, out, out, M, N, K, R, k_split,
              *_s3(a), *_s3(b), *_s3(out), *_s3(bias),
              alpha, beta, has_bias, False, False, reduce, acc, prec, fma, upcast,
              cfg["BM"], cfg["BN"], cfg["BK"], cfg["G"], big, evict,
              num_warps=cfg["warps"], num_stages=cfg["stages"])

    scratch = []

    def trial(cfg, split, k_split):
        # tuning runs a config several times: never into c, which may alias the bias (addmm_)
        if not scratch:
            scratch.append(torch.empty(c.shape, device=c.device, dtype=c.dtype))
        run(cfg, split, k_split, out=scratch[0])

    cfg, split, k_split = _plan(B, M, N, K, dtype, reduce, prec, fma, trial)
    run(cfg, split, k_split)
    return c
