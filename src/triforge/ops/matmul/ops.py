"""aten declarations of the matmul family: every product becomes one gemm() call on
3-d strided views (no copies).

    mm/addmm        (1, M, K) @ (1, K, N)
    bmm/baddbmm     (B, M, K) @ (B, K, N)
    addbmm          the B products summed into one (M, N)
    mv/addmv        computed transposed, as (1, 1, K) @ (1, K, M): M = 1 is the skinny
                    (split-K) path, which streams the matrix once across the GPU
    dot/vdot        (1, 1, K) @ (1, K, 1), split-K
    addr            (1, M, 1) @ (1, 1, N), K = 1

Declined (ATen runs them, visibly): dtypes other than the backend's float dtypes
(integers, complex), mixed dtypes or devices, shapes torch rejects, out= tensors that
need torch's resize warning, overlap inputs, or have internal overlap; float64 with an
alpha/beta that float32 cannot hold exactly (the kernels take scalars as float32).
matmul, linear, outer and ger are CompositeImplicitAutograd: torch decomposes them into
these ops.
"""
from __future__ import annotations

import struct

import torch

from ...backends import current as backend
from ...registry import impl
from .gemm import MAX_BATCH, gemm

_b = backend()
_FLOATS = frozenset(_b.float_dtypes())
_DEV = _b.device_type
_overlap = torch._debug_has_internal_overlap


def _exact32(v) -> bool:
    try:
        return struct.unpack("f", struct.pack("f", v))[0] == v
    except (OverflowError, struct.error):
        return False


def _scalars_ok(dtype, *vals) -> bool:
    for v in vals:
        if type(v) not in (int, float, bool):
            return False
        if dtype is torch.float64 and not _exact32(float(v)):
            return False
    return True


def _same(*ts) -> bool:
    t0 = ts[0]
    d, dev = t0.dtype, t0.device
    if d not in _FLOATS or dev.type != _DEV:
        return False
    return all(t.dtype is d and t.device == dev for t in ts[1:])


def _bcast(self, shape) -> bool:
    """`self` expands to `shape` (torch's expand rule, for addmm's and friends' input)."""
    if self.dim() > len(shape):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(self.shape), reversed(shape)))


def _shares(x, y) -> bool:
    return x.numel() > 0 and y.numel() > 0 and \
        x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr()


def _same_view(x, y) -> bool:
    return x.data_ptr() == y.data_ptr() and x.shape == y.shape and x.stride() == y.stride()


def _out_ok(out, shape, like, reads=(), bias=None) -> bool:
    """out= usable as is (or empty, resized by us as torch would, without a warning);
    not overlapping what the kernel reads, except an identical bias (in-place)."""
    if out.dtype is not like.dtype or out.device != like.device:
        return False
    if tuple(out.shape) != tuple(shape) and out.numel() != 0:
        return False          # torch resizes with a warning: let ATen do it
    if out.numel() and _overlap(out) == 1:
        return False
    if any(_shares(out, t) for t in reads):
        return False
    return bias is None or not _shares(out, bias) or _same_view(out, bias)


def _prepare(out, shape):
    if tuple(out.shape) != tuple(shape):
        out.resize_(shape)
    return out


def _new(shape, like):
    return torch.empty(shape, dtype=like.dtype, device=like.device)


# -- mm / addmm --------------------------------------------------------------------------
def _mm_ok(a, b):
    return a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0] and _same(a, b)


def _mm_shape(a, b):
    return (a.shape[0], b.shape[1])


def _mm_into(out, a, b, bias=None, beta=1, alpha=1):
    bias = bias.expand(out.shape) if bias is not None and beta != 0 else None
    gemm(a, b, out, bias, alpha, beta)
    return out


@impl("mm", supports=_mm_ok, repeat=True)
def mm(self, mat2):
    return _mm_into(_new(_mm_shape(self, mat2), self), self, mat2)


def _mm_out_ok(self, mat2, *, out):
    return _mm_ok(self, mat2) and _out_ok(out, _mm_shape(self, mat2), self, (self, mat2))


@impl("mm.out", supports=_mm_out_ok, repeat=True)
def mm_out(self, mat2, *, out):
    return _mm_into(_prepare(out, _mm_shape(self, mat2)), self, mat2)


def _addmm_ok(self, mat1, mat2, *, beta=1, alpha=1):
    return (_mm_ok(mat1, mat2) and _same(mat1, self) and _bcast(self, _mm_shape(mat1, mat2))
            and _scalars_ok(self.dtype, beta, alpha))


@impl("addmm", supports=_addmm_ok, repeat=True)
def addmm(self, mat1, mat2, *, beta=1, alpha=1):
    return _mm_into(_new(_mm_shape(mat1, mat2), mat1), mat1, mat2, self, beta, alpha)


def _addmm_out_ok(self, mat1, mat2, *, beta=1, alpha=1, out):
    return (_addmm_ok(self, mat1, mat2, beta=beta, alpha=alpha)
            and _out_ok(out, _mm_shape(mat1, mat2), mat1, (mat1, mat2), self))


@impl("addmm.out", supports=_addmm_out_ok, repeat=True)
def addmm_out(self, mat1, mat2, *, beta=1, alpha=1, out):
    return _mm_into(_prepare(out, _mm_shape(mat1, mat2)), mat1, mat2, self, beta, alpha)


def _addmm__ok(self, mat1, mat2, *, beta=1, alpha=1):
    return (_addmm_ok(self, mat1, mat2, beta=beta, alpha=alpha)
            and tuple(self.shape) == _mm_shape(mat1, mat2)
            and _out_ok(self, self.shape, mat1, (mat1, mat2), self))


@impl("addmm_", supports=_addmm__ok, repeat=True)
def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    return _mm_into(self, mat1, mat2, self, beta, alpha)


# -- bmm / baddbmm / addbmm -------------------------------------------------------------
def _bmm_ok(a, b):
    return (a.dim() == 3 and b.dim() == 3 and a.shape[0] == b.shape[0] and a.shape[2] == b.shape[1]
            and a.shape[0] <= MAX_BATCH and _same(a, b))


def _bmm_shape(a, b):
    return (a.shape[0], a.shape[1], b.shape[2])


def _bmm_into(out, a, b, bias=None, beta=1, alpha=1):
    bias = bias.expand(out.shape) if bias is not None and beta != 0 else None
    gemm(a, b, out, bias, alpha, beta)
    return out


@impl("bmm", supports=_bmm_ok, repeat=True)
def bmm(self, mat2):
    return _bmm_into(_new(_bmm_shape(self, mat2), self), self, mat2)


def _bmm_out_ok(self, mat2, *, out):
    return _bmm_ok(self, mat2) and _out_ok(out, _bmm_shape(self, mat2), self, (self, mat2))


@impl("bmm.out", supports=_bmm_out_ok, repeat=True)
def bmm_out(self, mat2, *, out):
    return _bmm_into(_prepare(out, _bmm_shape(self, mat2)), self, mat2)


def _baddbmm_ok(self, batch1, batch2, *, beta=1, alpha=1):
    return (_bmm_ok(batch1, batch2) and _same(batch1, self) and _bcast(self, _bmm_shape(batch1, batch2))
            and _scalars_ok(self.dtype, beta, alpha))


@impl("baddbmm", supports=_baddbmm_ok, repeat=True)
def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
    return _bmm_into(_new(_bmm_shape(batch1, batch2), batch1), batch1, batch2, self, beta, alpha)


def _baddbmm_out_ok(self, batch1, batch2, *, beta=1, alpha=1, out):
    return (_baddbmm_ok(self, batch1, batch2, beta=beta, alpha=alpha)
            and _out_ok(out, _bmm_shape(batch1, batch2), batch1, (batch1, batch2), self))


@impl("baddbmm.out", supports=_baddbmm_out_ok, repeat=True)
def baddbmm_out(self, batch1, batch2, *, beta=1, alpha=1, out):
    return _bmm_into(_prepare(out, _bmm_shape(batch1, batch2)), batch1, batch2, self, beta, alpha)


def _baddbmm__ok(self, batch1, batch2, *, beta=1, alpha=1):
    return (_baddbmm_ok(self, batch1, batch2, beta=beta, alpha=alpha)
            and tuple(self.shape) == _bmm_shape(batch1, batch2)
            and _out_ok(self, self.shape, batch1, (batch1, batch2), self))


@impl("baddbmm_", supports=_baddbmm__ok, repeat=True)
def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    return _bmm_into(self, batch1, batch2, self, beta, alpha)


def _addbmm_shape(a, b):
    return (a.shape[1], b.shape[2])


def _addbmm_ok(self, batch1, batch2, *, beta=1, alpha=1):
    return (batch1.dim() == 3 and batch2.dim() == 3 and batch1.shape[0] == batch2.shape[0]
            and batch1.shape[2] == batch2.shape[1] and _same(batch1, batch2, self)
            and _bcast(self, _addbmm_shape(batch1, batch2)) and _scalars_ok(self.dtype, beta, alpha))


def _addbmm_into(out, self, batch1, batch2, beta, alpha):
    bias = self.expand(out.shape).unsqueeze(0) if beta != 0 else None
    gemm(batch1, batch2, out.unsqueeze(0), bias, alpha, beta, reduce=True)
    return out


@impl("addbmm", supports=_addbmm_ok, repeat=True)
def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
    return _addbmm_into(_new(_addbmm_shape(batch1, batch2), batch1), self, batch1, batch2, beta, alpha)


def _addbmm_out_ok(self, batch1, batch2, *, beta=1, alpha=1, out):
    return (_addbmm_ok(self, batch1, batch2, beta=beta, alpha=alpha)
            and _out_ok(out, _addbmm_shape(batch1, batch2), batch1, (batch1, batch2), self))


@impl("addbmm.out", supports=_addbmm_out_ok, repeat=True)
def addbmm_out(self, batch1, batch2, *, beta=1, alpha=1, out):
    return _addbmm_into(_prepare(out, _addbmm_shape(batch1, batch2)), self, batch1, batch2, beta, alpha)


def _addbmm__ok(self, batch1, batch2, *, beta=1, alpha=1):
    return (_addbmm_ok(self, batch1, batch2, beta=beta, alpha=alpha)
            and tuple(self.shape) == _addbmm_shape(batch1, batch2)
            and _out_ok(self, self.shape, batch1, (batch1, batch2), self))


@impl("addbmm_", supports=_addbmm__ok, repeat=True)
def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    return _addbmm_into(self, self, batch1, batch2, beta, alpha)


# -- mv / addmv: out^T (1, M) = vec^T (1, K) @ mat^T (K, M) -------------------------------
def _mv_ok(mat, vec):
    return mat.dim() == 2 and vec.dim() == 1 and mat.shape[1] == vec.shape[0] and _same(mat, vec)


def _mv_into(out, mat, vec, bias=None, beta=1, alpha=1):
    row = out.unsqueeze(0).unsqueeze(0)
    if bias is not None and beta != 0:
        bias = bias.expand(out.shape).unsqueeze(0).unsqueeze(0)
    else:
        bias = None
    gemm(vec.unsqueeze(0).unsqueeze(0), mat.t().unsqueeze(0), row, bias, alpha, beta)
    return out


@impl("mv", supports=_mv_ok, repeat=True)
def mv(self, vec):
    return _mv_into(_new((self.shape[0],), self), self, vec)


def _mv_out_ok(self, vec, *, out):
    return _mv_ok(self, vec) and _out_ok(out, (self.shape[0],), self, (self, vec))


@impl("mv.out", supports=_mv_out_ok, repeat=True)
def mv_out(self, vec, *, out):
    return _mv_into(_prepare(out, (self.shape[0],)), self, vec)


def _addmv_ok(self, mat, vec, *, beta=1, alpha=1):
    return (_mv_ok(mat, vec) and _same(mat, self) and _bcast(self, (mat.shape[0],))
            and _scalars_ok(self.dtype, beta, alpha))


@impl("addmv", supports=_addmv_ok, repeat=True)
def addmv(self, mat, vec, *, beta=1, alpha=1):
    return _mv_into(_new((mat.shape[0],), mat), mat, vec, self, beta, alpha)


def _addmv_out_ok(self, mat, vec, *, beta=1, alpha=1, out):
    return (_addmv_ok(self, mat, vec, beta=beta, alpha=alpha)
            and _out_ok(out, (mat.shape[0],), mat, (mat, vec), self))


@impl("addmv.out", supports=_addmv_out_ok, repeat=True)
def addmv_out(self, mat, vec, *, beta=1, alpha=1, out):
    return _mv_into(_prepare(out, (mat.shape[0],)), mat, vec, self, beta, alpha)


def _addmv__ok(self, mat, vec, *, beta=1, alpha=1):
    return (_addmv_ok(self, mat, vec, beta=beta, alpha=alpha) and tuple(self.shape) == (mat.shape[0],)
            and _out_ok(self, self.shape, mat, (mat, vec), self))


@impl("addmv_", supports=_addmv__ok, repeat=True)
def addmv_(self, mat, vec, *, beta=1, alpha=1):
    return _mv_into(self, mat, vec, self, beta, alpha)


# -- dot / vdot (real dtypes: vdot == dot) ------------------------------------------------
def _dot_ok(self, tensor):
    return self.dim() == 1 and tensor.dim() == 1 and self.shape[0] == tensor.shape[0] and _same(self, tensor)


def _dot_into(out, x, y):
    gemm(x.unsqueeze(0).unsqueeze(0), y.unsqueeze(0).unsqueeze(-1), out.view(1, 1, 1))
    return out


@impl("dot", "vdot", supports=_dot_ok, repeat=True)
def dot(self, tensor):
    return _dot_into(_new((), self), self, tensor)


def _dot_out_ok(self, tensor, *, out):
    return _dot_ok(self, tensor) and _out_ok(out, (), self, (self, tensor))


@impl("dot.out", "vdot.out", supports=_dot_out_ok, repeat=True)
def dot_out(self, tensor, *, out):
    return _dot_into(_prepare(out, ()), self, tensor)


# -- addr: (M, 1) @ (1, N), K = 1 ------------------------------------------------------------
def _addr_ok(self, vec1, vec2, *, beta=1, alpha=1):
    return (vec1.dim() == 1 and vec2.dim() == 1 and _same(vec1, vec2, self)
            and _bcast(self, (vec1.shape[0], vec2.shape[0])) and _scalars_ok(self.dtype, beta, alpha))


def _addr_into(out, self, vec1, vec2, beta, alpha):
    bias = self.expand(out.shape).unsqueeze(0) if beta != 0 else None
    # torch computes alpha * v1 * v2 elementwise: alpha == 0 still propagates NaN/Inf
    gemm(vec1.unsqueeze(0).unsqueeze(-1),
         vec2.unsqueeze(0).unsqueeze(0), out.unsqueeze(0), bias, alpha, beta, blas_alpha=False)
    return out


@impl("addr", supports=_addr_ok, repeat=True)
def addr(self, vec1, vec2, *, beta=1, alpha=1):
    return _addr_into(_new((vec1.shape[0], vec2.shape[0]), vec1), self, vec1, vec2, beta, alpha)


def _addr_out_ok(self, vec1, vec2, *, beta=1, alpha=1, out):
    return (_addr_ok(self, vec1, vec2, beta=beta, alpha=alpha)
            and _out_ok(out, (vec1.shape[0], vec2.shape[0]), vec1, (vec1, vec2), self))


@impl("addr.out", supports=_addr_out_ok, repeat=True)
def addr_out(self, vec1, vec2, *, beta=1, alpha=1, out):
    return _addr_into(_prepare(out, (vec1.shape[0], vec2.shape[0])), self, vec1, vec2, beta, alpha)


def _addr__ok(self, vec1, vec2, *, beta=1, alpha=1):
    return (_addr_ok(self, vec1, vec2, beta=beta, alpha=alpha)
            and tuple(self.shape) == (vec1.shape[0], vec2.shape[0])
            and _out_ok(self, self.shape, vec1, (vec1, vec2), self))


@impl("addr_", supports=_addr__ok, repeat=True)
def addr_(self, vec1, vec2, *, beta=1, alpha=1):
    return _addr_into(self, self, vec1, vec2, beta, alpha)
