"""Argument handling shared by the reduction ops: dims, reduced extent, dtypes, out=."""
from __future__ import annotations

import torch

from ...backends import current as backend

FLOATS = frozenset(backend().float_dtypes())
INTS = frozenset((torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool))
REAL = FLOATS | INTS


def dims_of(x, dim) -> list:
    """torch's dim argument (None, int, list; [] = all) -> a list of dims (all when empty)."""
    if dim is None:
        return []
    if isinstance(dim, int):
        return [dim]
    return list(dim)


def extent(x, dims) -> int:
    """Number of elements reduced into each output element."""
    if x.dim() == 0:
        return 1
    n = 1
    for d in ({d % x.dim() for d in dims} if dims else range(x.dim())):
        n *= x.shape[d]
    return n


def dims_ok(x, dims) -> bool:
    """Dims in range and not repeated (else ATen raises)."""
    nd = max(x.dim(), 1)
    if any(not (-nd <= d < nd) for d in dims):
        return False
    return len({d % nd for d in dims}) == len(dims)


def on_device(*ts) -> bool:
    dev = backend().device_type
    return all(t.device.type == dev for t in ts if isinstance(t, torch.Tensor))


def write_out(out, res):
    """out= semantics: resize (torch warns only for a non-empty out of another shape,
    which the caller sends to ATen) and copy."""
    if out.shape != res.shape:
        out.resize_(res.shape)
    out.copy_(res)
    return out


def out_ok(out, dtype, shape) -> bool:
    """An out= tensor triforge fills: right dtype and device, and either the right shape or
    empty (ATen warns when it resizes a non-empty out)."""
    return out.dtype == dtype and on_device(out) and (tuple(out.shape) == tuple(shape) or out.numel() == 0)
