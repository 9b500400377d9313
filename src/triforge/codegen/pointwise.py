"""The pointwise generator: an N-ary elementwise op from a scalar @triton.jit function.

    @triton.jit
    def _sub(a, b, alpha):
        return a - b * alpha

    SUB = Pointwise(_sub, n_inputs=2, promotion="DEFAULT")
    out = SUB(x, y, params=(alpha,))          # tensors or Python numbers, torch's rules

What it does for a call:
- type promotion as torch/_prims_common (memoised on the operands' dtype facts), with
  half types computed in float32 ("opmath"); 0-dim CPU tensors are scalars;
- broadcasting, any strides: dims are put in the output's memory order, size-1 dims
  dropped and neighbouring dims merged where every operand allows, so most calls
  become a rank-1 contiguous loop; the rest index through (size, stride) lists;
- output allocated in the memory format torch would give (from the first full-size
  dense input), or `out=` / in-place with torch's cast and overlap rules (what it does
  not handle returns NotImplemented: the registry then calls ATen, which raises or
  resizes as torch does);
- one kernel per (function, rank, operand kinds), written as a Python file (readable,
  and importable so Triton can read its source); TRIFORGE_DUMP_CODEGEN=dir keeps a copy.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import sys

import torch
import triton
import triton.language as tl
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND as _KIND
from torch._prims_common import elementwise_dtypes

from ..backends import current as backend
from ..runtime import Launcher
from ..runtime.autotune import cache_dir

MAX_RANK = 6
_I32_MAX = 2**31 - 1
_TL = {torch.float16: tl.float16, torch.bfloat16: tl.bfloat16, torch.float32: tl.float32,
       torch.float64: tl.float64, torch.int8: tl.int8, torch.int16: tl.int16, torch.int32: tl.int32,
       torch.int64: tl.int64, torch.uint8: tl.uint8, torch.bool: tl.int1}
# Computation types: bool operands compute as int8 (True + True must not wrap to False);
# the store's cast back to bool is `!= 0`, as torch's.
_COMPUTE_TL = {**_TL, torch.bool: tl.int8}
_SCALARS = (bool, int, float)
_Tensor = torch.Tensor


# -- type promotion ---------------------------------------------------------------------
_promo_memo: dict = {}


def promote(kind: str, operands):
    """(compute dtype, result dtype) as torch computes them, memoised on what decides it."""
    key = (kind,) + tuple((o.dtype, o.dim() == 0) if isinstance(o, _Tensor) else type(o) for o in operands)
    got = _promo_memo.get(key)
    if got is None:
        examples = [torch.empty((1,) * (0 if k[1] else 1), dtype=k[0]) if isinstance(k, tuple) else k(1)
                    for k in key[1:]]
        got = _promo_memo[key] = elementwise_dtypes(*examples, type_promotion_kind=getattr(_KIND, kind))
    return got


# -- layout: memory order, broadcasting, coalescing ------------------------------------
def _broadcast_strides(t: torch.Tensor, shape) -> list:
    pad = len(shape) - t.dim()
    st = [0] * pad + list(t.stride())
    sz = [1] * pad + list(t.shape)
    return [0 if s == 1 and n != 1 else st[i] for i, (s, n) in enumerate(zip(sz, shape))]


def _is_dense(t: torch.Tensor) -> bool:
    """Non-overlapping and dense: some permutation of the dims is contiguous."""
    if t.is_contiguous():
        return True
    expect = 1
    for st, n in sorted((st, n) for n, st in zip(t.shape, t.stride()) if n != 1):
        if st != expect:
            return False
        expect *= n
    return True


def _output_perm(shape, tensors):
    """Dims outermost -> innermost, by the first full-size dense input's strides (as
    TensorIterator does for the common cases); identity otherwise."""
    nd = len(shape)
    for t in tensors:
        if t.dim() == nd and tuple(t.shape) == tuple(shape) and _is_dense(t) and not t.is_contiguous():
            st = t.stride()
            return sorted(range(nd), key=lambda d: (-st[d], d))
        if t.dim() == nd and tuple(t.shape) == tuple(shape) and t.is_contiguous():
            break
    return list(range(nd))


def _coalesce(shape, strides_list, perm):
    """Reorder dims by `perm`, drop size-1 dims, merge dims contiguous for every operand."""
    sizes, strides = [], [[] for _ in strides_list]
    for d in perm:
        n = shape[d]
        if n == 1:
            continue
        if sizes and all(st[d] * n == s[-1] for st, s in zip(strides_list, strides)):
            sizes[-1] *= n
            for st, s in zip(strides_list, strides):
                s[-1] = st[d]
            continue
        sizes.append(n)
        for st, s in zip(strides_list, strides):
            s.append(st[d])
    if not sizes:
        sizes = [1]
        strides = [[1] for _ in strides_list]
    return sizes, strides


def _max_offset(sizes, strides) -> int:
    return sum((n - 1) * abs(s) for n, s in zip(sizes, strides))


# -- code generation ---------------------------------------------------------------------
_kernels: dict = {}


def _source(fn, rank: int, kinds: str, name: str) -> str:
    """Kernel text. `kinds` has one letter per input, then '|', then one per parameter:
    't' tensor, 'f' float scalar (fp32 argument), 'd' float scalar for a float64
    computation (its bits passed as int64), 'i' integer scalar. Scalars and parameters
    are converted to the computation dtype, as torch's opmath does."""
    in_kinds, _, par_kinds = kinds.partition("|")
    ins = [f"in{i}" for i in range(len(in_kinds))]
    params = [f"p{i}" for i in range(len(par_kinds))]
    n_t = in_kinds.count("t")
    sizes = [f"size{j}" for j in range(rank)]
    strides = [f"st{k}_{j}" for k in range(n_t + 1) for j in range(rank)]
    args = ins + params + ["out0", "n"] + sizes + strides + ["COMPUTE: tl.constexpr", "BLOCK: tl.constexpr",
                                                             "INT64: tl.constexpr"]
    L = ["@triton.jit", f"def {name}({', '.join(args)}):",
         "    pid = tl.program_id(0)",
         "    if INT64:",
         "        pid = pid.to(tl.int64)",
         "    offs = pid * BLOCK + tl.arange(0, BLOCK)",
         "    mask = offs < n"]
    if rank == 1:
        idx = ["offs"]
    else:
        L.append("    rem = offs")
        idx = [None] * rank
        for j in range(rank - 1, 0, -1):
            L.append(f"    i{j} = rem % size{j}")
            L.append(f"    rem = rem // size{j}")
            idx[j] = f"i{j}"
        idx[0] = "rem"

    def offset(k):
        return " + ".join(f"{idx[j]} * st{k}_{j}" for j in range(rank))

    def scalar(var, kind):   # tl.cast: run-time scalars are plain Python numbers in the interpreter
        if kind == "d":      # int64 bits (an int32 argument when they fit: widen before the bitcast)
            return f"tl.cast(tl.cast(tl.cast({var}, tl.int64), tl.float64, bitcast=True), COMPUTE)"
        return f"tl.cast({var}, COMPUTE)"
    vals, t = [], 0
    for k, kind in enumerate(in_kinds):
        if kind == "t":
            L.append(f"    a{k} = tl.load(in{k} + ({offset(t)}), mask=mask).to(COMPUTE)")
            t += 1
        else:
            L.append(f"    a{k} = {scalar(f'in{k}', kind)}")
        vals.append(f"a{k}")
    for k, kind in enumerate(par_kinds):
        L.append(f"    q{k} = {scalar(f'p{k}', kind)}")
        vals.append(f"q{k}")
    L.append(f"    r = scalar_fn({', '.join(vals)})")
    L.append(f"    tl.store(out0 + ({offset(n_t)}), r.to(out0.dtype.element_ty), mask=mask)")
    head = ["# generated by triforge.codegen.pointwise -- do not edit", "import triton",
            "import triton.language as tl",
            f"from {_py(fn).__module__} import {_py(fn).__name__} as scalar_fn", "", ""]
    return "\n".join(head + L) + "\n"


def _py(fn):
    """The Python function behind a JITFunction / InterpretedFunction."""
    return getattr(fn, "fn", fn)


def _load(src: str, name: str):
    digest = hashlib.sha256(src.encode()).hexdigest()[:16]
    d = os.path.join(cache_dir(), "codegen")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{name}_{digest}.py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(src)
        os.replace(tmp, path)
    dump = os.environ.get("TRIFORGE_DUMP_CODEGEN")
    if dump:
        os.makedirs(dump, exist_ok=True)
        with open(os.path.join(dump, os.path.basename(path)), "w") as f:
            f.write(src)
    modname = f"triforge._generated.{name}_{digest}"
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def _kernel(fn, rank, kinds) -> Launcher:
    key = (fn, rank, kinds)
    la = _kernels.get(key)
    if la is None:
        name = f"{_py(fn).__name__.strip('_')}_r{rank}_{kinds.replace('|', '_')}"
        la = _kernels[key] = Launcher(_load(_source(fn, rank, kinds, name), name))
    return la


def _scalar_arg(o, compute):
    """(kind letter, kernel argument) of a Python number, or None if it cannot be passed."""
    t = type(o)
    if t is float:
        if compute is torch.float64:
            return "d", struct.unpack("<q", struct.pack("<d", o))[0]
        return "f", o
    if t is int or t is bool:
        o = int(o)
        return ("i", o) if -(2**63) <= o < 2**63 else None
    return None


# -- the op --------------------------------------------------------------------------------
class Pointwise:
    """An elementwise op: `fn(*inputs, *params)` on compute-dtype values."""

    def __init__(self, fn, n_inputs: int, promotion: str = "DEFAULT", result_dtype=None):
        self.fn, self.n_inputs, self.promotion = fn, n_inputs, promotion
        self.result_dtype = result_dtype     # fixed result dtype (e.g. torch.bool), or None
        cfg = backend().table("elementwise")
        self.block, self.warps = cfg.get("BLOCK", 1024), cfg.get("num_warps", 4)
        self.dtypes = frozenset(d for d in _TL if d is not torch.float64 or backend().supports_fp64)

    def __call__(self, *inputs, params=(), out=None):
        """Result tensor, or NotImplemented for what this generator leaves to ATen."""
        if out is None:
            got = self._same_layout(inputs, params)
            if got is not None:
                return got
        tensors, device = [], None
        ops = list(inputs)
        for i, o in enumerate(inputs):
            if isinstance(o, _Tensor):
                if o.dim() == 0 and o.device.type == "cpu" and backend().device_type != "cpu":
                    ops[i] = o.item() if o.dtype is not torch.bool else bool(o.item())
                    continue  # a 0-dim CPU tensor is a scalar operand (promotion: see promote)
                if o.dtype not in self.dtypes:
                    return NotImplemented
                if device is None:
                    device = o.device
                elif o.device != device:
                    return NotImplemented
                tensors.append(o)
            elif type(o) not in _SCALARS:
                return NotImplemented
        if not tensors:
            return NotImplemented
        compute, result = promote(self.promotion, inputs)
        if self.result_dtype is not None:
            result = self.result_dtype
        if compute not in _TL or result not in self.dtypes:
            return NotImplemented
        try:
            shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        except RuntimeError:   # ATen raises with its own message
            return NotImplemented
        if out is None:
            perm = _output_perm(shape, tensors)
            out = _empty_permuted(shape, perm, result, device)
        else:
            if (out.shape != shape or out.device != device or out.dtype not in self.dtypes
                    or not torch.can_cast(result, out.dtype) or not _is_dense(out)
                    or any(_overlaps(out, t) for t in tensors)):
                return NotImplemented
            st = out.stride()
            perm = sorted(range(len(shape)), key=lambda d: (-st[d], d))
        n = out.numel()
        if n == 0:
            return out
        strides_in = [_broadcast_strides(t, shape) for t in tensors] + [list(out.stride())]
        sizes, strides = _coalesce(list(shape), strides_in, perm)
        if len(sizes) > MAX_RANK:
            return NotImplemented
        return self._launch(ops, params, compute, out, n, sizes, strides)

    def _same_layout(self, inputs, params):
        """Fast lane: every operand a contiguous tensor of one shape and dtype, or a Python
        number; then the loop is rank 1 and promotion a dict lookup."""
        a = inputs[0]
        if type(a) is not _Tensor or not a.is_contiguous():
            return None
        dt, shape, dev = a.dtype, a.shape, a.get_device()
        for o in inputs[1:]:
            if type(o) is _Tensor:
                if o.dtype is not dt or o.shape != shape or not o.is_contiguous() or o.get_device() != dev:
                    return None
            elif type(o) not in _SCALARS:
                return None
        if dt not in self.dtypes:
            return None
        compute, result = promote(self.promotion, inputs)
        if self.result_dtype is not None:
            result = self.result_dtype
        if compute not in _TL or result not in self.dtypes:
            return None
        out = torch.empty_like(a) if result is dt else torch.empty_like(a, dtype=result)
        n = a.numel()
        if n == 0:
            return out
        k = sum(1 for o in inputs if type(o) is _Tensor) + 1
        return self._launch(inputs, params, compute, out, n, [n], [[1]] * k)

    def _launch(self, ops, params, compute, out, n, sizes, strides):
        kinds, args = [], []
        for o in ops:
            if type(o) is _Tensor or isinstance(o, _Tensor):
                kinds.append("t")
                args.append(o)
            else:
                ka = _scalar_arg(o, compute)
                if ka is None:
                    return NotImplemented
                kinds.append(ka[0])
                args.append(ka[1])
        kinds.append("|")
        for p in params:
            ka = _scalar_arg(p, compute)
            if ka is None:
                return NotImplemented
            kinds.append(ka[0])
            args.append(ka[1])
        i64 = n > _I32_MAX - self.block or any(_max_offset(sizes, s) > _I32_MAX for s in strides)
        la = _kernel(self.fn, len(sizes), "".join(kinds))
        flat = [s for st in strides for s in st]
        la(((n + self.block - 1) // self.block,), *args, out, n, *sizes, *flat,
           _COMPUTE_TL[compute], self.block, i64, num_warps=self.warps)
        return out


def _empty_permuted(shape, perm, dtype, device):
    if perm == sorted(perm):
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.empty_permuted(shape, perm, dtype=dtype, device=device)


def _overlaps(out: torch.Tensor, t: torch.Tensor) -> bool:
    """True when `out` and input `t` share memory other than element-for-element (same
    address and strides): torch raises there, or the result depends on order."""
    if out.untyped_storage().data_ptr() != t.untyped_storage().data_ptr():
        return False
    return not (out.data_ptr() == t.data_ptr() and out.shape == t.shape and out.stride() == t.stride())
