"""In-place samplers: uniform_, normal_ (+ the normal.Tensor_* ops), bernoulli_ (float and
tensor p), exponential_, geometric_, random_ (all three overloads).

One kernel serves them all: a program draws one Philox block (4 x Q uint32) and turns
it into BLOCK = 4Q outputs, one uint32 each (NARROW), or 2Q outputs from uint32 pairs
(WIDE: float64 results and 64-bit integer ranges). normal uses Box-Muller on pairs, so
both of its outputs are kept. Arguments torch rejects go to ATen (the `supports`
predicates), which raises torch's error. A non-contiguous `self` is filled through a
contiguous buffer and copied back.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ...backends import current as backend
from ...registry import impl
from ...runtime import Launcher, cdiv
from ...runtime.constants import f64_tensor
from .philox import (
    generator_ok,
    philox_block,
    seed_and_offset,
    u01,
    u01_open,
    u01_wide,
    u01_wide_open,
)

# tl.constexpr: the kernel reads them as globals (the GPU compiler refuses plain ints)
UNIFORM, NORMAL, BERNOULLI, BERNOULLI_T, EXPONENTIAL, GEOMETRIC, RANDOM = (tl.constexpr(i) for i in range(7))


@triton.jit
def _sample(ra, rb, p, a, b, DIST: tl.constexpr, WIDE: tl.constexpr, POW2: tl.constexpr):
    """One output per lane from ra (and rb when WIDE), in float32 (float64 when WIDE)
    or int64 for RANDOM."""
    if DIST == RANDOM:
        if WIDE:
            r = (ra.to(tl.uint64) << 32) | rb.to(tl.uint64)
        else:
            r = ra.to(tl.uint64)
        if POW2:   # b = range - 1, a power of two minus one (covers range 2**63)
            v = (r & tl.cast(b, tl.uint64)).to(tl.int64)
        else:
            v = (r % tl.cast(b, tl.uint64)).to(tl.int64)
        return v + tl.cast(a, tl.int64)
    elif DIST == UNIFORM:
        if WIDE:
            return u01_wide(ra, rb) * (tl.cast(b, tl.float64) - tl.cast(a, tl.float64)) + tl.cast(a, tl.float64)
        return u01(ra) * (b - a) + a
    elif DIST == BERNOULLI or DIST == BERNOULLI_T:
        if WIDE:
            return tl.where(u01_wide(ra, rb) < tl.cast(p, tl.float64), 1.0, 0.0).to(tl.float64)
        return tl.where(u01(ra) < p, 1.0, 0.0)
    elif DIST == EXPONENTIAL:   # a = 1 / lambda
        if WIDE:
            return -tl.log(u01_wide_open(ra, rb)) * tl.cast(a, tl.float64)
        return -tl.log(u01_open(ra)) * a
    else:   # GEOMETRIC: a = log1p(-p) < 0, result >= 1
        if WIDE:
            return tl.ceil(tl.log(u01_wide_open(ra, rb)) / tl.cast(a, tl.float64))
        return tl.ceil(tl.log(u01_open(ra)) / a)


@triton.jit
def _emit(out_ptr, p_ptr, idx, N, ra, rb, pv, a, b, DIST: tl.constexpr, WIDE: tl.constexpr,
          POW2: tl.constexpr):
    mask = idx < N
    if DIST == BERNOULLI_T:
        p = tl.load(p_ptr + idx, mask=mask, other=0.0)
        if not WIDE:
            p = tl.cast(p, tl.float32)
    else:
        p = pv
    v = _sample(ra, rb, p, a, b, DIST, WIDE, POW2)
    ty = out_ptr.dtype.element_ty
    if ty == tl.int1:
        o = v != 0
    else:
        o = v.to(ty)
    if DIST == UNIFORM:   # rounding may reach `to`: torch maps it back to `from`, as here
        o = tl.where(o == tl.cast(b, ty), tl.cast(a, ty), o)
    tl.store(out_ptr + idx, o, mask=mask)


@triton.jit
def _fill_kernel(out_ptr, p_ptr, prm_ptr, N, seed, offset, pv, a, b, DIST: tl.constexpr, WIDE: tl.constexpr,
                 POW2: tl.constexpr, F64P: tl.constexpr, Q: tl.constexpr, INT64: tl.constexpr):
    if F64P:   # float64 results: the parameters in full precision (scalar float args are float32)
        a = tl.load(prm_ptr)
        b = tl.load(prm_ptr + 1)
    pid = tl.program_id(0)
    r0, r1, r2, r3 = philox_block(seed, offset, pid, Q, INT64)
    lanes = tl.arange(0, Q)
    if INT64:
        base = pid.to(tl.int64) * (4 * Q)
    else:
        base = pid * (4 * Q)
    if DIST == NORMAL:   # Box-Muller on pairs; a = mean, b = std
        if WIDE:
            u1 = u01_wide_open(r0, r1)
            u2 = u01_wide(r2, r3)
            rad = tl.sqrt(-2.0 * tl.log(u1))
            th = 6.283185307179586 * u2
            m = tl.cast(a, tl.float64)
            s = tl.cast(b, tl.float64)
            ty = out_ptr.dtype.element_ty
            i0 = base // 2 + lanes
            tl.store(out_ptr + i0, (m + s * rad * tl.cos(th)).to(ty), mask=i0 < N)
            tl.store(out_ptr + i0 + Q, (m + s * rad * tl.sin(th)).to(ty), mask=i0 + Q < N)
        else:
            ty = out_ptr.dtype.element_ty
            for h in tl.static_range(2):
                if h == 0:
                    ra = r0
                    rb = r1
                else:
                    ra = r2
                    rb = r3
                rad = tl.sqrt(-2.0 * tl.log(u01_open(ra)))
                th = 6.283185307179586 * u01(rb)
                i0 = base + 2 * h * Q + lanes
                tl.store(out_ptr + i0, (a + b * rad * tl.cos(th)).to(ty), mask=i0 < N)
                tl.store(out_ptr + i0 + Q, (a + b * rad * tl.sin(th)).to(ty), mask=i0 + Q < N)
    elif WIDE:   # a program covers 2Q outputs
        i0 = base // 2 + lanes
        _emit(out_ptr, p_ptr, i0, N, r0, r1, pv, a, b, DIST, WIDE, POW2)
        _emit(out_ptr, p_ptr, i0 + Q, N, r2, r3, pv, a, b, DIST, WIDE, POW2)
    else:
        i0 = base + lanes
        _emit(out_ptr, p_ptr, i0, N, r0, r0, pv, a, b, DIST, WIDE, POW2)
        _emit(out_ptr, p_ptr, i0 + Q, N, r1, r1, pv, a, b, DIST, WIDE, POW2)
        _emit(out_ptr, p_ptr, i0 + 2 * Q, N, r2, r2, pv, a, b, DIST, WIDE, POW2)
        _emit(out_ptr, p_ptr, i0 + 3 * Q, N, r3, r3, pv, a, b, DIST, WIDE, POW2)


_fill = Launcher(_fill_kernel)
_cfg = backend().table("random")
_Q, _WARPS = _cfg.get("Q", 1024), _cfg.get("num_warps", 4)
_FLOATS = frozenset(backend().float_dtypes())
_INTS = frozenset((torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64))


def _writable(t) -> bool:
    # 1 = overlapping (torch raises); 2 = "too hard to tell", which torch writes too
    return t.layout is torch.strided and torch._debug_has_internal_overlap(t) != 1


def _launch(self, generator, dist, *, p=None, pv=0.0, a=0.0, b=0.0, wide=None, pow2=False):
    """Fill `self` in place with DIST samples; returns self."""
    n = self.numel()
    if n == 0:
        return self
    out = self if self.is_contiguous() else torch.empty(self.shape, dtype=self.dtype, device=self.device)
    wide = self.dtype is torch.float64 if wide is None else wide
    per_prog = (2 if wide and dist != NORMAL else 4) * _Q
    if dist == NORMAL and wide:
        per_prog = 2 * _Q
    progs = cdiv(n, per_prog)
    seed, off = seed_and_offset(generator, self.device)
    int64 = progs * 4 * _Q > 2**31 - 1
    f64p = self.dtype is torch.float64 and dist in (UNIFORM, NORMAL, EXPONENTIAL, GEOMETRIC)
    prm = f64_tensor((float(a), float(b)), self.device) if f64p else out
    _fill((progs,), out, p if p is not None else out, prm, n, seed, off, pv, a, b, dist, wide, pow2, f64p, _Q,
          int64, num_warps=_WARPS)
    if out is not self:
        self.copy_(out)
    return self


def _fin(*vs) -> bool:
    return all(math.isfinite(v) for v in vs)


# -- uniform_ / normal_ -------------------------------------------------------------------
def _uniform_ok(self, from_=0.0, to=1.0, *, generator=None):
    return (self.dtype in _FLOATS or self.dtype is torch.float64) and _writable(self) and _fin(from_, to) \
        and from_ <= to and to - from_ <= torch.finfo(self.dtype).max and generator_ok(generator, self.device)


@impl("uniform_", supports=_uniform_ok)
def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    return _launch(self, generator, UNIFORM, a=float(from_), b=float(to))


def _normal_ok(self, mean=0.0, std=1.0, *, generator=None):
    return (self.dtype in _FLOATS or self.dtype is torch.float64) and _writable(self) and _fin(mean, std) \
        and std >= 0 and generator_ok(generator, self.device)


@impl("normal_", supports=_normal_ok)
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _launch(self, generator, NORMAL, a=float(mean), b=float(std))


def _std_nonneg(std) -> bool:
    return std.numel() == 0 or bool((std >= 0).all())   # torch: "normal expects all elements of std >= 0.0"


def _tensor_ok(t) -> bool:
    return isinstance(t, torch.Tensor) and (t.dtype in _FLOATS or t.dtype is torch.float64)


def _nt_ok(mean, std=1.0, *, generator=None):
    return _tensor_ok(mean) and math.isfinite(std) and std >= 0 and generator_ok(generator, mean.device)


@impl("normal.Tensor_float", supports=_nt_ok)
def normal_tensor_float(mean, std=1.0, *, generator=None):
    out = torch.empty_like(mean, memory_format=torch.contiguous_format)
    return normal_(out, 0.0, 1.0, generator=generator).mul_(std).add_(mean)


def _ft_ok(mean, std, *, generator=None):
    return _tensor_ok(std) and math.isfinite(mean) and generator_ok(generator, std.device) and _std_nonneg(std)


@impl("normal.float_Tensor", supports=_ft_ok)
def normal_float_tensor(mean, std, *, generator=None):
    out = torch.empty_like(std, memory_format=torch.contiguous_format)
    return normal_(out, 0.0, 1.0, generator=generator).mul_(std).add_(mean)


def _tt_ok(mean, std, *, generator=None):
    # ATen requires the two numels to match when shapes differ (a deprecated path): leave it.
    return (_tensor_ok(mean) and _tensor_ok(std) and mean.dtype is std.dtype and mean.shape == std.shape
            and mean.device == std.device and generator_ok(generator, mean.device) and _std_nonneg(std))


@impl("normal.Tensor_Tensor", supports=_tt_ok)
def normal_tensor_tensor(mean, std, *, generator=None):
    out = torch.empty_like(mean, memory_format=torch.contiguous_format)
    return normal_(out, 0.0, 1.0, generator=generator).mul_(std).add_(mean)


# -- bernoulli_, exponential_, geometric_ -------------------------------------------------------
_ANY = _FLOATS | {torch.float64, torch.bool} | _INTS


def _bf_ok(self, p=0.5, *, generator=None):
    return self.dtype in _ANY and _writable(self) and 0.0 <= p <= 1.0 and generator_ok(generator, self.device)


@impl("bernoulli_.float", supports=_bf_ok)
def bernoulli_float(self, p=0.5, *, generator=None):
    return _launch(self, generator, BERNOULLI, pv=float(p), wide=False)


def _bt_ok(self, p, *, generator=None):
    if not (self.dtype in _ANY and _writable(self) and _tensor_ok(p) and p.device == self.device
            and generator_ok(generator, self.device)):
        return False
    try:
        if torch.broadcast_shapes(p.shape, self.shape) != self.shape:
            return False
    except RuntimeError:
        return False
    return p.numel() == 0 or bool(((p >= 0) & (p <= 1)).all())   # else torch's range error


@impl("bernoulli_.Tensor", supports=_bt_ok)
def bernoulli_tensor(self, p, *, generator=None):
    wide = p.dtype is torch.float64
    pc = p.expand(self.shape).contiguous()
    return _launch(self, generator, BERNOULLI_T, p=pc, wide=wide)


def _exp_ok(self, lambd=1.0, *, generator=None):
    return (self.dtype in _FLOATS or self.dtype is torch.float64) and _writable(self) \
        and math.isfinite(lambd) and lambd > 0 and generator_ok(generator, self.device)


@impl("exponential_", supports=_exp_ok)
def exponential_(self, lambd=1.0, *, generator=None):
    return _launch(self, generator, EXPONENTIAL, a=1.0 / lambd)


def _geo_ok(self, p, *, generator=None):
    return self.dtype in (_FLOATS | _INTS | {torch.float64}) and _writable(self) and 0.0 < p < 1.0 \
        and generator_ok(generator, self.device)


@impl("geometric_", supports=_geo_ok)
def geometric_(self, p, *, generator=None):
    return _launch(self, generator, GEOMETRIC, a=math.log1p(-p), wide=self.dtype is torch.float64)


# -- random_ ---------------------------------------------------------------------------------
def _limits(dtype):
    """(lowest, highest) integers random_ may produce in `dtype` (torch's bounds)."""
    if dtype is torch.bool:
        return 0, 1
    if dtype.is_floating_point:
        d = {torch.float16: 11, torch.bfloat16: 8, torch.float32: 24, torch.float64: 53}[dtype]
        return -(2 ** d), 2 ** d
    i = torch.iinfo(dtype)
    return i.min, i.max


def _range(self, lo, hi):
    """[lo, hi] inclusive if triforge serves it, else None (ATen raises or serves)."""
    if self.dtype not in (_ANY - {torch.bool}) | {torch.bool} or not _writable(self):
        return None
    mn, mx = _limits(self.dtype)
    if not (mn <= lo <= hi <= mx) or hi - lo + 1 > 2 ** 63:
        return None
    return lo, hi


def _random_args(self, frm=None, to=None, kind="from"):
    if kind == "default":
        return _range(self, 0, _limits(self.dtype)[1])
    if to is None:
        return _range(self, frm, _limits(self.dtype)[1])
    return _range(self, frm, to - 1)


def _go_random(self, rng, generator):
    lo, hi = rng
    span = hi - lo + 1
    pow2 = span & (span - 1) == 0
    wide = span > 2 ** 32
    return _launch(self, generator, RANDOM, a=lo, b=span - 1 if pow2 else span, wide=wide, pow2=pow2)


@impl("random_.from", supports=lambda self, frm, to=None, *, generator=None:
      generator_ok(generator, self.device) and _random_args(self, frm, to) is not None)
def random_from(self, frm, to=None, *, generator=None):
    return _go_random(self, _random_args(self, frm, to), generator)


@impl("random_.to", supports=lambda self, to, *, generator=None:
      generator_ok(generator, self.device) and _random_args(self, 0, to) is not None)
def random_to(self, to, *, generator=None):
    return _go_random(self, _random_args(self, 0, to), generator)


@impl("random_", supports=lambda self, *, generator=None:
      generator_ok(generator, self.device) and _random_args(self, kind="default") is not None)
def random_(self, *, generator=None):
    return _go_random(self, _random_args(self, kind="default"), generator)


def _b_ok(self, *, generator=None):
    return _tensor_ok(self) and generator_ok(generator, self.device) and (
        self.numel() == 0 or bool(((self >= 0) & (self <= 1)).all()))


@impl("bernoulli", supports=_b_ok)
def bernoulli(self, *, generator=None):
    out = torch.empty_like(self, memory_format=torch.contiguous_format)
    return _launch(out, generator, BERNOULLI_T, p=self.contiguous(), wide=self.dtype is torch.float64)
