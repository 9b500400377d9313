"""The flat-index -> 4-d coordinate step every index/movement kernel starts with."""
import triton
import triton.language as tl

from ..blocks import block_range


@triton.jit
def block_coords4(numel, o1, o2, o3, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """This program's BLOCK flat indices into a row-major (., o1, o2, o3) shape, their
    mask, and their coordinates (c0, c1, c2, c3). Kernels merge dims to at most four."""
    offs, mask = block_range(numel, BLOCK, INT64)
    c3 = offs % o3
    r = offs // o3
    c2 = r % o2
    r = r // o2
    c1 = r % o1
    c0 = r // o1
    return offs, mask, c0, c1, c2, c3
