"""tril and triu: keep one side of a diagonal of the last two dims, zero the other."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...runtime import Launcher, needs_int64
from .family import declare


@triton.jit
def _tri_kernel(x, out, n, rows, cols, sxb, sxr, sxc, sob, sor, soc, diagonal,
                LOWER: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    i = pid * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    c = i % cols
    t = i // cols
    r = t % rows
    b = t // rows
    v = tl.load(x + b * sxb + r * sxr + c * sxc, mask=mask)
    if LOWER:
        keep = c - r <= diagonal
    else:
        keep = c - r >= diagonal
    tl.store(out + b * sob + r * sor + c * soc, tl.where(keep, v, tl.zeros_like(v)), mask=mask)


_TRI = Launcher(_tri_kernel)
_cfg = backend().table("elementwise")
_BLOCK, _WARPS = _cfg.get("BLOCK", 1024), _cfg.get("num_warps", 4)


def _batched(t):
    """(rows, cols, batch stride, row stride, col stride) when the leading dims fold into
    one batch dim of uniform stride; None otherwise (then ATen)."""
    lead = [(t.shape[d], t.stride(d)) for d in range(t.dim() - 2) if t.shape[d] != 1]
    for (_, outer), (n_in, inner) in zip(lead, lead[1:]):
        if outer != inner * n_in:
            return None
    sb = lead[-1][1] if lead else 0
    return t.shape[-2], t.shape[-1], sb, t.stride(-2), t.stride(-1)


def _tri(self, diagonal, lower, out=None):
    if self.dim() < 2 or type(diagonal) is not int or self.is_complex():
        return NotImplemented
    if out is None:
        out = torch.empty(self.shape, dtype=self.dtype, device=self.device)
    elif (out.shape != self.shape or out.dtype is not self.dtype or out.device != self.device
          or 0 in out.stride()):
        return NotImplemented   # resizing, casting, overlapping writes: ATen's cases
    gx, go = _batched(self), _batched(out)
    if gx is None or go is None:
        return NotImplemented
    n = self.numel()
    if n == 0:
        return out
    rows, cols, sxb, sxr, sxc = gx
    _, _, sob, sor, soc = go
    _TRI(((n + _BLOCK - 1) // _BLOCK,), self, out, n, rows, cols, sxb, sxr, sxc, sob, sor, soc, diagonal,
         lower, _BLOCK, needs_int64(self, out, extra=n + _BLOCK), num_warps=_WARPS)
    return out


declare(lambda s, diagonal=0: _tri(s, diagonal, True), "tril")
declare(lambda s, diagonal=0: _tri(s, diagonal, True, s), "tril_")
declare(lambda s, diagonal=0, *, out: _tri(s, diagonal, True, out), "tril.out")
declare(lambda s, diagonal=0: _tri(s, diagonal, False), "triu")
declare(lambda s, diagonal=0: _tri(s, diagonal, False, s), "triu_")
declare(lambda s, diagonal=0, *, out: _tri(s, diagonal, False, out), "triu.out")
