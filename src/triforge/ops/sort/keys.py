"""Order-preserving unsigned keys for sorting and selection.

`key(v)` maps a value of a BITS-wide dtype (bool, 8/16/32-bit ints, float16, bfloat16,
float32) onto [0, 2^BITS) so that a larger value has a larger key: floats by their
sign-flipped bits, -0.0 folded onto +0.0, every NaN the largest key (torch orders NaN
above +inf); signed ints offset by 2^(BITS-1). A key of the dtype's own width (not of its
float32 rounding) lets a radix select spend its passes on bits that differ.

`packed(key, col)` is one uint64 `key << (64 - BITS) | (0xFFFFFFFF - col)`: the best
element has the largest word, and equal keys keep their index order (lower index first).
`packed32` is the same in 32 bits for keys of at most 16 bits and rows of at most 2^16.
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def key(v, BITS: tl.constexpr, LARGEST: tl.constexpr):
    """uint32 key in [0, 2^BITS); inverted within BITS when not LARGEST (smallest first)."""
    if v.dtype.is_floating():
        if BITS == 16:
            b = v.to(tl.int16, bitcast=True).to(tl.int32) & 0xFFFF
            k = tl.where((b & 0x8000) != 0, b ^ 0xFFFF, b ^ 0x8000)
            f = v.to(tl.float32)   # the interpreter compares 16-bit NaNs as numbers
            k = tl.where(f == 0, 0x8000, k)
            k = tl.where(f != f, 0xFFFF, k).to(tl.uint32)   # noqa: PLR0124 (NaN test)
        else:
            f = v.to(tl.float32)
            f = tl.where(f == 0, 0.0, f)
            b = f.to(tl.uint32, bitcast=True)
            k = b ^ tl.where((b >> 31) != 0, 0xFFFFFFFF, 0x80000000).to(tl.uint32)
            k = tl.where(f != f, 0xFFFFFFFF, k).to(tl.uint32)  # noqa: PLR0124 (NaN test)
    elif v.dtype.is_int_signed():
        if BITS == 32:
            k = (v.to(tl.int32) ^ -2147483648).to(tl.uint32, bitcast=True)
        else:
            k = (v.to(tl.int32) + (1 << (BITS - 1))).to(tl.uint32)
    else:
        k = v.to(tl.int32).to(tl.uint32)
    if not LARGEST:   # xor, not `~`: the interpreter's ~ overflows on uint32
        if BITS == 32:
            k = k ^ 0xFFFFFFFF
        else:
            k = k ^ ((1 << BITS) - 1)
    return k.to(tl.uint32)


@triton.jit
def key64(v):
    """A 64-bit value's signed int64 key, larger for a larger value (floats: -0.0 as 0.0,
    every NaN the largest)."""
    if v.dtype.is_floating():
        f = tl.where(v == 0, 0.0, v)
        b = f.to(tl.int64, bitcast=True)
        b = tl.where(b < 0, b ^ 0x7FFFFFFFFFFFFFFF, b)
        b = tl.where(f != f, 0x7FFFFFFFFFFFFFFF, b)  # noqa: PLR0124 (NaN test)
    else:
        b = v.to(tl.int64)
    return b


@triton.jit
def packed(k, cols, BITS: tl.constexpr):
    return (k.to(tl.uint64) << (64 - BITS)) | (cols.to(tl.uint32) ^ 0xFFFFFFFF).to(tl.uint64)


@triton.jit
def packed32(k, cols, BITS: tl.constexpr):
    """packed's 32-bit form for keys of at most 16 bits and rows of at most 2^16: half the
    bits for a sorting network to move."""
    return (k << (32 - BITS)) | ((cols.to(tl.uint32) ^ 0xFFFF) & 0xFFFF)


@triton.jit
def write_best(x_ptr, v_ptr, i_ptr, best, row, row_base, K, BLOCK: tl.constexpr):
    """Row `row` of the outputs: the K best packed words' indices, and their values re-read
    from x (the exact input bits: -0.0 and NaN payloads kept)."""
    if best.dtype == tl.uint32:   # packed32
        idx = ((best & 0xFFFF) ^ 0xFFFF).to(tl.int64)
    else:
        idx = ((best & 0xFFFFFFFF).to(tl.uint32) ^ 0xFFFFFFFF).to(tl.int64)
    write_at(x_ptr, v_ptr, i_ptr, idx, row, row_base, K, BLOCK)


@triton.jit
def write_at(x_ptr, v_ptr, i_ptr, idx, row, row_base, K, BLOCK: tl.constexpr):
    """Row `row` of the outputs from the first K of BLOCK indices (int64), values re-read."""
    j = tl.arange(0, BLOCK)
    m = j < K
    vals = tl.load(x_ptr + row_base + idx, mask=m)
    out = row.to(tl.int64) * K + j
    tl.store(v_ptr + out, vals, mask=m)
    tl.store(i_ptr + out, idx, mask=m)
