"""int32 offsets where every offset fits, int64 otherwise -- decided per launch."""
from __future__ import annotations

_I32_MAX = 2**31 - 1


# Host-side sizes: triton.cdiv and triton.next_power_of_2 are constexpr_functions in
# Triton 3.6, whose __call__ unwraps every argument: ~4.5 us a call on the H200 host,
# 11 calls (50 us) in one split sum. These are plain functions.
def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def max_offset(t) -> int:
    """Largest element offset (from the data pointer) that indexing `t` can reach."""
    n = t.numel()
    if n == 0:
        return 0
    if t.is_contiguous():
        return n - 1
    return sum((s - 1) * abs(st) for s, st in zip(t.shape, t.stride()))


def needs_int64(*tensors, extra: int = 0) -> bool:
    """True when some offset into one of `tensors` (or `extra`, e.g. a padded grid
    extent) does not fit in int32. Kernels take this as a constexpr INT64 flag."""
    if extra > _I32_MAX:
        return True
    for t in tensors:
        if t.numel() > _I32_MAX or max_offset(t) > _I32_MAX:
            return True
    return False
