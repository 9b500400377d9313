"""Writing along one dim through an index tensor: scatter (src / value), scatter_add,
scatter(reduce="add" / "multiply"), scatter_reduce(sum / mean / prod / amax / amin).

One kernel walks the index tensor (rank <= 4 after dropping size-1 dims) and writes
dst[base(c) + idx[c] * stride(dim)] from src[c] (or a scalar):
- STORE: duplicates leave one of the written values, as torch documents;
- ADD: atomic adds. float16/bfloat16 accumulate into a float32 copy of the whole
  destination, rounded once at the end -- except the 1-d index walks of index_add where
  the backend has atomics of the half type (table "index", half_atomics), which add in
  it as torch's CUDA kernels do: the copy is O(destination) per call, which an
  index_add_ into a large tensor (an MoE layer's combine, one call per expert) would pay
  in full, and a walk's adds to one row are coalesced. H100 scan_vs_torch.py at 7487138,
  4096x4096 bf16, float32 copy -> own type: index_add 0.51x -> 0.77x torch, index_put
  accumulate 0.52x -> 0.92x, but scatter_add (a full index tensor, random columns)
  0.58x -> 0.48x, and a sum that cancels lost 1.5 bf16 ulps of its inputs (a GPU test at
  4096x8192) -- scatter keeps the float32 copy. Atomic float sums are not bit-reproducible, so with
  torch.use_deterministic_algorithms(True) (not warn_only) float adds go to ATen, whose
  deterministic path takes over -- as torch's own CUDA kernel does.
scatter_reduce mean: float sums and exact counts by atomic adds, then one division.
amax / amin: integer atomic max/min, exact and so order-free -- on int32/int64 values
directly, on floats through an order-preserving integer key (float_key: NaN wins as
torch has it, -0.0 < 0.0; atomic float max would lose NaN and half types have none).
multiply / prod (and amax / amin of int8/int16/uint8/bool, which have no atomics):
sorted segments, combined in index order (_segment_reduce) -- a float product depends
on its order, so atomic multiplies would not be reproducible.
Bool prod/amax/amin/multiply: CPU only (torch's CUDA kernels raise).
Bounds as gather.py's: a device-side assert in compiled kernels (ATen's CUDA kernels
assert too), a host check under the interpreter. The host check (an aminmax and a sync)
cost scatter_add 4096x4096 float32 ~110 us of its 370 on the H100, where a bare
atomic kernel took 260 and torch 260 (explore_atomics.py at 03b9080).
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv, needs_int64
from ..blocks import block_range
from .coords import block_coords4
from .gather import _BLOCK, _WARPS, RANK, _index_ok, _values_ok, checked
from .movement import _shares
from .remap import copy_into, f32_exact

STORE, ADD, MAX, MIN, KEY_MAX, KEY_MIN = 0, 1, 2, 3, 4, 5
_HALF = (torch.float16, torch.bfloat16)
_HALF_ATOMIC = frozenset(getattr(torch, n) for n in backend().table("index").get("half_atomics", ()))


def via_float32(dtype, walk=True) -> bool:
    """Whether an atomic accumulation into `dtype` goes through a float32 copy (walk: a
    1-d index broadcast along the other dims, index_add's and index_put's)."""
    return dtype in _HALF and (dtype not in _HALF_ATOMIC or not walk)
# atomic adds exist for these (half types through their float32 copy)
_ADDABLE = frozenset((torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int64))


@triton.jit
def float_key(x, NAN_HIGH: tl.constexpr):
    """An integer (int64 for float64, else int32) ordered as the float x, with -0.0
    just below 0.0 and every NaN one canonical key above +inf (NAN_HIGH) or below -inf:
    integer max/min then give torch's NaN-propagating amax/amin, order-free."""
    if x.dtype == tl.float64:
        b = x.to(tl.int64, bitcast=True)
        k = b ^ ((b >> 63) & 0x7FFFFFFFFFFFFFFF)
        nan = 0x7FF8000000000000 if NAN_HIGH else -0x7FF8000000000001
    else:
        x = x.to(tl.float32)   # (the interpreter compares bfloat16 NaN by its bits: equal)
        b = x.to(tl.int32, bitcast=True)
        k = b ^ ((b >> 31) & 0x7FFFFFFF)
        nan = 0x7FC00000 if NAN_HIGH else -0x7FC00001
    return tl.where(x != x, nan, k)  # noqa: PLR0124 (NaN test)


@triton.jit
def key_float(k):
    """float_key's inverse (the bit flip is its own inverse), as float64 or float32."""
    if k.dtype == tl.int64:
        x = (k ^ ((k >> 63) & 0x7FFFFFFFFFFFFFFF)).to(tl.float64, bitcast=True)
    else:
        x = (k ^ ((k >> 31) & 0x7FFFFFFF)).to(tl.float32, bitcast=True)
    return x


@triton.jit
def _scatter_kernel(dst, idx, src, value, numel, dim_stride, N,
                    o1, o2, o3, i0, i1, i2, i3, s0, s1, s2, s3, t0, t1, t2, t3,
                    MODE: tl.constexpr, HAS_SRC: tl.constexpr, WRAP: tl.constexpr, BLOCK: tl.constexpr,
                    INT64: tl.constexpr):
    _, mask, c0, c1, c2, c3 = block_coords4(numel, o1, o2, o3, BLOCK, INT64)
    v = tl.load(idx + (c0 * i0 + c1 * i1 + c2 * i2 + c3 * i3), mask=mask, other=0)
    if INT64:
        v = v.to(tl.int64)
    else:
        v = v.to(tl.int32)
    if WRAP:
        tl.device_assert((v >= -N) & (v < N), "index out of range")
        v = tl.where(v < 0, v + N, v)
    else:
        tl.device_assert((v >= 0) & (v < N), "index out of range")
    if HAS_SRC:
        x = tl.load(src + (c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3), mask=mask)
    else:
        x = tl.zeros([BLOCK], dst.dtype.element_ty) + tl.cast(value, dst.dtype.element_ty)
    if MODE >= 4:   # float src into integer keys
        x = float_key(x, MODE == 4)
    x = x.to(dst.dtype.element_ty)
    ptr = dst + (c0 * t0 + c1 * t1 + c2 * t2 + c3 * t3 + v * dim_stride)
    if MODE == 0:
        tl.store(ptr, x, mask=mask)
    elif MODE == 1:
        tl.atomic_add(ptr, x, mask=mask, sem="relaxed")
    elif MODE == 2 or MODE == 4:
        tl.atomic_max(ptr, x, mask=mask, sem="relaxed")
    else:
        tl.atomic_min(ptr, x, mask=mask, sem="relaxed")


_launch = Launcher(_scatter_kernel, device_asserts=True)


def _args_ok(self, dim, index, src):
    """torch's shape rules for scatter/gather-style calls (errors: ATen raises them)."""
    if not (_values_ok(self) and _index_ok(index)) or index.device != self.device:
        return None
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd or max(index.dim(), 1) != nd:
        return None
    d = dim % nd
    if isinstance(src, torch.Tensor):
        if not _values_ok(src) or src.dtype is not self.dtype or src.device != self.device:
            return None
        if max(src.dim(), 1) != nd:
            return None
    elif isinstance(src, bool) or not isinstance(src, (int, float)):
        return None
    if index.numel() == 0:
        return d
    s = self.reshape(1) if self.dim() == 0 else self
    i = index.reshape(1) if index.dim() == 0 else index
    if any(i.shape[k] > s.shape[k] for k in range(nd) if k != d):
        return None
    if isinstance(src, torch.Tensor):
        sv = src.reshape(1) if src.dim() == 0 else src
        if any(i.shape[k] > sv.shape[k] for k in range(nd)):
            return None
    if not checked(index, 0, s.shape[d]):
        return None
    return d


def _scatter_into(dst, d, index, src, mode, shape=None, idx_strides=None, wrap=False):
    """dst (any strides) <- src along dim d through index; dst already holds self.
    The walk covers index's shape, or `shape` with the index read at `idx_strides`
    (index_add/index_copy/index_fill: a 1-d index broadcast over the other dims)."""
    nd = max(dst.dim(), 1)
    dv = dst.reshape(1) if dst.dim() == 0 else dst   # a 0-dim tensor's view keeps its storage
    iv = index.reshape(1) if index.dim() == 0 else index
    if shape is None:
        shape, idx_strides = list(iv.shape), list(iv.stride())
    numel = 1
    for n in shape:
        numel *= n
    if numel == 0:
        return dst
    has_src = isinstance(src, torch.Tensor)
    sv = (src.reshape(1) if src.dim() == 0 else src) if has_src else None
    tst = [0 if k == d else dv.stride(k) for k in range(nd)]
    sst = list(sv.stride()) if has_src else [0] * nd
    dims = [(n, a, b, c) for n, a, b, c in zip(shape, idx_strides, sst, tst) if n != 1]
    if len(dims) > RANK:
        return None
    dims = [(1, 0, 0, 0)] * (RANK - len(dims)) + dims
    sizes, ist, sst, tst = zip(*dims)
    value = 0
    if not has_src:
        value = float(src) if dst.dtype.is_floating_point else int(src)
        if dst.dtype is torch.float64 and not f32_exact(value):
            return None
    i64 = needs_int64(dv, iv, *([sv] if has_src else []), extra=numel + _BLOCK)
    _launch((cdiv(numel, _BLOCK),), dv, iv, sv if has_src else iv, value, numel, dv.stride(d), dv.shape[d],
            *sizes[1:], *ist, *sst, *tst, mode, has_src, wrap, _BLOCK, i64, num_warps=_WARPS)
    return dst


def _nondeterministic_refused(dtype) -> bool:
    return (dtype.is_floating_point and torch.are_deterministic_algorithms_enabled()
            and not torch.is_deterministic_algorithms_warn_only_enabled())


def _result(self, out, inplace):
    """Where the result goes: self (in-place), out=, or a fresh copy of self."""
    if inplace:
        return self
    if out is not None:
        if out.shape != self.shape or out.dtype is not self.dtype or out.device != self.device:
            return None
        if out is not self:
            if _shares(out, self):
                return None
            copy_into(self, out)
        return out
    o = torch.empty_like(self)
    copy_into(self, o)
    return o


def _scatter(self, dim, index, src, mode, inplace=False, out=None, zero_first=False):
    d = _args_ok(self, dim, index, src)
    if d is None:
        return NotImplemented
    return apply(self, d, index, src, mode, inplace, out, zero_first)


def apply(self, d, index, src, mode, inplace=False, out=None, zero_first=False, **walk):
    """The result of writing src into (a copy of) self through index; `walk` as in
    _scatter_into. Arguments already checked against torch's rules."""
    if mode == ADD and (self.dtype not in _ADDABLE or _nondeterministic_refused(self.dtype)):
        return NotImplemented
    others = [index] + ([src] if isinstance(src, torch.Tensor) else [])
    if any(_shares(t, x) for t in (self, out) if t is not None for x in others):
        return NotImplemented
    o = _result(self, out, inplace)
    if o is None:
        return NotImplemented
    if mode == ADD and via_float32(o.dtype, bool(walk)):   # accumulate in float32, round once
        acc = torch.empty(o.shape, dtype=torch.float32, device=o.device)
        copy_into(o, acc)
        if zero_first and _scatter_into(acc, d, index, 0.0, STORE, **walk) is None:
            return NotImplemented
        # src stays in its type: the kernel converts what it loads to the destination's
        if _scatter_into(acc, d, index, src, ADD, **walk) is None:
            return NotImplemented
        copy_into(acc, o)
        return o
    if zero_first and _scatter_into(o, d, index, 0, STORE, **walk) is None:
        return NotImplemented
    return NotImplemented if _scatter_into(o, d, index, src, mode, **walk) is None else o


# -- prod / amax / amin: sorted segments -----------------------------------------------------
PROD, AMAX, AMIN = 0, 1, 2
_SEGMENT_MODES = {"prod": PROD, "amax": AMAX, "amin": AMIN}
_I32_MAX = 2**31 - 1


@triton.jit
def widen(x):
    """The type to combine in: float32 for half types (rounded once at the end), int64
    for every integer and bool (the final cast truncates, which is the wrap-around
    torch's narrower arithmetic gives; bool comes back as != 0)."""
    if x.dtype.is_floating():
        if x.dtype.primitive_bitwidth < 32:
            x = x.to(tl.float32)
    else:
        x = x.to(tl.int64)
    return x


@triton.jit
def _combine(acc, x, MODE: tl.constexpr):
    """torch's CPU step: a NaN source wins, a NaN accumulator stays (x > NaN is false),
    and on ties (-0.0 vs 0.0) the accumulator stays."""
    if MODE == 0:
        r = acc * x
    elif acc.dtype.is_floating():
        if MODE == 1:
            r = tl.where((x != x) | (x > acc), x, acc)  # noqa: PLR0124 (NaN test)
        else:
            r = tl.where((x != x) | (x < acc), x, acc)  # noqa: PLR0124
    elif MODE == 1:
        r = tl.maximum(acc, x)
    else:
        r = tl.minimum(acc, x)
    return r


@triton.jit
def _keys_kernel(idx, keys, M, KI, inner, N, BLOCK: tl.constexpr, INT64: tl.constexpr):
    """keys[p] = row-major offset in the (outer, N, inner) destination block of index
    element p (p row-major over index's (outer, K, inner); KI = K * inner)."""
    p, mask = block_range(M, BLOCK, INT64)
    v = tl.load(idx + p, mask=mask, other=0)
    tl.device_assert((v >= 0) & (v < N), "index out of range")
    if INT64:
        v = v.to(tl.int64)
    else:
        v = v.to(tl.int32)
    key = ((p // KI) * N + v) * inner + p % inner
    tl.store(keys + p, key.to(keys.dtype.element_ty), mask=mask)


@triton.jit
def _segment_kernel(out, src, sk, perm, M, steps, SRC_STEP, MODE: tl.constexpr, INCLUDE_SELF: tl.constexpr,
                    BLOCK: tl.constexpr, INT64: tl.constexpr):
    """One lane per run of equal keys in sk (the first lane of the run): the run's end
    by binary search, then its sources combined one by one in position order."""
    s, mask = block_range(M, BLOCK, INT64)
    k = tl.load(sk + s, mask=mask, other=0)
    prev = tl.load(sk + s - 1, mask=mask & (s > 0), other=0)
    head = mask & ((s == 0) | (k != prev))
    lo = s + 1
    hi = tl.zeros_like(s) + M
    for _ in range(steps):   # first position past s whose key is larger
        go = head & (lo < hi)
        mid = lo + (hi - lo) // 2
        v = tl.load(sk + mid, mask=go, other=0)
        right = v <= k
        lo = tl.where(go & right, mid + 1, lo)
        hi = tl.where(go & (v > k), mid, hi)
    n = lo - s
    if INCLUDE_SELF:
        acc = widen(tl.load(out + k, mask=head, other=0))
        start = 0
    else:   # the first source is the start: no identity value (-inf, 1) to get wrong
        first = tl.load(perm + s, mask=head, other=0)
        acc = widen(tl.load(src + first * SRC_STEP, mask=head, other=0))
        start = 1
    longest = tl.max(tl.where(head, n, 0), axis=0)
    for i in range(start, longest):
        m = head & (i < n)
        p = tl.load(perm + s + i, mask=m, other=0)
        x = widen(tl.load(src + p * SRC_STEP, mask=m, other=0))
        acc = tl.where(m, _combine(acc, x, MODE), acc)
    tl.store(out + k, acc.to(out.dtype.element_ty), mask=head)


_keys = Launcher(_keys_kernel, device_asserts=True)
_segment = Launcher(_segment_kernel)


def _dense(t, dtype=None):
    """t itself when contiguous (and of `dtype`), else a contiguous copy; None past the
    copy kernel's rank."""
    if t.is_contiguous() and (dtype is None or t.dtype is dtype):
        return t
    c = torch.empty(t.shape, dtype=dtype or t.dtype, device=t.device)
    return c if copy_into(t, c) is not None else None


def _segment_reduce(o, d, index, src, mode, include_self, scalar=False):
    """o (holding self, any strides) <- reduce(src) along dim d through index.

    Deterministic by construction: index element p goes to key (its destination), a
    stable sort groups equal keys with positions in index order, and each run is
    combined by one lane in that order -- the order torch's CPU kernel uses, so float
    products and -0.0/NaN ties come out as there, and identically on every run (atomic
    multiplies would depend on the order threads arrive). Returns None (nothing
    written) where a strided copy needs more than the copy kernel's rank."""
    nd = max(o.dim(), 1)
    dv = o.reshape(1) if o.dim() == 0 else o   # a 0-dim tensor's view keeps its storage
    iv = index.reshape(1) if index.dim() == 0 else index
    m = iv.numel()
    if m == 0:
        return o
    ic = _dense(iv)
    if scalar:   # a legacy scalar value, as a 1-element tensor
        sc, step = src, 0
    else:
        sv = src.reshape(1) if src.dim() == 0 else src
        sc, step = _dense(sv[tuple(slice(0, n) for n in iv.shape)]), 1
    region = dv[tuple(slice(None) if k == d else slice(0, iv.shape[k]) for k in range(nd))]
    acc = _dense(region)
    if ic is None or sc is None or acc is None:
        return None
    inner = 1
    for n in iv.shape[d + 1:]:
        inner *= n
    wide_keys = acc.numel() > _I32_MAX
    keys = torch.empty(m, dtype=torch.int64 if wide_keys else torch.int32, device=o.device)
    i64 = needs_int64(ic, sc, acc, extra=m + _BLOCK)
    grid = (cdiv(m, _BLOCK),)
    _keys(grid, ic, keys, m, iv.shape[d] * inner, inner, dv.shape[d], _BLOCK, i64 or wide_keys, num_warps=_WARPS)
    sk, perm = torch.sort(keys, stable=True)
    _segment(grid, acc, sc, sk, perm, m, m.bit_length() + 1, step, mode, include_self, _BLOCK, i64,
             num_warps=_WARPS)
    if acc is not region:
        copy_into(acc, region)
    return o


@triton.jit
def _keys_of_kernel(src, dst, n, TO_KEY: tl.constexpr, NAN_HIGH: tl.constexpr, BLOCK: tl.constexpr,
                    INT64: tl.constexpr):
    offs, mask = block_range(n, BLOCK, INT64)
    x = tl.load(src + offs, mask=mask)
    if TO_KEY:
        y = float_key(x, NAN_HIGH)
    else:
        y = key_float(x)
    tl.store(dst + offs, y.to(dst.dtype.element_ty), mask=mask)


_keys_of = Launcher(_keys_of_kernel)


def _float_extreme(o, d, index, src, mode, include_self):
    """Float amax/amin by integer atomic max/min on float_key: exact and order-free, so
    deterministic (atomic float max would drop NaN, and half types have none). The one
    difference from torch's CPU order: -0.0 and 0.0 compare as -0.0 < 0.0 here, where
    the CPU keeps whichever came first (torch's CUDA kernel: whichever thread won).
    Returns None (nothing written) where the index walk exceeds the kernel's rank."""
    nd = max(o.dim(), 1)
    dv = o.reshape(1) if o.dim() == 0 else o
    iv = index.reshape(1) if index.dim() == 0 else index
    if iv.numel() == 0:
        return o
    region = dv[tuple(slice(None) if k == d else slice(0, iv.shape[k]) for k in range(nd))]
    rc = _dense(region)
    if rc is None:
        return None
    kdt = torch.int64 if o.dtype is torch.float64 else torch.int32
    keys = torch.empty(rc.shape, dtype=kdt, device=o.device)
    n = rc.numel()
    grid, i64 = (cdiv(n, _BLOCK),), needs_int64(rc, extra=n + _BLOCK)
    high = mode == AMAX
    _keys_of(grid, rc, keys, n, True, high, _BLOCK, i64, num_warps=_WARPS)
    if not include_self:   # touched positions start from the lowest (highest) key
        info = torch.iinfo(kdt)
        if _scatter_into(keys, d, index, info.min if high else info.max, STORE) is None:
            return None
    if _scatter_into(keys, d, index, src, KEY_MAX if high else KEY_MIN) is None:
        return None
    _keys_of(grid, keys, rc, n, False, high, _BLOCK, i64, num_warps=_WARPS)
    if rc is not region:
        copy_into(rc, region)
    return o


def _scalar_source(self, value):
    """A legacy scalar as a 1-element tensor of self's dtype, or None where torch's
    checked conversion raises (or might: out-of-range values go to ATen)."""
    dt = self.dtype
    v = float(value) if dt.is_floating_point else int(value)
    if dt.is_floating_point:
        if math.isfinite(v) and abs(v) > torch.finfo(dt).max:
            return None
    elif dt is not torch.bool and not torch.iinfo(dt).min <= v <= torch.iinfo(dt).max:
        return None
    return torch.full((1,), v, dtype=dt, device=self.device)


def _reduce(self, dim, index, src, mode, include_self, inplace=False, out=None):
    d = _args_ok(self, dim, index, src)
    if d is None or (self.dtype is torch.bool and self.device.type != "cpu"):
        return NotImplemented   # torch's CUDA kernels have no bool prod/amax/amin/multiply
    others = [index] + ([src] if isinstance(src, torch.Tensor) else [])
    if any(_shares(t, x) for t in (self, out) if t is not None for x in others):
        return NotImplemented
    written = self if inplace else out
    if written is not None and written.numel() and torch._debug_has_internal_overlap(written) == 1:
        return NotImplemented   # torch raises
    scalar = not isinstance(src, torch.Tensor)
    if scalar:
        src = _scalar_source(self, src)
        if src is None:
            return NotImplemented
    o = _result(self, out, inplace)
    if o is None:
        return NotImplemented
    if mode != PROD and o.dtype.is_floating_point and _float_extreme(o, d, index, src, mode, include_self) is not None:
        return o
    if mode != PROD and o.dtype in (torch.int32, torch.int64) and not scalar:
        # integer max/min is exact: atomics, no sort
        if not include_self:   # touched positions start from the identity
            info = torch.iinfo(o.dtype)
            ident = info.min if mode == AMAX else info.max
            if _scatter_into(o, d, index, ident, STORE) is None:
                return _segment_or_aten(o, d, index, src, mode, include_self, scalar)
        if _scatter_into(o, d, index, src, MAX if mode == AMAX else MIN) is not None:
            return o
    return _segment_or_aten(o, d, index, src, mode, include_self, scalar)


def _segment_or_aten(o, d, index, src, mode, include_self, scalar):
    return NotImplemented if _segment_reduce(o, d, index, src, mode, include_self, scalar) is None else o


# -- scatter -------------------------------------------------------------------------------
@impl("scatter.src", "scatter.value", "scatter.src_out", "scatter.value_out")
def scatter(self, dim, index, src=None, *, value=None, out=None):
    return _scatter(self, dim, index, src if src is not None else value, STORE, out=out)


@impl("scatter_.src", "scatter_.value")
def scatter_(self, dim, index, src=None, *, value=None):
    return _scatter(self, dim, index, src if src is not None else value, STORE, inplace=True)


def _legacy(self, dim, index, src, reduce, inplace=False, out=None):
    if reduce == "add":
        return _scatter(self, dim, index, src, ADD, inplace=inplace, out=out)
    if reduce == "multiply":
        return _reduce(self, dim, index, src, PROD, True, inplace, out)
    return NotImplemented   # torch raises for any other name


@impl("scatter.reduce", "scatter.value_reduce", "scatter.reduce_out", "scatter.value_reduce_out")
def scatter_reduce_legacy(self, dim, index, src=None, *, value=None, reduce, out=None):
    return _legacy(self, dim, index, src if src is not None else value, reduce, out=out)


@impl("scatter_.reduce", "scatter_.value_reduce")
def scatter_reduce_legacy_(self, dim, index, src=None, *, value=None, reduce):
    return _legacy(self, dim, index, src if src is not None else value, reduce, inplace=True)


# -- scatter_add / scatter_reduce ------------------------------------------------------------
@impl("scatter_add", "scatter_add.out")
def scatter_add(self, dim, index, src, *, out=None):
    if not isinstance(src, torch.Tensor):
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, out=out)


@impl("scatter_add_")
def scatter_add_(self, dim, index, src):
    if not isinstance(src, torch.Tensor):
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, inplace=True)


@triton.jit
def _mean_kernel(acc, cnt, numel, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    a = tl.load(acc + offs, mask=mask)
    c = tl.load(cnt + offs, mask=mask)
    tl.store(acc + offs, tl.where(c > 0, a / tl.maximum(c, 1), a), mask=mask)   # untouched: self


_mean = Launcher(_mean_kernel)


def _scatter_mean(self, dim, index, src, include_self, inplace, out):
    """sum and count through atomic adds (the count is exact), then sum / count where
    an index landed. Floats only: torch rounds integer means its own way."""
    d = _args_ok(self, dim, index, src)
    if d is None or not self.dtype.is_floating_point or _nondeterministic_refused(self.dtype):
        return NotImplemented
    if any(_shares(t, x) for t in (self, out) if t is not None for x in (index, src)):
        return NotImplemented
    o = _result(self, out, inplace)
    if o is None:
        return NotImplemented
    wide = torch.float64 if o.dtype is torch.float64 else torch.float32
    acc = torch.empty(o.shape, dtype=wide, device=o.device)
    cnt = torch.empty(o.shape, dtype=wide, device=o.device)
    s = torch.empty(src.shape, dtype=wide, device=o.device)
    copy_into(o, acc)
    copy_into(src, s)
    copy_into(torch.ones((), dtype=wide, device=o.device).expand(o.shape) if include_self
              else torch.zeros((), dtype=wide, device=o.device).expand(o.shape), cnt)
    if not include_self and _scatter_into(acc, d, index, 0.0, STORE) is None:
        return NotImplemented
    if _scatter_into(acc, d, index, s, ADD) is None or _scatter_into(cnt, d, index, 1.0, ADD) is None:
        return NotImplemented
    n = acc.numel()
    if n:
        _mean((cdiv(n, _BLOCK),), acc, cnt, n, _BLOCK, num_warps=_WARPS)
    copy_into(acc, o)
    return o


def _two(self, dim, index, src, reduce, include_self, inplace=False, out=None):
    if not isinstance(src, torch.Tensor):
        return NotImplemented
    if reduce in _SEGMENT_MODES:
        return _reduce(self, dim, index, src, _SEGMENT_MODES[reduce], include_self, inplace, out)
    if self.dtype is torch.bool:
        return NotImplemented
    if reduce == "mean":
        return _scatter_mean(self, dim, index, src, include_self, inplace, out)
    if reduce != "sum":
        return NotImplemented
    return _scatter(self, dim, index, src, ADD, inplace=inplace, out=out, zero_first=not include_self)


@impl("scatter_reduce.two", "scatter_reduce.two_out")
def scatter_reduce(self, dim, index, src, reduce, *, include_self=True, out=None):
    return _two(self, dim, index, src, reduce, include_self, out=out)


@impl("scatter_reduce_.two")
def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return _two(self, dim, index, src, reduce, include_self, inplace=True)
