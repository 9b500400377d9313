"""unfold_copy and unfold_backward: the two aten ops behind Tensor.unfold that run kernels
(Tensor.unfold itself is a view; its autograd formula is unfold_backward).

- unfold_copy: the unfold view of self copied into a fresh (or out=) tensor by the
  remap kernel, which reads the view's strides where they lie.
- unfold_backward: every output element gathers the window elements that cover it --
  at most ceil(size / step) of them, summed in a fixed order (float32 for half types),
  so the result is the same on every run: no atomics.
"""
from __future__ import annotations

from itertools import pairwise

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from ..blocks import block_range
from .movement import _dim, _ok, _out, _run
from .remap import _BLOCK, _WARPS, PLAIN, copy_into
from .scatter import widen


@impl("unfold_copy", "unfold_copy.out")
def unfold_copy(self, dimension, size, step, *, out=None):
    if not _ok(self) or self.dim() == 0:
        return NotImplemented
    d = _dim(dimension, self.dim())
    if d is None or step <= 0 or not 0 <= size <= self.shape[d]:
        return NotImplemented   # torch raises
    view = self.unfold(d, size, step)
    o = _out(out, view.shape, self.dtype, self.device, self)
    if o is None:
        return NotImplemented
    return _run(view, o, [(PLAIN, n, 0) for n in o.shape])


@triton.jit
def _unfold_bwd_kernel(g, out, numel, L, B, nw, size, step, taps, ga, gw, gb, gk,
                       BLOCK: tl.constexpr, INT64: tl.constexpr):
    """out viewed as (A, L, B) contiguous; grad as (A, nw, B, size) with strides
    (ga, gw, gb, gk). Window w covers out position i at k = i - w * step when 0 <= k < size."""
    o, mask = block_range(numel, BLOCK, INT64)
    b = o % B
    r = o // B
    i = r % L
    base = (r // L) * ga + b * gb
    w_hi = tl.minimum(i // step, nw - 1)   # the last window starting at or before i
    acc = widen(tl.zeros([BLOCK], g.dtype.element_ty))
    for t in range(taps):
        w = w_hi - t
        k = i - w * step
        m = mask & (w >= 0) & (k < size)
        acc += widen(tl.load(g + base + w * gw + k * gk, mask=m, other=0))
    tl.store(out + o, acc.to(out.dtype.element_ty), mask=mask)


_unfold_bwd = Launcher(_unfold_bwd_kernel)


def _merged_stride(sizes, strides):
    """The one stride of these dims taken row-major as one flat dim, or None."""
    dims = [(n, s) for n, s in zip(sizes, strides) if n != 1]
    for (_, s0), (n1, s1) in pairwise(dims):
        if s0 != s1 * n1:
            return None
    return dims[-1][1] if dims else 0


def _grad_strides(g, d):
    """(ga, gw, gb, gk) of grad seen as (A, nw, B, size), or None."""
    nd = g.dim() - 1
    ga = _merged_stride(g.shape[:d], g.stride()[:d])
    gb = _merged_stride(g.shape[d + 1:nd], g.stride()[d + 1:nd])
    if ga is None or gb is None:
        return None
    return ga, g.stride(d), gb, g.stride(nd)


@impl("unfold_backward", "unfold_backward.out")
def unfold_backward(grad_in, input_sizes, dim, size, step, *, out=None):
    if not _ok(grad_in):
        return NotImplemented
    sizes = [int(n) for n in input_sizes]
    nd = len(sizes)
    d = _dim(dim, nd) if nd else None
    if d is None or step <= 0 or not 0 <= size <= sizes[d]:
        return NotImplemented   # torch raises (0-dim inputs: ATen)
    nw = (sizes[d] - size) // step + 1
    if list(grad_in.shape) != sizes[:d] + [nw] + sizes[d + 1:] + [size]:
        return NotImplemented
    o = _out(out, sizes, grad_in.dtype, grad_in.device, grad_in)
    if o is None:
        return NotImplemented
    numel = o.numel()
    if numel == 0:
        return o
    g, st = grad_in, _grad_strides(grad_in, d)
    if st is None:
        g = torch.empty(grad_in.shape, dtype=grad_in.dtype, device=grad_in.device)
        if copy_into(grad_in, g) is None:
            return NotImplemented
        st = _grad_strides(g, d)
    res = o if o.is_contiguous() else torch.empty(sizes, dtype=o.dtype, device=o.device)
    inner = 1
    for n in sizes[d + 1:]:
        inner *= n
    _unfold_bwd((cdiv(numel, _BLOCK),), g, res, numel, sizes[d], inner, nw, size, step,
                cdiv(size, step), *st, _BLOCK, needs_int64(g, res, extra=numel + _BLOCK), num_warps=_WARPS)
    if res is not o and copy_into(res, o) is None:
        return NotImplemented
    return o
