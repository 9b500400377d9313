"""randperm: each position i draws a random key from Philox; sorting the keys orders
the positions uniformly at random. One program holds the whole permutation: the word
`key << IB | i` (IB = log2 of the block) is sorted by one bitonic `tl.sort` in
registers, as sort.py's single-block rows, and the sorted words' low bits are the
permutation -- nothing goes through memory but the output.

Exactly uniform: the keys have 64 - IB random bits (54 at 1024 positions). Two equal
keys would be ordered by index, not at random, so after the sort the program compares
neighbours and, on any tie (about 2**-35 per call at n = 1024), draws all keys again
with the next counter; a permutation is kept only when all keys differ, and given
that event every order is equally likely. No host sync: the redraw loop is in-kernel.

Served: n up to 1024 (or the sort table's max_single_block where smaller: 256 under
the interpreter). Longer permutations go to ATen: one program's sort is slower than
torch there (measured below), and a multi-block sort of 64-bit words is not written.
Every dtype torch's randperm takes (integers but bool and uint16+, float16/bfloat16/
float32/float64); where torch refuses n for the dtype (int8 above 128, float16 above
2049, ...) or a layout / pin_memory / out= dtype it does not take, the call goes to
ATen, which raises its own error. The permutation is written as int64 and converted
on store (bfloat16 past 256 rounds to repeated values, as torch's static_cast does).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, next_power_of_2
from .philox import generator_ok, seed_and_offset


@triton.jit
def _randperm_kernel(out_ptr, N, stride, seed, offset, BLOCK: tl.constexpr, IB: tl.constexpr):
    pos = tl.arange(0, BLOCK)
    live = pos < N
    o = tl.cast(offset, tl.uint64)
    zero = tl.zeros([BLOCK], tl.uint32)
    c_lo = pos.to(tl.uint32)
    o_lo = (o & 0xFFFFFFFF).to(tl.uint32) + zero
    o_hi = ((o >> 32).to(tl.uint32) ^ 0x54524946) + zero
    attempt = tl.full([], 0, tl.uint32)
    tie = tl.full([], 1, tl.int32)
    s = tl.zeros([BLOCK], tl.uint64)
    while tie != 0:
        r0, r1, _, _ = tl.philox(seed, c_lo, zero + attempt, o_lo, o_hi)
        rnd = (r0.to(tl.uint64) << 32) | r1.to(tl.uint64)
        w = ((rnd >> IB) << IB) | pos.to(tl.uint64)
        # padding (N < BLOCK) sorts last: a live index is below BLOCK - 1, never all ones
        s = tl.sort(tl.where(live, w, 0xFFFFFFFFFFFFFFFF).to(tl.uint64))
        key = s >> IB
        prev = tl.gather(key, tl.maximum(pos - 1, 0), 0)
        tie = tl.max(((pos >= 1) & live & (key == prev)).to(tl.int32), 0)
        attempt += 1
    idx = (s & ((1 << IB) - 1)).to(tl.int64)
    tl.store(out_ptr + pos.to(tl.int64) * stride, idx, mask=live)


_run = Launcher(_randperm_kernel)
# One program sorts the whole permutation: on an H200 (kernel alone, 32 warps) 10.8 us
# at n = 1024 against torch's 17.1, but 25.7 vs 20.9 at 2048 and 80 vs 55 at 4096
# (n = 1024 by warps: 4: 20.1, 8: 15.3, 16: 12.5, 32: 10.8 us). Longer: ATen.
_MAX = min(backend().table("sort").get("max_single_block", 4096), 1024)
_DEVICE = backend().device_type

# dtypes torch's randperm takes, and the largest n it allows for each: integers need
# n - 1 representable; float16/32/64 need n <= 2**mantissa + 1 (torch's own
# check_supported_max_int_with_precision; bfloat16 is not checked by torch).
_LIMIT = {torch.float16: 2**11 + 1, torch.bfloat16: 2**63, torch.float32: 2**24 + 1, torch.float64: 2**53 + 1}
_LIMIT.update({t: torch.iinfo(t).max + 1 for t in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)})
_DTYPES = frozenset(_LIMIT) & (frozenset(backend().float_dtypes()) | {torch.float64, torch.int64, torch.int32,
                                                                       torch.int16, torch.int8, torch.uint8})


def _n_ok(n, dtype) -> bool:
    return isinstance(n, int) and 0 <= n <= _MAX and dtype in _DTYPES and n <= _LIMIT[dtype]


def _device(device) -> torch.device | None:
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return dev if dev.type == _DEVICE else None


def _ok(n, *, generator=None, dtype=None, layout=None, device=None, pin_memory=None):
    dev = _device(device)
    return (dev is not None and _n_ok(n, torch.int64 if dtype is None else dtype)
            and layout in (None, torch.strided) and not pin_memory and generator_ok(generator, dev))


def _fill(out: torch.Tensor, n: int, generator):
    """Writes a permutation of range(n) into the 1-d `out` (any stride)."""
    if n == 0:
        return out
    seed, off = seed_and_offset(generator, out.device)
    block = max(2, next_power_of_2(n))
    warps = max(4, min(32, block // 32))   # one element a thread (swept at 1024 only)
    _run((1,), out, n, out.stride(0), seed, off, block, block.bit_length() - 1, num_warps=warps)
    return out


@impl("randperm", supports=_ok)
def randperm(n, *, dtype=None, layout=None, device=None, pin_memory=None):
    return randperm_generator(n, generator=None, dtype=dtype, layout=layout, device=device, pin_memory=pin_memory)


@impl("randperm.generator", supports=_ok)
def randperm_generator(n, *, generator=None, dtype=None, layout=None, device=None, pin_memory=None):
    out = torch.empty(n, dtype=torch.int64 if dtype is None else dtype, device=_device(device))
    return _fill(out, n, generator)


def _out_ok(n, *, generator=None, out):
    return (_n_ok(n, out.dtype) and out.device.type == _DEVICE and out.layout is torch.strided
            and generator_ok(generator, out.device))


@impl("randperm.out", supports=_out_ok)
def randperm_out(n, *, out):
    return randperm_generator_out(n, generator=None, out=out)


@impl("randperm.generator_out", supports=_out_ok)
def randperm_generator_out(n, *, generator=None, out):
    out.resize_(n)   # keeps a 1-d view of n elements (and its stride) as torch does
    return _fill(out, n, generator)
