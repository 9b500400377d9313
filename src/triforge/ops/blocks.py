"""The first step of every flat elementwise-style kernel."""
import triton
import triton.language as tl


@triton.jit
def block_range(n, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """This program's BLOCK flat indices (int64 when offsets may pass 2**31) and which of
    them are < n."""
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    idx = pid * BLOCK + tl.arange(0, BLOCK)
    return idx, idx < n
