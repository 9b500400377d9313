"""Advanced indexing: index.Tensor (x[i, :, j]) and _index_put_impl_ (x[i, j] = v, the
kernel behind index_put / index_put_), both through one kernel over the result's
coordinates.

torch's rules: up to 3 index tensors here (more: ATen), broadcast together to B; when
the indexed dims are adjacent B replaces them in place, otherwise B goes first. Bool
(and uint8) masks become index tensors through nonzero (one sync, as in torch).
Negative indices wrap; out-of-range ones stop the kernel with a device-side assert on
GPUs, as ATen's CUDA kernel does (gather.py says why), and are found on the host under
the interpreter (one aminmax per index tensor) and left to ATen, which raises torch's
IndexError.
index_put with accumulate=True adds atomically (float16/bfloat16 through a float32 copy):
not bit-reproducible, so under torch.use_deterministic_algorithms(True) (not warn_only)
float accumulation goes to ATen, whose deterministic path applies. Without
accumulate, duplicate indices leave one of the values, as torch documents.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from .coords import block_coords4
from .gather import _BLOCK, _INDEX, _WARPS, RANK, _values_ok, checked
from .movement import _shares
from .remap import copy_into
from .scatter import _ADDABLE, _nondeterministic_refused, via_float32

LOAD, STORE, ADD = 0, 1, 2
MAX_INDICES = 3


@triton.jit
def _wrapped(idx, c0, c1, c2, c3, s0, s1, s2, s3, n, INT64: tl.constexpr, mask):
    v = tl.load(idx + (c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3), mask=mask, other=0)
    tl.device_assert((v >= -n) & (v < n), "index out of range")
    if INT64:
        v = v.to(tl.int64)
    else:
        v = v.to(tl.int32)
    return tl.where(v < 0, v + n, v)


@triton.jit
def _advanced_kernel(base, out, vals, x0, x1, x2, numel,
                     o1, o2, o3, a0, a1, a2, a3, v0, v1, v2, v3,
                     p0, p1, p2, p3, q0, q1, q2, q3, r0, r1, r2, r3,
                     n0, n1, n2, st0, st1, st2,
                     NIDX: tl.constexpr, MODE: tl.constexpr, BLOCK: tl.constexpr, INT64: tl.constexpr):
    offs, mask, c0, c1, c2, c3 = block_coords4(numel, o1, o2, o3, BLOCK, INT64)
    off = c0 * a0 + c1 * a1 + c2 * a2 + c3 * a3
    off += _wrapped(x0, c0, c1, c2, c3, p0, p1, p2, p3, n0, INT64, mask) * st0
    if NIDX > 1:
        off += _wrapped(x1, c0, c1, c2, c3, q0, q1, q2, q3, n1, INT64, mask) * st1
    if NIDX > 2:
        off += _wrapped(x2, c0, c1, c2, c3, r0, r1, r2, r3, n2, INT64, mask) * st2
    if MODE == 0:
        tl.store(out + offs, tl.load(base + off, mask=mask), mask=mask)
    else:
        v = tl.load(vals + (c0 * v0 + c1 * v1 + c2 * v2 + c3 * v3), mask=mask).to(base.dtype.element_ty)
        if MODE == 1:
            tl.store(base + off, v, mask=mask)
        else:
            tl.atomic_add(base + off, v, mask=mask, sem="relaxed")


_launch = Launcher(_advanced_kernel, device_asserts=True)


def _bstrides(t, shape):
    pad = len(shape) - t.dim()
    return [0] * pad + [0 if n == 1 and m != 1 else s for n, m, s in zip(t.shape, shape[pad:], t.stride())]


def _plan(self, indices):
    """(result shape, per result dim [self stride, idx strides...], idx tensors, their
    dim sizes and self strides) or None where ATen should run."""
    if not _values_ok(self) or self.dim() == 0 or len(indices) > self.dim():
        return None
    per_dim = []   # one entry per self dim: None or an integer index tensor
    for t in indices:
        if t is None:
            per_dim.append(None)
            continue
        if not isinstance(t, torch.Tensor) or t.device != self.device:
            return None
        if t.dtype in (torch.bool, torch.uint8):
            d = len(per_dim)
            if t.dim() == 0 or tuple(t.shape) != tuple(self.shape[d:d + t.dim()]):
                return None
            per_dim.extend(t.nonzero().unbind(1))
        elif t.dtype in _INDEX:
            per_dim.append(t)
        else:
            return None
    if len(per_dim) > self.dim():
        return None
    per_dim += [None] * (self.dim() - len(per_dim))
    dims = [d for d, t in enumerate(per_dim) if t is not None]
    if not dims or len(dims) > MAX_INDICES:
        return None
    idx = [per_dim[d] for d in dims]
    try:
        B = list(torch.broadcast_shapes(*[t.shape for t in idx]))
    except RuntimeError:
        return None
    for t, d in zip(idx, dims):
        if not checked(t, -self.shape[d], self.shape[d]):
            return None
    rest = [d for d in range(self.dim()) if per_dim[d] is None]
    nb = len(B)
    # each result dim: (size, self stride, [stride in each index tensor])
    istr = [_bstrides(t, B) for t in idx]
    bdims = [(B[k], 0, [s[k] for s in istr]) for k in range(nb)]
    plain = {d: (self.shape[d], self.stride(d), [0] * len(idx)) for d in rest}
    if dims == list(range(dims[0], dims[-1] + 1)):   # adjacent: B in place of the indexed dims
        res = [plain[d] for d in rest if d < dims[0]] + bdims + [plain[d] for d in rest if d > dims[0]]
    else:
        res = bdims + [plain[d] for d in rest]
    return res, idx, [self.shape[d] for d in dims], [self.stride(d) for d in dims]


def _launch_plan(base, out, vals, plan, mode):
    res, idx, ns, sts = plan
    shape = [r[0] for r in res]
    numel = 1
    for n in shape:
        numel *= n
    vst = _bstrides(vals, shape) if vals is not None else [0] * len(shape)
    dims = [(r[0], r[1], v, r[2]) for r, v in zip(res, vst) if r[0] != 1]
    if len(dims) > RANK:
        return None
    if numel == 0:
        return True
    k = len(idx)
    dims = [(1, 0, 0, [0] * k)] * (RANK - len(dims)) + dims
    sizes = [d[0] for d in dims]
    a = [d[1] for d in dims]
    v = [d[2] for d in dims]
    ist = [[d[3][j] for d in dims] for j in range(k)] + [[0] * RANK] * (MAX_INDICES - k)
    xs = idx + [idx[0]] * (MAX_INDICES - k)
    ns = ns + [1] * (MAX_INDICES - k)
    sts = sts + [0] * (MAX_INDICES - k)
    i64 = needs_int64(base, *([out] if out is not None else []), *([vals] if vals is not None else []),
                      extra=numel + _BLOCK)
    _launch((cdiv(numel, _BLOCK),), base, out if out is not None else base, vals if vals is not None else base,
            *xs, numel, *sizes[1:], *a, *v, *ist[0], *ist[1], *ist[2], *ns, *sts, k, mode, _BLOCK, i64,
            num_warps=_WARPS)
    return True


# _unsafe_index: index without torch's bounds promise to check (decompositions such as
# replication padding under deterministic mode emit it); checking anyway costs one sync
@impl("index.Tensor", "index.Tensor_out", "_unsafe_index.Tensor")
def index(self, indices, *, out=None):
    plan = _plan(self, list(indices))
    if plan is None:
        return NotImplemented
    shape = [r[0] for r in plan[0]]
    if out is None:
        o = torch.empty(shape, dtype=self.dtype, device=self.device)
    elif (list(out.shape) == shape and out.dtype is self.dtype and out.is_contiguous()
          and not _shares(out, self)):
        o = out
    else:
        return NotImplemented
    return o if _launch_plan(self, o, None, plan, LOAD) else NotImplemented


# Bool masks in index_put were sent to ATen on GPUs after y[mask] = 2.5 came out wrong
# on an H100; the cause was triforge's masked_fill_ (ATen's route for a scalar value,
# see codegen/pointwise._disagree), not this kernel, which the H200 ran right.
_MASK_PUT = True


def _has_mask(indices) -> bool:
    return any(t is not None and t.dtype in (torch.bool, torch.uint8) for t in indices)


@impl("_index_put_impl_")
def index_put_impl_(self, indices, values, accumulate=False, unsafe=False):
    if not isinstance(values, torch.Tensor) or not _values_ok(values):
        return NotImplemented
    if values.device != self.device:
        # y[mask] = 2.5 on a GPU passes the value as a 0-dim CPU tensor (ATen moves it too)
        if values.dim() or values.device.type != "cpu":
            return NotImplemented
        values = values.to(self.device)
    if not _MASK_PUT and _has_mask(indices):
        return NotImplemented
    if values.dtype is not self.dtype or _shares(self, values):
        return NotImplemented
    if accumulate and (self.dtype not in _ADDABLE or _nondeterministic_refused(self.dtype)):
        return NotImplemented
    plan = _plan(self, list(indices))
    if plan is None or any(_shares(self, t) for t in plan[1]):
        return NotImplemented
    shape = [r[0] for r in plan[0]]
    try:
        if list(torch.broadcast_shapes(values.shape, shape)) != shape:
            return NotImplemented
    except RuntimeError:
        return NotImplemented
    if accumulate and via_float32(self.dtype):   # accumulate in float32, round once
        acc = torch.empty(self.shape, dtype=torch.float32, device=self.device)
        copy_into(self, acc)
        plan32 = _plan(acc, list(indices))   # values stay in their type: the kernel converts
        if plan32 is None or not _launch_plan(acc, None, values, plan32, ADD):
            return NotImplemented
        copy_into(acc, self)
        return self
    ok = _launch_plan(self, None, values, plan, ADD if accumulate else STORE)
    return self if ok else NotImplemented


# index_put / index_put_ are composite (explicit) in ATen, above _index_put_impl_; they are
# declared too so the coverage table, which sees only the outermost op, shows them.
@impl("index_put_")
def index_put_(self, indices, values, accumulate=False):
    return index_put_impl_(self, indices, values, accumulate)


@impl("index_put", "index_put.out")
def index_put(self, indices, values, accumulate=False, *, out=None):
    if not _values_ok(self):
        return NotImplemented
    if out is None:
        o = torch.empty_like(self)
    elif out.shape == self.shape and out.dtype is self.dtype and not _shares(out, self):
        o = out
    else:
        return NotImplemented
    if (isinstance(values, torch.Tensor) and _shares(o, values)) or copy_into(self, o) is None:
        return NotImplemented
    return index_put_impl_(o, indices, values, accumulate)
