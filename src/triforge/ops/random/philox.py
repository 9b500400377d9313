"""Where triforge's random numbers come from: a Philox4x32-10 stream keyed by a 64-bit
seed, taken from torch's generator so that `torch.manual_seed(s)` (or an explicit
`generator=`) reproduces triforge's numbers exactly, call after call.

The numbers are NOT torch's own: torch's CUDA kernels map (seed, offset, thread) to
values in a launch-geometry-dependent way that we do not reproduce. What is kept is
the contract: same generator state -> same numbers; every call advances the state.

 * CUDA generators: seed = initial_seed(), offset = get_offset(); each call advances
   the offset by 4 (the unit torch itself advances it by), so interleaving triforge and
   torch calls keeps both reproducible. Counter words: (element group lo, hi, offset lo,
   offset hi ^ TAG): the tag keeps our counters apart from torch's curand streams, whose
   third/fourth words carry a thread index that stays far below 2**32.
   Not CUDA-graph safe: a captured call reads the offset once (torch's own kernels
   use graphsafe offsets); documented limitation. A generator without get_offset falls
   back to the CPU scheme below.
 * CPU generators (the interpreter backend): mt19937 has no offset, so each call draws
   a fresh 63-bit key from it with ATen's own random_ kernel, which advances it.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import original

_TAG = 0x54524946   # "TRIF"
_OFFSET_STEP = 4


def _default(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return torch.cuda.default_generators[idx]
    return torch.default_generator


_DISPATCH_KEY = {"cpu": "CPU", "cuda": "CUDA"}
_random_kernels: dict = {}


def seed_and_offset(generator, device: torch.device) -> tuple[int, int]:
    """(seed, offset) for one call, advancing the generator."""
    gen = generator if generator is not None else _default(device)
    if gen.device.type != "cpu":
        try:
            off = gen.get_offset()
            gen.set_offset(off + _OFFSET_STEP)
            return gen.initial_seed(), off
        except (RuntimeError, AttributeError):   # a generator without offsets: draw a key
            pass
    return _drawn_key(gen), 0


def _drawn_key(gen) -> int:
    """A 63-bit key drawn by ATen's own random_ kernel (advances `gen`; syncs on a GPU)."""
    dev = gen.device
    key = _DISPATCH_KEY.get(dev.type)
    if key is None:
        raise RuntimeError(f"triforge: no random_ kernel to draw a seed on {dev}")
    k = _random_kernels.get(key)
    if k is None:
        k = _random_kernels[key] = original("aten::random_", key)
    t = torch.empty(1, dtype=torch.int64, device=dev)
    k(t, generator=gen)
    return int(t.item())


def generator_ok(generator, device: torch.device) -> bool:
    """An explicit generator must live where the tensor does (CPU generators for the
    interpreter's CPU tensors); otherwise ATen raises torch's error."""
    return generator is None or generator.device.type == device.type


@triton.jit
def philox_block(seed, offset, pid, Q: tl.constexpr, INT64: tl.constexpr):
    """Four independent uint32 blocks of Q values each for program `pid`."""
    if INT64:
        c = pid.to(tl.int64) * Q + tl.arange(0, Q)
        c_lo = c.to(tl.uint32)
        c_hi = (c >> 32).to(tl.uint32)
    else:
        c_lo = (pid * Q + tl.arange(0, Q)).to(tl.uint32)
        c_hi = c_lo * 0
    o = tl.cast(offset, tl.uint64)
    o_lo = (c_hi * 0 + (o & 0xFFFFFFFF).to(tl.uint32))
    o_hi = (c_hi * 0 + ((o >> 32).to(tl.uint32) ^ 0x54524946))
    return tl.philox(seed, c_lo, c_hi, o_lo, o_hi)


@triton.jit
def u01_open(r):
    """uint32 -> float32 uniform on (0, 1): 23 bits plus a half step, never 0 or 1."""
    return ((r >> 9).to(tl.float32) + 0.5) * 1.1920928955078125e-07


@triton.jit
def u01(r):
    """uint32 -> float32 uniform on [0, 1), 24 bits (every value exact in float32)."""
    return (r >> 8).to(tl.float32) * 5.9604644775390625e-08


@triton.jit
def u01_wide(ra, rb):
    """two uint32 -> float64 uniform on [0, 1), 53 bits."""
    hi = (ra >> 5).to(tl.float64)
    lo = (rb >> 6).to(tl.float64)
    return (hi * 67108864.0 + lo) * 1.1102230246251565e-16


@triton.jit
def u01_wide_open(ra, rb):
    """two uint32 -> float64 uniform on (0, 1): 52 bits plus a half step."""
    hi = (ra >> 6).to(tl.float64)
    lo = (rb >> 6).to(tl.float64)
    return (hi * 67108864.0 + lo + 0.5) * 2.220446049250313e-16
