"""embedding_dense_backward, deterministic: no atomics.

The indices are sorted (stable, with their token positions); each run of equal indices
is then owned by the program sitting at its first position, which sums the run's
gradient rows in token order, BLOCK_T rows at a time with a fixed reduction tree. The
same input always gives the same bits, whatever the scheduling. The other programs of
the grid see that they do not start a run and store nothing. Rows no index names are
zero (one fill of the output first, as torch does).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64, next_power_of_2
from .gather import _INDEX, in_range

_FLOATS = frozenset((torch.float16, torch.bfloat16, torch.float32, torch.float64))


@triton.jit
def _segment_sum_kernel(grad, sorted_idx, perm, out, N, D, padding_idx,
                        SCALE: tl.constexpr, ACC: tl.constexpr, BLOCK_T: tl.constexpr,
                        BLOCK_D: tl.constexpr, INT64: tl.constexpr):
    i = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    if INT64:
        i = i.to(tl.int64)
        cols = cols.to(tl.int64)
    cmask = cols < D
    s = tl.load(sorted_idx + i)
    prev = tl.load(sorted_idx + i - 1, mask=i > 0, other=-1)
    start = (i == 0) | (prev != s)
    toks = tl.arange(0, BLOCK_T)
    acc = tl.zeros([BLOCK_D], ACC)
    count = tl.zeros([BLOCK_T], tl.int32)
    j = i
    more = start.to(tl.int32)
    while more > 0:
        t = j + toks
        tmask = t < N
        same = (tl.load(sorted_idx + t, mask=tmask, other=-1) == s) & tmask
        p = tl.load(perm + t, mask=same, other=0)
        if INT64:
            p = p.to(tl.int64)
        g = tl.load(grad + p[:, None] * D + cols[None, :], mask=same[:, None] & cmask[None, :], other=0.0)
        acc += tl.sum(g.to(ACC), 0)
        count += same.to(tl.int32)
        j += BLOCK_T
        more = (tl.sum(same.to(tl.int32), 0) == BLOCK_T).to(tl.int32)
    if SCALE:
        acc = acc / tl.maximum(tl.sum(count, 0), 1).to(ACC)   # 0 only where nothing is stored
    keep = start & (s != padding_idx)
    row = s
    if INT64:
        row = row.to(tl.int64)
    tl.store(out + row * D + cols, acc.to(out.dtype.element_ty), mask=cmask & keep)


_launch = Launcher(_segment_sum_kernel)


def _ok(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq):
    return (isinstance(grad_output, torch.Tensor) and grad_output.dtype in _FLOATS
            and isinstance(indices, torch.Tensor) and indices.dtype in _INDEX
            and indices.device == grad_output.device and grad_output.dim() >= 1
            and tuple(grad_output.shape[:-1]) == tuple(indices.shape))


@impl("embedding_dense_backward", "embedding_dense_backward.out", supports=_ok)
def embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq, *, out=None):
    D = grad_output.shape[-1]
    flat = indices.reshape(-1)
    n = flat.numel()
    if not in_range(flat, 0, num_weights):
        return NotImplemented
    if out is None:
        o = torch.zeros((num_weights, D), dtype=grad_output.dtype, device=grad_output.device)
    elif out.shape == (num_weights, D) and out.dtype is grad_output.dtype and out.is_contiguous():
        o = out.zero_()
    else:
        return NotImplemented
    if n == 0 or D == 0:
        return o
    g = grad_output.reshape(n, D).contiguous()
    sorted_idx, perm = torch.sort(flat, stable=True)
    block_d = min(next_power_of_2(D), 1024)
    acc = tl.float64 if g.dtype is torch.float64 else tl.float32
    grid = (n, cdiv(D, block_d))
    _launch(grid, g, sorted_idx, perm, o, n, D, padding_idx, bool(scale_grad_by_freq), acc, 16, block_d,
            needs_int64(g, o), num_warps=4)
    return o
