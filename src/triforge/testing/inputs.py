"""Inputs: random values (never zeros, which hide unwritten outputs), every layout
torch accepts, and sizes chosen by backend (tiny under the interpreter)."""
from __future__ import annotations

import torch

from ..backends import current as backend


def device() -> str:
    return backend().device_type


def interpreted() -> bool:
    return backend().interpreted


def on_gpu() -> bool:
    return not backend().interpreted


def make(shape, dtype=torch.float32, device=None, *, low=None, high=None, generator=None):
    device = device or backend().device_type
    shape = tuple(shape)
    if dtype is torch.bool:
        return torch.rand(shape, generator=generator).lt(0.5).to(device)
    if dtype.is_floating_point:
        x = torch.randn(shape, dtype=torch.float32, generator=generator)
        if low is not None or high is not None:
            lo, hi = (low if low is not None else -3.0), (high if high is not None else 3.0)
            x = torch.rand(shape, generator=generator) * (hi - lo) + lo
        return x.to(device=device, dtype=dtype)
    info = torch.iinfo(dtype)
    lo = max(info.min, -100 if low is None else low)
    hi = min(info.max, 100 if high is None else high)
    return torch.randint(lo, hi, shape, generator=generator, dtype=torch.int64).to(device=device, dtype=dtype)


def layouts(shape, dtype=torch.float32, device=None, **kw) -> dict[str, torch.Tensor]:
    """Tensors of logical `shape` in each layout that applies to it."""
    shape = tuple(shape)
    out = {"contiguous": make(shape, dtype, device, **kw)}
    if len(shape) >= 2:
        t = make(shape[:-2] + (shape[-1], shape[-2]), dtype, device, **kw)
        out["transposed"] = t.transpose(-1, -2)
    if len(shape) >= 1 and shape[-1] > 0:
        w = make(shape[:-1] + (shape[-1] * 2,), dtype, device, **kw)
        out["stepped"] = w[..., ::2]
        flat = make((int(torch.tensor(shape).prod()) + 1,), dtype, device, **kw)
        out["offset"] = flat[1:].view(shape)   # data pointer not 16-byte aligned
    if len(shape) >= 1 and shape[0] > 1:
        out["expanded"] = make((1,) + shape[1:], dtype, device, **kw).expand(shape)
    return out


def sizes(kind: str = "1d"):
    """Sizes per backend: tiny under the interpreter, realistic on a GPU."""
    gpu = on_gpu()
    if kind == "1d":
        return [1, 7, 1000, 4097] + ([2**20 + 3, 2**24] if gpu else [])
    if kind == "2d":
        return [(1, 1), (3, 5), (17, 33), (4, 1000)] + ([(1024, 4096), (4096, 8192)] if gpu else [])
    if kind == "rows":   # softmax-like: (rows, row length)
        return [(1, 1), (3, 5), (7, 129), (2, 1000)] + ([(1024, 4096), (64, 32768), (8, 131072)] if gpu else [])
    raise ValueError(kind)
