"""CPU through Triton's interpreter: the real kernels, run element-exact on CPU tensors.

Slow (~1 ms per program instance), so block sizes are large and tests are tiny.
"""
from __future__ import annotations

from .base import Backend

TABLES = {
    # Large blocks: the interpreter's cost is per program instance, not per element.
    "elementwise": {"BLOCK": 4096, "num_warps": 4},
    # the interpreter adds float16 atomically (numpy); bfloat16 it cannot
    "index": {"half_atomics": ("float16",)},
    "softmax": {"max_single_block": 4096, "chunk": 1024, "num_warps": 4, "split_programs": 8},
    # few programs: a split pass is a second launch, worth it only for long reductions
    "reduction": {"tile": 4096, "max_block_r": 4096, "col_block": 64, "target_programs": 4,
                  "split_min_r": 4096, "num_warps": 4, "scan_tile": 4096, "scan_max_block": 1024},
    # matmul rows: (BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, warps, stages). The smallest tl.dot
    # tiles and a 4-"SM" machine, so tiny tests cross tiles, groups and the split-K path.
    "matmul": {"tiled16": [(16, 16, 16, 2, 4, 1)], "tiled32": [(16, 16, 16, 2, 4, 1)],
               "fp64": [(16, 16, 16, 2, 4, 1)], "skinny": [(16, 16, 16, 1, 4, 1)],
               "skinny_fp64": [(16, 16, 16, 1, 4, 1)], "skinny_gemv": [(1, 16, 16, 1, 4, 1)],
               "skinny_gemv16": [(1, 4, 16, 1, 4, 1)],
               "skinny_fma3": [(4, 16, 16, 2, 4, 1)], "skinny_m": 8, "sms": 4, "waves": 2,
               "reduce_block": 256,
               # the TMA kernel's logic on the CPU: from 32x32x32 up, 16-bit 2-d products take it
               "tma16": [(16, 16, 16, 2, 4, 1, 0, 0)], "tma_min_flops": 1 << 15},
    # Small, so tests reach the streamed (long-row) norm/loss paths at tiny sizes.
    "norm": {"max_single_block": 256, "chunk": 64, "num_warps": 4, "row_groups": 3, "split_programs": 8,
             "long_backward": {"block": 64}, "bwd_tile": 64, "gn_one": 64},
    # Smallest tl.dot tiles, so tiny test sequences still cross several blocks.
    "attention": {"fwd": ((256, (16, 16, 4, 1)),), "bwd": ((256, (16, 16, 16, 16, 4, 1)),),
                  "fwd_tma": ((16, (16, 16, 4, 1)), (64, (16, 16, 4, 1))),
                  "bwd_tma": ((16, (16, 16, 16, 16, 4, 1)), (64, (16, 16, 16, 16, 4, 1)))},
    "paged_attention": {"BLOCK_N": 16, "split": 32},
    # Small rows/blocks so tests cross program and block boundaries at tiny sizes.
    "random": {"Q": 1024, "num_warps": 4, "race_Q": 16, "race_rows": 512, "race_warps": 4},
    "sort": {"max_single_block": 256, "chunk": 128, "num_warps": 4, "radix_block": 64, "radix_cap": 128,
             "radix_per_sm": 1, "pack32": True, "select_max": 1024,
             # the full radix sort (radix_sort.py) off as on GPUs (tests turn it on), in
             # tiles of 64: tiny rows cross tiles
             "radix_sort": False, "radix_sort_tile": 64, "radix_sort_warps": 4},
    # the long-row walk (blocks.walk_plan) off unless a test lowers its threshold, so tiny
    # long-row tests keep reaching the per-row and split paths; chunks of 128 bf16
    "walk": {"min_bytes": 1 << 40, "bwd_min_bytes": 1 << 40, "chunk_bytes": 256, "num_warps": 4},
    # a pretend 4-SM machine: persistent grids walk several rows per program in tiny tests
    "device": {"sms": 4},
}


def make() -> Backend:
    fix_bf16_casts()
    return Backend(
        name="interpreter", device_type="cpu", dispatch_key="CPU", arch="cpu",
        family="interpreter", device_name="cpu (triton interpreter)",
        supports_fp64=True, supports_bf16=True, interpreted=True, tables=TABLES,
    )


def _bf16_bits(f32):
    """float32 array -> bfloat16 bit patterns, round to nearest even (what the GPU's
    cvt.rn.bf16.f32 does). NaN stays NaN (quiet bit set)."""
    import numpy as np
    b = np.ascontiguousarray(f32, dtype=np.float32).view(np.uint32)
    r = ((b + np.uint32(0x7FFF) + ((b >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    nan = np.isnan(f32)
    if nan.any():
        r[nan] = ((b[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def fix_bf16_casts():
    """Triton 3.6's interpreter truncates float32 -> bfloat16 (and mis-converts other
    types to and from bfloat16), while the GPU rounds to nearest even. Patch the
    interpreter's cast so CPU runs compute what the GPU computes."""
    import numpy as np
    import triton.language as tl
    from triton.runtime import interpreter as it

    cls = it.InterpreterBuilder
    if getattr(cls, "_triforge_bf16", False):
        return
    orig_cast, orig_fp = cls.cast_impl, cls.create_fp_to_fp

    def to_f32(h):
        if h.dtype.scalar == tl.bfloat16:
            return (h.data.astype(np.uint32) << 16).view(np.float32)
        return h.data.astype(np.float32)

    def cast_impl(self, src, dst_type):
        s, d = src.dtype.scalar, dst_type.scalar
        if d == tl.bfloat16 and s != tl.bfloat16:
            return it.TensorHandle(_bf16_bits(to_f32(src)).reshape(src.data.shape), tl.bfloat16)
        if s == tl.bfloat16 and d != tl.bfloat16:
            return it.TensorHandle(to_f32(src).astype(it._get_np_dtype(dst_type)), d)
        return orig_cast(self, src, dst_type)

    def create_fp_to_fp(self, src, dst_type, rounding_mode):
        rtz = rounding_mode is not None and "RTZ" in str(rounding_mode)
        if not rtz and (dst_type.scalar == tl.bfloat16 or src.dtype.scalar == tl.bfloat16) \
                and tl.float32 in (src.dtype.scalar, dst_type.scalar):
            return cast_impl(self, src, dst_type)
        return orig_fp(self, src, dst_type, rounding_mode)

    cls.cast_impl = cast_impl
    for name in ("create_si_to_fp", "create_ui_to_fp", "create_fp_to_si", "create_fp_to_ui",
                 "create_fp_ext", "create_fp_trunc"):
        setattr(cls, name, lambda self, src, dst_type: cast_impl(self, src, dst_type))
    cls.create_fp_to_fp = create_fp_to_fp
    cls._triforge_bf16 = True
